/* cmd_bundle.c - `tracup bundle create|load`: a release's images for hosts without a registry. */
#include <stdlib.h>
#include <string.h>

#include "bundle/bundle.h"
#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "tracardi/images.h"
#include "tracardi/version.h"
#include "util/xalloc.h"

enum { O_TO, O_OUTPUT, O_REGISTRY, O_IMAGES, O_ALLOW_DEV, O_FORCE, O_JSON, O_QUIET };
static const struct opt_spec opts[] = {
    [O_TO] = {"to", 0, "VERSION", "create: the Tracardi release to bundle (required)"},
    [O_OUTPUT] = {"output", 'o', "FILE", "create: the bundle file to write (required)"},
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "create: where the images come from (default docker.io)"},
    [O_IMAGES] = {"images", 0, "LIST", "create: comma list of api,gui,update-worker,apm (default: every image the "
                                       "release ships)"},
    [O_ALLOW_DEV] = {"allow-dev", 0, NULL, "create: allow a -dev release (may lose data on upgrade)"},
    [O_FORCE] = {"force", 0, NULL, "create: replace FILE when it exists"},
    [O_JSON] = {"json", 0, NULL, "print the result as one JSON object"},
    [O_QUIET] = {"quiet", 'q', NULL, "no progress on stderr"},
    {NULL, 0, NULL, NULL},
};

static int add_role(struct tu_ctx *ctx, struct bundle_create_opts *bo, const struct tracardi_image *img)
{
    for (size_t i = 0; i < bo->nroles; i++)
        if (strcmp(bo->roles[i], img->key) == 0)
            return cmd_usage_error(ctx, "bundle", "image '%s' named twice in --images", img->key);
    bo->roles[bo->nroles++] = img->key;
    return 0;
}

/* --images, checked as `pull` checks it; else every image the release ships. */
static int pick_roles(struct tu_ctx *ctx, const char *list, const struct tversion *v, struct bundle_create_opts *bo)
{
    if (!list) {
        for (size_t i = 0; i < tracardi_images_count; i++)
            if (tracardi_image_in_release(&tracardi_images[i], v) && bo->nroles < BUNDLE_MAX_IMAGES)
                bo->roles[bo->nroles++] = tracardi_images[i].key;
        return 0;
    }
    char *copy = xstrdup(list);
    int rc = 0;
    for (char *p = copy; p && rc == 0;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        const struct tracardi_image *img = *p ? tracardi_image_by_key(p) : NULL;
        if (!*p)
            rc = cmd_usage_error(ctx, "bundle", "empty name in --images '%.100s'", list);
        else if (!img)
            rc = cmd_usage_error(ctx, "bundle", "unknown image '%.40s' in --images (known: api, gui, update-worker, "
                                                "apm)", p);
        else if (!tracardi_image_in_release(img, v))
            rc = cmd_usage_error(ctx, "bundle", "Tracardi %s has no %s image (it ships from %d.%d.%d)", v->text,
                                 img->key, img->since[0], img->since[1], img->since[2]);
        else if (bo->nroles >= BUNDLE_MAX_IMAGES)
            rc = cmd_usage_error(ctx, "bundle", "too many images in --images");
        else
            rc = add_role(ctx, bo, img);
        p = comma ? comma + 1 : NULL;
    }
    free(copy);
    return rc;
}

static json_t *images_json(const struct bundle_manifest *m)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < m->n; i++) {
        const struct bundle_image *b = &m->img[i];
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "role", b->role, "name", b->name,
                                             "digest", b->digest, "image_id", b->image_id, "size", (json_int_t)b->size,
                                             "member", b->member, "sha256", b->sha256));
    }
    return arr;
}

static void print_json(struct tu_ctx *ctx, json_t *o)
{
    json_dumpf(o, ctx->out, JSON_COMPACT);
    fputc('\n', ctx->out);
    json_decref(o);
}

static int run_create(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    if (o->nargs != 1)
        return cmd_usage_error(ctx, "bundle", "'bundle create' takes no file argument: use -o FILE");
    if (!o->value[O_TO])
        return cmd_usage_error(ctx, "bundle", "--to VERSION is required");
    if (!o->value[O_OUTPUT] || !*o->value[O_OUTPUT])
        return cmd_usage_error(ctx, "bundle", "-o FILE is required");
    struct tu_err err;
    tu_err_clear(&err);
    struct tversion v;
    int warn_rc = 0;
    if (tversion_check_target(o->value[O_TO], o->set[O_ALLOW_DEV], &v, &warn_rc, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);
    const char *prefix = cmd_registry(ctx, o->value[O_REGISTRY]);
    if (registry_prefix_check(prefix, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);
    struct bundle_create_opts bo = {.file = o->value[O_OUTPUT], .registry = prefix, .release = v.text,
                                    .force = o->set[O_FORCE], .progress = ctx->quiet ? NULL : ctx->errout};
    int rc = pick_roles(ctx, o->value[O_IMAGES], &v, &bo);
    if (rc)
        return rc;
    if (warn_rc && !ctx->quiet)
        cmd_warn(ctx, "%s is a release candidate; test the upgrade on a copy of your data first", v.text);
    if (tversion_is_dev(&v) && !ctx->quiet)
        cmd_warn(ctx, "%s is a development build (--allow-dev)", v.text);

    struct docker d;
    if ((rc = cmd_docker(ctx, &d)))
        return rc;
    struct bundle_create_result res;
    if (bundle_create(&d, &bo, &res, &err) < 0) {
        docker_cleanup(&d);
        if (tu_interrupted()) {
            fprintf(ctx->errout, "error: interrupted; no bundle was written\n");
            return TU_EXIT_INTERRUPTED;
        }
        return cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_ERROR);
    }
    docker_cleanup(&d);
    if (ctx->json) {
        print_json(ctx, json_pack("{s:b,s:s,s:I,s:s,s:s,s:s,s:o}", "ok", 1, "file", bo.file, "size",
                                  (json_int_t)res.size, "compression", res.compression, "release", res.m.release,
                                  "registry", res.m.registry, "images", images_json(&res.m)));
    } else {
        char b[32];
        fprintf(ctx->out, "bundle %s: Tracardi %s from %s, %s (%s)\n", bo.file, res.m.release, res.m.registry,
                progress_bytes(b, sizeof(b), (long long)res.size), res.compression);
        for (size_t i = 0; i < res.m.n; i++)
            fprintf(ctx->out, "  %-14s %s@%s id %.19s sha256 %.16s…\n", res.m.img[i].role, res.m.img[i].name,
                    res.m.img[i].digest, res.m.img[i].image_id, res.m.img[i].sha256);
    }
    bundle_manifest_free(&res.m);
    return TU_EXIT_OK;
}

static int run_load(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    if (o->nargs != 2)
        return cmd_usage_error(ctx, "bundle", "'bundle load' takes one FILE");
    for (int i = 0; i < O_JSON; i++)
        if (o->set[i])
            return cmd_usage_error(ctx, "bundle", "--%s is for 'bundle create'", opts[i].name);
    const char *file = o->args[1];
    FILE *progress = ctx->quiet ? NULL : ctx->errout;
    struct tu_err err;
    tu_err_clear(&err);
    struct bundle_manifest m;
    /* Pass 1 needs no daemon: a damaged bundle is refused before any is asked. */
    if (bundle_verify(file, &m, progress, &err) < 0) {
        if (tu_interrupted()) {
            fprintf(ctx->errout, "error: %s\n", err.msg);
            return TU_EXIT_INTERRUPTED;
        }
        return cmd_fail(ctx, &err, TU_EXIT_ERROR);
    }
    struct docker d;
    int rc = cmd_docker(ctx, &d);
    if (rc) {
        bundle_manifest_free(&m);
        return rc;
    }
    char *record = NULL;
    if (bundle_load(&d, file, progress, &m, &record, &err) < 0) {
        docker_cleanup(&d);
        bundle_manifest_free(&m);
        if (tu_interrupted()) {
            fprintf(ctx->errout, "error: %s\n", err.msg);
            return TU_EXIT_INTERRUPTED;
        }
        return cmd_fail(ctx, &err, TU_EXIT_ERROR);
    }
    docker_cleanup(&d);
    if (ctx->json) {
        print_json(ctx, json_pack("{s:b,s:s,s:s,s:s,s:s,s:o}", "ok", 1, "file", file, "release", m.release,
                                  "registry", m.registry, "record", record, "images", images_json(&m)));
    } else {
        fprintf(ctx->out, "loaded Tracardi %s (%s) from %s; recorded in %s\n", m.release, m.registry, file, record);
        for (size_t i = 0; i < m.n; i++)
            fprintf(ctx->out, "  %-14s %s id %s\n", m.img[i].role, m.img[i].name, m.img[i].image_id);
    }
    free(record);
    bundle_manifest_free(&m);
    return TU_EXIT_OK;
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    ctx->quiet = o->set[O_QUIET];
    if (o->nargs < 1)
        return cmd_usage_error(ctx, "bundle", "'bundle' needs 'create' or 'load'");
    if (strcmp(o->args[0], "create") == 0)
        return run_create(ctx, o);
    if (strcmp(o->args[0], "load") == 0)
        return run_load(ctx, o);
    return cmd_usage_error(ctx, "bundle", "unknown bundle action '%.40s' (create or load)", o->args[0]);
}

const struct cmd_entry cmd_bundle_entry = {
    .name = "bundle",
    .summary = "make an offline bundle of a release's images, or load one on a host without a registry",
    .usage = "create --to VERSION -o FILE [--registry PREFIX] [--images LIST] [--allow-dev] [--force] [--json]\n"
             "       tracup bundle load FILE [--json]",
    .description =
        "create (on a host that reaches the registry): pulls the release's images as 'tracup pull'\n"
        "does (pinned by digest, same credentials), saves each one streaming, and writes one archive\n"
        "(zstd, else xz) holding manifest.json, images/<role>.tar and SHA256SUMS. The file is written\n"
        "beside FILE and renamed at the end; an existing FILE is refused without --force.\n"
        "\n"
        "load (on the air-gapped host): reads the whole bundle first and checks every member against\n"
        "SHA256SUMS and the manifest; a damaged bundle is refused naming the member and nothing is\n"
        "loaded. Then it streams each image into the daemon, checks its image id and tag, and records\n"
        "the load in the state directory ($TRACUP_STATE_DIR/bundles.json). After that, 'tracup plan'\n"
        "and 'tracup upgrade' with the same --registry use the loaded images when that registry\n"
        "cannot be reached.",
    .opts = opts,
    .min_args = 0,
    .max_args = 2,
    .run = run,
};
