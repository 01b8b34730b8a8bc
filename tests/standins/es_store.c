/* es_store.c - the Elasticsearch stand-in's state: indices, aliases, documents, templates, settings */
#include "es_store.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void random_id(char *out, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char hex[65];
	if (n > 32)
		n = 32;
	random_hex(hex, 2 * n);
	for (size_t i = 0; i < n; i++) {
		char pair[3] = { hex[2 * i], hex[2 * i + 1], 0 };
		out[i] = alphabet[strtol(pair, NULL, 16) & 63];
	}
	out[n] = '\0';
}

static const char *str_or(json_t *v, const char *def)
{
	const char *s = json_string_value(v);
	return s ? s : def;
}

json_t *es_error(int status, const char *type, const char *reason, json_t *extra)
{
	json_t *cause = json_pack("{s:s, s:s}", "type", type, "reason", reason);
	json_t *err = json_pack("{s:s, s:s}", "type", type, "reason", reason);
	if (extra) {
		json_object_update(cause, extra);
		json_object_update(err, extra);
		json_decref(extra);
	}
	json_object_set_new(err, "root_cause", json_pack("[o]", cause));
	/* root_cause first, as Elasticsearch prints it */
	json_t *ordered = json_object();
	json_object_set(ordered, "root_cause", json_object_get(err, "root_cause"));
	json_object_update_missing(ordered, err);
	json_decref(err);
	return json_pack("{s:o, s:i}", "error", ordered, "status", status);
}

json_t *es_index_not_found(const char *name)
{
	char reason[600];
	snprintf(reason, sizeof reason, "no such index [%s]", name);
	return es_error(404, "index_not_found_exception", reason,
			json_pack("{s:s, s:s, s:s, s:s}", "resource.type", "index_or_alias",
				  "resource.id", name, "index_uuid", "_na_", "index", name));
}

static void index_free(struct es_index *ix)
{
	if (!ix)
		return;
	free(ix->name);
	json_decref(ix->settings);
	json_decref(ix->mappings);
	json_decref(ix->aliases);
	json_decref(ix->docs);
	free(ix);
}

static long long doc_bytes(json_t *src)
{
	char *s = json_dumps(src, JSON_COMPACT);
	long long n = s ? (long long)strlen(s) : 0;
	free(s);
	return n;
}

static void add_index(struct es_store *st, struct es_index *ix)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 64;
		st->idx = xrealloc(st->idx, st->cap * sizeof *st->idx);
	}
	st->idx[st->n++] = ix;
}

struct es_index *es_find(struct es_store *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->idx[i]->name, name) == 0)
			return st->idx[i];
	return NULL;
}

int es_is_alias(struct es_store *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (json_object_get(st->idx[i]->aliases, name))
			return 1;
	return 0;
}

long es_open_shards(struct es_store *st)
{
	long total = 0;
	for (size_t i = 0; i < st->n; i++)
		total += (long)st->idx[i]->shards * (1 + st->idx[i]->replicas);
	return total;
}

long es_max_shards(struct es_store *st)
{
	/* transient wins over persistent, as in Elasticsearch; one data node */
	json_t *v = json_object_get(st->transient, "cluster.max_shards_per_node");
	if (!v)
		v = json_object_get(st->persistent, "cluster.max_shards_per_node");
	return json_long_any(v, 1000);
}

/* --- persistence --------------------------------------------------------------------- */

static json_t *index_to_json(const struct es_index *ix)
{
	return json_pack("{s:s, s:s, s:I, s:i, s:i, s:b, s:O, s:O, s:O, s:O, s:I}",
			 "name", ix->name, "uuid", ix->uuid, "created", (json_int_t)ix->created_ms,
			 "shards", ix->shards, "replicas", ix->replicas, "hidden", ix->hidden,
			 "settings", ix->settings, "mappings", ix->mappings, "aliases", ix->aliases,
			 "docs", ix->docs, "seq", (json_int_t)ix->seq);
}

static struct es_index *index_from_json(json_t *j)
{
	struct es_index *ix = xcalloc(1, sizeof *ix);
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *uuid = json_string_value(json_object_get(j, "uuid"));
	if (!name || !uuid) {
		free(ix);
		return NULL;
	}
	ix->name = xstrdup(name);
	snprintf(ix->uuid, sizeof ix->uuid, "%s", uuid);
	ix->created_ms = json_integer_value(json_object_get(j, "created"));
	ix->shards = (int)json_integer_value(json_object_get(j, "shards"));
	ix->replicas = (int)json_integer_value(json_object_get(j, "replicas"));
	ix->hidden = json_is_true(json_object_get(j, "hidden"));
	ix->settings = json_incref(json_object_get(j, "settings"));
	ix->mappings = json_incref(json_object_get(j, "mappings"));
	ix->aliases = json_incref(json_object_get(j, "aliases"));
	ix->docs = json_incref(json_object_get(j, "docs"));
	ix->seq = json_integer_value(json_object_get(j, "seq"));
	if (!ix->settings)
		ix->settings = json_object();
	if (!ix->mappings)
		ix->mappings = json_object();
	if (!ix->aliases)
		ix->aliases = json_object();
	if (!ix->docs)
		ix->docs = json_object();
	const char *id;
	json_t *d;
	json_object_foreach(ix->docs, id, d)
		ix->bytes += doc_bytes(json_object_get(d, "s"));
	return ix;
}

int es_store_save(struct es_store *st)
{
	json_t *root = json_pack("{s:i, s:s, s:s, s:O, s:O, s:[]}", "format", 1,
				 "cluster_uuid", st->cluster_uuid, "node_id", st->node_id,
				 "persistent", st->persistent, "templates", st->templates, "indices");
	json_t *arr = json_object_get(root, "indices");
	for (size_t i = 0; i < st->n; i++)
		json_array_append_new(arr, index_to_json(st->idx[i]));
	char *text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return -1;

	char *tmp = xasprintf("%s.tmp", st->state_path);
	int rc = -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t left = strlen(text);
		const char *p = text;
		while (left) {
			ssize_t w = write(fd, p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			p += w;
			left -= (size_t)w;
		}
		if (left == 0 && fsync(fd) == 0 && close(fd) == 0) {
			fd = -1;
			if (rename(tmp, st->state_path) == 0)
				rc = 0;
		}
		if (fd >= 0)
			close(fd);
	}
	if (rc == 0) {
		/* make the rename itself durable */
		char *dir = xstrdup(st->state_path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		free(dir);
	} else {
		logmsg("error: cannot write state '%s': %s", st->state_path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(text);
	return rc;
}

int es_store_open(struct es_store *st, const char *dir)
{
	memset(st, 0, sizeof *st);
	pthread_mutex_init(&st->lock, NULL);
	st->templates = json_object();
	st->persistent = json_object();
	st->transient = json_object();
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		logmsg("error: cannot create data directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	st->state_path = xasprintf("%s/standin-es-state.json", dir);
	if (gethostname(st->node_name, sizeof st->node_name) != 0)
		snprintf(st->node_name, sizeof st->node_name, "standin-es");

	json_error_t jerr;
	json_t *root = json_load_file(st->state_path, 0, &jerr);
	if (!root) {
		if (access(st->state_path, F_OK) == 0) {
			logmsg("error: state file '%s' is unreadable: %s", st->state_path, jerr.text);
			return -1;
		}
		random_id(st->cluster_uuid, 22);
		random_id(st->node_id, 22);
		logmsg("new empty cluster in '%s'", dir);
		return es_store_save(st);
	}
	snprintf(st->cluster_uuid, sizeof st->cluster_uuid, "%s",
		 str_or(json_object_get(root, "cluster_uuid"), ""));
	snprintf(st->node_id, sizeof st->node_id, "%s",
		 str_or(json_object_get(root, "node_id"), ""));
	if (json_is_object(json_object_get(root, "persistent")))
		json_object_update(st->persistent, json_object_get(root, "persistent"));
	if (json_is_object(json_object_get(root, "templates")))
		json_object_update(st->templates, json_object_get(root, "templates"));
	size_t i;
	json_t *j;
	json_array_foreach(json_object_get(root, "indices"), i, j) {
		struct es_index *ix = index_from_json(j);
		if (ix)
			add_index(st, ix);
	}
	json_decref(root);
	logmsg("loaded %zu indices from '%s'", st->n, dir);
	return 0;
}

/* --- names ---------------------------------------------------------------------------- */

static int valid_index_name(const char *name, char *why, size_t n)
{
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(why, n, "must not be '.' or '..'");
		return 0;
	}
	if (strlen(name) > 255) {
		snprintf(why, n, "index name is too long, (%zu > 255)", strlen(name));
		return 0;
	}
	if (name[0] == '_' || name[0] == '-' || name[0] == '+') {
		snprintf(why, n, "must not start with '_', '-', or '+'");
		return 0;
	}
	for (const char *p = name; *p; p++) {
		if (*p >= 'A' && *p <= 'Z') {
			snprintf(why, n, "must be lowercase");
			return 0;
		}
		if (strchr("\\/*?\"<>| ,#:", *p)) {
			snprintf(why, n, "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]");
			return 0;
		}
	}
	return 1;
}

static void push_unique(struct es_index ***out, size_t *n, size_t *cap, struct es_index *ix)
{
	for (size_t i = 0; i < *n; i++)
		if ((*out)[i] == ix)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*out = xrealloc(*out, *cap * sizeof **out);
	}
	(*out)[(*n)++] = ix;
}

int es_resolve(struct es_store *st, const char *expr, int ignore_missing, int flags,
	       struct es_index ***out, size_t *n, json_t **err)
{
	int include_hidden = flags & RESOLVE_HIDDEN;
	size_t cap = 0;
	char *copy = xstrdup(expr && *expr ? expr : "_all");
	char *save = NULL;
	*out = NULL;
	*n = 0;
	*err = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "_all") == 0 || strchr(tok, '*')) {
			const char *pat = strcmp(tok, "_all") == 0 ? "*" : tok;
			int dot_pattern = pat[0] == '.';
			for (size_t i = 0; i < st->n; i++) {
				struct es_index *ix = st->idx[i];
				if (ix->hidden && !include_hidden && !dot_pattern)
					continue;
				if (glob_match(pat, ix->name)) {
					push_unique(out, n, &cap, ix);
					continue;
				}
				if (flags & RESOLVE_NO_ALIASES)
					continue;
				const char *alias;
				json_t *v;
				json_object_foreach(ix->aliases, alias, v)
					if (glob_match(pat, alias))
						push_unique(out, n, &cap, ix);
			}
			continue;
		}
		struct es_index *ix = es_find(st, tok);
		if (ix) {
			push_unique(out, n, &cap, ix);
			continue;
		}
		int found = 0;
		for (size_t i = 0; i < st->n; i++)
			if (json_object_get(st->idx[i]->aliases, tok)) {
				push_unique(out, n, &cap, st->idx[i]);
				found = 1;
			}
		if (!found && !ignore_missing) {
			*err = es_index_not_found(tok);
			free(copy);
			free(*out);
			*out = NULL;
			*n = 0;
			return -1;
		}
	}
	free(copy);
	return 0;
}

/* --- index lifecycle ------------------------------------------------------------------ */

/* Reads a setting given as "index.x", "x" or nested {"index":{"x":…}}. */
static json_t *setting_get(json_t *settings, const char *key)
{
	char flat[128];
	json_t *v = json_object_get(settings, key);
	if (v)
		return v;
	snprintf(flat, sizeof flat, "index.%s", key);
	if ((v = json_object_get(settings, flat)) != NULL)
		return v;
	return json_object_get(json_object_get(settings, "index"), key);
}

static json_t *match_template(struct es_store *st, const char *name)
{
	const char *tname;
	json_t *t, *best = NULL;
	long best_prio = -1;
	json_object_foreach(st->templates, tname, t) {
		size_t i;
		json_t *pat;
		json_array_foreach(json_object_get(t, "index_patterns"), i, pat) {
			const char *p = json_string_value(pat);
			long prio = json_long_any(json_object_get(t, "priority"), 0);
			if (p && glob_match(p, name) && prio > best_prio) {
				best = t;
				best_prio = prio;
			}
		}
	}
	return best;
}

struct es_index *es_create_index(struct es_store *st, const char *name, json_t *body,
				 json_t **err, int *status)
{
	char why[160], reason[700];
	*err = NULL;
	if (!valid_index_name(name, why, sizeof why)) {
		snprintf(reason, sizeof reason, "Invalid index name [%s], %s", name, why);
		*status = 400;
		*err = es_error(400, "invalid_index_name_exception", reason,
				json_pack("{s:s, s:s}", "index_uuid", "_na_", "index", name));
		return NULL;
	}
	struct es_index *existing = es_find(st, name);
	if (existing) {
		snprintf(reason, sizeof reason, "index [%s/%s] already exists", name, existing->uuid);
		*status = 400;
		*err = es_error(400, "resource_already_exists_exception", reason,
				json_pack("{s:s, s:s}", "index_uuid", existing->uuid, "index", name));
		return NULL;
	}
	if (es_is_alias(st, name)) {
		snprintf(reason, sizeof reason, "Invalid index name [%s], already exists as alias", name);
		*status = 400;
		*err = es_error(400, "invalid_index_name_exception", reason,
				json_pack("{s:s, s:s}", "index_uuid", "_na_", "index", name));
		return NULL;
	}

	json_t *tmpl = match_template(st, name);
	json_t *tsettings = json_object_get(json_object_get(tmpl, "template"), "settings");
	json_t *bsettings = json_object_get(body, "settings");
	json_t *v;
	long shards = 1, replicas = 1;
	if ((v = setting_get(tsettings, "number_of_shards")) != NULL)
		shards = json_long_any(v, 1);
	if ((v = setting_get(tsettings, "number_of_replicas")) != NULL)
		replicas = json_long_any(v, 1);
	if ((v = setting_get(bsettings, "number_of_shards")) != NULL)
		shards = json_long_any(v, 1);
	if ((v = setting_get(bsettings, "number_of_replicas")) != NULL)
		replicas = json_long_any(v, 1);
	if (shards < 1 || shards > 1024 || replicas < 0 || replicas > 100) {
		*status = 400;
		*err = es_error(400, "illegal_argument_exception",
				"Failed to parse value for setting [index.number_of_shards]", NULL);
		return NULL;
	}

	long add = shards * (1 + replicas);
	long current = es_open_shards(st);
	long max = es_max_shards(st);
	if (current + add > max) {
		snprintf(reason, sizeof reason,
			 "Validation Failed: 1: this action would add [%ld] total shards, but this cluster "
			 "currently has [%ld]/[%ld] maximum shards open;", add, current, max);
		*status = 400;
		*err = es_error(400, "validation_exception", reason, NULL);
		return NULL;
	}

	struct es_index *ix = xcalloc(1, sizeof *ix);
	ix->name = xstrdup(name);
	random_id(ix->uuid, 22);
	ix->created_ms = now_ms();
	ix->shards = (int)shards;
	ix->replicas = (int)replicas;
	ix->settings = json_object();
	ix->mappings = json_object();
	ix->aliases = json_object();
	ix->docs = json_object();
	json_t *hidden = setting_get(bsettings, "hidden");
	ix->hidden = json_is_true(hidden) || (json_is_string(hidden) && strcmp(json_string_value(hidden), "true") == 0);
	if (tmpl) {
		json_t *t = json_object_get(tmpl, "template");
		if (json_is_object(json_object_get(t, "mappings")))
			json_object_update(ix->mappings, json_object_get(t, "mappings"));
		if (json_is_object(json_object_get(t, "aliases")))
			json_object_update(ix->aliases, json_object_get(t, "aliases"));
	}
	if (json_is_object(json_object_get(body, "mappings")))
		json_object_update(ix->mappings, json_object_get(body, "mappings"));
	if (json_is_object(json_object_get(body, "aliases")))
		json_object_update(ix->aliases, json_object_get(body, "aliases"));
	if (json_is_object(bsettings))
		json_object_set(ix->settings, "index", bsettings);
	add_index(st, ix);
	*status = 200;
	return ix;
}

void es_delete_index(struct es_store *st, struct es_index *ix)
{
	for (size_t i = 0; i < st->n; i++) {
		if (st->idx[i] == ix) {
			memmove(&st->idx[i], &st->idx[i + 1], (st->n - i - 1) * sizeof *st->idx);
			st->n--;
			break;
		}
	}
	index_free(ix);
}

struct es_index *es_write_target(struct es_store *st, const char *name, json_t **err, int *status)
{
	struct es_index *ix = es_find(st, name);
	*err = NULL;
	if (ix)
		return ix;
	struct es_index *only = NULL, *writer = NULL;
	int count = 0;
	for (size_t i = 0; i < st->n; i++) {
		json_t *props = json_object_get(st->idx[i]->aliases, name);
		if (!props)
			continue;
		count++;
		only = st->idx[i];
		if (json_is_true(json_object_get(props, "is_write_index")))
			writer = st->idx[i];
	}
	if (writer)
		return writer;
	if (count == 1)
		return only;
	if (count > 1) {
		char reason[700];
		snprintf(reason, sizeof reason,
			 "no write index is defined for alias [%s]. The write index may be explicitly "
			 "disabled using is_write_index=false or the alias points to multiple indices "
			 "without one being designated as a write index", name);
		*status = 400;
		*err = es_error(400, "illegal_argument_exception", reason, NULL);
		return NULL;
	}
	/* automatic index creation, templates applied */
	json_t *body = NULL;
	if (name[0] == '.')
		body = json_pack("{s:{s:b}}", "settings", "index.hidden", 1);
	ix = es_create_index(st, name, body, err, status);
	json_decref(body);
	return ix;
}

/* --- documents ------------------------------------------------------------------------ */

int es_doc_put(struct es_index *ix, const char *id, json_t *src, int op_create,
	       char *id_out, size_t id_len, long *version, long long *seq)
{
	char gen[21];
	if (!id) {
		random_id(gen, 20);
		id = gen;
	}
	snprintf(id_out, id_len, "%s", id);
	json_t *old = json_object_get(ix->docs, id);
	if (old && op_create)
		return 409;
	long v = old ? (long)json_integer_value(json_object_get(old, "v")) + 1 : 1;
	if (old)
		ix->bytes -= doc_bytes(json_object_get(old, "s"));
	ix->bytes += doc_bytes(src);
	*version = v;
	*seq = ix->seq++;
	json_object_set_new(ix->docs, id, json_pack("{s:i, s:I, s:O}", "v", (int)v, "q", (json_int_t)*seq, "s", src));
	return old ? 200 : 201;
}

int es_doc_delete(struct es_index *ix, const char *id)
{
	json_t *old = json_object_get(ix->docs, id);
	if (!old)
		return 404;
	ix->bytes -= doc_bytes(json_object_get(old, "s"));
	json_object_del(ix->docs, id);
	ix->seq++;
	return 200;
}

/* --- queries -------------------------------------------------------------------------- */

static int values_equal(json_t *want, json_t *have)
{
	if (json_is_array(have)) {
		size_t i;
		json_t *e;
		json_array_foreach(have, i, e)
			if (values_equal(want, e))
				return 1;
		return 0;
	}
	if (json_is_string(want) && !json_is_string(have)) {
		/* term on a keyword given as a number or bool still matches its text form */
		char *h = json_dumps(have, JSON_ENCODE_ANY);
		int eq = h && strcmp(h, json_string_value(want)) == 0;
		free(h);
		return eq;
	}
	return json_equal(want, have);
}

static int field_clause(json_t *clause, json_t *src, int wildcard)
{
	const char *field;
	json_t *want;
	json_object_foreach(clause, field, want) {
		if (json_is_object(want))
			want = json_object_get(want, json_object_get(want, "value") ? "value" : "query");
		json_t *have = json_dotted(src, field);
		if (!have || !want)
			return 0;
		if (wildcard) {
			if (!json_is_string(want) || !json_is_string(have) ||
			    !glob_match(json_string_value(want), json_string_value(have)))
				return 0;
		} else if (!values_equal(want, have)) {
			return 0;
		}
	}
	return 1;
}

static int each_match(json_t *clauses, json_t *src, const char *id, int need_all)
{
	if (json_is_object(clauses))
		return es_query_match(clauses, src, id);
	size_t i;
	json_t *c;
	int any = 0;
	json_array_foreach(clauses, i, c) {
		int m = es_query_match(c, src, id);
		if (need_all && !m)
			return 0;
		any |= m;
	}
	return need_all ? 1 : any;
}

int es_query_match(json_t *query, json_t *src, const char *id)
{
	json_t *q;
	if (!query || json_object_size(query) == 0 || json_object_get(query, "match_all"))
		return 1;
	if ((q = json_object_get(query, "term")) != NULL || (q = json_object_get(query, "match")) != NULL ||
	    (q = json_object_get(query, "match_phrase")) != NULL)
		return field_clause(q, src, 0);
	if ((q = json_object_get(query, "wildcard")) != NULL)
		return field_clause(q, src, 1);
	if ((q = json_object_get(query, "terms")) != NULL) {
		const char *field;
		json_t *vals;
		json_object_foreach(q, field, vals) {
			size_t i;
			json_t *v;
			json_t *have = json_dotted(src, field);
			json_array_foreach(vals, i, v)
				if (have && values_equal(v, have))
					return 1;
		}
		return 0;
	}
	if ((q = json_object_get(query, "ids")) != NULL) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(q, "values"), i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
				return 1;
		return 0;
	}
	if ((q = json_object_get(query, "exists")) != NULL) {
		const char *f = json_string_value(json_object_get(q, "field"));
		return f && json_dotted(src, f) && !json_is_null(json_dotted(src, f));
	}
	if ((q = json_object_get(query, "bool")) != NULL) {
		json_t *c;
		if ((c = json_object_get(q, "must")) != NULL && !each_match(c, src, id, 1))
			return 0;
		if ((c = json_object_get(q, "filter")) != NULL && !each_match(c, src, id, 1))
			return 0;
		if ((c = json_object_get(q, "must_not")) != NULL) {
			if (json_is_object(c) ? es_query_match(c, src, id) : each_match(c, src, id, 0))
				return 0;
		}
		if ((c = json_object_get(q, "should")) != NULL &&
		    !json_object_get(q, "must") && !json_object_get(q, "filter") &&
		    !(json_is_array(c) && json_array_size(c) == 0) && !each_match(c, src, id, 0))
			return 0;
		return 1;
	}
	return 0;  /* unsupported query types match nothing rather than everything */
}
