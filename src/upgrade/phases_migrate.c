/* phases_migrate.c - handing off to Tracardi's migration, once, and verifying what arrived. */
#include <stdio.h>

#include "cmd/cmd.h"
#include "elastic/es.h"
#include "elastic/indexname.h"
#include "tracardi/api.h"
#include "tracardi/releases.h"
#include "upgrade/migrate_own.h"
#include "upgrade/migrate_tasks.h"
#include "upgrade/phases.h"
#include <stdlib.h>
#include <string.h>

#include "docker/objects.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---------------------------------------------------------------- migrate */

int engine_es_open(struct engine *e, struct es_conn *es, struct tu_err *err)
{
    return upctx_es_open(e->u, es, err);
}

int engine_wait_es(struct engine *e, const char *phase, const char *before, struct tu_err *err)
{
    long deadline = time_mono_ms() + e->o->smoke_timeout_s * 1000L;
    char last[400] = "no answer";
    int said = 0;
    for (;;) {
        struct es_conn es;
        struct tu_err ee;
        tu_err_clear(&ee);
        if (engine_es_open(e, &es, &ee) == 0) {
            struct es_health h;
            if (es_health(&es, &h, &ee) == 0) {
                if (strcmp(h.status, "green") == 0 || strcmp(h.status, "yellow") == 0) {
                    es_conn_free(&es);
                    if (said)
                        engine_say(e, phase, "Elasticsearch answers (%s)", h.status);
                    return 0;
                }
                snprintf(last, sizeof(last), "cluster health %s", h.status[0] ? h.status : "?");
            } else {
                snprintf(last, sizeof(last), "%.390s", ee.msg);
            }
            es_conn_free(&es);
        } else {
            snprintf(last, sizeof(last), "%.390s", ee.msg);
        }
        if (!said) {
            engine_say(e, phase, "waiting for Elasticsearch before %s (%s; up to %ld s)", before, last,
                       e->o->smoke_timeout_s);
            said = 1;
        }
        if (tu_interrupted())
            return PHASE_INTERRUPTED;
        if (time_mono_ms() > deadline)
            return tu_err_set(err, TU_ERR_TIMEOUT, "%s: Elasticsearch did not answer with a yellow or green "
                                                   "health within %ld s; last: %s", phase, e->o->smoke_timeout_s, last);
        time_sleep_ms(e->o->smoke_interval_ms);
    }
}

/* Reads both contexts' plans and records, before anything is posted, what the
 * copy starts from: every source's count and what every target holds already.
 * Both contexts are planned first because one context's migration may write
 * into the other's indices (0.8.1's staging plan copies into prod- too). */
static int migrate_plan(struct engine *e, size_t hop, struct tapi *a, const struct es_conn *es, struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    json_t *mig = json_object_get(hj, "migration");
    if (json_is_true(json_object_get(mig, "planned")))
        return 0;
    const char *from_db = jstr(hj, "from_migration") ? jstr(hj, "from_migration") : jstr(hj, "from_db_version");
    const char *from_tenant = jstr(hj, "from_tenant");
    char *esc_db = docker_escape(from_db);
    char *esc_t = docker_escape(from_tenant);
    char *path = xasprintf("/migration/%s?from_tenant_name=%s", esc_db, esc_t);
    free(esc_db);
    free(esc_t);
    json_t *checks = json_array(), *before = json_object(), *baseline = json_object();
    static const char *const ctxs[] = {"staging", "production"};
    const struct release_info *ti = release_info_of_db(jstr(hj, "to_db_version"));
    /* 0.8.1's staging plan already holds every production row: plan (and post) it once. */
    int contexts = ti && ti->plan_ignores_context ? 1 : 2;
    int rc = 0;
    for (int c = 0; c < contexts && rc == 0; c++) {
        json_t *plan = NULL;
        if (tapi_get_json(a, path, ctxs[c], &plan, err) < 0) {
            tu_err_prefix(err, "migrate (%s): ", ctxs[c]);
            rc = -1;
            break;
        }
        json_t *ids = json_array(), *seen_ids = json_object(), *tables = json_object(), *sources = json_object();
        size_t i, rows = 0;
        json_t *s;
        json_array_foreach(json_object_get(plan, "schemas"), i, s) {
            const char *id = jstr(s, "id");
            json_t *ci = json_object_get(s, "copy_index");
            const char *from = jstr(ci, "from_index"), *to = jstr(ci, "to_index");
            if (!id || !from || !to)
                continue;
            rows++; /* one job per row: a shared id selects every row that carries it */
            json_object_set_new(sources, from, json_true());
            if (!json_object_get(seen_ids, id))
                json_array_append_new(ids, json_string(id));
            json_object_set_new(seen_ids, id, json_true());
            if (strncmp(to, "Table:", 6) == 0) {
                json_object_set_new(tables, from, json_string(to + 6 + strspn(to + 6, " ")));
                continue; /* copied into MySQL: verified by its task */
            }
            char *key = migrate_count_key(to, json_is_true(json_object_get(ci, "multi")), jstr(s, "worker"));
            json_array_append_new(checks, json_pack("{s:s,s:s}", "from", from, "key", key));
            /* What the new release holds before any copy (install wrote its admin, say). */
            if (!json_object_get(mig, "to_sample"))
                json_object_set_new(mig, "to_sample", json_string(to));
            if (migrate_count_strict(es, from, before, err) < 0 || migrate_count_strict(es, key, baseline, err) < 0)
                rc = -1;
            free(key);
            if (rc < 0)
                break;
        }
        json_decref(plan);
        json_decref(seen_ids);
        if (rc < 0) {
            json_decref(ids);
            json_decref(tables);
            json_decref(sources);
            break;
        }
        json_object_set_new(mig, ctxs[c], json_pack("{s:o,s:b,s:I,s:o,s:o}", "ids", ids, "posted", 0, "rows",
                                                    (json_int_t)rows, "tables", tables, "sources", sources));
    }
    if (rc == 0 && contexts == 1) {
        engine_say(e, "migrate", "Tracardi %s's plan carries each index's own context: one migration copies "
                   "staging and production", jstr(hj, "to"));
        json_object_set_new(mig, "production", json_pack("{s:[],s:b,s:I,s:s}", "ids", "posted", 1, "rows",
                                                         (json_int_t)0, "covered_by", "staging"));
    }
    free(path);
    if (rc == 0)
        rc = migrate_own_plan(e, hop, es, mig, checks, before, baseline, err);
    if (rc < 0) {
        json_decref(checks);
        json_decref(before);
        json_decref(baseline);
        return -1;
    }
    json_object_set_new(mig, "checks", checks);
    json_object_set_new(mig, "before", before);
    json_object_set_new(mig, "baseline", baseline);
    json_object_set_new(mig, "planned", json_true());
    return engine_save(e, err);
}

/* Posts one context's migration once; records it first so a crash never repeats it. */
static int migrate_post(struct engine *e, size_t hop, struct tapi *a, const char *ctx, struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    json_t *mc = json_object_get(json_object_get(hj, "migration"), ctx);
    if (json_is_true(json_object_get(mc, "posted"))) {
        engine_say(e, "migrate", "%s: started before, not started again", ctx);
        return 0;
    }
    json_t *ids = json_object_get(mc, "ids");
    const char *from_db = jstr(hj, "from_migration") ? jstr(hj, "from_migration") : jstr(hj, "from_db_version");
    const char *from_tenant = jstr(hj, "from_tenant");
    const char *context = ctx;
    if (!json_array_size(ids)) {
        engine_say(e, "migrate", "%s: nothing to migrate (no source indices)", ctx);
        json_object_set_new(mc, "posted", json_true());
        return engine_save(e, err);
    }
    /* Tasks that exist now are not this migration's. */
    if (migrate_tasks_snapshot(a, ctx, mc, err) < 0)
        return -1;
    json_object_set_new(mc, "posted", json_true());
    if (engine_save(e, err) < 0)
        return -1;
    json_t *body = json_pack("{s:s,s:s,s:O}", "from_version", from_db, "from_tenant_name", from_tenant, "ids", ids);
    json_t *answer = NULL;
    int rc = tapi_post_json(a, jstr(hj, "migrate_path"), body, context, &answer, err);
    json_decref(body);
    if (rc < 0) {
        tu_err_prefix(err, "migrate (%s): ", ctx);
        return -1;
    }
    /* 0.8.x answers the Celery id of the job that enqueues the copies, or null when none
     * of the ids matched its plan (nothing started); 0.9 always answers null. */
    const struct release_info *ti = release_info_of_db(jstr(hj, "to_db_version"));
    if (ti && !ti->tasks_in_rows) {
        const char *job = json_string_value(answer);
        if (!job || !*job || strlen(job) > 64) {
            json_decref(answer);
            return tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): Tracardi started no migration (its answer named "
                              "no job: none of the %zu planned ids matched its plan)", ctx, json_array_size(ids));
        }
        json_object_set_new(mc, "job", json_string(job));
        json_decref(answer);
        if (engine_save(e, err) < 0)
            return -1;
    } else {
        json_decref(answer);
    }
    engine_say(e, "migrate", "%s: started, %zu schemas from %s (tenant %s)", ctx, json_array_size(ids), from_db,
               from_tenant);
    return 0;
}

/* Indices the running release writes to itself (its tasks, logs): the migration's
 * own records land there, so only "nothing missing" can be checked. */
static int self_written(const char *key)
{
    static const char *const names[] = {"tracardi-task", "tracardi-log", "tracardi-console-log", "tracardi-user-log",
                                        "tracardi-heartbeats", "tracardi-debug-info", "tracardi-version",
                                        "tracardi-dispatch-log", "tracardi-field-update-log", NULL};
    const char *dot = strrchr(key, '.');
    const char *name = dot ? dot + 1 : key;
    for (size_t i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(name, names[i], n) == 0 && (name[n] == '\0' || name[n] == '-'))
            return 1;
    }
    return 0;
}

/* Counts lag writes by up to a refresh interval: ask again briefly while short.
 * A family whose source was empty may never have been created: zero documents.
 * A count that keeps failing is an error (-1, err set), never read as zero. */
static int settled_count(const struct es_conn *es, const char *index, int64_t want, int64_t *out,
                         struct tu_err *err)
{
    int rc = -1;
    for (int i = 0; i < 6; i++) {
        if (i > 0)
            time_sleep_ms(500);
        rc = es_count_or_absent(es, index, out, err);
        if (rc == 0 && *out >= want)
            break;
    }
    if (rc < 0)
        tu_err_prefix(err, "migrate: counting '%.255s' after the copy: ", index);
    return rc;
}

/* Every copied family must hold what blue held when the copy started, and no more
 * than blue holds now (blue keeps serving while it runs). */
static int verify_counts(struct engine *e, size_t hop, const struct es_conn *es, struct tu_err *err)
{
    json_t *mc = json_object_get(engine_hop(e, hop), "migration");
    json_t *checks = json_object_get(mc, "checks");
    json_t *before = json_object_get(mc, "before");
    json_t *baseline = json_object_get(mc, "baseline");
    json_t *sums = json_object();
    size_t i;
    json_t *c;
    json_t *seen = json_object();
    json_array_foreach(checks, i, c) {
        const char *key = jstr(c, "key"), *from = jstr(c, "from");
        /* A plan may list the same copy twice (0.8.1's does): it adds nothing twice. */
        char *pair = xasprintf("%s>%s", from, key);
        int dup = json_object_get(seen, pair) != NULL;
        json_object_set_new(seen, pair, json_true());
        free(pair);
        if (dup)
            continue;
        json_t *sum = json_object_get(sums, key);
        if (!sum) {
            sum = json_pack("{s:I,s:I}", "before", (json_int_t)0, "after", (json_int_t)0);
            json_object_set_new(sums, key, sum);
        }
        json_int_t b = json_integer_value(json_object_get(before, from));
        int64_t a = 0;
        if (es_count_or_absent(es, from, &a, err) < 0) {
            tu_err_prefix(err, "migrate: counting the old release's '%.255s' after the copy: ", from);
            json_decref(seen);
            json_decref(sums);
            return -1;
        }
        json_object_set_new(sum, "before", json_integer(json_integer_value(json_object_get(sum, "before")) + b));
        json_object_set_new(sum, "after", json_integer(json_integer_value(json_object_get(sum, "after")) + a));
    }
    json_decref(seen);
    const char *key;
    json_t *sum;
    int rc = 0;
    size_t checked = 0;
    int64_t total = 0;
    json_t *result = json_object();
    json_object_foreach(sums, key, sum) {
        int64_t base = json_integer_value(json_object_get(baseline, key));
        int64_t b = json_integer_value(json_object_get(sum, "before")) + base;
        int64_t a = json_integer_value(json_object_get(sum, "after")) + base;
        int64_t g = 0;
        struct tu_err ce;
        tu_err_clear(&ce);
        if (settled_count(es, key, b, &g, &ce) < 0) {
            if (rc == 0)
                *err = ce; /* the first failure is the one told */
            rc = -1;
            break;
        }
        json_object_set_new(result, key, json_pack("{s:I,s:I,s:I,s:I}", "old_before", (json_int_t)(b - base),
                                                   "old_after", (json_int_t)(a - base), "new_before_copy",
                                                   (json_int_t)base, "new", (json_int_t)g));
        checked++;
        total += g > 0 ? g : 0;
        if (g < b || (g > a && !self_written(key))) {
            if (rc == 0)
                tu_err_set(err, TU_ERR_REFUSED, "migrate: '%s' holds %lld documents, expected %lld (%lld copied "
                           "from the old release, %lld its own)%s", key, (long long)g, (long long)b,
                           (long long)(b - base), (long long)base,
                           g < b ? ": documents are missing" : " and the copy has more than the source");
            rc = -1;
        }
    }
    json_object_set_new(mc, "verified", result);
    json_decref(sums);
    if (rc == 0)
        engine_say(e, "migrate", "verified %zu copied families (staging and production), %lld documents, counts "
                                 "match", checked, (long long)total);
    return rc;
}

int phase_migrate(struct engine *e, size_t hop, struct tu_err *err)
{
    if (json_is_true(json_object_get(e->j.doc, "downgrade"))) {
        engine_say(e, "migrate", "downgrade: skipped; the release runs on the indices it left behind");
        return 0;
    }
    if (json_is_true(json_object_get(e->j.doc, "shared_data"))) {
        engine_say(e, "migrate", "nothing to migrate: both releases use db_version %s",
                   jstr(engine_hop(e, hop), "to_db_version"));
        return 0;
    }
    json_t *hj = engine_hop(e, hop);
    const char *url = jstr(hj, "api_url");
    if (!url)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "migrate: the new api's address is unknown");
    struct tapi a;
    tapi_init(&a, url, 60000);
    struct es_conn es;
    memset(&es, 0, sizeof(es));
    int rc = -1;
    /* A resume may land here while Elasticsearch still boots (after a daemon restart):
     * the counts the verification rests on must come from a cluster that answers. */
    if ((rc = engine_wait_es(e, "migrate", "migrating", err)) != 0)
        goto out;
    rc = -1;
    if (engine_es_open(e, &es, err) < 0)
        goto out;
    if (tapi_login(&a, e->o->admin_email, e->o->admin_password, err) < 0) {
        tu_err_prefix(err, "migrate: ");
        goto out;
    }
    json_t *avail = NULL;
    if (tapi_get_json(&a, "/migrations", NULL, &avail, err) < 0) {
        tu_err_prefix(err, "migrate: ");
        goto out;
    }
    const char *from_db = jstr(hj, "from_migration") ? jstr(hj, "from_migration") : jstr(hj, "from_db_version");
    int offered = 0;
    size_t i;
    json_t *v;
    json_array_foreach(avail, i, v) offered |= json_string_value(v) && strcmp(json_string_value(v), from_db) == 0;
    json_decref(avail);
    if (!offered) {
        tu_err_set(err, TU_ERR_REFUSED, "migrate: Tracardi %s cannot migrate from db_version %s", jstr(hj, "to"), from_db);
        goto out;
    }
    static const char *const ctxs[] = {"staging", "production"};
    long deadline = time_mono_ms() + e->o->migrate_timeout_s * 1000L;
    if ((rc = migrate_plan(e, hop, &a, &es, err)) < 0)
        goto out;
    for (int c = 0; c < 2; c++) {
        json_t *mc = json_object_get(json_object_get(hj, "migration"), ctxs[c]);
        if (jstr(mc, "covered_by"))
            continue; /* copied by the other context's migration */
        if ((rc = migrate_post(e, hop, &a, ctxs[c], err)) < 0)
            goto out;
        if (json_array_size(json_object_get(mc, "ids")) &&
            (rc = migrate_tasks_wait(e, hop, &a, &es, ctxs[c], deadline, err)) != 0)
            goto out;
        rc = -1;
    }
    if ((rc = migrate_own_copy(e, hop, &es, deadline, err)) != 0)
        goto out;
    rc = -1;
    if (verify_counts(e, hop, &es, err) < 0)
        goto out;
    rc = engine_save(e, err);
out:
    es_conn_free(&es);
    tapi_free(&a);
    return rc;
}

/* ---------------------------------------------------------------- a release's indices */

int engine_release_indices(struct engine *e, const char *db, const char *tenant, json_t **names, int64_t *docs,
                           struct tu_err *err)
{
    *names = json_array();
    *docs = 0;
    struct es_conn es;
    if (engine_es_open(e, &es, err) < 0)
        return -1;
    struct es_index *idx = NULL;
    size_t n = 0;
    int rc = es_indices(&es, &idx, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct tindex t;
        if (tindex_parse(idx[i].name, &t) < 0 || strcmp(t.db_version, db) != 0 || strcmp(t.tenant, tenant) != 0)
            continue;
        json_array_append_new(*names, json_string(idx[i].name));
        if (idx[i].docs_count > 0)
            *docs += idx[i].docs_count;
    }
    free(idx);
    es_conn_free(&es);
    return rc;
}

/* Copies Elasticsearch still runs into a release's indices (a migration job that outlived
 * its worker: huey's retry of a 0.9 plan, the _reindex task of a 0.8.x job) are cancelled
 * and waited for, so that no copy recreates an index after it is deleted. A cluster that
 * will not list its tasks is said and the delete goes on. */
static int stop_copies_into(struct engine *e, const struct es_conn *es, const char *db, const char *tenant,
                            const char *phase, struct tu_err *err)
{
    long until = time_mono_ms() + 30000;
    size_t stopped = 0;
    json_t *asked = json_object();
    int rc = 0;
    for (;;) {
        struct es_copy *c = NULL;
        size_t n = 0, mine = 0;
        struct tu_err le;
        tu_err_clear(&le);
        if (es_reindex_tasks(es, &c, &n, &le) < 0) {
            engine_say(e, phase, "warning: cannot list the copies Elasticsearch runs (%s): one still writing into "
                       "%s.%s.* would create its index again", le.msg, db, tenant);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            struct tindex t;
            if (tindex_parse_loose(c[i].dest, &t) < 0 || strcmp(t.db_version, db) != 0 || strcmp(t.tenant, tenant) != 0)
                continue;
            mine++;
            if (json_object_get(asked, c[i].task))
                continue;
            struct tu_err ce;
            tu_err_clear(&ce);
            if (es_task_cancel(es, c[i].task, &ce) < 0 && ce.kind != TU_ERR_NOT_FOUND) {
                tu_text_clean(c[i].task, sizeof(c[i].task)); /* Elasticsearch's text */
                engine_say(e, phase, "warning: cancelling the copy %s into '%s': %s", c[i].task, c[i].dest, ce.msg);
            }
            json_object_set_new(asked, c[i].task, json_true());
            stopped++;
        }
        free(c);
        if (!mine)
            break;
        if (time_mono_ms() > until) {
            rc = tu_err_set(err, TU_ERR_TIMEOUT, "%zu copies into %s.%s.* still run 30 s after they were cancelled",
                            mine, db, tenant);
            break;
        }
        time_sleep_ms(500);
    }
    if (stopped)
        engine_say(e, phase, "stopped %zu cop%s Elasticsearch still ran into %s.%s.* (a migration job that outlived "
                   "its worker)", stopped, stopped == 1 ? "y" : "ies", db, tenant);
    json_decref(asked);
    return rc;
}

int engine_delete_release_indices(struct engine *e, const char *db, const char *tenant, const char *phase,
                                  const char *why, struct tu_err *err)
{
    /* Never the running release's own indices, whatever a caller thinks they hold. */
    json_t *from = json_object_get(e->j.doc, "from");
    json_t *h0 = engine_hop(e, 0);
    if ((jstr(from, "db_version") && jstr(from, "name") && strcmp(jstr(from, "db_version"), db) == 0 &&
         strcmp(jstr(from, "name"), tenant) == 0) ||
        (jstr(h0, "from_db_version") && jstr(h0, "from_tenant") && strcmp(jstr(h0, "from_db_version"), db) == 0 &&
         strcmp(jstr(h0, "from_tenant"), tenant) == 0))
        return tu_err_set(err, TU_ERR_REFUSED, "the indices %s.%s.* are %s's own: they are never deleted here", db,
                          tenant, jstr(from, "version") ? jstr(from, "version") : "the old release");
    struct es_conn es;
    if (engine_es_open(e, &es, err) < 0)
        return -1;
    /* first the copies still writing into them, then the list: no copy tracup saw running
     * creates an index again after the delete */
    json_t *names = NULL;
    int64_t docs = 0;
    int rc = stop_copies_into(e, &es, db, tenant, phase, err);
    if (rc == 0)
        rc = engine_release_indices(e, db, tenant, &names, &docs, err);
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) {
        if (rc == 0 && es_delete_index(&es, json_string_value(v), err) < 0 && err->kind != TU_ERR_NOT_FOUND)
            rc = -1;
    }
    if (rc == 0)
        engine_say(e, phase, "deleted the %zu indices %s (%s.%s.*, %lld documents, all copies)",
                   json_array_size(names), why, db, tenant, (long long)docs);
    es_conn_free(&es);
    json_decref(names);
    return rc;
}

