/* cleanup.h - deleting what no way back needs any more: a release's indices and old images. */
#ifndef TRACUP_UPGRADE_CLEANUP_H
#define TRACUP_UPGRADE_CLEANUP_H

#include <jansson.h>

#include "docker/client.h"
#include "elastic/es.h"
#include "tracardi/api.h"
#include "tracardi/version.h"

/* The live release's API call that deletes the indices of db_version/tenant:
 * DELETE /indices/version/{version}?codename= up to 0.8.1, DELETE
 * /indices?db_version={prefix}&codename= from 0.8.2 (the caller frees). */
char *cleanup_api_path(const struct tversion *live, const char *db_version, const char *tenant);

/* Deletes exactly the indices listed in `group` (an indices_group entry, as
 * confirmed by the operator): first through the live release's api (api with a
 * bearer token, or NULL), then directly in Elasticsearch whatever the api left
 * (it skips static- copies, and 0.8.1's endpoint misses older names). Before a
 * name goes to Elasticsearch it is checked against the group again; indices of
 * the group that were not listed are left alone. *deleted (the caller's) gets
 * [{index, docs, bytes, via:"api"|"elasticsearch"}]; *note (the caller's, may be
 * NULL) says what the api answered when it did not help. Fails when a listed
 * index is still there at the end. */
int cleanup_delete_group(const struct es_conn *es, struct tapi *api, const struct tversion *live, json_t *group,
                         json_t **deleted, char **note, struct tu_err *err);

/* Which Tracardi images under prefix may go: not those of the live release, of
 * releases newer than it (pulled for a later upgrade), nor of the newest releases
 * before it up to `keep` releases in all counting the live one; never one a
 * container, running or not, uses. Returns {"remove":[{ref, id, version}],
 * "keep":[{ref, version, why}]} (the caller's). No change is made. */
int cleanup_images_plan(struct docker *d, const char *prefix, int keep, const char *live_version, json_t **out,
                        struct tu_err *err);

/* Removes the refs of a plan's "remove" list (never forced: an image a container
 * started to use meanwhile stays). *removed (the caller's) gets the refs gone. */
int cleanup_images_apply(struct docker *d, json_t *plan, json_t **removed, struct tu_err *err);

#endif
