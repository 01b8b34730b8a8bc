/* cleanup.c - deleting a release's indices (its api first, Elasticsearch for the rest) and old images. */
#include "upgrade/cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/objects.h"
#include "elastic/indexname.h"
#include "tracardi/images.h"
#include "tracardi/releases.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---------------------------------------------------------------- indices */

char *cleanup_api_path(const struct tversion *live, const char *db_version, const char *tenant)
{
    if (tversion_at_least(live, 0, 8, 2)) {
        char prefix[16];
        release_db_prefix(db_version, prefix, sizeof(prefix));
        return xasprintf("/indices?db_version=%s&codename=%s", prefix, tenant);
    }
    return xasprintf("/indices/version/%s?codename=%s", db_version, tenant);
}

/* The names Elasticsearch lists now, as a JSON object used as a set. */
static int listed_now(const struct es_conn *es, json_t **set, struct tu_err *err)
{
    struct es_index *idx = NULL;
    size_t n = 0;
    if (es_indices(es, &idx, &n, err) < 0)
        return -1;
    *set = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(*set, idx[i].name, json_true());
    free(idx);
    return 0;
}

/* True when name is one of the group's by its own parse (never by listing alone). */
static int in_group(const char *name, json_t *group)
{
    struct tindex t;
    return tindex_parse_loose(name, &t) == 0 && strcmp(t.db_version, jstr(group, "db_version")) == 0 &&
           strcmp(t.tenant, jstr(group, "tenant")) == 0;
}

int cleanup_delete_group(const struct es_conn *es, struct tapi *api, const struct tversion *live, json_t *group,
                         json_t **deleted, char **note, struct tu_err *err)
{
    *deleted = json_array();
    if (note)
        *note = NULL;
    json_t *listed = json_object_get(group, "indices");
    size_t i;
    json_t *ix;
    json_array_foreach(listed, i, ix) {
        if (!in_group(jstr(ix, "index"), group))
            return tu_err_set(err, TU_ERR_REFUSED, "index '%s' is not one of Tracardi %s's: nothing deleted",
                              jstr(ix, "index"), jstr(group, "release"));
    }
    if (api && api->token) {
        char *path = cleanup_api_path(live, jstr(group, "db_version"), jstr(group, "tenant"));
        long status = 0;
        json_t *ans = NULL;
        struct tu_err ae;
        tu_err_clear(&ae);
        int rc = tapi_call(api, "DELETE", path, NULL, NULL, &status, &ans, &ae);
        if (note && (rc < 0 || status < 200 || status > 299)) {
            const char *detail = jstr(ans, "detail");
            *note = rc < 0 ? xasprintf("the api could not be asked (%s)", ae.msg)
                           : xasprintf("the api answered HTTP %ld to DELETE %s%s%s", status, path,
                                       detail ? ": " : "", detail ? detail : "");
        }
        json_decref(ans);
        free(path);
    }
    json_t *now = NULL;
    if (listed_now(es, &now, err) < 0)
        return -1;
    int rc = 0;
    json_array_foreach(listed, i, ix) {
        const char *name = jstr(ix, "index");
        const char *via = "api";
        if (json_object_get(now, name)) {
            via = "elasticsearch";
            if (es_delete_index(es, name, err) < 0 && err->kind != TU_ERR_NOT_FOUND) {
                rc = -1;
                break;
            }
            tu_err_clear(err);
        }
        json_array_append_new(*deleted, json_pack("{s:s,s:O,s:O,s:s}", "index", name, "docs",
                                                  json_object_get(ix, "docs"), "bytes", json_object_get(ix, "bytes"),
                                                  "via", via));
    }
    json_decref(now);
    if (rc < 0)
        return -1;
    /* Whatever the calls said, the listing decides. */
    if (listed_now(es, &now, err) < 0)
        return -1;
    size_t left = 0;
    const char *first = NULL;
    json_array_foreach(listed, i, ix) {
        if (json_object_get(now, jstr(ix, "index"))) {
            left++;
            first = first ? first : jstr(ix, "index");
        }
    }
    if (left)
        rc = tu_err_set(err, TU_ERR_HTTP, "%zu of Tracardi %s's indices are still there (e.g. '%s')", left,
                        jstr(group, "release"), first);
    json_decref(now);
    return rc;
}

/* ---------------------------------------------------------------- images */

struct tagged {
    const char *ref, *id;
    struct tversion v;
};

static int tversion_desc(const void *a, const void *b)
{
    return tversion_cmp((const struct tversion *)b, (const struct tversion *)a);
}

int cleanup_images_plan(struct docker *d, const char *prefix, int keep, const char *live_version, json_t **out,
                        struct tu_err *err)
{
    *out = NULL;
    json_t *images = NULL, *containers = NULL;
    if (docker_image_list(d, &images, err) < 0)
        return -1;
    if (docker_container_list(d, NULL, &containers, err) < 0) {
        json_decref(images);
        return -1;
    }
    json_t *used = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) if (jstr(c, "ImageID")) json_object_set_new(used, jstr(c, "ImageID"), json_true());

    /* Every Tracardi tag under the prefix, with its release. */
    size_t cap = 16, n = 0;
    struct tagged *t = xcalloc(cap, sizeof(*t));
    json_t *im;
    json_array_foreach(images, i, im) {
        size_t k;
        json_t *tag;
        json_array_foreach(json_object_get(im, "RepoTags"), k, tag) {
            const char *ref = json_string_value(tag);
            const char *key = NULL;
            const char *colon = ref ? strrchr(ref, ':') : NULL;
            if (!colon || strchr(colon, '/') || tracardi_image_role(ref, prefix, &key) == ROLE_OTHER)
                continue;
            struct tu_err e;
            struct tversion v;
            if (tversion_parse(colon + 1, &v, &e) < 0)
                continue;
            if (n == cap) {
                cap *= 2;
                t = xrealloc(t, cap * sizeof(*t));
            }
            t[n].ref = ref;
            t[n].id = jstr(im, "Id");
            t[n].v = v;
            n++;
        }
    }
    /* The releases kept: the `keep` newest present, and the live one. */
    struct tversion *vs = xcalloc(n ? n : 1, sizeof(*vs));
    size_t nv = 0;
    for (i = 0; i < n; i++) {
        size_t j = 0;
        while (j < nv && tversion_cmp(&vs[j], &t[i].v) != 0)
            j++;
        if (j == nv)
            vs[nv++] = t[i].v;
    }
    qsort(vs, nv, sizeof(*vs), tversion_desc);
    /* Kept: releases newer than the live one (pulled for a later upgrade), the live
     * one, and the newest before it up to `keep` in all (the way back to reinstall). */
    struct tversion lv;
    struct tu_err le;
    int have_live = live_version && tversion_parse(live_version, &lv, &le) == 0;
    json_t *kept_versions = json_object();
    size_t budget = keep > 0 ? (size_t)keep : 0;
    for (i = 0; i < nv; i++) {
        int newer = have_live && tversion_cmp(&vs[i], &lv) > 0;
        if (newer) {
            json_object_set_new(kept_versions, vs[i].text, json_string("newer than the live release"));
        } else if (budget > 0) {
            json_object_set_new(kept_versions, vs[i].text, json_string("one of the releases kept"));
            budget--;
        }
    }
    if (have_live)
        json_object_set_new(kept_versions, lv.text, json_string("the live release"));
    json_t *remove = json_array(), *kept = json_array();
    for (i = 0; i < n; i++) {
        const char *why = json_string_value(json_object_get(kept_versions, t[i].v.text));
        if (!why && t[i].id && json_object_get(used, t[i].id))
            why = "a container uses it";
        if (why)
            json_array_append_new(kept, json_pack("{s:s,s:s,s:s}", "ref", t[i].ref, "version", t[i].v.text, "why", why));
        else
            json_array_append_new(remove, json_pack("{s:s,s:s?,s:s}", "ref", t[i].ref, "id", t[i].id, "version",
                                                    t[i].v.text));
    }
    *out = json_pack("{s:o,s:o,s:i}", "remove", remove, "keep", kept, "keep_releases", keep);
    json_decref(kept_versions);
    free(vs);
    free(t);
    json_decref(used);
    json_decref(images);
    json_decref(containers);
    return 0;
}

int cleanup_images_apply(struct docker *d, json_t *plan, json_t **removed, struct tu_err *err)
{
    *removed = json_array();
    size_t i;
    json_t *r;
    int rc = 0;
    json_array_foreach(json_object_get(plan, "remove"), i, r) {
        struct tu_err e;
        tu_err_clear(&e);
        if (docker_image_remove(d, jstr(r, "ref"), &e) == 0)
            json_array_append_new(*removed, json_string(jstr(r, "ref")));
        else if (e.kind != TU_ERR_CONFLICT && rc == 0) {
            *err = e;
            rc = -1;
        }
    }
    return rc;
}
