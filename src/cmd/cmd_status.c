/* cmd_status.c - `tracup status`: the Tracardi stacks on this host. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "tracardi/images.h"
#include "tracardi/stack.h"
#include "upgrade/journal.h"
#include "upgrade/upctx.h"
#include "util/http.h"
#include "util/mask.h"
#include "util/xalloc.h"

enum { O_JSON, O_REGISTRY, O_STACK };
static const struct opt_spec opts[] = {
    [O_JSON] = {"json", 0, NULL, "print one JSON object"},
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the Tracardi images come from (default docker.io)"},
    [O_STACK] = {"stack", 0, "NAME", "only this stack (compose project or tracup stack)"},
    {NULL, 0, NULL, NULL},
};

#define API_INFO_MAX (64 * 1024)
#define API_TIMEOUT_MS 3000

/* Asks the api container for /info/version/details. Returns the JSON or NULL
 * with *why set (the caller frees both). */
static json_t *api_details(const struct stack_container *api, char **url_out, char **why)
{
    *why = NULL;
    *url_out = NULL;
    if (!api->state || strcmp(api->state, "running") != 0) {
        *why = xasprintf("the api container is %s", api->state ? api->state : "in an unknown state");
        return NULL;
    }
    char *base = stack_container_url(api, 80);
    if (!base) {
        *why = xstrdup("the api container has no published port and no network address");
        return NULL;
    }
    char *url = xasprintf("%s/info/version/details", base);
    struct http_req req = {.url = url, .timeout_ms = API_TIMEOUT_MS, .max_body = API_INFO_MAX};
    struct http_resp resp;
    struct tu_err err;
    tu_err_clear(&err);
    json_t *j = NULL;
    if (http_do(&req, &resp, &err) < 0) {
        *why = xstrdup(err.msg);
    } else if (resp.status != 200) {
        *why = xasprintf("%s answered HTTP %ld", url, resp.status);
    } else {
        j = http_resp_json(&resp, url, &err);
        if (j && !json_is_object(j)) {
            json_decref(j);
            j = NULL;
            tu_err_set(&err, TU_ERR_PROTOCOL, "%s did not answer with a JSON object", url);
        }
        if (!j)
            *why = xstrdup(err.msg);
    }
    http_resp_free(&resp);
    free(url);
    *url_out = base;
    return j;
}

static json_t *endpoints_json(const struct stack_container *api)
{
    json_t *ep = json_object();
    if (!api)
        return ep;
    const char *eh = stack_env(api, "ELASTIC_HOST");
    json_t *es = json_object();
    json_t *hosts = json_array();
    if (eh) {
        char *copy = xstrdup(eh);
        char *save = copy;
        for (char *h = copy; h && *h;) {
            char *comma = strchr(h, ',');
            if (comma)
                *comma = '\0';
            if (*h) {
                char *m = mask_url(h);
                json_array_append_new(hosts, json_string(m));
                free(m);
            }
            h = comma ? comma + 1 : NULL;
        }
        free(save);
    }
    json_object_set_new(es, "hosts", hosts);
    const char *u = stack_env(api, "ELASTIC_HTTP_AUTH_USERNAME");
    json_object_set_new(es, "username", u ? json_string(u) : json_null());
    json_object_set_new(es, "password_set", json_boolean(stack_env(api, "ELASTIC_HTTP_AUTH_PASSWORD") != NULL));
    json_object_set_new(es, "api_key_set", json_boolean(stack_env(api, "ELASTIC_API_KEY") != NULL));
    const char *scheme = stack_env(api, "ELASTIC_SCHEME");
    json_object_set_new(es, "scheme", scheme ? json_string(scheme) : json_null());
    const char *verify = stack_env(api, "ELASTIC_VERIFY_CERTS");
    json_object_set_new(es, "verify_certs", verify ? json_string(verify) : json_null());
    json_object_set_new(ep, "elasticsearch", es);

    json_t *redis = json_object();
    const char *rh = stack_env(api, "REDIS_HOST");
    char *rm = rh ? mask_url(rh) : NULL;
    json_object_set_new(redis, "host", rm ? json_string(rm) : json_null());
    free(rm);
    json_object_set_new(redis, "password_set", json_boolean(stack_env(api, "REDIS_PASSWORD") != NULL));
    json_object_set_new(ep, "redis", redis);

    const char *mh = stack_env(api, "MYSQL_HOST");
    if (mh) {
        const char *mp = stack_env(api, "MYSQL_PORT");
        const char *md = stack_env(api, "MYSQL_DATABASE");
        json_object_set_new(ep, "mysql", json_pack("{s:s,s:s?,s:s?}", "host", mh, "port", mp, "database", md));
    } else {
        json_object_set_new(ep, "mysql", json_null());
    }
    return ep;
}

static json_t *container_json(const struct stack_container *c)
{
    json_t *ports = json_array();
    for (size_t i = 0; i < c->nports; i++) {
        const struct stack_port *p = &c->ports[i];
        json_t *pj = json_pack("{s:i,s:s}", "container_port", p->private_port, "protocol", p->proto);
        if (p->public_port) {
            json_object_set_new(pj, "host_ip", json_string(p->ip));
            json_object_set_new(pj, "host_port", json_integer(p->public_port));
        }
        json_array_append_new(ports, pj);
    }
    return json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:I,s:o}", "id", c->id, "name", c->name, "role",
                     stack_role_name(c->role), "image_key", c->image_key, "image", c->image, "tag", c->tag,
                     "digest", c->digest, "state", c->state, "health", c->health, "restarts",
                     (json_int_t)c->restarts, "ports", ports);
}

/* "  ip:public->private,…" for the published ports, nothing when there are none. */
static void print_ports(FILE *f, const struct stack_container *c)
{
    char line[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < c->nports && used < sizeof(line) - 1; i++) {
        const struct stack_port *p = &c->ports[i];
        if (!p->public_port)
            continue;
        int n = snprintf(line + used, sizeof(line) - used, "%s%s:%d->%d", used ? "," : "", p->ip, p->public_port,
                         p->private_port);
        if (n < 0)
            break;
        used += (size_t)n;
        if (used >= sizeof(line))
            used = sizeof(line) - 1;
    }
    if (used)
        fprintf(f, "  %s", line);
}

/* The upgrade on record for a stack, or NULL when there is none. */
static json_t *upgrade_json(const char *stack)
{
    char *path = xasprintf("%s/%s/journal.json", upctx_state_root(), stack);
    struct journal j;
    struct tu_err err;
    tu_err_clear(&err);
    json_t *out = NULL;
    int r = journal_load(&j, path, &err);
    if (r == 0) {
        json_t *phases = json_array();
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(j.doc, "phases"), i, p)
            json_array_append_new(phases, json_pack("{s:O,s:O?}", "name", json_object_get(p, "name"), "result",
                                                    json_object_get(p, "result")));
        out = json_pack("{s:O,s:O,s:O,s:O?,s:O,s:o,s:s}", "id", json_object_get(j.doc, "id"), "state",
                        json_object_get(j.doc, "state"), "phase", json_object_get(j.doc, "phase"), "from",
                        json_object_get(json_object_get(j.doc, "from"), "version"), "to", json_object_get(j.doc, "to"),
                        "phases", phases, "journal", path);
        journal_free(&j);
    } else if (r < 0) {
        out = json_pack("{s:s,s:s,s:s}", "error", err.msg, "hint", err.hint, "journal", path);
    }
    free(path);
    return out;
}

static void print_upgrade(FILE *f, json_t *up)
{
    if (!up)
        return;
    if (json_object_get(up, "error")) {
        fprintf(f, "  Upgrade       %s\n                %s\n", json_string_value(json_object_get(up, "error")),
                json_string_value(json_object_get(up, "hint")));
        return;
    }
    const char *st = json_string_value(json_object_get(up, "state"));
    fprintf(f, "  Upgrade       %s: %s -> %s, %s at phase %s\n", json_string_value(json_object_get(up, "id")),
            json_string_value(json_object_get(up, "from")), json_string_value(json_object_get(up, "to")), st,
            json_string_value(json_object_get(up, "phase")));
    if (strcmp(st, "running") == 0 || strcmp(st, "interrupted") == 0)
        fprintf(f, "                not finished: 'tracup resume' continues it, 'tracup rollback' undoes it\n");
    else if (strcmp(st, "done") == 0)
        fprintf(f, "                the old release is kept: 'tracup rollback' goes back, 'tracup finalize' ends it\n");
    else if (strcmp(st, "failed") == 0)
        fprintf(f, "                failed and needs attention: 'tracup rollback' retries going back\n");
    else if (strcmp(st, "finalizing") == 0)
        fprintf(f, "                a finalize was cut short: 'tracup finalize' completes it (no way back)\n");
}

static void print_stack_human(FILE *f, const struct stack *s, json_t *sj)
{
    json_t *api = json_object_get(sj, "api");
    fprintf(f, "Stack %s (%s)\n", s->name,
            strcmp(s->kind, "compose") == 0 ? "docker compose project"
            : strcmp(s->kind, "tracup") == 0 ? "managed by tracup" : "containers without a project");
    json_t *details = json_object_get(api, "details");
    if (details) {
        fprintf(f, "  Tracardi      %s  db_version %s  name %s  (answered at %s)\n",
                json_string_value(json_object_get(details, "version")) ? json_string_value(json_object_get(details, "version")) : "?",
                json_string_value(json_object_get(details, "db_version")) ? json_string_value(json_object_get(details, "db_version")) : "?",
                json_string_value(json_object_get(details, "name")) ? json_string_value(json_object_get(details, "name")) : "?",
                json_string_value(json_object_get(api, "url")));
    } else if (api) {
        fprintf(f, "  Tracardi      not answering: %s\n", json_string_value(json_object_get(api, "error")));
    } else {
        fprintf(f, "  Tracardi      no api container in this stack\n");
    }
    print_upgrade(f, json_object_get(sj, "upgrade"));
    json_t *ep = json_object_get(sj, "endpoints");
    json_t *es = json_object_get(ep, "elasticsearch");
    json_t *hosts = json_object_get(es, "hosts");
    if (json_array_size(hosts)) {
        fprintf(f, "  Elasticsearch ");
        size_t i;
        json_t *h;
        json_array_foreach(hosts, i, h) fprintf(f, "%s%s", i ? ", " : "", json_string_value(h));
        const char *user = json_string_value(json_object_get(es, "username"));
        if (user)
            fprintf(f, "  (user %s%s)", user, json_is_true(json_object_get(es, "password_set")) ? ", password " MASK : "");
        fputc('\n', f);
    } else if (api) {
        fprintf(f, "  Elasticsearch ELASTIC_HOST not set in the api's environment\n");
    }
    const char *rh = json_string_value(json_object_get(json_object_get(ep, "redis"), "host"));
    if (rh)
        fprintf(f, "  Redis         %s\n", rh);
    json_t *my = json_object_get(ep, "mysql");
    if (json_is_object(my))
        fprintf(f, "  MySQL         %s:%s\n", json_string_value(json_object_get(my, "host")),
                json_string_value(json_object_get(my, "port")) ? json_string_value(json_object_get(my, "port")) : "3306");
    else if (api)
        fprintf(f, "  MySQL         not configured\n");

    /* Containers in role order: the release first, then what it stands on. */
    static const enum stack_role order[] = {ROLE_API, ROLE_GUI, ROLE_WORKER, ROLE_REDIS, ROLE_ELASTIC,
                                            ROLE_MYSQL, ROLE_EDGE, ROLE_UNSUPPORTED, ROLE_OTHER};
    int name_w = 9;
    for (size_t i = 0; i < s->n; i++)
        if ((int)strlen(s->c[i].name) > name_w)
            name_w = (int)strlen(s->c[i].name) > 40 ? 40 : (int)strlen(s->c[i].name);
    fprintf(f, "\n  %-13s %-*s %-9s %-9s %-8s %s\n", "ROLE", name_w, "CONTAINER", "STATE", "HEALTH", "RESTARTS",
            "IMAGE / PORTS");
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        for (size_t i = 0; i < s->n; i++) {
            const struct stack_container *c = &s->c[i];
            if (c->role != order[k])
                continue;
            fprintf(f, "  %-13s %-*s %-9s %-9s %-8ld %s", stack_role_name(c->role), name_w, c->name,
                    c->state ? c->state : "?", c->health ? c->health : "-", c->restarts, c->image ? c->image : "?");
            print_ports(f, c);
            fputc('\n', f);
        }
    }
    fprintf(f, "\n  %-*s DIGEST\n", name_w, "CONTAINER");
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++)
        for (size_t i = 0; i < s->n; i++)
            if (s->c[i].role == order[k])
                fprintf(f, "  %-*s %s\n", name_w, s->c[i].name,
                        s->c[i].digest ? s->c[i].digest : "(none: the image did not come from a registry)");
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    const char *prefix = cmd_registry(ctx, o->value[O_REGISTRY]);
    struct tu_err err;
    tu_err_clear(&err);
    if (registry_prefix_check(prefix, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);

    struct docker d;
    int rc = cmd_docker(ctx, &d);
    if (rc != 0)
        return rc;
    struct stack_list l;
    if (stack_discover(&d, prefix, &l, &err) < 0) {
        docker_cleanup(&d);
        return cmd_fail(ctx, &err, err.kind == TU_ERR_CONNECT ? TU_EXIT_DOCKER : TU_EXIT_ERROR);
    }

    json_t *stacks = json_array();
    size_t shown = 0;
    for (size_t i = 0; i < l.n; i++) {
        const struct stack *s = &l.s[i];
        if (o->value[O_STACK] && strcmp(o->value[O_STACK], s->name) != 0)
            continue;
        json_t *sj = json_pack("{s:s,s:s}", "name", s->name, "kind", s->kind);
        json_t *cs = json_array();
        for (size_t j = 0; j < s->n; j++)
            json_array_append_new(cs, container_json(&s->c[j]));
        json_object_set_new(sj, "containers", cs);
        const struct stack_container *api = stack_find_role(s, ROLE_API);
        if (api) {
            char *url = NULL, *why = NULL;
            json_t *det = api_details(api, &url, &why);
            json_t *aj = json_pack("{s:s,s:s?}", "container", api->name, "url", url);
            if (det) {
                /* Only the facts tracup uses; the rest is the api's business. */
                json_t *keep = json_object();
                static const char *const keys[] = {"version", "name", "db_version", "installed", NULL};
                for (size_t k = 0; keys[k]; k++) {
                    json_t *v = json_object_get(det, keys[k]);
                    if (v)
                        json_object_set(keep, keys[k], v);
                }
                json_object_set_new(aj, "details", keep);
                json_object_set_new(aj, "reachable", json_true());
                json_decref(det);
            } else {
                json_object_set_new(aj, "reachable", json_false());
                json_object_set_new(aj, "error", json_string(why));
            }
            json_object_set_new(sj, "api", aj);
            free(url);
            free(why);
        }
        json_object_set_new(sj, "endpoints", endpoints_json(api));
        json_t *up = upgrade_json(s->name);
        if (up)
            json_object_set_new(sj, "upgrade", up);
        if (!ctx->json) {
            if (shown)
                fputc('\n', ctx->out);
            print_stack_human(ctx->out, s, sj);
        }
        json_array_append_new(stacks, sj);
        shown++;
    }
    if (ctx->json) {
        json_t *out = json_pack("{s:s,s:o}", "registry", prefix, "stacks", stacks);
        json_dumpf(out, ctx->out, JSON_COMPACT);
        fputc('\n', ctx->out);
        json_decref(out);
    } else {
        json_decref(stacks);
        if (!shown) {
            if (o->value[O_STACK])
                fprintf(ctx->out, "no Tracardi stack named '%s' on this host\n", o->value[O_STACK]);
            else
                fprintf(ctx->out, "no Tracardi stack found on this host (looked for containers running images "
                                  "under '%s/tracardi/')\n", prefix);
            fprintf(ctx->out, "hint: if your images come from a mirror or private registry, pass --registry "
                              "HOST[:PORT] or set TRACUP_REGISTRY\n");
        }
    }
    stack_list_free(&l);
    docker_cleanup(&d);
    return TU_EXIT_OK;
}

const struct cmd_entry cmd_status_entry = {
    .name = "status",
    .aliases = (const char *const[]){"st", NULL},
    .summary = "show the Tracardi stacks on this host: roles, versions, digests, health, endpoints",
    .usage = "[--registry HOST[:PORT][/PATH]] [--stack NAME] [--json]",
    .description = "Finds containers running Tracardi images under the registry prefix, groups them by\n"
                   "docker compose project or tracup stack, and asks the api for its version.\n"
                   "Secrets in the api's environment are never shown.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
