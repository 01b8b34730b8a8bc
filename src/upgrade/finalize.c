/* finalize.c - ending an upgrade for good, and pruning orphan releases' indices. */
#include "upgrade/finalize.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "docker/objects.h"
#include "elastic/indexname.h"
#include "tracardi/api.h"
#include "tracardi/releases.h"
#include "upgrade/cleanup.h"
#include "upgrade/engine.h"
#include "upgrade/engine_hooks.h"
#include "upgrade/indices.h"
#include "upgrade/journal.h"
#include "upgrade/lock.h"
#include "upgrade/secrets.h"
#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int take_lock(struct upctx *u, struct tu_lock *l, const char *what, struct tu_err *err)
{
    char *recovered = NULL;
    if (lock_acquire(l, u->lock_path, what, &recovered, err) < 0)
        return -1;
    if (recovered) {
        fprintf(stderr, "note: %s\n", recovered);
        free(recovered);
    }
    return 0;
}

/* Logs in to the live release's api; without an admin account there is no api
 * to ask and everything goes through Elasticsearch (said in the result). */
static int live_api(struct upctx *u, const struct fin_opts *o, struct tapi *a, struct tversion *live,
                    struct tu_err *err)
{
    memset(a, 0, sizeof(*a));
    if (!u->api || !u->blue_v_known)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "the live release's api does not answer with its version");
    *live = u->blue_v;
    char *url = upctx_url_of(u->api, 80);
    if (!url)
        return tu_err_set(err, TU_ERR_CONNECT, "the live api container has no network address");
    tapi_init(a, url, 60000);
    free(url);
    if (tapi_login(a, o->admin_email, o->admin_password, err) < 0) {
        tu_err_prefix(err, "logging in to the live release's api: ");
        tapi_free(a);
        return -1;
    }
    return 0;
}

/* Deletes a group's listed indices and stores the record in result. */
static int delete_indices(struct upctx *u, const struct fin_opts *o, const struct es_conn *es, json_t *group,
                          json_t *result, struct tu_err *err)
{
    struct tapi a;
    struct tversion live;
    if (live_api(u, o, &a, &live, err) < 0)
        return -1;
    json_t *deleted = NULL;
    char *note = NULL;
    int rc = cleanup_delete_group(es, &a, &live, group, &deleted, &note, err);
    tapi_free(&a);
    json_object_set_new(result, "deleted_indices", deleted);
    if (note)
        json_object_set_new(result, "api_note", json_string(note));
    free(note);
    return rc;
}

static int64_t sum_docs(json_t *deleted)
{
    int64_t n = 0;
    size_t i;
    json_t *d;
    json_array_foreach(deleted, i, d) if (json_integer_value(json_object_get(d, "docs")) > 0) n +=
        json_integer_value(json_object_get(d, "docs"));
    return n;
}

/* ---------------------------------------------------------------- finalize */

/* The old release's containers still on the host: [{id, name}]. */
static json_t *blue_containers(struct upctx *u, json_t *doc)
{
    json_t *out = json_array();
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(json_object_get(doc, "blue"), "release"), i, id) {
        json_t *ins = NULL;
        struct tu_err e;
        if (docker_container_inspect(u->d, json_string_value(id), &ins, &e) == 0) {
            const char *name = jstr(ins, "Name");
            json_array_append_new(out, json_pack("{s:s,s:s}", "id", json_string_value(id), "name",
                                                 name ? (name[0] == '/' ? name + 1 : name) : "?"));
        }
        json_decref(ins);
    }
    return out;
}

/* Refuses to delete a group whose containers are not all the old release's own. */
static int only_blue_containers(json_t *group, json_t *blue, char *why, size_t cap)
{
    size_t i, k;
    json_t *c, *b;
    json_array_foreach(json_object_get(group, "containers"), i, c) {
        int ours = 0;
        json_array_foreach(blue, k, b) ours |= strcmp(jstr(b, "name"), json_string_value(c)) == 0;
        if (!ours) {
            snprintf(why, cap, "container '%s' of Tracardi %s is not part of this upgrade's old release: its "
                     "indices stay", json_string_value(c), jstr(group, "release"));
            return -1;
        }
    }
    return 0;
}

static int finalize_plan(struct upctx *u, const struct fin_opts *o, json_t *doc, json_t **plan, struct tu_err *err)
{
    json_t *from = json_object_get(doc, "from");
    json_t *blue = blue_containers(u, doc);
    json_t *images = NULL;
    if (cleanup_images_plan(u->d, u->prefix, o->keep_images, jstr(doc, "to"), &images, err) < 0) {
        json_decref(blue);
        return -1;
    }
    /* Images only the old containers use go with them. */
    json_t *keep = json_object_get(images, "keep"), *remove = json_object_get(images, "remove");
    json_t *still = json_array();
    size_t i;
    json_t *k;
    json_array_foreach(keep, i, k) {
        if (strcmp(jstr(k, "why"), "a container uses it") == 0 && strcmp(jstr(k, "version"), jstr(from, "version")) == 0)
            json_array_append(remove, k);
        else
            json_array_append(still, k);
    }
    json_object_set_new(images, "keep", still);
    *plan = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:b}", "id", jstr(doc, "id"), "stack", u->stack->name, "from",
                      jstr(from, "version"), "to", jstr(doc, "to"), "containers", blue, "images", images,
                      "delete_indices", o->delete_indices);
    json_t *groups = NULL;
    if (indices_collect(u, doc, &groups, NULL, err) < 0) {
        json_decref(*plan);
        *plan = NULL;
        return -1;
    }
    /* a journal of an older tracup may lack 0.8.0's db_version: its first hop names it */
    const char *from_db = jstr(from, "db_version");
    if (!from_db)
        from_db = jstr(json_array_get(json_object_get(doc, "hops"), 0), "from_db_version");
    json_t *group = indices_find(groups, from_db, jstr(from, "name"));
    if (group)
        json_object_set(*plan, "indices", group);
    if (json_is_true(json_object_get(doc, "shared_data")))
        json_object_set_new(*plan, "shared_data", json_true());
    int rc = 0;
    char why[512];
    const char *refusal = NULL;
    if (o->delete_indices && json_is_true(json_object_get(doc, "shared_data"))) {
        snprintf(why, sizeof(why), "Tracardi %s runs on %s's indices (both use db_version %s): there are no old "
                                   "indices to delete; finalize without --delete-old-indices",
                 jstr(doc, "to"), jstr(from, "version"), from_db ? from_db : "?");
        refusal = why;
    } else if (group && o->delete_indices) {
        refusal = indices_guard(group, REL_ROLLBACK | REL_CONTAINERS, why, sizeof(why));
        if (!refusal && only_blue_containers(group, blue, why, sizeof(why)) < 0)
            refusal = why;
    }
    if (refusal)
        rc = tu_err_set(err, TU_ERR_REFUSED, "%s", refusal);
    json_object_set(*plan, "budget", json_object_get(groups, "budget"));
    json_decref(groups);
    return rc;
}

/* Keeps the old containers' last log lines, then removes them. */
static int remove_blue(struct upctx *u, json_t *doc, json_t *containers, json_t *done, struct tu_err *err)
{
    const char *dir = jstr(doc, "upgrade_dir");
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) {
        char *logs = NULL;
        struct tu_err le;
        if (dir && docker_container_logs(u->d, jstr(c, "id"), 2000, &logs, &le) == 0) {
            char *path = xasprintf("%s/logs/%s.log", dir, jstr(c, "name"));
            char *ldir = xasprintf("%s/logs", dir);
            if (fs_mkdirs(ldir, 0700, &le) == 0)
                fs_write_atomic(path, logs, strlen(logs), 0600, &le);
            free(ldir);
            free(path);
            free(logs);
        }
        if (docker_container_remove(u->d, jstr(c, "id"), 1, err) < 0)
            return -1;
        json_array_append_new(done, json_string(jstr(c, "name")));
    }
    return 0;
}

int finalize_run(struct upctx *u, const struct fin_opts *o, fin_confirm_fn confirm, void *ud, json_t **result,
                 struct tu_err *err)
{
    *result = NULL;
    struct tu_lock lock;
    if (take_lock(u, &lock, "finalize", err) < 0)
        return -1;
    struct journal j;
    memset(&j, 0, sizeof(j));
    struct hooks hk;
    memset(&hk, 0, sizeof(hk));
    json_t *runs = json_array();
    int rc = -1;
    int r = journal_load(&j, u->journal_path, err);
    if (r != 0) {
        if (r == 1)
            tu_err_set(err, TU_ERR_NOT_FOUND, "stack '%s' has no upgrade to finalize", u->stack->name);
        goto out;
    }
    const char *st = journal_state(&j);
    json_t *plan = json_object_get(j.doc, "finalize");
    if (strcmp(st, "finalizing") == 0 && plan) {
        /* Confirmed before it was cut short: the journaled plan completes. */
        json_incref(plan);
    } else if (strcmp(st, "done") == 0) {
        if (hooks_open(&hk, o->hooks_dir, o->hooks_dir != NULL, o->hook_timeout_s, NULL, err) < 0)
            goto out;
        hk.interrupted = tu_interrupted;
        plan = NULL; /* finalize_plan's own, or NULL */
        if (finalize_plan(u, o, j.doc, &plan, err) < 0) {
            json_decref(plan);
            goto out;
        }
        if (!confirm(ud, plan)) {
            *result = plan;
            rc = 1;
            goto out;
        }
        /* Confirmed: the operator's hooks have the last word before anything goes. */
        struct tu_err he;
        tu_err_clear(&he);
        if (journal_hooks_run(&hk, &j, HOOK_PRE_FINALIZE, NULL, 1, runs, &he) != 0) {
            tu_err_set(err, TU_ERR_REFUSED, "%s: nothing was removed", he.msg);
            if (he.hint[0])
                tu_err_hint(err, "%s", he.hint);
            json_t *rec = json_pack("{s:s,s:s?,s:s?,s:s?,s:s,s:O}", "operation", "finalize", "id", jstr(j.doc, "id"),
                                    "from", jstr(plan, "from"), "to", jstr(plan, "to"), "result",
                                    "not started: a pre-finalize hook said no", "hooks", runs);
            struct tu_err hre;
            history_append(u, rec, &hre);
            json_decref(rec);
            *result = plan;
            goto out;
        }
        char stamp[32];
        json_object_set_new(plan, "confirmed", json_string(time_iso_now(stamp, sizeof(stamp))));
        json_object_set(j.doc, "finalize", plan);
        if (journal_set_state(&j, "finalizing", err) < 0) {
            json_decref(plan);
            goto out;
        }
    } else {
        const char *why = strcmp(st, "finalized") == 0     ? "is already finalized"
                        : strcmp(st, "rolled_back") == 0 ? "was rolled back: there is nothing to finalize"
                                                           : "has not finished: 'tracup resume' or 'tracup rollback' first";
        tu_err_set(err, TU_ERR_REFUSED, "upgrade '%s' %s", jstr(j.doc, "id"), why);
        goto out;
    }
    int deleting = json_is_true(json_object_get(plan, "delete_indices")) && json_object_get(plan, "indices");
    if (deleting && (!o->admin_email || !o->admin_password)) {
        tu_err_set(err, TU_ERR_USAGE, "this finalize deletes the old release's indices through the live api: set "
                                      "TRACUP_ADMIN_EMAIL and TRACUP_ADMIN_PASSWORD (or --admin-password-file)");
        json_decref(plan);
        goto out;
    }
    json_t *done = json_array();
    json_object_set_new(plan, "removed_containers", done);
    if (remove_blue(u, j.doc, json_object_get(plan, "containers"), done, err) < 0) {
        tu_err_prefix(err, "finalize stopped (run it again to complete): ");
        *result = plan;
        goto out;
    }
    const char *kill_at = getenv("TRACUP_TEST_KILL_AT");
    if (kill_at && strcmp(kill_at, "finalize-indices") == 0)
        raise(SIGKILL); /* test hook: die between the containers and the indices */
    json_t *group = json_object_get(plan, "indices");
    if (deleting) {
        struct es_conn es;
        if (upctx_es_open(u, &es, err) < 0 || delete_indices(u, o, &es, group, plan, err) < 0) {
            es_conn_free(&es);
            tu_err_prefix(err, "finalize stopped (run it again to complete): ");
            *result = plan;
            goto out;
        }
        es_conn_free(&es);
    }
    json_t *removed = NULL;
    struct tu_err ie;
    tu_err_clear(&ie);
    if (cleanup_images_apply(u->d, json_object_get(plan, "images"), &removed, &ie) < 0)
        json_object_set_new(plan, "images_note", json_string(ie.msg));
    json_object_set_new(plan, "removed_images", removed);
    /* The snapshot held the old containers' full configuration, and the secrets
     * file their secret values, for a rollback that can no longer happen. */
    const char *dir = jstr(j.doc, "upgrade_dir");
    if (dir) {
        char *snap = xasprintf("%s/snapshot.tar", dir);
        unlink(snap);
        free(snap);
    }
    char *secrets = secrets_path(u->stack_dir, jstr(j.doc, "id"));
    struct tu_err se;
    if (secrets_remove(secrets, &se) < 0)
        json_object_set_new(plan, "secrets_note", json_string(se.msg));
    free(secrets);
    json_object_set_new(j.doc, "old_indices_deleted", json_boolean(deleting));
    json_object_set(j.doc, "finalize", plan);
    if (journal_set_state(&j, "finalized", err) < 0) {
        *result = plan;
        goto out;
    }
    json_t *rec = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:O,s:O,s:O}", "operation", "finalize", "id", jstr(j.doc, "id"),
                            "from", jstr(plan, "from"), "to", jstr(plan, "to"), "result", "done", "removed_containers",
                            done, "removed_images", removed, "deleted_indices",
                            deleting ? json_object_get(plan, "deleted_indices") : json_null());
    json_object_set_new(rec, "deleted_documents", json_integer(deleting ? sum_docs(json_object_get(plan, "deleted_indices")) : 0));
    if (json_array_size(runs))
        json_object_set(rec, "hooks", runs);
    struct tu_err he;
    if (history_append(u, rec, &he) < 0)
        json_object_set_new(plan, "history_note", json_string(he.msg));
    json_decref(rec);
    *result = plan;
    rc = 0;
out:
    hooks_close(&hk);
    json_decref(runs);
    journal_free(&j);
    lock_release(&lock);
    return rc;
}

/* ---------------------------------------------------------------- prune */

/* The groups --release (and --tenant) name: a version ("0.8.0") or a
 * db_version / index prefix ("08x", "080"). */
static json_t *pick_group(json_t *groups, const struct fin_opts *o, struct tu_err *err)
{
    char db[16] = "";
    struct tversion v;
    struct tu_err e;
    const char *known = tversion_parse(o->release, &v, &e) == 0 ? tracardi_db_version(&v) : NULL;
    if (known)
        snprintf(db, sizeof(db), "%s", known);
    json_t *hit = NULL;
    size_t hits = 0, i;
    json_t *g;
    json_array_foreach(json_object_get(groups, "groups"), i, g) {
        if (!json_is_true(json_object_get(g, "tracardi")))
            continue;
        char prefix[16];
        release_db_prefix(jstr(g, "db_version"), prefix, sizeof(prefix));
        int match = db[0] ? strcmp(jstr(g, "db_version"), db) == 0
                          : strcmp(jstr(g, "db_version"), o->release) == 0 || strcmp(prefix, o->release) == 0;
        if (match && o->tenant && strcmp(jstr(g, "tenant"), o->tenant) != 0)
            match = 0;
        if (match) {
            hits++;
            hit = g;
        }
    }
    if (hits == 0) {
        tu_err_set(err, TU_ERR_NOT_FOUND, "Elasticsearch holds no indices of release '%s'%s%s", o->release,
                   o->tenant ? " with tenant " : "", o->tenant ? o->tenant : "");
        tu_err_hint(err, "'tracup indices' lists the releases it holds");
        return NULL;
    }
    if (hits > 1) {
        tu_err_set(err, TU_ERR_USAGE, "%zu tenants hold indices of release '%s': say which with --tenant", hits,
                   o->release);
        return NULL;
    }
    return hit;
}

int prune_run(struct upctx *u, const struct fin_opts *o, fin_confirm_fn confirm, void *ud, json_t **result,
              struct tu_err *err)
{
    *result = NULL;
    struct tu_lock lock;
    if (take_lock(u, &lock, "prune-indices", err) < 0)
        return -1;
    struct journal j;
    memset(&j, 0, sizeof(j));
    int rc = -1;
    json_t *groups = NULL, *plan = NULL;
    struct es_conn es;
    memset(&es, 0, sizeof(es));
    if (journal_load(&j, u->journal_path, err) < 0)
        goto out;
    if (indices_collect(u, j.doc, &groups, &es, err) < 0)
        goto out;
    json_t *group = pick_group(groups, o, err);
    if (!group)
        goto out;
    char why[512];
    const char *refusal = indices_guard(group, 0, why, sizeof(why));
    if (refusal) {
        tu_err_set(err, TU_ERR_REFUSED, "%s", refusal);
        goto out;
    }
    plan = json_pack("{s:s,s:O,s:O}", "stack", u->stack->name, "indices", group, "budget",
                     json_object_get(groups, "budget"));
    if (!confirm(ud, plan)) {
        rc = 1;
        goto out;
    }
    if (delete_indices(u, o, &es, group, plan, err) < 0)
        goto out;
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:O,s:I}", "operation", "prune-indices", "release",
                            jstr(group, "release"), "db_version", jstr(group, "db_version"), "tenant",
                            jstr(group, "tenant"), "deleted_indices", json_object_get(plan, "deleted_indices"),
                            "deleted_documents", (json_int_t)sum_docs(json_object_get(plan, "deleted_indices")));
    json_object_set_new(rec, "result", json_string("done"));
    json_object_set_new(rec, "shards_freed", json_integer(json_integer_value(json_object_get(group, "shards"))));
    struct tu_err he;
    if (history_append(u, rec, &he) < 0)
        json_object_set_new(plan, "history_note", json_string(he.msg));
    json_decref(rec);
    /* The budget as it is now. */
    json_t *after = NULL;
    struct tu_err ae;
    if (indices_collect(u, j.doc, &after, NULL, &ae) == 0)
        json_object_set(plan, "budget_after", json_object_get(after, "budget"));
    json_decref(after);
    rc = 0;
out:
    *result = plan;
    json_decref(groups);
    es_conn_free(&es);
    journal_free(&j);
    lock_release(&lock);
    return rc;
}
