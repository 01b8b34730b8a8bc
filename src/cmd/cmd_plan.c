/* cmd_plan.c - `tracup plan --to VERSION`: what an upgrade would do; changes nothing. */
#include <string.h>

#include "cmd/cmd.h"
#include "tracardi/images.h"
#include "cmd/upopts.h"
#include "upgrade/plan.h"
#include "upgrade/upctx.h"

enum { O_TO, O_REGISTRY, O_FROM_REGISTRY, O_STACK, O_ALLOW_DEV, O_ALLOW_DOWNGRADE, O_SHARE_DATA, O_SWITCH, O_MYSQL, O_JSON };
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
    [O_SWITCH] = {"switch", 0, "edge|ports|external", "how traffic moves (default edge)"},
    [O_MYSQL] = {"mysql-host", 0, "HOST[:PORT]", "MySQL for a release that needs it (0.9+) when blue has none"},
    [O_JSON] = {"json", 0, NULL, "print the plan as one JSON object"},
    {NULL, 0, NULL, NULL},
};

int cmd_check_switch(struct tu_ctx *ctx, const char *cmd, const char *mode);
int cmd_check_switch(struct tu_ctx *ctx, const char *cmd, const char *mode)
{
    if (mode && strcmp(mode, "edge") != 0 && strcmp(mode, "ports") != 0 && strcmp(mode, "external") != 0)
        return cmd_usage_error(ctx, cmd, "--switch takes edge, ports or external, not '%.40s'", mode);
    return 0;
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    if (!o->value[O_TO])
        return cmd_usage_error(ctx, "plan", "--to VERSION is required");
    int rc = cmd_check_switch(ctx, "plan", o->value[O_SWITCH]);
    if (rc)
        return rc;
    struct tu_err err;
    tu_err_clear(&err);
    const char *prefix = cmd_registry(ctx, o->value[O_REGISTRY]);
    if (registry_prefix_check(prefix, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);
    struct tversion v;
    if (tversion_check_target(o->value[O_TO], o->set[O_ALLOW_DEV], &v, NULL, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);

    struct docker d;
    struct upctx u;
    if ((rc = upopts_open_from(ctx, o->value[O_REGISTRY], o->value[O_FROM_REGISTRY], o->value[O_STACK], &d, &u)))
        return rc;
    struct plan_opts po = {.target = o->value[O_TO], .registry = prefix, .allow_dev = o->set[O_ALLOW_DEV], .allow_downgrade = o->set[O_ALLOW_DOWNGRADE],
                           .share_data = o->set[O_SHARE_DATA],
                           .switch_mode = o->value[O_SWITCH], .mysql_host = o->value[O_MYSQL]};
    struct plan p;
    if (plan_build(&u, &po, &p, &err) < 0) {
        rc = cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_ERROR);
    } else {
        json_object_set_new(p.doc, "ok", json_boolean(!p.refused));
        if (ctx->json) {
            json_dumpf(p.doc, ctx->out, JSON_COMPACT);
            fputc('\n', ctx->out);
        } else {
            plan_print(ctx->out, &p);
        }
        rc = p.refused ? TU_EXIT_ERROR : TU_EXIT_OK;
        plan_free(&p);
    }
    upctx_close(&u);
    docker_cleanup(&d);
    return rc;
}

const struct cmd_entry cmd_plan_entry = {
    .name = "plan",
    .summary = "show what an upgrade would do, hop by hop, and why it would be refused; changes nothing",
    .usage = "--to VERSION [--registry PREFIX] [--stack NAME] [--switch edge|ports|external] [--json]",
    .description = "Exit status 0 when the upgrade could run, 1 when it would be refused (the reasons are\n"
                   "listed), 2 for bad arguments.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
