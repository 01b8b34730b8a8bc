/* upctx.h - what every upgrade command needs: the daemon, the stack, blue's parts, the state files. */
#ifndef TRACUP_UPGRADE_UPCTX_H
#define TRACUP_UPGRADE_UPCTX_H

#include <jansson.h>

#include "docker/client.h"
#include "tracardi/stack.h"
#include "tracardi/version.h"
#include "util/err.h"

#define TU_STATE_DIR_DEFAULT "/var/lib/tracup"

struct upctx {
    struct docker *d;                 /* borrowed, negotiated */
    char *prefix;                     /* registry prefix (owned) */
    struct stack_list stacks;
    const struct stack *stack;        /* the chosen stack (in stacks) */
    const struct stack_container *api, *gui, *redis, *elastic, *mysql, *edge;
    json_t *blue_details;             /* the api's /info/version/details, or NULL */
    char *blue_details_error;         /* why there are none */
    struct tversion blue_v;           /* the running release (from the api, else the image tag) */
    int blue_v_known;
    char *state_dir, *stack_dir, *journal_path, *lock_path, *history_path;
};

/* Discovers the stacks and picks one (stack_name, or the only one). With
 * exclude (a JSON array of container ids, or NULL) those containers are not
 * taken as blue's parts (the green containers of an upgrade under way). */
int upctx_open(struct upctx *u, struct docker *d, const char *prefix, const char *stack_name, json_t *exclude,
               struct tu_err *err);
void upctx_close(struct upctx *u);

/* Lists the stack's containers again (after tracup created some) and picks
 * the parts among ids, as upctx_pick does. */
int upctx_refresh(struct upctx *u, json_t *ids, struct tu_err *err);

/* Picks the parts of the release whose containers are in `ids` (or, with ids
 * NULL, the running ones not in exclude) and asks its api for the version. */
/* Blue's container ids when the stack's upgrade is done and blue stands by (its api
 * and gui still run, serving nobody), else NULL; a new reference. */
json_t *upctx_standby_ids(const char *stack_dir);
int upctx_pick(struct upctx *u, json_t *ids, json_t *exclude, struct tu_err *err);

/* The state directory: $TRACUP_STATE_DIR, else TU_STATE_DIR_DEFAULT (borrowed). */
const char *upctx_state_root(void);
/* 1 when name can name a stack's directory under the state root: 1-128 of
 * [A-Za-z0-9._-], not starting with a dot. */
int upctx_stack_name_ok(const char *name);
/* Fills the state paths for stack `name` and creates its directory (0700). */
int upctx_state_paths(struct upctx *u, const char *name, struct tu_err *err);

/* The address this host reaches a container port at (the caller frees). */
char *upctx_url_of(const struct stack_container *c, int port);
/* Maps a Docker DNS name (container name or network alias in the stack) to the
 * container's address as the daemon has it now (asked again: a container
 * stopped at discovery or restarted since has another); returns a copy of host
 * when none matches (the caller frees). */
char *upctx_resolve(const struct upctx *u, const char *host);
struct es_conn;
/* Elasticsearch as the stack's api reaches it: its environment (credentials,
 * scheme, CA file, verification), Docker DNS names resolved to addresses. */
int upctx_es_open(const struct upctx *u, struct es_conn *es, struct tu_err *err);

/* The stack container with that id, or NULL (borrowed). */
const struct stack_container *upctx_by_id(const struct upctx *u, const char *id);

#endif
