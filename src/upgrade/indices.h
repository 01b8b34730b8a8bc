/* indices.h - the cluster's indices by Tracardi release: live, the way back, orphans, and the shard budget. */
#ifndef TRACUP_UPGRADE_INDICES_H
#define TRACUP_UPGRADE_INDICES_H

#include <jansson.h>
#include <stdint.h>

#include "elastic/es.h"
#include "elastic/indexname.h"
#include "upgrade/upctx.h"

/* What refers to a release's indices. */
enum {
    REL_LIVE = 1,       /* serves the traffic */
    REL_ROLLBACK = 2,   /* the kept old release of an upgrade not finalized */
    REL_UPGRADING = 4,  /* the new release of an upgrade under way */
    REL_CONTAINERS = 8, /* a container of that release exists on the host */
};

struct rel_ref {
    char db_version[16];
    char tenant[TINDEX_TENANT_MAX + 1];
    int uses;            /* REL_* bits */
    char container[128]; /* a container of it, or "" */
};

/* Groups the indices by release (db_version and tenant; staging, production and
 * static copies together), Tracardi's newest first, and the indices that are not
 * Tracardi's in one last group. Marks each group with the uses refs give it; a
 * Tracardi group nothing refers to is an orphan. No I/O. Returns (the caller's):
 * {"groups":[{release, db_version, tenant, tracardi, uses:[...], containers:[...],
 *   orphan, count, primary_shards, shards, docs, bytes,
 *   indices:[{index, status, pri, shards, docs, bytes}]}]}
 * where shards counts what the shard limit counts (open indices, with replicas). */
json_t *indices_group(const struct es_index *idx, size_t n, const struct rel_ref *refs, size_t nrefs);

/* Adds "budget" to doc: the limit (per_node x data_nodes), shards open and free,
 * what one more upgrade adds (per_upgrade), how many upgrades fit, and the
 * shards the orphans hold. */
void indices_budget(json_t *doc, long per_node, long data_nodes, int64_t per_upgrade);

/* The Tracardi group of db_version and tenant in doc (borrowed), or NULL. */
json_t *indices_find(json_t *doc, const char *db_version, const char *tenant);

/* Why the group's indices may not be deleted, written into why; NULL when they
 * may. Uses in `allowed` do not count. Indices that are not Tracardi's never may. */
const char *indices_guard(json_t *group, int allowed, char *why, size_t cap);

/* The refs of the stack's journal (journal_doc may be NULL) and of every
 * Tracardi container on the host (api and workers, any state). *out is the
 * caller's to free(); returns the count. */
size_t indices_host_refs(const struct upctx *u, json_t *journal_doc, struct rel_ref **out);

/* All of it for a stack: Elasticsearch as its api reaches it (health, settings,
 * indices), grouped and marked, with the budget and "elasticsearch":{url,
 * health, data_nodes}. es_out (may be NULL) receives the open connection. */
int indices_collect(const struct upctx *u, json_t *journal_doc, json_t **out, struct es_conn *es_out,
                    struct tu_err *err);

/* "0.8.0 (080.fa73a, 70 shards), 0.7.4 (…)" for the orphan groups (the caller
 * frees), or NULL when there are none. */
char *indices_orphans_text(json_t *doc);

#endif
