/* upopts.c - shared option handling for the upgrade commands. */
#include "cmd/upopts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "registry/auth.h"
#include "tracardi/images.h"
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
    if (!value)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n < 0 || n > max)
        return cmd_usage_error(ctx, cmd, "--%s takes a number of seconds from 0 to %ld, not '%.20s'", opt, max, value);
    *out = n;
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

int upopts_exit(enum up_outcome outcome)
{
    switch (outcome) {
    case UP_DONE: return TU_EXIT_OK;
    case UP_FAILED_ROLLED_BACK: return TU_EXIT_ROLLED_BACK;
    case UP_FAILED_ATTENTION: return TU_EXIT_ATTENTION;
    case UP_INTERRUPTED: return TU_EXIT_INTERRUPTED;
    case UP_REFUSED: break;
    }
    return TU_EXIT_ERROR;
}

int upopts_open(struct tu_ctx *ctx, const char *registry_flag, const char *stack, struct docker *d, struct upctx *u)
{
    struct tu_err err;
    tu_err_clear(&err);
    const char *prefix = cmd_registry(ctx, registry_flag);
    if (registry_prefix_check(prefix, &err) < 0)
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
