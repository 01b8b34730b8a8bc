/* version.h - Tracardi release versions: strict parsing, ordering, db_version. */
#ifndef TRACUP_TRACARDI_VERSION_H
#define TRACUP_TRACARDI_VERSION_H

#include <stddef.h>

#include "util/err.h"

#define TVERSION_MAX_PARTS 4

struct tversion {
    int parts[TVERSION_MAX_PARTS];
    int nparts;
    char suffix[33];  /* after '-', e.g. "rc1", "dev"; empty for a release */
    char text[48];    /* the version as given */
};

/* Accepts digits and dots (2 to 4 numbers, no leading zeros) and an optional
 * "-suffix" of letters, digits and dots. Refuses "latest" with its own message. */
int tversion_parse(const char *s, struct tversion *out, struct tu_err *err);
int tversion_cmp(const struct tversion *a, const struct tversion *b);
int tversion_is_dev(const struct tversion *v);
int tversion_is_rc(const struct tversion *v);
/* True when v is at least major.minor.patch (suffix ignored). */
int tversion_at_least(const struct tversion *v, int major, int minor, int patch);

/* True when an api that reports `reported` runs the release tagged `target`: the same
 * version, or, for a patch tag (0.8.2.1, 0.8.0.11), its release's three numbers, which is
 * what the library inside says (tracardi config.py VERSION). */
int tversion_same_release(const char *reported, const char *target);

/* The newest published tag of a release among tags: the release itself (0.8.2) or one of
 * its patch tags (0.8.2.1), never an rc or -dev build. Returns 1 and fills out, or 0 when
 * none is listed. */
int tversion_newest_patch(const char *const *tags, size_t n, const struct tversion *release, struct tversion *out);

/* The db_version (index prefix family) a release uses, e.g. "0820" for 0.8.2,
 * "09x" for 0.9.x and 1.x; NULL when tracup does not know the release (borrowed). */
const char *tracardi_db_version(const struct tversion *v);

/* Checks a target version for pull/plan/upgrade: refuses -dev without allow_dev.
 * Sets *warn_rc when the target is a release candidate. */
int tversion_check_target(const char *s, int allow_dev, struct tversion *out, int *warn_rc,
                          struct tu_err *err);

#endif
