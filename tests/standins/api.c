/* api.c - the tracardi-api stand-in: info, install, login, tests, tasks and index deletion */
#include "api.h"
#include "hash.h"
#include "celery.h"
#include "redis.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define API_MAX_BODY (4 * 1024 * 1024)
#define TOKEN_TTL "1800"

enum route_id {
	RT_ROOT, RT_DETAILS, RT_VERSION, RT_HEALTH, RT_INSTALL_GET, RT_INSTALL_POST, RT_TOKEN,
	RT_TEST_ES, RT_TEST_REDIS, RT_MIGRATIONS, RT_MIGRATION_PLAN, RT_MIGRATION_POST, RT_TASKS,
	RT_DELETE_OLD, RT_DELETE_NEW, RT_STANDIN_RUNS, RT_TASK_STATUS
};

struct route {
	const char *method;
	const char *pattern;   /* "{x}" matches one path segment */
	enum route_id id;
	int min_v082;          /* -1 only before 0.8.2, 1 only from 0.8.2, 0 always */
	int min_v09;           /* same for 0.9 */
};

static const struct route routes[] = {
	{ "GET", "/", RT_ROOT, 1, 0 },
	{ "GET", "/info/version/details", RT_DETAILS, 0, 0 },
	{ "GET", "/info/version", RT_VERSION, 0, 0 },
	{ "GET", "/healthcheck", RT_HEALTH, 0, 0 },
	{ "GET", "/install", RT_INSTALL_GET, 0, 0 },
	{ "POST", "/install", RT_INSTALL_POST, 0, 0 },
	{ "POST", "/user/token", RT_TOKEN, 0, 0 },
	{ "GET", "/test/elasticsearch", RT_TEST_ES, 0, 0 },
	{ "GET", "/test/redis", RT_TEST_REDIS, 0, 0 },
	{ "GET", "/migrations", RT_MIGRATIONS, 0, 0 },
	{ "POST", "/migration", RT_MIGRATION_POST, 0, -1 },
	{ "POST", "/migration/elasticsearch", RT_MIGRATION_POST, 0, 1 },
	{ "GET", "/migration/{from}", RT_MIGRATION_PLAN, 0, 0 },
	{ "GET", "/tasks/type/{type}", RT_TASKS, 0, 0 },
	{ "GET", "/import/task/{id}/status", RT_TASK_STATUS, 0, 0 },
	{ "DELETE", "/indices/version/{version}", RT_DELETE_OLD, -1, 0 },
	{ "DELETE", "/indices", RT_DELETE_NEW, 1, 0 },
	{ "GET", "/standin/migrations", RT_STANDIN_RUNS, 0, 0 },
};

static const char *const ROLES_ADMIN[] = { "admin", NULL };
static const char *const ROLES_TEST[] = { "admin", "maintainer", "developer", NULL };
static const char *const ROLES_MIGRATION_09[] = { "admin", "maintainer", NULL };
static const char *const ROLES_TASKS[] = { "admin", "developer", NULL };

void api_detail(struct http_resp *resp, int status, const char *detail)
{
	resp_json(resp, status, json_pack("{s:s}", "detail", detail));
}

void api_missing(const struct api_ctx *api, struct http_resp *resp, const char *where, const char *const *names)
{
	json_t *arr = json_array();
	for (; *names; names++) {
		if (api->rel->v082)
			json_array_append_new(arr, json_pack("{s:s, s:[s,s], s:s, s:n}", "type", "missing", "loc", where,
							     *names, "msg", "Field required", "input"));
		else
			json_array_append_new(arr, json_pack("{s:[s,s], s:s, s:s}", "loc", where, *names,
							     "msg", "field required", "type", "value_error.missing"));
	}
	resp_json(resp, 422, json_pack("{s:o}", "detail", arr));
}

void api_internal_error(struct http_resp *resp, const char *why)
{
	logmsg("error: %s", why);
	resp_text(resp, 500, "text/plain; charset=utf-8", "Internal Server Error");
}

int api_production(const struct api_ctx *api, const struct http_req *req)
{
	/* tracardi-api middleware/context.py: with PRODUCTION=yes every request is production and
	 * the header is not read; otherwise exactly "production" or "staging", else staging */
	if (api->production_default)
		return 1;
	const char *h = http_header(req, "x-context");
	return h && strcmp(h, "production") == 0;
}

static int redis_open(struct api_ctx *api, struct redis *r)
{
	char err[300];
	r->fd = -1;
	if (redis_connect(r, api->redis_addr, api->redis_password, err, sizeof err) < 0) {
		logmsg("error: %s", err);
		return -1;
	}
	return 0;
}

json_t *api_auth(struct api_ctx *api, const struct http_req *req, struct http_resp *resp, const char *const *roles)
{
	const char *h = http_header(req, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		resp_header(resp, "WWW-Authenticate", "Bearer");
		api_detail(resp, 401, "Not authenticated");
		return NULL;
	}
	struct redis r;
	if (redis_open(api, &r) < 0) {
		api_internal_error(resp, "redis unreachable while checking a token");
		return NULL;
	}
	char *key = xasprintf("%s-%s", api->token_space, h + 7);
	struct redis_reply rep;
	const char *get[] = { "GET", key };
	json_t *user = NULL;
	if (redis_cmd(&r, &rep, 2, get) == 0 && rep.type == R_BULK)
		user = json_loads(rep.str, 0, NULL);
	redis_reply_free(&rep);
	if (user) {
		const char *exp[] = { "EXPIRE", key, TOKEN_TTL };
		redis_cmd(&r, &rep, 3, exp);
		redis_reply_free(&rep);
	}
	redis_close(&r);
	free(key);
	int allowed = 0;
	size_t i;
	json_t *role;
	json_array_foreach(json_object_get(user, "roles"), i, role)
		for (const char *const *want = roles; *want; want++)
			if (json_is_string(role) && strcmp(json_string_value(role), *want) == 0)
				allowed = 1;
	if (!allowed) {
		json_decref(user);
		resp_header(resp, "WWW-Authenticate", "Bearer");
		api_detail(resp, 401, "Invalid authentication credentials");
		return NULL;
	}
	return user;
}

/* --- info and health ------------------------------------------------------------------ */

static int is_080(const struct api_ctx *api)
{
	return strcmp(api->rel->version, "0.8.0") == 0;
}

static void details(struct api_ctx *api, struct http_resp *resp)
{
	pthread_mutex_lock(&api->lock);
	json_t *upgrades = json_deep_copy(api->upgrades);
	pthread_mutex_unlock(&api->lock);
	json_t *out = json_pack("{s:s, s:s, s:o, s:b, s:{}}", "version", api->rel->version, "name", api->nm.tenant,
				"upgrades", upgrades, "production", api->production_default, "config");
	/* 0.8.0's Version has no db_version (tracardi 0.8.0 tracardi/domain/version.py) */
	if (!is_080(api))
		json_object_set_new(out, "db_version", json_string(api->rel->db_version));
	if (api->rel->v09)
		json_object_set_new(out, "mysql_version", json_integer(1));
	if (!is_080(api))
		json_object_set_new(out, "instance", json_string(api->instance_id));
	if (api->rel->v082) {
		int schema_ok, admin_ok;
		api_install_status(api, &schema_ok, &admin_ok);
		json_object_set_new(out, "installed", json_pack("{s:b, s:b, s:b}", "schema", schema_ok,
								"users", admin_ok, "form", 1));
	}
	json_object_set_new(out, "owner", json_string("Tracardi"));
	json_object_set_new(out, "expires", json_string("Never"));
	json_object_set_new(out, "licenses", json_pack("[s]", "MIT + Common Clause"));
	resp_json(resp, 200, out);
}

/* --- login ---------------------------------------------------------------------------- */

/*
 * tracardi-api app/api/user_endpoint.py: 0.8.0 answers 400 {"detail": reason}; 0.8.1 has the
 * try/except commented out, and main.py's middleware turns the exception into 500 {"detail":
 * reason}; 0.8.2 answers 400 "Redis authentication error: …", 0.9 "Authentication error: …".
 */
static void login_failed(struct api_ctx *api, struct http_resp *resp, const char *why)
{
	logmsg("login refused: %s", why);
	char *detail = api->rel->v09 ? xasprintf("Authentication error: %s", why)
		       : api->rel->v082 ? xasprintf("Redis authentication error: %s", why) : xstrdup(why);
	api_detail(resp, !api->rel->v082 && !is_080(api) ? 500 : 400, detail);
	free(detail);
}

static void token(struct api_ctx *api, const struct http_req *req, struct http_resp *resp)
{
	char *username = form_get(req->body, "username");
	char *password = form_get(req->body, "password");
	const char *missing[3];
	int nm = 0;
	if (!username)
		missing[nm++] = "username";
	if (!password)
		missing[nm++] = "password";
	missing[nm] = NULL;
	if (nm) {
		free(username);
		free(password);
		api_missing(api, resp, "body", missing);
		return;
	}
	long st;
	char *users = user_index_name(&api->nm);
	char *path = xasprintf("/%s/_search", users);
	json_t *q = json_pack("{s:{s:{s:s}}, s:i}", "query", "term", "email", username, "size", 1);
	json_t *res = es_call(&api->es, "POST", path, q, &st);
	json_t *user = json_dotted(json_array_get(json_dotted(res, "hits.hits"), 0), "_source");
	char hash[41];
	api_password_hash(password, hash);
	const char *stored = json_string_value(json_object_get(user, "password"));
	if (st != 200) {
		login_failed(api, resp, "Login failed: the system is not installed or storage is unreachable.");
	} else if (!user || !stored || strcmp(stored, hash) != 0) {
		login_failed(api, resp, "Incorrect username or password.");
	} else if (json_is_true(json_object_get(user, "disabled"))) {
		login_failed(api, resp, "Login failed: this account is disabled.");
	} else {
		char *salted = xasprintf("%s%s", json_string_value(json_object_get(user, "id")), api->token_space);
		char tok[41];
		sha1_hex(salted, strlen(salted), tok);
		free(salted);
		char *key = xasprintf("%s-%s", api->token_space, tok);
		json_t *copy = json_deep_copy(user);
		json_object_del(copy, "password");
		char *val = json_dumps(copy, JSON_COMPACT);
		struct redis r;
		struct redis_reply rep;
		const char *set[] = { "SET", key, val, "EX", TOKEN_TTL };
		int ok = redis_open(api, &r) == 0 && redis_cmd(&r, &rep, 5, set) == 0 && rep.type == R_STATUS;
		if (r.fd >= 0) {
			redis_reply_free(&rep);
			redis_close(&r);
		}
		if (!ok) {
			login_failed(api, resp, "Login failed: token storage (Redis) is unreachable.");
		} else {
			logmsg("login ok");
			resp_json(resp, 200, json_pack("{s:s, s:s, s:O, s:o}", "access_token", tok, "token_type", "bearer",
						       "roles", json_object_get(user, "roles"), "preference",
						       json_object_get(user, "preference") ? json_incref(json_object_get(user, "preference")) : json_object()));
		}
		free(val);
		json_decref(copy);
		free(key);
	}
	json_decref(res);
	json_decref(q);
	free(path);
	free(users);
	free(username);
	free(password);
}

/* --- tasks and index deletion --------------------------------------------------------- */

static void tasks(struct api_ctx *api, const struct http_req *req, struct http_resp *resp, const char *type)
{
	long st;
	char *index = task_index_name(&api->nm, api_production(api, req));
	char *path = xasprintf("/%s/_search", index);
	/* limit defaults to 50 (0.8.x) or 100 (0.9), newest first (tracardi-api task_endpoint.py) */
	long limit = api->rel->v09 ? 100 : 50;
	char *lim = http_query(req, "limit");
	if (lim) {
		char *end;
		long v = strtol(lim, &end, 10);
		if (*lim && !*end && v >= 0 && v <= 10000)
			limit = v;
		free(lim);
	}
	json_t *q = json_pack("{s:{s:{s:[{s:{s:s}}]}}, s:I, s:[{s:{s:s}}]}", "query", "bool", "must", "term", "type", type,
			      "size", (json_int_t)limit, "sort", "timestamp", "order", "desc");
	json_t *res = es_call(&api->es, "POST", path, q, &st);
	json_t *list = json_array();
	size_t i;
	json_t *hit;
	json_array_foreach(json_dotted(res, "hits.hits"), i, hit)
		json_array_append(list, json_object_get(hit, "_source"));
	if (api->rel->v09) {
		size_t n = json_array_size(list);
		json_t *out = n ? json_pack("{s:i, s:{s:o}}", "total", (int)n, "grouped", "Tasks", list)
				: json_pack("{s:i, s:n}", "total", 0, "grouped");
		if (!n)
			json_decref(list);
		resp_json(resp, 200, out);
	} else {
		resp_json(resp, 200, json_pack("{s:{s:o}}", "grouped", "Tasks", list));
	}
	json_decref(res);
	json_decref(q);
	free(path);
	free(index);
}

/* GET /import/task/{id}/status: Celery's state on 0.8.x (tracardi-api import_endpoint.py:
 * {id, status, progress: AsyncResult.result}, an exception encoding as {}), the MySQL row
 * on 0.9 ({id, status, progress, message}; "none" for an unknown id). */
static void task_status(struct api_ctx *api, const struct http_req *req, struct http_resp *resp, const char *id)
{
	if (api->rel->v09) {
		long st;
		char *index = task_index_name(&api->nm, api_production(api, req));
		char *path = xasprintf("/%s/_doc/%s", index, id);
		json_t *doc = es_call(&api->es, "GET", path, NULL, &st);
		json_t *src = json_object_get(doc, "_source");
		if (st == 200 && src)
			resp_json(resp, 200, json_pack("{s:O?, s:O?, s:O?, s:O?}", "id", json_object_get(src, "id"),
						       "status", json_object_get(src, "status"), "progress",
						       json_object_get(src, "progress"), "message", json_object_get(src, "message")));
		else
			resp_json(resp, 200, json_pack("{s:s, s:s, s:i, s:n}", "id", id, "status", "none", "progress", 0,
						       "message"));
		json_decref(doc);
		free(path);
		free(index);
		return;
	}
	struct redis r;
	const char *status;
	json_t *result = NULL;
	if (redis_open(api, &r) < 0 || celery_meta_get(&r, id, &status, &result) < 0) {
		if (r.fd >= 0)
			redis_close(&r);
		api_internal_error(resp, "redis unreachable while reading a task's state");
		return;
	}
	redis_close(&r);
	json_t *progress;
	if (strcmp(status, "PROGRESS") == 0 && result)
		progress = json_incref(result);
	else if (strcmp(status, "FAILURE") == 0 || strcmp(status, "REVOKED") == 0)
		progress = json_object();
	else
		progress = json_null();
	json_decref(result);
	resp_json(resp, 200, json_pack("{s:s, s:s, s:o}", "id", id, "status", status, "progress", progress));
}

/* Deletes every index whose name starts with one of the prefixes; answers {index: acknowledged}. */
static void delete_prefixed(struct api_ctx *api, struct http_resp *resp, const char *const *prefixes)
{
	long st;
	json_t *all = es_call(&api->es, "GET", "/_alias", NULL, &st);
	if (st != 200) {
		json_decref(all);
		api_internal_error(resp, "elasticsearch unreachable while listing indices");
		return;
	}
	json_t *out = json_object();
	const char *index;
	json_t *v;
	for (const char *const *p = prefixes; *p; p++) {
		json_object_foreach(all, index, v) {
			if (strncmp(index, *p, strlen(*p)) != 0)
				continue;
			char *path = xasprintf("/%s", index);
			json_t *r = es_call(&api->es, "DELETE", path, NULL, &st);
			json_object_set_new(out, index, json_boolean(st == 200 && json_is_true(json_object_get(r, "acknowledged"))));
			logmsg("deleted index '%s' (HTTP %ld)", index, st);
			json_decref(r);
			free(path);
		}
	}
	json_decref(all);
	resp_json(resp, 200, out);
}

static void delete_old_style(struct api_ctx *api, const struct http_req *req, struct http_resp *resp, const char *version)
{
	char *codename = http_query(req, "codename");
	char name[64], prefix[32], md5[33];
	int v080 = strcmp(api->rel->version, "0.8.0") == 0;
	/* the version object built here keeps the release's default db_version, so 0.8.1 always looks for 08x */
	const char *basis = v080 ? version : api->rel->db_version;
	size_t o = 0;
	for (const char *c = basis; *c && o + 1 < sizeof prefix; c++)
		if (*c != '.')
			prefix[o++] = *c;
	prefix[o] = '\0';
	if (codename && *codename) {
		snprintf(name, sizeof name, "%s", codename);
	} else {
		md5_hex(basis, strlen(basis), md5);
		snprintf(name, sizeof name, "%.5s", md5);
	}
	free(codename);
	if (strcmp(version, api->rel->version) == 0 && strcmp(name, api->nm.tenant) == 0) {
		api_detail(resp, 409, "These indices are in use by this release and cannot be deleted.");
		return;
	}
	char *p0 = xasprintf("%s.%s.tracardi-", prefix, name);
	const char *const prefixes[] = { p0, NULL };
	delete_prefixed(api, resp, prefixes);
	free(p0);
}

static void delete_new_style(struct api_ctx *api, const struct http_req *req, struct http_resp *resp)
{
	char *db = http_query(req, "db_version");
	char *codename = http_query(req, "codename");
	if (!db) {
		static const char *const missing[] = { "db_version", NULL };
		free(codename);
		api_missing(api, resp, "query", missing);
		return;
	}
	if (strcmp(db, api->rel->db_version) == 0) {
		api_detail(resp, 409, "These indices are in use by this release and cannot be deleted.");
	} else {
		/* a missing codename is formatted as Python's None, matching nothing */
		const char *code = codename ? codename : "None";
		char *p0 = xasprintf("%s.%s.tracardi-", db, code);
		char *p1 = xasprintf("prod-%s.%s.tracardi-", db, code);
		const char *const prefixes[] = { p0, p1, NULL };
		delete_prefixed(api, resp, prefixes);
		free(p0);
		free(p1);
	}
	free(db);
	free(codename);
}

/* --- routing -------------------------------------------------------------------------- */

static int route_enabled(const struct api_ctx *api, const struct route *r)
{
	if ((r->min_v082 == 1 && !api->rel->v082) || (r->min_v082 == -1 && api->rel->v082))
		return 0;
	if ((r->min_v09 == 1 && !api->rel->v09) || (r->min_v09 == -1 && api->rel->v09))
		return 0;
	return 1;
}

/* Matches "/a/{x}/b" against a path; the first captured segment goes to cap. */
static int path_match(const char *pattern, const char *path, char *cap, size_t caplen)
{
	while (*pattern && *path) {
		if (*pattern == '{') {
			const char *pe = strchr(pattern, '}');
			const char *se = strchr(path, '/');
			size_t n = se ? (size_t)(se - path) : strlen(path);
			if (!n || !pe)
				return 0;
			snprintf(cap, caplen, "%.*s", (int)n, path);
			pattern = pe + 1;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

static void api_handle(const struct http_req *req, struct http_resp *resp, void *ctx)
{
	struct api_ctx *api = ctx;
	const struct route *hit = NULL;
	int path_known = 0;
	char cap[256] = "";
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		if (!route_enabled(api, &routes[i]) || !path_match(routes[i].pattern, req->path, cap, sizeof cap))
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, req->method) == 0 ||
		    (strcmp(req->method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0)) {
			hit = &routes[i];
			break;
		}
	}
	if (!hit) {
		if (path_known)
			api_detail(resp, 405, "Method Not Allowed");
		else
			api_detail(resp, 404, "Not Found");
		return;
	}
	int probe = hit->id == RT_HEALTH || hit->id == RT_VERSION || hit->id == RT_DETAILS ||
		    hit->id == RT_TEST_ES || hit->id == RT_TEST_REDIS;
	if (probe && api->fault && strcmp(api->fault, "unhealthy") == 0) {
		api_detail(resp, 503, "Service Unavailable");
		return;
	}
	json_t *user = NULL;
	const char *const *roles = NULL;
	switch (hit->id) {
	case RT_TEST_ES:
	case RT_TEST_REDIS:
		roles = ROLES_TEST;
		break;
	case RT_MIGRATIONS:
	case RT_MIGRATION_PLAN:
	case RT_MIGRATION_POST:
		roles = api->rel->v09 ? ROLES_MIGRATION_09 : ROLES_TEST;
		break;
	case RT_TASKS:
	case RT_TASK_STATUS:
		roles = ROLES_TASKS;
		break;
	case RT_DELETE_OLD:
	case RT_DELETE_NEW:
		roles = ROLES_ADMIN;
		break;
	default:
		break;
	}
	if (roles && !(user = api_auth(api, req, resp, roles)))
		return;

	long st;
	switch (hit->id) {
	case RT_ROOT:
	case RT_DETAILS:
		details(api, resp);
		break;
	case RT_VERSION:
		resp_json(resp, 200, json_string(api->rel->version));
		break;
	case RT_HEALTH:
		/* the real endpoint echoes an empty body, which FastAPI encodes as "" */
		resp_json(resp, 200, json_string(""));
		break;
	case RT_INSTALL_GET: {
		int schema_ok, admin_ok;
		api_install_status(api, &schema_ok, &admin_ok);
		/* 0.8.0 answers only these two (tracardi-api 0.8.0 app/api/install_endpoint.py) */
		if (is_080(api))
			resp_json(resp, 200, json_pack("{s:b, s:b}", "schema_ok", schema_ok, "admin_ok", admin_ok));
		else
			resp_json(resp, 200, json_pack("{s:b, s:b, s:b, s:n}", "schema_ok", schema_ok, "admin_ok",
						       admin_ok, "form_ok", 1, "warning"));
		break;
	}
	case RT_INSTALL_POST:
		api_install(api, req, resp);
		break;
	case RT_TOKEN:
		token(api, req, resp);
		break;
	case RT_TEST_ES: {
		json_t *h = es_call(&api->es, "GET", "/_cluster/health", NULL, &st);
		if (st == 200 && json_is_object(h))
			resp_json(resp, 200, h);
		else {
			json_decref(h);
			api_internal_error(resp, "elasticsearch did not pass the health check");
		}
		break;
	}
	case RT_TEST_REDIS: {
		struct redis r;
		struct redis_reply rep;
		const char *ping[] = { "PING" };
		int ok = redis_open(api, &r) == 0 && redis_cmd(&r, &rep, 1, ping) == 0 && rep.type == R_STATUS;
		if (r.fd >= 0) {
			redis_reply_free(&rep);
			redis_close(&r);
		}
		if (ok)
			resp_json(resp, 200, json_null());
		else
			api_internal_error(resp, "redis did not respond");
		break;
	}
	case RT_MIGRATIONS:
		api_migrations_list(api, resp);
		break;
	case RT_MIGRATION_PLAN:
		api_migration_plan(api, req, resp, cap);
		break;
	case RT_MIGRATION_POST:
		api_migration_start(api, req, resp);
		break;
	case RT_TASKS:
		tasks(api, req, resp, cap);
		break;
	case RT_TASK_STATUS:
		task_status(api, req, resp, cap);
		break;
	case RT_DELETE_OLD:
		delete_old_style(api, req, resp, cap);
		break;
	case RT_DELETE_NEW:
		delete_new_style(api, req, resp);
		break;
	case RT_STANDIN_RUNS:
		api_standin_runs(api, resp);
		break;
	}
	json_decref(user);
}

/* 0.9 and later wait for MySQL at start and exit when it never answers. */
static int wait_for_mysql(void)
{
	const char *host = env_or("MYSQL_HOST", "localhost");
	const char *port = env_or("MYSQL_PORT", "3306");
	for (int attempt = 1; attempt <= 4 && !g_stop; attempt++) {
		struct addrinfo hints, *res = NULL;
		memset(&hints, 0, sizeof hints);
		hints.ai_socktype = SOCK_STREAM;
		int ok = 0;
		if (getaddrinfo(host, port, &hints, &res) == 0) {
			for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
				int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
				if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
					ok = 1;
				if (fd >= 0)
					close(fd);
			}
			freeaddrinfo(res);
		}
		if (ok) {
			logmsg("connected to mysql at %s:%s", host, port);
			return 0;
		}
		logmsg("waiting for mysql at %s:%s (try %d)", host, port, attempt);
		sleep_ms_interruptible(1000);
	}
	logmsg("error: mysql at %s:%s is not available; exiting", host, port);
	return -1;
}

int api_main(void)
{
	static struct api_ctx api;
	const char *version = env_or("STANDIN_VERSION", "0.8.2");
	api.rel = release_find(version);
	if (!api.rel) {
		logmsg("error: unknown STANDIN_VERSION '%s'; known: %s", version, release_names());
		return 2;
	}
	naming_init(&api.nm, api.rel);
	es_conn_from_env(&api.es);
	api.redis_addr = env_or("REDIS_HOST", "redis://localhost:6379");
	api.redis_password = env_or("REDIS_PASSWORD", "");
	api.install_token = env_or("INSTALLATION_TOKEN", "tracardi");
	api.fault = getenv("STANDIN_FAULT");
	const char *prod = env_or("PRODUCTION", "no");
	api.production_default = strcasecmp(prod, "yes") == 0 || strcasecmp(prod, "true") == 0;
	random_uuid(api.instance_id);
	char *space = xasprintf("token:%s.%s", api.rel->version, api.nm.tenant);
	sha1_hex(space, strlen(space), api.token_space);
	free(space);
	pthread_mutex_init(&api.lock, NULL);
	api.upgrades = json_array();
	logmsg("tracardi-api %s (db %s, tenant %s, elastic %s)", api.rel->version, api.rel->db_version,
	       api.nm.tenant, api.es.base);
	/* the release's schema files; the test bed's api images point STANDIN_SCHEMA_DIR where pip
	 * puts tracardi in the real image (facts 34) */
	const char *schema_dir = getenv("STANDIN_SCHEMA_DIR");
	if (schema_dir && *schema_dir == '/' && (!api.fault || strcmp(api.fault, "no-schemas") != 0))
		release_write_schemas(api.rel, schema_dir);
	if (api.rel->v09 && wait_for_mysql() < 0)
		return 1;
	struct http_server_opts o = {
		.bind = env_or("STANDIN_BIND", "0.0.0.0"),
		.port = (int)env_long("STANDIN_PORT", 80),
		.max_body = API_MAX_BODY,
		.handler = api_handle,
		.ctx = &api,
	};
	return http_serve(&o) == 0 ? 0 : 1;
}
