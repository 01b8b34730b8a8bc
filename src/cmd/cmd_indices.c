/* cmd_indices.c - `tracup indices`: Elasticsearch's indices by Tracardi release, and the shard budget. */
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/idxview.h"
#include "cmd/upopts.h"
#include "upgrade/indices.h"
#include "upgrade/journal.h"

enum { O_REGISTRY, O_STACK, O_NAMES, O_JSON };
static const struct opt_spec opts[] = {
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the images come from (default docker.io)"},
    [O_STACK] = {"stack", 0, "NAME", "the stack, when the host has several"},
    [O_NAMES] = {"names", 'n', NULL, "list every index under its release"},
    [O_JSON] = {"json", 0, NULL, "print one JSON object"},
    {NULL, 0, NULL, NULL},
};

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    struct docker d;
    struct upctx u;
    int rc = upopts_open_journaled(ctx, o->value[O_REGISTRY], o->value[O_STACK], &d, &u);
    if (rc)
        return rc;
    struct tu_err err;
    tu_err_clear(&err);
    struct journal j;
    memset(&j, 0, sizeof(j));
    json_t *doc = NULL;
    /* A journal that cannot be read would hide a rollback target: say so, show nothing. */
    if (journal_load(&j, u.journal_path, &err) < 0) {
        rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
    } else if (indices_collect(&u, j.doc, &doc, NULL, &err) < 0) {
        rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
    } else if (ctx->json) {
        json_object_set_new(doc, "stack", json_string(u.stack->name));
        json_dumpf(doc, ctx->out, JSON_COMPACT);
        fputc('\n', ctx->out);
    } else {
        fprintf(ctx->out, "Stack %s\n", u.stack->name);
        idxview_table(ctx->out, doc, o->set[O_NAMES]);
    }
    json_decref(doc);
    journal_free(&j);
    upctx_close(&u);
    docker_cleanup(&d);
    return rc;
}

const struct cmd_entry cmd_indices_entry = {
    .name = "indices",
    .summary = "list Elasticsearch's indices by Tracardi release, and the shard budget",
    .usage = "[--stack NAME] [--names] [--json]",
    .description = "Reads Elasticsearch where the stack's api reaches it (its credentials, scheme and CA\n"
                   "file) and groups the indices by release (db_version and tenant; staging, prod- and\n"
                   "static- copies together). Each release is marked live (serving), rollback target\n"
                   "(the old release of an upgrade not finalized), upgrade under way, with containers,\n"
                   "or orphan (no container of it on this host). Indices that are not Tracardi's are\n"
                   "listed apart and never touched. The budget compares the open shards with\n"
                   "cluster.max_shards_per_node x data nodes and says how many upgrades still fit.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
