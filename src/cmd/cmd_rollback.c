/* cmd_rollback.c - `tracup rollback`: back to blue, any time before finalize. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/upopts.h"
#include "upgrade/journal.h"

enum { O_REGISTRY, O_STACK, O_HOOKS_DIR, O_HOOK_TIMEOUT, O_YES, O_JSON };
static const struct opt_spec opts[] = {
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the images come from (default docker.io)"},
    [O_STACK] = {"stack", 0, "NAME", "the stack, when the host has several"},
    [O_HOOKS_DIR] = {"hooks-dir", 0, "DIR", "operator hooks (else TRACUP_HOOKS_DIR, the config, /etc/tracup/hooks.d)"},
    [O_HOOK_TIMEOUT] = {"hook-timeout", 0, "SECONDS", "how long one hook may run (default 60, at most 3600)"},
    [O_YES] = {"yes", 'y', NULL, "do not ask"},
    [O_JSON] = {"json", 0, NULL, "one JSON object per event"},
    {NULL, 0, NULL, NULL},
};

/* Says what the rollback gives up; asks unless yes. Returns non-zero to go on. */
static int confirm(struct tu_ctx *ctx, struct upctx *u, json_t *doc, int yes)
{
    const char *from = json_string_value(json_object_get(json_object_get(doc, "from"), "version"));
    const char *to = json_string_value(json_object_get(doc, "to"));
    FILE *f = ctx->json ? ctx->errout : ctx->out;
    fprintf(f, "Roll back stack %s from Tracardi %s to %s%s\n",
            json_string_value(json_object_get(doc, "stack")), to ? to : "?", from ? from : "?", yes ? "." : "?");
    if (json_is_true(json_object_get(doc, "switched")) || strcmp(json_string_value(json_object_get(doc, "state")), "done") == 0)
    {
        long long n = upgrade_written_since_switch(u, doc);
        if (json_is_true(json_object_get(doc, "shared_data")))
            fprintf(f, "%s ran on %s's own indices (one db_version): what it wrote while it served stays in them, "
                       "and %s serves it; nothing is deleted.\n", to ? to : "the new release", from ? from : "blue",
                    from ? from : "blue");
        else if (n >= 0)
            fprintf(f, "Since traffic reached %s it wrote %lld document%s (events, profiles, ...) into its own "
                              "indices; %s's indices do not have them.\n", to ? to : "the new release", n, n == 1 ? "" : "s",
                    from ? from : "blue");
        else
            fprintf(f, "Traffic went to %s: whatever it wrote since is in its own indices and will not be in "
                              "%s's.\n", to ? to : "the new release", from ? from : "blue");
    }
    if (yes)
        return 1;
    if (!isatty(STDIN_FILENO)) {
        fprintf(ctx->errout, "error: not asking without a terminal: pass --yes\n");
        return 0;
    }
    fprintf(ctx->out, "Type 'yes' to roll back: ");
    fflush(ctx->out);
    char line[32];
    if (!fgets(line, sizeof(line), stdin))
        return 0;
    line[strcspn(line, "\r\n")] = '\0';
    return strcmp(line, "yes") == 0;
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    struct up_opts uo;
    upopts_defaults(&uo);
    uo.json = ctx->json;
    uo.yes = o->set[O_YES];
    int rc = upopts_hooks(ctx, "rollback", o->value[O_HOOKS_DIR], o->value[O_HOOK_TIMEOUT], &uo.hooks_dir,
                          &uo.hook_timeout_s);
    if (rc)
        return rc;
    struct docker d;
    struct upctx u;
    rc = upopts_open_journaled(ctx, o->value[O_REGISTRY], o->value[O_STACK], &d, &u);
    if (rc)
        return rc;
    struct tu_err err;
    tu_err_clear(&err);
    struct journal j;
    int r = journal_load(&j, u.journal_path, &err);
    if (r != 0) {
        if (r == 1)
            tu_err_set(&err, TU_ERR_NOT_FOUND, "stack '%s' has no upgrade to roll back", u.stack->name);
        rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
        goto out;
    }
    /* Nothing to ask about when there is no way back. */
    const char *st = json_string_value(json_object_get(j.doc, "state"));
    if (st && (strcmp(st, "finalized") == 0 || strcmp(st, "finalizing") == 0)) {
        journal_free(&j);
        rc = upgrade_rollback(&u, &uo, ctx->out, &err) < 0 ? cmd_fail(ctx, &err, TU_EXIT_ERROR) : TU_EXIT_OK;
        goto out;
    }
    int go = confirm(ctx, &u, j.doc, uo.yes);
    journal_free(&j);
    if (!go) {
        fprintf(ctx->errout, "rollback cancelled: nothing was changed\n");
        rc = TU_EXIT_ERROR;
        goto out;
    }
    if (upgrade_rollback(&u, &uo, ctx->out, &err) < 0)
        rc = cmd_fail(ctx, &err, err.kind == TU_ERR_REFUSED || err.kind == TU_ERR_NOT_FOUND ? TU_EXIT_ERROR
                                                                                           : TU_EXIT_ATTENTION);
out:
    upctx_close(&u);
    docker_cleanup(&d);
    return rc;
}

const struct cmd_entry cmd_rollback_entry = {
    .name = "rollback",
    .summary = "go back to the release that ran before the upgrade (until finalize)",
    .usage = "[--stack NAME] [--yes] [--json]",
    .description = "Starts blue's containers (recreating them from the snapshot if they were removed),\n"
                   "checks that blue answers with its version, gives it the traffic back, and removes\n"
                   "the new release's containers (their logs are kept). A pre-rollback hook that\n"
                   "fails stops it before anything changes.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
