/* upopts.c - shared option handling for the upgrade commands. */
#include "cmd/upopts.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry/auth.h"
#include "tracardi/images.h"
#include "upgrade/journal.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

void upopts_defaults(struct up_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->smoke_timeout_s = 180;
    o->smoke_interval_ms = 1000;
    o->migrate_timeout_s = 3600;
    o->observe_s = 30;
}

void upopts_free(struct up_opts *o)
{
    secret_free(o->admin_password);
    o->admin_password = NULL;
}

int upopts_seconds(struct tu_ctx *ctx, const char *cmd, const char *opt, const char *value, long max, long *out)
{
    return upopts_number(ctx, cmd, opt, value, max, "seconds", out);
}

int upopts_number(struct tu_ctx *ctx, const char *cmd, const char *opt, const char *value, long max, const char *unit,
                  long *out)
{
    if (!value)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n < 0 || n > max)
        return cmd_usage_error(ctx, cmd, "--%s takes a number of %s from 0 to %ld, not '%.20s'", opt, unit, max, value);
    *out = n;
    return 0;
}

int upopts_hooks(struct tu_ctx *ctx, const char *cmd, const char *dir_flag, const char *timeout_flag, const char **dir,
                 long *timeout_s)
{
    const char *env = getenv("TRACUP_HOOKS_DIR");
    const char *d = dir_flag ? dir_flag : env && *env ? env : ctx->cfg.hooks_dir;
    const char *from = dir_flag ? "--hooks-dir" : env && *env ? "TRACUP_HOOKS_DIR" : "the config's hooks_dir";
    struct stat st;
    if (d && (!*d || strlen(d) > 1024))
        return cmd_usage_error(ctx, cmd, "%s must name a directory", from);
    if (d && stat(d, &st) != 0)
        return cmd_usage_error(ctx, cmd, "cannot read the hooks directory '%.200s' (%s): %s", d, from, strerror(errno));
    if (d && !S_ISDIR(st.st_mode))
        return cmd_usage_error(ctx, cmd, "the hooks directory '%.200s' (%s) is not a directory", d, from);
    *dir = d;
    long t = ctx->cfg.hook_timeout;
    if (timeout_flag) {
        char *end;
        errno = 0;
        t = strtol(timeout_flag, &end, 10);
        if (errno || end == timeout_flag || *end || t < 1 || t > 3600)
            return cmd_usage_error(ctx, cmd, "--hook-timeout takes a number of seconds from 1 to 3600, not '%.20s'",
                                   timeout_flag);
    }
    *timeout_s = t;
    return 0;
}

int upopts_admin(struct tu_ctx *ctx, const char *cmd, const char *email_flag, const char *password_file,
                 struct up_opts *o)
{
    const char *email = email_flag ? email_flag : getenv("TRACUP_ADMIN_EMAIL");
    o->admin_email = email && *email ? email : NULL;
    const char *pw = getenv("TRACUP_ADMIN_PASSWORD");
    if (password_file) {
        struct buf b;
        struct tu_err err;
        tu_err_clear(&err);
        int r = fs_read_capped(password_file, 4096, &b, &err);
        if (r != 0) {
            if (r == 1)
                tu_err_set(&err, TU_ERR_USAGE, "password file '%s' does not exist", password_file);
            return cmd_fail(ctx, &err, TU_EXIT_USAGE);
        }
        char *text = buf_detach(&b);
        text[strcspn(text, "\r\n")] = '\0';
        if (!*text) {
            secret_free(text);
            return cmd_usage_error(ctx, cmd, "password file '%s' is empty", password_file);
        }
        o->admin_password = text;
    } else if (pw && *pw) {
        o->admin_password = xstrdup(pw);
    }
    return 0;
}

int upopts_admin_required(struct tu_ctx *ctx, const char *cmd, const char *email_flag, const char *password_file,
                          const char *why, struct up_opts *o)
{
    int rc = upopts_admin(ctx, cmd, email_flag, password_file, o);
    if (rc)
        return rc;
    if (o->admin_email && o->admin_password)
        return 0;
    upopts_free(o);
    return cmd_usage_error(ctx, cmd, "%s: set TRACUP_ADMIN_EMAIL and TRACUP_ADMIN_PASSWORD (or --admin-password-file)",
                           why);
}

int upopts_exit(enum up_outcome outcome)
{
    switch (outcome) {
    case UP_DONE: return TU_EXIT_OK;
    case UP_FAILED_ROLLED_BACK: return TU_EXIT_ROLLED_BACK;
    case UP_FAILED_ATTENTION: return TU_EXIT_ATTENTION;
    case UP_INTERRUPTED: return TU_EXIT_INTERRUPTED;
    case UP_DAEMON_LOST: return TU_EXIT_DOCKER;
    case UP_REFUSED: break;
    }
    return TU_EXIT_ERROR;
}

int upopts_open(struct tu_ctx *ctx, const char *registry_flag, const char *stack, struct docker *d, struct upctx *u)
{
    return upopts_open_from(ctx, registry_flag, NULL, stack, d, u);
}

int upopts_open_from(struct tu_ctx *ctx, const char *registry_flag, const char *from_flag, const char *stack,
                     struct docker *d, struct upctx *u)
{
    struct tu_err err;
    tu_err_clear(&err);
    const char *prefix = from_flag ? from_flag : cmd_registry(ctx, registry_flag);
    if (registry_prefix_check(prefix, &err) < 0 ||
        (registry_flag && registry_prefix_check(registry_flag, &err) < 0))
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);
    int rc = cmd_docker(ctx, d);
    if (rc)
        return rc;
    if (upctx_open(u, d, prefix, stack, NULL, &err) < 0) {
        docker_cleanup(d);
        return cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_ERROR);
    }
    return 0;
}

/* The journal of stack `name` (the caller frees doc), or NULL. */
static json_t *journal_of(const char *root, const char *name)
{
    char *path = xasprintf("%s/%s/journal.json", root, name);
    struct journal j;
    struct tu_err err;
    json_t *doc = NULL;
    if (journal_load(&j, path, &err) == 0) {
        doc = json_incref(j.doc);
        journal_free(&j);
    }
    free(path);
    return doc;
}

int upopts_open_journaled(struct tu_ctx *ctx, const char *registry_flag, const char *stack, struct docker *d,
                          struct upctx *u)
{
    const char *root = upctx_state_root();
    char *name = stack ? xstrdup(stack) : NULL;
    if (!name) {
        DIR *dp = opendir(root);
        struct dirent *de;
        size_t found = 0;
        while (dp && (de = readdir(dp))) {
            if (de->d_name[0] == '.')
                continue;
            json_t *doc = journal_of(root, de->d_name);
            const char *st = json_string_value(json_object_get(doc, "state"));
            if (st && strcmp(st, "finalized") != 0 && strcmp(st, "rolled_back") != 0) {
                found++;
                free(name);
                name = xstrdup(de->d_name);
            }
            json_decref(doc);
        }
        if (dp)
            closedir(dp);
        if (found > 1) {
            free(name);
            return cmd_usage_error(ctx, NULL, "%zu stacks have upgrades under way: say which with --stack", found);
        }
    }
    json_t *doc = name ? journal_of(root, name) : NULL;
    const char *prefix = json_string_value(json_object_get(doc, "prefix"));
    int rc = upopts_open_from(ctx, registry_flag, registry_flag ? NULL : prefix, name, d, u);
    json_decref(doc);
    free(name);
    return rc;
}
