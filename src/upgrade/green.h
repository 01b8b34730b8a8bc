/* green.h - the containers of the new release, derived from blue's configuration. */
#ifndef TRACUP_UPGRADE_GREEN_H
#define TRACUP_UPGRADE_GREEN_H

#include <jansson.h>

#include "docker/client.h"
#include "tracardi/stack.h"
#include "util/err.h"

#define GREEN_API_PORT 80
#define GREEN_GUI_PORT 80

/* One container to create. */
struct green_spec {
    char *name;         /* "<stack>-tracardi-api-0.8.2" */
    const char *key;    /* "api", "gui", "update-worker", "apm", "redis" (static) */
    enum stack_role role;
    json_t *body;       /* POST /containers/create body (owned) */
    json_t *networks;   /* array of network names; the first goes in the create body */
};

/* The name of a green container: "<stack>-<what>-<version>" (the caller frees). */
char *green_name(const char *stack, const char *key, const char *version);

/* Builds the create body for a container of the new release from `blue` (its
 * inspect document), the pinned image, and environment overrides (an object of
 * NAME -> string, or null to drop it). Blue's environment is copied except what
 * its image set itself; published ports are never copied.
 * labels: an object of extra labels. Fills spec (free with green_spec_free). */
int green_spec_build(struct docker *d, const struct stack_container *blue, const char *name, const char *key,
                     enum stack_role role, const char *image, json_t *env_override, json_t *labels,
                     int copy_mounts, struct green_spec *spec, struct tu_err *err);
void green_spec_free(struct green_spec *spec);

/* The environment of a spec as "NAME=value" with secrets masked (a new array). */
json_t *green_env_masked(const struct green_spec *spec);

/* REDIS_HOST for green: blue's value with the host:port replaced (the caller frees). */
char *green_redis_url(const char *blue_url, const char *host);

#endif
