/* cmd_resume.c - `tracup resume`: continue an interrupted upgrade from its journal. */
#include "cmd/cmd.h"
#include "cmd/upopts.h"

enum { O_REGISTRY, O_STACK, O_SMOKE_TIMEOUT, O_OBSERVE, O_SWITCH_CMD, O_HOOKS_DIR, O_HOOK_TIMEOUT, O_ADMIN_EMAIL, O_ADMIN_PW_FILE, O_JSON };
static const struct opt_spec opts[] = {
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the images come from (default docker.io)"},
    [O_STACK] = {"stack", 0, "NAME", "the stack, when the host has several"},
    [O_SMOKE_TIMEOUT] = {"smoke-timeout", 0, "SECONDS", "how long the new release may take to pass (default 180)"},
    [O_OBSERVE] = {"observe", 0, "SECONDS", "how long to watch after the switch (default 30)"},
    [O_SWITCH_CMD] = {"switch-command", 0, "CMD", "for an upgrade with --switch external: the command again (it "
                                                  "is not journaled)"},
    [O_HOOKS_DIR] = {"hooks-dir", 0, "DIR", "operator hooks (else TRACUP_HOOKS_DIR, the config, the upgrade's own)"},
    [O_HOOK_TIMEOUT] = {"hook-timeout", 0, "SECONDS", "how long one hook may run (default 60, at most 3600)"},
    [O_ADMIN_EMAIL] = {"admin-email", 0, "EMAIL", "the new release's admin (else TRACUP_ADMIN_EMAIL)"},
    [O_ADMIN_PW_FILE] = {"admin-password-file", 0, "FILE", "its password (else TRACUP_ADMIN_PASSWORD)"},
    [O_JSON] = {"json", 0, NULL, "one JSON object per event"},
    {NULL, 0, NULL, NULL},
};

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    struct up_opts uo;
    upopts_defaults(&uo);
    uo.json = ctx->json;
    /* Unset: the journaled run's own values apply. */
    uo.smoke_timeout_s = uo.observe_s = uo.migrate_timeout_s = -1;
    uo.switch_command = o->value[O_SWITCH_CMD];
    int rc;
    if ((rc = upopts_seconds(ctx, "resume", "smoke-timeout", o->value[O_SMOKE_TIMEOUT], 86400, &uo.smoke_timeout_s)) ||
        (rc = upopts_seconds(ctx, "resume", "observe", o->value[O_OBSERVE], 86400, &uo.observe_s)) ||
        (rc = upopts_hooks(ctx, "resume", o->value[O_HOOKS_DIR], o->value[O_HOOK_TIMEOUT], &uo.hooks_dir,
                           &uo.hook_timeout_s)) ||
        (rc = upopts_admin(ctx, "resume", o->value[O_ADMIN_EMAIL], o->value[O_ADMIN_PW_FILE], &uo)))
        return rc;
    struct docker d;
    struct upctx u;
    if ((rc = upopts_open_journaled(ctx, o->value[O_REGISTRY], o->value[O_STACK], &d, &u))) {
        upopts_free(&uo);
        return rc;
    }
    struct tu_err err;
    tu_err_clear(&err);
    enum up_outcome out = upgrade_resume(&u, &uo, ctx->out, &err);
    rc = upopts_exit(out);
    if (out != UP_DONE && out != UP_INTERRUPTED)
        cmd_fail(ctx, &err, rc);
    upctx_close(&u);
    docker_cleanup(&d);
    upopts_free(&uo);
    return rc;
}

const struct cmd_entry cmd_resume_entry = {
    .name = "resume",
    .summary = "continue an interrupted upgrade from the last completed phase",
    .usage = "[--stack NAME] [--registry PREFIX] [--json]",
    .description = "Reads the stack's journal and runs the phases that did not complete. A migration\n"
                   "that was started is never started again: resume waits for it and verifies it.\n"
                   "Hooks: a pre-upgrade hook that passed is not run again; post-switch runs if the\n"
                   "interrupted run did not get to it. Without --hooks-dir, TRACUP_HOOKS_DIR or the\n"
                   "config's hooks_dir, the hooks directory of the interrupted run applies.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
