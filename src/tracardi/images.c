/* images.c - which images make a Tracardi stack. */
#include "tracardi/images.h"

#include <stdlib.h>
#include <string.h>

#include "registry/ref.h"
#include "util/xalloc.h"

const struct tracardi_image tracardi_images[] = {
    {"api", "tracardi/tracardi-api", ROLE_API, {0, 0, 0}},
    {"gui", "tracardi/tracardi-gui", ROLE_GUI, {0, 0, 0}},
    /* Migrations run in the update worker from 0.8.1 on. */
    {"update-worker", "tracardi/update-worker", ROLE_WORKER, {0, 8, 1}},
    {"apm", "tracardi/apm", ROLE_WORKER, {0, 8, 2}},
};
const size_t tracardi_images_count = sizeof(tracardi_images) / sizeof(tracardi_images[0]);

const char *stack_role_name(enum stack_role r)
{
    switch (r) {
    case ROLE_API: return "api";
    case ROLE_GUI: return "gui";
    case ROLE_WORKER: return "worker";
    case ROLE_REDIS: return "redis";
    case ROLE_ELASTIC: return "elasticsearch";
    case ROLE_MYSQL: return "mysql";
    case ROLE_EDGE: return "edge";
    case ROLE_UNSUPPORTED: return "unsupported";
    case ROLE_OTHER: break;
    }
    return "other";
}

/* Tracardi images tracup knows of and cannot upgrade yet. Sources: Tracardi/documentation
 * qa/what_dockers_are_used_by_tracardi.md (1.0.x), Tracardi/argocd values (1.0.x, 1.1.x),
 * tracardi-api com-docker-compose.yaml (0.8.0, 0.8.1), tracardi build-worker.sh (0.8.0). */
static const struct {
    const char *path, *what;
} unsupported[] = {
    {"tracardi/com-tracardi-api", "the commercial api"},
    {"tracardi/background-worker", "the commercial background worker"},
    {"tracardi/tms", "the commercial tenant management service"},
    {"tracardi/tms-gui", "the commercial tenant management gui"},
    {"tracardi/com-bridge-queue", "the commercial queue bridge"},
    {"tracardi/init", "the commercial installation job"},
    {"tracardi/worker", "0.8.0's migration and import worker"},
};

const char *tracardi_unsupported_what(const char *path)
{
    for (size_t i = 0; path && i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (strcmp(unsupported[i].path, path) == 0)
            return unsupported[i].what;
    return NULL;
}

const struct tracardi_image *tracardi_image_by_key(const char *key)
{
    for (size_t i = 0; i < tracardi_images_count; i++)
        if (strcmp(tracardi_images[i].key, key) == 0)
            return &tracardi_images[i];
    return NULL;
}

int tracardi_image_in_release(const struct tracardi_image *img, const struct tversion *v)
{
    return tversion_at_least(v, img->since[0], img->since[1], img->since[2]);
}

int registry_prefix_check(const char *prefix, struct tu_err *err)
{
    if (!prefix || !*prefix)
        return tu_err_set(err, TU_ERR_USAGE, "empty registry");
    if (strstr(prefix, "://")) {
        tu_err_set(err, TU_ERR_USAGE, "registry '%.100s' must not have a scheme", prefix);
        tu_err_hint(err, "write HOST[:PORT][/PATH], e.g. --registry 127.0.0.1:5000");
        return -1;
    }
    if (prefix[strlen(prefix) - 1] == '/')
        return tu_err_set(err, TU_ERR_USAGE, "registry '%.100s' must not end with '/'", prefix);
    char *probe = xasprintf("%s/tracardi/tracardi-api", prefix);
    struct image_ref r;
    struct tu_err e;
    int rc = image_ref_parse(probe, &r, &e);
    free(probe);
    /* The prefix must begin with an explicit registry host, not a Docker Hub namespace. */
    int ok = 0;
    if (rc == 0) {
        size_t dl = strlen(r.domain);
        ok = strncmp(prefix, r.domain, dl) == 0 && (prefix[dl] == '\0' || prefix[dl] == '/');
        /* index.docker.io is Docker Hub's other name; references normalise it to docker.io. */
        if (!ok && strcmp(r.domain, DOCKER_HUB_DOMAIN) == 0)
            ok = strncmp(prefix, "index.docker.io", 15) == 0 && (prefix[15] == '\0' || prefix[15] == '/');
    }
    image_ref_free(&r);
    /* Every image tracup uses must still be a valid name under the prefix. */
    for (size_t i = 0; ok && i < tracardi_images_count; i++) {
        char *ref = xasprintf("%s/%s", prefix, tracardi_images[i].path);
        ok = image_ref_parse(ref, &r, &e) == 0;
        image_ref_free(&r);
        free(ref);
    }
    if (!ok) {
        tu_err_set(err, TU_ERR_USAGE, "invalid registry '%.100s'", prefix);
        tu_err_hint(err, "write HOST[:PORT][/PATH] (a host with a dot or a port, or localhost), e.g. "
                         "registry.example.com:5000/mirror, or docker.io");
        return -1;
    }
    return 0;
}

char *tracardi_image_ref(const char *prefix, const char *path, const char *tag)
{
    return xasprintf("%s/%s:%s", prefix, path, tag);
}

/* The repository path under prefix (borrowed from r), or NULL when r is not under it. */
static const char *path_under(const struct image_ref *r, const char *prefix)
{
    /* The prefix is HOST[:PORT][/PATH]: compare host and path separately, since a
     * one-part Docker Hub path would otherwise be normalised to "library/…". */
    const char *slash = strchr(prefix, '/');
    size_t host_len = slash ? (size_t)(slash - prefix) : strlen(prefix);
    const char *ppath = slash ? slash + 1 : "";
    int host_ok = (strlen(r->domain) == host_len && strncmp(r->domain, prefix, host_len) == 0) ||
                  (strcmp(r->domain, DOCKER_HUB_DOMAIN) == 0 && host_len == 15 &&
                   strncmp(prefix, "index.docker.io", 15) == 0);
    size_t pl = strlen(ppath);
    if (!host_ok)
        return NULL;
    if (pl == 0)
        return r->path;
    if (strncmp(r->path, ppath, pl) == 0 && r->path[pl] == '/')
        return r->path + pl + 1;
    return NULL;
}

char *tracardi_image_path(const char *image, const char *prefix)
{
    struct image_ref r;
    struct tu_err e;
    if (!image || !prefix || image_ref_parse(image, &r, &e) < 0)
        return NULL;
    const char *rest = path_under(&r, prefix);
    char *out = rest && strncmp(rest, "tracardi/", 9) == 0 && rest[9] && !strchr(rest + 9, '/') ? xstrdup(rest) : NULL;
    image_ref_free(&r);
    return out;
}

enum stack_role tracardi_image_role(const char *image, const char *prefix, const char **key)
{
    if (key)
        *key = NULL;
    char *rest = tracardi_image_path(image, prefix);
    if (!rest)
        return ROLE_OTHER;
    /* Every Tracardi image tracup has no entry for is one it cannot upgrade: never taken
     * for a worker it would copy without knowing what it does. */
    enum stack_role role = ROLE_UNSUPPORTED;
    for (size_t i = 0; i < tracardi_images_count; i++) {
        if (strcmp(tracardi_images[i].path, rest) == 0) {
            role = tracardi_images[i].role;
            if (key)
                *key = tracardi_images[i].key;
        }
    }
    free(rest);
    return role;
}

static int last_component_is(const char *image, const char *const *names)
{
    struct image_ref r;
    struct tu_err e;
    if (!image || image_ref_parse(image, &r, &e) < 0)
        return 0;
    const char *last = strrchr(r.path, '/');
    last = last ? last + 1 : r.path;
    int hit = 0;
    for (size_t i = 0; names[i]; i++)
        if (strcmp(last, names[i]) == 0)
            hit = 1;
    image_ref_free(&r);
    return hit;
}

enum stack_role infra_role_guess(const char *image, const char *service)
{
    static const char *const redis[] = {"redis", "redis-stack-server", NULL};
    static const char *const elastic[] = {"elasticsearch", "opensearch", NULL};
    static const char *const mysql[] = {"mysql", "mariadb", NULL};
    static const char *const edge[] = {"nginx", NULL};
    if (service) {
        if (strcmp(service, "edge") == 0)
            return ROLE_EDGE;
        for (size_t i = 0; redis[i]; i++)
            if (strcmp(service, redis[i]) == 0)
                return ROLE_REDIS;
        if (strcmp(service, "elasticsearch") == 0 || strcmp(service, "elastic") == 0 ||
            strcmp(service, "es") == 0)
            return ROLE_ELASTIC;
        if (strcmp(service, "mysql") == 0 || strcmp(service, "mariadb") == 0)
            return ROLE_MYSQL;
    }
    if (last_component_is(image, redis))
        return ROLE_REDIS;
    if (last_component_is(image, elastic))
        return ROLE_ELASTIC;
    if (last_component_is(image, mysql))
        return ROLE_MYSQL;
    if (last_component_is(image, edge))
        return ROLE_EDGE;
    return ROLE_OTHER;
}
