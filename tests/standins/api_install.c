/* api_install.c - the tracardi-api stand-in's installation: GET and POST /install */
#include "api.h"
#include "hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_SALT "standin-user-salt:"

/* schema_ok and admin_ok the way the real installation check computes them. */
void api_install_status(struct api_ctx *api, int *schema_ok, int *admin_ok)
{
	long st;
	json_t *aliases = es_call(&api->es, "GET", "/_alias", NULL, &st);
	json_t *templates = es_call(&api->es, "GET", "/_index_template", NULL, &st);
	json_t *have = json_object();
	const char *index;
	json_t *v;
	json_object_foreach(aliases, index, v) {
		const char *a;
		json_t *x;
		json_object_foreach(json_object_get(v, "aliases"), a, x)
			json_object_set_new(have, a, json_true());
	}
	size_t i;
	json_array_foreach(json_object_get(templates, "index_templates"), i, v)
		json_object_set_new(have, json_string_value(json_object_get(v, "name")), json_true());
	*schema_ok = aliases != NULL;
	for (int prod = 0; prod < 2 && *schema_ok; prod++) {
		for (size_t k = 0; k < api->rel->nindices; k++) {
			const struct index_def *d = &api->rel->indices[k];
			char *alias = idx_alias_name(&api->nm, d, prod);
			if (!json_object_get(have, alias))
				*schema_ok = 0;
			free(alias);
			if (d->kind == IK_MULTI) {
				char *t = idx_template_name(&api->nm, d, prod);
				if (!json_object_get(have, t))
					*schema_ok = 0;
				free(t);
			}
		}
	}
	json_decref(aliases);
	json_decref(templates);
	json_decref(have);

	char *users = user_index_name(&api->nm);
	char *path = xasprintf("/%s/_search", users);
	json_t *q = json_pack("{s:{s:{s:s}}, s:i}", "query", "term", "roles", "admin", "size", 0);
	json_t *res = es_call(&api->es, "POST", path, q, &st);
	*admin_ok = st == 200 && json_integer_value(json_dotted(res, "hits.total.value")) > 0;
	json_decref(res);
	json_decref(q);
	free(path);
	free(users);
}

static int looks_like_email(const char *s)
{
	const char *at = strchr(s, '@');
	return at && at > s && strchr(at, '.') && at[1] != '.' && s[strlen(s) - 1] != '.';
}

void api_password_hash(const char *password, char out[41])
{
	char *salted = xasprintf(PASSWORD_SALT "%s", password);
	sha1_hex(salted, strlen(salted), out);
	free(salted);
}

/* Creates one context's templates, indices and aliases; failures are logged and skipped, as Tracardi does. */
static json_t *create_schema(struct api_ctx *api, int prod, long replicas, long shards, long conf_shards)
{
	json_t *templates = json_array(), *indices = json_array(), *aliases = json_array();
	long st;
	for (size_t k = 0; k < api->rel->nindices; k++) {
		const struct index_def *d = &api->rel->indices[k];
		char *write = idx_write_name(&api->nm, d, prod);
		char *alias = idx_alias_name(&api->nm, d, prod);
		json_t *meta = json_pack("{s:{s:s, s:s}, s:s}", "_meta", "version", api->nm.prefix, "name", api->nm.tenant,
					 "dynamic", "true");
		json_t *settings = json_pack("{s:i, s:i}", "number_of_shards", (int)(idx_data_shards(api->rel, d->name) ? shards : conf_shards),
					     "number_of_replicas", (int)replicas);
		if (d->kind == IK_MULTI) {
			char *tname = idx_template_name(&api->nm, d, prod);
			char *path = xasprintf("/_index_template/%s", tname);
			json_decref(es_call(&api->es, "HEAD", path, NULL, &st));
			if (st == 404) {
				char *pattern = idx_template_pattern(&api->nm, d, prod);
				json_t *body = json_pack("{s:[s], s:{s:O, s:O, s:{s:{}}}}", "index_patterns", pattern,
							 "template", "settings", settings, "mappings", meta, "aliases", alias);
				json_decref(es_call(&api->es, "PUT", path, body, &st));
				if (st == 200)
					json_array_append_new(templates, json_string(tname));
				else
					logmsg("error: template '%s' not created (HTTP %ld)", tname, st);
				json_decref(body);
				free(pattern);
			}
			free(path);
			free(tname);
		}
		char *path = xasprintf("/%s", write);
		json_decref(es_call(&api->es, "HEAD", path, NULL, &st));
		if (st == 404) {
			char *apath = xasprintf("/%s", alias);
			long ast;
			json_decref(es_call(&api->es, "HEAD", apath, NULL, &ast));
			free(apath);
			if (ast == 200 && d->kind != IK_STATIC) {
				logmsg("error: index '%s' not created: alias '%s' already exists elsewhere", write, alias);
			} else {
				json_t *body = json_pack("{s:O, s:O, s:{s:{}}}", "settings", settings, "mappings", meta,
							 "aliases", alias);
				json_t *r = es_call(&api->es, "PUT", path, body, &st);
				if (st == 200) {
					json_array_append_new(indices, json_string(write));
				} else {
					const char *why = json_string_value(json_dotted(r, "error.reason"));
					logmsg("error: index '%s' was not created: %s", write, why ? why : "no answer");
				}
				json_decref(r);
				json_decref(body);
			}
		}
		free(path);
		char *alias_path = xasprintf("/_alias/%s", alias);
		json_decref(es_call(&api->es, "HEAD", alias_path, NULL, &st));
		if (st == 404) {
			json_t *act = json_pack("{s:[{s:{s:s, s:s}}]}", "actions", "add", "index", write, "alias", alias);
			json_decref(es_call(&api->es, "POST", "/_aliases", act, &st));
			if (st == 200)
				json_array_append_new(aliases, json_string(alias));
			json_decref(act);
		}
		free(alias_path);
		json_decref(meta);
		json_decref(settings);
		free(write);
		free(alias);
	}
	return json_pack("{s:{s:o, s:o, s:o}, s:b}", "created", "templates", templates, "indices", indices,
			 "aliases", aliases, "admin", 0);
}

static int ensure_admin(struct api_ctx *api, const char *email, const char *password)
{
	long st;
	char *users = user_index_name(&api->nm);
	char *path = xasprintf("/%s/_search", users);
	json_t *q = json_pack("{s:{s:{s:s}}, s:i}", "query", "term", "roles", "admin", "size", 0);
	json_t *res = es_call(&api->es, "POST", path, q, &st);
	int have = st == 200 && json_integer_value(json_dotted(res, "hits.total.value")) > 0;
	json_decref(res);
	json_decref(q);
	free(path);
	if (!have) {
		char id[37], hash[41];
		random_uuid(id);
		api_password_hash(password, hash);
		json_t *user = json_pack("{s:s, s:s, s:s, s:s, s:[s,s], s:b, s:n, s:{}}", "id", id, "password", hash,
					 "full_name", "Default Admin", "email", email, "roles", "admin", "maintainer",
					 "disabled", 0, "expiration_timestamp", "preference");
		path = xasprintf("/%s/_doc/%s", users, id);
		json_decref(es_call(&api->es, "PUT", path, user, &st));
		free(path);
		json_decref(user);
		if (st == 200 || st == 201)
			logmsg("default admin account created");
		else
			logmsg("error: admin account not created (HTTP %ld)", st);
	} else {
		logmsg("an admin account exists; none created");
	}
	free(users);
	return 1;
}

static json_t *install_plugins(struct api_ctx *api)
{
	static const char *const plugins[] = { "standin.plugin.start", "standin.plugin.end", "standin.plugin.debug" };
	json_t *reg = json_array(), *bad = json_array();
	const struct index_def *d = idx_by_name(api->rel, "tracardi-flow-action-plugins");
	for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++) {
		if (!d) {
			json_array_append_new(reg, json_string(plugins[i]));
			continue;
		}
		char *write = idx_write_name(&api->nm, d, 0);
		char *path = xasprintf("/%s/_doc/%s", write, plugins[i]);
		json_t *doc = json_pack("{s:s, s:{s:s}}", "id", plugins[i], "plugin", "module", plugins[i]);
		long st;
		json_decref(es_call(&api->es, "PUT", path, doc, &st));
		json_array_append_new(st == 200 || st == 201 ? reg : bad, json_string(plugins[i]));
		json_decref(doc);
		free(path);
		free(write);
	}
	return json_pack("{s:o, s:o}", "registered", reg, "error", bad);
}

void api_install(struct api_ctx *api, const struct http_req *req, struct http_resp *resp)
{
	json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
	static const char *const fields[] = { "username", "password", "token", "needs_admin" };
	const char *missing[5];
	int nm = 0;
	for (int i = 0; i < 4; i++)
		if (!json_object_get(body, fields[i]))
			missing[nm++] = fields[i];
	missing[nm] = NULL;
	if (nm) {
		json_decref(body);
		api_missing(api, resp, "body", missing);
		return;
	}
	const char *username = json_string_value(json_object_get(body, "username"));
	const char *password = json_string_value(json_object_get(body, "password"));
	const char *token = json_string_value(json_object_get(body, "token"));
	int needs_admin = json_is_true(json_object_get(body, "needs_admin"));
	if (!username || !password || !token) {
		json_decref(body);
		api_detail(resp, 422, "username, password and token must be strings");
		return;
	}
	if (*api->install_token && strcmp(api->install_token, token) != 0) {
		json_decref(body);
		logmsg("install refused: wrong installation token");
		api_detail(resp, 403, "Installation forbidden: the installation token is not valid.");
		return;
	}
	if (needs_admin && (!*username || !*password || !looks_like_email(username))) {
		json_decref(body);
		api_detail(resp, 403, "Installation forbidden: the admin login must be an e-mail address and the "
				      "password must not be empty.");
		return;
	}
	long st;
	json_t *health = es_call(&api->es, "GET", "/_cluster/health", NULL, &st);
	if (st != 200) {
		json_decref(health);
		json_decref(body);
		api_internal_error(resp, "elasticsearch unreachable during install");
		return;
	}
	long replicas = env_long("ELASTIC_INDEX_REPLICAS", 1);
	if (json_integer_value(json_object_get(health, "number_of_data_nodes")) == 1) {
		/* Tracardi drops replicas on a single data node */
		replicas = 0;
		logmsg("one data node: replicas decreased to 0");
	}
	json_decref(health);
	long shards = env_long("ELASTIC_INDEX_SHARDS", 3);
	long conf_shards = env_long("ELASTIC_CONF_INDEX_SHARDS", 1);

	json_t *staging = create_schema(api, 0, replicas, shards, conf_shards);
	if (needs_admin)
		ensure_admin(api, username, password);
	json_object_set_new(staging, "admin", json_true());
	json_t *production = create_schema(api, 1, replicas, shards, conf_shards);
	json_t *plugins = install_plugins(api);
	json_object_set(staging, "plugins", plugins);
	json_object_set_new(production, "plugins", plugins);
	json_decref(body);
	logmsg("install finished");
	resp_json(resp, 200, json_pack("[o, o]", staging, production));
}

