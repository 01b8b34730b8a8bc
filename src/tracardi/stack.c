/* stack.c - grouping containers into Tracardi stacks and describing each member. */
#include "tracardi/stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/objects.h"
#include "registry/ref.h"
#include "util/xalloc.h"

#define MAX_CONTAINERS 4096

static const char *label(json_t *c, const char *key)
{
    return json_string_value(json_object_get(json_object_get(c, "Labels"), key));
}

/* The key a container is grouped under, and its kind. */
static void group_of(json_t *c, const char **name, const char **kind)
{
    const char *t = label(c, "tracup.stack");
    const char *p = label(c, "com.docker.compose.project");
    if (t && *t) {
        *name = t;
        *kind = "tracup";
    } else if (p && *p) {
        *name = p;
        *kind = "compose";
    } else {
        *name = "standalone";
        *kind = "standalone";
    }
}

static struct stack *stack_get(struct stack_list *l, const char *name, const char *kind)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->s[i].name, name) == 0)
            return &l->s[i];
    l->s = xrealloc(l->s, (l->n + 1) * sizeof(*l->s));
    struct stack *s = &l->s[l->n++];
    memset(s, 0, sizeof(*s));
    s->name = xstrdup(name);
    s->kind = xstrdup(kind);
    return s;
}

static void fill_ports(struct stack_container *sc, json_t *ports)
{
    size_t n = json_array_size(ports);
    if (n > 256)
        n = 256;
    sc->ports = n ? xcalloc(n, sizeof(*sc->ports)) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(ports, i);
        struct stack_port *sp = &sc->ports[sc->nports];
        json_int_t priv = json_integer_value(json_object_get(p, "PrivatePort"));
        json_int_t pub = json_integer_value(json_object_get(p, "PublicPort"));
        if (priv <= 0 || priv > 65535 || pub < 0 || pub > 65535)
            continue;
        sp->private_port = (int)priv;
        sp->public_port = (int)pub;
        snprintf(sp->ip, sizeof(sp->ip), "%s", json_string_value(json_object_get(p, "IP")) ? json_string_value(json_object_get(p, "IP")) : "");
        snprintf(sp->proto, sizeof(sp->proto), "%s", json_string_value(json_object_get(p, "Type")) ? json_string_value(json_object_get(p, "Type")) : "tcp");
        sc->nports++;
    }
}

/* Image name, tag and repository digest; image inspect answers are cached by id. */
static void fill_image(struct docker *d, struct stack_container *sc, json_t *cache)
{
    struct image_ref r;
    struct tu_err e;
    if (sc->image && strncmp(sc->image, "sha256:", 7) != 0 && image_ref_parse(sc->image, &r, &e) == 0) {
        sc->tag = xstrdup(r.tag ? r.tag : (r.digest ? NULL : "latest"));
        if (r.digest)
            sc->digest = xstrdup(r.digest);
        image_ref_free(&r);
    }
    if (!sc->image_id || sc->digest)
        return;
    json_t *img = json_object_get(cache, sc->image_id);
    if (!img) {
        if (docker_image_inspect(d, sc->image_id, &img, &e) < 0)
            return;
        json_object_set_new(cache, sc->image_id, img);
    }
    const char *dg = docker_image_repo_digest(img, sc->image);
    if (dg)
        sc->digest = xstrdup(dg);
}

int stack_discover(struct docker *d, const char *prefix, struct stack_list *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *list = NULL;
    if (docker_container_list(d, NULL, &list, err) < 0)
        return -1;
    size_t total = json_array_size(list);
    if (total > MAX_CONTAINERS) {
        json_decref(list);
        return tu_err_set(err, TU_ERR_TOO_BIG, "the host has %zu containers, more than tracup reads (%d)",
                          total, MAX_CONTAINERS);
    }

    /* First pass: which groups hold a Tracardi image? */
    json_t *tracardi_groups = json_object();
    /* A container whose image tag moved on (a newer pull of the same tag) is listed
     * with the image's id: what it was created from is in its Config.Image. */
    json_t *inspected = json_object();
    int rc = 0;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        const char *img = json_string_value(json_object_get(c, "Image"));
        const char *id = json_string_value(json_object_get(c, "Id"));
        const char *name, *kind;
        group_of(c, &name, &kind);
        if (tracardi_image_role(img, prefix, NULL) == ROLE_OTHER && img && id && strncmp(img, "sha256:", 7) == 0 &&
            !json_object_get(tracardi_groups, name)) {
            json_t *ins = NULL;
            struct tu_err e;
            if (docker_container_inspect(d, id, &ins, &e) < 0) {
                if (e.kind == TU_ERR_NOT_FOUND)
                    continue;
                *err = e;
                rc = -1;
                break;
            }
            json_object_set_new(inspected, id, ins);
            img = json_string_value(json_object_get(json_object_get(ins, "Config"), "Image"));
        }
        if (tracardi_image_role(img, prefix, NULL) != ROLE_OTHER)
            json_object_set_new(tracardi_groups, name, json_true());
    }

    json_t *image_cache = json_object();
    json_array_foreach(list, i, c) {
        if (rc < 0)
            break;
        const char *name, *kind;
        group_of(c, &name, &kind);
        if (!json_object_get(tracardi_groups, name))
            continue;
        const char *id = json_string_value(json_object_get(c, "Id"));
        if (!id)
            continue;
        json_t *ins = json_incref(json_object_get(inspected, id));
        struct tu_err e;
        if (!ins && docker_container_inspect(d, id, &ins, &e) < 0) {
            if (e.kind == TU_ERR_NOT_FOUND)
                continue;  /* removed between the list and now */
            *err = e;
            rc = -1;
            break;
        }
        struct stack *s = stack_get(out, name, kind);
        s->c = xrealloc(s->c, (s->n + 1) * sizeof(*s->c));
        struct stack_container *sc = &s->c[s->n++];
        memset(sc, 0, sizeof(*sc));
        sc->inspect = ins;
        sc->id = xstrdup(id);
        const char *nm = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
        sc->name = xstrdup(nm ? (nm[0] == '/' ? nm + 1 : nm) : id);
        /* Config.Image is what the container was created from, even after the tag moved. */
        const char *img = json_string_value(json_object_get(json_object_get(ins, "Config"), "Image"));
        if (!img)
            img = json_string_value(json_object_get(c, "Image"));
        sc->image = xstrdup(img);
        sc->image_id = xstrdup(json_string_value(json_object_get(c, "ImageID")));
        json_t *state = json_object_get(ins, "State");
        sc->state = xstrdup(json_string_value(json_object_get(state, "Status")));
        sc->health = xstrdup(json_string_value(json_object_get(json_object_get(state, "Health"), "Status")));
        sc->restarts = (long)json_integer_value(json_object_get(ins, "RestartCount"));
        const char *svc = label(c, "com.docker.compose.service");
        const char *trole = label(c, "tracup.role");
        sc->service = xstrdup(trole ? trole : svc);
        sc->role = tracardi_image_role(img, prefix, &sc->image_key);
        if (sc->role == ROLE_OTHER && trole && label(c, "tracup.upgrade")) {
            /* tracup's own containers say what they are, whatever registry they came from. */
            static const enum stack_role roles[] = {ROLE_API, ROLE_GUI, ROLE_WORKER, ROLE_REDIS};
            for (size_t r = 0; r < sizeof(roles) / sizeof(roles[0]); r++)
                if (strcmp(trole, stack_role_name(roles[r])) == 0)
                    sc->role = roles[r];
        }
        if (sc->role == ROLE_OTHER)
            sc->role = infra_role_guess(img, sc->service);
        fill_ports(sc, json_object_get(c, "Ports"));
        fill_image(d, sc, image_cache);
    }
    json_decref(image_cache);
    json_decref(inspected);
    json_decref(tracardi_groups);
    json_decref(list);
    if (rc < 0)
        stack_list_free(out);
    return rc;
}

void stack_list_free(struct stack_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        struct stack *s = &l->s[i];
        for (size_t j = 0; j < s->n; j++) {
            struct stack_container *c = &s->c[j];
            free(c->id);
            free(c->name);
            free(c->image);
            free(c->tag);
            free(c->digest);
            free(c->image_id);
            free(c->state);
            free(c->health);
            free(c->service);
            free(c->ports);
            json_decref(c->inspect);
        }
        free(s->c);
        free(s->name);
        free(s->kind);
    }
    free(l->s);
    memset(l, 0, sizeof(*l));
}

const struct stack_container *stack_find_role(const struct stack *s, enum stack_role role)
{
    const struct stack_container *any = NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (s->c[i].role != role)
            continue;
        if (s->c[i].state && strcmp(s->c[i].state, "running") == 0)
            return &s->c[i];
        if (!any)
            any = &s->c[i];
    }
    return any;
}

const char *stack_env(const struct stack_container *c, const char *name)
{
    if (!c)
        return NULL;
    json_t *env = json_object_get(json_object_get(c->inspect, "Config"), "Env");
    size_t n = strlen(name), i;
    json_t *v;
    json_array_foreach(env, i, v) {
        const char *s = json_string_value(v);
        if (s && strncmp(s, name, n) == 0 && s[n] == '=')
            return s + n + 1;
    }
    return NULL;
}

char *stack_container_url(const struct stack_container *c, int port)
{
    for (size_t i = 0; i < c->nports; i++) {
        const struct stack_port *p = &c->ports[i];
        if (p->private_port == port && p->public_port > 0 && strcmp(p->proto, "tcp") == 0) {
            const char *ip = p->ip;
            if (!*ip || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0)
                ip = "127.0.0.1";
            if (strchr(ip, ':'))
                return xasprintf("http://[%s]:%d", ip, p->public_port);
            return xasprintf("http://%s:%d", ip, p->public_port);
        }
    }
    json_t *nets = json_object_get(json_object_get(c->inspect, "NetworkSettings"), "Networks");
    const char *k;
    json_t *n;
    json_object_foreach(nets, k, n) {
        const char *ip = json_string_value(json_object_get(n, "IPAddress"));
        if (ip && *ip)
            return xasprintf("http://%s:%d", ip, port);
    }
    return NULL;
}
