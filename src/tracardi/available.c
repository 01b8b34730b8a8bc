/* available.c - the Tracardi releases a registry has beyond the running one, and the way to each. */
#include "tracardi/available.h"

#include <stdlib.h>
#include <string.h>

#include "tracardi/images.h"
#include "tracardi/releases.h"
#include "util/buf.h"
#include "util/xalloc.h"

static int cmp_versions(const void *a, const void *b)
{
    return tversion_cmp(a, b);
}

static const char *kind_of(const struct tversion *v)
{
    if (!v->suffix[0])
        return "release";
    if (tversion_is_dev(v))
        return "dev";
    if (tversion_is_rc(v))
        return "rc";
    return "pre";
}

/* hops, not_in_registry and path_error of the way from running to v, into o. */
static void add_path(json_t *o, const struct tversion *running, const struct tversion *v, const struct reg_tags *api)
{
    if (!running) {
        json_object_set_new(o, "hops", json_null());
        json_object_set_new(o, "not_in_registry", json_array());
        json_object_set_new(o, "path_error", json_null());
        return;
    }
    struct hop hops[MAX_HOPS];
    size_t n = 0;
    struct tu_err e;
    tu_err_clear(&e);
    json_t *hj = json_array(), *missing = json_array();
    if (release_hops(running, v, hops, &n, &e) < 0) {
        json_object_set_new(o, "hops", json_null());
        json_object_set_new(o, "path_error", json_string(e.msg));
        json_decref(hj);
    } else {
        for (size_t i = 0; i < n; i++) {
            json_array_append_new(hj, json_string(hops[i].to.text));
            /* An intermediate release must be in the registry too: the upgrade installs it. */
            if (hops[i].intermediate && !reg_tags_has(api, hops[i].to.text))
                json_array_append_new(missing, json_string(hops[i].to.text));
        }
        json_object_set_new(o, "hops", hj);
        json_object_set_new(o, "path_error", json_null());
        /* One db_version: nothing is migrated, the new release runs on the old one's data. */
        if (n == 1 && hops[0].shared) {
            json_object_set_new(o, "shared_data", json_true());
            /* Another release than a patch tag of the running one: plan wants --share-data. */
            int patch = 1;
            for (int k = 0; k < 3; k++)
                patch &= (running->nparts > k ? running->parts[k] : 0) == (v->nparts > k ? v->parts[k] : 0);
            if (!patch)
                json_object_set_new(o, "needs_share_data", json_true());
        }
    }
    json_object_set_new(o, "not_in_registry", missing);
}

static json_t *release_json(const struct avail_in *in, const struct tversion *v)
{
    json_t *o = json_pack("{s:s,s:s}", "version", v->text, "kind", kind_of(v));
    json_t *imgs = json_object();
    int complete = 1;
    for (size_t k = 0; k < tracardi_images_count; k++) {
        const struct tracardi_image *img = &tracardi_images[k];
        if (!tracardi_image_in_release(img, v))
            continue;
        const struct reg_tags *t = in->tags[k];
        if (!t) {
            json_object_set_new(imgs, img->key, json_null());
            continue;
        }
        int has = reg_tags_has(t, v->text);
        complete &= has;
        json_object_set_new(imgs, img->key, json_boolean(has));
    }
    json_object_set_new(o, "images", imgs);
    json_object_set_new(o, "complete", json_boolean(complete));
    add_path(o, in->running, v, in->tags[0]);
    return o;
}

json_t *avail_report(const struct avail_in *in)
{
    const struct reg_tags *api = in->tags[0];
    struct tversion *vs = xcalloc(api->n ? api->n : 1, sizeof(*vs));
    size_t nv = 0, older = 0, not_versions = 0;
    json_t *examples = json_array();
    for (size_t i = 0; i < api->n; i++) {
        struct tu_err e;
        struct tversion v;
        if (tversion_parse(api->tag[i], &v, &e) < 0) {
            if (not_versions++ < AVAIL_EXAMPLES_MAX)
                json_array_append_new(examples, json_string(api->tag[i]));
            continue;
        }
        if (in->running && tversion_cmp(&v, in->running) <= 0) {
            older++;
            continue;
        }
        vs[nv++] = v;
    }
    qsort(vs, nv, sizeof(*vs), cmp_versions);

    json_t *doc = json_object();
    json_object_set_new(doc, "running", in->running ? json_string(in->running->text) : json_null());
    json_object_set_new(doc, "tags", json_pack("{s:I,s:I,s:I,s:I,s:o,s:I}", "listed", (json_int_t)api->n, "versions",
                                               (json_int_t)(api->n - not_versions), "older", (json_int_t)older,
                                               "not_versions", (json_int_t)not_versions, "not_version_examples",
                                               examples, "invalid", (json_int_t)api->invalid));
    json_t *rels = json_array();
    size_t hidden = 0;
    const struct tversion *newest = NULL;
    for (size_t i = 0; i < nv; i++) {
        int stable = !vs[i].suffix[0];
        if (stable)
            newest = &vs[i];
        if (!stable && !in->all) {
            hidden++;
            continue;
        }
        json_array_append_new(rels, release_json(in, &vs[i]));
    }
    json_object_set_new(doc, "releases", rels);
    json_object_set_new(doc, "hidden", json_integer((json_int_t)hidden));
    if (newest) {
        json_t *n = json_pack("{s:s}", "version", newest->text);
        add_path(n, in->running, newest, api);
        json_object_set_new(doc, "newest_release", n);
    } else {
        json_object_set_new(doc, "newest_release", json_null());
    }
    json_object_set_new(doc, "up_to_date", json_boolean(in->running && !newest));
    free(vs);
    return doc;
}

/* "0.8.1 -> 0.8.2 -> 1.0.0" into b. */
static void path_text(struct buf *b, const json_t *doc, const json_t *rel)
{
    const char *running = json_string_value(json_object_get(doc, "running"));
    json_t *hops = json_object_get(rel, "hops");
    if (!running) {
        buf_appends(b, "-");
        return;
    }
    if (!json_is_array(hops)) {
        buf_appends(b, "no blue-green upgrade (see below)");
        return;
    }
    buf_appends(b, running);
    size_t i;
    json_t *h;
    json_array_foreach(hops, i, h) {
        buf_appends(b, " -> ");
        buf_appends(b, json_string_value(h));
    }
    json_t *miss = json_object_get(rel, "not_in_registry");
    if (json_array_size(miss)) {
        buf_appends(b, "  (not in the registry:");
        json_array_foreach(miss, i, h) {
            buf_appends(b, " ");
            buf_appends(b, json_string_value(h));
        }
        buf_appends(b, ")");
    }
}

static void images_text(struct buf *b, const json_t *rel)
{
    json_t *imgs = json_object_get(rel, "images");
    const char *k;
    json_t *v;
    int missing = 0;
    json_object_foreach(imgs, k, v) {
        if (json_is_false(v)) {
            buf_appends(b, missing++ ? ", " : "no ");
            buf_appends(b, k);
        }
    }
    json_object_foreach(imgs, k, v) {
        if (json_is_null(v)) {
            buf_appends(b, missing++ ? ", " : "");
            buf_appends(b, k);
            buf_appends(b, " unknown");
        }
    }
    if (!missing)
        buf_appends(b, "complete");
}

void avail_print(FILE *f, const json_t *doc)
{
    json_t *rels = json_object_get(doc, "releases");
    const char *running = json_string_value(json_object_get(doc, "running"));
    size_t i;
    json_t *rel;
    if (json_array_size(rels)) {
        size_t n = json_array_size(rels);
        struct buf *im = xcalloc(n, sizeof(*im)), *pa = xcalloc(n, sizeof(*pa));
        int vw = 14, iw = 22;
        json_array_foreach(rels, i, rel) {
            buf_init(&im[i], 0);
            buf_init(&pa[i], 0);
            images_text(&im[i], rel);
            path_text(&pa[i], doc, rel);
            int l = (int)strlen(json_string_value(json_object_get(rel, "version")));
            vw = l > vw ? l : vw;
            iw = (int)im[i].len > iw ? (int)im[i].len : iw;
        }
        fprintf(f, "\n  %-*s %-8s %-*s %s\n", vw, "VERSION", "KIND", iw, "IMAGES", running ? "UPGRADE PATH" : "");
        json_array_foreach(rels, i, rel) {
            fprintf(f, "  %-*s %-8s %-*s %s\n", vw, json_string_value(json_object_get(rel, "version")),
                    json_string_value(json_object_get(rel, "kind")), iw, im[i].data, running ? pa[i].data : "");
            buf_free(&im[i]);
            buf_free(&pa[i]);
        }
        free(im);
        free(pa);
        fputc('\n', f);
        /* The reasons name the releases they are about; one reason for all is said once. */
        const char *said = NULL;
        json_array_foreach(rels, i, rel) {
            const char *pe = json_string_value(json_object_get(rel, "path_error"));
            if (pe && (!said || strcmp(said, pe) != 0))
                fprintf(f, "note: %s\n", pe);
            if (pe)
                said = pe;
            if (strcmp(json_string_value(json_object_get(rel, "kind")), "dev") == 0)
                fprintf(f, "note: %s is a development build: Tracardi's -dev releases may lose data on upgrade "
                           "(--allow-dev)\n", json_string_value(json_object_get(rel, "version")));
        }
    }
    json_t *newest = json_object_get(doc, "newest_release");
    if (json_is_object(newest)) {
        const char *nv = json_string_value(json_object_get(newest, "version"));
        json_t *hops = json_object_get(newest, "hops");
        if (!running) {
            fprintf(f, "Newest release: %s\n", nv);
        } else if (json_is_array(hops)) {
            struct buf pa;
            buf_init(&pa, 0);
            path_text(&pa, doc, newest);
            size_t nh = json_array_size(hops);
            fprintf(f, "Newest release: %s, %zu hop%s: %s%s\n", nv, nh, nh == 1 ? "" : "s", pa.data,
                    json_is_true(json_object_get(newest, "needs_share_data"))
                        ? " (the same db_version: it would run on the running release's data, nothing migrated; "
                          "its source could not be read, so plan wants --share-data)"
                    : json_is_true(json_object_get(newest, "shared_data"))
                        ? " (the same db_version: it runs on the running release's data, nothing is migrated)"
                        : "");
            fprintf(f, "  tracup plan --to %s   shows what the upgrade would do\n", nv);
            buf_free(&pa);
        } else {
            fprintf(f, "Newest release: %s; %s\n", nv, json_string_value(json_object_get(newest, "path_error")));
        }
    } else if (running) {
        fprintf(f, "Up to date: the registry has no release newer than %s\n", running);
    } else {
        fprintf(f, "The registry has no Tracardi release\n");
    }
    json_int_t hidden = json_integer_value(json_object_get(doc, "hidden"));
    if (hidden)
        fprintf(f, "%lld pre-release%s (rc, -dev) not shown: --all lists them\n", (long long)hidden,
                hidden == 1 ? "" : "s");
}
