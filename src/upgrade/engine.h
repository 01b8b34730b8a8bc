/* engine.h - running an upgrade phase by phase, resuming it, rolling it back. */
#ifndef TRACUP_UPGRADE_ENGINE_H
#define TRACUP_UPGRADE_ENGINE_H

#include <stdio.h>

#include "upgrade/journal.h"
#include "upgrade/plan.h"
#include "upgrade/upctx.h"

struct up_opts {
    struct plan_opts plan;
    int yes;
    int json;                  /* events as JSON lines */
    long smoke_timeout_s;      /* default 180 */
    long smoke_interval_ms;    /* default 1000 */
    long migrate_timeout_s;    /* default 3600 */
    long observe_s;            /* default 30 */
    const char *checks_dir;    /* operator checks, or NULL */
    const char *admin_email;
    char *admin_password;      /* secret, owned by the caller */
    const char *switch_command;/* --switch external */
    const char *public_url;    /* --switch external: where to confirm the target answers */
    int blue_standby;          /* blue's api and gui keep running after done, for a fast rollback */
    const char *stop_after;    /* test hook: stop (as if killed) once this phase began */
};

enum up_outcome {
    UP_DONE = 0,
    UP_FAILED_ROLLED_BACK,
    UP_FAILED_ATTENTION,
    UP_INTERRUPTED,
    UP_REFUSED,
    UP_DAEMON_LOST,          /* the daemon went away: journaled as interrupted */
};

struct engine {
    struct upctx *u;
    const struct up_opts *o;
    struct journal j;
    struct plan plan;
    FILE *out;
    char *upgrade_dir;        /* <stack dir>/upgrades/<id> */
    long t0_ms;
    int daemon_restarted;     /* a phase saw the daemon start containers again */
};

/* Starts a new upgrade (takes the lock, writes the journal, runs every phase). */
enum up_outcome upgrade_start(struct upctx *u, const struct up_opts *o, FILE *out, struct tu_err *err);
/* Continues the journaled upgrade from its last completed phase. */
enum up_outcome upgrade_resume(struct upctx *u, const struct up_opts *o, FILE *out, struct tu_err *err);
/* Rolls the journaled upgrade back (before or after done, never after finalize). */
int upgrade_rollback(struct upctx *u, const struct up_opts *o, FILE *out, struct tu_err *err);

/* Documents the new release wrote since traffic reached it (-1 when unknown). */
long long upgrade_written_since_switch(struct upctx *u, json_t *journal_doc);

/* Appends a record to the stack's history file. */
int history_append(const struct upctx *u, json_t *record, struct tu_err *err);

#endif
