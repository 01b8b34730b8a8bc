/* cmd.c - the command table, argument parsing, help, and error printing. */
#include "cmd/cmd.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#ifndef TRACUP_VERSION
#define TRACUP_VERSION "0.0.0"
#endif

static const struct cmd_entry *const commands[] = {
    &cmd_status_entry,
    &cmd_pull_entry,
    &cmd_bundle_entry,
    &cmd_plan_entry,
    &cmd_upgrade_entry,
    &cmd_rollback_entry,
    &cmd_resume_entry,
    &cmd_finalize_entry,
    &cmd_indices_entry,
    &cmd_prune_entry,
    &cmd_adopt_entry,
    &cmd_pin_entry,
    &cmd_history_entry,
    &cmd_check_entry,
    &cmd_version_entry,
    &cmd_complete_entry,
    NULL,
};

const struct cmd_entry *const *cmd_table(void)
{
    return commands;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

int tu_interrupted(void)
{
    return interrupted != 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cmd_fail(struct tu_ctx *ctx, const struct tu_err *err, int code)
{
    fprintf(ctx->errout, "error: %s\n", err->msg[0] ? err->msg : "unknown error");
    if (err->hint[0])
        fprintf(ctx->errout, "hint: %s\n", err->hint);
    if (ctx->json) {
        json_t *j = json_pack("{s:{s:s,s:s,s:s?,s:i}}", "error", "kind", tu_err_kind_name(err->kind),
                              "message", err->msg, "hint", err->hint[0] ? err->hint : NULL, "exit_code",
                              code);
        if (j) {
            json_dumpf(j, ctx->out, JSON_COMPACT);
            fputc('\n', ctx->out);
            json_decref(j);
        }
    }
    return code;
}

int cmd_usage_error(struct tu_ctx *ctx, const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tu_text_clean(msg, sizeof(msg));
    fprintf(ctx->errout, "error: %s\n", msg);
    if (cmd)
        fprintf(ctx->errout, "hint: see 'tracup %s --help'\n", cmd);
    else
        fprintf(ctx->errout, "hint: see 'tracup --help'\n");
    return TU_EXIT_USAGE;
}

void cmd_warn(struct tu_ctx *ctx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tu_text_clean(msg, sizeof(msg));
    fprintf(ctx->errout, "warning: %s\n", msg);
}

int cmd_docker(struct tu_ctx *ctx, struct docker *d)
{
    struct tu_err err;
    tu_err_clear(&err);
    if (docker_init(d, &err) < 0)
        return cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_DOCKER);
    if (ctx->cfg.stall_timeout)
        d->stall_timeout_s = ctx->cfg.stall_timeout;
    if (ctx->cfg.first_byte_timeout)
        d->first_byte_timeout_s = ctx->cfg.first_byte_timeout;
    if (ctx->cfg.connect_timeout)
        d->connect_timeout_ms = ctx->cfg.connect_timeout * 1000;
    d->interrupted = tu_interrupted;
    if (docker_negotiate(d, &err) < 0) {
        docker_cleanup(d);
        return cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_DOCKER);
    }
    return 0;
}

const char *cmd_registry(const struct tu_ctx *ctx, const char *flag)
{
    if (flag)
        return flag;
    const char *env = getenv("TRACUP_REGISTRY");
    if (env && *env)
        return env;
    if (ctx->cfg.registry)
        return ctx->cfg.registry;
    return "docker.io";
}

/* ---- help ---- */

static void print_main_help(FILE *f)
{
    fprintf(f, "usage: tracup [--version] [--help] COMMAND [OPTIONS]\n\n"
               "Blue-green upgrades of Tracardi on one Docker host.\n\nCommands:\n");
    for (size_t i = 0; commands[i]; i++)
        if (!commands[i]->hidden)
            fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f, "\nRun 'tracup COMMAND --help' for a command's options.\n"
               "Environment: DOCKER_HOST (unix://PATH), DOCKER_API_VERSION, DOCKER_CONFIG,\n"
               "TRACUP_REGISTRY, TRACUP_CONFIG (default %s), TRACUP_STATE_DIR,\n"
               "TRACUP_HOOKS_DIR, TRACUP_ADMIN_EMAIL, TRACUP_ADMIN_PASSWORD. See tracup(1).\n",
            TU_CONFIG_DEFAULT);
}

static void print_cmd_help(FILE *f, const struct cmd_entry *c)
{
    fprintf(f, "usage: tracup %s %s\n\n%s\n", c->name, c->usage, c->summary);
    if (c->aliases && c->aliases[0]) {
        fprintf(f, "Aliases:");
        for (size_t i = 0; c->aliases[i]; i++)
            fprintf(f, " %s", c->aliases[i]);
        fputc('\n', f);
    }
    if (c->description)
        fprintf(f, "\n%s\n", c->description);
    fprintf(f, "\nOptions:\n");
    for (size_t i = 0; c->opts && c->opts[i].name; i++) {
        const struct opt_spec *o = &c->opts[i];
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "  %-28s %s\n", left, o->help);
    }
    fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
}

/* ---- parsing ---- */

const struct cmd_entry *cmd_find(const char *name)
{
    for (size_t i = 0; commands[i]; i++) {
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
        for (size_t j = 0; commands[i]->aliases && commands[i]->aliases[j]; j++)
            if (strcmp(commands[i]->aliases[j], name) == 0)
                return commands[i];
    }
    return NULL;
}

static int find_opt(const struct opt_spec *opts, const char *name, size_t len, char shrt)
{
    for (int i = 0; opts && opts[i].name; i++) {
        if (shrt ? opts[i].short_name == shrt
                 : strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return i;
    }
    return -1;
}

/* Returns 0, 1 when --help was asked for, or TU_EXIT_USAGE after printing why. */
static int parse_opts(struct tu_ctx *ctx, const struct cmd_entry *c, int argc, char **argv,
                      struct cmd_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->args = xcalloc((size_t)argc + 1, sizeof(char *));
    int only_args = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            o->args[o->nargs++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        int idx;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            idx = find_opt(c->opts, name, len, 0);
            if (idx < 0)
                return cmd_usage_error(ctx, c->name, "unknown option '--%.*s'", (int)(len > 60 ? 60 : len), name);
            if (eq) {
                if (!c->opts[idx].arg)
                    return cmd_usage_error(ctx, c->name, "option '--%s' takes no value", c->opts[idx].name);
                val = eq + 1;
            }
        } else {
            if (a[2] != '\0')
                return cmd_usage_error(ctx, c->name, "unknown option '%.60s' (write short options one at a time)", a);
            idx = find_opt(c->opts, NULL, 0, a[1]);
            if (idx < 0)
                return cmd_usage_error(ctx, c->name, "unknown option '-%c'", a[1]);
        }
        if (c->opts[idx].arg && !val) {
            if (i + 1 >= argc)
                return cmd_usage_error(ctx, c->name, "option '--%s' needs a value (%s)", c->opts[idx].name,
                                       c->opts[idx].arg);
            val = argv[++i];
        }
        if (o->set[idx] && c->opts[idx].arg)
            return cmd_usage_error(ctx, c->name, "option '--%s' given twice", c->opts[idx].name);
        o->set[idx] = 1;
        o->value[idx] = val;
    }
    if (o->nargs < c->min_args)
        return cmd_usage_error(ctx, c->name, "'%s' needs %d argument%s", c->name, c->min_args,
                               c->min_args == 1 ? "" : "s");
    if (c->max_args >= 0 && o->nargs > c->max_args) {
        if (c->max_args == 0)
            return cmd_usage_error(ctx, c->name, "'%s' takes no arguments ('%.60s')", c->name, o->args[0]);
        return cmd_usage_error(ctx, c->name, "'%s' takes at most %d argument%s", c->name, c->max_args,
                               c->max_args == 1 ? "" : "s");
    }
    return 0;
}

static int finish(struct tu_ctx *ctx, int code)
{
    /* A failed write of our output is an error, e.g. a full disk behind a redirect. */
    if (fflush(ctx->out) != 0 || ferror(ctx->out)) {
        fprintf(ctx->errout, "error: cannot write the output\n");
        if (code == TU_EXIT_OK)
            code = TU_EXIT_ERROR;
    }
    return code;
}

int cmd_main(int argc, char **argv)
{
    struct tu_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.out = stdout;
    ctx.errout = stderr;
    install_signals();

    if (argc < 2) {
        print_main_help(stderr);
        return TU_EXIT_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) {
        if (argc > 2 && strcmp(first, "help") == 0) {
            const struct cmd_entry *c = cmd_find(argv[2]);
            if (!c)
                return cmd_usage_error(&ctx, NULL, "unknown command '%.60s'", argv[2]);
            print_cmd_help(stdout, c);
            return finish(&ctx, TU_EXIT_OK);
        }
        print_main_help(stdout);
        return finish(&ctx, TU_EXIT_OK);
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        fprintf(stdout, "tracup %s\n", TRACUP_VERSION);
        return finish(&ctx, TU_EXIT_OK);
    }
    if (first[0] == '-')
        return cmd_usage_error(&ctx, NULL, "unknown option '%.60s' (options go after the command)", first);

    const struct cmd_entry *c = cmd_find(first);
    if (!c)
        return cmd_usage_error(&ctx, NULL, "unknown command '%.60s'", first);

    struct cmd_opts o;
    int prc = parse_opts(&ctx, c, argc - 2, argv + 2, &o);
    if (prc == 1) {
        free(o.args);
        print_cmd_help(stdout, c);
        return finish(&ctx, TU_EXIT_OK);
    }
    if (prc != 0) {
        free(o.args);
        return prc;
    }
    struct tu_err err;
    tu_err_clear(&err);
    if (tu_config_load(&ctx.cfg, &err) < 0) {
        free(o.args);
        return cmd_fail(&ctx, &err, TU_EXIT_USAGE);
    }
    int rc = c->run(&ctx, &o);
    free(o.args);
    tu_config_free(&ctx.cfg);
    return finish(&ctx, rc);
}
