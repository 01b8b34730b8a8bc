/* migrate_own.h - what Tracardi's migration plan leaves out, and the partitions tracup copies itself. */
#ifndef TRACUP_UPGRADE_MIGRATE_OWN_H
#define TRACUP_UPGRADE_MIGRATE_OWN_H

#include <jansson.h>

#include "elastic/es.h"
#include "upgrade/phases.h"
#include "util/err.h"

/* The key under which a copy's documents are counted in the new release: the alias of
 * a partitioned family (partitions may be merged), else the index (the caller frees). */
char *migrate_count_key(const char *to_index, int multi, const char *worker);
/* Records index's count in `into` once: an index that does not exist holds nothing;
 * any other failure is an error (-1, err set), never a zero. */
int migrate_count_strict(const struct es_conn *es, const char *index, json_t *into, struct tu_err *err);

/* After both contexts' plans are read into mig (their "sources", and "to_sample": one
 * index the plan copies into): finds the old release's indices with documents that no
 * plan row copies. When the new release's plan is known to leave out every partition
 * (release_info.plan_schema_file), the partitions of families the release's own schema
 * file lists are planned as tracup's copies (mig.own.rows) and added to checks, before
 * and baseline like the plan's rows; a file that cannot be read or names a copy tracup
 * cannot make fails (-1, err set) before anything is copied. What is left is recorded as
 * mig.left_behind and said. */
int migrate_own_plan(struct engine *e, size_t hop, const struct es_conn *es, json_t *mig, json_t *checks,
                     json_t *before, json_t *baseline, struct tu_err *err);

/* Runs each planned copy not done yet (Elasticsearch's _reindex, followed through
 * _tasks; a task Elasticsearch forgot is started again) and records it done.
 * 0, -1 (err set) or PHASE_INTERRUPTED. */
int migrate_own_copy(struct engine *e, size_t hop, const struct es_conn *es, long deadline, struct tu_err *err);

#endif
