/* plan.h - what an upgrade will do, hop by hop, and every reason it would be refused. */
#ifndef TRACUP_UPGRADE_PLAN_H
#define TRACUP_UPGRADE_PLAN_H

#include <jansson.h>

#include "tracardi/releases.h"
#include "upgrade/green.h"
#include "upgrade/upctx.h"

struct plan_opts {
    const char *target;
    const char *registry;      /* where the target's images come from (u->prefix when NULL) */
    int allow_dev;
    int allow_downgrade;       /* run an older release on its own indices, migrating nothing */
    const char *switch_mode;   /* "edge" (default), "ports", "external" */
    const char *mysql_host;    /* HOST[:PORT] for a target that needs MySQL, or NULL */
    int skip_registry;         /* do not ask the registry for digests (resume, tests) */
    int share_data;            /* run another release of the same db_version on blue's data,
                                * unconfirmed by any source tracup could read */
};

struct plan_image {
    const char *key;           /* "api", "gui", "update-worker", "apm" */
    char *ref;                 /* prefix/tracardi/x:version */
    char *repo;
    char *digest;              /* the registry's, or NULL when it could not be read */
    char *image_id;            /* set when the registry is unreachable and a loaded bundle has the image */
};

struct plan_hop {
    struct hop hop;
    struct plan_image images[8];
    size_t nimages;
};

struct plan {
    json_t *doc;               /* the plan as printed and journaled */
    struct tversion target;
    struct plan_hop hops[MAX_HOPS];
    size_t nhops;
    int refused;
    int downgrade;             /* the target is older: its own indices, nothing migrated */
    int shared;                /* one db_version: the target runs on blue's indices, nothing migrated */
    char tenant_from[6];       /* blue's tenant name */
};

/* Builds the plan. Returns -1 only when it could not be made at all (err set);
 * refusals are recorded in p->doc "refusals" and p->refused. Changes nothing. */
int plan_build(struct upctx *u, const struct plan_opts *o, struct plan *p, struct tu_err *err);
void plan_free(struct plan *p);
/* Prints the plan for people. */
void plan_print(FILE *f, const struct plan *p);

/* The images a release needs beside api and gui: the update worker when it ships
 * one, apm when blue has it and the release ships it. */
size_t plan_release_images(const struct upctx *u, const struct tversion *v, const char *keys[8]);

/* Blue's other apis of the release (0.8.0's tracardi-api-prod with PRODUCTION=yes): each
 * gets a green twin with its own environment. Up to max, in stack order (borrowed). */
#define PLAN_MAX_TWINS 4
size_t plan_api_twins(const struct upctx *u, const struct stack_container *out[PLAN_MAX_TWINS]);
/* The key ("api-2", …) and the container name of twin i of a release (the caller frees). */
char *plan_twin_key(size_t i);
char *plan_twin_name(const char *stack, const struct stack_container *blue, size_t i, const char *version);

/* The environment overrides of the green api and workers for a hop. */
json_t *plan_env_override(const struct upctx *u, const char *stack, const struct tversion *v,
                          const char *mysql_host);

#endif
