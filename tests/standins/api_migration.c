/* api_migration.c - the tracardi-api stand-in's migration endpoints: list, plan, start, recorded runs */
#include "api.h"
#include "hash.h"
#include "redis.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *queue_key(const struct release *rel)
{
	/* celery's default queue up to 0.8.2, huey's "upgrade" queue from 0.9 */
	return rel->v09 ? "huey.redis.upgrade" : "celery";
}

void api_migrations_list(struct api_ctx *api, struct http_resp *resp)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < api->rel->nmigrations; i++)
		json_array_append_new(arr, json_string(api->rel->migrations[i].from_db));
	resp_json(resp, 200, arr);
}

static const struct migration_def *find_migration(const struct release *rel, const char *from_db)
{
	for (size_t i = 0; i < rel->nmigrations; i++)
		if (strcmp(rel->migrations[i].from_db, from_db) == 0)
			return &rel->migrations[i];
	return NULL;
}

/* Is name base-YYYY-(M|MM|qN[|year])? On success *suffix points at "-YYYY-…". */
static int partition_match(const char *name, const char *base, int allow_year, const char **suffix)
{
	size_t bl = strlen(base);
	if (strncmp(name, base, bl) != 0 || name[bl] != '-')
		return 0;
	const char *p = name + bl + 1;
	for (int i = 0; i < 4; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	if (p[4] != '-')
		return 0;
	const char *t = p + 5;
	int ok = (isdigit((unsigned char)t[0]) && t[1] == '\0') ||
		 (isdigit((unsigned char)t[0]) && isdigit((unsigned char)t[1]) && t[2] == '\0') ||
		 (t[0] == 'q' && t[1] >= '1' && t[1] <= '4' && t[2] == '\0') ||
		 (allow_year && strcmp(t, "year") == 0);
	if (ok)
		*suffix = name + bl;
	return ok;
}

static json_t *schema_json(const struct api_ctx *api, const char *id, const char *from, const char *to,
			   const struct plan_entry *e, int production_flag)
{
	json_t *copy = json_pack("{s:s, s:s, s:b, s:b, s:n}", "from_index", from, "to_index", to, "multi", e->multi,
				 "production", production_flag, "script");
	if (api->rel->v09)
		json_object_set_new(copy, "static", json_boolean(e->is_static));
	json_t *params = json_object();
	if (strcmp(e->worker, "reindex_to_one_index") == 0) {
		json_object_set_new(params, "partitioning", json_string(e->param));
		json_object_set_new(params, "replace", json_string("(\\d{4}-\\d+)$"));
	} else if (strcmp(e->worker, "copy_to_mysql") == 0) {
		json_object_set_new(params, "mysql", json_string(e->param));
	}
	return json_pack("{s:s, s:o, s:s, s:b, s:b, s:o}", "id", id, "copy_index", copy, "worker", e->worker,
			 "asynchronous", !e->sync, "wait_for_completion", 0, "params", params);
}

/*
 * Builds the plan the way the release's migration manager does, from the indices that exist.
 * Returns {"warn", "schemas"} (caller releases), or NULL when Elasticsearch cannot be listed.
 */
static json_t *build_plan(struct api_ctx *api, const struct migration_def *mig, const char *from_tenant, int prod)
{
	long st;
	json_t *all = es_call(&api->es, "GET", "/_alias", NULL, &st);
	if (st != 200) {
		json_decref(all);
		return NULL;
	}
	json_t *schemas = json_array();
	for (int copy = 0; copy <= mig->production_copy; copy++) {
		/*
		 * 0.8.1 (tracardi migration_manager.py get_customized_schemas) takes each entry's own
		 * production flag for both sides and ignores the context: its plan file lists every
		 * entry for staging, then again with "production": true, under the same id for a
		 * single index. Later releases act on the request's context only.
		 */
		int side_prod = mig->production_copy ? copy : prod;
		const char *ctx = side_prod ? "prod-" : "";
		for (size_t k = 0; k < mig->n; k++) {
			const struct plan_entry *e = &mig->entries[k];
			char id[41];
			if (e->multi && mig->partitions_unmatched) {
				/* 0.8.2 (migration_manager.py _get_partitioned_indices): the f-string turns
				 * [0-9]{4}-([0-9]{1,2}|q[1-4]) into [0-9]4-([0-9](1, 2)|q[1-4]): no match */
				continue;
			}
			if (e->multi) {
				char *base = xasprintf("%s%s.%s.%s", ctx, mig->from_db, from_tenant, e->from);
				const char *index;
				json_t *v;
				json_object_foreach(all, index, v) {
					const char *suffix;
					if (!partition_match(index, base, api->rel->v09, &suffix))
						continue;
					char *to = xasprintf("%s%s.%s.%s%s", ctx, api->nm.prefix, api->nm.tenant, e->to, suffix);
					char *both = xasprintf("%s%s", index, to);
					sha1_hex(both, strlen(both), id);
					json_array_append_new(schemas, schema_json(api, id, index, to, e, side_prod));
					free(both);
					free(to);
				}
				free(base);
				continue;
			}
			/* 0.9 (migration_manager.py _get_static_indices): "static-{version}.{tenant}.{index}",
			 * the same in both contexts */
			char *from = xasprintf("%s%s.%s.%s", e->is_static ? "static-" : ctx, mig->from_db, from_tenant, e->from);
			if (!json_object_get(all, from)) {
				logmsg("plan: no index '%s'; its migration is skipped", from);
				free(from);
				continue;
			}
			char *to = strcmp(e->worker, "copy_to_mysql") == 0 ? xasprintf("Table: %s", e->param)
				   : xasprintf("%s%s.%s.%s", ctx, api->nm.prefix, api->nm.tenant, e->to);
			/* the plan file's id: one per entry, shared by its staging and production rows */
			char *seed = xasprintf("%s>%s#%zu", e->from, e->to, k);
			sha1_hex(seed, strlen(seed), id);
			json_array_append_new(schemas, schema_json(api, id, from, to, e, side_prod));
			free(seed);
			free(to);
			free(from);
		}
	}
	json_decref(all);
	int warn = 0;
	pthread_mutex_lock(&api->lock);
	size_t i;
	json_t *u;
	json_array_foreach(api->upgrades, i, u)
		if (strcmp(json_string_value(u), mig->from_db) == 0)
			warn = 1;
	pthread_mutex_unlock(&api->lock);
	return json_pack("{s:b, s:o}", "warn", warn, "schemas", schemas);
}

static void default_tenant(const char *from_db, char out[6])
{
	char md5[33];
	md5_hex(from_db, strlen(from_db), md5);
	snprintf(out, 6, "%.5s", md5);
}

static void not_found(struct api_ctx *api, struct http_resp *resp, const char *from_db)
{
	char msg[200];
	snprintf(msg, sizeof msg, "No migration from %s to %s is known.", from_db, api->nm.prefix);
	api_detail(resp, 404, msg);
}

void api_migration_plan(struct api_ctx *api, const struct http_req *req, struct http_resp *resp, const char *from_db)
{
	const struct migration_def *mig = find_migration(api->rel, from_db);
	if (!mig) {
		not_found(api, resp, from_db);
		return;
	}
	char *tenant = http_query(req, "from_tenant_name");
	char def[6];
	if (!tenant) {
		default_tenant(from_db, def);
		tenant = xstrdup(def);
	}
	json_t *plan = build_plan(api, mig, tenant, api_production(api, req));
	free(tenant);
	if (!plan) {
		resp_text(resp, 500, "text/plain; charset=utf-8", "Internal Server Error");
		return;
	}
	resp_json(resp, 200, plan);
}

void api_migration_start(struct api_ctx *api, const struct http_req *req, struct http_resp *resp)
{
	json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
	const char *missing[3];
	int nm = 0;
	if (!json_is_string(json_object_get(body, "from_version")))
		missing[nm++] = "from_version";
	if (!json_is_array(json_object_get(body, "ids")))
		missing[nm++] = "ids";
	missing[nm] = NULL;
	if (nm) {
		json_decref(body);
		api_missing(api, resp, "body", missing);
		return;
	}
	const char *from_db = json_string_value(json_object_get(body, "from_version"));
	const struct migration_def *mig = find_migration(api->rel, from_db);
	if (!mig) {
		not_found(api, resp, from_db);
		json_decref(body);
		return;
	}
	from_db = mig->from_db;  /* outlives the request body */
	char def[6];
	const char *from_tenant = json_string_value(json_object_get(body, "from_tenant_name"));
	if (!from_tenant) {
		default_tenant(from_db, def);
		from_tenant = def;
	}
	int prod = api_production(api, req);
	/* what the caller said, kept for tests that check tracup names the context it means
	 * (GET /standin/migrations, "posts") */
	const char *xc = http_header(req, "x-context");
	const char *said = !xc ? "absent" : strcmp(xc, "staging") == 0 ? "staging"
			 : strcmp(xc, "production") == 0 ? "production" : "other";
	logmsg("migration POST from %s: x-context %s", from_db, said);
	{
		long pst;
		json_t *post = json_pack("{s:s, s:s, s:s, s:s}", "to_db_version", api->nm.prefix, "to_tenant",
					 api->nm.tenant, "from_version", from_db, "x_context", said);
		json_decref(es_call(&api->es, "POST", "/" POSTS_INDEX "/_doc", post, &pst));
		json_decref(post);
	}
	json_t *plan = build_plan(api, mig, from_tenant, prod);
	if (!plan) {
		json_decref(body);
		resp_text(resp, 500, "text/plain; charset=utf-8", "Internal Server Error");
		return;
	}
	json_t *chosen = json_array();
	size_t i, k;
	json_t *s, *want;
	json_array_foreach(json_object_get(plan, "schemas"), i, s)
		json_array_foreach(json_object_get(body, "ids"), k, want)
			if (json_is_string(want) && strcmp(json_string_value(want), json_string_value(json_object_get(s, "id"))) == 0) {
				json_array_append(chosen, s);
				break;
			}
	json_decref(plan);
	if (json_array_size(chosen) == 0) {
		/* nothing selected: the real API returns without queueing anything */
		json_decref(chosen);
		json_decref(body);
		resp_json(resp, 200, json_null());
		return;
	}
	char jid[37];
	random_uuid(jid);
	char *elastic = es_conn_url_with_auth(&api->es);
	char *task_index = task_index_name(&api->nm, prod);
	json_t *job = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "standin_job", "migration",
				"id", jid, "release", api->rel->version, "db_version", api->nm.prefix,
				"tenant", api->nm.tenant, "context", prod ? "production" : "staging",
				"from_version", from_db, "from_tenant_name", from_tenant, "elastic", elastic,
				"task_index", task_index, "schemas", chosen);
	free(elastic);
	free(task_index);
	json_decref(body);

	{
		/* every release queues the job for its worker (0.8.0 too: tracardi-api
		 * migration_endpoint.py hands it to Celery with .delay) */
		char *text = json_dumps(job, JSON_COMPACT);
		json_decref(job);
		char err[300];
		struct redis r;
		struct redis_reply rep;
		const char *push[] = { "RPUSH", queue_key(api->rel), text };
		r.fd = -1;
		int ok = redis_connect(&r, api->redis_addr, api->redis_password, err, sizeof err) == 0 &&
			 redis_cmd(&r, &rep, 3, push) == 0 && rep.type == R_INT;
		if (r.fd >= 0) {
			redis_reply_free(&rep);
			redis_close(&r);
		}
		free(text);
		if (!ok) {
			logmsg("error: migration job not queued: redis unreachable");
			resp_text(resp, 500, "text/plain; charset=utf-8", "Internal Server Error");
			return;
		}
		logmsg("migration job %s from %s queued on '%s' for the worker", jid, from_db, queue_key(api->rel));
	}
	pthread_mutex_lock(&api->lock);
	int seen = 0;
	json_t *u;
	json_array_foreach(api->upgrades, i, u)
		seen |= strcmp(json_string_value(u), from_db) == 0;
	if (!seen)
		json_array_append_new(api->upgrades, json_string(from_db));
	pthread_mutex_unlock(&api->lock);
	/* 0.8.x answers the queued task's id; 0.9 answers nothing */
	resp_json(resp, 200, api->rel->v09 ? json_null() : json_string(jid));
}

void api_standin_runs(struct api_ctx *api, struct http_resp *resp)
{
	long st;
	json_t *q = json_pack("{s:{s:{s:[{s:{s:s}}, {s:{s:s}}]}}, s:i}", "query", "bool", "must", "term", "to_db_version",
			      api->nm.prefix, "term", "to_tenant", api->nm.tenant, "size", 10000);
	json_t *res = es_call(&api->es, "POST", "/" RUNS_INDEX "/_search", q, &st);
	json_decref(q);
	if (st != 200 && st != 404) {
		json_decref(res);
		resp_text(resp, 500, "text/plain; charset=utf-8", "Internal Server Error");
		return;
	}
	json_t *runs = json_array();
	size_t i;
	json_t *hit;
	json_array_foreach(json_dotted(res, "hits.hits"), i, hit) {
		json_t *src = json_object_get(hit, "_source");
		const char *from = json_string_value(json_object_get(src, "from_version"));
		const char *ctx = json_string_value(json_object_get(src, "context"));
		if (!from || !ctx)
			continue;
		json_t *found = NULL;
		size_t k;
		json_t *r;
		json_array_foreach(runs, k, r)
			if (strcmp(json_string_value(json_object_get(r, "from_version")), from) == 0 &&
			    strcmp(json_string_value(json_object_get(r, "context")), ctx) == 0)
				found = r;
		if (found)
			json_object_set_new(found, "count", json_integer(json_integer_value(json_object_get(found, "count")) + 1));
		else
			json_array_append_new(runs, json_pack("{s:s, s:s, s:i}", "from_version", from, "context", ctx, "count", 1));
	}
	json_decref(res);
	json_t *posts = json_array();
	q = json_pack("{s:{s:{s:[{s:{s:s}}, {s:{s:s}}]}}, s:i}", "query", "bool", "must", "term", "to_db_version",
		      api->nm.prefix, "term", "to_tenant", api->nm.tenant, "size", 10000);
	res = es_call(&api->es, "POST", "/" POSTS_INDEX "/_search", q, &st);
	json_decref(q);
	json_array_foreach(json_dotted(res, "hits.hits"), i, hit) {
		json_t *src = json_object_get(hit, "_source");
		json_array_append_new(posts, json_pack("{s:O?, s:O?}", "from_version", json_object_get(src, "from_version"),
						       "x_context", json_object_get(src, "x_context")));
	}
	json_decref(res);
	resp_json(resp, 200, json_pack("{s:o, s:o}", "runs", runs, "posts", posts));
}
