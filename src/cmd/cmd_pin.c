/* cmd_pin.c - `tracup pin`: the running release's image digests into the compose env file. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "tracardi/images.h"
#include "tracardi/stack.h"
#include "upgrade/pin.h"
#include "upgrade/upctx.h"
#include "util/xalloc.h"

enum { O_REGISTRY, O_STACK, O_ENV_FILE, O_DRY_RUN, O_JSON };
static const struct opt_spec opts[] = {
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the Tracardi images come from (default docker.io)"},
    [O_STACK] = {"stack", 0, "NAME", "the stack, when the host has several"},
    [O_ENV_FILE] = {"env-file", 0, "PATH", "the env file to write (default: the compose project's .env)"},
    [O_DRY_RUN] = {"dry-run", 'n', NULL, "show the changes, write nothing"},
    [O_JSON] = {"json", 0, NULL, "print one JSON object"},
    {NULL, 0, NULL, NULL},
};

static const struct stack *pick_stack(const struct stack_list *l, const char *name, const char *prefix,
                                      struct tu_err *err)
{
    const struct stack *s = NULL;
    for (size_t i = 0; i < l->n; i++)
        if (!name || strcmp(l->s[i].name, name) == 0)
            s = s ? s : &l->s[i];
    if (!s) {
        if (name)
            tu_err_set(err, TU_ERR_NOT_FOUND, "no Tracardi stack named '%s' on this host", name);
        else
            tu_err_set(err, TU_ERR_NOT_FOUND, "no Tracardi stack found on this host (images under '%s/tracardi/')",
                       prefix);
        tu_err_hint(err, "see 'tracup status'; pass --registry when the images come from a mirror");
        return NULL;
    }
    if (!name && l->n > 1) {
        tu_err_set(err, TU_ERR_USAGE, "%zu Tracardi stacks on this host: say which with --stack", l->n);
        return NULL;
    }
    return s;
}

/* The stack's state directory, not created (dry runs write nothing), or NULL for
 * a name that cannot be one. */
static char *stack_dir_of(const char *name)
{
    if (!*name || name[0] == '.' || strchr(name, '/'))
        return NULL;
    return xasprintf("%s/%s", upctx_state_root(), name);
}

/* The env file: --env-file, the compose labels, the remembered one. */
static char *choose_env_file(const char *flag, const struct stack *s, const char *stack_dir, const char **source,
                             struct tu_err *err)
{
    if (flag) {
        *source = "--env-file";
        if (!*flag || strlen(flag) > 4096) {
            tu_err_set(err, TU_ERR_USAGE, "--env-file needs a path");
            return NULL;
        }
        if (flag[0] == '/')
            return xstrdup(flag);
        char cwd[4096];
        if (!getcwd(cwd, sizeof(cwd))) {
            tu_err_set(err, TU_ERR_IO, "cannot tell the current directory for '%s'", flag);
            return NULL;
        }
        return xasprintf("%s/%s", cwd, flag);
    }
    char *p = pin_env_from_labels(s);
    if (p) {
        *source = "the compose project's labels";
        return p;
    }
    if (stack_dir) {
        int r = pin_remembered(stack_dir, &p, err);
        if (r < 0)
            return NULL;
        if (r == 0) {
            *source = "the last 'tracup pin'";
            return p;
        }
    }
    tu_err_set(err, TU_ERR_USAGE, "stack '%s' was not started by docker compose: tracup cannot tell its env file",
               s->name);
    tu_err_hint(err, "say which file to write with --env-file PATH");
    return NULL;
}

static void print_value(FILE *f, const char *sign, const char *key, const char *value)
{
    char v[1024];
    snprintf(v, sizeof(v), "%s", value);
    tu_text_clean(v, sizeof(v));
    fprintf(f, "%s%s=%s\n", sign, key, v);
}

static void print_human(FILE *f, const char *stack, const struct pin_vars *v, const struct pin_result *r,
                        const char *source, int dry_run)
{
    int n = 0;
    for (int i = PIN_API; i <= PIN_APM; i++)
        n += v->value[i][0] != '\0';
    fprintf(f, "Stack %s runs Tracardi %s from %s (%d image digest%s)\n", stack, v->value[PIN_VERSION],
            v->value[PIN_REGISTRY], n, n == 1 ? "" : "s");
    if (json_array_size(r->changes) == 0) {
        fprintf(f, "already pinned: %s (from %s) names exactly that; nothing was changed\n", r->env_file, source);
        return;
    }
    fprintf(f, "--- %s (from %s)%s\n+++ %s (pinned)\n", r->env_file, source, r->created ? ", new" : "", r->env_file);
    size_t i;
    json_t *c;
    int appended = 0;
    json_array_foreach(r->changes, i, c) {
        const char *key = json_string_value(json_object_get(c, "name"));
        json_int_t line = json_integer_value(json_object_get(c, "line"));
        const char *old = json_string_value(json_object_get(c, "old"));
        if (line)
            fprintf(f, "@@ line %lld\n", (long long)line);
        else if (!appended++)
            fprintf(f, "@@ added at the end\n");
        if (line && old)
            print_value(f, "-", key, old);
        else if (line)
            fprintf(f, "-%s\n", key);
        print_value(f, "+", key, json_string_value(json_object_get(c, "new")));
    }
    if (dry_run)
        fprintf(f, "dry run: nothing was written\n");
    else if (r->backup)
        fprintf(f, "pinned; the old file is kept as %s\n", r->backup);
    else
        fprintf(f, "pinned (new file, mode 0600)\n");
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    int dry_run = o->set[O_DRY_RUN];
    const char *prefix = cmd_registry(ctx, o->value[O_REGISTRY]);
    struct tu_err err;
    tu_err_clear(&err);
    if (registry_prefix_check(prefix, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);
    struct docker d;
    int rc = cmd_docker(ctx, &d);
    if (rc != 0)
        return rc;
    struct stack_list l;
    memset(&l, 0, sizeof(l));
    struct pin_vars v;
    memset(&v, 0, sizeof(v));
    struct pin_result r;
    memset(&r, 0, sizeof(r));
    char *stack_dir = NULL, *env_file = NULL;
    const char *source = NULL;
    rc = TU_EXIT_ERROR;
    if (stack_discover(&d, prefix, &l, &err) < 0) {
        rc = cmd_fail(ctx, &err, err.kind == TU_ERR_CONNECT ? TU_EXIT_DOCKER : TU_EXIT_ERROR);
        goto out;
    }
    const struct stack *s = pick_stack(&l, o->value[O_STACK], prefix, &err);
    if (!s) {
        rc = cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_ERROR);
        goto out;
    }
    stack_dir = stack_dir_of(s->name);
    env_file = choose_env_file(o->value[O_ENV_FILE], s, stack_dir, &source, &err);
    if (!env_file) {
        rc = cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_ERROR);
        goto out;
    }
    json_t *skip = upctx_standby_ids(stack_dir);
    int cr = pin_collect(&d, prefix, s, skip, &v, &err);
    json_decref(skip);
    if (cr < 0) {
        rc = cmd_fail(ctx, &err, err.kind == TU_ERR_CONNECT ? TU_EXIT_DOCKER : TU_EXIT_ERROR);
        goto out;
    }
    if (v.by_tag)
        fprintf(ctx->errout, "note: images loaded from a bundle have no registry digest: they are pinned by their "
                             "tag (%s)\n", v.value[PIN_VERSION]);
    if (pin_apply(env_file, &v, dry_run, &r, &err) < 0) {
        rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
        goto out;
    }
    if (!dry_run) {
        /* Remembered so that upgrade and rollback keep the file in step. */
        struct upctx u;
        memset(&u, 0, sizeof(u));
        if (upctx_state_paths(&u, s->name, &err) < 0 || pin_remember(u.stack_dir, s->name, r.env_file, &err) < 0)
            cmd_warn(ctx, "the env file is pinned but not remembered (%s): 'tracup upgrade' will not update it",
                     err.msg);
        upctx_close(&u);
    }
    for (int i = 0; i < PIN_NVARS; i++)
        if (getenv(pin_var_names[i]))
            cmd_warn(ctx, "%s is set in this environment: docker compose takes it over the env file",
                     pin_var_names[i]);
    if (ctx->json) {
        json_t *vars = json_object();
        for (int i = 0; i < PIN_NVARS; i++)
            json_object_set_new(vars, pin_var_names[i], json_string(v.value[i]));
        json_t *j = json_pack("{s:s,s:s,s:s,s:s?,s:b,s:b,s:b,s:o,s:O}", "stack", s->name, "env_file", r.env_file,
                              "source", source, "backup", r.backup, "changed",
                              !dry_run && json_array_size(r.changes) > 0, "dry_run", dry_run, "created",
                              r.created && !dry_run && json_array_size(r.changes) > 0, "variables", vars, "changes",
                              r.changes);
        json_dumpf(j, ctx->out, JSON_COMPACT);
        fputc('\n', ctx->out);
        json_decref(j);
    } else {
        print_human(ctx->out, s->name, &v, &r, source, dry_run);
    }
    rc = TU_EXIT_OK;
out:
    pin_result_free(&r);
    pin_vars_free(&v);
    free(env_file);
    free(stack_dir);
    stack_list_free(&l);
    docker_cleanup(&d);
    return rc;
}

const struct cmd_entry cmd_pin_entry = {
    .name = "pin",
    .summary = "write the running release's version and image digests into the compose env file",
    .usage = "[--stack NAME] [--env-file PATH] [--dry-run] [--json]",
    .description =
        "Sets TRACARDI_VERSION, TRACARDI_REGISTRY and API_/GUI_/WORKER_/APM_DIGEST in the env file\n"
        "so that 'docker compose up' recreates exactly what runs (an image the stack does not run\n"
        "gets an empty digest). Every other line is kept as it was; a backup of the old file is\n"
        "kept next to it. The file is remembered: after 'tracup upgrade' reaches done, and after\n"
        "'tracup rollback', it is rewritten to the release that then runs.",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
