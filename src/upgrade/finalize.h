/* finalize.h - the irreversible end of an upgrade, and deleting orphan releases' indices. */
#ifndef TRACUP_UPGRADE_FINALIZE_H
#define TRACUP_UPGRADE_FINALIZE_H

#include <jansson.h>
#include <stdio.h>

#include "upgrade/upctx.h"

struct fin_opts {
    int delete_indices;        /* finalize: also delete the old release's indices */
    int keep_images;           /* releases whose images stay (default 2) */
    const char *admin_email;   /* the live release's admin, for its delete endpoint */
    const char *admin_password;/* secret, borrowed */
    const char *release;       /* prune: VERSION or DB_VERSION */
    const char *tenant;        /* prune: when several tenants share the db_version */
    const char *hooks_dir;     /* finalize: operator hooks, or NULL for the default */
    long hook_timeout_s;       /* 0: the default */
};

/* Shown to the operator before anything changes; returns non-zero to go on.
 * plan is what will be done (see finalize_run / prune_run). */
typedef int (*fin_confirm_fn)(void *ud, json_t *plan);

/* Outcome: 0 done, 1 cancelled (nothing changed), -1 failed (err). */

/* Ends the stack's done upgrade: removes the old release's containers (its Redis
 * too), the images of releases older than the kept ones, and with
 * delete_indices the old release's indices (the live api first, Elasticsearch for
 * the rest). The plan (containers, images, indices with documents and sizes) is
 * journaled before the first change, so a finalize cut short completes with the
 * same plan when run again. *result (the caller's) is the plan with what was done. */
int finalize_run(struct upctx *u, const struct fin_opts *o, fin_confirm_fn confirm, void *ud, json_t **result,
                 struct tu_err *err);

/* Deletes an orphan release's indices: never the live release, the rollback
 * target or the new release of an upgrade, nor one any container on the host
 * belongs to. Records every index and its documents in the history. */
int prune_run(struct upctx *u, const struct fin_opts *o, fin_confirm_fn confirm, void *ud, json_t **result,
              struct tu_err *err);

#endif
