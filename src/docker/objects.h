/* objects.h - typed calls for images and containers on top of docker_call. */
#ifndef TRACUP_DOCKER_OBJECTS_H
#define TRACUP_DOCKER_OBJECTS_H

#include <jansson.h>

#include "docker/client.h"

/* GET /version; *out is the caller's. */
int docker_version(struct docker *d, json_t **out, struct tu_err *err);
/* GET /images/{name}/json; *out is the caller's. A missing image is TU_ERR_NOT_FOUND. */
int docker_image_inspect(struct docker *d, const char *name, json_t **out, struct tu_err *err);
/* The RepoDigests entry of an inspected image for repository `repo` (normalised
 * comparison): "sha256:..." (borrowed from the JSON), or NULL. */
const char *docker_image_repo_digest(json_t *image, const char *repo);
/* GET /containers/json?all=1[&filters=]; filters is a JSON text or NULL. */
int docker_container_list(struct docker *d, const char *filters, json_t **out, struct tu_err *err);
/* GET /containers/{id}/json */
int docker_container_inspect(struct docker *d, const char *id, json_t **out, struct tu_err *err);

#endif
