/* cmd_prune.c - `tracup prune-indices`: delete an orphan release's indices. */
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/idxview.h"
#include "cmd/progress.h"
#include "cmd/upopts.h"
#include "upgrade/finalize.h"

enum { O_REGISTRY, O_STACK, O_RELEASE, O_TENANT, O_ADMIN_EMAIL, O_ADMIN_PW_FILE, O_YES, O_JSON };
static const struct opt_spec opts[] = {
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the images come from (default docker.io)"},
    [O_STACK] = {"stack", 0, "NAME", "the stack, when the host has several"},
    [O_RELEASE] = {"release", 'r', "VERSION|DB_VERSION", "the release whose indices go (0.8.0, 08x, 074, ...)"},
    [O_TENANT] = {"tenant", 0, "NAME", "its tenant, when several share the db_version"},
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

static int confirm(void *ud, json_t *plan)
{
    struct ask *a = ud;
    FILE *f = a->ctx->json ? a->ctx->errout : a->ctx->out;
    json_t *g = json_object_get(plan, "indices");
    fprintf(f, "Delete the indices of Tracardi %s (%s.%s), an orphan release of stack %s:\n", js(g, "release"),
            js(g, "db_version"), js(g, "tenant"), js(plan, "stack"));
    idxview_group(f, g, "  ");
    int ok = idxview_confirm_typed(a->ctx, "the release", js(g, "release"), a->yes);
    if (!ok)
        fprintf(a->ctx->errout, "prune cancelled: nothing was changed\n");
    return ok;
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    if (!o->value[O_RELEASE])
        return cmd_usage_error(ctx, "prune-indices", "say which release's indices go with --release");
    struct fin_opts fo;
    memset(&fo, 0, sizeof(fo));
    fo.release = o->value[O_RELEASE];
    fo.tenant = o->value[O_TENANT];
    struct up_opts uo;
    upopts_defaults(&uo);
    int rc = upopts_admin_required(ctx, "prune-indices", o->value[O_ADMIN_EMAIL], o->value[O_ADMIN_PW_FILE],
                                   "indices are deleted through the live release's api", &uo);
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
    int r = prune_run(&u, &fo, confirm, &a, &res, &err);
    if (r < 0)
        rc = cmd_fail(ctx, &err, json_object_get(res, "deleted_indices") ? TU_EXIT_ATTENTION
                                 : err.kind == TU_ERR_USAGE                ? TU_EXIT_USAGE
                                                                           : TU_EXIT_ERROR);
    else if (r == 1)
        rc = TU_EXIT_ERROR;
    if (ctx->json && res) {
        json_object_set_new(res, "ok", json_boolean(r == 0));
        json_dumpf(res, ctx->out, JSON_COMPACT);
        fputc('\n', ctx->out);
    } else if (r == 0) {
        json_t *g = json_object_get(res, "indices");
        json_t *b = json_object_get(res, "budget_after");
        char sz[32];
        fprintf(ctx->out, "Deleted %zu indices of Tracardi %s (%lld documents, %s); %lld shards freed.\n",
                json_array_size(json_object_get(res, "deleted_indices")), js(g, "release"),
                (long long)json_integer_value(json_object_get(g, "docs")),
                progress_bytes(sz, sizeof(sz), (long long)json_integer_value(json_object_get(g, "bytes"))),
                (long long)json_integer_value(json_object_get(g, "shards")));
        if (json_object_get(res, "api_note"))
            fprintf(ctx->out, "note: %s\n", js(res, "api_note"));
        if (b)
            fprintf(ctx->out, "Shards now: %lld of %lld open, %lld free.\n",
                    (long long)json_integer_value(json_object_get(b, "shards_open")),
                    (long long)json_integer_value(json_object_get(b, "shard_limit")),
                    (long long)json_integer_value(json_object_get(b, "shards_free")));
    }
    json_decref(res);
    upopts_free(&uo);
    upctx_close(&u);
    docker_cleanup(&d);
    return rc;
}

const struct cmd_entry cmd_prune_entry = {
    .name = "prune-indices",
    .summary = "delete the indices of an orphan release (one no container uses)",
    .usage = "--release VERSION|DB_VERSION [--tenant NAME] [--stack NAME] [--yes] [--json]",
    .description = "For releases left behind by earlier upgrades ('tracup indices' marks them orphan).\n"
                   "Refuses the live release, the rollback target of an upgrade not finalized, the new\n"
                   "release of an upgrade under way, and any release a container on this host belongs\n"
                   "to. Deletes through the live release's api first (admin from TRACUP_ADMIN_EMAIL /\n"
                   "TRACUP_ADMIN_PASSWORD), then directly in Elasticsearch whatever the api left. Prints\n"
                   "every index with its documents and asks for the release unless --yes; the history\n"
                   "records what was deleted.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
