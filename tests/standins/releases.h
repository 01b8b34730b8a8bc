/* releases.h - what each Tracardi release calls its indices, aliases, templates and migrations */
#ifndef STANDIN_RELEASES_H
#define STANDIN_RELEASES_H

#include <stddef.h>

enum idx_kind { IK_SINGLE, IK_MULTI, IK_STATIC };

struct index_def {
	const char *name;        /* e.g. "tracardi-event" */
	enum idx_kind kind;
	const char *partition;   /* multi only: "month", "quarter" or "year" */
};

struct plan_entry {
	const char *from;
	const char *to;
	int multi;
	const char *worker;      /* "reindex", "reindex_to_one_index" or "copy_to_mysql" */
	const char *param;       /* partitioning for reindex_to_one_index, table for copy_to_mysql */
	int is_static;           /* the source is a static- index (0.9's plan: "static": true) */
	int sync;                /* "asynchronous": false (0.9's log, session, event, entity reindexes) */
};

struct migration_def {
	const char *from_db;               /* e.g. "08x" */
	const struct plan_entry *entries;
	size_t n;
	int production_copy;               /* the plan lists every entry again with production set */
	const char *file;                  /* the release's schema file ("08x_to_082x"), or NULL */
	int partitions_unmatched;          /* the plan matches no partition (0.8.2: facts 34) */
};

struct release {
	const char *version;
	const char *db_version;
	const struct index_def *indices;
	size_t nindices;
	const struct migration_def *migrations;
	size_t nmigrations;
	int v082;           /* GET /, installed{}, DELETE /indices, pydantic 2 error shapes */
	int v09;            /* MySQL, /migration/elasticsearch, version in the alias, huey queue */
	int needs_worker;   /* migrations are queued for the update-worker (0.8.1 on) */
};

const struct release *release_find(const char *version);
/* True when the index takes ELASTIC_INDEX_SHARDS, false for ELASTIC_CONF_INDEX_SHARDS. */
int idx_data_shards(const struct release *rel, const char *name);
/* Comma-separated list of the releases played, for messages. */
const char *release_names(void);

/* Per-process naming context: the release, its tenant and the partition date. */
struct naming {
	const struct release *rel;
	char prefix[16];     /* db_version without dots */
	char tenant[64];
	int year, month;
};

/* Fills from the environment (TENANT_NAME or, for 0.8.0, INSTANCE_PREFIX; STANDIN_DATE=YYYY-MM). */
void naming_init(struct naming *nm, const struct release *rel);
/* Partition suffix for a partitioning: "2024-3", "2024-q1" or "2024-year". */
void partition_suffix(const struct naming *nm, const char *partition, char *out, size_t n);

/* Names below are the caller's to free. */
char *idx_write_name(const struct naming *nm, const struct index_def *d, int production);
char *idx_alias_name(const struct naming *nm, const struct index_def *d, int production);
char *idx_template_name(const struct naming *nm, const struct index_def *d, int production);
char *idx_template_pattern(const struct naming *nm, const struct index_def *d, int production);
const struct index_def *idx_by_name(const struct release *rel, const char *name);

/* Where this release keeps tasks and users: a Tracardi index up to 0.8.2, a table from 0.9. */
char *task_index_name(const struct naming *nm, int production);
char *user_index_name(const struct naming *nm);
/* Hidden index standing in for a MySQL table of 0.9+. */
char *mysql_table_index(const struct naming *nm, const char *table, int production);

/* Writes the schema files of the release's migrations that name one into dir (the
 * stand-in's own rendering of its plan tables: ids, copy_index, worker, params). */
void release_write_schemas(const struct release *rel, const char *dir);

#define RUNS_INDEX ".standin-migration-runs"
/* each migration POST the api took, with the x-context it was given */
#define POSTS_INDEX ".standin-migration-posts"

#endif
