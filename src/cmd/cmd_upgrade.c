/* cmd_upgrade.c - `tracup upgrade --to VERSION`: blue-green, phase by phase, rolled back on any failed check. */
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/upopts.h"
#include "tracardi/version.h"

enum {
    O_TO, O_REGISTRY, O_FROM_REGISTRY, O_STACK, O_ALLOW_DEV, O_ALLOW_DOWNGRADE, O_SHARE_DATA, O_SWITCH, O_SWITCH_CMD, O_PUBLIC_URL, O_MYSQL, O_SMOKE_TIMEOUT, O_SMOKE_INTERVAL,
    O_OBSERVE, O_BLUE_STANDBY, O_MIGRATE_TIMEOUT, O_CHECKS, O_HOOKS_DIR, O_HOOK_TIMEOUT, O_ADMIN_EMAIL, O_ADMIN_PW_FILE,
    O_YES, O_JSON
};
static const struct opt_spec opts[] = {
    [O_TO] = {"to", 0, "VERSION", "the Tracardi release to upgrade to (required)"},
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the images come from (default docker.io)"},
    [O_FROM_REGISTRY] = {"from-registry", 0, "HOST[:PORT][/PATH]", "where the running release's images came from, "
                                                                  "when not --registry"},
    [O_STACK] = {"stack", 0, "NAME", "the stack to upgrade, when the host has several"},
    [O_ALLOW_DEV] = {"allow-dev", 0, NULL, "allow a -dev release (may lose data on upgrade)"},
    [O_ALLOW_DOWNGRADE] = {"allow-downgrade", 0, NULL, "run an older release on the indices it left behind "
                                                       "(nothing is migrated or deleted)"},
    [O_SHARE_DATA] = {"share-data", 0, NULL, "run another release of the same db_version (0.9 -> 1.x) on the "
                                             "running one's data, which tracup cannot confirm from its source"},
    [O_SWITCH] = {"switch", 0, "edge|ports|external", "how traffic moves (default edge: no dropped requests)"},
    [O_SWITCH_CMD] = {"switch-command", 0, "CMD", "with --switch external: run by sh to repoint your proxy"},
    [O_PUBLIC_URL] = {"public-url", 0, "URL", "with --switch external: where the api answers the public"},
    [O_MYSQL] = {"mysql-host", 0, "HOST[:PORT]", "MySQL for a release that needs it (0.9+) when blue has none"},
    [O_SMOKE_TIMEOUT] = {"smoke-timeout", 0, "SECONDS", "how long the new release may take to pass (default 180)"},
    [O_SMOKE_INTERVAL] = {"smoke-interval", 0, "MS", "time between two checks of the new release (default 1000)"},
    [O_OBSERVE] = {"observe", 0, "SECONDS", "how long to watch after the switch (default 30)"},
    [O_BLUE_STANDBY] = {"blue-standby", 0, NULL, "after the switch keep blue's api and gui running until finalize: "
                                                 "rollback in about a second (not with --switch ports)"},
    [O_MIGRATE_TIMEOUT] = {"migrate-timeout", 0, "SECONDS", "how long the migration may take (default 3600)"},
    [O_CHECKS] = {"checks-dir", 0, "DIR", "executables run against the new release; any failure rolls back"},
    [O_HOOKS_DIR] = {"hooks-dir", 0, "DIR", "operator hooks (else TRACUP_HOOKS_DIR, the config, /etc/tracup/hooks.d)"},
    [O_HOOK_TIMEOUT] = {"hook-timeout", 0, "SECONDS", "how long one hook may run (default 60, at most 3600)"},
    [O_ADMIN_EMAIL] = {"admin-email", 0, "EMAIL", "the new release's admin (else TRACUP_ADMIN_EMAIL)"},
    [O_ADMIN_PW_FILE] = {"admin-password-file", 0, "FILE", "its password (else TRACUP_ADMIN_PASSWORD)"},
    [O_YES] = {"yes", 'y', NULL, "do not ask"},
    [O_JSON] = {"json", 0, NULL, "one JSON object per event"},
    {NULL, 0, NULL, NULL},
};

int cmd_check_switch(struct tu_ctx *ctx, const char *cmd, const char *mode);

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    if (!o->value[O_TO])
        return cmd_usage_error(ctx, "upgrade", "--to VERSION is required");
    int rc = cmd_check_switch(ctx, "upgrade", o->value[O_SWITCH]);
    if (rc)
        return rc;
    const char *sw = o->value[O_SWITCH] ? o->value[O_SWITCH] : "edge";
    if (strcmp(sw, "external") == 0 && (!o->value[O_SWITCH_CMD] || !o->value[O_PUBLIC_URL]))
        return cmd_usage_error(ctx, "upgrade", "--switch external needs --switch-command and --public-url");
    struct tu_err err;
    tu_err_clear(&err);
    struct tversion v;
    if (tversion_check_target(o->value[O_TO], o->set[O_ALLOW_DEV], &v, NULL, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);

    struct up_opts uo;
    upopts_defaults(&uo);
    uo.plan.target = o->value[O_TO];
    uo.plan.registry = o->value[O_REGISTRY] ? o->value[O_REGISTRY] : cmd_registry(ctx, NULL);
    uo.plan.allow_dev = o->set[O_ALLOW_DEV];
    uo.plan.allow_downgrade = o->set[O_ALLOW_DOWNGRADE];
    uo.plan.share_data = o->set[O_SHARE_DATA];
    uo.plan.switch_mode = sw;
    uo.plan.mysql_host = o->value[O_MYSQL];
    uo.yes = o->set[O_YES];
    uo.json = ctx->json;
    uo.checks_dir = o->value[O_CHECKS];
    uo.switch_command = o->value[O_SWITCH_CMD];
    uo.public_url = o->value[O_PUBLIC_URL];
    uo.blue_standby = o->set[O_BLUE_STANDBY];
    if (uo.blue_standby && strcmp(sw, "ports") == 0)
        return cmd_usage_error(ctx, "upgrade", "--blue-standby needs --switch edge or external: with ports, green "
                                               "takes blue's published ports");
    if ((rc = upopts_seconds(ctx, "upgrade", "smoke-timeout", o->value[O_SMOKE_TIMEOUT], 86400, &uo.smoke_timeout_s)) ||
        (rc = upopts_seconds(ctx, "upgrade", "observe", o->value[O_OBSERVE], 86400, &uo.observe_s)) ||
        (rc = upopts_number(ctx, "upgrade", "smoke-interval", o->value[O_SMOKE_INTERVAL], 60000, "milliseconds",
                            &uo.smoke_interval_ms)) ||
        (rc = upopts_seconds(ctx, "upgrade", "migrate-timeout", o->value[O_MIGRATE_TIMEOUT], 7 * 86400,
                             &uo.migrate_timeout_s)) ||
        (rc = upopts_hooks(ctx, "upgrade", o->value[O_HOOKS_DIR], o->value[O_HOOK_TIMEOUT], &uo.hooks_dir,
                           &uo.hook_timeout_s)) ||
        (rc = upopts_admin(ctx, "upgrade", o->value[O_ADMIN_EMAIL], o->value[O_ADMIN_PW_FILE], &uo)))
        return rc;
    if (uo.smoke_interval_ms < 50) {
        upopts_free(&uo);
        return cmd_usage_error(ctx, "upgrade", "--smoke-interval takes 50 to 60000 milliseconds");
    }

    struct docker d;
    struct upctx u;
    if ((rc = upopts_open_from(ctx, o->value[O_REGISTRY], o->value[O_FROM_REGISTRY], o->value[O_STACK], &d, &u))) {
        upopts_free(&uo);
        return rc;
    }
    enum up_outcome out = upgrade_start(&u, &uo, ctx->out, &err);
    rc = upopts_exit(out);
    if (out != UP_DONE && out != UP_INTERRUPTED)
        cmd_fail(ctx, &err, rc);
    if (out == UP_FAILED_ROLLED_BACK)
        fprintf(ctx->errout, "the upgrade failed and was rolled back: Tracardi %s serves as before\n",
                u.blue_v_known ? u.blue_v.text : "(blue)");
    upctx_close(&u);
    docker_cleanup(&d);
    upopts_free(&uo);
    return rc;
}

const struct cmd_entry cmd_upgrade_entry = {
    .name = "upgrade",
    .summary = "upgrade a stack blue-green: new release beside the old, checked, migrated, switched",
    .usage = "--to VERSION [--registry PREFIX] [--stack NAME] [--switch edge|ports|external] [--json] [--yes]",
    .description = "Phases: preflight, pull, snapshot, start green, smoke, install, migrate (verified by\n"
                   "document counts), switch, observe, done. Every phase is journaled before and after\n"
                   "it runs; any failed check before done rolls back on its own (exit 4). Blue is\n"
                   "stopped but kept at the end: 'tracup rollback' goes back to it until 'tracup finalize'\n"
                   "(with --blue-standby its api and gui keep running, so that takes about a second).\n"
                   "The admin account of the new release comes from TRACUP_ADMIN_EMAIL and\n"
                   "TRACUP_ADMIN_PASSWORD (or --admin-password-file), never from the command line.\n"
                   "Operator hooks run at pre-upgrade (after the checks, before the first change: a\n"
                   "failure stops the upgrade, exit 1), post-switch and post-upgrade (failures warn).",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
