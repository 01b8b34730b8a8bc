/* images.h - Tracardi's image repositories, their roles, and the registry prefix. */
#ifndef TRACUP_TRACARDI_IMAGES_H
#define TRACUP_TRACARDI_IMAGES_H

#include <stddef.h>

#include "tracardi/version.h"
#include "util/err.h"

enum stack_role {
    ROLE_OTHER = 0,
    ROLE_API,
    ROLE_GUI,
    ROLE_WORKER,
    ROLE_REDIS,
    ROLE_ELASTIC,
    ROLE_MYSQL,
    ROLE_EDGE,
    ROLE_UNSUPPORTED, /* a Tracardi image tracup cannot upgrade (commercial parts, unknown ones) */
};

struct tracardi_image {
    const char *key;        /* the name --images takes: "api", "gui", "update-worker", "apm" */
    const char *path;       /* repository path under the prefix: "tracardi/tracardi-api" */
    enum stack_role role;
    int since[3];           /* first release that ships it */
};

extern const struct tracardi_image tracardi_images[];
extern const size_t tracardi_images_count;

const char *stack_role_name(enum stack_role r);
/* Looks a --images key up; NULL when unknown. */
const struct tracardi_image *tracardi_image_by_key(const char *key);
/* True when the release ships that image. */
int tracardi_image_in_release(const struct tracardi_image *img, const struct tversion *v);

/* Validates a registry prefix: "docker.io", "HOST[:PORT]" or "HOST[:PORT]/PATH". */
int registry_prefix_check(const char *prefix, struct tu_err *err);
/* "<prefix>/<path>:<tag>" (the caller frees). */
char *tracardi_image_ref(const char *prefix, const char *path, const char *tag);
/* The role of an image reference under prefix: ROLE_API/GUI/WORKER for
 * "<prefix>/tracardi/<name>", ROLE_OTHER otherwise. Sets *key to the table
 * entry's key or NULL (a Tracardi image tracup has no entry for). */
enum stack_role tracardi_image_role(const char *image, const char *prefix, const char **key);
/* What a Tracardi image tracup cannot upgrade is, for a refusal ("the commercial api", …);
 * NULL for an image it has no note of. path is "tracardi/<name>". */
const char *tracardi_unsupported_what(const char *path);
/* The "tracardi/<name>" path of an image under prefix (the caller frees), or NULL. */
char *tracardi_image_path(const char *image, const char *prefix);
/* Role from a non-Tracardi image or compose service name (redis, elasticsearch, …). */
enum stack_role infra_role_guess(const char *image, const char *service);

#endif
