/* es_ops.c - the Elasticsearch stand-in's document APIs: _doc, _search, _count, _bulk, _reindex, _tasks */
#include "es.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REINDEX_BATCH_PAUSE_MS 50

static json_t *shards_json(const struct es_index *ix)
{
	return json_pack("{s:i, s:i, s:i}", "total", 1 + ix->replicas, "successful", 1, "failed", 0);
}

static json_t *write_result(const struct es_index *ix, const char *id, long version, long long seq, int status)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:o, s:I, s:i}", "_index", ix->name, "_type", "_doc",
			 "_id", id, "_version", (int)version, "result", status == 201 ? "created" : "updated",
			 "_shards", shards_json(ix), "_seq_no", (json_int_t)seq, "_primary_term", 1);
}

static json_t *conflict_error(const struct es_index *ix, const char *id)
{
	char reason[600];
	json_t *old = json_object_get(ix->docs, id);
	snprintf(reason, sizeof reason, "[%s]: version conflict, document already exists (current version [%d])",
		 id, (int)json_integer_value(json_object_get(old, "v")));
	return es_error(409, "version_conflict_engine_exception", reason,
			json_pack("{s:s, s:s, s:s}", "index_uuid", ix->uuid, "shard", "0", "index", ix->name));
}

void es_doc_route(struct es_ctx *es, const struct http_req *req, struct http_resp *resp,
		  const char *index, const char *op, const char *id)
{
	const char *m = req->method;
	json_t *err = NULL;
	int status;

	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
		if (!id || strcmp(op, "_doc") != 0) {
			es_send_error(resp, es_error(400, "illegal_argument_exception", "document id is required", NULL));
			return;
		}
		struct es_index **list;
		size_t n;
		if (es_resolve(&es->st, index, 0, RESOLVE_HIDDEN, &list, &n, &err) < 0) {
			es_send_error(resp, err);
			return;
		}
		struct es_index *ix = n ? list[0] : NULL;
		free(list);
		json_t *d = ix ? json_object_get(ix->docs, id) : NULL;
		if (!d) {
			resp_json(resp, 404, json_pack("{s:s, s:s, s:s, s:b}", "_index", ix ? ix->name : index,
						       "_type", "_doc", "_id", id, "found", 0));
			return;
		}
		resp_json(resp, 200, json_pack("{s:s, s:s, s:s, s:O, s:O, s:i, s:b, s:O}", "_index", ix->name,
					       "_type", "_doc", "_id", id, "_version", json_object_get(d, "v"),
					       "_seq_no", json_object_get(d, "q"), "_primary_term", 1, "found", 1,
					       "_source", json_object_get(d, "s")));
		return;
	}
	if (strcmp(m, "DELETE") == 0) {
		struct es_index *ix = es_find(&es->st, index);
		if (!ix || !id) {
			es_send_error(resp, es_index_not_found(index));
			return;
		}
		int rc = es_doc_delete(ix, id);
		es_store_save(&es->st);
		resp_json(resp, rc, json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:i}", "_index", ix->name, "_type", "_doc",
					      "_id", id, "result", rc == 200 ? "deleted" : "not_found",
					      "_shards", shards_json(ix), "_seq_no", (json_int_t)ix->seq, "_primary_term", 1));
		return;
	}
	if (strcmp(m, "PUT") != 0 && strcmp(m, "POST") != 0) {
		resp_json(resp, 405, json_pack("{s:s, s:i}", "error", "Incorrect HTTP method", "status", 405));
		return;
	}
	if (strcmp(m, "PUT") == 0 && !id) {
		resp_json(resp, 405, json_pack("{s:s, s:i}", "error",
					       "Incorrect HTTP method for uri and method [PUT], allowed: [POST]", "status", 405));
		return;
	}
	json_t *body = es_body_json(req, resp, 1);
	if (!body)
		return;
	struct es_index *ix = es_write_target(&es->st, index, &err, &status);
	if (!ix) {
		json_decref(body);
		es_send_error(resp, err);
		return;
	}
	char *op_type = http_query(req, "op_type");
	int create = strcmp(op, "_create") == 0 || (op_type && strcmp(op_type, "create") == 0);
	free(op_type);
	json_t *src = body;
	if (strcmp(op, "_update") == 0) {
		json_t *old = id ? json_object_get(ix->docs, id) : NULL;
		if (!old) {
			char reason[400];
			snprintf(reason, sizeof reason, "[%s]: document missing", id ? id : "");
			json_decref(body);
			es_send_error(resp, es_error(404, "document_missing_exception", reason,
						     json_pack("{s:s, s:s, s:s}", "index_uuid", ix->uuid, "shard", "0", "index", ix->name)));
			return;
		}
		src = json_deep_copy(json_object_get(old, "s"));
		if (json_is_object(json_object_get(body, "doc")))
			json_object_update(src, json_object_get(body, "doc"));
		json_decref(body);
	}
	char idbuf[512];
	long version;
	long long seq;
	int rc = es_doc_put(ix, id, src, create, idbuf, sizeof idbuf, &version, &seq);
	json_decref(src);
	if (rc == 409) {
		es_send_error(resp, conflict_error(ix, idbuf));
		return;
	}
	es_store_save(&es->st);
	resp_json(resp, rc, write_result(ix, idbuf, version, seq, rc));
}

/* "sort": [{"field": {"order": "desc"}} | {"field": "asc"} | "field"], the first key only:
 * strings (ISO dates among them) compare as text, numbers as numbers, missing values last. */
static const char *g_sort_field;
static int g_sort_desc;

static int hit_cmp(const void *pa, const void *pb)
{
	json_t *a = json_object_get(json_object_get(*(json_t *const *)pa, "_source"), g_sort_field);
	json_t *b = json_object_get(json_object_get(*(json_t *const *)pb, "_source"), g_sort_field);
	if (!a || !b)
		return a ? -1 : b ? 1 : 0;
	int c;
	if (json_is_number(a) && json_is_number(b))
		c = json_number_value(a) < json_number_value(b) ? -1 : json_number_value(a) > json_number_value(b);
	else if (json_is_string(a) && json_is_string(b))
		c = strcmp(json_string_value(a), json_string_value(b));
	else
		c = 0;
	return g_sort_desc ? -c : c;
}

static void sort_hits(json_t *hits, json_t *sort)
{
	json_t *first = json_is_array(sort) ? json_array_get(sort, 0) : sort;
	const char *field = NULL;
	int desc = 0;
	if (json_is_string(first)) {
		field = json_string_value(first);
	} else if (json_is_object(first) && json_object_size(first) > 0) {
		field = json_object_iter_key(json_object_iter(first));
		json_t *o = json_object_iter_value(json_object_iter(first));
		const char *order = json_is_string(o) ? json_string_value(o) : json_string_value(json_object_get(o, "order"));
		desc = order && strcmp(order, "desc") == 0;
	}
	size_t n = json_array_size(hits);
	if (!field || n < 2)
		return;
	json_t **v = xcalloc(n, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(hits, i));
	/* the stand-in serves one request at a time per thread; the comparator's state is
	 * guarded by the store's lock the caller holds */
	g_sort_field = field;
	g_sort_desc = desc;
	qsort(v, n, sizeof *v, hit_cmp);
	json_array_clear(hits);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(hits, v[i]);
	free(v);
}

void es_search(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *expr, int count_only)
{
	struct es_index **list;
	size_t n;
	json_t *err;
	json_t *body = es_body_json(req, resp, 0);
	if (!body)
		return;
	if (es_resolve(&es->st, expr, 0, 0, &list, &n, &err) < 0) {
		json_decref(body);
		es_send_error(resp, err);
		return;
	}
	long size = json_long_any(json_object_get(body, "size"), 10);
	long from = json_long_any(json_object_get(body, "from"), 0);
	char *qs = http_query(req, "size");
	char *qf = http_query(req, "from");
	long tmp;
	if (qs && parse_long(qs, &tmp) == 0)
		size = tmp;
	if (qf && parse_long(qf, &tmp) == 0)
		from = tmp;
	free(qs);
	free(qf);
	json_t *query = json_object_get(body, "query");
	json_t *all = json_array();
	long total = 0, shards = 0;
	for (size_t i = 0; i < n; i++) {
		const char *id;
		json_t *d;
		shards += list[i]->shards;
		json_object_foreach(list[i]->docs, id, d) {
			json_t *src = json_object_get(d, "s");
			if (!es_query_match(query, src, id))
				continue;
			if (!count_only)
				json_array_append_new(all, json_pack("{s:s, s:s, s:s, s:f, s:O}", "_index", list[i]->name,
								     "_type", "_doc", "_id", id, "_score", 1.0, "_source", src));
			total++;
		}
	}
	json_t *hits = json_array();
	if (!count_only) {
		sort_hits(all, json_object_get(body, "sort"));
		for (long k = from; k >= 0 && k < from + size && k < (long)json_array_size(all); k++)
			json_array_append(hits, json_array_get(all, (size_t)k));
	}
	json_decref(all);
	free(list);
	json_decref(body);
	json_t *sh = json_pack("{s:i, s:i, s:i, s:i}", "total", (int)shards, "successful", (int)shards, "skipped", 0, "failed", 0);
	if (count_only) {
		json_decref(hits);
		resp_json(resp, 200, json_pack("{s:I, s:o}", "count", (json_int_t)total, "_shards", sh));
		return;
	}
	json_t *max_score = json_array_size(hits) ? json_real(1.0) : json_null();
	resp_json(resp, 200, json_pack("{s:i, s:b, s:o, s:{s:{s:I, s:s}, s:o, s:o}}", "took", 1, "timed_out", 0,
				       "_shards", sh, "hits", "total", "value", (json_int_t)total, "relation", "eq",
				       "max_score", max_score, "hits", hits));
}

void es_bulk(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *default_index)
{
	json_t *items = json_array();
	int errors = 0;
	long long t0 = now_ms();
	const char *p = req->body;
	const char *end = req->body + req->body_len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *action = len ? json_loadb(p, len, 0, NULL) : NULL;
		p += len + (nl ? 1 : 0);
		if (!len)
			continue;
		const char *kind = action ? json_object_iter_key(json_object_iter(action)) : NULL;
		json_t *meta = kind ? json_object_iter_value(json_object_iter(action)) : NULL;
		if (!kind || !json_is_object(meta)) {
			json_decref(action);
			json_decref(items);
			es_send_error(resp, es_error(400, "illegal_argument_exception", "Malformed action/metadata line", NULL));
			return;
		}
		json_t *doc = NULL;
		if (strcmp(kind, "delete") != 0) {
			const char *nl2 = p < end ? memchr(p, '\n', (size_t)(end - p)) : NULL;
			size_t len2 = p < end ? (nl2 ? (size_t)(nl2 - p) : (size_t)(end - p)) : 0;
			doc = len2 ? json_loadb(p, len2, 0, NULL) : NULL;
			p += len2 + (nl2 ? 1 : 0);
			if (!json_is_object(doc)) {
				json_decref(doc);
				json_decref(action);
				json_decref(items);
				es_send_error(resp, es_error(400, "illegal_argument_exception",
							     "The bulk request must be terminated by a newline [\\n]", NULL));
				return;
			}
		}
		const char *index = json_string_value(json_object_get(meta, "_index"));
		const char *id = json_string_value(json_object_get(meta, "_id"));
		if (!index)
			index = default_index;
		json_t *item;
		json_t *err = NULL;
		int status = 400;
		struct es_index *ix = index ? es_write_target(&es->st, index, &err, &status) : NULL;
		if (!ix) {
			if (!err)
				err = es_error(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;", NULL);
			item = json_pack("{s:s, s:s, s:s, s:O, s:O}", "_index", index ? index : "", "_type", "_doc",
					 "_id", id ? id : "", "status", json_object_get(err, "status"),
					 "error", json_object_get(json_object_get(err, "error"), "root_cause") ?
					 json_array_get(json_object_get(json_object_get(err, "error"), "root_cause"), 0) : json_null());
			json_decref(err);
			errors = 1;
		} else if (strcmp(kind, "delete") == 0) {
			int rc = id ? es_doc_delete(ix, id) : 404;
			item = json_pack("{s:s, s:s, s:s, s:s, s:i}", "_index", ix->name, "_type", "_doc", "_id", id ? id : "",
					 "result", rc == 200 ? "deleted" : "not_found", "status", rc);
		} else {
			char idbuf[512];
			long version;
			long long seq;
			json_t *src = doc;
			if (strcmp(kind, "update") == 0) {
				json_t *old = id ? json_object_get(ix->docs, id) : NULL;
				src = old ? json_deep_copy(json_object_get(old, "s")) : json_object();
				if (json_is_object(json_object_get(doc, "doc")))
					json_object_update(src, json_object_get(doc, "doc"));
			} else {
				json_incref(src);
			}
			int rc = es_doc_put(ix, id, src, strcmp(kind, "create") == 0, idbuf, sizeof idbuf, &version, &seq);
			json_decref(src);
			if (rc == 409) {
				json_t *ce = conflict_error(ix, idbuf);
				item = json_pack("{s:s, s:s, s:s, s:i, s:O}", "_index", ix->name, "_type", "_doc", "_id", idbuf,
						 "status", 409, "error",
						 json_array_get(json_object_get(json_object_get(ce, "error"), "root_cause"), 0));
				json_decref(ce);
				errors = 1;
			} else {
				item = write_result(ix, idbuf, version, seq, rc);
				json_object_set_new(item, "status", json_integer(rc));
			}
		}
		json_array_append_new(items, json_pack("{s:o}", kind, item));
		json_decref(doc);
		json_decref(action);
	}
	es_store_save(&es->st);
	resp_json(resp, 200, json_pack("{s:I, s:b, s:o}", "took", (json_int_t)(now_ms() - t0), "errors", errors, "items", items));
}

/* --- _reindex and _tasks --------------------------------------------------------------- */

struct reindex_job {
	struct es_ctx *es;
	struct es_task *task;     /* NULL when synchronous */
	char *dest;
	json_t *docs;             /* [[id, source], …] snapshot taken at the start */
	long batch;
	int op_create;
	int proceed_on_conflict;
	long long start_ms;
	json_t *failures;
};

static json_t *new_status(long total)
{
	return json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:{s:i, s:i}, s:i, s:f, s:i}", "total", (json_int_t)total,
			 "updated", 0, "created", 0, "deleted", 0, "batches", 0, "version_conflicts", 0, "noops", 0,
			 "retries", "bulk", 0, "search", 0, "throttled_millis", 0, "requests_per_second", -1.0,
			 "throttled_until_millis", 0);
}

static void bump(json_t *status, const char *key, long by)
{
	json_object_set_new(status, key, json_integer(json_integer_value(json_object_get(status, key)) + by));
}

/* Copies one batch starting at *pos; call with the lock held. Returns -1 on a fatal error. */
static int reindex_batch(struct reindex_job *job, json_t *status, size_t *pos)
{
	json_t *err = NULL;
	int st;
	struct es_index *ix = es_write_target(&job->es->st, job->dest, &err, &st);
	if (!ix) {
		json_array_append(job->failures, json_object_get(err, "error"));
		json_decref(err);
		return -1;
	}
	size_t total = json_array_size(job->docs);
	size_t stop = *pos + (size_t)job->batch;
	for (; *pos < total && *pos < stop; (*pos)++) {
		json_t *pair = json_array_get(job->docs, *pos);
		char idbuf[512];
		long version;
		long long seq;
		const char *id = json_string_value(json_array_get(pair, 0));
		int rc = es_doc_put(ix, id, json_array_get(pair, 1), job->op_create, idbuf, sizeof idbuf, &version, &seq);
		if (rc == 409) {
			bump(status, "version_conflicts", 1);
			if (!job->proceed_on_conflict) {
				json_t *ce = conflict_error(ix, id);
				json_array_append_new(job->failures, json_pack("{s:s, s:s, s:O, s:i}", "index", ix->name,
					"id", id, "cause", json_object_get(ce, "error"), "status", 409));
				json_decref(ce);
				return -1;
			}
		} else {
			bump(status, rc == 201 ? "created" : "updated", 1);
		}
	}
	bump(status, "batches", 1);
	return 0;
}

static json_t *reindex_response(struct reindex_job *job, json_t *status)
{
	json_t *r = json_deep_copy(status);
	json_object_set_new(r, "took", json_integer(now_ms() - job->start_ms));
	json_object_set_new(r, "timed_out", json_false());
	json_object_set_new(r, "throttled", json_string("0s"));
	json_object_set_new(r, "throttled_until", json_string("0s"));
	json_object_set(r, "failures", job->failures);
	return r;
}

static void job_free(struct reindex_job *job)
{
	free(job->dest);
	json_decref(job->docs);
	json_decref(job->failures);
	free(job);
}

static void *reindex_thread(void *arg)
{
	struct reindex_job *job = arg;
	struct es_store *st = &job->es->st;
	size_t pos = 0;
	int failed = 0;
	while (!failed && !g_stop) {
		pthread_mutex_lock(&st->lock);
		int cancelled = job->task->cancelled;
		if (!cancelled)
			failed = reindex_batch(job, job->task->status, &pos) < 0;
		int done = pos >= json_array_size(job->docs);
		if (done || failed || cancelled) {
			job->task->response = reindex_response(job, job->task->status);
			/* a cancelled reindex ends with what it copied and says why (ES BulkByScrollResponse) */
			if (cancelled)
				json_object_set_new(job->task->response, "canceled", json_string("by user request"));
			job->task->completed = 1;
			es_store_save(st);
			pthread_mutex_unlock(&st->lock);
			break;
		}
		pthread_mutex_unlock(&st->lock);
		sleep_ms_interruptible(REINDEX_BATCH_PAUSE_MS);
	}
	job_free(job);
	return NULL;
}

void es_reindex(struct es_ctx *es, const struct http_req *req, struct http_resp *resp)
{
	json_t *body = es_body_json(req, resp, 1);
	if (!body)
		return;
	json_t *source = json_object_get(body, "source");
	json_t *dest = json_object_get(body, "dest");
	const char *dest_name = json_string_value(json_object_get(dest, "index"));
	json_t *src_index = json_object_get(source, "index");
	struct buf expr;
	buf_init(&expr, 0);
	if (json_is_string(src_index)) {
		buf_puts(&expr, json_string_value(src_index));
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(src_index, i, v)
			if (json_is_string(v))
				buf_printf(&expr, "%s%s", expr.len ? "," : "", json_string_value(v));
	}
	if (!expr.len || !dest_name) {
		buf_free(&expr);
		json_decref(body);
		es_send_error(resp, es_error(400, "action_request_validation_exception",
					     "Validation Failed: 1: use _all if you really want to copy from all existing indexes;", NULL));
		return;
	}
	struct es_index **list;
	size_t n;
	json_t *err;
	if (es_resolve(&es->st, expr.data, 0, RESOLVE_HIDDEN, &list, &n, &err) < 0) {
		buf_free(&expr);
		json_decref(body);
		es_send_error(resp, err);
		return;
	}
	long max_docs = json_long_any(json_object_get(body, "max_docs"), -1);
	if (max_docs < 0)
		max_docs = json_long_any(json_object_get(body, "size"), -1);
	json_t *query = json_object_get(source, "query");
	json_t *docs = json_array();
	for (size_t i = 0; i < n; i++) {
		const char *id;
		json_t *d;
		json_object_foreach(list[i]->docs, id, d) {
			if (max_docs >= 0 && (long)json_array_size(docs) >= max_docs)
				break;
			if (es_query_match(query, json_object_get(d, "s"), id))
				json_array_append_new(docs, json_pack("[s, O]", id, json_object_get(d, "s")));
		}
	}
	free(list);

	struct reindex_job *job = xcalloc(1, sizeof *job);
	job->es = es;
	job->dest = xstrdup(dest_name);
	job->docs = docs;
	job->batch = json_long_any(json_object_get(source, "size"), 1000);
	if (job->batch < 1)
		job->batch = 1000;
	const char *op_type = json_string_value(json_object_get(dest, "op_type"));
	job->op_create = op_type && strcmp(op_type, "create") == 0;
	const char *conflicts = json_string_value(json_object_get(body, "conflicts"));
	job->proceed_on_conflict = conflicts && strcmp(conflicts, "proceed") == 0;
	job->start_ms = now_ms();
	job->failures = json_array();

	char *wfc = http_query(req, "wait_for_completion");
	int async = wfc && strcmp(wfc, "false") == 0;
	free(wfc);
	if (async) {
		struct es_task *t = xcalloc(1, sizeof *t);
		t->num = ++es->st.task_seq + 1000;
		t->start_ms = job->start_ms;
		snprintf(t->description, sizeof t->description, "reindex from [%s] to [%s][_doc]", expr.data, dest_name);
		t->status = new_status((long)json_array_size(docs));
		t->next = es->st.tasks;
		es->st.tasks = t;
		job->task = t;
		pthread_t th;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, reindex_thread, job) != 0) {
			t->completed = 1;
			t->response = json_pack("{s:[s]}", "failures", "cannot start the reindex thread");
			job_free(job);
		}
		pthread_attr_destroy(&attr);
		char tid[64];
		snprintf(tid, sizeof tid, "%s:%ld", es->st.node_id, t->num);
		resp_json(resp, 200, json_pack("{s:s}", "task", tid));
	} else {
		json_t *status = new_status((long)json_array_size(docs));
		size_t pos = 0;
		while (pos < json_array_size(docs) && reindex_batch(job, status, &pos) == 0)
			;
		es_store_save(&es->st);
		resp_json(resp, 200, reindex_response(job, status));
		json_decref(status);
		job_free(job);
	}
	buf_free(&expr);
	json_decref(body);
}

/* The task a "node:number" id names, or NULL; a malformed id is answered 400 here (*sent). */
static struct es_task *task_by_id(struct es_ctx *es, struct http_resp *resp, const char *task_id, int *sent)
{
	const char *colon = strrchr(task_id, ':');
	long num;
	*sent = 0;
	if (!colon || parse_long(colon + 1, &num) < 0) {
		char reason[400];
		snprintf(reason, sizeof reason, "malformed task id %s", task_id);
		es_send_error(resp, es_error(400, "illegal_argument_exception", reason, NULL));
		*sent = 1;
		return NULL;
	}
	struct es_task *t = es->st.tasks;
	while (t && t->num != num)
		t = t->next;
	return t && strncmp(task_id, es->st.node_id, (size_t)(colon - task_id)) == 0 ? t : NULL;
}

static json_t *task_json(struct es_ctx *es, const struct es_task *t);

void es_task_get(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *task_id)
{
	int sent;
	(void)req;
	struct es_task *t = task_by_id(es, resp, task_id, &sent);
	if (!t) {
		if (!sent) {
			char reason[400];
			snprintf(reason, sizeof reason, "task [%s] isn't running and hasn't stored its results", task_id);
			es_send_error(resp, es_error(404, "resource_not_found_exception", reason, NULL));
		}
		return;
	}
	json_t *out = json_pack("{s:b, s:o}", "completed", t->completed, "task", task_json(es, t));
	if (t->completed && t->response)
		json_object_set(out, "response", t->response);
	resp_json(resp, 200, out);
}

static json_t *task_json(struct es_ctx *es, const struct es_task *t)
{
	return json_pack("{s:s, s:I, s:s, s:s, s:O, s:s, s:I, s:I, s:b, s:b, s:{}}", "node", es->st.node_id, "id",
			 (json_int_t)t->num, "type", "transport", "action", "indices:data/write/reindex", "status",
			 t->status, "description", t->description, "start_time_in_millis", (json_int_t)t->start_ms,
			 "running_time_in_nanos", (json_int_t)((now_ms() - t->start_ms) * 1000000LL), "cancellable", 1,
			 "cancelled", t->cancelled, "headers");
}

/* GET /_tasks[?actions=*reindex&detailed=true]: the tasks still running, by node (the
 * stand-in only runs reindex tasks, so any actions filter naming reindex keeps them all). */
void es_tasks_list(struct es_ctx *es, const struct http_req *req, struct http_resp *resp)
{
	char *actions = http_query(req, "actions");
	int keep = !actions || strstr(actions, "reindex") != NULL || strcmp(actions, "*") == 0;
	free(actions);
	json_t *tasks = json_object();
	for (struct es_task *t = es->st.tasks; keep && t; t = t->next) {
		if (t->completed)
			continue;
		char tid[64];
		snprintf(tid, sizeof tid, "%s:%ld", es->st.node_id, t->num);
		json_object_set_new(tasks, tid, task_json(es, t));
	}
	json_t *node = json_pack("{s:s, s:o}", "name", es->st.node_name, "tasks", tasks);
	json_t *nodes = json_object();
	json_object_set_new(nodes, es->st.node_id, node);
	resp_json(resp, 200, json_pack("{s:o}", "nodes", nodes));
}

/* POST /_tasks/{id}/_cancel */
void es_task_cancel(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *task_id)
{
	int sent;
	(void)req;
	struct es_task *t = task_by_id(es, resp, task_id, &sent);
	if (!t || t->completed) {
		if (!sent) {
			char reason[400];
			snprintf(reason, sizeof reason, "task [%s] is not running", task_id);
			es_send_error(resp, es_error(404, "resource_not_found_exception", reason, NULL));
		}
		return;
	}
	t->cancelled = 1;
	json_t *tasks = json_object();
	json_object_set_new(tasks, task_id, task_json(es, t));
	json_t *nodes = json_object();
	json_object_set_new(nodes, es->st.node_id, json_pack("{s:s, s:o}", "name", es->st.node_name, "tasks", tasks));
	resp_json(resp, 200, json_pack("{s:o}", "nodes", nodes));
}
