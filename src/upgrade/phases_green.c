/* phases_green.c - starting the new release beside the old one, checking it, installing it. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle/record.h"
#include "cmd/cmd.h"
#include "elastic/es.h"
#include "tracardi/api.h"
#include "tracardi/images.h"
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

/* ---------------------------------------------------------------- start green */

/* defer: create it stopped (a worker of a release that shares blue's data starts at done,
 * once blue's have stopped: never two workers of one kind on the same data). */
static int create_and_start(struct engine *e, size_t hop, struct green_spec *gs, int defer, struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    json_t *list = json_object_get(hj, "containers");
    json_t *rec = NULL;
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) if (jstr(c, "name") && strcmp(jstr(c, "name"), gs->name) == 0) rec = c;
    if (!rec) {
        /* Name first, so that a crash right after the create still finds it. */
        rec = json_pack("{s:s,s:s}", "name", gs->name, "key", gs->key);
        if (defer)
            json_object_set_new(rec, "deferred", json_true());
        json_array_append_new(list, rec);
        if (engine_save(e, err) < 0)
            return -1;
    }
    const char *id = jstr(rec, "id");
    json_t *ins = NULL;
    struct tu_err e2;
    if (!id && docker_container_inspect(e->u->d, gs->name, &ins, &e2) == 0) {
        /* Created before a crash: take it only if it is this upgrade's. */
        const char *up = jstr(json_object_get(json_object_get(ins, "Config"), "Labels"), "tracup.upgrade");
        if (!up || strcmp(up, jstr(e->j.doc, "id")) != 0) {
            json_decref(ins);
            tu_err_set(err, TU_ERR_CONFLICT, "a container named '%s' exists and is not this upgrade's", gs->name);
            tu_err_hint(err, "rename or remove it, then resume");
            return -1;
        }
        json_object_set_new(rec, "id", json_string(jstr(ins, "Id")));
        json_decref(ins);
        if (engine_save(e, err) < 0)
            return -1;
        id = jstr(rec, "id");
    }
    if (!id) {
        char *newid = NULL;
        if (docker_container_create(e->u->d, gs->name, gs->body, &newid, err) < 0)
            return -1;
        json_object_set_new(rec, "id", json_string(newid));
        free(newid);
        if (engine_save(e, err) < 0)
            return -1;
        id = jstr(rec, "id");
        for (size_t n = 1; n < json_array_size(gs->networks); n++) {
            const char *aliases[] = {gs->name, NULL};
            if (docker_network_connect(e->u->d, json_string_value(json_array_get(gs->networks, n)), id, aliases,
                                       err) < 0)
                return -1;
        }
    }
    if (json_is_true(json_object_get(rec, "deferred"))) {
        engine_say(e, "start-green", "%s created (%.12s), stopped until blue's workers stop", gs->name, id);
        return 0;
    }
    if (docker_container_start(e->u->d, id, err) < 0)
        return -1;
    engine_say(e, "start-green", "%s started (%.12s)", gs->name, id);
    return 0;
}

int phase_start_green(struct engine *e, size_t hop, struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    const char *ver = jstr(hj, "to");
    struct tversion v;
    tversion_parse(ver, &v, err);
    const char *stack = e->u->stack->name;
    json_t *labels = json_pack("{s:s,s:s,s:s,s:s}", "tracup.stack", stack, "tracup.color", "green",
                               "tracup.version", ver, "tracup.upgrade", jstr(e->j.doc, "id"));
    json_t *env = plan_env_override(e->u, stack, &v, e->o->plan.mysql_host);
    /* An intermediate release's successor migrates from it: the next hop's env is the same. */
    int rc = -1;
    struct green_spec gs;
    memset(&gs, 0, sizeof(gs));

    if (e->u->redis) {
        char *name = green_name(stack, "redis", ver);
        json_object_set_new(labels, "tracup.role", json_string("redis"));
        const char *redis_image = jstr(e->u->redis->inspect, "Image");
        if (green_spec_build(e->u->d, e->u->redis, name, "redis", ROLE_REDIS, redis_image, NULL, labels, 0, &gs,
                             err) < 0 ||
            create_and_start(e, hop, &gs, 0, err) < 0) {
            free(name);
            goto out;
        }
        green_spec_free(&gs);
        free(name);
    }
    static const char *const order[] = {"api", "update-worker", "apm", "gui"};
    for (size_t k = 0; k < 4; k++) {
        json_t *im = json_object_get(json_object_get(hj, "images"), order[k]);
        if (!im)
            continue;
        const struct tracardi_image *ti = tracardi_image_by_key(order[k]);
        const struct stack_container *tpl = NULL;
        for (size_t i = 0; i < e->u->stack->n && !tpl; i++) {
            const struct stack_container *c = &e->u->stack->c[i];
            if (c->image_key && strcmp(c->image_key, order[k]) == 0 &&
                (c == e->u->api || c == e->u->gui || c->role == ROLE_WORKER))
                tpl = c;
        }
        if (!tpl)
            tpl = ti->role == ROLE_GUI ? e->u->gui : e->u->api;
        if (!tpl) {
            tu_err_set(err, TU_ERR_NOT_FOUND, "blue has no container to model the new %s on", order[k]);
            goto out;
        }
        char *pinned = offline_pin(e->u->d, im, err);
        if (!pinned)
            goto out;
        char *name = green_name(stack, order[k], ver);
        json_object_set_new(labels, "tracup.role", json_string(stack_role_name(ti->role)));
        int r = green_spec_build(e->u->d, tpl, name, order[k], ti->role, pinned, ti->role == ROLE_GUI ? NULL : env,
                                 labels, 1, &gs, err);
        free(pinned);
        free(name);
        int defer = ti->role == ROLE_WORKER && json_is_true(json_object_get(e->j.doc, "shared_data"));
        if (r < 0 || create_and_start(e, hop, &gs, defer, err) < 0 ||
            offline_check_container(e->u->d, im, gs.name, err) < 0)
            goto out;
        green_spec_free(&gs);
    }
    /* A twin for each other api of the release, each from its own blue (its environment:
     * PRODUCTION=yes stays), on the api's image. */
    const struct stack_container *twins[PLAN_MAX_TWINS];
    size_t nt = plan_api_twins(e->u, twins);
    json_t *api_im = json_object_get(json_object_get(hj, "images"), "api");
    for (size_t t = 0; t < nt && api_im; t++) {
        char *pinned = offline_pin(e->u->d, api_im, err);
        if (!pinned)
            goto out;
        char *name = plan_twin_name(stack, twins[t], t, ver);
        char *key = plan_twin_key(t);
        json_object_set_new(labels, "tracup.role", json_string("api"));
        int r = green_spec_build(e->u->d, twins[t], name, key, ROLE_API, pinned, env, labels, 1, &gs, err);
        free(pinned);
        if (r == 0)
            r = create_and_start(e, hop, &gs, 0, err);
        json_t *c;
        size_t i;
        json_array_foreach(json_object_get(hj, "containers"), i, c) if (r == 0 && strcmp(jstr(c, "name"), name) == 0) {
            json_object_set_new(c, "image", json_string("api"));
            json_object_set_new(c, "blue_id", json_string(twins[t]->id));
            json_object_set_new(c, "twin_of", json_string(twins[t]->name));
        }
        free(name);
        free(key);
        if (r < 0 || engine_save(e, err) < 0 || offline_check_container(e->u->d, api_im, gs.name, err) < 0)
            goto out;
        green_spec_free(&gs);
    }
    rc = 0;
out:
    green_spec_free(&gs);
    json_decref(env);
    json_decref(labels);
    return rc;
}

/* ---------------------------------------------------------------- smoke */

static void attach_log_tail(struct engine *e, const char *id, struct tu_err *err)
{
    char *logs = NULL;
    struct tu_err le;
    if (!id || docker_container_logs(e->u->d, id, 15, &logs, &le) < 0)
        return;
    engine_say(e, "smoke", "last lines of %.12s's log:", id);
    for (char *line = logs; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        engine_say(e, "smoke", "  | %s", line);
        line = nl ? nl + 1 : NULL;
    }
    free(logs);
    (void)err;
}

/* Waits until every green container of the hop runs without restarting and,
 * when it has a healthcheck, is healthy. `started` remembers each container's
 * State.StartedAt: a container started again without a restart of its own (the
 * daemon restarted: addresses change) stops the phase for a resume. */
static int wait_running(struct engine *e, size_t hop, long deadline, json_t *started, struct tu_err *err)
{
    for (;;) {
        int all = 1;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(engine_hop(e, hop), "containers"), i, c) {
            if (json_is_true(json_object_get(c, "deferred")))
                continue; /* starts at done */
            json_t *ins = NULL;
            if (docker_container_inspect(e->u->d, jstr(c, "id"), &ins, err) < 0)
                return -1;
            json_t *st = json_object_get(ins, "State");
            long restarts = (long)json_integer_value(json_object_get(ins, "RestartCount"));
            const char *status = jstr(st, "Status");
            const char *health = jstr(json_object_get(st, "Health"), "Status");
            const char *at = jstr(st, "StartedAt"), *was = jstr(started, jstr(c, "id"));
            if (at && was && strcmp(at, was) != 0 && restarts == 0) {
                e->daemon_restarted = 1;
                tu_err_set(err, TU_ERR_CONNECT, "smoke: %s was started again by the Docker daemon (at %s): the "
                                                "daemon restarted, so addresses may have changed",
                           jstr(c, "name"), at);
                json_decref(ins);
                return -1;
            }
            if (at && !was)
                json_object_set_new(started, jstr(c, "id"), json_string(at));
            int bad = restarts > 0 || (status && (strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0));
            if (bad) {
                tu_err_set(err, TU_ERR_REFUSED, "smoke: %s is %s (restarts %ld, exit code %lld)", jstr(c, "name"),
                           status ? status : "?", restarts, (long long)json_integer_value(json_object_get(st, "ExitCode")));
                json_decref(ins);
                attach_log_tail(e, jstr(c, "id"), err);
                return -1;
            }
            if (!status || strcmp(status, "running") != 0 || (health && strcmp(health, "healthy") != 0))
                all = 0;
            if (health && strcmp(health, "unhealthy") == 0 && time_mono_ms() > deadline) {
                tu_err_set(err, TU_ERR_REFUSED, "smoke: %s is unhealthy", jstr(c, "name"));
                json_decref(ins);
                return -1;
            }
            json_decref(ins);
        }
        if (all)
            return 0;
        if (tu_interrupted())
            return PHASE_INTERRUPTED;
        if (time_mono_ms() > deadline)
            return tu_err_set(err, TU_ERR_TIMEOUT, "smoke: the new containers did not all run (and pass their "
                                                   "healthchecks) within %ld s", e->o->smoke_timeout_s);
        time_sleep_ms(e->o->smoke_interval_ms);
    }
}

/* Each twin of another api answers the release too, within the smoke deadline. */
static int smoke_twins(struct engine *e, size_t hop, const char *ver, long deadline, struct tu_err *err)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(engine_hop(e, hop), "containers"), i, c) {
        if (!jstr(c, "blue_id"))
            continue;
        char *url = engine_container_url(e, jstr(c, "id"), GREEN_API_PORT);
        char last[200] = "no answer";
        int ok = 0;
        while (url && !ok) {
            struct tapi a;
            tapi_init(&a, url, 5000);
            json_t *det = NULL;
            struct tu_err ce;
            if (tapi_details(&a, &det, &ce) == 0) {
                const char *gv = jstr(det, "version");
                ok = gv && tversion_same_release(gv, ver);
                snprintf(last, sizeof(last), "version %.40s", gv ? gv : "?");
            } else {
                snprintf(last, sizeof(last), "%.190s", ce.msg);
            }
            json_decref(det);
            tapi_free(&a);
            if (ok || time_mono_ms() > deadline || tu_interrupted())
                break;
            time_sleep_ms(e->o->smoke_interval_ms);
        }
        free(url);
        if (!ok)
            return tu_err_set(err, TU_ERR_TIMEOUT, "smoke: %s (the twin of %s) did not answer %s: %s", jstr(c, "name"),
                              jstr(c, "twin_of") ? jstr(c, "twin_of") : "?", ver, last);
        engine_say(e, "smoke", "%s (the twin of %s) answers %s", jstr(c, "name"), jstr(c, "twin_of"), ver);
    }
    return 0;
}

int phase_smoke(struct engine *e, size_t hop, struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    const char *ver = jstr(hj, "to");
    const char *want_db = jstr(hj, "to_db_version");
    long deadline = time_mono_ms() + e->o->smoke_timeout_s * 1000L;
    json_t *started = json_object();
    int r = wait_running(e, hop, deadline, started, err);
    if (r) {
        json_decref(started);
        return r;
    }
    const char *api_id = engine_green_id(e, hop, "api");
    char *url = api_id ? engine_container_url(e, api_id, GREEN_API_PORT) : NULL;
    if (!url) {
        json_decref(started);
        return tu_err_set(err, TU_ERR_NOT_FOUND, "smoke: the new api has no network address");
    }
    json_object_set_new(hj, "api_url", json_string(url));
    struct tapi a;
    tapi_init(&a, url, 5000);
    char last[600] = "no answer yet";
    char said[96] = "";
    int rc = -1;
    for (;;) {
        json_t *det = NULL;
        struct tu_err ce;
        tu_err_clear(&ce);
        if (tapi_details(&a, &det, &ce) == 0) {
            const char *gv = jstr(det, "version"), *gdb = jstr(det, "db_version");
            if (gv && tversion_same_release(gv, ver) && (!want_db || (gdb && strcmp(gdb, want_db) == 0))) {
                /* A patch tag's api says its release's three numbers: print what it said. */
                if (strcmp(gv, ver) != 0)
                    snprintf(said, sizeof(said), "%.20s, the version %.20s's library reports", gv, ver);
                json_decref(det);
                rc = 0;
                break;
            }
            snprintf(last, sizeof(last), "version %s, db_version %s", gv ? gv : "?", gdb ? gdb : "?");
            json_decref(det);
            /* A release that answers with another version will not change its mind. */
            tu_err_set(err, TU_ERR_REFUSED, "smoke: the new api at %s reports %s, expected %s (db_version %s)", url,
                       last, ver, want_db ? want_db : "?");
            break;
        }
        snprintf(last, sizeof(last), "%s", ce.msg);
        /* It may have crashed meanwhile. */
        r = wait_running(e, hop, deadline, started, err);
        if (r) {
            rc = r;
            goto out;
        }
        if (tu_interrupted()) {
            rc = PHASE_INTERRUPTED;
            goto out;
        }
        if (time_mono_ms() > deadline) {
            tu_err_set(err, TU_ERR_TIMEOUT, "smoke: /info/version/details of the new api did not report %s within "
                                            "%ld s; last answer: %s", ver, e->o->smoke_timeout_s, last);
            break;
        }
        time_sleep_ms(e->o->smoke_interval_ms);
    }
    if (rc == 0)
        engine_save(e, err);
    if (rc == 0)
        engine_say(e, "smoke", "%s runs and answers %s (db_version %s)", engine_green_name(e, hop, "api"),
                   said[0] ? said : ver, want_db ? want_db : "?");
    if (rc == 0)
        rc = smoke_twins(e, hop, ver, deadline, err);
    else
        attach_log_tail(e, api_id, err);
out:
    json_decref(started);
    tapi_free(&a);
    free(url);
    return rc;
}

/* ---------------------------------------------------------------- install and the checks after it */

static int run_operator_checks(struct engine *e, size_t hop, const char *api_url, const char *gui_url,
                               struct tu_err *err)
{
    const char *dir = e->o->checks_dir;
    if (!dir)
        return 0;
    DIR *dp = opendir(dir);
    if (!dp)
        return tu_err_set(err, TU_ERR_USAGE, "cannot read the checks directory '%s': %s", dir, strerror(errno));
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && n < 256) {
        if (de->d_name[0] == '.')
            continue;
        names[n++] = xstrdup(de->d_name);
    }
    closedir(dp);
    /* In name order, so operators can number them. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0) {
            free(path);
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            setenv("TRACUP_GREEN_API_URL", api_url, 1);
            setenv("TRACUP_GREEN_GUI_URL", gui_url ? gui_url : "", 1);
            setenv("TRACUP_TARGET_VERSION", jstr(engine_hop(e, hop), "to"), 1);
            setenv("TRACUP_STACK", e->u->stack->name, 1);
            unsetenv("TRACUP_ADMIN_PASSWORD");
            char *const argv[] = {path, NULL};
            execv(path, argv);
            _exit(127);
        }
        int status = 0;
        long deadline = time_mono_ms() + 120000;
        while (pid > 0 && waitpid(pid, &status, WNOHANG) == 0) {
            if (time_mono_ms() > deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            time_sleep_ms(100);
        }
        if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            rc = tu_err_set(err, TU_ERR_REFUSED, "operator check '%s' failed (%s %d)", names[i],
                            WIFEXITED(status) ? "exit status" : "signal",
                            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        } else {
            engine_say(e, "smoke", "operator check %s passed", names[i]);
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

static int check_after_install(struct engine *e, size_t hop, struct tapi *a, struct tu_err *err)
{
    json_t *st = NULL;
    if (tapi_install_status(a, &st, err) < 0)
        return -1;
    int ok = json_is_true(json_object_get(st, "schema_ok")) && json_is_true(json_object_get(st, "admin_ok"));
    json_decref(st);
    if (!ok) {
        tu_err_set(err, TU_ERR_REFUSED, "smoke: GET /install on the new api does not report the schema and the admin "
                                        "as installed");
        /* The usual cause: an index past Elasticsearch's shard limit was not created. */
        struct es_conn es;
        struct tu_err ee;
        if (engine_es_open(e, &es, &ee) == 0) {
            struct es_index *idx = NULL;
            size_t n = 0;
            long per_node = 1000;
            const char *src = NULL;
            struct es_health h;
            if (es_indices(&es, &idx, &n, &ee) == 0 && es_max_shards_per_node(&es, &per_node, &src, &ee) == 0 &&
                es_health(&es, &h, &ee) == 0) {
                long long open = (long long)es_shards_open(idx, n);
                long long limit = (long long)per_node * (h.number_of_data_nodes > 0 ? h.number_of_data_nodes : 1);
                if (open + 10 >= limit)
                    tu_err_hint(err, "Elasticsearch is at its shard limit (%lld of %lld open): indices of the new "
                                     "release could not be created", open, limit);
            }
            free(idx);
            es_conn_free(&es);
        }
        return -1;
    }
    if (tapi_login(a, e->o->admin_email, e->o->admin_password, err) < 0) {
        tu_err_prefix(err, "smoke: ");
        return -1;
    }
    static const char *const tests[] = {"/test/elasticsearch", "/test/redis"};
    for (size_t i = 0; i < 2; i++) {
        json_t *r = NULL;
        if (tapi_get_json(a, tests[i], NULL, &r, err) < 0) {
            tu_err_prefix(err, "smoke: ");
            return -1;
        }
        json_decref(r);
    }
    const char *gui_id = engine_green_id(e, hop, "gui");
    char *gui_url = gui_id ? engine_container_url(e, gui_id, GREEN_GUI_PORT) : NULL;
    if (gui_url) {
        /* The gui boots on its own clock: give it the smoke timeout too. */
        char *u = xasprintf("%s/", gui_url);
        long deadline = time_mono_ms() + e->o->smoke_timeout_s * 1000L;
        int html = 0;
        char last[300] = "no answer";
        for (;;) {
            struct http_req req = {.url = u, .timeout_ms = 5000, .max_body = 1024 * 1024};
            struct http_resp resp;
            struct tu_err ge;
            int r = http_do(&req, &resp, &ge);
            html = r == 0 && resp.status == 200 && resp.body.data &&
                   (strstr(resp.body.data, "<html") || strstr(resp.body.data, "<!doctype") ||
                    strstr(resp.body.data, "<!DOCTYPE"));
            if (r < 0)
                snprintf(last, sizeof(last), "%.290s", ge.msg);
            else if (!html)
                snprintf(last, sizeof(last), "HTTP %ld without HTML", resp.status);
            http_resp_free(&resp);
            if (html || time_mono_ms() > deadline || tu_interrupted())
                break;
            time_sleep_ms(e->o->smoke_interval_ms);
        }
        free(u);
        if (!html) {
            free(gui_url);
            return tu_err_set(err, TU_ERR_REFUSED, "smoke: the new gui does not answer / with HTML (%s)", last);
        }
    }
    int rc = run_operator_checks(e, hop, a->base, gui_url, err);
    free(gui_url);
    if (rc == 0)
        engine_say(e, "smoke", "installed: /install ok, login ok, /test/elasticsearch and /test/redis ok, gui serves HTML");
    return rc;
}

int phase_install(struct engine *e, size_t hop, struct tu_err *err)
{
    if (json_is_true(json_object_get(e->j.doc, "downgrade"))) {
        engine_say(e, "install", "downgrade: skipped; the release runs on the indices it left behind");
        return 0;
    }
    json_t *hj = engine_hop(e, hop);
    const char *url = jstr(hj, "api_url");
    if (!url)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "install: the new api's address is unknown (smoke did not run)");
    int w = engine_wait_es(e, "install", "installing", err);
    if (w)
        return w;
    struct tapi a;
    tapi_init(&a, url, 120000);
    const char *token = stack_env(e->u->api, "INSTALLATION_TOKEN");
    int rc = -1;
    json_t *st = NULL;
    int installed = 0, asked = 0;
    if (tapi_install_status(&a, &st, err) == 0) {
        asked = 1;
        installed = json_is_true(json_object_get(st, "schema_ok")) && json_is_true(json_object_get(st, "admin_ok"));
    }
    json_decref(st);
    if (json_is_true(json_object_get(e->j.doc, "shared_data"))) {
        /* Installing here would create indices or tables beside the running release, on
         * its data: a change no rollback undoes. */
        const char *from = jstr(json_object_get(e->j.doc, "from"), "version");
        if (!installed) {
            tu_err_set(err, TU_ERR_REFUSED, "install: Tracardi %s %s on the data it shares with %s; installing it "
                                            "would change the data %s runs on, which tracup does not do beside a "
                                            "running release", jstr(hj, "to"),
                       asked ? "does not report its schema and admin as installed" : "cannot say whether it is installed",
                       from, from);
            goto out;
        }
        engine_say(e, "install", "%s shares %s's data and finds it installed: nothing to install", jstr(hj, "to"), from);
        rc = check_after_install(e, hop, &a, err);
        goto out;
    }
    if (!installed) {
        engine_say(e, "install", "installing %s (indices, admin %s)", jstr(hj, "to"), e->o->admin_email);
        if (tapi_install(&a, token ? token : "tracardi", e->o->admin_email, e->o->admin_password, err) < 0) {
            tu_err_prefix(err, "install: ");
            goto out;
        }
    }
    rc = check_after_install(e, hop, &a, err);
out:
    tapi_free(&a);
    return rc;
}

