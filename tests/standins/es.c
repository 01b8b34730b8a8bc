/* es.c - the Elasticsearch 7.13.2 stand-in: routing, cluster, index and alias APIs */
#include "es.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ES_MAX_BODY (32 * 1024 * 1024)
#define ES_VERSION_ID "7130299"

void es_send_error(struct http_resp *resp, json_t *err)
{
	int status = (int)json_integer_value(json_object_get(err, "status"));
	resp_json(resp, status ? status : 500, err);
}

json_t *es_body_json(const struct http_req *req, struct http_resp *resp, int required)
{
	json_error_t jerr;
	if (req->body_len == 0) {
		if (required)
			es_send_error(resp, es_error(400, "parse_exception", "request body is required", NULL));
		return required ? NULL : json_object();
	}
	json_t *j = json_loadb(req->body, req->body_len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		char reason[300];
		snprintf(reason, sizeof reason, "Failed to parse content to map: %s", jerr.text);
		es_send_error(resp, es_error(400, "parse_exception", reason, NULL));
		json_decref(j);
		return NULL;
	}
	return j;
}

static void fmt_bytes(char *out, size_t n, long long bytes, int raw)
{
	if (raw)
		snprintf(out, n, "%lld", bytes);
	else if (bytes < 1024)
		snprintf(out, n, "%lldb", bytes);
	else if (bytes < 1024 * 1024)
		snprintf(out, n, "%.1fkb", (double)bytes / 1024);
	else
		snprintf(out, n, "%.1fmb", (double)bytes / (1024 * 1024));
}

static long long index_size(const struct es_index *ix)
{
	return 208LL * ix->shards + ix->bytes;
}

/* --- cluster ------------------------------------------------------------------------- */

static void root_info(struct es_ctx *es, struct http_resp *resp)
{
	resp_json(resp, 200, json_pack(
		"{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s}, s:s}",
		"name", es->st.node_name, "cluster_name", "docker-cluster",
		"cluster_uuid", es->st.cluster_uuid,
		"version", "number", "7.13.2", "build_flavor", "default", "build_type", "docker",
		"build_hash", "0000000000000000000000000000000000000000",
		"build_date", "2021-06-10T21:01:55.251515791Z", "build_snapshot", 0,
		"lucene_version", "8.8.2", "minimum_wire_compatibility_version", "6.8.0",
		"minimum_index_compatibility_version", "6.0.0-beta1",
		"tagline", "You Know, for Search"));
}

static void cluster_health(struct es_ctx *es, struct http_resp *resp)
{
	long prim = 0, unassigned = 0;
	for (size_t i = 0; i < es->st.n; i++) {
		prim += es->st.idx[i]->shards;
		unassigned += (long)es->st.idx[i]->shards * es->st.idx[i]->replicas;
	}
	double pct = prim + unassigned ? 100.0 * (double)prim / (double)(prim + unassigned) : 100.0;
	resp_json(resp, 200, json_pack(
		"{s:s, s:s, s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:f}",
		"cluster_name", "docker-cluster", "status", unassigned ? "yellow" : "green",
		"timed_out", 0, "number_of_nodes", 1, "number_of_data_nodes", 1,
		"active_primary_shards", (int)prim, "active_shards", (int)prim,
		"relocating_shards", 0, "initializing_shards", 0, "unassigned_shards", (int)unassigned,
		"delayed_unassigned_shards", 0, "number_of_pending_tasks", 0,
		"number_of_in_flight_fetch", 0, "task_max_waiting_in_queue_millis", 0,
		"active_shards_percent_as_number", pct));
}

/* Turns {"cluster.max_shards_per_node":"5"} into {"cluster":{"max_shards_per_node":"5"}}. */
static json_t *nest_settings(json_t *flat)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;
	json_object_foreach(flat, key, v) {
		char *copy = xstrdup(key);
		json_t *cur = out;
		char *part = copy, *dot;
		while ((dot = strchr(part, '.')) != NULL) {
			*dot = '\0';
			json_t *next = json_object_get(cur, part);
			if (!json_is_object(next)) {
				next = json_object();
				json_object_set_new(cur, part, next);
			}
			cur = next;
			part = dot + 1;
		}
		json_object_set(cur, part, v);
		free(copy);
	}
	return out;
}

static void flatten_into(json_t *out, const char *prefix, json_t *in)
{
	const char *key;
	json_t *v;
	json_object_foreach(in, key, v) {
		char *full = *prefix ? xasprintf("%s.%s", prefix, key) : xstrdup(key);
		if (json_is_object(v))
			flatten_into(out, full, v);
		else
			json_object_set(out, full, v);
		free(full);
	}
}

static json_t *settings_view(json_t *flat, int want_flat)
{
	return want_flat ? json_incref(flat) : nest_settings(flat);
}

static void cluster_settings(struct es_ctx *es, const struct http_req *req, struct http_resp *resp)
{
	int want_flat = http_query_bool(req, "flat_settings");
	if (strcmp(req->method, "GET") == 0) {
		json_t *out = json_pack("{s:o, s:o}", "persistent", settings_view(es->st.persistent, want_flat),
					"transient", settings_view(es->st.transient, want_flat));
		if (http_query_bool(req, "include_defaults")) {
			json_t *d = json_pack("{s:s}", "cluster.max_shards_per_node", "1000");
			json_object_set_new(out, "defaults", settings_view(d, want_flat));
			json_decref(d);
		}
		resp_json(resp, 200, out);
		return;
	}
	json_t *body = es_body_json(req, resp, 1);
	if (!body)
		return;
	const char *scopes[] = { "persistent", "transient" };
	json_t *applied[2] = { json_object(), json_object() };
	json_t *flat[2];
	/* validate everything first so a bad request changes nothing */
	for (int s = 0; s < 2; s++) {
		flat[s] = json_object();
		json_t *in = json_object_get(body, scopes[s]);
		if (json_is_object(in))
			flatten_into(flat[s], "", in);
		const char *key;
		json_t *v;
		json_object_foreach(flat[s], key, v) {
			char reason[400];
			if (strncmp(key, "cluster.", 8) != 0 && strncmp(key, "action.", 7) != 0 &&
			    strncmp(key, "indices.", 8) != 0 && strncmp(key, "logger.", 7) != 0 &&
			    strncmp(key, "search.", 7) != 0) {
				snprintf(reason, sizeof reason, "%s setting [%s], not recognized", scopes[s], key);
				goto bad;
			}
			if (strcmp(key, "cluster.max_shards_per_node") == 0 && !json_is_null(v) &&
			    json_long_any(v, 0) < 1) {
				snprintf(reason, sizeof reason,
					 "Failed to parse value [%s] for setting [cluster.max_shards_per_node] must be >= 1",
					 json_is_string(v) ? json_string_value(v) : "?");
				goto bad;
			}
			continue;
bad:
			es_send_error(resp, es_error(400, "illegal_argument_exception", reason, NULL));
			for (int k = 0; k <= s; k++)
				json_decref(flat[k]);
			json_decref(applied[0]);
			json_decref(applied[1]);
			json_decref(body);
			return;
		}
	}
	for (int s = 0; s < 2; s++) {
		json_t *target = s == 0 ? es->st.persistent : es->st.transient;
		const char *key;
		json_t *v;
		json_object_foreach(flat[s], key, v) {
			if (json_is_null(v)) {
				json_object_del(target, key);
				continue;
			}
			json_t *str;
			if (json_is_string(v))
				str = json_incref(v);
			else {
				char *t = json_dumps(v, JSON_ENCODE_ANY);
				str = json_string(t ? t : "");
				free(t);
			}
			json_object_set(target, key, str);
			json_object_set_new(applied[s], key, str);
		}
		json_decref(flat[s]);
	}
	es_store_save(&es->st);
	json_t *out = json_pack("{s:b, s:o, s:o}", "acknowledged", 1,
				"persistent", settings_view(applied[0], want_flat),
				"transient", settings_view(applied[1], want_flat));
	json_decref(applied[0]);
	json_decref(applied[1]);
	json_decref(body);
	resp_json(resp, 200, out);
}

static int name_cmp(const void *a, const void *b)
{
	const struct es_index *x = *(struct es_index *const *)a;
	const struct es_index *y = *(struct es_index *const *)b;
	return strcmp(x->name, y->name);
}

static void cat_indices(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *expr)
{
	struct es_index **list;
	size_t n;
	json_t *err;
	char *fmt = http_query(req, "format");
	char *bytes = http_query(req, "bytes");
	char *expand = http_query(req, "expand_wildcards");
	int raw = bytes && strcmp(bytes, "b") == 0;
	int json_out = fmt && strcmp(fmt, "json") == 0;
	int hidden = expand && (strstr(expand, "all") || strstr(expand, "hidden"));
	free(fmt);
	free(bytes);
	free(expand);
	if (es_resolve(&es->st, expr, 0, hidden ? RESOLVE_HIDDEN : 0, &list, &n, &err) < 0) {
		es_send_error(resp, err);
		return;
	}
	qsort(list, n, sizeof *list, name_cmp);
	json_t *arr = json_array();
	struct buf text;
	buf_init(&text, 0);
	if (http_query_bool(req, "v"))
		buf_puts(&text, "health status index uuid pri rep docs.count docs.deleted store.size pri.store.size\n");
	for (size_t i = 0; i < n; i++) {
		struct es_index *ix = list[i];
		char pri[16], rep[16], cnt[24], size[32];
		snprintf(pri, sizeof pri, "%d", ix->shards);
		snprintf(rep, sizeof rep, "%d", ix->replicas);
		snprintf(cnt, sizeof cnt, "%zu", json_object_size(ix->docs));
		/* replicas stay unassigned on one node, so the total equals the primaries */
		fmt_bytes(size, sizeof size, index_size(ix), raw);
		const char *health = ix->replicas ? "yellow" : "green";
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			"health", health, "status", "open", "index", ix->name, "uuid", ix->uuid,
			"pri", pri, "rep", rep, "docs.count", cnt, "docs.deleted", "0",
			"store.size", size, "pri.store.size", size));
		buf_printf(&text, "%s open %s %s %s %s %s 0 %s %s\n", health, ix->name, ix->uuid,
			   pri, rep, cnt, size, size);
	}
	free(list);
	if (json_out) {
		resp_json(resp, 200, arr);
	} else {
		json_decref(arr);
		resp_text(resp, 200, "text/plain; charset=UTF-8", text.data ? text.data : "");
	}
	buf_free(&text);
}

/* --- indices -------------------------------------------------------------------------- */

static json_t *index_settings_json(const struct es_index *ix)
{
	char created[32], shards[16], replicas[16];
	snprintf(created, sizeof created, "%lld", ix->created_ms);
	snprintf(shards, sizeof shards, "%d", ix->shards);
	snprintf(replicas, sizeof replicas, "%d", ix->replicas);
	json_t *index = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:s}", "creation_date", created,
				  "number_of_shards", shards, "number_of_replicas", replicas, "uuid", ix->uuid,
				  "version", "created", ES_VERSION_ID, "provided_name", ix->name);
	json_t *extra = json_object_get(ix->settings, "index");
	const char *k;
	json_t *v;
	json_object_foreach(extra, k, v) {
		const char *key = strncmp(k, "index.", 6) == 0 ? k + 6 : k;
		if (!json_object_get(index, key) && !json_is_object(v))
			json_object_set(index, key, v);
	}
	if (ix->hidden)
		json_object_set_new(index, "hidden", json_string("true"));
	return json_pack("{s:o}", "index", index);
}

static void index_create(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *name)
{
	json_t *body = es_body_json(req, resp, 0);
	json_t *err;
	int status;
	if (!body)
		return;
	struct es_index *ix = es_create_index(&es->st, name, body, &err, &status);
	json_decref(body);
	if (!ix) {
		es_send_error(resp, err);
		return;
	}
	es_store_save(&es->st);
	resp_json(resp, 200, json_pack("{s:b, s:b, s:s}", "acknowledged", 1, "shards_acknowledged", 1, "index", name));
}

static void index_delete(struct es_ctx *es, struct http_resp *resp, const char *expr)
{
	struct es_index **list;
	size_t n;
	json_t *err;
	/* Elasticsearch 7 refuses to delete through an alias name */
	char *copy = xstrdup(expr);
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strchr(tok, '*') && !es_find(&es->st, tok) && es_is_alias(&es->st, tok)) {
			char reason[600];
			snprintf(reason, sizeof reason,
				 "The provided expression [%s] matches an alias, specify the corresponding concrete indices instead.", tok);
			es_send_error(resp, es_error(400, "illegal_argument_exception", reason, NULL));
			free(copy);
			return;
		}
	}
	free(copy);
	if (es_resolve(&es->st, expr, 0, RESOLVE_NO_ALIASES, &list, &n, &err) < 0) {
		es_send_error(resp, err);
		return;
	}
	for (size_t i = 0; i < n; i++)
		es_delete_index(&es->st, list[i]);
	free(list);
	es_store_save(&es->st);
	resp_json(resp, 200, json_pack("{s:b}", "acknowledged", 1));
}

static void index_get(struct es_ctx *es, struct http_resp *resp, const char *expr, const char *what)
{
	struct es_index **list;
	size_t n;
	json_t *err;
	if (es_resolve(&es->st, expr, 0, 0, &list, &n, &err) < 0) {
		es_send_error(resp, err);
		return;
	}
	json_t *out = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_object();
		if (!what || strcmp(what, "aliases") == 0)
			json_object_set(e, "aliases", list[i]->aliases);
		if (!what || strcmp(what, "mappings") == 0)
			json_object_set(e, "mappings", list[i]->mappings);
		if (!what || strcmp(what, "settings") == 0)
			json_object_set_new(e, "settings", index_settings_json(list[i]));
		json_object_set_new(out, list[i]->name, e);
	}
	free(list);
	resp_json(resp, 200, out);
}

static void mapping_put(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *expr)
{
	struct es_index **list;
	size_t n;
	json_t *err;
	json_t *body = es_body_json(req, resp, 1);
	if (!body)
		return;
	if (es_resolve(&es->st, expr, 0, 0, &list, &n, &err) < 0) {
		json_decref(body);
		es_send_error(resp, err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *props = json_object_get(list[i]->mappings, "properties");
		if (!props) {
			props = json_object();
			json_object_set_new(list[i]->mappings, "properties", props);
		}
		if (json_is_object(json_object_get(body, "properties")))
			json_object_update(props, json_object_get(body, "properties"));
	}
	free(list);
	json_decref(body);
	es_store_save(&es->st);
	resp_json(resp, 200, json_pack("{s:b}", "acknowledged", 1));
}

/* --- aliases -------------------------------------------------------------------------- */

static void alias_get(struct es_ctx *es, const struct http_req *req, struct http_resp *resp,
		      const char *expr, const char *name)
{
	struct es_index **list;
	size_t n;
	json_t *err;
	if (es_resolve(&es->st, expr, 0, expr != NULL ? RESOLVE_HIDDEN : 0, &list, &n, &err) < 0) {
		es_send_error(resp, err);
		return;
	}
	json_t *out = json_object();
	int any = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *aliases = json_object();
		const char *a;
		json_t *v;
		json_object_foreach(list[i]->aliases, a, v) {
			if (!name || glob_match(name, a)) {
				json_object_set(aliases, a, v);
				any = 1;
			}
		}
		if (!name || json_object_size(aliases))
			json_object_set_new(out, list[i]->name, json_pack("{s:o}", "aliases", aliases));
		else
			json_decref(aliases);
	}
	free(list);
	if (name && !any) {
		json_decref(out);
		char msg[400];
		snprintf(msg, sizeof msg, "alias [%s] missing", name);
		if (strcmp(req->method, "HEAD") == 0)
			resp_text(resp, 404, "application/json", "");
		else
			resp_json(resp, 404, json_pack("{s:s, s:i}", "error", msg, "status", 404));
		return;
	}
	resp_json(resp, 200, out);
}

/* Collects the names in "x" (string) or "xs" (array) of an action. */
static json_t *action_names(json_t *act, const char *one, const char *many)
{
	json_t *arr = json_array();
	json_t *v = json_object_get(act, one);
	if (json_is_string(v))
		json_array_append(arr, v);
	size_t i;
	json_array_foreach(json_object_get(act, many), i, v)
		if (json_is_string(v))
			json_array_append(arr, v);
	return arr;
}

static void aliases_post(struct es_ctx *es, const struct http_req *req, struct http_resp *resp)
{
	json_t *body = es_body_json(req, resp, 1);
	if (!body)
		return;
	json_t *actions = json_object_get(body, "actions");
	size_t i;
	json_t *act;
	json_t *err = NULL;
	/* two passes: validate, then apply, so a failing request changes nothing */
	for (int apply = 0; apply < 2 && !err; apply++) {
		json_array_foreach(actions, i, act) {
			const char *kind = json_object_iter_key(json_object_iter(act));
			json_t *spec = json_object_iter_value(json_object_iter(act));
			if (!kind || !json_is_object(spec)) {
				err = es_error(400, "illegal_argument_exception", "[aliases] failed to parse field [actions]", NULL);
				break;
			}
			json_t *indices = action_names(spec, "index", "indices");
			json_t *aliases = action_names(spec, "alias", "aliases");
			size_t k;
			json_t *iv;
			json_array_foreach(indices, k, iv) {
				struct es_index **list;
				size_t n;
				if (es_resolve(&es->st, json_string_value(iv), 0, RESOLVE_HIDDEN, &list, &n, &err) < 0)
					break;
				for (size_t m = 0; m < n && !err; m++) {
					if (strcmp(kind, "remove_index") == 0) {
						if (apply)
							es_delete_index(&es->st, list[m]);
						continue;
					}
					size_t q;
					json_t *av;
					json_array_foreach(aliases, q, av) {
						const char *alias = json_string_value(av);
						char reason[600];
						if (strcmp(kind, "add") == 0) {
							if (es_find(&es->st, alias)) {
								snprintf(reason, sizeof reason,
									 "Invalid alias name [%s]: an index or data stream exists with the same name as the alias", alias);
								err = es_error(400, "invalid_alias_name_exception", reason,
									       json_pack("{s:s, s:s}", "index_uuid", "_na_", "index", alias));
								break;
							}
							if (apply) {
								json_t *props = json_object();
								if (json_is_boolean(json_object_get(spec, "is_write_index")))
									json_object_set(props, "is_write_index", json_object_get(spec, "is_write_index"));
								json_object_set_new(list[m]->aliases, alias, props);
							}
						} else if (strcmp(kind, "remove") == 0) {
							if (!json_object_get(list[m]->aliases, alias) && !apply) {
								snprintf(reason, sizeof reason, "aliases [%s] missing", alias);
								err = es_error(404, "aliases_not_found_exception", reason,
									       json_pack("{s:s, s:s}", "resource.type", "aliases", "resource.id", alias));
								break;
							}
							if (apply)
								json_object_del(list[m]->aliases, alias);
						} else {
							snprintf(reason, sizeof reason, "[aliases] unknown field [%s]", kind);
							err = es_error(400, "x_content_parse_exception", reason, NULL);
							break;
						}
					}
				}
				free(list);
				if (err)
					break;
			}
			json_decref(indices);
			json_decref(aliases);
			if (err)
				break;
		}
	}
	json_decref(body);
	if (err) {
		es_send_error(resp, err);
		return;
	}
	es_store_save(&es->st);
	resp_json(resp, 200, json_pack("{s:b}", "acknowledged", 1));
}

static void alias_put_one(struct es_ctx *es, const struct http_req *req, struct http_resp *resp,
			  const char *expr, const char *alias, int remove)
{
	struct es_index **list;
	size_t n;
	json_t *err;
	(void)req;
	if (es_resolve(&es->st, expr, 0, RESOLVE_HIDDEN, &list, &n, &err) < 0) {
		es_send_error(resp, err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (remove)
			json_object_del(list[i]->aliases, alias);
		else
			json_object_set_new(list[i]->aliases, alias, json_object());
	}
	free(list);
	es_store_save(&es->st);
	resp_json(resp, 200, json_pack("{s:b}", "acknowledged", 1));
}

/* --- templates ------------------------------------------------------------------------ */

static void index_template(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *name)
{
	json_t *t = name ? json_object_get(es->st.templates, name) : NULL;
	if (strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0) {
		json_t *body = es_body_json(req, resp, 1);
		if (!body)
			return;
		if (!json_is_array(json_object_get(body, "index_patterns"))) {
			json_decref(body);
			es_send_error(resp, es_error(400, "action_request_validation_exception",
						     "Validation Failed: 1: index patterns are missing;", NULL));
			return;
		}
		json_object_set_new(es->st.templates, name, body);
		es_store_save(&es->st);
		resp_json(resp, 200, json_pack("{s:b}", "acknowledged", 1));
		return;
	}
	if (!t && name && !strchr(name, '*')) {
		char reason[400];
		snprintf(reason, sizeof reason, "index template matching [%s] not found", name);
		if (strcmp(req->method, "HEAD") == 0)
			resp_text(resp, 404, "application/json", "");
		else
			es_send_error(resp, es_error(404, "resource_not_found_exception", reason, NULL));
		return;
	}
	if (strcmp(req->method, "DELETE") == 0) {
		json_object_del(es->st.templates, name);
		es_store_save(&es->st);
		resp_json(resp, 200, json_pack("{s:b}", "acknowledged", 1));
		return;
	}
	json_t *arr = json_array();
	const char *tn;
	json_t *tv;
	json_object_foreach(es->st.templates, tn, tv)
		if (!name || glob_match(name, tn))
			json_array_append_new(arr, json_pack("{s:s, s:O}", "name", tn, "index_template", tv));
	resp_json(resp, 200, json_pack("{s:o}", "index_templates", arr));
}

/* --- routing -------------------------------------------------------------------------- */

static int authorised(struct es_ctx *es, const struct http_req *req, struct http_resp *resp)
{
	if (!es->basic_auth)
		return 1;
	const char *got = http_header(req, "Authorization");
	if (got && strcmp(got, es->basic_auth) == 0)
		return 1;
	char reason[600];
	snprintf(reason, sizeof reason, got ? "unable to authenticate user [elastic] for REST request [%s]"
					    : "missing authentication credentials for REST request [%s]", req->path);
	resp_header(resp, "WWW-Authenticate", "Basic realm=\"security\" charset=\"UTF-8\"");
	es_send_error(resp, es_error(401, "security_exception", reason,
				     json_pack("{s:{s:s}}", "header", "WWW-Authenticate",
					       "Basic realm=\"security\" charset=\"UTF-8\"")));
	return 0;
}

static void no_handler(const struct http_req *req, struct http_resp *resp)
{
	char msg[600];
	snprintf(msg, sizeof msg, "no handler found for uri [%s] and method [%s]", req->path, req->method);
	resp_json(resp, 400, json_pack("{s:s, s:i}", "error", msg, "status", 400));
}

static void es_handle(const struct http_req *req, struct http_resp *resp, void *ctx)
{
	struct es_ctx *es = ctx;
	char *seg[6] = { 0 };
	int n = 0;
	char *copy = xstrdup(req->path);
	char *save = NULL;
	const char *m = req->method;
	int get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
	int post = strcmp(m, "POST") == 0, put = strcmp(m, "PUT") == 0, del = strcmp(m, "DELETE") == 0;

	resp->status = 200;
	for (char *s = strtok_r(copy, "/", &save); s && n < 6; s = strtok_r(NULL, "/", &save))
		seg[n++] = s;
	if (!authorised(es, req, resp)) {
		free(copy);
		return;
	}
	pthread_mutex_lock(&es->st.lock);
	if (n == 0 && get) {
		root_info(es, resp);
	} else if (n >= 1 && seg[0][0] == '_') {
		const char *a = seg[0];
		if (strcmp(a, "_cluster") == 0 && n >= 2 && strcmp(seg[1], "health") == 0 && get)
			cluster_health(es, resp);
		else if (strcmp(a, "_cluster") == 0 && n == 2 && strcmp(seg[1], "settings") == 0 && (get || put))
			cluster_settings(es, req, resp);
		else if (strcmp(a, "_cat") == 0 && n >= 2 && strcmp(seg[1], "indices") == 0 && get)
			cat_indices(es, req, resp, n >= 3 ? seg[2] : NULL);
		else if (strcmp(a, "_alias") == 0 && get)
			alias_get(es, req, resp, NULL, n >= 2 ? seg[1] : NULL);
		else if (strcmp(a, "_aliases") == 0 && post)
			aliases_post(es, req, resp);
		else if (strcmp(a, "_aliases") == 0 && get)
			alias_get(es, req, resp, NULL, NULL);
		else if (strcmp(a, "_bulk") == 0 && (post || put))
			es_bulk(es, req, resp, NULL);
		else if (strcmp(a, "_reindex") == 0 && post)
			es_reindex(es, req, resp);
		else if (strcmp(a, "_tasks") == 0 && n == 2 && get)
			es_task_get(es, req, resp, seg[1]);
		else if (strcmp(a, "_tasks") == 0 && n == 1 && get)
			es_tasks_list(es, req, resp);
		else if (strcmp(a, "_tasks") == 0 && n == 3 && post && strcmp(seg[2], "_cancel") == 0)
			es_task_cancel(es, req, resp, seg[1]);
		else if (strcmp(a, "_index_template") == 0 && (n == 2 || (n == 1 && get)))
			index_template(es, req, resp, n == 2 ? seg[1] : NULL);
		else if ((strcmp(a, "_search") == 0 || strcmp(a, "_count") == 0) && (get || post))
			es_search(es, req, resp, NULL, strcmp(a, "_count") == 0);
		else if (strcmp(a, "_refresh") == 0 && (get || post))
			resp_json(resp, 200, json_pack("{s:{s:i, s:i, s:i}}", "_shards", "total", 1, "successful", 1, "failed", 0));
		else
			no_handler(req, resp);
	} else if (n == 1) {
		if (put)
			index_create(es, req, resp, seg[0]);
		else if (del)
			index_delete(es, resp, seg[0]);
		else if (strcmp(m, "HEAD") == 0) {
			struct es_index **list;
			size_t cnt;
			json_t *err;
			int ok = es_resolve(&es->st, seg[0], 0, RESOLVE_HIDDEN, &list, &cnt, &err) == 0 && cnt > 0;
			json_decref(err);
			free(list);
			resp_text(resp, ok ? 200 : 404, "application/json", "");
		} else if (get)
			index_get(es, resp, seg[0], NULL);
		else
			no_handler(req, resp);
	} else {
		const char *op = seg[1];
		if (strcmp(op, "_doc") == 0 || strcmp(op, "_create") == 0 || strcmp(op, "_update") == 0)
			es_doc_route(es, req, resp, seg[0], op, n >= 3 ? seg[2] : NULL);
		else if ((strcmp(op, "_search") == 0 || strcmp(op, "_count") == 0) && (get || post))
			es_search(es, req, resp, seg[0], strcmp(op, "_count") == 0);
		else if (strcmp(op, "_bulk") == 0 && (post || put))
			es_bulk(es, req, resp, seg[0]);
		else if ((strcmp(op, "_alias") == 0 || strcmp(op, "_aliases") == 0) && get)
			alias_get(es, req, resp, seg[0], n >= 3 ? seg[2] : NULL);
		else if ((strcmp(op, "_alias") == 0 || strcmp(op, "_aliases") == 0) && n == 3 && (put || post || del))
			alias_put_one(es, req, resp, seg[0], seg[2], del);
		else if (strcmp(op, "_settings") == 0 && get)
			index_get(es, resp, seg[0], "settings");
		else if (strcmp(op, "_mapping") == 0 && get)
			index_get(es, resp, seg[0], "mappings");
		else if (strcmp(op, "_mapping") == 0 && (put || post))
			mapping_put(es, req, resp, seg[0]);
		else if (strcmp(op, "_refresh") == 0 && (get || post))
			resp_json(resp, 200, json_pack("{s:{s:i, s:i, s:i}}", "_shards", "total", 1, "successful", 1, "failed", 0));
		else
			no_handler(req, resp);
	}
	pthread_mutex_unlock(&es->st.lock);
	if (strcmp(resp->ctype, "application/json") == 0)
		snprintf(resp->ctype, sizeof resp->ctype, "application/json; charset=UTF-8");
	free(copy);
}

int es_main(void)
{
	static struct es_ctx es;
	const char *dir = env_or("STANDIN_DATA", "/data");
	if (es_store_open(&es.st, dir) < 0)
		return 1;
	const char *pw = getenv("ELASTIC_PASSWORD");
	if (pw && *pw) {
		char *pair = xasprintf("elastic:%s", pw);
		char *b64 = base64_encode((const unsigned char *)pair, strlen(pair));
		es.basic_auth = xasprintf("Basic %s", b64);
		free(pair);
		free(b64);
		logmsg("security on: requests need basic auth as 'elastic'");
	}
	struct http_server_opts o = {
		.bind = env_or("STANDIN_BIND", "0.0.0.0"),
		.port = (int)env_long("STANDIN_PORT", 9200),
		.max_body = ES_MAX_BODY,
		.handler = es_handle,
		.ctx = &es,
	};
	return http_serve(&o) == 0 ? 0 : 1;
}
