/* migrate_own.c - what Tracardi's migration plan leaves out: found before the copy, and the
 * partitions its own schemas name copied by tracup (0.8.2's plan matches none of them). */
#include "upgrade/migrate_own.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "docker/objects.h"
#include "elastic/indexname.h"
#include "tracardi/releases.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define SCHEMA_FILE_MAX (4 * 1024 * 1024)
#define SCHEMA_ROWS_MAX 1000
#define SCRIPT_MAX (64 * 1024)
#define NAMES_SAID 6
#define TASK_POLL_MS 1000
#define TASK_SAY_MS 15000
#define COPY_STARTS_MAX 3

/* The only replace pattern of the known schema files (0.8.2.1 08x_to_082x.json): the
 * trailing "YYYY-M" of a monthly partition. Another one is not guessed at. */
#define MONTH_SUFFIX_PATTERN "(\\d{4}-\\d+)$"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

char *migrate_count_key(const char *to_index, int multi, const char *worker)
{
    struct tindex t;
    int family = multi || (worker && strcmp(worker, "reindex_to_one_index") == 0);
    if (!family || tindex_parse_loose(to_index, &t) < 0)
        return xstrdup(to_index);
    const char *pfx = t.prefix_kind == 'p' ? "prod-" : "";
    if (strcmp(t.db_version, "09x") == 0)
        return xasprintf("%s%s.%s.%s", pfx, t.db_version, t.tenant, t.name);
    return xasprintf("%s%s.%s", pfx, t.tenant, t.name);
}

int migrate_count_strict(const struct es_conn *es, const char *index, json_t *into, struct tu_err *err)
{
    if (json_object_get(into, index))
        return 0;
    int64_t n;
    if (es_count_or_absent(es, index, &n, err) < 0) {
        tu_err_prefix(err, "migrate: counting '%.255s' before the copy: ", index);
        return -1;
    }
    json_object_set_new(into, index, json_integer(n));
    return 0;
}

/* "a (3), b (10) and 4 more" from an object name -> documents (-1: unknown). */
static char *names_line(json_t *obj)
{
    char line[1200];
    size_t used = 0, k = 0, n = json_object_size(obj);
    line[0] = '\0';
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v) {
        int w;
        if (k == NAMES_SAID) {
            w = snprintf(line + used, sizeof(line) - used, " and %zu more", n - k);
        } else if (json_integer_value(v) < 0) {
            w = snprintf(line + used, sizeof(line) - used, "%s%.160s (closed)", k ? ", " : "", name);
        } else {
            w = snprintf(line + used, sizeof(line) - used, "%s%.160s (%lld)", k ? ", " : "", name,
                         (long long)json_integer_value(v));
        }
        if (w < 0 || (size_t)w >= sizeof(line) - used || k == NAMES_SAID)
            break;
        used += (size_t)w;
        k++;
    }
    return xstrdup(line);
}

/* The partition the new release writes into now, as its index.py names it (UTC). */
static int current_partition(const char *partitioning, char *out, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int year = tm.tm_year + 1900, month = tm.tm_mon + 1;
    if (strcmp(partitioning, "month") == 0)
        snprintf(out, cap, "%d-%d", year, month);
    else if (strcmp(partitioning, "quarter") == 0)
        snprintf(out, cap, "%d-q%d", year, (month - 1) / 3 + 1);
    else if (strcmp(partitioning, "year") == 0)
        snprintf(out, cap, "%d-year", year);
    else
        return -1;
    return 0;
}

/* A monthly partition "YYYY-M[M]". */
static int monthly(const char *p)
{
    size_t i = 0;
    while (i < 4 && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i != 4 || p[4] != '-')
        return 0;
    size_t d = strspn(p + 5, "0123456789");
    return d >= 1 && p[5 + d] == '\0';
}

/* When a partition was written: year * 100 + its last month (monthly M, quarter 3N, year 12). */
static long partition_when(const char *name)
{
    struct tindex t;
    if (tindex_parse_loose(name, &t) < 0 || strlen(t.partition) < 6)
        return 0;
    long year = strtol(t.partition, NULL, 10);
    const char *rest = t.partition + 5;
    long month = rest[0] == 'q' ? 3 * strtol(rest + 1, NULL, 10) : strcmp(rest, "year") == 0 ? 12 : strtol(rest, NULL, 10);
    return year * 100 + month;
}

static int by_when(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    long wx = partition_when(x), wy = partition_when(y);
    return wx != wy ? (wx < wy ? -1 : 1) : strcmp(x, y);
}

/* The release's own schemas (its migration file in the new api's image): family -> entry. */
static int read_schemas(struct engine *e, size_t hop, const char *path, json_t **families, struct tu_err *err)
{
    *families = NULL;
    const char *api = engine_green_id(e, hop, "api");
    if (!api)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "the new api's container is unknown");
    char *text = NULL;
    size_t len = 0;
    if (docker_get_file(e->u->d, api, path, SCHEMA_FILE_MAX, &text, &len, err) < 0)
        return -1;
    json_error_t je;
    json_t *arr = json_loadb(text, len, 0, &je);
    free(text);
    if (!json_is_array(arr) || json_array_size(arr) > SCHEMA_ROWS_MAX) {
        json_decref(arr);
        return tu_err_set(err, TU_ERR_PROTOCOL, "'%s' is not a list of migration schemas", path);
    }
    json_t *fam = json_object();
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        json_t *ci = json_object_get(s, "copy_index");
        if (!json_is_object(s) || !json_is_true(json_object_get(ci, "multi")))
            continue; /* comments, and the single indices the plan already lists */
        const char *from = jstr(ci, "from_index"), *to = jstr(ci, "to_index"), *worker = jstr(s, "worker");
        const char *script = jstr(ci, "script");
        struct tindex probe;
        char *fake = xasprintf("0820.abcde.%s", from ? from : "");
        char *fake_to = xasprintf("0820.abcde.%s", to ? to : "");
        int names_ok = from && to && tindex_parse(fake, &probe) == 0 && !probe.partition[0] &&
                       tindex_parse(fake_to, &probe) == 0 && !probe.partition[0];
        free(fake);
        free(fake_to);
        if (!names_ok || !worker || (script && strlen(script) > SCRIPT_MAX)) {
            json_decref(fam);
            json_decref(arr);
            return tu_err_set(err, TU_ERR_PROTOCOL, "'%s': schema %zu has no usable index names, worker or script",
                              path, i);
        }
        json_object_set_new(fam, from, json_pack("{s:s,s:s,s:s?,s:O?}", "to", to, "worker", worker, "script",
                                                 script, "params", json_object_get(s, "params")));
    }
    json_decref(arr);
    *families = fam;
    return 0;
}

/* The target of one left-out partition, as the schema's worker would name it. */
static char *own_target(const struct tindex *from, json_t *entry, const char *to_prefix, const char *to_tenant,
                        struct tu_err *err)
{
    const char *worker = jstr(entry, "worker");
    const char *pfx = from->prefix_kind == 'p' ? "prod-" : "";
    char part[32];
    if (strcmp(worker, "reindex") == 0) {
        /* reindex.py keeps the source's suffix */
        snprintf(part, sizeof(part), "%s", from->partition);
    } else if (strcmp(worker, "reindex_to_one_index") == 0) {
        /* reindex_to_one_index.py: params.replace is swapped for the current partition */
        json_t *params = json_object_get(entry, "params");
        const char *replace = jstr(params, "replace"), *partitioning = jstr(params, "partitioning");
        if (!replace || strcmp(replace, MONTH_SUFFIX_PATTERN) != 0 || !partitioning ||
            current_partition(partitioning, part, sizeof(part)) < 0) {
            tu_err_set(err, TU_ERR_REFUSED, "the schema of '%s' asks for a partition tracup does not know how to name "
                       "(replace %.60s, partitioning %.20s)", from->name, replace ? replace : "none",
                       partitioning ? partitioning : "none");
            return NULL;
        }
        if (!monthly(from->partition))
            snprintf(part, sizeof(part), "%s", from->partition);
    } else {
        tu_err_set(err, TU_ERR_REFUSED, "the schema of '%s' names the worker '%.40s', which tracup does not run",
                   from->name, worker);
        return NULL;
    }
    char *to = xasprintf("%s%s.%s.%s-%s", pfx, to_prefix, to_tenant, jstr(entry, "to"), part);
    struct tindex check;
    if (tindex_parse_loose(to, &check) < 0) {
        tu_err_set(err, TU_ERR_PROTOCOL, "'%.255s' is not an index name of the new release", to);
        free(to);
        return NULL;
    }
    return to;
}

/* A plan row that copies into a single index the new release partitions (tracardi-entity
 * and tracardi-console-log into 0.8.2: facts 37): its target matches none of the family's
 * templates, so it gets no alias and the release never reads it. Such rows are copied on
 * from that target into the family's write partition, and counted by alias. */
static int plan_rehome(struct engine *e, size_t hop, const struct es_conn *es, json_t *checks, json_t *before,
                       json_t *baseline, json_t *rows, struct tu_err *err)
{
    json_t *seen = json_object();
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(checks, i, c) {
        const char *from = jstr(c, "from");
        struct tindex t;
        if (!jstr(c, "key") || !from || tindex_parse_loose(jstr(c, "key"), &t) < 0 || t.partition[0] ||
            strcmp(t.db_version, jstr(engine_hop(e, hop), "to_db_version")) != 0)
            continue; /* not a single index of the new release */
        char key[256];
        snprintf(key, sizeof(key), "%s", jstr(c, "key")); /* the check's key is replaced below */
        char *alias = migrate_count_key(key, 1, NULL);
        if (strcmp(alias, key) == 0) {
            /* 0.9 names the alias as the index ({db}.{tenant}.{name}): a copy into that name
             * writes through the alias into its write index, where the release reads */
            free(alias);
            continue;
        }
        json_t *known = json_object_get(seen, key);
        if (!known) {
            json_t *carriers = NULL;
            if (es_alias_indices(es, alias, &carriers, err) < 0) {
                tu_err_prefix(err, "migrate: reading the alias '%s': ", alias);
                free(alias);
                rc = -1;
                break;
            }
            /* the family is partitioned when every index carrying its alias is key-<partition> */
            size_t n = json_object_size(carriers), parts = 0, writers = 0;
            const char *index, *write = NULL, *only = NULL;
            json_t *w;
            size_t kl = strlen(key);
            json_object_foreach(carriers, index, w) {
                if (strncmp(index, key, kl) == 0 && index[kl] == '-')
                    parts++, only = index;
                if (json_is_true(w))
                    writers++, write = index;
            }
            const char *into = writers == 1 ? write : n == 1 ? only : NULL;
            struct tindex ti_into;
            if (into && tindex_parse_loose(into, &ti_into) < 0)
                into = NULL; /* not an index name of Tracardi's: not one to write into (nor to print) */
            if (!n || parts != n) {
                known = json_null(); /* a plain index, read as itself */
            } else if (!into) {
                rc = tu_err_set(err, TU_ERR_REFUSED, "migrate: Tracardi's plan copies '%s' into '%s', which its "
                                "release does not read (it reads %s's %zu partitions), and tracup cannot tell "
                                "which partition it writes", from, key, alias, n);
                free(alias);
                json_decref(carriers);
                break;
            } else {
                known = json_string(into);
            }
            json_object_set_new(seen, key, known);
            json_decref(carriers);
            if (json_is_string(known)) {
                json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:n,s:I,s:b}", "from", key, "to",
                                                      json_string_value(known), "worker", "rehome", "script",
                                                      "docs", (json_int_t)0, "done", 0));
            }
        }
        if (json_is_string(known)) {
            /* counted where the release reads it */
            json_object_set_new(c, "key", json_string(alias));
            if (migrate_count_strict(es, alias, baseline, err) < 0) {
                free(alias);
                rc = -1;
                break;
            }
            for (size_t k = 0; k < json_array_size(rows); k++) {
                json_t *r = json_array_get(rows, k);
                if (strcmp(jstr(r, "from"), key) != 0)
                    continue;
                json_object_set_new(r, "docs", json_integer(json_integer_value(json_object_get(r, "docs")) +
                                                            json_integer_value(json_object_get(before, from))));
                break;
            }
        }
        free(alias);
    }
    json_decref(seen);
    /* said for what there is to copy on: a row whose source held nothing is no news */
    for (size_t k = 0; rc == 0 && k < json_array_size(rows); k++) {
        json_t *r = json_array_get(rows, k);
        if (strcmp(jstr(r, "worker"), "rehome") == 0 && json_integer_value(json_object_get(r, "docs")) > 0) {
            char *alias = migrate_count_key(jstr(r, "from"), 1, NULL);
            engine_say(e, "migrate", "Tracardi's plan copies into '%s', which %s does not read (it reads the "
                       "partitions of '%s'): tracup copies it on into '%s'", jstr(r, "from"),
                       jstr(engine_hop(e, hop), "to"), alias, jstr(r, "to"));
            free(alias);
        }
    }
    return rc;
}

int migrate_own_plan(struct engine *e, size_t hop, const struct es_conn *es, json_t *mig, json_t *checks,
                     json_t *before, json_t *baseline, struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    const char *from_db = jstr(hj, "from_db_version"), *from_tenant = jstr(hj, "from_tenant");
    const char *to_sample = jstr(mig, "to_sample");
    const struct release_info *ti = release_info_of_db(jstr(hj, "to_db_version"));
    json_t *sources = json_object();
    static const char *const ctxs[] = {"staging", "production"};
    for (int c = 0; c < 2; c++)
        json_object_update(sources, json_object_get(json_object_get(mig, ctxs[c]), "sources"));
    struct es_index *idx = NULL;
    size_t n = 0;
    if (es_indices(es, &idx, &n, err) < 0) {
        json_decref(sources);
        tu_err_prefix(err, "migrate: listing the indices before the copy: ");
        return -1;
    }
    json_t *parts = json_object(), *others = json_object();
    int64_t part_docs = 0;
    for (size_t i = 0; i < n; i++) {
        struct tindex t;
        if (tindex_parse_pinned(idx[i].name, from_tenant, &t) < 0 || strcmp(t.db_version, from_db) != 0 ||
            strcmp(t.tenant, from_tenant) != 0 || json_object_get(sources, idx[i].name) || idx[i].docs_count == 0)
            continue;
        json_int_t docs = idx[i].docs_count < 0 ? -1 : (json_int_t)idx[i].docs_count;
        if (t.partition[0] && t.prefix_kind != 's' && docs > 0) {
            json_object_set_new(parts, idx[i].name, json_integer(docs));
            part_docs += docs;
        } else {
            json_object_set_new(others, idx[i].name, json_integer(docs));
        }
    }
    free(idx);
    json_decref(sources);
    int rc = 0;
    json_t *rows = json_array(), *families = NULL;
    if (json_object_size(parts) && ti && ti->plan_schema_file) {
        struct tindex tr;
        if (!to_sample || tindex_parse_loose(to_sample, &tr) < 0) {
            rc = tu_err_set(err, TU_ERR_PROTOCOL, "migrate: Tracardi %s's plan names no index of its own release",
                            jstr(hj, "to"));
        } else if (read_schemas(e, hop, ti->plan_schema_file, &families, err) < 0) {
            char *line = names_line(parts);
            engine_say(e, "migrate", "left out of Tracardi %s's plan: %s", jstr(hj, "to"), line);
            free(line);
            /* the file's path is in the reason already */
            tu_err_prefix(err, "migrate: Tracardi %s's plan leaves out %zu partitions of the old release holding "
                          "%lld documents, and tracup could not read the release's schemas to copy them: ",
                          jstr(hj, "to"), json_object_size(parts), (long long)part_docs);
            tu_err_hint(err, "nothing was copied; the old release's indices are untouched");
            rc = -1;
        } else {
            char to_prefix[16];
            release_db_prefix(tr.db_version, to_prefix, sizeof(to_prefix));
            /* oldest first: where partitions merge into one index, a document kept in several
             * months ends as its newest copy */
            size_t np = json_object_size(parts), k = 0;
            const char **order = xcalloc(np ? np : 1, sizeof(*order));
            const char *pname;
            json_t *pv;
            json_object_foreach(parts, pname, pv) order[k++] = pname;
            qsort(order, np, sizeof(*order), by_when);
            for (k = 0; k < np; k++) {
                char name[256];
                snprintf(name, sizeof(name), "%s", order[k]);
                json_t *v = json_object_get(parts, name);
                struct tindex t;
                tindex_parse_pinned(name, from_tenant, &t);
                json_t *entry = json_object_get(families, t.name);
                if (!entry)
                    continue; /* not in the release's schemas: left behind, said below */
                char *to = own_target(&t, entry, to_prefix, tr.tenant, err);
                if (!to) {
                    tu_err_prefix(err, "migrate: ");
                    rc = -1;
                    break;
                }
                const char *worker = jstr(entry, "worker");
                char *key = migrate_count_key(to, 1, worker);
                json_array_append_new(rows, json_pack("{s:s,s:s,s:s,s:s?,s:I,s:b}", "from", name, "to", to, "worker",
                                                      worker, "script", jstr(entry, "script"), "docs",
                                                      json_integer_value(v), "done", 0));
                json_array_append_new(checks, json_pack("{s:s,s:s}", "from", name, "key", key));
                if (migrate_count_strict(es, name, before, err) < 0 ||
                    migrate_count_strict(es, key, baseline, err) < 0)
                    rc = -1;
                free(to);
                free(key);
                if (rc < 0)
                    break;
                json_object_del(parts, name);
            }
            free(order);
        }
    }
    size_t own_parts = json_array_size(rows);
    if (rc == 0)
        rc = plan_rehome(e, hop, es, checks, before, baseline, rows, err);
    if (rc == 0 && own_parts) {
        int64_t docs = 0;
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) if (i < own_parts) docs += json_integer_value(json_object_get(r, "docs"));
        const char *file = strrchr(ti->plan_schema_file, '/');
        engine_say(e, "migrate", "Tracardi %s's plan leaves out every partition of the old release; tracup copies "
                   "the %zu it holds (%lld documents) itself after Tracardi's migration, as the release's own "
                   "schemas (%s) say", jstr(hj, "to"), own_parts, (long long)docs,
                   file ? file + 1 : ti->plan_schema_file);
    }
    if (rc == 0 && json_array_size(rows))
        json_object_set_new(mig, "own", json_pack("{s:s?,s:O}", "schemas", ti ? ti->plan_schema_file : NULL, "rows",
                                                  rows));
    json_object_update(others, parts);
    if (rc == 0 && json_object_size(others)) {
        char *line = names_line(others);
        engine_say(e, "migrate", "in no row of Tracardi's plan, so not copied (where the new release needs one, its "
                   "install made it; these stay in the old release's indices until finalize): %s", line);
        free(line);
        json_object_set(mig, "left_behind", others);
    }
    json_decref(rows);
    json_decref(families);
    json_decref(parts);
    json_decref(others);
    return rc;
}

int migrate_own_copy(struct engine *e, size_t hop, const struct es_conn *es, long deadline, struct tu_err *err)
{
    json_t *own = json_object_get(json_object_get(engine_hop(e, hop), "migration"), "own");
    json_t *rows = json_object_get(own, "rows");
    size_t i, done = 0;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (json_is_true(json_object_get(r, "done"))) {
            done += json_integer_value(json_object_get(r, "docs")) > 0;
            continue;
        }
        const char *from = jstr(r, "from"), *to = jstr(r, "to");
        const char *task = jstr(r, "task");
        if (json_integer_value(json_object_get(r, "docs")) == 0) {
            /* the old release held nothing there: Tracardi's copy made no index to copy on */
            json_object_set_new(r, "done", json_true());
            continue;
        }
        long said = time_mono_ms();
        int starts = 0;
        for (;;) {
            if (!task) {
                if (++starts > COPY_STARTS_MAX)
                    return tu_err_set(err, TU_ERR_REFUSED, "migrate: Elasticsearch lost tracup's copy of '%s' %d "
                                      "times (it keeps no result of the task)", from, COPY_STARTS_MAX);
                char *t = NULL;
                if (es_reindex_start(es, from, to, jstr(r, "script"), &t, err) < 0) {
                    tu_err_prefix(err, "migrate: ");
                    return -1;
                }
                json_object_set_new(r, "task", json_string(t));
                free(t);
                if (engine_save(e, err) < 0)
                    return -1;
                task = jstr(r, "task");
                engine_say(e, "migrate", "copying '%s' -> '%s' (%lld documents, task %s)", from, to,
                           (long long)json_integer_value(json_object_get(r, "docs")), task);
            }
            struct es_task st;
            struct tu_err te;
            tu_err_clear(&te);
            if (es_task_read(es, task, &st, &te) < 0) {
                if (te.kind != TU_ERR_NOT_FOUND) {
                    *err = te;
                    tu_err_prefix(err, "migrate: following the copy of '%s': ", from);
                    return -1;
                }
                /* Elasticsearch restarted and forgot it: copy again (documents keep their ids). */
                engine_say(e, "migrate", "the copy of '%s' is no longer known to Elasticsearch: copying again", from);
                task = NULL;
                json_object_del(r, "task");
                if (engine_save(e, err) < 0)
                    return -1;
                if (tu_interrupted())
                    return PHASE_INTERRUPTED;
                if (time_mono_ms() > deadline)
                    return tu_err_set(err, TU_ERR_TIMEOUT, "migrate: tracup's copy of '%s' did not end within the "
                                      "migration's time", from);
                time_sleep_ms(TASK_POLL_MS);
                continue;
            }
            if (st.completed) {
                if (st.error[0]) {
                    tu_text_clean(st.error, sizeof(st.error));
                    tu_err_set(err, TU_ERR_REFUSED, "migrate: tracup's copy of '%s' into '%s' failed: %s", from, to,
                               st.error);
                    /* a resume copies again rather than read the same failure */
                    json_object_del(r, "task");
                    struct tu_err se;
                    engine_save(e, &se);
                    return -1;
                }
                break;
            }
            if (tu_interrupted())
                return PHASE_INTERRUPTED;
            if (time_mono_ms() > deadline)
                return tu_err_set(err, TU_ERR_TIMEOUT, "migrate: tracup's copy of '%s' did not end within the "
                                  "migration's time (%lld of %lld documents)", from, (long long)st.done,
                                  (long long)st.total);
            if (time_mono_ms() - said > TASK_SAY_MS) {
                engine_say(e, "migrate", "copying '%s': %lld of %lld documents", from, (long long)st.done,
                           (long long)st.total);
                said = time_mono_ms();
            }
            time_sleep_ms(TASK_POLL_MS);
        }
        json_object_set_new(r, "done", json_true());
        if (engine_save(e, err) < 0)
            return -1;
        done++;
    }
    if (done)
        engine_say(e, "migrate", "tracup made the %zu cop%s Tracardi's plan left out", done, done == 1 ? "y" : "ies");
    return 0;
}
