/* es_store.h - the Elasticsearch stand-in's state: indices, aliases, documents, templates, settings */
#ifndef STANDIN_ES_STORE_H
#define STANDIN_ES_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <jansson.h>

struct es_index {
	char *name;
	char uuid[23];
	long long created_ms;
	int shards;
	int replicas;
	int hidden;
	json_t *settings;   /* extra index settings given at creation, nested under "index" */
	json_t *mappings;
	json_t *aliases;    /* alias name -> alias properties */
	json_t *docs;       /* id -> {"v": version, "q": seq_no, "s": source} */
	long long seq;
	long long bytes;    /* approximate stored source size */
};

struct es_task {
	long num;
	int completed;
	int cancelled;      /* POST _tasks/{id}/_cancel: the copy stops after its current batch */
	long long start_ms;
	char description[512];
	json_t *status;     /* reindex status counters */
	json_t *response;   /* set when completed */
	struct es_task *next;
};

struct es_store {
	pthread_mutex_t lock;
	struct es_index **idx;
	size_t n, cap;
	json_t *templates;   /* name -> composable template body */
	json_t *persistent;  /* flat cluster settings */
	json_t *transient;   /* flat cluster settings; lost on restart, as in a real full restart */
	char cluster_uuid[23];
	char node_id[23];
	char node_name[64];
	char *state_path;
	long task_seq;
	struct es_task *tasks;
};

/* Loads state from dir (creating it empty when absent). Returns 0 or -1. */
int es_store_open(struct es_store *st, const char *dir);
/* Writes the state atomically (temp file, fsync, rename); call with the lock held. */
int es_store_save(struct es_store *st);

struct es_index *es_find(struct es_store *st, const char *name);
int es_is_alias(struct es_store *st, const char *name);
long es_open_shards(struct es_store *st);
long es_max_shards(struct es_store *st);

/* Error body in Elasticsearch's shape; extra (may be NULL, released) adds root-cause fields. */
json_t *es_error(int status, const char *type, const char *reason, json_t *extra);
json_t *es_index_not_found(const char *name);

/*
 * Resolves an index expression (comma list, wildcards, aliases, _all) to indices. The array
 * is the caller's to free; the indices are borrowed. Returns 0, or -1 with *err set (an
 * error body, status 404) when a concrete name does not exist and ignore_missing is 0.
 */
#define RESOLVE_HIDDEN 1      /* wildcards also match hidden indices */
#define RESOLVE_NO_ALIASES 2  /* wildcards match index names only, as index deletion does */
int es_resolve(struct es_store *st, const char *expr, int ignore_missing, int flags,
	       struct es_index ***out, size_t *n, json_t **err);

/*
 * Creates an index from a create-index body (may be NULL), applying matching templates and
 * the shard limit. Returns the index, or NULL with *err and *status set.
 */
struct es_index *es_create_index(struct es_store *st, const char *name, json_t *body,
				 json_t **err, int *status);
void es_delete_index(struct es_store *st, struct es_index *ix);

/* Index a document is written to for name (index or alias), auto-creating it. */
struct es_index *es_write_target(struct es_store *st, const char *name, json_t **err, int *status);

/*
 * Stores a document (id may be NULL for a generated one; src borrowed). op_create makes an
 * existing id a conflict. Returns 201 created, 200 updated or 409; fills the result fields.
 */
int es_doc_put(struct es_index *ix, const char *id, json_t *src, int op_create,
	       char *id_out, size_t id_len, long *version, long long *seq);
int es_doc_delete(struct es_index *ix, const char *id);

/* Does src match a query (match_all, term, terms, match, ids, exists, wildcard, bool)? */
int es_query_match(json_t *query, json_t *src, const char *id);

#endif
