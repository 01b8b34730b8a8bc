/* releases.h - what tracup knows of Tracardi releases: migration hops and their needs. */
#ifndef TRACUP_TRACARDI_RELEASES_H
#define TRACUP_TRACARDI_RELEASES_H

#include <stddef.h>
#include <stdint.h>

#include "tracardi/version.h"
#include "util/err.h"

struct release_info {
    const char *version;     /* the release tracup installs for this db_version */
    const char *db_version;
    const char *prefix;      /* index prefix: db_version without dots */
    int needs_mysql;
    int migration_in_worker; /* migrations run in tracardi/update-worker */
    const char *migrate_path;/* POST path starting a migration */
    /* How the release's migration reports progress. 0.8.x: a task document written once
     * (status "PROGRESS", never updated) and the job's state in Celery, read through
     * GET /import/task/{id}/status. 0.9: MySQL rows pending -> running -> finished/error. */
    int tasks_in_rows;
    /* The plan takes each entry's own production flag and ignores the request's context
     * (0.8.1): one POST copies staging and production, a second one copies both again. */
    int plan_ignores_context;
    /* The plan lists no partition of the old release (0.8.2: _get_partitioned_indices
     * writes its pattern in an f-string, so `{4}` and `{1,2}` are lost and nothing
     * matches). tracup copies those families itself, as this file of the new api's
     * image says (the migration schemas of the release), or NULL. */
    const char *plan_schema_file;
};

#define MAX_HOPS 8

struct hop {
    struct tversion to;            /* the release installed by this hop */
    const struct release_info *from_info;
    const struct release_info *to_info;
    int intermediate;              /* installed only to migrate through */
    /* Both releases use one db_version (0.8.2 -> 0.8.2.1, 0.9 -> 1.x): the new one runs
     * on the old one's indices and nothing is migrated. */
    int shared;
};

/* The i-th release of the migration chain ("0.8.0", …), oldest first; NULL past
 * the end (borrowed). The versions tracup knows how to upgrade to. */
const char *release_chain_version(size_t i);

/* The release family of a db_version ("08x"), or NULL when unknown (borrowed). */
const struct release_info *release_info_of_db(const char *db);
/* The release family of a version (by db_version), or NULL when unknown (borrowed). */
const struct release_info *release_info_of(const struct tversion *v);
/* The tenant name a release uses without TENANT_NAME: md5 of the version up to
 * 0.8.0, of the db_version from 0.8.1; the first 5 hex digits (into out[6]). */
void release_tenant(const struct tversion *v, char out[6]);
/* The hops from `from` to `to`, one per migration step. Two releases of one
 * db_version make one hop with `shared` set (whether to take it is the plan's
 * call). Fails with TU_ERR_REFUSED when a step is impossible (backwards, unknown
 * release). */
int release_hops(const struct tversion *from, const struct tversion *to, struct hop *out, size_t *n,
                 struct tu_err *err);

/* The release a db_version (or index prefix) belongs to, for people: "0.7.4",
 * "0.8.1" for 08x, "0.8.2" for 0820, "0.9-1.1" for 09x; the db_version itself
 * when unknown. Writes into out (cap bytes). */
void release_label_of_db(const char *db, char *out, size_t cap);

/* The index prefix of a db_version: "0.7.4" -> "074", others as written. */
void release_db_prefix(const char *db, char *out, size_t cap);

/* Orders db_versions by release: negative when a is older than b. Unknown
 * ones sort first. */
int release_db_compare(const char *a, const char *b);

/* Shards a release's install opens on one data node with Tracardi's default
 * shard settings (staging and production), measured on the test bed. */
int64_t release_install_shards(const struct tversion *v);

/* What the next upgrade from a release of db_version `db` installs: the shards
 * of the following release in the chain (the newest known one's when db is the
 * newest or unknown). */
int64_t release_next_install_shards(const char *db);

/* Indices the release defines (per context), or 0 when unknown. */
long release_index_count(const struct tversion *v);

#endif
