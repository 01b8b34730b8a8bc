/* migrate_tasks.c - following Tracardi's migration jobs: Celery's state on 0.8.x, task rows on 0.9. */
#include "upgrade/migrate_tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "docker/objects.h"
#include "elastic/es.h"
#include "tracardi/releases.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

#define TASKS_LIMIT_MAX 10000
#define MISSING_DOC_GRACE_MS 60000
#define ORCHESTRATOR "Migration plan orchestrator"

#define KNOWN_LIMIT 1000

/* How many tasks to ask for while waiting: the newest ones known before the POST and this
 * migration's jobs (everything older is left out by the api's newest-first order). */
static long known_cap(json_t *mc)
{
    long n = (long)json_object_size(json_object_get(mc, "known_tasks")) +
             (long)json_integer_value(json_object_get(mc, "rows")) + 10;
    return n > TASKS_LIMIT_MAX ? TASKS_LIMIT_MAX : n;
}

/* The source index a task names: `Migration of "X"…` (copied into buf), or NULL. */
static const char *task_source(const char *name, char *buf, size_t cap)
{
    const char *q = name ? strchr(name, '"') : NULL;
    const char *r = q ? strchr(q + 1, '"') : NULL;
    if (!r || (size_t)(r - q - 1) >= cap)
        return NULL;
    memcpy(buf, q + 1, (size_t)(r - q - 1));
    buf[r - q - 1] = '\0';
    tu_text_clean(buf, cap); /* Tracardi's text: printed, so one clean line */
    return buf;
}

/* A copy job of this migration: its name's source is one of the plan's. The migration
 * copies the old release's task documents too (tracardi-task), and those name their own,
 * older sources. */
static int task_is_ours(json_t *mc, json_t *t)
{
    char src[256];
    const char *from = task_source(jstr(t, "name"), src, sizeof(src));
    return from && json_object_get(json_object_get(mc, "sources"), from) != NULL;
}

/* A task of this migration: not known before the POST and, when the list before it was
 * cut at its limit, not older than the newest task it held. */
static int task_is_new(json_t *mc, json_t *t)
{
    const char *id = jstr(t, "id");
    if (!id || json_object_get(json_object_get(mc, "known_tasks"), id))
        return 0;
    const char *newest = jstr(mc, "known_newest");
    const char *ts = jstr(t, "timestamp");
    if (newest && json_is_true(json_object_get(mc, "known_cut")))
        return ts && strcmp(ts, newest) >= 0;
    return 1;
}

/* GET /tasks/type/upgrade with a limit: the api answers 50 (0.8.x) or 100 (0.9) newest
 * tasks by default, fewer than one migration's jobs. */
static int tasks_list(struct tapi *a, const char *context, long limit, json_t **out, struct tu_err *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/tasks/type/upgrade?limit=%ld", limit);
    return tapi_get_json(a, path, context, out, err);
}

int migrate_tasks_snapshot(struct tapi *a, const char *ctx, json_t *mc, struct tu_err *err)
{
    json_t *tasks = NULL;
    if (tasks_list(a, ctx, KNOWN_LIMIT, &tasks, err) < 0) {
        tu_err_prefix(err, "migrate (%s): reading the tasks before the migration: ", ctx);
        return -1;
    }
    json_t *known = json_object();
    json_t *list = json_object_get(json_object_get(tasks, "grouped"), "Tasks");
    const char *newest = NULL;
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) if (jstr(s, "id")) {
        json_t *ts = json_object_get(s, "timestamp");
        json_object_set(known, jstr(s, "id"), ts ? ts : json_null());
        if (json_is_string(ts) && (!newest || strcmp(json_string_value(ts), newest) > 0))
            newest = json_string_value(ts);
    }
    json_object_set_new(mc, "known_tasks", known);
    if (newest)
        json_object_set_new(mc, "known_newest", json_string(newest));
    json_object_set_new(mc, "known_cut", json_boolean(json_array_size(list) >= KNOWN_LIMIT));
    json_decref(tasks);
    return 0;
}

#define NO_TASK_TIMEOUT_MS 120000
#define ES_DOWN_TIMEOUT_MS 30000

/* Elasticsearch gone during the migration: what the api says of its tasks then is
 * not worth waiting on. Returns -1 (err set) once it has not answered for
 * ES_DOWN_TIMEOUT_MS; checked every 5 s. */
static int es_watch(const struct es_conn *es, const char *ctx, long *last_check, long *down_since, struct tu_err *err)
{
    long now = time_mono_ms();
    if (now - *last_check < 5000)
        return 0;
    *last_check = now;
    struct es_health h;
    struct tu_err he;
    if (es_health(es, &h, &he) == 0) {
        *down_since = 0;
        return 0;
    }
    if (!*down_since)
        *down_since = now;
    if (now - *down_since < ES_DOWN_TIMEOUT_MS)
        return 0;
    return tu_err_set(err, TU_ERR_CONNECT, "migrate (%s): Elasticsearch stopped answering during the migration "
                                           "(for %ld s: %s)", ctx, (now - *down_since) / 1000, he.msg);
}


/* Celery's state of a 0.8.x job (tracardi-api import_endpoint.py): into st (PENDING for an
 * unknown id), with progress current/total when it reports one. */
static int celery_state(struct tapi *a, const char *ctx, const char *id, char st[16], double *frac,
                        struct tu_err *err)
{
    char *esc = docker_escape(id);
    char *path = xasprintf("/import/task/%s/status", esc);
    free(esc);
    json_t *r = NULL;
    int rc = tapi_get_json(a, path, ctx, &r, err);
    free(path);
    if (rc < 0)
        return -1;
    const char *s = jstr(r, "status");
    snprintf(st, 16, "%s", s ? s : "PENDING");
    json_t *p = json_object_get(r, "progress");
    double cur = json_number_value(json_object_get(p, "current")), tot = json_number_value(json_object_get(p, "total"));
    *frac = strcmp(st, "SUCCESS") == 0 ? 1.0 : tot > 0 && cur >= 0 && cur <= tot ? cur / tot : 0.0;
    json_decref(r);
    return 0;
}

static int is_failed_celery(const char *st)
{
    return strcmp(st, "FAILURE") == 0 || strcmp(st, "REVOKED") == 0;
}

/* A copy of the old release's own task records (tracardi-task): 0.9's Task refuses 0.8's
 * statuses ("PROGRESS"), so such records fail one by one; they are job history, not data. */
static int history_table(json_t *t)
{
    char src[256];
    const char *from = task_source(jstr(t, "name"), src, sizeof(src));
    const char *dot = from ? strrchr(from, '.') : NULL;
    return dot && strcmp(dot + 1, "tracardi-task") == 0;
}

/* 0.9 rows whose copy never ran (copy_to_mysql has no class for the table and returns,
 * leaving the row pending): fine when the source held nothing, a failure otherwise. */
static int rows_never_ran(struct engine *e, const struct es_conn *es, const char *ctx, json_t *mc, json_t *pending,
                          struct tu_err *err)
{
    size_t i;
    json_t *t;
    json_array_foreach(pending, i, t) {
        char src[256];
        const char *from = task_source(jstr(t, "name"), src, sizeof(src));
        int64_t n = 0;
        if (!from)
            return tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): task '%.200s' never ran, and tracup cannot tell "
                              "which index it was to copy", ctx, jstr(t, "name") ? jstr(t, "name") : "?");
        if (es_count_or_absent(es, from, &n, err) < 0) {
            tu_err_prefix(err, "migrate (%s): counting '%.200s': ", ctx, from);
            return -1;
        }
        const char *table = jstr(json_object_get(mc, "tables"), from);
        if (n > 0)
            return tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): Tracardi did not copy '%s' (%lld documents)%s%s: "
                              "its task never ran (Tracardi's copy_to_mysql has no class for that table)", ctx, from,
                              (long long)n, table ? " into MySQL table " : "", table ? table : "");
        engine_say(e, "migrate", "%s: '%s' was not copied by Tracardi, and holds nothing", ctx, from);
    }
    return 0;
}

/*
 * Waits for this migration's jobs in one context and fails on any that failed.
 * 0.8.x: task documents never change; each job's state is Celery's. The orchestrator ends
 * SUCCESS once it has enqueued one job per plan row; each row's job then ends SUCCESS or
 * FAILURE. 0.9: the rows say it; the orchestrator is finished once every copy returned.
 */
static int wait_tasks_in(struct engine *e, size_t hop, struct tapi *a, const struct es_conn *es, const char *ctx,
                         long deadline, json_t *noted, struct tu_err *err)
{
    long es_checked = 0, es_down = 0;
    json_t *hj = engine_hop(e, hop);
    json_t *mc = json_object_get(json_object_get(hj, "migration"), ctx);
    const struct release_info *ti = release_info_of_db(jstr(hj, "to_db_version"));
    int rows_model = ti && ti->tasks_in_rows;
    size_t want = (size_t)json_integer_value(json_object_get(mc, "rows"));
    if (!want)
        want = json_array_size(json_object_get(mc, "ids"));
    const char *job = jstr(mc, "job");
    int last_pct = -1;
    long first_seen = time_mono_ms(), all_ok_since = 0;
    for (;;) {
        json_t *tasks = NULL;
        if (tasks_list(a, ctx, known_cap(mc), &tasks, err) < 0) {
            tu_err_prefix(err, "migrate (%s): ", ctx);
            return -1;
        }
        json_t *list = json_object_get(json_object_get(tasks, "grouped"), "Tasks");
        size_t i, mine = 0, done = 0;
        double frac = 0;
        int orch_done = 0, orch_seen = 0, orchs = 0, rc = 0;
        json_t *t, *pending = json_array();
        char orch_st[16] = "PENDING";
        /* 0.8.x: the job POST answered is the orchestrator, even before its document exists. */
        if (!rows_model && job) {
            double f;
            if (celery_state(a, ctx, job, orch_st, &f, err) < 0)
                rc = -1;
            orch_seen = strcmp(orch_st, "PENDING") != 0;
            orch_done = strcmp(orch_st, "SUCCESS") == 0;
            if (rc == 0 && is_failed_celery(orch_st))
                rc = tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): Tracardi's migration job %s ended %s before "
                                "it started the copies (see the update worker's log)", ctx, job, orch_st);
        }
        json_array_foreach(list, i, t) {
            const char *id = jstr(t, "id"), *name = jstr(t, "name");
            if (rc < 0 || !task_is_new(mc, t) || (job && strcmp(id, job) == 0))
                continue;
            if (name && strcmp(name, ORCHESTRATOR) == 0) {
                /* a resumed wait that lost the job id, or 0.9's row */
                if (job)
                    continue; /* another orchestrator's document, copied from the old release */
                const char *ost = jstr(t, "status");
                if (rows_model && ost && strcmp(ost, "pending") != 0 && strcmp(ost, "running") != 0 &&
                    strcmp(ost, "finished") != 0)
                    continue; /* not a 0.9 row's status: copied, not this migration's */
                orch_seen = 1;
                /* 0.9: a second orchestrator of this POST is huey running the job again because
                 * the first attempt raised (facts 35); its copies start over */
                if (rows_model)
                    orchs++; /* said after the rows: a failed row names what failed */
                if (rows_model) {
                    orch_done |= ost && strcmp(ost, "finished") == 0;
                } else if (!job) {
                    double f;
                    char st[16];
                    const char *tid = jstr(t, "task_id") ? jstr(t, "task_id") : id;
                    if (celery_state(a, ctx, tid, st, &f, err) < 0)
                        rc = -1;
                    else
                        orch_done |= strcmp(st, "SUCCESS") == 0;
                }
                continue;
            }
            if (!task_is_ours(mc, t))
                continue;
            mine++;
            char what[300];
            snprintf(what, sizeof(what), "%s", name ? name : id);
            if (rows_model) {
                const char *st = jstr(t, "status") ? jstr(t, "status") : "?";
                const char *msg = jstr(t, "message");
                if (strcmp(st, "error") == 0)
                    rc = tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): task '%.200s' failed: %.300s", ctx, what,
                                    msg ? msg : "Tracardi gave no reason");
                else if (strcmp(st, "finished") == 0 && msg && *msg && !history_table(t))
                    /* copy_to_mysql marks a record it cannot convert as an error, carries on and
                     * ends finished: only the last error is kept, with no count */
                    rc = tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): task '%.200s' finished, but Tracardi could "
                                    "not copy at least one record (the last error: %.300s); Tracardi keeps no count "
                                    "of them", ctx, what, msg);
                else if (strcmp(st, "finished") == 0) {
                    if (msg && *msg && !json_object_get(noted, id)) {
                        char shown[201];
                        snprintf(shown, sizeof(shown), "%s", msg);
                        tu_text_clean(shown, sizeof(shown));
                        engine_say(e, "migrate", "%s: some of the old release's task records were not copied "
                                   "(0.9 refuses 0.8's task statuses; last error: %s): they are the history of "
                                   "background jobs, not data", ctx, shown);
                        json_object_set_new(noted, id, json_true());
                    }
                    done++, frac += 1.0;
                }
                else
                    json_array_append(pending, t);
            } else {
                char st[16];
                double f = 0;
                const char *tid = jstr(t, "task_id") ? jstr(t, "task_id") : id;
                if (celery_state(a, ctx, tid, st, &f, err) < 0)
                    rc = -1;
                else if (is_failed_celery(st))
                    rc = tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): task '%.200s' ended %s (Tracardi keeps "
                                    "no reason: see the update worker's log)", ctx, what, st);
                else if (strcmp(st, "SUCCESS") == 0)
                    done++;
                frac += f;
            }
        }
        json_decref(tasks);
        /* 0.9: a second orchestrator of this POST is huey running the job again because the
         * first attempt raised (facts 35); its copies start over */
        if (rc == 0 && orchs > 1)
            rc = tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): Tracardi's migration job failed and huey started it "
                            "again (a second 'Migration plan orchestrator'); see the update worker's log", ctx);
        if (rc < 0) {
            if (err->kind == TU_ERR_HTTP || err->kind == TU_ERR_NOT_FOUND)
                tu_err_prefix(err, "migrate (%s): ", ctx);
            json_decref(pending);
            return -1;
        }
        int p = want ? (int)(100.0 * frac / (double)(mine > want ? mine : want)) : 0;
        if (mine && p / 10 != last_pct / 10) {
            engine_say(e, "migrate", "%s: %zu of %zu copies done, %d%%", ctx, done, want, p);
            last_pct = p;
        }
        if (rows_model && orch_done) {
            /* every copy has returned: what is still pending never ran */
            int r = rows_never_ran(e, es, ctx, mc, pending, err);
            json_decref(pending);
            if (r < 0)
                return -1;
            if (mine < want)
                engine_say(e, "migrate", "%s: %zu of %zu copies left a task; the counts below decide", ctx, mine,
                           want);
            return 0;
        }
        json_decref(pending);
        if (!rows_model && orch_done && done == mine && mine >= want)
            return 0;
        /* add_task swallows a failed write: a job may run with no document. Once every
         * job seen has ended well for a while, the counts decide. */
        if (!rows_model && orch_done && done == mine && mine < want) {
            if (!all_ok_since)
                all_ok_since = time_mono_ms();
            else if (time_mono_ms() - all_ok_since > MISSING_DOC_GRACE_MS) {
                engine_say(e, "migrate", "%s: %zu of %zu copies left no task document to follow (Tracardi logs "
                           "such a write failure only at INFO); the counts below decide", ctx, want - mine, want);
                return 0;
            }
        } else {
            all_ok_since = 0;
        }
        if (es_watch(es, ctx, &es_checked, &es_down, err) < 0)
            return -1;
        /* Nothing picked the job up: the job sits in a queue nobody reads (no update worker,
         * or one on another Redis: tracardi issue #849). */
        if (!orch_seen && !mine && time_mono_ms() > first_seen + NO_TASK_TIMEOUT_MS)
            return tu_err_set(err, TU_ERR_TIMEOUT, "migrate (%s): no migration task appeared within %d s; is the "
                                                   "update worker of the new release running, on the new release's "
                                                   "Redis?", ctx, NO_TASK_TIMEOUT_MS / 1000);
        if (tu_interrupted())
            return PHASE_INTERRUPTED;
        if (time_mono_ms() > deadline)
            return tu_err_set(err, TU_ERR_TIMEOUT, "migrate (%s): %zu of %zu copies done after %ld s", ctx, done, want,
                              e->o->migrate_timeout_s);
        time_sleep_ms(1000);
    }
}

int migrate_tasks_wait(struct engine *e, size_t hop, struct tapi *a, const struct es_conn *es, const char *ctx,
                       long deadline, struct tu_err *err)
{
    json_t *noted = json_object(); /* notes said once */
    int rc = wait_tasks_in(e, hop, a, es, ctx, deadline, noted, err);
    json_decref(noted);
    return rc;
}

