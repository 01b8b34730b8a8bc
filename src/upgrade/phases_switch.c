/* phases_switch.c - moving traffic to the new release, watching it, and keeping the old one. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle/record.h"
#include "cmd/cmd.h"
#include "tracardi/releases.h"
#include "upgrade/edge.h"
#include "upgrade/green.h"
#include "upgrade/plan.h"
#include "upgrade/phases.h"
#include "util/http.h"
#include <stdlib.h>
#include <string.h>

#include "docker/objects.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---------------------------------------------------------------- intermediate releases */

int phase_remove_intermediate(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    size_t n = json_array_size(json_object_get(e->j.doc, "hops"));
    for (size_t h = 0; h + 1 < n; h++) {
        json_t *hj = engine_hop(e, h);
        if (engine_remove_hop(e, h, err) < 0)
            return -1;
        /* No traffic ever reached it: its indices hold copies that the next hop
         * has copied on; blue's own indices are untouched for a rollback. */
        struct tversion v;
        char tenant[6];
        if (tversion_parse(jstr(hj, "to"), &v, err) < 0)
            return -1;
        release_tenant(&v, tenant);
        if (engine_delete_release_indices(e, jstr(hj, "to_db_version"), tenant, "cleanup",
                                          "of the intermediate release", err) < 0)
            return -1;
        engine_say(e, "cleanup", "intermediate release %s removed", jstr(hj, "to"));
    }
    return 0;
}

/* ---------------------------------------------------------------- switch */


/* Recreates a green container with blue's published ports (Docker cannot add
 * bindings to a container that exists). */
static int rebind(struct engine *e, size_t last, const char *key, const struct stack_container *blue,
                  struct tu_err *err)
{
    json_t *hj = engine_hop(e, last);
    const char *ver = jstr(hj, "to");
    const char *name = engine_green_name(e, last, key);
    const char *old = engine_green_id(e, last, key);
    /* a twin of another api runs the api's image */
    const char *ikey = key;
    size_t ci;
    json_t *cr;
    json_array_foreach(json_object_get(hj, "containers"), ci, cr) if (jstr(cr, "key") && strcmp(jstr(cr, "key"), key) == 0 &&
                                                                       jstr(cr, "image")) ikey = jstr(cr, "image");
    json_t *im = json_object_get(json_object_get(hj, "images"), ikey);
    if (!name || !old || !im)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "switch: the new %s container is not on record", key);
    struct tversion v;
    tversion_parse(ver, &v, err);
    json_t *env = strcmp(key, "gui") == 0 ? NULL : plan_env_override(e->u, e->u->stack->name, &v, e->o->plan.mysql_host);
    json_t *labels = json_pack("{s:s,s:s,s:s,s:s,s:s}", "tracup.stack", e->u->stack->name, "tracup.color", "green",
                               "tracup.version", ver, "tracup.upgrade", jstr(e->j.doc, "id"), "tracup.role", ikey);
    char *pinned = offline_pin(e->u->d, im, err);
    if (!pinned) {
        json_decref(env);
        json_decref(labels);
        return -1;
    }
    struct green_spec gs;
    int rc = green_spec_build(e->u->d, blue, name, key, strcmp(key, "gui") == 0 ? ROLE_GUI : ROLE_API, pinned, env,
                              labels, 1, &gs, err);
    free(pinned);
    json_decref(env);
    json_decref(labels);
    if (rc < 0)
        return -1;
    json_t *pb = json_object_get(json_object_get(blue->inspect, "HostConfig"), "PortBindings");
    json_t *exposed = json_object();
    const char *port;
    json_t *pv;
    json_object_foreach(pb, port, pv) json_object_set_new(exposed, port, json_object());
    json_object_set(json_object_get(gs.body, "HostConfig"), "PortBindings", pb);
    json_object_set_new(gs.body, "ExposedPorts", exposed);
    char *newid = NULL;
    if (docker_container_remove(e->u->d, old, 1, err) < 0 ||
        docker_container_create(e->u->d, name, gs.body, &newid, err) < 0) {
        green_spec_free(&gs);
        return -1;
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(hj, "containers"), i, c) if (jstr(c, "key") && strcmp(jstr(c, "key"), key) == 0)
        json_object_set_new(c, "id", json_string(newid));
    rc = engine_save(e, err);
    for (size_t n = 1; rc == 0 && n < json_array_size(gs.networks); n++) {
        const char *aliases[] = {name, NULL};
        rc = docker_network_connect(e->u->d, json_string_value(json_array_get(gs.networks, n)), newid, aliases, err);
    }
    if (rc == 0)
        rc = docker_container_start(e->u->d, newid, err);
    free(newid);
    green_spec_free(&gs);
    return rc;
}

/* The blue container of that id in the stack, or NULL (borrowed). */
static const struct stack_container *blue_by_id(struct engine *e, const char *id)
{
    for (size_t k = 0; id && k < e->u->stack->n; k++)
        if (strcmp(e->u->stack->c[k].id, id) == 0)
            return &e->u->stack->c[k];
    return NULL;
}

/* Stop blue, give its published ports to green: a short gap, measured. */
static int switch_ports(struct engine *e, size_t last, const char *ver, struct tu_err *err)
{
    json_object_set_new(e->j.doc, "switched", json_true());
    json_object_set_new(e->j.doc, "ever_switched", json_true());
    if (engine_save(e, err) < 0)
        return -1;
    long t0 = time_mono_ms();
    const struct stack_container *blues[] = {e->u->api, e->u->gui};
    static const char *const keys[] = {"api", "gui"};
    for (size_t k = 0; k < 2; k++) {
        if (!blues[k])
            continue;
        if (docker_container_stop(e->u->d, blues[k]->id, 10, err) < 0 || rebind(e, last, keys[k], blues[k], err) < 0)
            return -1;
    }
    /* The twins of the other apis, each with its own blue's ports. */
    json_t *twins = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(engine_hop(e, last), "containers"), i, c) if (jstr(c, "blue_id"))
        json_array_append(twins, c);
    json_array_foreach(twins, i, c) {
        const struct stack_container *blue = blue_by_id(e, jstr(c, "blue_id"));
        if (!blue) {
            json_decref(twins);
            return tu_err_set(err, TU_ERR_NOT_FOUND, "switch: '%s', the api %s is the twin of, is gone",
                              jstr(c, "twin_of") ? jstr(c, "twin_of") : "?", jstr(c, "name"));
        }
        char *key = xstrdup(jstr(c, "key"));
        int r = docker_container_stop(e->u->d, blue->id, 10, err) < 0 || rebind(e, last, key, blue, err) < 0 ? -1 : 0;
        free(key);
        if (r < 0) {
            json_decref(twins);
            return -1;
        }
    }
    char *pub = engine_public_url(e);
    long t1 = 0;
    int ok = pub && engine_public_answers(pub, ver, e->o->smoke_timeout_s * 1000L, &t1);
    long gap = t1 - t0;
    if (!ok) {
        tu_err_set(err, TU_ERR_REFUSED, "switch: %s does not answer %s after the ports moved", pub ? pub : "?", ver);
        free(pub);
        json_decref(twins);
        return -1;
    }
    json_array_foreach(twins, i, c) {
        const struct stack_container *blue = blue_by_id(e, jstr(c, "blue_id"));
        char *tp = blue ? engine_port_url(blue->inspect, 80) : NULL;
        int tok = tp && engine_public_answers(tp, ver, e->o->smoke_timeout_s * 1000L, NULL);
        if (!tok) {
            tu_err_set(err, TU_ERR_REFUSED, "switch: %s (the ports of %s) does not answer %s after the ports moved",
                       tp ? tp : "?", jstr(c, "twin_of") ? jstr(c, "twin_of") : "?", ver);
            free(tp);
            free(pub);
            json_decref(twins);
            return -1;
        }
        engine_say(e, "switch", "%s's ports now serve %s at %s", jstr(c, "twin_of"), ver, tp);
        free(tp);
    }
    json_decref(twins);
    json_object_set_new(e->j.doc, "switch_gap_ms", json_integer(gap));
    engine_say(e, "switch", "blue's ports now serve %s at %s; the endpoint did not answer for at most %ld ms", ver,
               pub, gap);
    free(pub);
    return engine_save(e, err);
}

int phase_switch(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    size_t last = json_array_size(json_object_get(e->j.doc, "hops")) - 1;
    const char *ver = jstr(engine_hop(e, last), "to");
    const char *mode = jstr(e->j.doc, "switch");
    if (mode && strcmp(mode, "external") == 0) {
        if (!e->o->switch_command)
            return tu_err_set(err, TU_ERR_USAGE, "--switch external needs --switch-command");
        const char *api_id = engine_green_id(e, last, "api");
        char *url = engine_container_url(e, api_id, GREEN_API_PORT);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("TRACUP_GREEN_API_URL", url ? url : "", 1);
            setenv("TRACUP_GREEN_API_NAME", engine_green_name(e, last, "api"), 1);
            setenv("TRACUP_TARGET_VERSION", ver, 1);
            unsetenv("TRACUP_ADMIN_PASSWORD");
            execl("/bin/sh", "sh", "-c", e->o->switch_command, (char *)NULL);
            _exit(127);
        }
        free(url);
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            return tu_err_set(err, TU_ERR_REFUSED, "switch: the switch command failed");
        json_object_set_new(e->j.doc, "switched", json_true());
        json_object_set_new(e->j.doc, "ever_switched", json_true());
        if (engine_save(e, err) < 0)
            return -1;
        char *pub = engine_public_url(e);
        int ok = pub && engine_public_answers(pub, ver, 30000, NULL);
        free(pub);
        if (!ok)
            return tu_err_set(err, TU_ERR_REFUSED, "switch: the public URL does not answer %s", ver);
        engine_say(e, "switch", "the operator's proxy now serves %s", ver);
        return 0;
    }
    if (mode && strcmp(mode, "ports") == 0)
        return switch_ports(e, last, ver, err);
    if (!e->u->edge)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "switch: the stack has no edge");
    char *api_up = xasprintf("%s:%d", engine_green_name(e, last, "api"), GREEN_API_PORT);
    char *gui_up = engine_green_name(e, last, "gui") ? xasprintf("%s:%d", engine_green_name(e, last, "gui"), GREEN_GUI_PORT)
                                                 : NULL;
    char *conf = NULL;
    int rc = -1;
    /* Blue stays behind green as a backup until done: if green fails while it is
     * watched, nginx retries on blue instead of answering 502. */
    char *blue_api = e->u->api ? xasprintf("%s:80", e->u->api->name) : NULL;
    char *blue_gui = e->u->gui ? xasprintf("%s:80", e->u->gui->name) : NULL;
    int r = edge_render(api_up, gui_up ? gui_up : api_up, blue_api, gui_up ? blue_gui : NULL, &conf, err);
    free(blue_api);
    free(blue_gui);
    if (r < 0)
        goto out;
    /* Recorded before, so that a crash half-way is rolled back by putting blue's config back. */
    json_object_set_new(e->j.doc, "switched", json_true());
    json_object_set_new(e->j.doc, "ever_switched", json_true());
    if (engine_save(e, err) < 0)
        goto out;
    long t0 = time_mono_ms();
    if (edge_apply(e->u->d, e->u->edge->id, conf, err) < 0)
        goto out;
    char *pub = engine_public_url(e);
    long t1 = 0;
    int ok = pub && engine_public_answers(pub, ver, 15000, &t1);
    if (!ok) {
        tu_err_set(err, TU_ERR_REFUSED, "switch: the edge at %s does not answer %s after the reload", pub ? pub : "?",
                   ver);
        free(pub);
        goto out;
    }
    engine_say(e, "switch", "the edge serves %s at %s (%ld ms after the reload)", ver, pub, t1 - t0);
    free(pub);
    rc = 0;
out:
    free(conf);
    free(api_up);
    free(gui_up);
    return rc;
}

/* ---------------------------------------------------------------- observe */

/* Green's documents when traffic reached it: a rollback says how many it wrote since. */
static void record_docs_at_switch(struct engine *e, size_t last)
{
    json_t *hj = engine_hop(e, last);
    struct tversion v;
    struct tu_err err;
    char tenant[6];
    json_t *names = NULL;
    int64_t docs = 0;
    if (tversion_parse(jstr(hj, "to"), &v, &err) < 0)
        return;
    release_tenant(&v, tenant);
    if (engine_release_indices(e, jstr(hj, "to_db_version"), tenant, &names, &docs, &err) == 0) {
        json_object_set_new(e->j.doc, "docs_at_switch", json_integer(docs));
        engine_save(e, &err);
    }
    json_decref(names);
}

/* The green containers of the hop: running, never restarted, not unhealthy. Returns 0,
 * or a positive number with err naming the first that is not, -1 when the daemon fails. */
static int observe_containers(struct engine *e, size_t last, struct tu_err *err)
{
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(json_object_get(engine_hop(e, last), "containers"), i, c) {
        if (json_is_true(json_object_get(c, "deferred")))
            continue; /* starts at done */
        json_t *ins = NULL;
        if (docker_container_inspect(e->u->d, jstr(c, "id"), &ins, err) < 0)
            return -1;
        json_t *st = json_object_get(ins, "State");
        long restarts = (long)json_integer_value(json_object_get(ins, "RestartCount"));
        const char *status = jstr(st, "Status");
        const char *health = jstr(json_object_get(st, "Health"), "Status");
        if (restarts > 0 || !status || strcmp(status, "running") != 0 || (health && strcmp(health, "unhealthy") == 0)) {
            tu_err_set(err, TU_ERR_REFUSED, "observe: %s is %s (restarts %ld%s%s)", jstr(c, "name"),
                       status ? status : "?", restarts, health ? ", health " : "", health ? health : "");
            rc = 1;
        }
        json_decref(ins);
        if (rc)
            break;
    }
    return rc;
}

int phase_observe(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    size_t last = json_array_size(json_object_get(e->j.doc, "hops")) - 1;
    const char *ver = jstr(engine_hop(e, last), "to");
    char *pub = engine_public_url(e);
    if (!pub) {
        const char *api_id = engine_green_id(e, last, "api");
        pub = api_id ? engine_container_url(e, api_id, GREEN_API_PORT) : NULL;
    }
    if (!json_object_get(e->j.doc, "docs_at_switch"))
        record_docs_at_switch(e, last);
    long end = time_mono_ms() + e->o->observe_s * 1000L;
    engine_say(e, "observe", "watching %s for %ld s", pub ? pub : "the new release", e->o->observe_s);
    int rc = 0;
    long checks = 0;
    while (rc == 0) {
        rc = observe_containers(e, last, err) != 0 ? -1 : 0;
        if (rc == 0 && pub && !engine_public_answers(pub, ver, 3000, NULL)) {
            /* A crash shows on the endpoint first: say which container went, when one did. */
            struct tu_err ce;
            tu_err_clear(&ce);
            if (observe_containers(e, last, &ce) > 0)
                rc = tu_err_set(err, TU_ERR_REFUSED, "observe: %s stopped answering %s: %s", pub, ver,
                                ce.msg + (strncmp(ce.msg, "observe: ", 9) == 0 ? 9 : 0));
            else
                rc = tu_err_set(err, TU_ERR_REFUSED, "observe: %s stopped answering %s", pub, ver);
        }
        checks++;
        if (rc || time_mono_ms() >= end)
            break;
        if (tu_interrupted()) {
            rc = PHASE_INTERRUPTED;
            break;
        }
        time_sleep_ms(1000);
    }
    if (rc == 0)
        engine_say(e, "observe", "%ld checks, no restart, every answer from %s", checks, ver);
    free(pub);
    return rc;
}

/* ---------------------------------------------------------------- done */

int phase_done(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    json_t *blue = json_object_get(e->j.doc, "blue");
    const char *mode = jstr(e->j.doc, "switch");
    if (mode && strcmp(mode, "edge") == 0 && e->u->edge) {
        /* The backups name blue's containers, which stop now: a config naming a
         * host that no longer resolves would not reload later. */
        size_t last = json_array_size(json_object_get(e->j.doc, "hops")) - 1;
        char *api_up = xasprintf("%s:%d", engine_green_name(e, last, "api"), GREEN_API_PORT);
        const char *gname = engine_green_name(e, last, "gui");
        char *gui_up = gname ? xasprintf("%s:%d", gname, GREEN_GUI_PORT) : xstrdup(api_up);
        char *conf = NULL;
        int r = edge_render(api_up, gui_up, NULL, NULL, &conf, err);
        if (r == 0)
            r = edge_apply(e->u->d, e->u->edge->id, conf, err);
        char *pub = r == 0 ? engine_public_url(e) : NULL;
        if (r == 0 && (!pub || !engine_public_answers(pub, jstr(engine_hop(e, last), "to"), 15000, NULL)))
            r = tu_err_set(err, TU_ERR_REFUSED, "done: the edge does not answer after dropping the old release's backup");
        free(pub);
        free(conf);
        free(api_up);
        free(gui_up);
        if (r < 0)
            return -1;
    }
    size_t i;
    json_t *id;
    /* Blue stays as the way back: stopped, not removed, until finalize; standing by,
     * its api and gui keep running (they serve nobody) and its workers stop. */
    int standby = json_is_true(json_object_get(e->j.doc, "blue_standby"));
    json_t *keep = json_object_get(blue, "standby");
    json_array_foreach(json_object_get(blue, "release"), i, id) {
        size_t k;
        json_t *s;
        int skip = 0;
        json_array_foreach(keep, k, s) skip |= standby && json_equal(s, id);
        if (skip)
            continue;
        if (docker_container_stop(e->u->d, json_string_value(id), 10, err) < 0 && err->kind != TU_ERR_NOT_FOUND)
            return -1;
    }
    json_object_set_new(e->j.doc, "blue_stopped", json_true());
    if (engine_save(e, err) < 0)
        return -1;
    /* On shared data green's workers start only now: blue's have stopped. */
    size_t last = json_array_size(json_object_get(e->j.doc, "hops")) - 1;
    json_t *c;
    json_array_foreach(json_object_get(engine_hop(e, last), "containers"), i, c) {
        if (!json_is_true(json_object_get(c, "deferred")))
            continue;
        if (docker_container_start(e->u->d, jstr(c, "id"), err) < 0)
            return -1;
        json_object_del(c, "deferred");
        if (engine_save(e, err) < 0)
            return -1;
        engine_say(e, "done", "%s started: blue's workers have stopped", jstr(c, "name"));
    }
    return 0;
}

