/* available.h - the Tracardi releases a registry has beyond the running one, and the way to each. */
#ifndef TRACUP_TRACARDI_AVAILABLE_H
#define TRACUP_TRACARDI_AVAILABLE_H

#include <jansson.h>
#include <stdio.h>

#include "registry/regapi.h"
#include "tracardi/version.h"

#define AVAIL_EXAMPLES_MAX 10

struct avail_in {
    const struct tversion *running; /* NULL: no release runs here, every version is listed */
    /* Indexed like tracardi_images[]: the tags of each repository, NULL when it
     * could not be listed. The api's (index 0) must be there. */
    const struct reg_tags *const *tags;
    int all;                        /* list rc, -dev and other pre-releases too */
};

/* The report as one JSON object (the caller frees):
 *   running, tags{listed, versions, older, not_versions, not_version_examples, invalid},
 *   releases[{version, kind, images{key: true|false|null}, complete, hops, not_in_registry, path_error}],
 *   hidden, newest_release{version, hops, not_in_registry, path_error} | null, up_to_date.
 * Releases are in version order; kind is "release", "rc", "dev" or "pre". */
json_t *avail_report(const struct avail_in *in);

/* The report for people: the table of newer releases and the way to the newest. */
void avail_print(FILE *f, const json_t *doc);

#endif
