/* cmd_finalize.c - `tracup finalize`: the end of an upgrade, after which there is no way back. */
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/idxview.h"
#include "cmd/progress.h"
#include "cmd/upopts.h"
#include "upgrade/finalize.h"

enum { O_REGISTRY, O_STACK, O_DELETE, O_KEEP, O_HOOKS_DIR, O_HOOK_TIMEOUT, O_ADMIN_EMAIL, O_ADMIN_PW_FILE, O_YES, O_JSON };
static const struct opt_spec opts[] = {
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the images come from (default docker.io)"},
    [O_STACK] = {"stack", 0, "NAME", "the stack, when the host has several"},
    [O_DELETE] = {"delete-old-indices", 0, NULL, "also delete the old release's Elasticsearch indices"},
    [O_KEEP] = {"keep-images", 0, "N", "keep the images of N releases: the live one and those before it (default 2)"},
    [O_HOOKS_DIR] = {"hooks-dir", 0, "DIR", "operator hooks (else TRACUP_HOOKS_DIR, the config, /etc/tracup/hooks.d)"},
    [O_HOOK_TIMEOUT] = {"hook-timeout", 0, "SECONDS", "how long one hook may run (default 60, at most 3600)"},
    [O_ADMIN_EMAIL] = {"admin-email", 0, "EMAIL", "the live release's admin (else TRACUP_ADMIN_EMAIL)"},
    [O_ADMIN_PW_FILE] = {"admin-password-file", 0, "FILE", "its password (else TRACUP_ADMIN_PASSWORD)"},
    [O_YES] = {"yes", 'y', NULL, "do not ask"},
    [O_JSON] = {"json", 0, NULL, "print one JSON object"},
    {NULL, 0, NULL, NULL},
};

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "?";
}

struct ask {
    struct tu_ctx *ctx;
    int yes;
};

static void print_plan(FILE *f, json_t *plan)
{
    fprintf(f, "Finalize upgrade %s of stack %s: Tracardi %s stays, %s goes for good.\n", js(plan, "id"),
            js(plan, "stack"), js(plan, "to"), js(plan, "from"));
    json_t *cs = json_object_get(plan, "containers");
    fprintf(f, "Containers removed (%zu):", json_array_size(cs));
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c) fprintf(f, " %s", js(c, "name"));
    fprintf(f, "%s\n", json_array_size(cs) ? "" : " none left");
    json_t *im = json_object_get(plan, "images");
    fprintf(f, "Images removed (%zu):%s\n", json_array_size(json_object_get(im, "remove")),
            json_array_size(json_object_get(im, "remove")) ? "" : " none");
    json_array_foreach(json_object_get(im, "remove"), i, c) fprintf(f, "  %s\n", js(c, "ref"));
    fprintf(f, "Images kept (%zu): the live release's and the newest before it, %lld releases in all; newer ones; "
               "any a container uses\n",
            json_array_size(json_object_get(im, "keep")), (long long)json_integer_value(json_object_get(im, "keep_releases")));
    json_t *g = json_object_get(plan, "indices");
    if (!g) {
        fprintf(f, "Elasticsearch holds no indices of Tracardi %s.\n", js(plan, "from"));
    } else if (json_is_true(json_object_get(plan, "shared_data"))) {
        fprintf(f, "Indices %s.%s stay: Tracardi %s runs on them (both releases use db_version %s); %lld indices, "
                   "%lld documents.\n", js(g, "db_version"), js(g, "tenant"), js(plan, "to"), js(g, "db_version"),
                (long long)json_integer_value(json_object_get(g, "count")),
                (long long)json_integer_value(json_object_get(g, "docs")));
    } else if (json_is_true(json_object_get(plan, "delete_indices"))) {
        fprintf(f, "Indices deleted, Tracardi %s (%s.%s):\n", js(plan, "from"), js(g, "db_version"), js(g, "tenant"));
        idxview_group(f, g, "  ");
    } else {
        fprintf(f, "Indices of Tracardi %s (%s.%s) kept: %lld indices, %lld documents, %lld shards; "
                   "'tracup prune-indices --release %s' deletes them later.\n",
                js(plan, "from"), js(g, "db_version"), js(g, "tenant"),
                (long long)json_integer_value(json_object_get(g, "count")),
                (long long)json_integer_value(json_object_get(g, "docs")),
                (long long)json_integer_value(json_object_get(g, "shards")), js(plan, "from"));
    }
    fprintf(f, "After this, 'tracup rollback' is refused.\n");
}

static int confirm(void *ud, json_t *plan)
{
    struct ask *a = ud;
    FILE *f = a->ctx->json ? a->ctx->errout : a->ctx->out;
    print_plan(f, plan);
    int ok = idxview_confirm_typed(a->ctx, "the old release's version", js(plan, "from"), a->yes);
    if (!ok)
        fprintf(a->ctx->errout, "finalize cancelled: nothing was changed\n");
    return ok;
}

static void print_result(FILE *f, json_t *r)
{
    char b[32];
    fprintf(f, "Removed %zu containers and %zu images.\n", json_array_size(json_object_get(r, "removed_containers")),
            json_array_size(json_object_get(r, "removed_images")));
    json_t *del = json_object_get(r, "deleted_indices");
    if (del) {
        long long docs = 0, bytes = 0, api = 0;
        size_t i;
        json_t *d;
        json_array_foreach(del, i, d) {
            long long n = (long long)json_integer_value(json_object_get(d, "docs"));
            long long s = (long long)json_integer_value(json_object_get(d, "bytes"));
            docs += n > 0 ? n : 0;
            bytes += s > 0 ? s : 0;
            api += strcmp(js(d, "via"), "api") == 0;
        }
        fprintf(f, "Deleted %zu indices (%lld documents, %s): %lld through the live api, %lld directly in "
                   "Elasticsearch.\n", json_array_size(del), docs, progress_bytes(b, sizeof(b), bytes), api,
                (long long)json_array_size(del) - api);
    }
    if (json_object_get(r, "api_note"))
        fprintf(f, "note: %s\n", js(r, "api_note"));
    if (json_object_get(r, "images_note"))
        fprintf(f, "note: %s\n", js(r, "images_note"));
    if (json_object_get(r, "secrets_note"))
        fprintf(f, "note: %s\n", js(r, "secrets_note"));
    fprintf(f, "Upgrade %s is final: Tracardi %s serves, there is no way back to %s.\n", js(r, "id"), js(r, "to"),
            js(r, "from"));
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    struct fin_opts fo;
    memset(&fo, 0, sizeof(fo));
    fo.delete_indices = o->set[O_DELETE];
    long keep = 2;
    struct up_opts uo;
    upopts_defaults(&uo);
    int rc = upopts_number(ctx, "finalize", "keep-images", o->value[O_KEEP], 100, "releases", &keep);
    if (rc)
        return rc;
    fo.keep_images = (int)keep;
    if ((rc = upopts_hooks(ctx, "finalize", o->value[O_HOOKS_DIR], o->value[O_HOOK_TIMEOUT], &fo.hooks_dir,
                           &fo.hook_timeout_s)))
        return rc;
    /* Read whenever given: a finalize cut short may have indices left to delete. */
    rc = fo.delete_indices ? upopts_admin_required(ctx, "finalize", o->value[O_ADMIN_EMAIL], o->value[O_ADMIN_PW_FILE],
                                                   "--delete-old-indices deletes through the live release's api", &uo)
                           : upopts_admin(ctx, "finalize", o->value[O_ADMIN_EMAIL], o->value[O_ADMIN_PW_FILE], &uo);
    if (rc)
        return rc;
    fo.admin_email = uo.admin_email;
    fo.admin_password = uo.admin_password;
    struct docker d;
    struct upctx u;
    if ((rc = upopts_open_journaled(ctx, o->value[O_REGISTRY], o->value[O_STACK], &d, &u))) {
        upopts_free(&uo);
        return rc;
    }
    struct ask a = {ctx, o->set[O_YES]};
    struct tu_err err;
    tu_err_clear(&err);
    json_t *res = NULL;
    int r = finalize_run(&u, &fo, confirm, &a, &res, &err);
    if (r < 0)
        rc = cmd_fail(ctx, &err, json_object_get(res, "removed_containers") ? TU_EXIT_ATTENTION : TU_EXIT_ERROR);
    else if (r == 1)
        rc = TU_EXIT_ERROR;
    if (ctx->json && res) {
        json_object_set_new(res, "ok", json_boolean(r == 0));
        json_dumpf(res, ctx->out, JSON_COMPACT);
        fputc('\n', ctx->out);
    } else if (r == 0) {
        print_result(ctx->out, res);
    }
    json_decref(res);
    upopts_free(&uo);
    upctx_close(&u);
    docker_cleanup(&d);
    return rc;
}

const struct cmd_entry cmd_finalize_entry = {
    .name = "finalize",
    .summary = "end a done upgrade: remove the old release (no rollback after this)",
    .usage = "[--stack NAME] [--delete-old-indices] [--keep-images N] [--yes] [--json]",
    .description = "Removes the old release's containers (its Redis too) and the images of releases\n"
                   "older than the N kept (the live one and those before it; newer releases and images\n"
                   "a container uses always stay). With --delete-old-indices it\n"
                   "also deletes the old release's indices: through the live release's api first\n"
                   "(admin from TRACUP_ADMIN_EMAIL / TRACUP_ADMIN_PASSWORD), then directly in\n"
                   "Elasticsearch whatever the api left; never the live release's indices, nor any\n"
                   "release a container still uses. It prints exactly what goes and asks for the old\n"
                   "release's version unless --yes; the history records every index deleted with its\n"
                   "documents. A finalize cut short completes when run again. A pre-finalize hook\n"
                   "that fails stops it once confirmed, before anything is removed.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
