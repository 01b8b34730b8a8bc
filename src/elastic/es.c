/* es.c - the Elasticsearch REST calls: capped answers, defensive JSON, errors as data. */
#include "elastic/es.h"

#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry/auth.h"
#include "util/b64.h"
#include "util/http.h"
#include "util/xalloc.h"

/* The Authorization header line, or NULL without credentials; the caller
 * frees it with secret_free. */
static char *auth_header(const struct es_conn *c)
{
    if (c->api_key) {
        /* "id:key" is encoded here; a key without ':' is taken as already encoded. */
        if (!strchr(c->api_key, ':'))
            return xasprintf("Authorization: ApiKey %s", c->api_key);
        char *enc = b64_encode(c->api_key, strlen(c->api_key), B64_STD);
        char *h = xasprintf("Authorization: ApiKey %s", enc);
        secret_free(enc);
        return h;
    }
    if (!c->user && !c->password)
        return NULL;
    char *pair = xasprintf("%s:%s", c->user ? c->user : "", c->password ? c->password : "");
    char *enc = b64_encode(pair, strlen(pair), B64_STD);
    secret_free(pair);
    char *h = xasprintf("Authorization: Basic %s", enc);
    secret_free(enc);
    return h;
}

/* Fills err from an error answer. Elasticsearch sends
 * {"error":{"type":..,"reason":..,"root_cause":[..]},"status":N}, older or
 * proxied answers {"error":"text"} or no JSON at all. */
static int fail_status(struct tu_err *err, const char *method, const char *path, long status,
                       const struct http_resp *resp)
{
    json_t *j = resp->body.len ? json_loadb(resp->body.data, resp->body.len, JSON_DECODE_ANY, NULL) : NULL;
    json_t *e = json_object_get(j, "error");
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *reason = json_string_value(json_object_get(e, "reason"));
    if (!reason)
        reason = json_string_value(e);
    enum tu_err_kind kind = status == 404 ? TU_ERR_NOT_FOUND : status == 409 ? TU_ERR_CONFLICT : TU_ERR_HTTP;
    tu_err_set(err, kind, "elasticsearch answered HTTP %ld to %s %.300s%s%.80s%s%.300s", status, method, path,
               type || reason ? ": " : "", type ? type : "", type && reason ? ": " : "", reason ? reason : "");
    if (err)
        err->status = status;
    if (status == 401)
        tu_err_hint(err, "check ELASTIC_HTTP_AUTH_USERNAME/PASSWORD or ELASTIC_API_KEY_ID/ELASTIC_API_KEY of the api "
                         "container");
    else if (status == 403)
        tu_err_hint(err, "the elasticsearch user lacks a privilege this call needs (monitor, or manage to delete)");
    json_decref(j);
    return -1;
}

/* One call. Returns the parsed JSON answer of a 2xx status (the caller
 * decrefs), or NULL with err set. */
static json_t *es_call_body(const struct es_conn *c, const char *method, const char *path, const char *body,
                            size_t default_cap, struct tu_err *err)
{
    char *url = xasprintf("%s%s", c->base, path);
    char *auth = auth_header(c);
    const char *headers[] = {auth, NULL};
    struct http_req req = {
        .method = method,
        .url = url,
        .headers = auth ? headers : NULL,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : ES_DEFAULT_TIMEOUT_MS,
        .max_body = c->max_body ? c->max_body : default_cap,
        .ca_file = c->ca_file,
        .insecure = c->insecure,
    };
    struct http_resp resp;
    json_t *j = NULL;
    if (http_do(&req, &resp, err) < 0) {
        if (err && err->kind == TU_ERR_TOO_BIG)
            tu_err_hint(err, "elasticsearch answered %s %s with more than tracup accepts", method, path);
    } else if (resp.status < 200 || resp.status >= 300) {
        fail_status(err, method, path, resp.status, &resp);
    } else {
        json_error_t je;
        j = resp.body.len ? json_loadb(resp.body.data, resp.body.len, JSON_DECODE_ANY, &je) : NULL;
        if (!j)
            tu_err_set(err, TU_ERR_PROTOCOL, "elasticsearch did not answer %s %.300s with JSON", method, path);
    }
    http_resp_free(&resp);
    secret_free(auth);
    free(url);
    return j;
}

static json_t *es_call(const struct es_conn *c, const char *method, const char *path, size_t default_cap,
                       struct tu_err *err)
{
    return es_call_body(c, method, path, NULL, default_cap, err);
}

/* Reads a count Elasticsearch sends as a JSON integer or as a decimal string
 * ("12"). Returns 0 with *out set, 1 when null or absent, -1 when it is neither. */
static int json_count(const json_t *v, int64_t *out)
{
    if (!v || json_is_null(v))
        return 1;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return -1;
        *out = (int64_t)i;
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > 19)
        return -1;
    int64_t n = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        int d = *s - '0';
        if (n > (INT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

/* A required count that must fit a long. */
static int get_long(const json_t *obj, const char *key, long *out)
{
    int64_t v = 0;
    if (json_count(json_object_get(obj, key), &v) != 0 || v > LONG_MAX)
        return -1;
    *out = (long)v;
    return 0;
}

/* Copies a JSON string into a fixed field; -1 when absent, not a string or too long. */
static int get_str(const json_t *obj, const char *key, char *dst, size_t cap)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n >= cap)
        return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

int es_health(const struct es_conn *c, struct es_health *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *j = es_call(c, "GET", "/_cluster/health", ES_BODY_MAX, err);
    if (!j)
        return -1;
    int rc = 0;
    if (!json_is_object(j) || get_str(j, "status", out->status, sizeof(out->status)) < 0 ||
        get_long(j, "number_of_nodes", &out->number_of_nodes) < 0 ||
        get_long(j, "number_of_data_nodes", &out->number_of_data_nodes) < 0 ||
        get_long(j, "active_shards", &out->active_shards) < 0) {
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "GET /_cluster/health answered without status, node and shard counts");
        memset(out, 0, sizeof(*out));
    } else {
        /* Optional: only for display. */
        if (get_str(j, "cluster_name", out->cluster_name, sizeof(out->cluster_name)) < 0)
            out->cluster_name[0] = '\0';
        if (get_long(j, "active_primary_shards", &out->active_primary_shards) < 0)
            out->active_primary_shards = 0;
        if (get_long(j, "unassigned_shards", &out->unassigned_shards) < 0)
            out->unassigned_shards = 0;
    }
    json_decref(j);
    return rc;
}

#define MAX_SHARDS_KEY "cluster.max_shards_per_node"

/* The setting in one section, flat ("cluster.max_shards_per_node") or nested
 * (when flat_settings was ignored); borrowed from section, NULL when absent or null. */
static const json_t *shard_setting(const json_t *section)
{
    const json_t *v = json_object_get(section, MAX_SHARDS_KEY);
    if (!v)
        v = json_object_get(json_object_get(section, "cluster"), "max_shards_per_node");
    return v && !json_is_null(v) ? v : NULL;
}

int es_max_shards_per_node(const struct es_conn *c, long *out, const char **source, struct tu_err *err)
{
    static const char *const order[] = {"transient", "persistent", "defaults"};
    const char *path = "/_cluster/settings?include_defaults=true&flat_settings=true";
    *out = ES_DEFAULT_MAX_SHARDS_PER_NODE;
    if (source)
        *source = "builtin";
    json_t *j = es_call(c, "GET", path, ES_BODY_MAX, err);
    if (!j)
        return -1;
    int rc = 0;
    if (!json_is_object(j)) {
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "GET /_cluster/settings did not answer with an object");
        goto out;
    }
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const json_t *v = shard_setting(json_object_get(j, order[i]));
        if (!v)
            continue;
        int64_t n = 0;
        if (json_count(v, &n) != 0 || n < 1 || n > INT32_MAX) {
            rc = tu_err_set(err, TU_ERR_PROTOCOL, "the %s setting %s is not a positive number", order[i],
                            MAX_SHARDS_KEY);
            goto out;
        }
        *out = (long)n;
        if (source)
            *source = order[i];
        break;
    }
out:
    json_decref(j);
    return rc;
}

int64_t es_shards_open(const struct es_index *v, size_t n)
{
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].status, "open") != 0 || v[i].pri < 0 || v[i].rep < 0)
            continue;
        /* pri and rep come from a parsed listing: small, but saturate anyway. */
        int64_t pri = v[i].pri, rep = v[i].rep;
        if (pri == 0)
            continue;
        if (rep == INT64_MAX)
            return INT64_MAX;
        int64_t copies = rep + 1;
        if (copies > (INT64_MAX - sum) / pri)
            return INT64_MAX;
        sum += pri * copies;
    }
    return sum;
}

/* One row of _cat/indices; -1 when a required column is missing or garbled. */
static int index_row(const json_t *row, struct es_index *x)
{
    memset(x, 0, sizeof(*x));
    if (!json_is_object(row) || get_str(row, "index", x->name, sizeof(x->name)) < 0 || !x->name[0])
        return -1;
    if (get_str(row, "status", x->status, sizeof(x->status)) < 0)
        return -1;
    const json_t *h = json_object_get(row, "health");
    if (h && !json_is_null(h) && get_str(row, "health", x->health, sizeof(x->health)) < 0)
        return -1;
    if (get_long(row, "pri", &x->pri) < 0 || get_long(row, "rep", &x->rep) < 0)
        return -1;
    x->docs_count = -1;
    x->store_bytes = -1;
    if (json_count(json_object_get(row, "docs.count"), &x->docs_count) < 0 ||
        json_count(json_object_get(row, "store.size"), &x->store_bytes) < 0)
        return -1;
    return 0;
}

int es_indices(const struct es_conn *c, struct es_index **out, size_t *n, struct tu_err *err)
{
    const char *path = "/_cat/indices?format=json&bytes=b&expand_wildcards=all"
                       "&h=health,status,index,pri,rep,docs.count,store.size";
    *out = NULL;
    *n = 0;
    json_t *j = es_call(c, "GET", path, ES_CAT_BODY_MAX, err);
    if (!j)
        return -1;
    int rc = 0;
    struct es_index *v = NULL;
    size_t count = json_array_size(j);
    if (!json_is_array(j)) {
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "GET /_cat/indices did not answer with an array");
        goto out;
    }
    if (count > ES_INDICES_MAX) {
        rc = tu_err_set(err, TU_ERR_TOO_BIG, "elasticsearch lists %zu indices, more than the %d tracup handles",
                        count, ES_INDICES_MAX);
        goto out;
    }
    if (count > 0)
        v = xcalloc(count, sizeof(*v));
    for (size_t i = 0; i < count; i++) {
        if (index_row(json_array_get(j, i), &v[i]) < 0) {
            const char *name = json_string_value(json_object_get(json_array_get(j, i), "index"));
            rc = tu_err_set(err, TU_ERR_PROTOCOL,
                            "GET /_cat/indices: row %zu (index '%.255s') lacks a column or has a garbled one", i,
                            name ? name : "?");
            free(v);
            v = NULL;
            goto out;
        }
    }
    *out = v;
    *n = count;
out:
    json_decref(j);
    return rc;
}

/* Index names and patterns go into the path; these bytes pass as they are,
 * every other one is %-escaped. */
static int path_safe(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
           ch == '_' || ch == '.' || ch == '*' || ch == ',' || ch == '+';
}

/* The %-escaped path segment for an index name or pattern (the caller frees),
 * or NULL when it is empty, too long, or holds '/', '?', '#', spaces or
 * control characters. */
static char *index_segment(const char *index)
{
    size_t n = index ? strlen(index) : 0;
    if (n == 0 || n > 4096)
        return NULL;
    char *out = xmalloc(n * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)index[i];
        if (ch <= ' ' || ch == 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '\\') {
            free(out);
            return NULL;
        }
        if (path_safe(ch)) {
            out[o++] = (char)ch;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
    return out;
}

int es_count(const struct es_conn *c, const char *index, int64_t *out, struct tu_err *err)
{
    *out = 0;
    char *seg = index_segment(index);
    if (!seg)
        return tu_err_set(err, TU_ERR_USAGE, "'%.255s' is not an index name or pattern", index ? index : "");
    char *path = xasprintf("/%s/_count", seg);
    free(seg);
    int rc = 0;
    json_t *j = es_call(c, "GET", path, ES_BODY_MAX, err);
    if (!j) {
        rc = -1;
    } else if (json_count(json_object_get(j, "count"), out) != 0) {
        *out = 0;
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "GET %.300s answered without a count", path);
    }
    json_decref(j);
    free(path);
    return rc;
}

int es_count_or_absent(const struct es_conn *c, const char *index, int64_t *out, struct tu_err *err)
{
    struct tu_err ce;
    tu_err_clear(&ce);
    if (es_count(c, index, out, &ce) == 0)
        return 0;
    /* fail_status writes "… GET /{index}/_count: {type}: …"; index names never hold a '/'. */
    if (ce.kind == TU_ERR_NOT_FOUND && strstr(ce.msg, "/_count: index_not_found_exception")) {
        *out = 0;
        return 0;
    }
    if (err)
        *err = ce;
    return -1;
}

int es_delete_index(const struct es_conn *c, const char *index, struct tu_err *err)
{
    size_t n = index ? strlen(index) : 0;
    if (n == 0 || n > 255 || strpbrk(index, "*?,") || index[0] == '_' || index[0] == '-' || index[0] == '+' ||
        strcmp(index, ".") == 0 || strcmp(index, "..") == 0)
        return tu_err_set(err, TU_ERR_USAGE, "'%.255s' is not one concrete index name", index ? index : "");
    /* System and hidden indices are never tracup's to delete. */
    if (index[0] == '.')
        return tu_err_set(err, TU_ERR_REFUSED, "refusing to delete the system index '%.255s'", index);
    char *seg = index_segment(index);
    if (!seg)
        return tu_err_set(err, TU_ERR_USAGE, "'%.255s' is not one concrete index name", index);
    char *path = xasprintf("/%s", seg);
    free(seg);
    int rc = 0;
    json_t *j = es_call(c, "DELETE", path, ES_BODY_MAX, err);
    if (!j) {
        rc = -1;
    } else if (!json_is_true(json_object_get(j, "acknowledged"))) {
        rc = tu_err_set(err, TU_ERR_TIMEOUT, "elasticsearch did not acknowledge deleting index '%.255s' in time",
                        index);
        tu_err_hint(err, "the delete may still complete: list the indices again before retrying");
    }
    json_decref(j);
    free(path);
    return rc;
}

int es_reindex_start(const struct es_conn *c, const char *from, const char *to, const char *script, char **task,
                     struct tu_err *err)
{
    *task = NULL;
    json_t *body = json_pack("{s:{s:s},s:{s:s}}", "source", "index", from, "dest", "index", to);
    if (!body)
        return tu_err_set(err, TU_ERR_USAGE, "reindex: index names must be text");
    if (script && *script)
        json_object_set_new(body, "script", json_pack("{s:s,s:s}", "lang", "painless", "source", script));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    json_t *j = es_call_body(c, "POST", "/_reindex?wait_for_completion=false", text, ES_BODY_MAX, err);
    free(text);
    if (!j) {
        tu_err_prefix(err, "reindex '%.255s' -> '%.255s': ", from, to);
        return -1;
    }
    const char *t = json_string_value(json_object_get(j, "task"));
    int rc = 0;
    /* "node-id:number": anything else is not a task this code can follow. */
    if (!t || !*t || strlen(t) > 128 || !strchr(t, ':') || strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                 "0123456789_-:") != strlen(t))
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "reindex '%.255s' -> '%.255s': elasticsearch named no task", from, to);
    else
        *task = xstrdup(t);
    json_decref(j);
    return rc;
}

int es_task_read(const struct es_conn *c, const char *task, struct es_task *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!task || strspn(task, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:") != strlen(task) ||
        strlen(task) > 128)
        return tu_err_set(err, TU_ERR_USAGE, "'%.128s' is not a task id", task ? task : "");
    char *path = xasprintf("/_tasks/%s", task);
    json_t *j = es_call(c, "GET", path, ES_BODY_MAX, err);
    free(path);
    if (!j)
        return -1;
    out->completed = json_is_true(json_object_get(j, "completed"));
    json_t *st = json_object_get(json_object_get(j, "task"), "status");
    int64_t v;
    if (json_count(json_object_get(st, "total"), &v) == 0)
        out->total = v;
    if (json_count(json_object_get(st, "created"), &v) == 0)
        out->done += v;
    if (json_count(json_object_get(st, "updated"), &v) == 0)
        out->done += v;
    json_t *e = json_object_get(j, "error");
    json_t *fail = json_object_get(json_object_get(j, "response"), "failures");
    const char *canceled = json_string_value(json_object_get(json_object_get(j, "response"), "canceled"));
    if (e) {
        const char *reason = json_string_value(json_object_get(e, "reason"));
        snprintf(out->error, sizeof(out->error), "%.300s", reason ? reason : "the task ended with an error");
    } else if (canceled) {
        snprintf(out->error, sizeof(out->error), "cancelled (%.200s) after %lld of %lld documents", canceled,
                 (long long)out->done, (long long)out->total);
    } else if (json_array_size(fail)) {
        json_t *f0 = json_array_get(fail, 0);
        const char *reason = json_string_value(json_object_get(json_object_get(f0, "cause"), "reason"));
        if (!reason)
            reason = json_string_value(f0);
        snprintf(out->error, sizeof(out->error), "%zu document(s) failed%s%.300s", json_array_size(fail),
                 reason ? ": " : "", reason ? reason : "");
    }
    json_decref(j);
    return 0;
}

/* "reindex from [src] to [dest][_doc]" (7.x) or "... to [dest]" (8.x): dest into out. */
static int reindex_dest(const char *desc, char *out, size_t cap)
{
    /* the destination comes last: a remote source's text may hold " to [" too */
    const char *p = NULL;
    for (const char *q = desc ? strstr(desc, " to [") : NULL; q; q = strstr(q + 1, " to ["))
        p = q;
    if (!p || strncmp(desc, "reindex from [", 14) != 0)
        return -1;
    p += 5;
    const char *q = strchr(p, ']');
    if (!q || q == p || (size_t)(q - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return 0;
}

#define ES_TASKS_MAX 8192

int es_reindex_tasks(const struct es_conn *c, struct es_copy **out, size_t *n, struct tu_err *err)
{
    *out = NULL;
    *n = 0;
    json_t *j = es_call(c, "GET", "/_tasks?actions=*reindex&detailed=true", ES_BODY_MAX, err);
    if (!j)
        return -1;
    size_t cap = 0;
    const char *node;
    json_t *nv;
    json_object_foreach(json_object_get(j, "nodes"), node, nv) {
        const char *tid;
        json_t *t;
        json_object_foreach(json_object_get(nv, "tasks"), tid, t) {
            struct es_copy c1;
            memset(&c1, 0, sizeof(c1));
            if (strlen(tid) >= sizeof(c1.task) ||
                reindex_dest(json_string_value(json_object_get(t, "description")), c1.dest, sizeof(c1.dest)) < 0)
                continue; /* not a reindex this code can read: left alone */
            snprintf(c1.task, sizeof(c1.task), "%s", tid);
            if (*n == cap) {
                if (cap >= ES_TASKS_MAX) {
                    free(*out);
                    *out = NULL;
                    *n = 0;
                    json_decref(j);
                    return tu_err_set(err, TU_ERR_TOO_BIG, "elasticsearch runs more than %d reindex tasks",
                                      ES_TASKS_MAX);
                }
                cap = cap ? cap * 2 : 8;
                *out = xrealloc(*out, cap * sizeof(**out));
            }
            (*out)[(*n)++] = c1;
        }
    }
    json_decref(j);
    return 0;
}

int es_task_cancel(const struct es_conn *c, const char *task, struct tu_err *err)
{
    if (!task || !*task || strlen(task) > 128 ||
        strspn(task, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:") != strlen(task))
        return tu_err_set(err, TU_ERR_USAGE, "'%.128s' is not a task id", task ? task : "");
    char *path = xasprintf("/_tasks/%s/_cancel", task);
    json_t *j = es_call_body(c, "POST", path, NULL, ES_BODY_MAX, err);
    free(path);
    json_decref(j);
    return j ? 0 : -1;
}

int es_alias_indices(const struct es_conn *c, const char *alias, json_t **out, struct tu_err *err)
{
    *out = NULL;
    char *seg = alias && !strpbrk(alias, "*?,") ? index_segment(alias) : NULL;
    if (!seg)
        return tu_err_set(err, TU_ERR_USAGE, "'%.255s' is not one alias name", alias ? alias : "");
    char *path = xasprintf("/_alias/%s", seg);
    free(seg);
    struct tu_err ae;
    tu_err_clear(&ae);
    json_t *j = es_call(c, "GET", path, ES_BODY_MAX, &ae);
    free(path);
    json_t *res = json_object();
    if (!j) {
        /* 404 {"error":"alias [x] missing","status":404}: no index carries it */
        if (ae.kind == TU_ERR_NOT_FOUND) {
            *out = res;
            return 0;
        }
        json_decref(res);
        if (err)
            *err = ae;
        return -1;
    }
    const char *index;
    json_t *v;
    json_object_foreach(j, index, v) {
        json_t *a = json_object_get(json_object_get(v, "aliases"), alias);
        if (a)
            json_object_set_new(res, index, json_boolean(json_is_true(json_object_get(a, "is_write_index"))));
    }
    json_decref(j);
    *out = res;
    return 0;
}
