/* cmd_check.c - `tracup check`: the Tracardi releases the registry has beyond the running one. */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/upopts.h"
#include "registry/regapi.h"
#include "tracardi/available.h"
#include "tracardi/images.h"
#include "upgrade/upctx.h"
#include "util/xalloc.h"

enum { O_REGISTRY, O_FROM_REGISTRY, O_STACK, O_CURRENT, O_ALL, O_PAGE_SIZE, O_JSON };
static const struct opt_spec opts[] = {
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "the registry whose tags are listed (default docker.io)"},
    [O_FROM_REGISTRY] = {"from-registry", 0, "HOST[:PORT][/PATH]", "where the running release's images came from, "
                                                                  "when not --registry"},
    [O_STACK] = {"stack", 0, "NAME", "the stack whose release to compare with, when the host has several"},
    [O_CURRENT] = {"current", 0, "VERSION", "compare with this release instead of the host's (no Docker needed)"},
    [O_ALL] = {"all", 0, NULL, "list release candidates, -dev and other pre-releases too"},
    [O_PAGE_SIZE] = {"page-size", 0, "N", "tags asked for per request (default 100; the registry may send fewer)"},
    [O_JSON] = {"json", 0, NULL, "print one JSON object"},
    {NULL, 0, NULL, NULL},
};

/* What runs here: the version, where it was read, the stack's name. */
struct running {
    struct tversion v;
    int known;
    const char *from;  /* "api", "image tag", "--current" */
    char *stack;
};

/* The host's release, found as plan finds blue. Returns 0 (r->known 0 when the
 * host has no stack), or an exit code (printed). */
static int running_from_host(struct tu_ctx *ctx, const char *prefix, const char *stack_name, struct running *r)
{
    struct docker d;
    int rc = cmd_docker(ctx, &d);
    if (rc) {
        fprintf(ctx->errout, "hint: 'tracup check --current VERSION' compares without a Docker host\n");
        return rc;
    }
    struct tu_err err;
    tu_err_clear(&err);
    struct upctx u;
    memset(&u, 0, sizeof(u));
    u.d = &d;
    u.prefix = xstrdup(prefix);
    if (stack_discover(&d, prefix, &u.stacks, &err) < 0) {
        rc = cmd_fail(ctx, &err, err.kind == TU_ERR_CONNECT ? TU_EXIT_DOCKER : TU_EXIT_ERROR);
        goto out;
    }
    for (size_t i = 0; i < u.stacks.n; i++)
        if (!stack_name || strcmp(u.stacks.s[i].name, stack_name) == 0)
            u.stack = u.stack ? u.stack : &u.stacks.s[i];
    if (stack_name && !u.stack) {
        tu_err_set(&err, TU_ERR_USAGE, "no Tracardi stack named '%s' on this host (images under '%s/tracardi/')",
                   stack_name, prefix);
        tu_err_hint(&err, "see 'tracup status'; pass --from-registry when its images come from another registry");
        rc = cmd_fail(ctx, &err, TU_EXIT_USAGE);
        goto out;
    }
    if (!u.stack) {
        if (!ctx->json)
            fprintf(ctx->errout, "note: no Tracardi stack on this host (images under '%s/tracardi/'): every "
                                 "release the registry has is listed\n", prefix);
        goto out;
    }
    if (!stack_name && u.stacks.n > 1) {
        tu_err_set(&err, TU_ERR_USAGE, "%zu Tracardi stacks on this host: say which with --stack", u.stacks.n);
        rc = cmd_fail(ctx, &err, TU_EXIT_USAGE);
        goto out;
    }
    /* After an upgrade with --blue-standby both releases' apis run: the live one is
     * green's (read from the journal; nothing is created in the state directory). */
    json_t *standby = NULL;
    if (u.stack->name[0] && u.stack->name[0] != '.' && !strchr(u.stack->name, '/')) {
        char *dir = xasprintf("%s/%s", upctx_state_root(), u.stack->name);
        standby = upctx_standby_ids(dir);
        free(dir);
    }
    int pr = upctx_pick(&u, NULL, standby, &err);
    json_decref(standby);
    if (pr < 0) {
        rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
        goto out;
    }
    r->stack = xstrdup(u.stack->name);
    if (!u.blue_v_known) {
        tu_err_set(&err, TU_ERR_PROTOCOL, "cannot tell which Tracardi release stack '%s' runs: its api does not "
                                          "answer (%s) and its image tag is no version", u.stack->name,
                   u.blue_details_error ? u.blue_details_error : "?");
        tu_err_hint(&err, "name it: tracup check --current VERSION");
        rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
        goto out;
    }
    r->v = u.blue_v;
    r->known = 1;
    r->from = json_object_get(u.blue_details, "version") ? "api" : "image tag";
out:
    upctx_close(&u);
    docker_cleanup(&d);
    return rc;
}

/* Lists one repository; a repository the registry does not know has no tags
 * when missing_ok. Returns 0 or -1 with err. */
static int list_repo(struct reg_api *api, const char *prefix, const char *path, int missing_ok, struct reg_tags *out,
                     char **repo_out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    char *repo = reg_repo_of(prefix, path, err);
    if (!repo)
        return -1;
    int rc = reg_list_tags(api, repo, out, err);
    if (rc < 0 && missing_ok && err->kind == TU_ERR_NOT_FOUND) {
        tu_err_clear(err);
        rc = 0;
    }
    if (repo_out)
        *repo_out = repo;
    else
        free(repo);
    return rc;
}

static void print_head(struct tu_ctx *ctx, const struct running *r, const char *prefix, const char *repo,
                       const struct reg_tags *api, const json_t *doc)
{
    FILE *f = ctx->out;
    if (r->known && strcmp(r->from, "--current") == 0)
        fprintf(f, "Running: Tracardi %s (given with --current)\n", r->v.text);
    else if (r->known)
        fprintf(f, "Running: Tracardi %s (stack '%s', read from its %s)\n", r->v.text, r->stack, r->from);
    else
        fprintf(f, "Running: no Tracardi stack on this host; every release the registry has:\n");
    json_t *t = json_object_get(doc, "tags");
    fprintf(f, "Registry %s: %zu tag%s of '%s' in %zu page%s", prefix, api->n, api->n == 1 ? "" : "s", repo,
            api->pages, api->pages == 1 ? "" : "s");
    json_int_t nv = json_integer_value(json_object_get(t, "not_versions"));
    json_int_t older = json_integer_value(json_object_get(t, "older"));
    if (nv) {
        fprintf(f, "; %lld not version%s ignored (", (long long)nv, nv == 1 ? "" : "s");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(t, "not_version_examples"), i, e)
            fprintf(f, "%s%s", i ? ", " : "", json_string_value(e));
        fprintf(f, "%s)", nv > AVAIL_EXAMPLES_MAX ? ", …" : "");
    }
    if (r->known)
        fprintf(f, "; %lld older or the same", (long long)older);
    if (api->invalid)
        fprintf(f, "; %zu invalid name%s ignored", api->invalid, api->invalid == 1 ? "" : "s");
    fputc('\n', f);
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    if (o->value[O_CURRENT] && (o->value[O_STACK] || o->value[O_FROM_REGISTRY]))
        return cmd_usage_error(ctx, "check", "--current does not go with --stack or --from-registry: it names "
                                             "the release instead of asking the host");
    long page_size = REG_PAGE_SIZE_DEFAULT;
    int rc = upopts_number(ctx, "check", "page-size", o->value[O_PAGE_SIZE], REG_PAGE_SIZE_MAX, "tags", &page_size);
    if (rc)
        return rc;
    if (page_size < 1)
        return cmd_usage_error(ctx, "check", "--page-size takes a number of tags from 1 to %d", REG_PAGE_SIZE_MAX);
    struct tu_err err;
    tu_err_clear(&err);
    const char *prefix = cmd_registry(ctx, o->value[O_REGISTRY]);
    const char *from = o->value[O_FROM_REGISTRY] ? o->value[O_FROM_REGISTRY] : prefix;
    if (registry_prefix_check(prefix, &err) < 0 || registry_prefix_check(from, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);

    struct running r;
    memset(&r, 0, sizeof(r));
    if (o->value[O_CURRENT]) {
        if (tversion_parse(o->value[O_CURRENT], &r.v, &err) < 0) {
            tu_err_prefix(&err, "--current: ");
            return cmd_fail(ctx, &err, TU_EXIT_USAGE);
        }
        r.known = 1;
        r.from = "--current";
    } else if ((rc = running_from_host(ctx, from, o->value[O_STACK], &r))) {
        free(r.stack);
        return rc;
    }

    struct reg_api api;
    struct reg_tags tags[8];
    const struct reg_tags *tagp[8];
    size_t ntags = 0;
    char *repo = NULL;
    json_t *doc = NULL;
    memset(tags, 0, sizeof(tags));
    if (reg_api_init(&api, prefix, &err) < 0) {
        rc = cmd_fail(ctx, &err, TU_EXIT_USAGE);
        goto out;
    }
    api.page_size = page_size;
    if (ctx->cfg.stall_timeout)
        api.timeout_ms = ctx->cfg.stall_timeout * 1000;
    for (size_t k = 0; k < tracardi_images_count && k < 8; k++) {
        const struct tracardi_image *img = &tracardi_images[k];
        /* The api must be there; the gui and workers may have no repository at all. */
        int lr = list_repo(&api, prefix, img->path, k > 0, &tags[k], k == 0 ? &repo : NULL, &err);
        ntags = k + 1;
        tagp[k] = &tags[k];
        if (lr == 0)
            continue;
        if (k == 0) {
            if (err.kind == TU_ERR_NOT_FOUND && !err.hint[0])
                tu_err_hint(&err, "is the prefix right? the images are looked for at '%s/%s'", prefix, img->path);
            rc = cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_ERROR);
            goto out;
        }
        if (img->role == ROLE_GUI) {
            rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
            goto out;
        }
        /* A worker's repository that cannot be listed makes its column unknown, not the check fail. */
        if (!ctx->json)
            cmd_warn(ctx, "%s", err.msg);
        tagp[k] = NULL;
        tu_err_clear(&err);
    }

    struct avail_in in = {.running = r.known ? &r.v : NULL, .tags = tagp, .all = o->set[O_ALL]};
    doc = avail_report(&in);
    json_object_set_new(doc, "registry", json_string(prefix));
    json_object_set_new(doc, "repository", json_string(repo));
    json_object_set_new(doc, "pages", json_integer((json_int_t)tags[0].pages));
    json_object_set_new(doc, "stack", r.stack ? json_string(r.stack) : json_null());
    json_object_set_new(doc, "running_from", r.known ? json_string(r.from) : json_null());
    if (ctx->json) {
        json_object_set_new(doc, "ok", json_true());
        json_dumpf(doc, ctx->out, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fputc('\n', ctx->out);
    } else {
        print_head(ctx, &r, prefix, repo, &tags[0], doc);
        avail_print(ctx->out, doc);
    }
    rc = TU_EXIT_OK;
out:
    json_decref(doc);
    for (size_t k = 0; k < ntags; k++)
        reg_tags_free(&tags[k]);
    free(repo);
    reg_api_free(&api);
    free(r.stack);
    return rc;
}

const struct cmd_entry cmd_check_entry = {
    .name = "check",
    .summary = "list the Tracardi releases the registry has that are newer than the running one",
    .usage = "[--registry PREFIX] [--stack NAME | --current VERSION] [--all] [--json]",
    .description =
        "Lists the tags of <registry>/tracardi/tracardi-api through the registry's HTTP API\n"
        "(v2, following its pages), keeps those that are versions newer than the running release,\n"
        "and shows for each whether the gui and worker images have it too and which hops an\n"
        "upgrade would take. Release candidates and -dev builds are listed with --all. With no\n"
        "Tracardi stack on the host every release is listed; with --current no Docker host is\n"
        "needed. Credentials are found as for pulls (DOCKER_CONFIG, credential helpers, auths).\n"
        "Exit status 0 when the registry answered, 1 when it could not be listed, 2 for bad\n"
        "arguments, 3 when the Docker daemon cannot be reached.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
