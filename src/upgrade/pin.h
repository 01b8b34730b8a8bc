/* pin.h - writing what a stack runs (version, registry, image digests) into its compose env file. */
#ifndef TRACUP_UPGRADE_PIN_H
#define TRACUP_UPGRADE_PIN_H

#include <jansson.h>
#include <stdio.h>

#include "docker/client.h"
#include "tracardi/stack.h"
#include "util/err.h"

/* The variables compose/docker-compose.yml takes, in the order they are written. */
enum { PIN_VERSION, PIN_REGISTRY, PIN_API, PIN_GUI, PIN_WORKER, PIN_APM, PIN_NVARS };
extern const char *const pin_var_names[PIN_NVARS];

struct pin_vars {
    char *value[PIN_NVARS]; /* digests as "@sha256:<hex>", "" for an image the stack does not run */
    int by_tag;             /* images loaded from a bundle (no registry digest): pinned by their tag */
};
void pin_vars_free(struct pin_vars *v);

/* The digest to pin from an inspected image: among its RepoDigests for repo, the
 * one the container was created by (ref_digest, may be NULL) when it is there,
 * else the first. NULL when the image has none for repo (borrowed from image). */
const char *pin_pick_digest(json_t *image, const char *repo, const char *ref_digest);

/* The release a container runs: its image tag, else its tracup.version label;
 * NULL when it has neither (borrowed). */
const char *pin_container_version(const struct stack_container *c);

/* What the stack's running api, gui and workers run, as the compose variables.
 * Refuses (nothing to write) when a container's image has no repository digest
 * under prefix, when containers run different releases, or when none runs. */
int pin_collect(struct docker *d, const char *prefix, const struct stack *s, json_t *skip, struct pin_vars *out,
                struct tu_err *err);

/* The env file of a compose stack from its containers' labels (environment_file,
 * else working_dir + "/.env"); NULL when none has them (the caller frees). */
char *pin_env_from_labels(const struct stack *s);

/* The env file remembered in <stack_dir>/pin.json: 0 and *out set, 1 when none,
 * -1 when the record is unreadable. */
int pin_remembered(const char *stack_dir, char **out, struct tu_err *err);
int pin_remember(const char *stack_dir, const char *stack, const char *env_file, struct tu_err *err);

struct pin_result {
    char *env_file;   /* the file written (symbolic links resolved) */
    char *backup;     /* the copy of the old file, or NULL */
    int created;
    json_t *changes;  /* [{name, old, new, line}] */
};
void pin_result_free(struct pin_result *r);

/* Rewrites env_file to v: a backup of the old file next to it (0600), the new one
 * written atomically with the old one's mode (0600 when created). Nothing is
 * written when nothing changes or with dry_run. */
int pin_apply(const char *env_file, const struct pin_vars *v, int dry_run, struct pin_result *r,
              struct tu_err *err);

/* After an upgrade reached done, or a rollback: when the stack has a remembered env
 * file, rewrites it to what the stack runs now. Reports one line through say
 * (a warning naming 'tracup pin' when it could not); never fails the caller. */
void pin_follow(struct docker *d, const char *prefix, const char *stack, const char *stack_dir,
                void (*say)(void *ud, const char *msg), void *ud);

#endif
