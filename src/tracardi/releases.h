/* releases.h - what tracup knows of Tracardi releases: migration hops and their needs. */
#ifndef TRACUP_TRACARDI_RELEASES_H
#define TRACUP_TRACARDI_RELEASES_H

#include <stddef.h>

#include "tracardi/version.h"
#include "util/err.h"

struct release_info {
    const char *version;     /* the release tracup installs for this db_version */
    const char *db_version;
    const char *prefix;      /* index prefix: db_version without dots */
    int needs_mysql;
    int migration_in_worker; /* migrations run in tracardi/update-worker */
    const char *migrate_path;/* POST path starting a migration */
};

#define MAX_HOPS 8

struct hop {
    struct tversion to;            /* the release installed by this hop */
    const struct release_info *from_info;
    const struct release_info *to_info;
    int intermediate;              /* installed only to migrate through */
};

/* The release family of a version (by db_version), or NULL when unknown (borrowed). */
const struct release_info *release_info_of(const struct tversion *v);
/* The tenant name a release uses without TENANT_NAME: md5 of the version up to
 * 0.8.0, of the db_version from 0.8.1; the first 5 hex digits (into out[6]). */
void release_tenant(const struct tversion *v, char out[6]);
/* The hops from `from` to `to`, one per migration step (design.md §3). Fails
 * with TU_ERR_REFUSED when a step is impossible (same db_version, unknown release). */
int release_hops(const struct tversion *from, const struct tversion *to, struct hop *out, size_t *n,
                 struct tu_err *err);

#endif
