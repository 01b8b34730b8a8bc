/* worker.c - the update-worker stand-in: takes migration jobs from Redis and copies the data */
#include "api.h"
#include "celery.h"
#include "redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 500
#define POLL_MS 100
#define POLL_LIMIT 6000   /* ten minutes of polling one reindex task */

struct run {
	struct es_conn es;
	const char *task_index;
	const char *job_id;
	int v09;                /* tasks are MySQL rows (pending, running, finished, error) */
	struct redis *celery;   /* 0.8.x: Celery's result backend, or NULL when Redis is gone */
};

static void save_task(struct run *run, json_t *task)
{
	long st;
	char *path = xasprintf("/%s/_doc/%s", run->task_index, json_string_value(json_object_get(task, "id")));
	json_decref(es_call(&run->es, "PUT", path, task, &st));
	/* 0.8.x add_task logs a failed write at INFO and carries on; so does the stand-in */
	if (st != 200 && st != 201)
		logmsg("could not add task with ID %s (HTTP %ld)", json_string_value(json_object_get(task, "id")), st);
	free(path);
}

/*
 * A task's record as the release writes it when the job starts. 0.8.x (tracardi
 * worker/misc/add_task.py): status "PROGRESS", progress 0, id == task_id == the job's Celery
 * id, written once and never updated. 0.9 (worker/misc/task_progress.py task_create): a
 * MySQL row, status "pending", id == task_id (a uuid4), with a message column.
 */
static json_t *new_task(struct run *run, const char *id, const char *name, json_t *params)
{
	char ts[32];
	iso_time(ts, sizeof ts);
	json_t *t = json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:O, s:s}", "id", id, "name", name, "timestamp", ts,
			      "status", run->v09 ? "pending" : "PROGRESS", "type", "upgrade", "progress", 0.0,
			      "params", params ? params : json_null(), "task_id", id);
	if (run->v09)
		json_object_set_new(t, "message", json_null());
	else
		json_object_set_new(t, "event_type", json_string("missing"));
	save_task(run, t);
	return t;
}

/* 0.9 only: task_progress / task_finish / task_status update the row's columns. */
static void set_row(struct run *run, json_t *task, const char *status, double progress, const char *message)
{
	if (!run->v09)
		return;
	json_object_set_new(task, "status", json_string(status));
	if (progress >= 0)
		json_object_set_new(task, "progress", json_real(progress));
	if (message)
		json_object_set_new(task, "message", json_string(message));
	save_task(run, task);
}

/* 0.8.x only: Celery's state of a job (worker/misc/update_progress.py: PROGRESS with
 * {"current","total"}; SUCCESS with the function's None; FAILURE with the exception). */
static void set_celery(struct run *run, const char *id, const char *status, long current, long total)
{
	if (run->v09 || !run->celery)
		return;
	json_t *res = NULL;
	if (strcmp(status, "PROGRESS") == 0)
		res = json_pack("{s:I, s:I}", "current", (json_int_t)current, "total", (json_int_t)total);
	else if (strcmp(status, "FAILURE") == 0)
		res = json_pack("{s:s, s:[s], s:s}", "exc_type", "MigrationError", "exc_message",
				"Index could not be moved", "exc_module", "tracardi.worker.domain.migration_error");
	if (celery_meta_set(run->celery, id, status, res) < 0)
		logmsg("error: could not store the state of task %s in redis", id);
	json_decref(res);
}

/* Progress of one copy, the way the release reports it. */
static void progress(struct run *run, json_t *task, long done, long total)
{
	if (run->v09)
		set_row(run, task, "running", total > 0 ? 100.0 * (double)done / (double)total : 0, NULL);
	else
		set_celery(run, json_string_value(json_object_get(task, "id")), "PROGRESS", done, total);
}

static long count_docs(struct run *run, const char *index)
{
	long st;
	char *path = xasprintf("/%s/_count", index);
	json_t *r = es_call(&run->es, "GET", path, NULL, &st);
	long n = st == 200 ? (long)json_integer_value(json_object_get(r, "count")) : -1;
	json_decref(r);
	free(path);
	return n;
}

/* The real worker swaps the month partition for a quarter computed as (month % 4) + 1. */
static char *one_index_target(const struct naming *nm, const char *to)
{
	size_t len = strlen(to);
	size_t i = len;
	while (i > 0 && to[i - 1] >= '0' && to[i - 1] <= '9')
		i--;
	if (i == len || i < 6 || to[i - 1] != '-')
		return xstrdup(to);
	size_t y = i - 1;
	if (y < 4)
		return xstrdup(to);
	for (size_t k = y - 4; k < y; k++)
		if (to[k] < '0' || to[k] > '9')
			return xstrdup(to);
	return xasprintf("%.*s%d-q%d", (int)(y - 4), to, nm->year, (nm->month % 4) + 1);
}

/* First run: Elasticsearch's _reindex, as the real worker does, polled through _tasks. */
static int copy_reindex(struct run *run, json_t *task, const char *from, const char *to, long max_docs)
{
	long st;
	json_t *body = json_pack("{s:{s:s}, s:{s:s}}", "source", "index", from, "dest", "index", to);
	if (max_docs >= 0)
		json_object_set_new(body, "max_docs", json_integer(max_docs));
	json_t *r = es_call(&run->es, "POST", "/_reindex?wait_for_completion=false", body, &st);
	json_decref(body);
	const char *tid = json_string_value(json_object_get(r, "task"));
	if (st != 200 || !tid) {
		logmsg("error: reindex of '%s' not started (HTTP %ld)", from, st);
		json_decref(r);
		return -1;
	}
	char *path = xasprintf("/_tasks/%s", tid);
	json_decref(r);
	int rc = -1;
	for (int i = 0; i < POLL_LIMIT && !g_stop; i++) {
		json_t *t = es_call(&run->es, "GET", path, NULL, &st);
		if (st != 200) {
			json_decref(t);
			break;
		}
		json_t *status = json_dotted(t, "task.status");
		long total = (long)json_integer_value(json_object_get(status, "total"));
		long done = (long)(json_integer_value(json_object_get(status, "created")) +
				   json_integer_value(json_object_get(status, "updated")));
		if (json_is_true(json_object_get(t, "completed"))) {
			rc = json_array_size(json_dotted(t, "response.failures")) ? -1 : 0;
			json_decref(t);
			break;
		}
		if (total > 0)
			progress(run, task, done, total);
		json_decref(t);
		sleep_ms_interruptible(POLL_MS);
	}
	free(path);
	return rc;
}

/*
 * Later runs, and copies into MySQL tables: every document is written again under its own id.
 * A repeated migration overwrites what the new release changed since (tracardi issue #565:
 * _reindex keeps ids), so counts do not show it; the runs index does.
 */
/* 0.9's Task allows these statuses only (tracardi 0.9.0-dev tracardi/domain/task.py). */
static int valid_task_status(json_t *src)
{
	static const char *const ok[] = { "none", "pending", "running", "error", "finished", "cancelled", NULL };
	const char *st = json_string_value(json_object_get(src, "status"));
	for (size_t i = 0; st && ok[i]; i++)
		if (strcmp(st, ok[i]) == 0)
			return 1;
	return 0;
}

/*
 * bad (0.9 copy_to_mysql only): records that do not convert are not written and counted,
 * with the last one's error in bad_msg: a 0.8.x task document ("PROGRESS") into the task
 * table, or the first record when fail_first (fault switch migration-bad-record).
 */
static int copy_again(struct run *run, json_t *task, const char *from, const char *to, long max_docs, int keep_ids,
		      int validate_task, int fail_first, long *bad, char *bad_msg, size_t bad_cap)
{
	long st, copied = 0, seen = 0, total = count_docs(run, from);
	char *search = xasprintf("/%s/_search", from);
	for (long offset = 0; total > 0 && offset < total && !g_stop; offset += PAGE) {
		json_t *q = json_pack("{s:{s:{}}, s:i, s:I}", "query", "match_all", "size", PAGE, "from", (json_int_t)offset);
		json_t *res = es_call(&run->es, "POST", search, q, &st);
		json_decref(q);
		if (st != 200) {
			json_decref(res);
			free(search);
			return -1;
		}
		struct buf nd;
		buf_init(&nd, 0);
		size_t i;
		json_t *hit;
		json_array_foreach(json_dotted(res, "hits.hits"), i, hit) {
			if (max_docs >= 0 && copied >= max_docs)
				break;
			int first = seen++ == 0;
			if (bad && ((fail_first && first) || (validate_task && !valid_task_status(json_object_get(hit, "_source"))))) {
				(*bad)++;
				snprintf(bad_msg, bad_cap, "1 validation error for Task\nstatus\n  Value error, status '%s' "
					 "is not allowed", json_string_value(json_dotted(hit, "_source.status")) ?
					 json_string_value(json_dotted(hit, "_source.status")) : "?");
				continue;
			}
			json_t *meta = json_pack("{s:{s:s}}", "index", "_index", to);
			if (keep_ids)
				json_object_set(json_object_get(meta, "index"), "_id", json_object_get(hit, "_id"));
			char *m = json_dumps(meta, JSON_COMPACT);
			char *d = json_dumps(json_object_get(hit, "_source"), JSON_COMPACT);
			buf_printf(&nd, "%s\n%s\n", m, d);
			free(m);
			free(d);
			json_decref(meta);
			copied++;
		}
		json_decref(res);
		if (nd.len) {
			json_t *br = es_call_raw(&run->es, "POST", "/_bulk", "application/x-ndjson", nd.data, &st);
			int bulk_failed = st != 200 || json_is_true(json_object_get(br, "errors"));
			json_decref(br);
			if (bulk_failed) {
				buf_free(&nd);
				free(search);
				return -1;
			}
		}
		buf_free(&nd);
		progress(run, task, copied, total);
	}
	free(search);
	return 0;
}

static int record_run(struct run *run, const struct naming *nm, json_t *job, long *run_no)
{
	long st;
	const char *ctx = json_string_value(json_object_get(job, "context"));
	const char *from = json_string_value(json_object_get(job, "from_version"));
	const char *from_tenant = json_string_value(json_object_get(job, "from_tenant_name"));
	json_t *q = json_pack("{s:{s:{s:[{s:{s:s}}, {s:{s:s}}, {s:{s:s}}, {s:{s:s}}, {s:{s:s}}]}}}", "query", "bool",
			      "must", "term", "to_db_version", nm->prefix, "term", "to_tenant", nm->tenant, "term",
			      "from_version", from, "term", "from_tenant_name", from_tenant, "term", "context", ctx);
	json_t *r = es_call(&run->es, "POST", "/" RUNS_INDEX "/_count", q, &st);
	*run_no = (st == 200 ? (long)json_integer_value(json_object_get(r, "count")) : 0) + 1;
	json_decref(r);
	json_decref(q);
	char ts[32];
	iso_time(ts, sizeof ts);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "from_version", from,
				"from_tenant_name", from_tenant, "to_db_version", nm->prefix, "to_tenant", nm->tenant,
				"to_release", nm->rel->version, "context", ctx, "job_id", run->job_id,
				"run", (json_int_t)*run_no, "started", ts);
	json_decref(es_call(&run->es, "POST", "/" RUNS_INDEX "/_doc", doc, &st));
	json_decref(doc);
	return st == 200 || st == 201 ? 0 : -1;
}

/* Tables 0.9's copy_to_mysql has no class for: it logs a warning and returns, leaving the
 * task pending for ever (tracardi 0.9.0-dev migration_workers/copy_to_mysql.py class_mapping). */
static int unmapped_table(const char *table)
{
	static const char *const missing[] = { "segment", "live-segment", "events-tags", NULL };
	for (size_t i = 0; table && missing[i]; i++)
		if (strcmp(table, missing[i]) == 0)
			return 1;
	return 0;
}

/* One schema of the plan, as its run_migration_worker job does it. */
static void run_schema(struct run *run, const struct naming *nm, json_t *schema, const char *tid, int prod,
		       long run_no, int fail, int shorten, int bad_record)
{
	json_t *copy = json_object_get(schema, "copy_index");
	const char *from = json_string_value(json_object_get(copy, "from_index"));
	const char *to_plan = json_string_value(json_object_get(copy, "to_index"));
	const char *worker = json_string_value(json_object_get(schema, "worker"));
	int sql = worker && strcmp(worker, "copy_to_mysql") == 0;
	const char *table = json_string_value(json_dotted(schema, "params.mysql"));
	char *name = sql ? xasprintf("Migration of \"%s\" to mysql table \"%s\"", from ? from : "?", table ? table : "?")
			 : xasprintf("Migration of \"%s\"", from ? from : "?");
	json_t *task = new_task(run, tid, name, schema);
	free(name);
	if (sql && unmapped_table(table)) {
		logmsg("could not find class %s. Data not migrated.", table);
		json_decref(task);
		return;
	}
	if (fail) {
		logmsg("migration %s fails at '%s' (fault switch)", run->job_id, from ? from : "?");
		set_row(run, task, "error", -1, "Index could not be moved due to an error (fault switch)");
		set_celery(run, tid, "FAILURE", 0, 0);
		json_decref(task);
		return;
	}
	char *to;
	if (sql)
		to = mysql_table_index(nm, table, prod);
	else if (worker && strcmp(worker, "reindex_to_one_index") == 0)
		to = one_index_target(nm, to_plan);
	else
		to = xstrdup(to_plan ? to_plan : "");
	long total = from ? count_docs(run, from) : -1;
	long max_docs = shorten && total > 0 ? total - 1 : -1;
	long bad = 0;
	char bad_msg[200] = "";
	int rc;
	if (total < 0)
		rc = -1;
	else if (total == 0)
		rc = 0;
	else if (sql)
		rc = copy_again(run, task, from, to, max_docs, 1, table && strcmp(table, "task") == 0, bad_record, &bad,
				bad_msg, sizeof bad_msg);
	else if (run_no == 1)
		rc = copy_reindex(run, task, from, to, max_docs);
	else
		rc = copy_again(run, task, from, to, max_docs, 1, 0, 0, NULL, NULL, 0);
	if (rc == 0 && bad) {
		/* copy_to_mysql: a record that does not convert marks the row error with its message,
		 * the loop goes on, the next record sets running again, and the end sets finished. */
		logmsg("%ld record(s) of '%s' not copied: %s", bad, from ? from : "?", bad_msg);
		set_row(run, task, "error", -1, bad_msg);
		set_row(run, task, "running", 0, NULL);
	}
	logmsg("copied '%s' -> '%s': %s", from ? from : "?", to, rc == 0 ? "done" : "failed");
	if (rc == 0) {
		set_row(run, task, "finished", 100.0, NULL);
		set_celery(run, tid, "PROGRESS", 100, 100);
		set_celery(run, tid, "SUCCESS", 0, 0);
	} else {
		set_row(run, task, "error", -1, "Index could not be moved");
		set_celery(run, tid, "FAILURE", 0, 0);
	}
	json_decref(task);
	free(to);
}

/* The schema migration-fail breaks: on 0.9 the plan's asynchronous reindex (the profile
 * copy: an async copy that raises), elsewhere the one half-way. */
static size_t failing_schema(const struct run *run, json_t *schemas)
{
	size_t n = json_array_size(schemas);
	for (size_t i = 0; run->v09 && i < n; i++) {
		json_t *s = json_array_get(schemas, i);
		const char *w = json_string_value(json_object_get(s, "worker"));
		if (w && strcmp(w, "reindex") == 0 && json_is_true(json_object_get(s, "asynchronous")))
			return i;
	}
	return n / 2;
}

static void migration_attempt(const struct naming *nm, json_t *job, const char *fault, struct redis *celery,
			      int attempt);

void migration_run(const struct naming *nm, json_t *job, const char *fault, struct redis *celery)
{
	migration_attempt(nm, job, fault, celery, 1);
}

static void migration_attempt(const struct naming *nm, json_t *job, const char *fault, struct redis *celery,
			      int attempt)
{
	struct run run;
	memset(&run, 0, sizeof run);
	const char *elastic = json_string_value(json_object_get(job, "elastic"));
	if (elastic)
		es_conn_from_url(&run.es, elastic);
	else
		es_conn_from_env(&run.es);
	run.task_index = json_string_value(json_object_get(job, "task_index"));
	run.job_id = json_string_value(json_object_get(job, "id"));
	run.v09 = nm->rel->v09;
	run.celery = celery;
	int prod = strcmp(json_string_value(json_object_get(job, "context")), "production") == 0;
	int fail = fault && strcmp(fault, "migration-fail") == 0;
	int shorten = fault && strcmp(fault, "migration-short") == 0;
	int bad_record = fault && strcmp(fault, "migration-bad-record") == 0;
	json_t *schemas = json_object_get(job, "schemas");
	size_t n = json_array_size(schemas);
	long run_no;

	if (!run.task_index || !run.job_id) {
		logmsg("error: malformed migration job dropped");
		return;
	}
	record_run(&run, nm, job, &run_no);
	logmsg("migration %s from %s (%s), run %ld, %zu schemas", run.job_id,
	       json_string_value(json_object_get(job, "from_version")), prod ? "production" : "staging", run_no, n);
	/* 0.8.x: the orchestrator is the Celery job POST /migration answered; 0.9: a new uuid row. */
	char orch_id[37];
	if (run.v09)
		random_uuid(orch_id);
	else
		snprintf(orch_id, sizeof orch_id, "%s", run.job_id);
	set_celery(&run, orch_id, "PROGRESS", 0, (long)n);
	json_t *orch = new_task(&run, orch_id, "Migration plan orchestrator", NULL);
	/* 0.8.x: the orchestrator only enqueues one job per schema and ends SUCCESS at once
	 * (tracardi worker/celery_worker.py migrate_data); each job then runs on its own. */
	char (*ids)[37] = xcalloc(n ? n : 1, sizeof *ids);
	for (size_t i = 0; i < n; i++) {
		random_uuid(ids[i]);
		set_celery(&run, orch_id, "PROGRESS", (long)i + 1, (long)n);
	}
	set_celery(&run, orch_id, "SUCCESS", 0, 0);
	size_t broken = failing_schema(&run, schemas);
	int raised = 0;
	for (size_t i = 0; i < n && !g_stop; i++) {
		/* migration-fail: one schema fails; the others still run, as separate jobs do */
		json_t *schema = json_array_get(schemas, i);
		run_schema(&run, nm, schema, ids[i], prod, run_no, fail && i == broken, shorten, bad_record);
		/* 0.9 (worker.py migrate_data): a sync copy that raises is logged and the loop goes on;
		 * an async one raises out of asyncio.gather at the end */
		if (fail && i == broken && run.v09 && json_is_true(json_object_get(schema, "asynchronous")))
			raised = 1;
		/* 0.9: progress is int(done / total): 0 until the last schema, then 1 */
		set_row(&run, orch, "running", (double)((i + 1) / n), NULL);
	}
	if (raised) {
		/* gather raised: task_finish never runs, the orchestrator stays running, and huey runs the
		 * whole job once more (@queue.task(retries=1) run_migration_job) */
		json_decref(orch);
		free(ids);
		logmsg("migration %s: an asynchronous copy raised (attempt %d)%s", run.job_id, attempt,
		       attempt == 1 ? "; huey retries the job once" : "");
		if (attempt == 1 && !g_stop)
			migration_attempt(nm, job, fault, celery, 2);
		return;
	}
	set_row(&run, orch, "finished", 100.0, NULL);
	json_decref(orch);
	free(ids);
	logmsg("migration %s finished", run.job_id);
}

int worker_main(void)
{
	const char *version = env_or("STANDIN_VERSION", "0.8.2");
	const struct release *rel = release_find(version);
	if (!rel) {
		logmsg("error: unknown STANDIN_VERSION '%s'; known: %s", version, release_names());
		return 2;
	}
	struct naming nm;
	naming_init(&nm, rel);
	const char *addr = env_or("REDIS_HOST", "redis://localhost:6379");
	const char *pw = env_or("REDIS_PASSWORD", "");
	const char *fault = getenv("STANDIN_FAULT");
	const char *key = queue_key(rel);
	struct redis r;
	int connected = 0;
	logmsg("update-worker %s (db %s, tenant %s) waiting on '%s'", rel->version, nm.prefix, nm.tenant, key);
	while (!g_stop) {
		char err[300];
		if (!connected) {
			r.fd = -1;
			if (redis_connect(&r, addr, pw, err, sizeof err) < 0) {
				logmsg("waiting for redis: %s", err);
				sleep_ms_interruptible(1000);
				continue;
			}
			connected = 1;
		}
		struct redis_reply rep;
		const char *pop[] = { "BLPOP", key, "1" };
		if (redis_cmd(&r, &rep, 3, pop) < 0) {
			redis_reply_free(&rep);
			redis_close(&r);
			connected = 0;
			continue;
		}
		if (rep.type == R_ARRAY && rep.nelems == 2 && rep.elems[1].type == R_BULK) {
			json_t *job = json_loads(rep.elems[1].str, 0, NULL);
			const char *kind = json_string_value(json_object_get(job, "standin_job"));
			const char *db = json_string_value(json_object_get(job, "db_version"));
			const char *tenant = json_string_value(json_object_get(job, "tenant"));
			if (!kind || strcmp(kind, "migration") != 0) {
				logmsg("dropping a job this worker does not know");
			} else if (!db || !tenant || strcmp(db, nm.prefix) != 0 || strcmp(tenant, nm.tenant) != 0) {
				/* another release's job on a shared Redis: lost, as with tracardi issue #849 */
				logmsg("dropping job %s of release %s (db %s): this worker serves db %s",
				       json_string_value(json_object_get(job, "id")),
				       json_string_value(json_object_get(job, "release")), db ? db : "?", nm.prefix);
			} else {
				migration_run(&nm, job, fault, &r);
			}
			json_decref(job);
		}
		redis_reply_free(&rep);
	}
	if (connected)
		redis_close(&r);
	return 0;
}
