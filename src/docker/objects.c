/* objects.c - images and containers. */
#include "docker/objects.h"

#include <stdlib.h>
#include <string.h>

#include "registry/ref.h"
#include "util/xalloc.h"

static int get_json(struct docker *d, const char *path, json_t **out, struct tu_err *err)
{
    long st = docker_call(d, "GET", path, NULL, NULL, out, err);
    if (st < 0)
        return -1;
    if (!*out)
        return tu_err_set(err, TU_ERR_PROTOCOL, "the docker daemon sent an empty answer to GET %s", path);
    return 0;
}

int docker_version(struct docker *d, json_t **out, struct tu_err *err)
{
    if (get_json(d, "/version", out, err) < 0)
        return -1;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return tu_err_set(err, TU_ERR_PROTOCOL, "the docker daemon's /version is not an object");
    }
    return 0;
}

int docker_image_inspect(struct docker *d, const char *name, json_t **out, struct tu_err *err)
{
    char *esc = docker_escape(name);
    char *path = xasprintf("/images/%s/json", esc);
    free(esc);
    int rc = get_json(d, path, out, err);
    free(path);
    if (rc == 0 && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return tu_err_set(err, TU_ERR_PROTOCOL, "the docker daemon's image inspect is not an object");
    }
    return rc;
}

const char *docker_image_repo_digest(json_t *image, const char *repo)
{
    json_t *digests = json_object_get(image, "RepoDigests");
    size_t i;
    json_t *v;
    json_array_foreach(digests, i, v) {
        const char *s = json_string_value(v);
        const char *at = s ? strrchr(s, '@') : NULL;
        if (!at || !image_digest_valid(at + 1))
            continue;
        char *name = xstrndup(s, (size_t)(at - s));
        int same = image_repo_equal(name, repo);
        free(name);
        if (same)
            return at + 1;
    }
    return NULL;
}

int docker_container_list(struct docker *d, const char *filters, json_t **out, struct tu_err *err)
{
    char *path;
    if (filters) {
        char *esc = docker_escape(filters);
        path = xasprintf("/containers/json?all=1&filters=%s", esc);
        free(esc);
    } else {
        path = xstrdup("/containers/json?all=1");
    }
    int rc = get_json(d, path, out, err);
    free(path);
    if (rc == 0 && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return tu_err_set(err, TU_ERR_PROTOCOL, "the docker daemon's container list is not an array");
    }
    return rc;
}

int docker_image_list(struct docker *d, json_t **out, struct tu_err *err)
{
    int rc = get_json(d, "/images/json", out, err);
    if (rc == 0 && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return tu_err_set(err, TU_ERR_PROTOCOL, "the docker daemon's image list is not an array");
    }
    return rc;
}

int docker_image_remove(struct docker *d, const char *ref, struct tu_err *err)
{
    char *e = docker_escape(ref);
    /* Never forced: the daemon refuses (409) to remove an image a container uses. */
    char *path = xasprintf("/images/%s?force=0&noprune=0", e);
    free(e);
    long st = docker_call(d, "DELETE", path, NULL, NULL, NULL, err);
    free(path);
    if (st < 0 && err->kind == TU_ERR_NOT_FOUND) {
        tu_err_clear(err);
        return 0;
    }
    if (st < 0) {
        tu_err_prefix(err, "removing image '%s': ", ref);
        return -1;
    }
    return 0;
}

int docker_container_inspect(struct docker *d, const char *id, json_t **out, struct tu_err *err)
{
    char *esc = docker_escape(id);
    char *path = xasprintf("/containers/%s/json", esc);
    free(esc);
    int rc = get_json(d, path, out, err);
    free(path);
    if (rc == 0 && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return tu_err_set(err, TU_ERR_PROTOCOL, "the docker daemon's container inspect is not an object");
    }
    return rc;
}

int docker_distribution_digest(struct docker *d, const char *ref, const char *auth, char **digest_out,
                               struct tu_err *err)
{
    *digest_out = NULL;
    char *esc = docker_escape(ref);
    char *path = xasprintf("/distribution/%s/json", esc);
    free(esc);
    char *hdr = auth ? xasprintf("X-Registry-Auth: %s", auth) : NULL;
    const char *headers[] = {hdr, NULL};
    json_t *out = NULL;
    long st = docker_call(d, "GET", path, NULL, hdr ? headers : NULL, &out, err);
    if (hdr) {
        memset(hdr, 0, strlen(hdr));
        free(hdr);
    }
    free(path);
    if (st < 0)
        return -1;
    const char *dg = json_string_value(json_object_get(json_object_get(out, "Descriptor"), "digest"));
    if (!image_digest_valid(dg)) {
        json_decref(out);
        return tu_err_set(err, TU_ERR_PROTOCOL, "the registry gave no valid digest for '%s'", ref);
    }
    *digest_out = xstrdup(dg);
    json_decref(out);
    return 0;
}

int docker_info(struct docker *d, json_t **out, struct tu_err *err)
{
    if (get_json(d, "/info", out, err) < 0)
        return -1;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return tu_err_set(err, TU_ERR_PROTOCOL, "the docker daemon's /info is not an object");
    }
    return 0;
}

char *docker_recreate_image(struct docker *d, json_t *inspect, int *moved)
{
    const char *id = json_string_value(json_object_get(inspect, "Image"));
    const char *name = json_string_value(json_object_get(json_object_get(inspect, "Config"), "Image"));
    *moved = 0;
    if (name && id) {
        json_t *img = NULL;
        struct tu_err e;
        if (docker_image_inspect(d, name, &img, &e) == 0) {
            const char *now = json_string_value(json_object_get(img, "Id"));
            int same = now && strcmp(now, id) == 0;
            json_decref(img);
            if (same)
                return xstrdup(name);
        }
    }
    *moved = 1;
    return xstrdup(id ? id : name ? name : "");
}
