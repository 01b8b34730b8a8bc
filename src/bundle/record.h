/* record.h - what `bundle load` put on this host, and using it when the registry is down. */
#ifndef TRACUP_BUNDLE_RECORD_H
#define TRACUP_BUNDLE_RECORD_H

#include <jansson.h>

#include "bundle/format.h"
#include "docker/client.h"

#define BUNDLE_RECORD_NAME "bundles.json"
#define BUNDLE_RECORD_MAX (256 * 1024)

/* <state dir>/bundles.json (the caller frees). */
char *bundle_record_path(void);
/* Records a loaded bundle (replacing an earlier load of the same release and
 * registry); written atomically with mode 0600, under an exclusive flock on
 * bundles.json.lock beside it, so that loads at the same time keep each other's
 * entries. Waits up to bundle_record_lock_wait_ms (30 s) for the lock, then fails
 * saying who to wait for, the file unchanged. */
extern long bundle_record_lock_wait_ms;
int bundle_record_save(const struct bundle_manifest *m, const char *loaded_at, struct tu_err *err);
/* The record of release under registry: 0 with *out (the caller's), 1 when there
 * is none, -1 when the file is unreadable or malformed. */
int bundle_record_find(const char *registry, const char *release, json_t **out, struct tu_err *err);

/* True when a daemon error says the registry could not be reached at all
 * (refused, unreachable, unknown host, timeout), not that it refused
 * credentials or does not know the tag. */
int registry_unreachable(const struct tu_err *e);

/* For the plan: when the registry is unreachable and a bundle of the release
 * was loaded whose image for role is on this host (tag and image id as
 * recorded), fills *digest, *image_id (the caller frees) and *loaded_at
 * (borrowed from *rec, which the caller frees) and returns 0; 1 when there is
 * no such record. */
int offline_image(struct docker *d, const char *registry, const char *release, const char *role, char **digest,
                  char **image_id, json_t **rec, const char **loaded_at);

/* The reference green is created from for a journaled image: "repo@digest"
 * normally; for an image loaded from a bundle (it has "image_id"), its tag
 * after checking the tag names exactly that image. NULL with err set when it
 * does not (the caller frees). */
char *offline_pin(struct docker *d, json_t *im, struct tu_err *err);
/* Checks that the container runs the journaled image_id (no image_id: 0). */
int offline_check_container(struct docker *d, json_t *im, const char *container, struct tu_err *err);

#endif
