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
/* GET /images/json (tagged and digest-only images, no intermediate layers). */
int docker_image_list(struct docker *d, json_t **out, struct tu_err *err);
/* DELETE /images/{ref} without force: untags ref and removes the image when it
 * was the last reference. A missing image is success; an image in use is an
 * error (TU_ERR_CONFLICT from the daemon's 409). */
int docker_image_remove(struct docker *d, const char *ref, struct tu_err *err);

/* GET /containers/json?all=1[&filters=]; filters is a JSON text or NULL. */
int docker_container_list(struct docker *d, const char *filters, json_t **out, struct tu_err *err);
/* GET /containers/{id}/json */
int docker_container_inspect(struct docker *d, const char *id, json_t **out, struct tu_err *err);


/* ---- containers: lifecycle ---- */

/* POST /containers/create?name=; body is the create JSON. Sets *id_out (the caller frees). */
int docker_container_create(struct docker *d, const char *name, json_t *body, char **id_out,
                            struct tu_err *err);
/* POST /containers/{id}/start; "already started" (304) is success. */
int docker_container_start(struct docker *d, const char *id, struct tu_err *err);
/* POST /containers/{id}/stop?t=; "already stopped" (304) is success. */
int docker_container_stop(struct docker *d, const char *id, int timeout_s, struct tu_err *err);
/* DELETE /containers/{id}?force=&v=; a container already gone is success. */
int docker_container_remove(struct docker *d, const char *id, int force, struct tu_err *err);
/* POST /networks/{net}/connect with aliases (NULL-terminated or NULL). */
int docker_network_connect(struct docker *d, const char *net, const char *id, const char *const *aliases,
                           struct tu_err *err);
/* PUT /containers/{id}/archive?path=DIR with one file NAME holding data (a tar made with libarchive). */
int docker_put_file(struct docker *d, const char *id, const char *dir, const char *name, const void *data,
                    size_t len, int mode, struct tu_err *err);
/* GET /containers/{id}/archive?path=PATH: the one regular file PATH names, at most
 * max bytes, NUL-terminated (*data the caller frees). A path that does not exist is
 * TU_ERR_NOT_FOUND. */
int docker_get_file(struct docker *d, const char *id, const char *path, size_t max, char **data, size_t *len,
                    struct tu_err *err);
/* Runs argv (NULL-terminated) in a running container without a TTY and waits for it:
 * POST /containers/{id}/exec, POST /exec/{eid}/start attached, GET /exec/{eid}/json.
 * Sets *exit_code and *output (stdout and stderr as they came, at most
 * DOCKER_EXEC_OUTPUT_MAX bytes; the caller frees). Returns -1 (err set) when the
 * command could not be run or its end was not seen; a non-zero exit is not an error. */
#define DOCKER_EXEC_OUTPUT_MAX (16 * 1024)
int docker_exec(struct docker *d, const char *id, const char *const *argv, int *exit_code, char **output,
                struct tu_err *err);
/* The last `tail` lines of a container's stdout and stderr, decoded (the caller frees). */
int docker_container_logs(struct docker *d, const char *id, int tail, char **out, struct tu_err *err);

/* GET /distribution/{ref}/json: the registry's digest for a tag without pulling.
 * auth is an X-Registry-Auth value or NULL. *digest_out is the caller's. */
int docker_distribution_digest(struct docker *d, const char *ref, const char *auth, char **digest_out,
                               struct tu_err *err);
/* GET /info; *out is the caller's. */
int docker_info(struct docker *d, json_t **out, struct tu_err *err);

/* The image reference to recreate a container from its inspect document: its
 * Config.Image when that still names the image it ran, else the image id, in
 * which case *moved is set (the caller labels the container). The caller frees. */
char *docker_recreate_image(struct docker *d, json_t *inspect, int *moved);

#endif
