/* green.c - deriving the new release's containers from the running ones. */
#include "upgrade/green.h"

#include <stdlib.h>
#include <string.h>

#include "docker/objects.h"
#include "util/mask.h"
#include "util/xalloc.h"

char *green_name(const char *stack, const char *key, const char *version)
{
    const char *what = strcmp(key, "api") == 0 ? "tracardi-api" : strcmp(key, "gui") == 0 ? "tracardi-gui" : key;
    return xasprintf("%s-%s-%s", stack, what, version);
}

static int in_array(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

/* Blue's environment less what its image defines, with the overrides applied. */
static json_t *derive_env(json_t *blue_env, json_t *image_env, json_t *override)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(blue_env, i, v) {
        const char *e = json_string_value(v);
        if (!e || in_array(image_env, e))
            continue;
        const char *eq = strchr(e, '=');
        if (!eq)
            continue; /* "NAME" without a value is unset for the program */
        char *name = xstrndup(e, (size_t)(eq - e));
        int overridden = json_object_get(override, name) != NULL;
        free(name);
        if (!overridden)
            json_array_append(out, v);
    }
    const char *k;
    json_object_foreach(override, k, v) {
        if (json_is_string(v))
            json_array_append_new(out, json_sprintf("%s=%s", k, json_string_value(v)));
    }
    return out;
}

/* Copies a member when blue's differs from its image's (an operator's override). */
static void copy_if_overridden(json_t *dst, json_t *blue_cfg, json_t *image_cfg, const char *key)
{
    json_t *b = json_object_get(blue_cfg, key);
    json_t *i = json_object_get(image_cfg, key);
    if (b && !json_is_null(b) && !json_equal(b, i))
        json_object_set(dst, key, b);
}

int green_spec_build(struct docker *d, const struct stack_container *blue, const char *name, const char *key,
                     enum stack_role role, const char *image, json_t *env_override, json_t *labels,
                     int copy_mounts, struct green_spec *spec, struct tu_err *err)
{
    memset(spec, 0, sizeof(*spec));
    json_t *cfg = json_object_get(blue->inspect, "Config");
    json_t *host = json_object_get(blue->inspect, "HostConfig");
    json_t *img = NULL;
    const char *image_id = json_string_value(json_object_get(blue->inspect, "Image"));
    if (!image_id || docker_image_inspect(d, image_id, &img, err) < 0) {
        tu_err_prefix(err, "reading the image of '%s': ", blue->name);
        return -1;
    }
    json_t *icfg = json_object_get(img, "Config");

    json_t *body = json_object();
    json_object_set_new(body, "Image", json_string(image));
    json_object_set_new(body, "Env", derive_env(json_object_get(cfg, "Env"), json_object_get(icfg, "Env"),
                                                env_override));
    /* Redis keeps blue's command (it may carry requirepass); the release's own images
     * keep theirs unless the operator changed them. */
    if (role == ROLE_REDIS) {
        json_t *c = json_object_get(cfg, "Cmd"), *ep = json_object_get(cfg, "Entrypoint");
        if (c && !json_is_null(c))
            json_object_set(body, "Cmd", c);
        if (ep && !json_is_null(ep))
            json_object_set(body, "Entrypoint", ep);
    } else {
        copy_if_overridden(body, cfg, icfg, "Cmd");
        copy_if_overridden(body, cfg, icfg, "Entrypoint");
    }
    copy_if_overridden(body, cfg, icfg, "User");
    copy_if_overridden(body, cfg, icfg, "WorkingDir");
    json_t *lab = json_object();
    if (labels)
        json_object_update(lab, labels);
    json_object_set_new(body, "Labels", lab);

    json_t *hc = json_object();
    static const char *const keep[] = {"RestartPolicy", "LogConfig", "ExtraHosts", "Dns", "DnsOptions",
                                       "DnsSearch", "Memory", "NanoCpus", "CpuShares", "Ulimits", NULL};
    for (size_t i = 0; keep[i]; i++) {
        json_t *v = json_object_get(host, keep[i]);
        if (v && !json_is_null(v))
            json_object_set(hc, keep[i], v);
    }
    if (copy_mounts) {
        json_t *binds = json_object_get(host, "Binds");
        if (json_is_array(binds) && json_array_size(binds))
            json_object_set(hc, "Binds", binds);
        json_t *mounts = json_object_get(host, "Mounts");
        if (json_is_array(mounts) && json_array_size(mounts))
            json_object_set(hc, "Mounts", mounts);
    }
    /* No PortBindings: the new release is reached through the edge or its network address. */
    json_object_set_new(body, "HostConfig", hc);

    json_t *nets = json_array();
    json_t *bn = json_object_get(json_object_get(blue->inspect, "NetworkSettings"), "Networks");
    const char *nname;
    json_t *nv;
    json_object_foreach(bn, nname, nv) json_array_append_new(nets, json_string(nname));
    if (json_array_size(nets)) {
        /* Before API 1.44 a create takes one network; the others are connected after. */
        json_t *ep = json_pack("{s:{s:{s:[s]}}}", "EndpointsConfig", json_string_value(json_array_get(nets, 0)),
                               "Aliases", name);
        json_object_set_new(body, "NetworkingConfig", ep);
    }
    json_decref(img);
    spec->name = xstrdup(name);
    spec->key = key;
    spec->role = role;
    spec->body = body;
    spec->networks = nets;
    return 0;
}

void green_spec_free(struct green_spec *spec)
{
    if (!spec)
        return;
    free(spec->name);
    json_decref(spec->body);
    json_decref(spec->networks);
    memset(spec, 0, sizeof(*spec));
}

json_t *green_env_masked(const struct green_spec *spec)
{
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(spec->body, "Env"), i, v) {
        char *m = mask_env_entry(json_string_value(v));
        json_array_append_new(out, json_string(m));
        free(m);
    }
    return out;
}

char *green_redis_url(const char *blue_url, const char *host)
{
    /* redis://[user:pass@]host[:port][/db] -> same with host:6379 replaced */
    const char *scheme_end = blue_url ? strstr(blue_url, "://") : NULL;
    if (!scheme_end)
        return xasprintf("redis://%s:6379", host);
    const char *start = scheme_end + 3;
    const char *auth_end = start + strcspn(start, "/?#");
    const char *at = NULL;
    for (const char *p = start; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *hostpart = at ? at + 1 : start;
    /* A bracketed IPv6 host has colons of its own: the port comes after ']'. */
    const char *after = hostpart;
    if (*hostpart == '[') {
        const char *rb = memchr(hostpart, ']', (size_t)(auth_end - hostpart));
        after = rb ? rb + 1 : auth_end;
    }
    const char *colon = memchr(after, ':', (size_t)(auth_end - after));
    const char *port = colon ? colon : ":6379";
    size_t port_len = colon ? (size_t)(auth_end - colon) : strlen(port);
    return xasprintf("%.*s%s%.*s%s", (int)(hostpart - blue_url), blue_url, host, (int)port_len, port, auth_end);
}
