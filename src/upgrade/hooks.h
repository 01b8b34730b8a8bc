/* hooks.h - operator hooks: executables run at named points of an upgrade, a rollback, a finalize. */
#ifndef TRACUP_UPGRADE_HOOKS_H
#define TRACUP_UPGRADE_HOOKS_H

#include <jansson.h>
#include <stdio.h>

#include "util/err.h"

#define HOOKS_DIR_DEFAULT "/etc/tracup/hooks.d"
#define HOOK_TIMEOUT_DEFAULT_S 60
#define HOOK_TIMEOUT_MAX_S 3600
#define HOOK_KILL_GRACE_MS 3000   /* between SIGTERM and SIGKILL to the hook's group */
#define HOOK_LINE_MAX 400         /* bytes of one output line shown; the rest is cut */
#define HOOK_LINES_MAX 2000       /* output lines shown per hook run; the rest is dropped */
#define HOOKS_PER_POINT_MAX 64

enum hook_point {
    HOOK_PRE_UPGRADE,
    HOOK_POST_SWITCH,
    HOOK_POST_UPGRADE,
    HOOK_PRE_ROLLBACK,
    HOOK_POST_ROLLBACK,
    HOOK_PRE_FINALIZE,
    HOOK_NPOINTS
};

/* "pre-upgrade", … (static). */
const char *hook_point_name(enum hook_point p);

struct hooks {
    char *dir;            /* the hooks directory, or NULL: no hooks */
    long timeout_ms;      /* per hook run */
    long grace_ms;        /* SIGTERM to SIGKILL */
    FILE *errout;         /* hook output and warnings: tracup's stderr, never stdout */
    int (*interrupted)(void); /* when it answers non-zero a running hook is stopped, or NULL */
};

/* The facts a hook gets in its environment; NULL ones are left out. */
struct hook_facts {
    const char *stack, *from, *to, *phase, *public_url, *upgrade_id, *switch_mode;
    const char *result;   /* post hooks only */
};

/* Opens the hooks in dir. explicit: the operator named dir (--hooks-dir,
 * TRACUP_HOOKS_DIR, the config), so it must exist; the default may be absent
 * (no hooks, silently). Refuses a directory or hook that is group- or
 * world-writable or owned by another user than root or tracup's; warns about a
 * hook that is not executable and a name that is no hook point, on errout (NULL:
 * stderr), where hook output goes too. timeout_s <= 0 takes the default. */
int hooks_open(struct hooks *h, const char *dir, int explicit, long timeout_s, FILE *errout, struct tu_err *err);
void hooks_close(struct hooks *h);

/* Runs point's hooks: the executable named as the point, then the executables in
 * <point>.d/ in lexical order, each in its own process group with a clean
 * environment, stdin /dev/null, output shown line by line on h->errout as
 * "hook <point>[/<name>]: ". With stop_at_failure the first failure ends the run
 * and err says "<point> hook '<name>' exited 3"; without it every hook runs and
 * each failure is a warning on h->errout. A record of every run (point, name,
 * status, exit code or signal, duration; never its output) is appended to runs
 * when not NULL. Returns 0 when every hook exited 0 (or there were none), 1
 * when one failed, -1 when the hooks could not be looked at (err). */
int hooks_run(const struct hooks *h, enum hook_point p, const struct hook_facts *f, int stop_at_failure, json_t *runs,
              struct tu_err *err);

/* Refuses path (a hook or a directory holding hooks) when another user could
 * change it: group- or world-writable, or owned by a user other than root and
 * tracup's (exposed for tests). */
int hooks_check_owner(const char *path, struct tu_err *err);

/* Names an editor or package manager leaves beside a file ("x~", ".x", "x.dpkg-old"):
 * never run, never warned about. */
int hooks_ignored_name(const char *name);

#endif
