/* fuzz_docker_inspect.c - container and image inspect answers, read the way status, plan and upgrade read them. */
#include <jansson.h>

#include "docker/objects.h"
#include "elastic/es.h"
#include "fuzz.h"
#include "registry/ref.h"
#include "tracardi/images.h"
#include "tracardi/stack.h"
#include "upgrade/green.h"
#include "upgrade/phases.h"
#include "util/mask.h"

static const char *inspect_env(void *ud, const char *name)
{
    return stack_env(ud, name);
}

/* The engine maps Docker DNS names to container addresses; any fixed answer will do. */
static const char *resolve(void *ud, const char *host)
{
    (void)ud;
    return host && strcmp(host, "elasticsearch") == 0 ? "172.18.0.2" : NULL;
}

static void image_bits(const char *image, const char *service)
{
    const char *key = NULL;
    (void)tracardi_image_role(image, "docker.io", &key);
    (void)tracardi_image_role(image, "127.0.0.1:5000", &key);
    (void)infra_role_guess(image, service);
    struct image_ref r;
    struct tu_err e;
    if (image && image_ref_parse(image, &r, &e) == 0)
        image_ref_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!doc)
        return 0;

    /* GET /containers/json: discovery looks at each entry's image and labels. */
    size_t i;
    json_t *c;
    json_array_foreach(doc, i, c) {
        const char *svc = json_string_value(
            json_object_get(json_object_get(c, "Labels"), "com.docker.compose.service"));
        image_bits(json_string_value(json_object_get(c, "Image")), svc);
    }

    /* Image inspect: the pin of a repository. */
    const char *cfg_image = json_string_value(json_object_get(json_object_get(doc, "Config"), "Image"));
    (void)docker_image_repo_digest(doc, "127.0.0.1:5000/tracardi/tracardi-api");
    (void)docker_image_repo_digest(doc, "tracardi/tracardi-api");
    if (cfg_image)
        (void)docker_image_repo_digest(doc, cfg_image);
    image_bits(cfg_image, NULL);

    /* Container inspect: environment, addresses, the Elasticsearch it names. */
    struct stack_container sc;
    memset(&sc, 0, sizeof(sc));
    sc.inspect = doc;
    static const char *const names[] = {"ELASTIC_HOST", "REDIS_HOST", "TENANT_NAME", "INSTALLATION_TOKEN",
                                        "MYSQL_HOST", ""};
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        (void)stack_env(&sc, names[i]);
    free(stack_container_url(&sc, 80));
    free(engine_port_url(doc, 80));
    free(engine_port_url(doc, 8686));

    json_t *v;
    json_array_foreach(json_object_get(json_object_get(doc, "Config"), "Env"), i, v) {
        const char *entry = json_string_value(v);
        if (entry)
            free(mask_env_entry(entry));
    }

    struct es_conn conn;
    struct tu_err err;
    if (es_conn_from_env(&conn, inspect_env, &sc, resolve, &err) == 0) {
        free(es_conn_describe(&conn));
        es_conn_free(&conn);
    } else {
        fuzz_check_err("api environment", &err);
    }
    free(green_redis_url(stack_env(&sc, "REDIS_HOST"), "stack-redis-0.8.2"));

    json_decref(doc);
    return 0;
}
