/* engine_hooks.h - the operator hooks at the points of an upgrade, a rollback and a finalize, on the journal's facts. */
#ifndef TRACUP_UPGRADE_ENGINE_HOOKS_H
#define TRACUP_UPGRADE_ENGINE_HOOKS_H

#include "upgrade/engine.h"
#include "upgrade/hooks.h"
#include "upgrade/journal.h"

/* Runs point p's hooks with the facts of the upgrade in j (stack, versions, phase,
 * public URL, id, switch; result for post hooks), records every run in the journal
 * ("hooks") and the point as reached ("hook_points"), and appends the records to
 * runs when not NULL. veto: stop at the first failure (err says which). Returns
 * hooks_run's 0, 1 or -1. */
int journal_hooks_run(const struct hooks *h, struct journal *j, enum hook_point p, const char *result, int veto,
                      json_t *runs, struct tu_err *err);
/* True when the journal records that point p was reached (its hooks ran, or there were none). */
int journal_hook_reached(const struct journal *j, enum hook_point p);

/* Opens the engine's hooks: the directory and timeout the command resolved, else
 * (resume) the journaled run's, else the default. Returns 0 or -1 (err). */
int engine_hooks_open(struct engine *e, int resume, struct tu_err *err);
/* journal_hooks_run on the engine's journal; the records go into e->hook_runs. */
int engine_hook(struct engine *e, enum hook_point p, const char *result, int veto, struct tu_err *err);

#endif
