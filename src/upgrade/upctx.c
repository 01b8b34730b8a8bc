/* upctx.c - the context of an upgrade command. */
#include "upgrade/upctx.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docker/objects.h"
#include "elastic/es.h"
#include "tracardi/api.h"
#include "upgrade/journal.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

const char *upctx_state_root(void)
{
    const char *s = getenv("TRACUP_STATE_DIR");
    return s && *s ? s : TU_STATE_DIR_DEFAULT;
}

int upctx_stack_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

int upctx_state_paths(struct upctx *u, const char *name, struct tu_err *err)
{
    if (!upctx_stack_name_ok(name))
        return tu_err_set(err, TU_ERR_USAGE, "stack name '%.60s' cannot name a state directory", name);
    free(u->state_dir);
    free(u->stack_dir);
    free(u->journal_path);
    free(u->lock_path);
    free(u->history_path);
    u->state_dir = xstrdup(upctx_state_root());
    u->stack_dir = xasprintf("%s/%s", u->state_dir, name);
    u->journal_path = xasprintf("%s/journal.json", u->stack_dir);
    u->lock_path = xasprintf("%s/lock", u->stack_dir);
    u->history_path = xasprintf("%s/history.jsonl", u->stack_dir);
    if (fs_mkdirs(u->stack_dir, 0700, err) < 0) {
        tu_err_hint(err, "set TRACUP_STATE_DIR to a writable directory");
        return -1;
    }
    return 0;
}

static int id_in(json_t *ids, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        const char *s = json_string_value(v);
        if (s && id && strcmp(s, id) == 0)
            return 1;
    }
    return 0;
}

static const struct stack_container *pick_role(const struct stack *s, enum stack_role role, json_t *ids,
                                               json_t *exclude)
{
    const struct stack_container *best = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct stack_container *c = &s->c[i];
        if (c->role != role)
            continue;
        if (ids) {
            if (id_in(ids, c->id))
                return c;
            continue;
        }
        if (exclude && id_in(exclude, c->id))
            continue;
        int running = c->state && strcmp(c->state, "running") == 0;
        if (!best || (running && !(best->state && strcmp(best->state, "running") == 0)))
            best = c;
    }
    return best;
}

char *upctx_url_of(const struct stack_container *c, int port)
{
    /* Prefer the network address: a published port may belong to a proxy. */
    json_t *nets = json_object_get(json_object_get(c->inspect, "NetworkSettings"), "Networks");
    const char *k;
    json_t *n;
    json_object_foreach(nets, k, n) {
        const char *ip = json_string_value(json_object_get(n, "IPAddress"));
        if (ip && *ip)
            return xasprintf("http://%s:%d", ip, port);
    }
    return stack_container_url(c, port);
}

static int production_yes(const struct stack_container *c)
{
    const char *p = stack_env(c, "PRODUCTION");
    return p && strcasecmp(p, "yes") == 0;
}

/* The api tracup talks to: of a stack with several (0.8.0's tracardi-api-prod runs with
 * PRODUCTION=yes), a running one that reads x-context, so it reaches both contexts. */
static const struct stack_container *pick_api(const struct stack *s, json_t *ids, json_t *exclude)
{
    const struct stack_container *best = pick_role(s, ROLE_API, ids, exclude);
    if (!best || !production_yes(best))
        return best;
    for (size_t i = 0; i < s->n; i++) {
        const struct stack_container *c = &s->c[i];
        if (c->role != ROLE_API || c == best || production_yes(c))
            continue;
        /* among the journal's ids a stopped blue counts; otherwise running ones only */
        if (!ids && (!c->state || strcmp(c->state, "running") != 0))
            continue;
        if ((ids && !id_in(ids, c->id)) || (exclude && id_in(exclude, c->id)))
            continue;
        if (best->image_id && c->image_id && strcmp(best->image_id, c->image_id) == 0)
            return c;
    }
    return best;
}

int upctx_pick(struct upctx *u, json_t *ids, json_t *exclude, struct tu_err *err)
{
    const struct stack *s = u->stack;
    u->api = pick_api(s, ids, exclude);
    u->gui = pick_role(s, ROLE_GUI, ids, exclude);
    u->redis = pick_role(s, ROLE_REDIS, ids, exclude);
    /* Shared parts are never the upgrade's own. */
    u->elastic = pick_role(s, ROLE_ELASTIC, NULL, NULL);
    u->mysql = pick_role(s, ROLE_MYSQL, NULL, NULL);
    u->edge = pick_role(s, ROLE_EDGE, NULL, NULL);
    json_decref(u->blue_details);
    u->blue_details = NULL;
    free(u->blue_details_error);
    u->blue_details_error = NULL;
    u->blue_v_known = 0;
    if (!u->api)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "stack '%s' has no tracardi-api container", s->name);

    char *url = upctx_url_of(u->api, 80);
    if (url) {
        struct tapi a;
        tapi_init(&a, url, 5000);
        struct tu_err e;
        tu_err_clear(&e);
        if (tapi_details(&a, &u->blue_details, &e) < 0)
            u->blue_details_error = xstrdup(e.msg);
        tapi_free(&a);
        free(url);
    } else {
        u->blue_details_error = xstrdup("the api container has no network address");
    }
    const char *ver = json_string_value(json_object_get(u->blue_details, "version"));
    struct tu_err e;
    if (ver && tversion_parse(ver, &u->blue_v, &e) == 0)
        u->blue_v_known = 1;
    else if (u->api->tag && tversion_parse(u->api->tag, &u->blue_v, &e) == 0)
        u->blue_v_known = 1;
    return 0;
}

int upctx_open(struct upctx *u, struct docker *d, const char *prefix, const char *stack_name, json_t *exclude,
               struct tu_err *err)
{
    memset(u, 0, sizeof(*u));
    u->d = d;
    u->prefix = xstrdup(prefix);
    if (stack_discover(d, prefix, &u->stacks, err) < 0)
        return -1;
    for (size_t i = 0; i < u->stacks.n; i++)
        if (!stack_name || strcmp(u->stacks.s[i].name, stack_name) == 0)
            u->stack = u->stack ? u->stack : &u->stacks.s[i];
    if (!u->stack) {
        if (stack_name)
            tu_err_set(err, TU_ERR_NOT_FOUND, "no Tracardi stack named '%s' on this host", stack_name);
        else
            tu_err_set(err, TU_ERR_NOT_FOUND, "no Tracardi stack found on this host (images under '%s/tracardi/')",
                       prefix);
        tu_err_hint(err, "see 'tracup status'; pass --registry when the images come from a mirror");
        upctx_close(u);
        return -1;
    }
    if (!stack_name && u->stacks.n > 1) {
        tu_err_set(err, TU_ERR_USAGE, "%zu Tracardi stacks on this host: say which with --stack", u->stacks.n);
        upctx_close(u);
        return -1;
    }
    if (upctx_state_paths(u, u->stack->name, err) < 0) {
        upctx_close(u);
        return -1;
    }
    /* After an upgrade whose blue stands by, both releases' apis run: the live
     * one is green's. */
    json_t *standby = exclude ? NULL : upctx_standby_ids(u->stack_dir);
    int rc = upctx_pick(u, NULL, exclude ? exclude : standby, err);
    json_decref(standby);
    if (rc < 0) {
        upctx_close(u);
        return -1;
    }
    return 0;
}

json_t *upctx_standby_ids(const char *stack_dir)
{
    if (!stack_dir)
        return NULL;
    char *path = xasprintf("%s/journal.json", stack_dir);
    struct journal j;
    struct tu_err je;
    json_t *ids = NULL;
    if (journal_load(&j, path, &je) == 0) {
        const char *st = journal_state(&j);
        if (st && (strcmp(st, "done") == 0 || strcmp(st, "finalizing") == 0) &&
            json_is_true(json_object_get(j.doc, "blue_standby")))
            ids = json_incref(json_object_get(json_object_get(j.doc, "blue"), "release"));
        journal_free(&j);
    }
    free(path);
    return ids;
}

void upctx_close(struct upctx *u)
{
    if (!u)
        return;
    stack_list_free(&u->stacks);
    json_decref(u->blue_details);
    free(u->blue_details_error);
    free(u->prefix);
    free(u->state_dir);
    free(u->stack_dir);
    free(u->journal_path);
    free(u->lock_path);
    free(u->history_path);
    memset(u, 0, sizeof(*u));
}

/* Whether inspect's network entry n (named net) answers to host: the container's
 * name, its compose service or one of its aliases on that network. */
static int answers_to(const struct stack_container *c, json_t *n, const char *host)
{
    if (strcmp(c->name, host) == 0 || (c->service && strcmp(c->service, host) == 0))
        return 1;
    size_t j;
    json_t *a;
    json_array_foreach(json_object_get(n, "Aliases"), j, a) {
        const char *al = json_string_value(a);
        if (al && strcmp(al, host) == 0)
            return 1;
    }
    return 0;
}

/* The address of the container on network net in inspect, or NULL (borrowed). */
static const char *ip_on(json_t *inspect, const char *net)
{
    json_t *n = json_object_get(json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks"), net);
    const char *ip = json_string_value(json_object_get(n, "IPAddress"));
    return ip && *ip && strlen(ip) < 64 ? ip : NULL;
}

char *upctx_resolve(const struct upctx *u, const char *host)
{
    for (size_t i = 0; u->stack && i < u->stack->n; i++) {
        const struct stack_container *c = &u->stack->c[i];
        json_t *nets = json_object_get(json_object_get(c->inspect, "NetworkSettings"), "Networks");
        const char *k;
        json_t *n;
        json_object_foreach(nets, k, n) {
            if (!answers_to(c, n, host))
                continue;
            /* Ask the daemon for the address it has now: the container may have
             * been stopped when the stack was listed, or restarted since (a
             * daemon restart gives it a new address). The listing's address is
             * the fallback. */
            json_t *now = NULL;
            struct tu_err ie;
            char *ip = NULL;
            if (u->d && docker_container_inspect(u->d, c->id, &now, &ie) == 0 && ip_on(now, k))
                ip = xstrdup(ip_on(now, k));
            json_decref(now);
            if (!ip && ip_on(c->inspect, k))
                ip = xstrdup(ip_on(c->inspect, k));
            if (ip)
                return ip;
        }
    }
    return xstrdup(host);
}

const struct stack_container *upctx_by_id(const struct upctx *u, const char *id)
{
    for (size_t i = 0; u->stack && i < u->stack->n; i++)
        if (strcmp(u->stack->c[i].id, id) == 0)
            return &u->stack->c[i];
    return NULL;
}

int upctx_refresh(struct upctx *u, json_t *ids, struct tu_err *err)
{
    char *name = xstrdup(u->stack->name);
    stack_list_free(&u->stacks);
    u->stack = NULL;
    u->api = u->gui = u->redis = u->elastic = u->mysql = u->edge = NULL;
    int rc = stack_discover(u->d, u->prefix, &u->stacks, err);
    for (size_t i = 0; rc == 0 && i < u->stacks.n; i++)
        if (strcmp(u->stacks.s[i].name, name) == 0)
            u->stack = &u->stacks.s[i];
    if (rc == 0 && !u->stack)
        rc = tu_err_set(err, TU_ERR_NOT_FOUND, "stack '%s' is gone", name);
    free(name);
    return rc < 0 ? -1 : upctx_pick(u, ids, NULL, err);
}

struct resolve_ud {
    const struct upctx *u;
    char *last;
};

static const char *api_env(void *ud, const char *name)
{
    return stack_env(((struct resolve_ud *)ud)->u->api, name);
}

static const char *resolve_cb(void *ud, const char *host)
{
    struct resolve_ud *r = ud;
    free(r->last);
    r->last = upctx_resolve(r->u, host);
    return r->last;
}

int upctx_es_open(const struct upctx *u, struct es_conn *es, struct tu_err *err)
{
    if (!u->api) {
        memset(es, 0, sizeof(*es));
        return tu_err_set(err, TU_ERR_NOT_FOUND, "stack '%s' has no api container to read Elasticsearch's address "
                                                 "from", u->stack ? u->stack->name : "?");
    }
    struct resolve_ud r = {u, NULL};
    int rc = es_conn_from_env(es, api_env, &r, resolve_cb, err);
    free(r.last);
    return rc;
}
