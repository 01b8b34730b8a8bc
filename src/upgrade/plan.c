/* plan.c - building and printing an upgrade plan; nothing here changes the host. */
#include "upgrade/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>

#include "bundle/record.h"
#include "docker/objects.h"
#include "elastic/es.h"
#include "elastic/indexname.h"
#include "registry/auth.h"
#include "registry/regapi.h"
#include "registry/ref.h"
#include "tracardi/images.h"
#include "upgrade/indices.h"
#include "upgrade/journal.h"
#include "upgrade/phases.h"
#include "util/mask.h"
#include "util/xalloc.h"

static void refuse(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = xvasprintf(fmt, ap);
    va_end(ap);
    json_array_append_new(json_object_get(p->doc, "refusals"), json_string(m));
    free(m);
    p->refused = 1;
}

size_t plan_release_images(const struct upctx *u, const struct tversion *v, const char *keys[8])
{
    size_t n = 0;
    keys[n++] = "api";
    keys[n++] = "gui";
    int blue_has_apm = 0, blue_has_uw = 0;
    for (size_t i = 0; u->stack && i < u->stack->n; i++) {
        const char *k = u->stack->c[i].image_key;
        blue_has_apm |= k && strcmp(k, "apm") == 0;
        blue_has_uw |= k && strcmp(k, "update-worker") == 0;
    }
    /* The update worker runs the migration; a release that shares blue's data migrates
     * nothing and gets one only when blue runs one. */
    const struct tracardi_image *uw = tracardi_image_by_key("update-worker");
    const struct release_info *bi = release_info_of(&u->blue_v), *ti = release_info_of(v);
    int shared = bi && bi == ti;
    if (tracardi_image_in_release(uw, v) && (!shared || blue_has_uw))
        keys[n++] = "update-worker";
    const struct tracardi_image *apm = tracardi_image_by_key("apm");
    if (blue_has_apm && tracardi_image_in_release(apm, v))
        keys[n++] = "apm";
    return n;
}

json_t *plan_env_override(const struct upctx *u, const char *stack, const struct tversion *v,
                          const char *mysql_host)
{
    json_t *o = json_object();
    char *rname = green_name(stack, "redis", v->text);
    const char *blue_redis = u->api ? stack_env(u->api, "REDIS_HOST") : NULL;
    char *url = green_redis_url(blue_redis, rname);
    json_object_set_new(o, "REDIS_HOST", json_string(url));
    free(url);
    free(rname);
    if (mysql_host) {
        const char *colon = strrchr(mysql_host, ':');
        if (colon) {
            char *h = xstrndup(mysql_host, (size_t)(colon - mysql_host));
            json_object_set_new(o, "MYSQL_HOST", json_string(h));
            json_object_set_new(o, "MYSQL_PORT", json_string(colon + 1));
            free(h);
        } else {
            json_object_set_new(o, "MYSQL_HOST", json_string(mysql_host));
        }
    }
    return o;
}

size_t plan_api_twins(const struct upctx *u, const struct stack_container *out[PLAN_MAX_TWINS])
{
    size_t n = 0;
    for (size_t i = 0; u->api && i < u->stack->n && n < PLAN_MAX_TWINS; i++) {
        const struct stack_container *c = &u->stack->c[i];
        if (c == u->api || c->role != ROLE_API || !c->state || strcmp(c->state, "running") != 0 || !c->image_id ||
            !u->api->image_id || strcmp(c->image_id, u->api->image_id) != 0)
            continue;
        out[n++] = c;
    }
    return n;
}

char *plan_twin_key(size_t i)
{
    return xasprintf("api-%zu", i + 2);
}

char *plan_twin_name(const char *stack, const struct stack_container *blue, size_t i, const char *version)
{
    /* blue's compose service names it (tracardi-api-prod), unless it is the api's own */
    const char *svc = blue->service;
    int ok = svc && *svc && strlen(svc) < 64 && strcmp(svc, "tracardi-api") != 0 && strcmp(svc, "api") != 0;
    for (const char *q = svc; ok && *q; q++)
        ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '-' ||
             *q == '_' || *q == '.';
    if (ok)
        return xasprintf("%s-%s-%s", stack, svc, version);
    return xasprintf("%s-tracardi-api-%zu-%s", stack, i + 2, version);
}

/* The blue container a green one is derived from: its counterpart, else the api. */
static const struct stack_container *template_for(const struct upctx *u, const char *key)
{
    for (size_t i = 0; i < u->stack->n; i++) {
        const struct stack_container *c = &u->stack->c[i];
        if (c->image_key && strcmp(c->image_key, key) == 0 && (c == u->api || c == u->gui || c->role == ROLE_WORKER))
            return c;
    }
    return strcmp(key, "gui") == 0 ? u->gui : u->api;
}

/* An intermediate release is installed at its newest published tag (Tracardi publishes
 * 0.8.2 as 0.8.2.1): the newest one the api and gui repositories both list. When the
 * registry cannot be listed (a host that loaded a bundle), the release's own number. */
static void intermediate_tag(const struct upctx *u, const struct plan_opts *o, struct hop *h)
{
    const char *prefix = o->registry ? o->registry : u->prefix;
    struct reg_api api;
    struct tu_err e;
    if (reg_api_init(&api, prefix, &e) < 0)
        return;
    struct reg_tags t[2];
    memset(t, 0, sizeof(t));
    static const char *const paths[] = {"tracardi/tracardi-api", "tracardi/tracardi-gui"};
    int ok = 1;
    for (int k = 0; k < 2 && ok; k++) {
        char *repo = reg_repo_of(prefix, paths[k], &e);
        ok = repo && reg_list_tags(&api, repo, &t[k], &e) == 0;
        free(repo);
    }
    if (ok) {
        /* tags the api has and the gui has too */
        const char **both = xcalloc(t[0].n ? t[0].n : 1, sizeof(*both));
        size_t nb = 0;
        for (size_t i = 0; i < t[0].n; i++)
            for (size_t j = 0; j < t[1].n; j++)
                if (strcmp(t[0].tag[i], t[1].tag[j]) == 0) {
                    both[nb++] = t[0].tag[i];
                    break;
                }
        struct tversion best;
        if (tversion_newest_patch(both, nb, &h->to, &best))
            h->to = best;
        free(both);
    }
    reg_tags_free(&t[0]);
    reg_tags_free(&t[1]);
    reg_api_free(&api);
}

/* Same first three numbers: a patch tag of one release (0.8.2 and 0.8.2.1). */
static int same_release(const struct tversion *a, const struct tversion *b)
{
    for (int i = 0; i < 3; i++)
        if ((a->nparts > i ? a->parts[i] : 0) != (b->nparts > i ? b->parts[i] : 0))
            return 0;
    return !a->suffix[0] && !b->suffix[0];
}

/* Two releases of one db_version: the target runs beside blue on blue's own indices and
 * nothing is migrated. Read in Tracardi/tracardi: a release's install creates what is
 * missing and changes a mapping only when asked (update_mapping, which tracup never
 * sends; setup_indices.py), and from 0.9 SQLAlchemy's
 * create_all creates missing tables and never alters one; no release checks the
 * version of the data it opens. Between 0.8.2 (commit "New version 0.8.2") and the
 * 0.8.2.1 branch no index is added and no mapping changes (entity-index.json changes
 * only its refresh interval, a setting install never applies to an existing index). A
 * patch tag reports its release's three numbers (config.py VERSION): tracup takes it
 * as that release. Another release (0.9 -> 1.0, 1.0 -> 1.1) has no source tracup
 * could read: refused unless the operator says --share-data. */
static void plan_shared(struct upctx *u, const struct plan_opts *o, struct plan *p)
{
    const struct hop *h = &p->hops[0].hop;
    p->shared = 1;
    char tenant[6];
    release_tenant(&h->to, tenant);
    int patch = same_release(&u->blue_v, &h->to);
    json_t *cannot = json_array();
    json_array_append_new(cannot, json_string("the documents the new release writes while it serves (events, "
                                              "profiles, sessions) stay in the shared indices"));
    json_array_append_new(cannot, json_string("mapping fields its install or its writes add to the shared indices"));
    if (h->to_info->needs_mysql)
        json_array_append_new(cannot, json_string("MySQL tables it creates and the rows it changes"));
    json_t *sj = json_pack("{s:s,s:s,s:s,s:b,s:s,s:o}", "db_version", h->to_info->db_version, "tenant", tenant,
                           "indices", "", "confirmed", patch, "rollback_undoes",
                           "the traffic and the containers: blue serves again, on the same data", "rollback_cannot_undo",
                           cannot);
    char *idx = xasprintf("%s.%s.*, prod-%s.%s.*", h->to_info->prefix, tenant, h->to_info->prefix, tenant);
    json_object_set_new(sj, "indices", json_string(idx));
    free(idx);
    if (!patch) {
        json_object_set_new(sj, "unconfirmed",
                            json_sprintf("tracup could not read Tracardi %s's source: that its indices and MySQL "
                                         "tables are the ones %s made cannot be confirmed",
                                         h->to.text, u->blue_v.text));
        if (!o->share_data)
            refuse(p, "Tracardi %s and %s share db_version '%s', but %s is another release whose source tracup "
                      "could not read: that it runs on %s's indices and tables unchanged cannot be confirmed "
                      "(Tracardi creates missing tables and never alters one); take a snapshot of Elasticsearch "
                      "and MySQL, then pass --share-data to run it on the same data",
                   u->blue_v.text, h->to.text, h->to_info->db_version, h->to.text, u->blue_v.text);
    }
    json_object_set_new(p->doc, "shared_data", sj);
}

static void plan_elastic(struct upctx *u, struct plan *p)
{
    json_t *ej = json_object();
    json_object_set_new(p->doc, "elasticsearch", ej);
    struct es_conn es;
    struct tu_err e;
    tu_err_clear(&e);
    if (upctx_es_open(u, &es, &e) < 0) {
        refuse(p, "cannot tell how to reach Elasticsearch from the api's environment: %s", e.msg);
        return;
    }
    struct es_health h;
    if (es_health(&es, &h, &e) < 0) {
        refuse(p, "Elasticsearch does not answer: %s", e.msg);
        es_conn_free(&es);
        return;
    }
    json_object_set_new(ej, "health", json_string(h.status));
    json_object_set_new(ej, "data_nodes", json_integer(h.number_of_data_nodes));
    if (strcmp(h.status, "green") != 0 && strcmp(h.status, "yellow") != 0)
        refuse(p, "Elasticsearch's health is '%s'; an upgrade needs green or yellow", h.status);

    long per_node = 1000;
    const char *src = NULL;
    if (es_max_shards_per_node(&es, &per_node, &src, &e) < 0)
        per_node = 1000;
    struct es_index *idx = NULL;
    size_t n = 0;
    if (es_indices(&es, &idx, &n, &e) < 0) {
        refuse(p, "cannot list Elasticsearch's indices: %s", e.msg);
        es_conn_free(&es);
        return;
    }
    int64_t open = es_shards_open(idx, n);
    long nodes = h.number_of_data_nodes > 0 ? h.number_of_data_nodes : 1;
    int64_t limit = (int64_t)per_node * nodes;
    /* What the running release uses is what the next one will add, per hop. */
    const char *blue_db = json_string_value(json_object_get(u->blue_details, "db_version"));
    int64_t blue_shards = 0;
    for (size_t i = 0; i < n; i++) {
        struct tindex t;
        if (strcmp(idx[i].status, "open") != 0 || tindex_parse(idx[i].name, &t) < 0)
            continue;
        if (blue_db && strcmp(t.db_version, blue_db) == 0 && strcmp(t.tenant, p->tenant_from) == 0)
            blue_shards += idx[i].pri * (1 + idx[i].rep);
    }
    /* A target release whose indices exist already (a failed attempt, a manual
     * install) would be migrated into twice: duplicated documents (tracardi #565). */
    for (size_t hi = 0; hi < p->nhops; hi++) {
        const struct hop *hp = &p->hops[hi].hop;
        char tenant[6];
        release_tenant(&hp->to, tenant);
        size_t found = 0;
        if (p->downgrade) {
            for (size_t i = 0; i < n; i++) {
                struct tindex t;
                if (tindex_parse(idx[i].name, &t) == 0 && strcmp(t.db_version, hp->to_info->db_version) == 0 &&
                    strcmp(t.tenant, tenant) == 0)
                    found++;
            }
            if (!found)
                refuse(p, "Tracardi %s's indices (%s.%s.*) are gone: a downgrade would start it with no data",
                       hp->to.text, hp->to_info->db_version, tenant);
            continue;
        }
        if (hp->shared)
            continue; /* they are blue's: the new release runs on them */
        int64_t docs = 0;
        for (size_t i = 0; i < n; i++) {
            struct tindex t;
            if (tindex_parse(idx[i].name, &t) < 0 || strcmp(t.db_version, hp->to_info->db_version) != 0 ||
                strcmp(t.tenant, tenant) != 0)
                continue;
            found++;
            docs += idx[i].docs_count > 0 ? idx[i].docs_count : 0;
        }
        if (found)
            refuse(p, "Elasticsearch already holds %zu indices of db_version %s (tenant %s, %lld documents): a "
                      "migration into them would duplicate documents (tracardi issue #565); delete them first "
                      "(%s.%s.*, prod-… and static-…) if nothing uses them",
                   found, hp->to_info->db_version, tenant, (long long)docs, hp->to_info->db_version, tenant);
    }
    /* Each hop installs a whole release: about what the running one uses, scaled by
     * how many indices each release defines, and never less than that release's
     * install on one node with Tracardi's default shard settings. */
    int64_t needed = 0;
    for (size_t hi = 0; hi < p->nhops; hi++) {
        const struct hop *hp = &p->hops[hi].hop;
        long blue_count = release_index_count(&u->blue_v);
        int64_t est = blue_count > 0 && blue_shards > 0 ? blue_shards * release_index_count(&hp->to) / blue_count : 0;
        int64_t floor = release_install_shards(&hp->to);
        if (!p->downgrade && !hp->shared)
            needed += est > floor ? est : floor;
    }
    json_object_set_new(ej, "shards_open", json_integer(open));
    json_object_set_new(ej, "max_shards_per_node", json_integer(per_node));
    json_object_set_new(ej, "shard_limit", json_integer(limit));
    json_object_set_new(ej, "shards_needed", json_integer(needed));
    json_object_set_new(ej, "shards_free", json_integer(limit - open));
    if (open + needed > limit) {
        /* What could make room: releases no container on the host belongs to. */
        struct rel_ref *refs = NULL;
        size_t nrefs = indices_host_refs(u, NULL, &refs);
        json_t *groups = indices_group(idx, n, refs, nrefs);
        char *orphans = indices_orphans_text(groups);
        json_t *oj = json_array();
        size_t gi;
        json_t *g;
        json_array_foreach(json_object_get(groups, "groups"), gi, g) if (json_is_true(json_object_get(g, "orphan")))
            json_array_append_new(oj, json_pack("{s:O,s:O,s:O,s:O}", "release", json_object_get(g, "release"),
                                                "db_version", json_object_get(g, "db_version"), "tenant",
                                                json_object_get(g, "tenant"), "shards", json_object_get(g, "shards")));
        json_object_set_new(ej, "orphans", oj);
        const char *first = json_string_value(json_object_get(json_array_get(oj, 0), "release"));
        if (orphans)
            refuse(p, "Elasticsearch's shard budget is too small: the new release needs about %lld shards, but only "
                      "%lld of %lld are free (cluster.max_shards_per_node %ld x %ld data node%s); orphan releases "
                      "no container uses hold shards: %s; 'tracup prune-indices --release %s' deletes one",
                   (long long)needed, (long long)(limit - open), (long long)limit, per_node, nodes,
                   nodes == 1 ? "" : "s", orphans, first);
        else
            refuse(p, "Elasticsearch's shard budget is too small: the new release needs about %lld shards, but only "
                      "%lld of %lld are free (cluster.max_shards_per_node %ld x %ld data node%s) and no orphan "
                      "release holds any: raise the limit or add a data node",
                   (long long)needed, (long long)(limit - open), (long long)limit, per_node, nodes,
                   nodes == 1 ? "" : "s");
        free(orphans);
        free(refs);
        json_decref(groups);
    }
    free(idx);
    es_conn_free(&es);
}

static void plan_disk(struct upctx *u, struct plan *p)
{
    json_t *info = NULL;
    struct tu_err e;
    if (docker_info(u->d, &info, &e) < 0)
        return;
    const char *root = json_string_value(json_object_get(info, "DockerRootDir"));
    struct statvfs vfs;
    if (root && statvfs(root, &vfs) == 0) {
        unsigned long long free_b = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
        /* The new images weigh about what the running ones do. */
        unsigned long long need = 0;
        for (size_t i = 0; i < u->stack->n; i++) {
            const struct stack_container *c = &u->stack->c[i];
            if (c->role != ROLE_API && c->role != ROLE_GUI && c->role != ROLE_WORKER)
                continue;
            json_t *img = NULL;
            if (c->image_id && docker_image_inspect(u->d, c->image_id, &img, &e) == 0) {
                need += (unsigned long long)json_integer_value(json_object_get(img, "Size"));
                json_decref(img);
            }
        }
        need *= p->nhops;
        json_object_set_new(p->doc, "disk", json_pack("{s:s,s:I,s:I}", "docker_root", root, "free_bytes",
                                                      (json_int_t)free_b, "needed_bytes", (json_int_t)need));
        if (need > free_b)
            refuse(p, "not enough disk for the new images under '%s': about %llu MB needed, %llu MB free", root,
                   need / 1000000, free_b / 1000000);
    }
    json_decref(info);
}

/* The registry cannot be reached: the image of a bundle loaded on this host, when
 * there is one (tag and image id as recorded), pinned by its image id. */
static int plan_offline(struct upctx *u, struct plan *p, const struct plan_hop *ph, struct plan_image *pi,
                        const char *reg, const struct tu_err *e)
{
    if (!registry_unreachable(e))
        return 1;
    json_t *rec = NULL;
    const char *at = NULL;
    int r = offline_image(u->d, reg, ph->hop.to.text, pi->key, &pi->digest, &pi->image_id, &rec, &at);
    if (r == 0 && !json_object_get(p->doc, "offline"))
        json_object_set_new(p->doc, "offline", json_pack("{s:s,s:s}", "registry", reg, "loaded_at", at ? at : "?"));
    json_decref(rec);
    return r;
}

static void plan_images(struct upctx *u, const struct plan_opts *o, struct plan *p, struct plan_hop *ph)
{
    const char *keys[8];
    size_t n = plan_release_images(u, &ph->hop.to, keys);
    char *auth = NULL;
    int auth_done = 0;
    for (size_t i = 0; i < n; i++) {
        const struct tracardi_image *ti = tracardi_image_by_key(keys[i]);
        struct plan_image *pi = &ph->images[ph->nimages++];
        pi->key = ti->key;
        const char *reg = o->registry ? o->registry : u->prefix;
        pi->ref = tracardi_image_ref(reg, ti->path, ph->hop.to.text);
        pi->repo = xasprintf("%s/%s", reg, ti->path);
        if (o->skip_registry)
            continue;
        struct tu_err e;
        tu_err_clear(&e);
        if (!auth_done) {
            struct image_ref r;
            if (image_ref_parse(pi->ref, &r, &e) == 0) {
                struct reg_creds c;
                if (auth_find(image_ref_auth_key(&r), &c, &e) == 0) {
                    auth = auth_header_value(&c);
                    reg_creds_free(&c);
                } else {
                    refuse(p, "cannot read registry credentials: %s", e.msg);
                }
                image_ref_free(&r);
            }
            auth_done = 1;
        }
        if (docker_distribution_digest(u->d, pi->ref, auth, &pi->digest, &e) < 0 &&
            plan_offline(u, p, ph, pi, reg, &e) != 0)
            refuse(p, "the registry has no digest for '%s': %s", pi->ref, e.msg);
    }
    secret_free(auth);
}

static json_t *hop_json(struct upctx *u, const struct plan_opts *o, struct plan_hop *ph)
{
    const struct hop *h = &ph->hop;
    json_t *hj = json_pack("{s:s,s:s,s:s,s:b}", "to", h->to.text, "from_db_version", h->from_info->db_version,
                           "to_db_version", h->to_info->db_version, "intermediate", h->intermediate);
    json_t *imgs = json_array();
    for (size_t i = 0; i < ph->nimages; i++)
        json_array_append_new(imgs, json_pack("{s:s,s:s,s:s?,s:s?}", "image", ph->images[i].key, "ref",
                                              ph->images[i].ref, "digest", ph->images[i].digest, "image_id",
                                              ph->images[i].image_id));
    json_object_set_new(hj, "images", imgs);

    json_t *env = plan_env_override(u, u->stack->name, &h->to, o->mysql_host);
    json_t *cs = json_array();
    for (size_t i = 0; i < ph->nimages; i++) {
        const struct plan_image *pi = &ph->images[i];
        const struct stack_container *tpl = template_for(u, pi->key);
        if (!tpl)
            continue;
        char *name = green_name(u->stack->name, pi->key, h->to.text);
        char *pinned = pi->digest && !pi->image_id ? xasprintf("%s@%s", pi->repo, pi->digest) : xstrdup(pi->ref);
        struct green_spec gs;
        struct tu_err e;
        const struct tracardi_image *ti = tracardi_image_by_key(pi->key);
        if (green_spec_build(u->d, tpl, name, pi->key, ti->role, pinned, ti->role == ROLE_GUI ? NULL : env, NULL,
                             1, &gs, &e) == 0) {
            json_array_append_new(cs, json_pack("{s:s,s:s,s:s,s:o,s:O,s:s}", "name", gs.name, "role",
                                                stack_role_name(gs.role), "image", pinned, "env", green_env_masked(&gs),
                                                "networks", gs.networks, "ports", "none"));
            green_spec_free(&gs);
        }
        free(pinned);
        free(name);
    }
    const struct stack_container *twins[PLAN_MAX_TWINS];
    size_t nt = plan_api_twins(u, twins);
    const struct plan_image *api_img = ph->nimages ? &ph->images[0] : NULL;
    for (size_t t = 0; t < nt && api_img; t++) {
        char *name = plan_twin_name(u->stack->name, twins[t], t, h->to.text);
        char *key = plan_twin_key(t);
        char *pinned = api_img->digest && !api_img->image_id ? xasprintf("%s@%s", api_img->repo, api_img->digest)
                                                             : xstrdup(api_img->ref);
        struct green_spec gs;
        struct tu_err e;
        if (green_spec_build(u->d, twins[t], name, key, ROLE_API, pinned, env, NULL, 1, &gs, &e) == 0) {
            json_array_append_new(cs, json_pack("{s:s,s:s,s:s,s:o,s:O,s:s,s:s}", "name", gs.name, "role", "api",
                                                "image", pinned, "env", green_env_masked(&gs), "networks",
                                                gs.networks, "ports", "none", "twin_of", twins[t]->name));
            green_spec_free(&gs);
        }
        free(pinned);
        free(key);
        free(name);
    }
    json_decref(env);
    json_object_set_new(hj, "containers", cs);
    if (u->redis) {
        char *rn = green_name(u->stack->name, "redis", h->to.text);
        json_object_set_new(hj, "redis", json_pack("{s:s,s:s,s:s}", "name", rn, "image", u->redis->image, "why",
                                                   "two releases' workers on one Redis take each other's jobs "
                                                   "(tracardi issue #849)"));
        free(rn);
    }
    json_t *mig = json_array();
    static const char *const ctxs[] = {"staging", "production"};
    for (int c = 0; c < 2; c++)
        json_array_append_new(mig, json_pack("{s:s,s:s,s:s,s:s,s:s}", "context", ctxs[c], "call",
                                             h->to_info->migrate_path, "from_version", h->from_info->prefix,
                                             "header", c ? "x-context: production" : "x-context: staging", "runs_in",
                                             h->to_info->migration_in_worker ? "the update worker" : "the api"));
    json_object_set_new(hj, "migration", mig);
    if (h->to_info->plan_schema_file)
        json_object_set_new(hj, "own_copy", json_pack("{s:s,s:s}", "schemas", h->to_info->plan_schema_file, "why",
                                                      "the release's plan matches no partition of the old release "
                                                      "(events, profiles, sessions, logs)"));
    return hj;
}

int plan_build(struct upctx *u, const struct plan_opts *o, struct plan *p, struct tu_err *err)
{
    memset(p, 0, sizeof(*p));
    p->doc = json_pack("{s:s,s:s,s:s,s:[]}", "stack", u->stack->name, "kind", u->stack->kind, "target", o->target,
                       "refusals");
    int warn_rc = 0;
    struct tu_err e;
    tu_err_clear(&e);
    if (tversion_check_target(o->target, o->allow_dev, &p->target, &warn_rc, &e) < 0) {
        *err = e;
        plan_free(p);
        return -1;
    }
    if (warn_rc)
        json_object_set_new(p->doc, "warning", json_sprintf("%s is a release candidate", p->target.text));

    /* An upgrade that has not ended keeps blue as the way back: one at a time. */
    struct journal j;
    int jr = journal_load(&j, u->journal_path, &e);
    if (jr == 0) {
        const char *st = journal_state(&j);
        if (strcmp(st, "finalized") != 0 && strcmp(st, "rolled_back") != 0)
            refuse(p, "upgrade '%s' of this stack is %s (phase %s): %s first",
                   json_string_value(json_object_get(j.doc, "id")), st, journal_phase(&j),
                   strcmp(st, "done") == 0 ? "finalize or roll it back" : "resume or roll it back");
        journal_free(&j);
    } else if (jr < 0) {
        refuse(p, "%s", e.msg);
    }

    json_t *blue = json_object();
    json_object_set_new(p->doc, "blue", blue);
    json_object_set_new(blue, "api", json_string(u->api->name));
    if (!u->blue_v_known) {
        refuse(p, "cannot tell which Tracardi release runs: %s",
               u->blue_details_error ? u->blue_details_error : "the api did not answer");
        return 0;
    }
    json_object_set_new(blue, "version", json_string(u->blue_v.text));
    const char *db = json_string_value(json_object_get(u->blue_details, "db_version"));
    const char *nm = json_string_value(json_object_get(u->blue_details, "name"));
    json_object_set_new(blue, "db_version", db ? json_string(db) : json_null());
    release_tenant(&u->blue_v, p->tenant_from);
    if (nm && strlen(nm) < sizeof(p->tenant_from))
        snprintf(p->tenant_from, sizeof(p->tenant_from), "%s", nm);
    json_object_set_new(blue, "name", json_string(p->tenant_from));
    if (!u->blue_details)
        refuse(p, "the running api does not answer (%s): its version cannot be confirmed",
               u->blue_details_error ? u->blue_details_error : "?");

    int cmp = tversion_cmp(&p->target, &u->blue_v);
    /* A patch tag's api reports its release's three numbers: an api tagged as the
     * target runs it already (0.8.2.1 says 0.8.2). */
    const char *tag = u->api->tag;
    if (!tag) /* a green api, created from repo@digest, names its release in a label */
        tag = json_string_value(json_object_get(json_object_get(json_object_get(u->api->inspect, "Config"), "Labels"),
                                                "tracup.version"));
    int tagged_target = tag && strcmp(tag, p->target.text) == 0 && tversion_same_release(u->blue_v.text, tag);
    if (cmp > 0 && tagged_target)
        cmp = 0;
    if (cmp == 0) {
        refuse(p, "Tracardi %s already runs", tagged_target ? p->target.text : u->blue_v.text);
        return 0;
    }
    struct hop hops[MAX_HOPS];
    if (cmp < 0) {
        if (!o->allow_downgrade) {
            refuse(p, "%s is older than the running %s: Tracardi's data migrates forward only; to go back after an "
                      "upgrade use 'tracup rollback', or --allow-downgrade to run %s on its own indices",
                   p->target.text, u->blue_v.text, p->target.text);
            return 0;
        }
        /* Back to an older release on the indices it left behind: nothing is migrated. */
        const struct release_info *fi = release_info_of(&u->blue_v), *ti = release_info_of(&p->target);
        if (!fi || !ti) {
            refuse(p, "tracup does not know the indices of %s", !fi ? u->blue_v.text : p->target.text);
            return 0;
        }
        if (fi == ti) {
            refuse(p, "Tracardi %s and %s share db_version '%s': both would write the same indices", u->blue_v.text,
                   p->target.text, fi->db_version);
            return 0;
        }
        memset(&hops[0], 0, sizeof(hops[0]));
        hops[0].to = p->target;
        hops[0].from_info = fi;
        hops[0].to_info = ti;
        p->nhops = 1;
        p->downgrade = 1;
        json_object_set_new(p->doc, "downgrade", json_true());
    } else if (release_hops(&u->blue_v, &p->target, hops, &p->nhops, &e) < 0) {
        refuse(p, "%s", e.msg);
        p->nhops = 0;
        return 0;
    }
    for (size_t i = 0; i < p->nhops; i++) {
        p->hops[i].hop = hops[i];
        if (hops[i].intermediate)
            intermediate_tag(u, o, &p->hops[i].hop);
    }
    if (p->nhops == 1 && hops[0].shared)
        plan_shared(u, o, p);

    /* Parts tracup cannot upgrade: refused by name, never copied as if they were workers. */
    for (size_t i = 0; i < u->stack->n; i++) {
        const struct stack_container *c = &u->stack->c[i];
        if (c->role != ROLE_UNSUPPORTED || !c->state || strcmp(c->state, "running") != 0)
            continue;
        char *path = tracardi_image_path(c->image, u->prefix);
        const char *what = tracardi_unsupported_what(path);
        refuse(p, "the stack runs '%s' (%s, %s), which tracup cannot upgrade yet: it would be left on the old "
                  "release", c->name, path ? path : c->image, what ? what : "a Tracardi image tracup does not know");
        free(path);
    }
    /* Other apis of the release (0.8.0's tracardi-api-prod with PRODUCTION=yes): each gets a
     * green twin with its own environment, and its published ports move to it. */
    const struct stack_container *twins[PLAN_MAX_TWINS];
    size_t nt = plan_api_twins(u, twins);
    size_t all_apis = 0;
    char api_names[300] = "";
    for (size_t i = 0; i < u->stack->n; i++) {
        const struct stack_container *c = &u->stack->c[i];
        if (c->role != ROLE_API || !c->state || strcmp(c->state, "running") != 0)
            continue;
        all_apis++;
        size_t l = strlen(api_names);
        const char *pr = stack_env(c, "PRODUCTION");
        snprintf(api_names + l, sizeof(api_names) - l, "%s'%s'%s", l ? ", " : "", c->name,
                 pr && strcasecmp(pr, "yes") == 0 ? " (PRODUCTION=yes)" : "");
    }
    if (all_apis > nt + 1)
        refuse(p, "the stack runs %zu apis (%s), not all of this release's image, or more than %d: tracup "
                  "cannot tell which to upgrade", all_apis, api_names, PLAN_MAX_TWINS + 1);
    if (nt) {
        json_t *tj = json_array();
        for (size_t t = 0; t < nt; t++)
            json_array_append_new(tj, json_string(twins[t]->name));
        json_object_set_new(blue, "other_apis", tj);
        const char *swm = o->switch_mode ? o->switch_mode : "edge";
        if (strcmp(swm, "ports") != 0)
            refuse(p, "the stack runs %zu apis of this release (%s): tracup moves them with --switch ports only "
                      "(an edge or the operator's proxy fronts one api)", nt + 1, api_names);
        else
            for (size_t t = 0; t < nt; t++) {
                char *pub = engine_port_url(twins[t]->inspect, 80);
                if (!pub)
                    refuse(p, "--switch ports moves each api's published ports, and '%s' publishes none",
                           twins[t]->name);
                free(pub);
            }
    }

    /* tracardi-api middleware/context.py reads x-context only without PRODUCTION=yes: such
     * an api cannot be told to migrate the staging context. */
    const char *prod = stack_env(u->api, "PRODUCTION");
    if (prod && strcasecmp(prod, "yes") == 0 && p->nhops > 0 && !p->downgrade && !p->shared)
        refuse(p, "the api '%s' runs with PRODUCTION=yes: Tracardi ignores the x-context header there, so its "
                  "migration cannot be pointed at the staging context", u->api->name);

    const char *tenant = stack_env(u->api, "TENANT_NAME");
    if (!tenant)
        tenant = stack_env(u->api, "INSTANCE_PREFIX");
    if (tenant && *tenant)
        refuse(p, "the api pins its tenant name (TENANT_NAME=%s): both releases would share index aliases, so "
                  "they are not isolated", tenant);
    if (p->shared && o->mysql_host)
        refuse(p, "--mysql-host names another MySQL, but %s shares %s's data: it uses blue's MySQL", p->target.text,
               u->blue_v.text);
    for (size_t i = 0; i < p->nhops; i++) {
        if (p->hops[i].hop.to_info->needs_mysql && !stack_env(u->api, "MYSQL_HOST") && !o->mysql_host)
            refuse(p, "Tracardi %s needs MySQL and this stack has none configured (MYSQL_HOST is not set); "
                      "name one with --mysql-host HOST[:PORT]", p->hops[i].hop.to.text);
    }
    const char *sw = o->switch_mode ? o->switch_mode : "edge";
    json_t *swj = json_pack("{s:s}", "strategy", sw);
    if (strcmp(sw, "edge") == 0) {
        if (!u->edge) {
            refuse(p, "the stack has no edge in front of it: run 'tracup adopt' once, or switch with "
                      "--switch ports (a short gap)");
        } else {
            json_object_set_new(swj, "edge", json_string(u->edge->name));
            char *pub = stack_container_url(u->edge, 8686);
            if (pub)
                json_object_set_new(swj, "public_api", json_string(pub));
            free(pub);
        }
    }
    if (strcmp(sw, "ports") == 0) {
        char *pub = engine_port_url(u->api->inspect, 80);
        if (!pub)
            refuse(p, "--switch ports moves the api's published ports, and '%s' publishes none", u->api->name);
        else
            json_object_set_new(swj, "public_api", json_string(pub));
        json_object_set_new(swj, "gap", json_string("blue stops before green takes its ports: a short gap, measured"));
        free(pub);
    }
    json_object_set_new(p->doc, "switch", swj);

    json_t *hj = json_array();
    for (size_t i = 0; i < p->nhops; i++) {
        plan_images(u, o, p, &p->hops[i]);
        json_t *one = hop_json(u, o, &p->hops[i]);
        if (p->downgrade || p->shared)
            json_object_set_new(one, "migration", json_array());
        if (p->shared)
            json_object_set_new(one, "shared_data", json_true());
        json_array_append_new(hj, one);
    }
    json_object_set_new(p->doc, "hops", hj);
    plan_elastic(u, p);
    plan_disk(u, p);
    return 0;
}

void plan_free(struct plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nhops; i++)
        for (size_t j = 0; j < p->hops[i].nimages; j++) {
            free(p->hops[i].images[j].ref);
            free(p->hops[i].images[j].repo);
            free(p->hops[i].images[j].digest);
            free(p->hops[i].images[j].image_id);
        }
    json_decref(p->doc);
    memset(p, 0, sizeof(*p));
}

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "?";
}

void plan_print(FILE *f, const struct plan *p)
{
    json_t *d = p->doc, *blue = json_object_get(d, "blue");
    fprintf(f, "Plan for stack %s: Tracardi %s (db_version %s, tenant %s) -> %s\n", js(d, "stack"), js(blue, "version"),
            js(blue, "db_version"), js(blue, "name"), js(d, "target"));
    size_t i, k;
    json_t *h, *v;
    json_array_foreach(json_object_get(d, "hops"), i, h) {
        fprintf(f, "\nHop %zu: -> %s (db_version %s -> %s)%s\n", i + 1, js(h, "to"), js(h, "from_db_version"),
                js(h, "to_db_version"), json_is_true(json_object_get(h, "intermediate"))
                                            ? ", an intermediate release: installed, migrated into, verified, removed"
                                            : "");
        json_array_foreach(json_object_get(h, "images"), k, v)
        {
            if (json_is_string(json_object_get(v, "image_id")))
                fprintf(f, "  offline  %-58s image %s (loaded from a bundle, not pulled)\n", js(v, "ref"),
                        js(v, "image_id"));
            else
                fprintf(f, "  pull     %-58s %s\n", js(v, "ref"), json_is_string(json_object_get(v, "digest")) ? js(v, "digest") : "(digest unknown)");
        }
        json_array_foreach(json_object_get(h, "containers"), k, v) {
            fprintf(f, "  create   %-40s role %-7s networks", js(v, "name"), js(v, "role"));
            size_t m;
            json_t *n;
            json_array_foreach(json_object_get(v, "networks"), m, n) fprintf(f, " %s", json_string_value(n));
            fprintf(f, ", no published ports\n");
            if (json_object_get(v, "twin_of"))
                fprintf(f, "             the twin of '%s': its environment, its published ports at the switch\n",
                        js(v, "twin_of"));
            json_array_foreach(json_object_get(v, "env"), m, n) fprintf(f, "             %s\n", json_string_value(n));
        }
        json_t *r = json_object_get(h, "redis");
        if (r)
            fprintf(f, "  redis    %s from %s: %s\n", js(r, "name"), js(r, "image"), js(r, "why"));
        json_array_foreach(json_object_get(h, "migration"), k, v)
            fprintf(f, "  migrate  %-10s POST %s from %s, %s (runs in %s)\n", js(v, "context"), js(v, "call"),
                    js(v, "from_version"), js(v, "header"), js(v, "runs_in"));
        json_t *own = json_object_get(h, "own_copy");
        if (own)
            fprintf(f, "  copy     partitions: %s; tracup copies them itself after the migration, as %s in the new "
                       "api's image says\n", js(own, "why"), js(own, "schemas"));
        json_t *sh = json_object_get(d, "shared_data");
        if (json_is_true(json_object_get(d, "downgrade")))
            fprintf(f, "  downgrade: %s runs on the indices it left behind; nothing is installed, migrated or "
                       "deleted\n", js(h, "to"));
        else if (sh) {
            fprintf(f, "  shared   both releases use db_version %s: %s runs on %s's own data (%s), nothing is "
                       "installed or migrated\n", js(sh, "db_version"), js(h, "to"), js(blue, "version"),
                    js(sh, "indices"));
            fprintf(f, "  rollback undoes %s; it cannot undo:\n", js(sh, "rollback_undoes"));
            json_array_foreach(json_object_get(sh, "rollback_cannot_undo"), k, v)
                fprintf(f, "             - %s\n", json_string_value(v));
            fprintf(f, "  workers  green's workers are created stopped and start once blue's have stopped (done): "
                       "never two on the same data\n");
            if (json_object_get(sh, "unconfirmed"))
                fprintf(f, "  unconfirmed: %s\n", js(sh, "unconfirmed"));
            fprintf(f, "  finalize removes the old containers; the indices stay (they are the new release's)\n");
        } else
            fprintf(f, "  verify   document counts of every copied index, old against new\n");
    }
    json_t *off = json_object_get(d, "offline");
    if (off)
        fprintf(f, "\noffline: images from the bundle loaded at %s (registry %s cannot be reached); green runs "
                   "exactly the loaded image ids\n", js(off, "loaded_at"), js(off, "registry"));
    json_t *sw = json_object_get(d, "switch");
    if (sw)
        fprintf(f, "\nSwitch: %s%s%s%s%s\n", js(sw, "strategy"), json_object_get(sw, "edge") ? " through " : "",
                json_object_get(sw, "edge") ? js(sw, "edge") : "", json_object_get(sw, "public_api") ? " at " : "",
                json_object_get(sw, "public_api") ? js(sw, "public_api") : "");
    json_t *es = json_object_get(d, "elasticsearch");
    if (json_object_get(es, "shard_limit"))
        fprintf(f, "Elasticsearch: %s, %lld of %lld shards open; the upgrade adds about %lld\n", js(es, "health"),
                (long long)json_integer_value(json_object_get(es, "shards_open")),
                (long long)json_integer_value(json_object_get(es, "shard_limit")),
                (long long)json_integer_value(json_object_get(es, "shards_needed")));
    json_t *refusals = json_object_get(d, "refusals");
    if (json_array_size(refusals)) {
        fprintf(f, "\nRefused:\n");
        json_array_foreach(refusals, i, v) fprintf(f, "  - %s\n", json_string_value(v));
    } else {
        fprintf(f, "\nReady: nothing was changed. Run 'tracup upgrade --to %s' to do it.\n", js(d, "target"));
    }
}
