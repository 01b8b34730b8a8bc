/* es.h - the Elasticsearch REST calls tracup needs (7.x and 8.x), with caps. */
#ifndef TRACUP_ES_H
#define TRACUP_ES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define ES_DEFAULT_PORT 9200
#define ES_DEFAULT_TIMEOUT_MS 15000L
#define ES_BODY_MAX (1024 * 1024)              /* health, settings, count, delete */
#define ES_CAT_BODY_MAX (32 * 1024 * 1024)     /* _cat/indices: ~150 bytes a row */
#define ES_INDICES_MAX 100000
#define ES_DEFAULT_MAX_SHARDS_PER_NODE 1000L

/* Where an Elasticsearch answers and how to authenticate. Secrets (password,
 * api_key) are never printed; es_conn_free wipes them. */
struct es_conn {
    char *base;      /* "http[s]://host:port" (plus any path prefix), no userinfo, no trailing '/' */
    char *user;      /* basic auth, or NULL */
    char *password;  /* secret, or NULL */
    char *api_key;   /* secret "id:key" (or an already encoded key): Authorization: ApiKey base64 */
    char *ca_file;   /* CA bundle for https, or NULL */
    int insecure;    /* 1: TLS verification off (only when the stack itself turns it off) */
    long timeout_ms; /* per request */
    size_t max_body; /* cap on every answer; 0 means the per-call default */
};

/* Looks up an environment variable of the api container: its value (borrowed),
 * or NULL when unset. */
typedef const char *(*es_env_fn)(void *ud, const char *name);
/* Maps a host name as written in ELASTIC_HOST (e.g. the Docker DNS name
 * "elasticsearch") to the host to connect to (e.g. a container IP); returns a
 * borrowed string, or NULL to keep the name. */
typedef const char *(*es_resolve_fn)(void *ud, const char *host);

/* Builds the connection the way tracardi-api reads its environment:
 * ELASTIC_HOST (comma list, the first is used; default http://localhost:9200),
 * ELASTIC_SCHEME for hosts without one (default http), port 9200 when none,
 * userinfo in the URL as credentials (it wins over ELASTIC_HTTP_AUTH_*),
 * ELASTIC_HTTP_AUTH_USERNAME (default "elastic" when only the password is set)
 * and ELASTIC_HTTP_AUTH_PASSWORD, ELASTIC_API_KEY_ID + ELASTIC_API_KEY,
 * ELASTIC_CA_FILE, ELASTIC_VERIFY_CERTS (verification stays on unless it is
 * "no", "false" or "0"). resolve may be NULL; both callbacks get ud.
 * On success out holds owned strings (es_conn_free); on failure out is empty. */
int es_conn_from_env(struct es_conn *out, es_env_fn env, void *ud, es_resolve_fn resolve,
                     struct tu_err *err);
/* The same for one URL or "host[:port]" given by the operator (no resolver). */
int es_conn_from_url(struct es_conn *out, const char *url, struct tu_err *err);
/* Frees the strings, wiping the secrets; the struct is left zeroed. NULL is a no-op. */
void es_conn_free(struct es_conn *c);
/* A one-line description safe to print: "http://10.0.0.2:9200 (basic auth as 'elastic')".
 * The caller frees it. */
char *es_conn_describe(const struct es_conn *c);

struct es_health {
    char cluster_name[128];
    char status[16];   /* "green", "yellow", "red" */
    long number_of_nodes;
    long number_of_data_nodes;
    long active_primary_shards;
    long active_shards;
    long unassigned_shards;
};

/* GET /_cluster/health. */
int es_health(const struct es_conn *c, struct es_health *out, struct tu_err *err);

/* GET /_cluster/settings?include_defaults=true&flat_settings=true:
 * cluster.max_shards_per_node, transient over persistent over defaults,
 * ES_DEFAULT_MAX_SHARDS_PER_NODE when none says. source (may be NULL) gets a
 * static string: "transient", "persistent", "defaults" or "builtin". */
int es_max_shards_per_node(const struct es_conn *c, long *out, const char **source, struct tu_err *err);

struct es_index {
    char name[256];      /* Elasticsearch caps index names at 255 bytes */
    char health[16];     /* "green", "yellow", "red", or "" when unknown (closed) */
    char status[16];     /* "open" or "close" */
    long pri;
    long rep;
    int64_t docs_count;  /* -1 when unknown (closed index) */
    int64_t store_bytes; /* -1 when unknown */
};

/* GET /_cat/indices?format=json&bytes=b&expand_wildcards=all (hidden and
 * closed too). *out is an array of *n entries the caller frees with free();
 * NULL when there are none. More than ES_INDICES_MAX is an error. */
int es_indices(const struct es_conn *c, struct es_index **out, size_t *n, struct tu_err *err);

/* Shards the cluster.max_shards_per_node limit counts: pri * (1 + rep) over
 * open indices (closed ones do not count). */
int64_t es_shards_open(const struct es_index *v, size_t n);

/* GET /{index}/_count; index may be a pattern or a comma list. A missing
 * index is TU_ERR_NOT_FOUND. */
int es_count(const struct es_conn *c, const char *index, int64_t *out, struct tu_err *err);
/* es_count where an index Elasticsearch itself says does not exist (404 with
 * index_not_found_exception) holds 0 documents. Any other failure, a 404 from
 * something else (a proxy, a wrong path) included, is an error: never a zero. */
int es_count_or_absent(const struct es_conn *c, const char *index, int64_t *out, struct tu_err *err);

/* DELETE /{index}: one concrete name, never a pattern, a list or _all.
 * A missing index is TU_ERR_NOT_FOUND. */
int es_delete_index(const struct es_conn *c, const char *index, struct tu_err *err);

/* POST /_reindex?wait_for_completion=false copying index `from` into `to`, with a
 * painless script when script is not NULL or empty. *task (the caller frees) is
 * the task to follow with es_task_read. */
int es_reindex_start(const struct es_conn *c, const char *from, const char *to, const char *script, char **task,
                     struct tu_err *err);

struct es_task {
    int completed;
    int64_t total, done;   /* documents: to copy, created + updated so far */
    char error[400];       /* why it failed (the task's error or its first failure), or "" */
};
/* GET /_tasks/{task}. A task Elasticsearch no longer knows (it restarted) is
 * TU_ERR_NOT_FOUND. */
int es_task_read(const struct es_conn *c, const char *task, struct es_task *out, struct tu_err *err);

/* A reindex Elasticsearch runs now: its task id and the index it writes into. */
struct es_copy {
    char task[129];
    char dest[256];
};
/* GET /_tasks?actions=*reindex&detailed=true: the running reindex tasks (*out the
 * caller frees; NULL when none). Tasks whose description names no destination are
 * left out. */
int es_reindex_tasks(const struct es_conn *c, struct es_copy **out, size_t *n, struct tu_err *err);
/* POST /_tasks/{task}/_cancel. A task that ended meanwhile is TU_ERR_NOT_FOUND. */
int es_task_cancel(const struct es_conn *c, const char *task, struct tu_err *err);

/* GET /_alias/{alias}: *out maps each index carrying it to whether it is the alias's
 * write index (the caller's; empty when no index carries it). */
int es_alias_indices(const struct es_conn *c, const char *alias, json_t **out, struct tu_err *err);

#endif
