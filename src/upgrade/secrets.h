/* secrets.h - blue's secret environment values, kept out of the upgrade directory. */
#ifndef TRACUP_UPGRADE_SECRETS_H
#define TRACUP_UPGRADE_SECRETS_H

#include <jansson.h>

#include "util/err.h"

/* Key of a snapshot's inspect document listing the variables whose values were
 * withheld (an array of names); docker's own documents have no such key. */
#define SECRETS_WITHHELD_KEY "TracupWithheldEnv"

/* <stack_dir>/secrets/<upgrade id>.json (the caller frees). */
char *secrets_path(const char *stack_dir, const char *upgrade_id);

/* Replaces every entry of inspect's Config.Env that mask_env_entry would mask by
 * its masked form and lists the names under SECRETS_WITHHELD_KEY. Returns the
 * real values, {"NAME": "value", ...} (the caller's reference; empty when none). */
json_t *secrets_withhold(json_t *inspect);

/* Writes store, {"containers": {container id: {"NAME": "value"}}}, to path:
 * its directory 0700, the file 0600, atomically. */
int secrets_save(const char *path, json_t *store, struct tu_err *err);

/* Puts the values secrets_withhold took from inspect back from the file at path.
 * Refuses (-1, TU_ERR_REFUSED) when one of them cannot be restored: a container
 * without them would start with the wrong credentials. 0 when none were withheld. */
int secrets_restore(json_t *inspect, const char *path, struct tu_err *err);

/* Deletes the file at path; 0 also when there is none. */
int secrets_remove(const char *path, struct tu_err *err);

#endif
