/* upopts.h - what upgrade, resume and rollback share: options into up_opts, outcomes into exit codes. */
#ifndef TRACUP_CMD_UPOPTS_H
#define TRACUP_CMD_UPOPTS_H

#include "cmd/cmd.h"
#include "upgrade/engine.h"

/* Reads the admin account: --admin-email or TRACUP_ADMIN_EMAIL; the password from
 * TRACUP_ADMIN_PASSWORD or a file (never argv). Returns 0 or an exit code. */
int upopts_admin(struct tu_ctx *ctx, const char *cmd, const char *email_flag, const char *password_file,
                 struct up_opts *o);
/* The admin account a command cannot do without: upopts_admin, then a usage
 * error naming `why` when the email or the password is missing. */
int upopts_admin_required(struct tu_ctx *ctx, const char *cmd, const char *email_flag, const char *password_file,
                          const char *why, struct up_opts *o);
/* Parses a positive number of seconds into *out; returns 0 or an exit code. */
int upopts_seconds(struct tu_ctx *ctx, const char *cmd, const char *opt, const char *value, long max, long *out);
/* The same for another unit ("milliseconds"). */
int upopts_number(struct tu_ctx *ctx, const char *cmd, const char *opt, const char *value, long max, const char *unit,
                  long *out);
/* The operator hooks: --hooks-dir, else TRACUP_HOOKS_DIR, else the config's
 * hooks_dir (*dir NULL: the default, or for resume the journaled run's); a
 * directory named so must exist. --hook-timeout, else the config's hook_timeout
 * (*timeout_s 0: the default). Returns 0 or an exit code (printed). */
int upopts_hooks(struct tu_ctx *ctx, const char *cmd, const char *dir_flag, const char *timeout_flag, const char **dir,
                 long *timeout_s);
void upopts_defaults(struct up_opts *o);
void upopts_free(struct up_opts *o);
int upopts_exit(enum up_outcome outcome);
/* Opens the daemon and the stack; returns 0 or an exit code (printed). */
int upopts_open(struct tu_ctx *ctx, const char *registry_flag, const char *stack, struct docker *d, struct upctx *u);
/* The same, with blue's images found under from_flag (else the registry). */
int upopts_open_from(struct tu_ctx *ctx, const char *registry_flag, const char *from_flag, const char *stack,
                     struct docker *d, struct upctx *u);

/* Opens the stack of the upgrade on record: --stack, else the one stack in the
 * state directory whose upgrade has not ended; its discovery prefix comes from
 * the journal, so the operator need not repeat --registry. */
int upopts_open_journaled(struct tu_ctx *ctx, const char *registry_flag, const char *stack, struct docker *d,
                          struct upctx *u);

#endif
