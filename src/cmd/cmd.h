/* cmd.h - the command table, option tables, exit codes and the command context. */
#ifndef TRACUP_CMD_H
#define TRACUP_CMD_H

#include <stdio.h>

#include "docker/client.h"
#include "util/config.h"
#include "util/err.h"

/* Exit codes, documented in README.md. */
enum tu_exit {
    TU_EXIT_OK = 0,          /* done */
    TU_EXIT_ERROR = 1,       /* the operation failed; nothing was changed unless it says so */
    TU_EXIT_USAGE = 2,       /* bad command line or configuration */
    TU_EXIT_DOCKER = 3,      /* the docker daemon cannot be reached or is not supported */
    TU_EXIT_ROLLED_BACK = 4, /* an upgrade failed and was rolled back: blue serves */
    TU_EXIT_ATTENTION = 5,   /* an operation failed and could not clean up: read the message */
    TU_EXIT_INTERRUPTED = 6, /* stopped by a signal at a safe point */
};

#define OPT_MAX 32

struct opt_spec {
    const char *name;   /* long name without "--" */
    char short_name;    /* 0 for none */
    const char *arg;    /* metavar when it takes a value, NULL for a flag */
    const char *help;
};

struct cmd_opts {
    const char *value[OPT_MAX]; /* indexed like the command's opt_spec table */
    int set[OPT_MAX];
    char **args;                /* positional arguments (borrowed from argv) */
    int nargs;
};

struct tu_ctx {
    FILE *out;
    FILE *errout;
    struct tu_config cfg;
    int json;
    int quiet;
};

struct cmd_entry {
    const char *name;
    const char *const *aliases;  /* NULL-terminated, or NULL */
    const char *summary;         /* one line for `tracup --help` */
    const char *usage;           /* after "tracup NAME " */
    const char *description;     /* paragraphs for `tracup NAME --help`, or NULL */
    const struct opt_spec *opts; /* terminated by {NULL}; --help is added for every command */
    int min_args, max_args;
    int (*run)(struct tu_ctx *ctx, const struct cmd_opts *o);
    int hidden;                  /* not listed by `tracup --help` (e.g. __complete) */
};

extern const struct cmd_entry cmd_version_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_pull_entry;
extern const struct cmd_entry cmd_plan_entry;
extern const struct cmd_entry cmd_upgrade_entry;
extern const struct cmd_entry cmd_resume_entry;
extern const struct cmd_entry cmd_rollback_entry;
extern const struct cmd_entry cmd_history_entry;
extern const struct cmd_entry cmd_adopt_entry;
extern const struct cmd_entry cmd_finalize_entry;
extern const struct cmd_entry cmd_indices_entry;
extern const struct cmd_entry cmd_prune_entry;
extern const struct cmd_entry cmd_bundle_entry;
extern const struct cmd_entry cmd_pin_entry;
extern const struct cmd_entry cmd_complete_entry;
extern const struct cmd_entry cmd_check_entry;

/* The command table, NULL-terminated, hidden commands included (borrowed). */
const struct cmd_entry *const *cmd_table(void);
/* A command by name or alias, or NULL (borrowed). */
const struct cmd_entry *cmd_find(const char *name);

/* Parses argv and runs the command; returns the exit code. */
int cmd_main(int argc, char **argv);

/* Prints "error: …" (and "hint: …") and returns the exit code for it. */
int cmd_fail(struct tu_ctx *ctx, const struct tu_err *err, int code);
/* A usage error for the command; returns TU_EXIT_USAGE. */
int cmd_usage_error(struct tu_ctx *ctx, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cmd_warn(struct tu_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Connects to the daemon and negotiates the API version; prints the error and
 * returns TU_EXIT_DOCKER on failure, else 0. */
int cmd_docker(struct tu_ctx *ctx, struct docker *d);
/* The registry prefix: --registry, else TRACUP_REGISTRY, else the config, else docker.io. */
const char *cmd_registry(const struct tu_ctx *ctx, const char *flag);

/* Set by SIGINT/SIGTERM. */
int tu_interrupted(void);

#endif
