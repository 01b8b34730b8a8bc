/* migrate_tasks.h - following Tracardi's migration jobs: Celery's state on 0.8.x, task rows on 0.9. */
#ifndef TRACUP_UPGRADE_MIGRATE_TASKS_H
#define TRACUP_UPGRADE_MIGRATE_TASKS_H

#include <jansson.h>

#include "elastic/es.h"
#include "tracardi/api.h"
#include "upgrade/phases.h"
#include "util/err.h"

/* Records in mc (one context's migration record) the tasks that exist before its POST:
 * known_tasks, known_newest, known_cut. Returns 0 or -1 with err. */
int migrate_tasks_snapshot(struct tapi *a, const char *ctx, json_t *mc, struct tu_err *err);

/* Waits for the jobs of one context's migration of hop and fails (-1, err set) on any that
 * failed; PHASE_INTERRUPTED on a signal; 0 once every job ended well (or the counts are
 * left to decide, said on the way). */
int migrate_tasks_wait(struct engine *e, size_t hop, struct tapi *a, const struct es_conn *es, const char *ctx,
                       long deadline, struct tu_err *err);

#endif
