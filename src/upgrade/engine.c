/* engine.c - the order of the phases, the journal around them, rollback and resume. */
#include "upgrade/engine.h"

#include <archive.h>
#include <archive_entry.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "docker/objects.h"
#include "tracardi/api.h"
#include "tracardi/images.h"
#include "upgrade/edge.h"
#include "upgrade/engine_hooks.h"
#include "upgrade/lock.h"
#include "upgrade/phases.h"
#include "upgrade/pin.h"
#include "util/fsutil.h"
#include "util/http.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void engine_say(struct engine *e, const char *phase, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    if (e->o->json) {
        json_t *ev = json_pack("{s:s,s:s,s:s,s:f}", "event", "phase", "phase", phase, "message", msg, "t",
                               (double)(time_mono_ms() - e->t0_ms) / 1000.0);
        json_dumpf(ev, e->out, JSON_COMPACT);
        fputc('\n', e->out);
        json_decref(ev);
    } else {
        fprintf(e->out, "[%6.1fs] %-12s %s\n", (double)(time_mono_ms() - e->t0_ms) / 1000.0, phase, msg);
    }
    fflush(e->out);
    free(msg);
}

int history_append(const struct upctx *u, json_t *record, struct tu_err *err)
{
    char stamp[32];
    const char *user = getenv("SUDO_USER");
    if (!user || !*user)
        user = getenv("USER");
    if (!user || !*user) {
        struct passwd *pw = getpwuid(getuid());
        user = pw ? pw->pw_name : NULL;
    }
    json_object_set_new(record, "when", json_string(time_iso_now(stamp, sizeof(stamp))));
    json_object_set_new(record, "who", json_string(user ? user : "?"));
    json_object_set_new(record, "stack", json_string(u->stack->name));
    char *line = json_dumps(record, JSON_COMPACT);
    int rc = fs_append_line(u->history_path, line, 0600, err);
    free(line);
    return rc;
}

static void record_history(struct engine *e, const char *op, const char *result)
{
    json_t *r = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:f}", "operation", op, "id", jstr(e->j.doc, "id"), "from",
                          jstr(json_object_get(e->j.doc, "from"), "version"), "to", jstr(e->j.doc, "to"), "result",
                          result, "duration_s", (double)(time_mono_ms() - e->t0_ms) / 1000.0);
    json_t *digests = json_object();
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(e->j.doc, "hops"), i, h) {
        const char *k;
        json_t *im;
        json_object_foreach(json_object_get(h, "images"), k, im)
            if (jstr(im, "digest")) json_object_set_new(digests, jstr(im, "ref"), json_string(jstr(im, "digest")));
    }
    json_object_set_new(r, "digests", digests);
    /* An upgrade's record has every hook run of it, also those before a resume. */
    json_t *runs = strcmp(op, "upgrade") == 0 ? json_object_get(e->j.doc, "hooks") : e->hook_runs;
    if (json_array_size(runs))
        json_object_set(r, "hooks", runs);
    struct tu_err err;
    if (history_append(e->u, r, &err) < 0)
        engine_say(e, "history", "warning: %s", err.msg);
    json_decref(r);
}

/* A pinned env file follows the release that serves (see upgrade/pin.c). */
static void pin_say(void *ud, const char *msg)
{
    engine_say(ud, "pin", "%s", msg);
}

static void pin_follow_stack(struct engine *e)
{
    pin_follow(e->u->d, e->u->prefix, e->u->stack->name, e->u->stack_dir, pin_say, e);
}

/* ---------------------------------------------------------------- steps */

struct step {
    char name[64];
    int (*fn)(struct engine *, size_t, struct tu_err *);
    size_t hop;
};

static size_t build_steps(struct engine *e, struct step *s, size_t max)
{
    size_t n = 0, nh = json_array_size(json_object_get(e->j.doc, "hops"));
#define ADD(nm, f, h)                                                                                              \
    do {                                                                                                           \
        if (n < max) {                                                                                             \
            snprintf(s[n].name, sizeof(s[n].name), "%s", nm);                                                     \
            s[n].fn = f;                                                                                           \
            s[n].hop = h;                                                                                          \
            n++;                                                                                                   \
        }                                                                                                          \
    } while (0)
    ADD("preflight", phase_preflight, 0);
    ADD("pull", phase_pull, 0);
    ADD("snapshot", phase_snapshot, 0);
    for (size_t h = 0; h < nh; h++) {
        const char *v = jstr(engine_hop(e, h), "to");
        char nm[64];
        snprintf(nm, sizeof(nm), "start-green:%s", v);
        ADD(nm, phase_start_green, h);
        snprintf(nm, sizeof(nm), "smoke:%s", v);
        ADD(nm, phase_smoke, h);
        snprintf(nm, sizeof(nm), "install:%s", v);
        ADD(nm, phase_install, h);
        snprintf(nm, sizeof(nm), "migrate:%s", v);
        ADD(nm, phase_migrate, h);
    }
    if (nh > 1)
        ADD("remove-intermediate", phase_remove_intermediate, 0);
    ADD("switch", phase_switch, 0);
    ADD("observe", phase_observe, 0);
    ADD("done", phase_done, 0);
#undef ADD
    return n;
}

static void engine_init(struct engine *e, struct upctx *u, const struct up_opts *o, FILE *out)
{
    memset(e, 0, sizeof(*e));
    e->u = u;
    e->o = o;
    e->out = out;
    e->t0_ms = time_mono_ms();
}

static void engine_free(struct engine *e)
{
    journal_free(&e->j);
    plan_free(&e->plan);
    free(e->upgrade_dir);
    hooks_close(&e->hooks);
    json_decref(e->hook_runs);
}

/* ---------------------------------------------------------------- hooks */

/* A post hook: its failure is a warning (the runner prints it), never the outcome's. */
static void post_hook(struct engine *e, enum hook_point p, const char *result)
{
    struct tu_err he;
    tu_err_clear(&he);
    if (engine_hook(e, p, result, 0, &he) < 0)
        fprintf(stderr, "warning: %s\n", he.msg);
}

/* True when the journal shows phase begun (an upgrade from before hooks were journaled). */
static int phase_seen(struct engine *e, const char *phase)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(e->j.doc, "phases"), i, p) if (jstr(p, "name") &&
                                                                     strcmp(jstr(p, "name"), phase) == 0) return 1;
    return 0;
}

/* pre-upgrade, once, after preflight and before the first change. Returns 0 to go
 * on, 1 when tracup was interrupted while it ran (resume runs it again), else -1:
 * the upgrade ends not started (err). A resume past it does not run it again. */
static int pre_upgrade(struct engine *e, struct tu_err *err)
{
    if (journal_hook_reached(&e->j, HOOK_PRE_UPGRADE) || phase_seen(e, "pull"))
        return 0;
    struct tu_err he;
    tu_err_clear(&he);
    if (engine_hook(e, HOOK_PRE_UPGRADE, NULL, 1, &he) == 0)
        return 0;
    if (tu_interrupted())
        return 1; /* cut short, not a no: nothing changed yet */
    json_object_set_new(e->j.doc, "not_started", json_string(he.msg));
    journal_set_state(&e->j, "rolled_back", err);
    record_history(e, "upgrade", "not started: a pre-upgrade hook said no");
    tu_err_set(err, TU_ERR_REFUSED, "%s: the upgrade was not started", he.msg);
    if (he.hint[0])
        tu_err_hint(err, "%s", he.hint);
    return -1;
}

/* Hooks after a phase completed, now or in the run a resume continues. */
static void hooks_after(struct engine *e, const char *phase)
{
    if (strcmp(phase, "switch") == 0 && !journal_hook_reached(&e->j, HOOK_POST_SWITCH))
        post_hook(e, HOOK_POST_SWITCH, "switched");
}

/* ---------------------------------------------------------------- running */

static enum up_outcome run_steps(struct engine *e, struct tu_err *err)
{
    struct step steps[64];
    size_t n = build_steps(e, steps, 64);
    const char *kill_at = getenv("TRACUP_TEST_KILL_AT");
    for (size_t i = 0; i < n; i++) {
        if (journal_phase_ok(&e->j, steps[i].name)) {
            hooks_after(e, steps[i].name);
            continue;
        }
        if (tu_interrupted()) {
            journal_set_state(&e->j, "interrupted", err);
            engine_say(e, steps[i].name, "interrupted before this phase; 'tracup resume' continues, "
                                         "'tracup rollback' goes back to blue");
            return UP_INTERRUPTED;
        }
        int pre = strcmp(steps[i].name, "pull") == 0 ? pre_upgrade(e, err) : 0;
        if (pre < 0)
            return UP_REFUSED;
        if (pre > 0) {
            journal_set_state(&e->j, "interrupted", err);
            engine_say(e, steps[i].name, "interrupted while the pre-upgrade hook ran, nothing changed; 'tracup "
                                         "resume' runs it again and continues, 'tracup rollback' ends the upgrade");
            return UP_INTERRUPTED;
        }
        if (journal_phase_begin(&e->j, steps[i].name, err) < 0) {
            tu_err_prefix(err, "cannot write the journal, stopping: ");
            return UP_FAILED_ATTENTION;
        }
        if (kill_at && strcmp(kill_at, steps[i].name) == 0)
            raise(SIGKILL); /* test hook: die exactly here, as a crash would */
        struct tu_err pe;
        tu_err_clear(&pe);
        int rc = steps[i].fn(e, steps[i].hop, &pe);
        if (rc == PHASE_INTERRUPTED) {
            journal_phase_end(&e->j, steps[i].name, "interrupted", NULL, err);
            journal_set_state(&e->j, "interrupted", err);
            engine_say(e, steps[i].name, "interrupted at a safe point; 'tracup resume' continues, "
                                         "'tracup rollback' goes back to blue");
            return UP_INTERRUPTED;
        }
        if (rc < 0) {
            *err = pe;
            journal_phase_end(&e->j, steps[i].name, "failed", pe.msg, err);
            *err = pe;
            engine_say(e, steps[i].name, "failed: %s", pe.msg);
            /* A daemon that went away (restart, crash) failed the phase, not green:
             * nothing is rolled back (that needs the daemon too); resume goes on. */
            if (e->u->d->lost || e->daemon_restarted || !docker_alive(e->u->d)) {
                journal_set_state(&e->j, "interrupted", err);
                engine_say(e, steps[i].name, "the Docker daemon stopped answering or restarted; nothing was rolled back: "
                                             "'tracup resume' continues once it is back, 'tracup rollback' "
                                             "goes back to blue");
                tu_err_set(err, TU_ERR_CONNECT, "the Docker daemon stopped answering or restarted during %s: %s",
                           steps[i].name, pe.msg);
                return UP_DAEMON_LOST;
            }
            if (strcmp(steps[i].name, "preflight") == 0) {
                journal_set_state(&e->j, "rolled_back", err);
                *err = pe;
                return UP_REFUSED;
            }
            engine_say(e, "rollback", "rolling back to %s", jstr(json_object_get(e->j.doc, "from"), "version"));
            /* An automatic rollback is for safety: a pre-rollback hook is told, it cannot stop it. */
            struct tu_err he;
            tu_err_clear(&he);
            if (engine_hook(e, HOOK_PRE_ROLLBACK, NULL, 0, &he) != 0)
                engine_say(e, "rollback", "%s; an automatic rollback goes on regardless", he.msg);
            struct tu_err re;
            tu_err_clear(&re);
            if (engine_rollback_steps(e, &re) < 0) {
                journal_set_state(&e->j, "failed", &re);
                engine_say(e, "rollback", "failed: %s", re.msg);
                post_hook(e, HOOK_POST_ROLLBACK, "failed");
                post_hook(e, HOOK_POST_UPGRADE, "failed");
                record_history(e, "upgrade", "failed, needs attention");
                tu_err_set(err, TU_ERR_REFUSED, "%s; the automatic rollback failed too: %s", pe.msg, re.msg);
                return UP_FAILED_ATTENTION;
            }
            post_hook(e, HOOK_POST_ROLLBACK, "rolled_back");
            post_hook(e, HOOK_POST_UPGRADE, "rolled_back");
            record_history(e, "upgrade", "failed, rolled back");
            *err = pe;
            return UP_FAILED_ROLLED_BACK;
        }
        if (journal_phase_end(&e->j, steps[i].name, "ok", NULL, err) < 0)
            return UP_FAILED_ATTENTION;
        /* test hook: "<phase>:end" dies right after the phase is journaled done */
        size_t kl = kill_at ? strlen(kill_at) : 0;
        if (kl > 4 && strcmp(kill_at + kl - 4, ":end") == 0 && strncmp(kill_at, steps[i].name, kl - 4) == 0 &&
            steps[i].name[kl - 4] == '\0')
            raise(SIGKILL);
        hooks_after(e, steps[i].name);
    }
    if (journal_set_state(&e->j, "done", err) < 0)
        return UP_FAILED_ATTENTION;
    post_hook(e, HOOK_POST_UPGRADE, "done");
    record_history(e, "upgrade", "done");
    if (json_is_true(json_object_get(e->j.doc, "blue_standby")))
        engine_say(e, "done", "Tracardi %s serves stack %s. Blue (%s) stands by: its api and gui run, its workers are "
                              "stopped; 'tracup rollback' goes back to it in about a second until 'tracup finalize'.",
                   jstr(e->j.doc, "to"), e->u->stack->name, jstr(json_object_get(e->j.doc, "from"), "version"));
    else
        engine_say(e, "done", "Tracardi %s serves stack %s. Blue (%s) is stopped and kept: 'tracup rollback' goes back "
                              "to it until 'tracup finalize'.",
                   jstr(e->j.doc, "to"), e->u->stack->name, jstr(json_object_get(e->j.doc, "from"), "version"));
    pin_follow_stack(e);
    return UP_DONE;
}

static json_t *blue_record(struct upctx *u, const char *edge_conf)
{
    json_t *rel = json_array();
    for (size_t i = 0; i < u->stack->n; i++) {
        const struct stack_container *c = &u->stack->c[i];
        int ours = c->role == ROLE_API || c->role == ROLE_GUI || c->role == ROLE_WORKER || c == u->redis;
        if (ours && c->state && strcmp(c->state, "running") == 0)
            json_array_append_new(rel, json_string(c->id));
    }
    /* The parts that can stand by after done: they serve, they process nothing. */
    json_t *standby = json_array();
    for (size_t i = 0; i < u->stack->n; i++) {
        const struct stack_container *c = &u->stack->c[i];
        if ((c->role == ROLE_API || c->role == ROLE_GUI) && c->state && strcmp(c->state, "running") == 0)
            json_array_append_new(standby, json_string(c->id));
    }
    json_t *b = json_pack("{s:s,s:o,s:o}", "api", u->api->id, "release", rel, "standby", standby);
    if (u->edge)
        json_object_set_new(b, "edge", json_string(u->edge->id));
    if (edge_conf)
        json_object_set_new(b, "edge_conf", json_string(edge_conf));
    return b;
}

/* A recovered stale lock is said as an event: with --json, stdout stays JSON lines. */
static int lock_take(struct engine *e, struct tu_lock *l, const char *what, struct tu_err *err)
{
    char *recovered = NULL;
    if (lock_acquire(l, e->u->lock_path, what, &recovered, err) < 0)
        return -1;
    if (recovered) {
        engine_say(e, "lock", "%s", recovered);
        free(recovered);
    }
    return 0;
}

enum up_outcome upgrade_start(struct upctx *u, const struct up_opts *o, FILE *out, struct tu_err *err)
{
    struct engine e;
    engine_init(&e, u, o, out);
    struct tu_lock lock;
    char what[96];
    snprintf(what, sizeof(what), "upgrade --to %s", o->plan.target);
    if (lock_take(&e, &lock, what, err) < 0)
        return UP_REFUSED;
    enum up_outcome outcome = UP_REFUSED;
    if (plan_build(u, &o->plan, &e.plan, err) < 0)
        goto out;
    if (e.plan.refused) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(e.plan.doc, "refusals"), i, v)
            engine_say(&e, "preflight", "refused: %s", json_string_value(v));
        tu_err_set(err, TU_ERR_REFUSED, "the upgrade is refused: %s",
                   json_string_value(json_array_get(json_object_get(e.plan.doc, "refusals"), 0)));
        goto out;
    }
    if (!o->admin_email || !o->admin_password) {
        tu_err_set(err, TU_ERR_USAGE, e.plan.shared ? "the new release runs on blue's data and logs in as blue's admin: "
                                                      "set TRACUP_ADMIN_EMAIL and TRACUP_ADMIN_PASSWORD (or "
                                                      "--admin-password-file)"
                                                    : "the new release is installed with an admin account: set "
                                                      "TRACUP_ADMIN_EMAIL and TRACUP_ADMIN_PASSWORD (or "
                                                      "--admin-password-file)");
        goto out;
    }
    if (engine_hooks_open(&e, 0, err) < 0)
        goto out;
    /* The journal exists before anything changes; without it nothing runs. */
    char stamp[32];
    char *id = xasprintf("%s-%s-%s", time_compact_now(stamp, sizeof(stamp)), u->blue_v.text, e.plan.target.text);
    e.upgrade_dir = xasprintf("%s/upgrades/%s", u->stack_dir, id);
    if (fs_mkdirs(e.upgrade_dir, 0700, err) < 0) {
        free(id);
        goto out;
    }
    char *edge_conf = NULL;
    const char *sw = o->plan.switch_mode ? o->plan.switch_mode : "edge";
    if (strcmp(sw, "edge") == 0 && u->edge && edge_read(u->d, u->edge->id, &edge_conf, err) < 0) {
        tu_err_prefix(err, "the edge has no config tracup can manage: ");
        free(id);
        goto out;
    }
    json_t *hops = json_array();
    for (size_t h = 0; h < e.plan.nhops; h++) {
        const struct plan_hop *ph = &e.plan.hops[h];
        char tenant[6];
        if (h == 0)
            snprintf(tenant, sizeof(tenant), "%s", e.plan.tenant_from);
        else
            release_tenant(&e.plan.hops[h - 1].hop.to, tenant);
        json_t *imgs = json_object();
        for (size_t k = 0; k < ph->nimages; k++)
            json_object_set_new(imgs, ph->images[k].key,
                                json_pack("{s:s,s:s,s:s?,s:s?}", "ref", ph->images[k].ref, "repo", ph->images[k].repo,
                                          "digest", ph->images[k].digest, "image_id", ph->images[k].image_id));
        /* Tracardi names a migration's source by its index prefix ("080", "08x", "0820"). */
        json_array_append_new(hops, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:[],s:{}}", "to", ph->hop.to.text,
                                              "from_db_version", ph->hop.from_info->db_version, "from_migration",
                                              ph->hop.from_info->prefix, "to_db_version",
                                              ph->hop.to_info->db_version, "from_tenant", tenant, "migrate_path",
                                              ph->hop.to_info->migrate_path, "intermediate", ph->hop.intermediate,
                                              "images", imgs, "containers", "migration"));
    }
    /* 0.8.0's api names no db_version (tests/standins/README.md, facts 24): its release's */
    const char *blue_db = jstr(u->blue_details, "db_version");
    if (!blue_db && e.plan.nhops)
        blue_db = e.plan.hops[0].hop.from_info->db_version;
    json_t *doc = json_pack("{s:s,s:s,s:s,s:{s:s,s:s?,s:s},s:s,s:s,s:o,s:O,s:o,s:b,s:b}", "id", id, "stack",
                            u->stack->name, "prefix", u->prefix, "from", "version", u->blue_v.text, "db_version",
                            blue_db, "name", e.plan.tenant_from, "to", e.plan.target.text,
                            "switch", sw, "hops", hops, "plan", e.plan.doc, "blue", blue_record(u, edge_conf),
                            "switched", 0, "blue_stopped", 0);
    if (o->blue_standby)
        json_object_set_new(doc, "blue_standby", json_true());
    json_object_set_new(doc, "upgrade_dir", json_string(e.upgrade_dir));
    if (e.plan.downgrade)
        json_object_set_new(doc, "downgrade", json_true());
    /* One db_version: green runs on blue's indices; nothing of them is ever deleted. */
    if (e.plan.shared)
        json_object_set_new(doc, "shared_data", json_true());
    /* What resume needs to carry on as this run would have. */
    /* Not the switch command: an operator's command line may carry a token. */
    json_object_set_new(doc, "opts", json_pack("{s:I,s:I,s:I,s:s?,s:s?,s:s?}", "smoke_timeout_s",
                                               (json_int_t)o->smoke_timeout_s, "observe_s", (json_int_t)o->observe_s,
                                               "migrate_timeout_s", (json_int_t)o->migrate_timeout_s, "checks_dir",
                                               o->checks_dir, "mysql_host", o->plan.mysql_host, "public_url",
                                               o->public_url));
    json_t *jopts = json_object_get(doc, "opts");
    if (e.hooks.dir)
        json_object_set_new(jopts, "hooks_dir", json_string(e.hooks.dir));
    json_object_set_new(jopts, "hook_timeout_s", json_integer(e.hooks.timeout_ms / 1000));
    char *pub = strcmp(sw, "edge") == 0 && u->edge ? stack_container_url(u->edge, EDGE_API_PORT)
              : strcmp(sw, "ports") == 0       ? engine_port_url(u->api->inspect, 80)
              : o->public_url                  ? xstrdup(o->public_url) : NULL;
    if (pub)
        json_object_set_new(doc, "public_url", json_string(pub));
    free(pub);
    free(edge_conf);
    free(id);
    if (journal_create(&e.j, u->journal_path, doc, err) < 0) {
        tu_err_prefix(err, "refusing to start without a journal: ");
        goto out;
    }
    engine_say(&e, "upgrade", "%s: journal %s", jstr(e.j.doc, "id"), u->journal_path);
    outcome = run_steps(&e, err);
out:
    engine_free(&e);
    lock_release(&lock);
    return outcome;
}

/* Loads the journal into e and re-picks blue's parts (not green's). Without
 * need_api, blue's api may be gone (a rollback recreates it from the snapshot). */
static int engine_load(struct engine *e, struct upctx *u, int need_api, struct tu_err *err)
{
    int r = journal_load(&e->j, u->journal_path, err);
    if (r == 1)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "stack '%s' has no upgrade to act on", u->stack->name);
    if (r < 0)
        return -1;
    json_t *greens = json_array();
    size_t h, i;
    json_t *hj, *c;
    json_array_foreach(json_object_get(e->j.doc, "hops"), h, hj)
        json_array_foreach(json_object_get(hj, "containers"), i, c) if (jstr(c, "id"))
            json_array_append_new(greens, json_string(jstr(c, "id")));
    json_t *blue_ids = json_object_get(json_object_get(e->j.doc, "blue"), "release");
    int rc = upctx_pick(u, blue_ids, NULL, err);
    if (rc < 0 || !u->api)
        rc = upctx_pick(u, NULL, greens, err);
    json_decref(greens);
    if (rc < 0 && !need_api && err->kind == TU_ERR_NOT_FOUND) {
        tu_err_clear(err);
        rc = 0;
    } else if (rc < 0 && need_api && err->kind == TU_ERR_NOT_FOUND) {
        tu_err_hint(err, "blue's api container is gone: 'tracup rollback' recreates blue from the snapshot");
    }
    e->upgrade_dir = xstrdup(jstr(e->j.doc, "upgrade_dir") ? jstr(e->j.doc, "upgrade_dir") : u->stack_dir);
    return rc;
}

/* Options of the journaled run, where the resume's command line did not set them. */
static void resume_opts(struct up_opts *dst, const struct up_opts *given, json_t *rec)
{
    *dst = *given;
    json_t *v;
    if (given->smoke_timeout_s < 0)
        dst->smoke_timeout_s = (v = json_object_get(rec, "smoke_timeout_s")) ? (long)json_integer_value(v) : 180;
    if (given->observe_s < 0)
        dst->observe_s = (v = json_object_get(rec, "observe_s")) ? (long)json_integer_value(v) : 30;
    if (given->migrate_timeout_s < 0)
        dst->migrate_timeout_s = (v = json_object_get(rec, "migrate_timeout_s")) ? (long)json_integer_value(v) : 3600;
    if (!given->checks_dir)
        dst->checks_dir = json_string_value(json_object_get(rec, "checks_dir"));
    if (!given->plan.mysql_host)
        dst->plan.mysql_host = json_string_value(json_object_get(rec, "mysql_host"));
    if (!given->public_url)
        dst->public_url = json_string_value(json_object_get(rec, "public_url"));
}

enum up_outcome upgrade_resume(struct upctx *u, const struct up_opts *given, FILE *out, struct tu_err *err)
{
    struct up_opts o_local = *given;
    struct engine e;
    engine_init(&e, u, &o_local, out);
    struct tu_lock lock;
    if (lock_take(&e, &lock, "resume", err) < 0)
        return UP_REFUSED;
    enum up_outcome outcome = UP_REFUSED;
    if (engine_load(&e, u, 1, err) < 0)
        goto out;
    const char *st = journal_state(&e.j);
    if (strcmp(st, "running") != 0 && strcmp(st, "interrupted") != 0) {
        tu_err_set(err, TU_ERR_REFUSED, "upgrade '%s' is %s: there is nothing to resume", jstr(e.j.doc, "id"), st);
        goto out;
    }
    resume_opts(&o_local, given, json_object_get(e.j.doc, "opts"));
    if (engine_hooks_open(&e, 1, err) < 0)
        goto out;
    journal_set_state(&e.j, "running", err);
    engine_say(&e, "resume", "%s from phase %s", jstr(e.j.doc, "id"), journal_phase(&e.j));
    outcome = run_steps(&e, err);
out:
    engine_free(&e);
    lock_release(&lock);
    return outcome;
}

int upgrade_rollback(struct upctx *u, const struct up_opts *o, FILE *out, struct tu_err *err)
{
    struct engine e;
    engine_init(&e, u, o, out);
    struct tu_lock lock;
    if (lock_take(&e, &lock, "rollback", err) < 0)
        return -1;
    int rc = -1;
    if (engine_load(&e, u, 0, err) < 0)
        goto out;
    const char *st = journal_state(&e.j);
    if (strcmp(st, "finalized") == 0 || strcmp(st, "finalizing") == 0) {
        int final = strcmp(st, "finalized") == 0;
        tu_err_set(err, TU_ERR_REFUSED, "upgrade '%s' %s: %s's containers%s %s, there is no way back",
                   jstr(e.j.doc, "id"), final ? "was finalized" : "is being finalized",
                   jstr(json_object_get(e.j.doc, "from"), "version"),
                   json_is_true(json_object_get(e.j.doc, "old_indices_deleted")) ? " and indices" : "",
                   final ? "are gone" : "are going");
        goto out;
    }
    if (strcmp(st, "rolled_back") == 0) {
        tu_err_set(err, TU_ERR_REFUSED, "upgrade '%s' is already rolled back", jstr(e.j.doc, "id"));
        goto out;
    }
    if (engine_hooks_open(&e, 0, err) < 0) {
        err->kind = TU_ERR_REFUSED; /* nothing changed */
        goto out;
    }
    struct tu_err he;
    tu_err_clear(&he);
    if (engine_hook(&e, HOOK_PRE_ROLLBACK, NULL, 1, &he) != 0) {
        tu_err_set(err, TU_ERR_REFUSED, "%s: nothing was rolled back", he.msg);
        if (he.hint[0])
            tu_err_hint(err, "%s", he.hint);
        record_history(&e, "rollback", "not started: a pre-rollback hook said no");
        goto out;
    }
    engine_say(&e, "rollback", "rolling back %s (state %s, phase %s)", jstr(e.j.doc, "id"), st, journal_phase(&e.j));
    if (engine_rollback_steps(&e, err) < 0) {
        journal_set_state(&e.j, "failed", err);
        post_hook(&e, HOOK_POST_ROLLBACK, "failed");
        goto out;
    }
    post_hook(&e, HOOK_POST_ROLLBACK, "rolled_back");
    record_history(&e, "rollback", "done");
    pin_follow_stack(&e);
    rc = 0;
out:
    engine_free(&e);
    lock_release(&lock);
    return rc;
}

long long upgrade_written_since_switch(struct upctx *u, json_t *journal_doc)
{
    json_t *at = json_object_get(journal_doc, "docs_at_switch");
    json_t *hops = json_object_get(journal_doc, "hops");
    json_t *hj = json_array_get(hops, json_array_size(hops) - 1);
    struct tversion v;
    struct tu_err err;
    if (!json_is_integer(at) || !hj || tversion_parse(jstr(hj, "to"), &v, &err) < 0)
        return -1;
    struct up_opts o;
    memset(&o, 0, sizeof(o));
    struct engine e;
    engine_init(&e, u, &o, stderr);
    e.j.doc = journal_doc;
    char tenant[6];
    release_tenant(&v, tenant);
    json_t *names = NULL;
    int64_t now = 0;
    int rc = engine_release_indices(&e, jstr(hj, "to_db_version"), tenant, &names, &now, &err);
    json_decref(names);
    return rc == 0 ? (long long)(now - json_integer_value(at)) : -1;
}
