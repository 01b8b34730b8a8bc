/* cmd_adopt.c - `tracup adopt`: put a stack that publishes its own ports behind the edge, once. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/upopts.h"
#include "docker/objects.h"
#include "upgrade/edge.h"
#include "upgrade/engine.h"
#include "upgrade/phases.h"
#include "util/http.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

enum { O_REGISTRY, O_STACK, O_EDGE_IMAGE, O_YES, O_JSON };
static const struct opt_spec opts[] = {
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the Tracardi images come from (default docker.io)"},
    [O_STACK] = {"stack", 0, "NAME", "the stack, when the host has several"},
    [O_EDGE_IMAGE] = {"edge-image", 0, "IMAGE", "the nginx image of the edge (default nginx:1.22)"},
    [O_YES] = {"yes", 'y', NULL, "do not ask"},
    [O_JSON] = {"json", 0, NULL, "print the result as one JSON object"},
    {NULL, 0, NULL, NULL},
};

/* The container's port binding for 80/tcp, or NULL (borrowed). */
static json_t *binding80(const struct stack_container *c)
{
    return json_object_get(json_object_get(json_object_get(c->inspect, "HostConfig"), "PortBindings"), "80/tcp");
}

/* A user-defined network of the container (Docker's DNS works only there), or NULL. */
static const char *dns_network(const struct stack_container *c)
{
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(c->inspect, "NetworkSettings"), "Networks"), k, v)
        if (strcmp(k, "bridge") != 0 && strcmp(k, "host") != 0 && strcmp(k, "none") != 0) return k;
    return NULL;
}

/* The same container without published ports: its create body. */
static json_t *clone_without_ports(struct docker *d, const struct stack_container *c)
{
    json_t *body = json_deep_copy(json_object_get(c->inspect, "Config"));
    int moved = 0;
    char *image = docker_recreate_image(d, c->inspect, &moved);
    json_object_set_new(body, "Image", json_string(image));
    free(image);
    if (moved) /* created from an id: say what it is */
    {
        json_t *labels = json_object_get(body, "Labels");
        if (!json_is_object(labels)) {
            labels = json_object();
            json_object_set_new(body, "Labels", labels);
        }
        json_object_set_new(labels, "tracup.role", json_string(c->role == ROLE_GUI ? "gui" : "api"));
        json_object_set_new(labels, "tracup.upgrade", json_string("adopt"));
    }
    json_t *hc = json_deep_copy(json_object_get(c->inspect, "HostConfig"));
    json_object_del(hc, "PortBindings");
    json_object_set_new(body, "HostConfig", hc);
    json_object_del(body, "ExposedPorts");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(c->inspect, "NetworkSettings"), "Networks"), k, v) {
        json_t *al = json_object_get(v, "Aliases");
        json_object_set_new(body, "NetworkingConfig",
                            json_pack("{s:{s:{s:O}}}", "EndpointsConfig", k, "Aliases", al ? al : json_array()));
        break;
    }
    return body;
}

/* Replaces c by a copy without published ports; the old one is renamed and kept
 * in *old_id until the caller removes it. */
static int unpublish(struct docker *d, const struct stack_container *c, char **old_id, struct tu_err *err)
{
    *old_id = NULL;
    char *esc = docker_escape(c->id);
    char *tmpname = docker_escape(c->name);
    char *path = xasprintf("/containers/%s/rename?name=%s-before-adopt", esc, tmpname);
    free(esc);
    free(tmpname);
    json_t *body = clone_without_ports(d, c);
    char *newid = NULL;
    int rc = -1;
    if (docker_container_stop(d, c->id, 10, err) < 0 || docker_call(d, "POST", path, NULL, NULL, NULL, err) < 0)
        goto out;
    *old_id = xstrdup(c->id);
    if (docker_container_create(d, c->name, body, &newid, err) < 0)
        goto out;
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach(json_object_get(json_object_get(c->inspect, "NetworkSettings"), "Networks"), k, v) {
        if (first) {
            first = 0;
            continue;
        }
        const char *aliases[] = {c->name, NULL};
        if (docker_network_connect(d, k, newid, aliases, err) < 0)
            goto out;
    }
    rc = docker_container_start(d, newid, err);
out:
    free(newid);
    free(path);
    json_decref(body);
    return rc;
}

/* Puts a renamed original back after a failure. */
static void restore(struct docker *d, const char *old_id, const char *name)
{
    struct tu_err e;
    docker_container_remove(d, name, 1, &e);
    char *esc = docker_escape(old_id);
    char *n = docker_escape(name);
    char *path = xasprintf("/containers/%s/rename?name=%s", esc, n);
    docker_call(d, "POST", path, NULL, NULL, NULL, &e);
    docker_container_start(d, old_id, &e);
    free(path);
    free(esc);
    free(n);
}

static int answers(const char *base, long timeout_ms)
{
    char *url = xasprintf("%s/info/version", base);
    long deadline = time_mono_ms() + timeout_ms;
    int ok = 0;
    while (!ok && time_mono_ms() < deadline) {
        struct http_req req = {.url = url, .timeout_ms = 1000, .max_body = 4096};
        struct http_resp resp;
        struct tu_err e;
        ok = http_do(&req, &resp, &e) == 0 && resp.status == 200;
        http_resp_free(&resp);
        if (!ok)
            time_sleep_ms(50);
    }
    free(url);
    return ok;
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    struct docker d;
    struct upctx u;
    int rc = upopts_open(ctx, o->value[O_REGISTRY], o->value[O_STACK], &d, &u);
    if (rc)
        return rc;
    struct tu_err err;
    tu_err_clear(&err);
    const char *image = o->value[O_EDGE_IMAGE] ? o->value[O_EDGE_IMAGE] : "nginx:1.22";
    char *edge_name = xasprintf("%s-edge", u.stack->name);
    json_t *api_b = u.api ? binding80(u.api) : NULL;
    json_t *gui_b = u.gui ? binding80(u.gui) : NULL;
    const char *net = u.api ? dns_network(u.api) : NULL;
    char *conf = NULL, *old_api = NULL, *old_gui = NULL, *edge_id = NULL, *pub = NULL;
    json_t *img = NULL;
    rc = TU_EXIT_ERROR;
    if (u.edge) {
        tu_err_set(&err, TU_ERR_REFUSED, "stack '%s' already has an edge ('%s')", u.stack->name, u.edge->name);
        goto fail;
    }
    if (!api_b || !gui_b) {
        tu_err_set(&err, TU_ERR_REFUSED, "adopt moves the api's and gui's published ports to the edge, and %s",
                   !api_b ? "the api publishes none" : "the gui publishes none");
        goto fail;
    }
    if (!net || (u.gui && !dns_network(u.gui))) {
        tu_err_set(&err, TU_ERR_REFUSED, "the api and gui are not on a user-defined Docker network, so the edge "
                                         "cannot reach them by name");
        tu_err_hint(&err, "run the stack with docker compose (it makes such a network), then adopt");
        goto fail;
    }
    if (docker_image_inspect(&d, image, &img, &err) < 0) {
        tu_err_prefix(&err, "the edge image: ");
        tu_err_hint(&err, "pull it first (docker pull %s), or name another with --edge-image", image);
        goto fail;
    }
    pub = engine_port_url(u.api->inspect, 80);
    if (!o->set[O_YES]) {
        tu_err_set(&err, TU_ERR_REFUSED, "adopt recreates '%s' and '%s' without their published ports and gives them "
                                         "to a new edge: %s stops answering for a few seconds, once",
                   u.api->name, u.gui->name, pub ? pub : "the api");
        tu_err_hint(&err, "run it in a quiet moment with --yes");
        goto fail;
    }
    /* The edge, created (not started) with the ports and a config for the running release. */
    char *api_up = xasprintf("%s:80", u.api->name), *gui_up = xasprintf("%s:80", u.gui->name);
    int r = edge_render(api_up, gui_up, NULL, NULL, &conf, &err);
    free(api_up);
    free(gui_up);
    if (r < 0)
        goto fail;
    json_t *body = json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:{},s:{}},s:{s:{s:O,s:O},s:{s:s}},s:{s:{s:{}}}}", "Image", image,
                             "Labels", "tracup.stack", u.stack->name, "tracup.role", "edge", "tracup.adopted", "1",
                             "ExposedPorts", "8686/tcp", "8787/tcp", "HostConfig", "PortBindings", "8686/tcp", api_b,
                             "8787/tcp", gui_b, "RestartPolicy", "Name", "unless-stopped", "NetworkingConfig",
                             "EndpointsConfig", net);
    r = docker_container_create(&d, edge_name, body, &edge_id, &err);
    json_decref(body);
    if (r < 0 || docker_put_file(&d, edge_id, EDGE_CONF_DIR, EDGE_CONF_FILE, conf, strlen(conf), 0644, &err) < 0)
        goto fail;
    long t0 = time_mono_ms();
    if (unpublish(&d, u.api, &old_api, &err) < 0 || unpublish(&d, u.gui, &old_gui, &err) < 0 ||
        docker_container_start(&d, edge_id, &err) < 0)
        goto fail;
    if (!pub || !answers(pub, 120000)) {
        tu_err_set(&err, TU_ERR_REFUSED, "the edge does not answer at %s", pub ? pub : "?");
        goto fail;
    }
    long gap = time_mono_ms() - t0;
    docker_container_remove(&d, old_api, 1, &err);
    docker_container_remove(&d, old_gui, 1, &err);
    json_t *rec = json_pack("{s:s,s:s,s:I,s:s}", "operation", "adopt", "result", "done", "gap_ms", (json_int_t)gap,
                            "edge", edge_name);
    history_append(&u, rec, &err);
    if (ctx->json) {
        json_dumpf(rec, ctx->out, JSON_COMPACT);
        fputc('\n', ctx->out);
    } else {
        fprintf(ctx->out, "stack %s is behind the edge '%s' at %s; the api did not answer for %ld ms, once.\n"
                          "From now on, upgrades switch through the edge without a gap.\n",
                u.stack->name, edge_name, pub, gap);
    }
    json_decref(rec);
    rc = TU_EXIT_OK;
    goto out;
fail:
    /* Put back what was changed: the originals, under their names. */
    if (old_gui)
        restore(&d, old_gui, u.gui->name);
    if (old_api)
        restore(&d, old_api, u.api->name);
    if (edge_id) {
        struct tu_err e2;
        docker_container_remove(&d, edge_id, 1, &e2);
    }
    rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
out:
    free(pub);
    free(old_api);
    free(old_gui);
    free(edge_id);
    free(conf);
    json_decref(img);
    free(edge_name);
    upctx_close(&u);
    docker_cleanup(&d);
    return rc;
}

const struct cmd_entry cmd_adopt_entry = {
    .name = "adopt",
    .summary = "put a stack whose api and gui publish their own ports behind the edge, once",
    .usage = "[--stack NAME] [--edge-image IMAGE] --yes",
    .description = "Creates the edge (nginx) with the api's and gui's published ports, recreates the api\n"
                   "and gui without them, and starts the edge. The public endpoint does not answer for a\n"
                   "few seconds while that happens; the gap is measured and printed. Needs --yes.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
