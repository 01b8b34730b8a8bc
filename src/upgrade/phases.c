/* phases.c - pull, snapshot, start green, smoke, install, migrate, switch, observe, done. */
#include "upgrade/phases.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "docker/objects.h"
#include "elastic/es.h"
#include "elastic/indexname.h"
#include "registry/auth.h"
#include "tracardi/api.h"
#include "tracardi/images.h"
#include "upgrade/edge.h"
#include "upgrade/pullset.h"
#include "util/http.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

json_t *engine_hop(struct engine *e, size_t hop)
{
    return json_array_get(json_object_get(e->j.doc, "hops"), hop);
}

int engine_save(struct engine *e, struct tu_err *err)
{
    return journal_save(&e->j, err);
}

char *engine_container_url(struct engine *e, const char *id, int port)
{
    json_t *ins = NULL;
    struct tu_err err;
    if (docker_container_inspect(e->u->d, id, &ins, &err) < 0)
        return NULL;
    json_t *nets = json_object_get(json_object_get(ins, "NetworkSettings"), "Networks");
    const char *k;
    json_t *n;
    char *url = NULL;
    json_object_foreach(nets, k, n) {
        const char *ip = jstr(n, "IPAddress");
        if (ip && *ip && !url)
            url = xasprintf("http://%s:%d", ip, port);
    }
    json_decref(ins);
    return url;
}

char *engine_public_url(struct engine *e)
{
    const char *ext = e->o->public_url;
    if (ext && *ext)
        return xstrdup(ext);
    return e->u->edge ? stack_container_url(e->u->edge, EDGE_API_PORT) : NULL;
}

/* The id of hop's green container for key, or NULL (borrowed). */
static const char *green_id(struct engine *e, size_t hop, const char *key)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(engine_hop(e, hop), "containers"), i, c) {
        const char *k = jstr(c, "key");
        if (k && strcmp(k, key) == 0)
            return jstr(c, "id");
    }
    return NULL;
}

static const char *green_name_of(struct engine *e, size_t hop, const char *key)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(engine_hop(e, hop), "containers"), i, c) {
        const char *k = jstr(c, "key");
        if (k && strcmp(k, key) == 0)
            return jstr(c, "name");
    }
    return NULL;
}

/* ---------------------------------------------------------------- preflight */

int phase_preflight(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    if (e->plan.refused) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(e->plan.doc, "refusals"), i, v)
            engine_say(e, "preflight", "refused: %s", json_string_value(v));
        return tu_err_set(err, TU_ERR_REFUSED, "the upgrade is refused: %s",
                          json_string_value(json_array_get(json_object_get(e->plan.doc, "refusals"), 0)));
    }
    if (!e->o->admin_email || !e->o->admin_password)
        return tu_err_set(err, TU_ERR_USAGE, "the new release is installed with an admin account: set "
                                             "TRACUP_ADMIN_EMAIL and TRACUP_ADMIN_PASSWORD (or --admin-password-file)");
    engine_say(e, "preflight", "Tracardi %s -> %s in %zu hop%s, checks passed", e->u->blue_v.text,
               e->plan.target.text, e->plan.nhops, e->plan.nhops == 1 ? "" : "s");
    return 0;
}

/* ---------------------------------------------------------------- pull */

int phase_pull(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    json_t *hops = json_object_get(e->j.doc, "hops");
    size_t n = 0, h;
    json_t *hj;
    json_array_foreach(hops, h, hj) n += json_object_size(json_object_get(hj, "images"));
    struct pull_job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
    json_t **slots = xcalloc(n ? n : 1, sizeof(json_t *));
    size_t k = 0;
    int rc = -1;
    json_array_foreach(hops, h, hj) {
        const char *key;
        json_t *im;
        json_object_foreach(json_object_get(hj, "images"), key, im) {
            const struct tracardi_image *ti = tracardi_image_by_key(key);
            if (pull_job_init(&jobs[k], ti ? ti->key : "image", jstr(im, "ref"), err) < 0)
                goto out;
            slots[k++] = im;
        }
    }
    enum progress_mode mode = e->o->json ? PROGRESS_JSON : PROGRESS_PLAIN;
    struct progress_view view;
    progress_init(&view, mode, e->out, jobs, k);
    struct pull_observer obs = {progress_event, progress_tick, &view};
    if (pullset_run(e->u->d, jobs, k, &obs, err) < 0) {
        for (size_t i = 0; i < k; i++)
            if (!jobs[i].ok && jobs[i].err.kind != TU_ERR_NONE) {
                *err = jobs[i].err;
                break;
            }
        if (tu_interrupted())
            rc = PHASE_INTERRUPTED;
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        const char *planned = jstr(slots[i], "digest");
        /* The plan read the registry's digest; a tag that moved since is a different release. */
        if (planned && strcmp(planned, jobs[i].digest) != 0) {
            tu_err_set(err, TU_ERR_REFUSED, "'%s' moved while planning: the registry said %s, the pull got %s",
                       jobs[i].ref, planned, jobs[i].digest);
            goto out;
        }
        json_object_set_new(slots[i], "digest", json_string(jobs[i].digest));
        engine_say(e, "pull", "%s pinned to %s", jobs[i].ref, jobs[i].digest);
    }
    rc = engine_save(e, err);
out:
    for (size_t i = 0; i < n; i++)
        pull_job_free(&jobs[i]);
    free(jobs);
    free(slots);
    return rc;
}

/* ---------------------------------------------------------------- snapshot */

static int tar_add(struct archive *a, const char *name, const char *data, size_t len)
{
    struct archive_entry *en = archive_entry_new();
    archive_entry_set_pathname(en, name);
    archive_entry_set_size(en, (la_int64_t)len);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0600);
    int ok = archive_write_header(a, en) == ARCHIVE_OK && archive_write_data(a, data, len) == (la_ssize_t)len;
    archive_entry_free(en);
    return ok ? 0 : -1;
}

int phase_snapshot(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    char *path = xasprintf("%s/snapshot.tar", e->upgrade_dir);
    char *tmp = xasprintf("%s.tmp", path);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd < 0 || archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        tu_err_set(err, TU_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    /* Every container of the stack as the daemon describes it: enough to recreate blue. */
    for (size_t i = 0; i < e->u->stack->n; i++) {
        const struct stack_container *c = &e->u->stack->c[i];
        char *text = json_dumps(c->inspect, JSON_INDENT(1));
        char *name = xasprintf("containers/%s.json", c->name);
        int r = text ? tar_add(a, name, text, strlen(text)) : -1;
        free(name);
        free(text);
        if (r < 0) {
            tu_err_set(err, TU_ERR_IO, "cannot write the snapshot: %s", archive_error_string(a));
            goto out;
        }
    }
    const char *conf = jstr(json_object_get(e->j.doc, "blue"), "edge_conf");
    if (conf && tar_add(a, "edge/" EDGE_CONF_FILE, conf, strlen(conf)) < 0) {
        tu_err_set(err, TU_ERR_IO, "cannot write the snapshot: %s", archive_error_string(a));
        goto out;
    }
    if (archive_write_close(a) != ARCHIVE_OK || fsync(fd) != 0) {
        tu_err_set(err, TU_ERR_IO, "cannot write the snapshot: %s", archive_error_string(a));
        goto out;
    }
    if (rename(tmp, path) != 0) {
        tu_err_set(err, TU_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
    json_object_set_new(e->j.doc, "snapshot", json_string(path));
    engine_say(e, "snapshot", "blue's %zu containers%s saved in %s", e->u->stack->n, conf ? " and the edge config" : "",
               path);
    rc = engine_save(e, err);
out:
    archive_write_free(a);
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    free(path);
    return rc;
}

/* ---------------------------------------------------------------- start green */

static int create_and_start(struct engine *e, size_t hop, struct green_spec *gs, struct tu_err *err)
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
            create_and_start(e, hop, &gs, err) < 0) {
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
        char *name = green_name(stack, order[k], ver);
        char *pinned = xasprintf("%s@%s", jstr(im, "repo"), jstr(im, "digest"));
        json_object_set_new(labels, "tracup.role", json_string(stack_role_name(ti->role)));
        int r = green_spec_build(e->u->d, tpl, name, order[k], ti->role, pinned, ti->role == ROLE_GUI ? NULL : env,
                                 labels, 1, &gs, err);
        free(pinned);
        free(name);
        if (r < 0 || create_and_start(e, hop, &gs, err) < 0)
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
 * when it has a healthcheck, is healthy. */
static int wait_running(struct engine *e, size_t hop, long deadline, struct tu_err *err)
{
    for (;;) {
        int all = 1;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(engine_hop(e, hop), "containers"), i, c) {
            json_t *ins = NULL;
            if (docker_container_inspect(e->u->d, jstr(c, "id"), &ins, err) < 0)
                return -1;
            json_t *st = json_object_get(ins, "State");
            long restarts = (long)json_integer_value(json_object_get(ins, "RestartCount"));
            const char *status = jstr(st, "Status");
            const char *health = jstr(json_object_get(st, "Health"), "Status");
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

int phase_smoke(struct engine *e, size_t hop, struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    const char *ver = jstr(hj, "to");
    const char *want_db = jstr(hj, "to_db_version");
    long deadline = time_mono_ms() + e->o->smoke_timeout_s * 1000L;
    int r = wait_running(e, hop, deadline, err);
    if (r)
        return r;
    const char *api_id = green_id(e, hop, "api");
    char *url = api_id ? engine_container_url(e, api_id, GREEN_API_PORT) : NULL;
    if (!url)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "smoke: the new api has no network address");
    json_object_set_new(hj, "api_url", json_string(url));
    struct tapi a;
    tapi_init(&a, url, 5000);
    char last[600] = "no answer yet";
    int rc = -1;
    for (;;) {
        json_t *det = NULL;
        struct tu_err ce;
        tu_err_clear(&ce);
        if (tapi_details(&a, &det, &ce) == 0) {
            const char *gv = jstr(det, "version"), *gdb = jstr(det, "db_version");
            if (gv && strcmp(gv, ver) == 0 && (!want_db || (gdb && strcmp(gdb, want_db) == 0))) {
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
        r = wait_running(e, hop, deadline, err);
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
        engine_say(e, "smoke", "%s runs and answers %s (db_version %s)", green_name_of(e, hop, "api"), ver,
                   want_db ? want_db : "?");
    else
        attach_log_tail(e, api_id, err);
out:
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
    if (!ok)
        return tu_err_set(err, TU_ERR_REFUSED, "smoke: GET /install on the new api does not report the schema and "
                                               "the admin as installed");
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
    const char *gui_id = green_id(e, hop, "gui");
    char *gui_url = gui_id ? engine_container_url(e, gui_id, GREEN_GUI_PORT) : NULL;
    if (gui_url) {
        char *u = xasprintf("%s/", gui_url);
        struct http_req req = {.url = u, .timeout_ms = 5000, .max_body = 1024 * 1024};
        struct http_resp resp;
        int r = http_do(&req, &resp, err);
        int html = r == 0 && resp.status == 200 && resp.body.data &&
                   (strstr(resp.body.data, "<html") || strstr(resp.body.data, "<!doctype") ||
                    strstr(resp.body.data, "<!DOCTYPE"));
        http_resp_free(&resp);
        free(u);
        if (!html) {
            free(gui_url);
            if (r == 0)
                tu_err_set(err, TU_ERR_REFUSED, "smoke: the new gui does not answer / with HTML");
            return -1;
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
    json_t *hj = engine_hop(e, hop);
    const char *url = jstr(hj, "api_url");
    if (!url)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "install: the new api's address is unknown (smoke did not run)");
    struct tapi a;
    tapi_init(&a, url, 120000);
    const char *token = stack_env(e->u->api, "INSTALLATION_TOKEN");
    int rc = -1;
    json_t *st = NULL;
    int installed = 0;
    if (tapi_install_status(&a, &st, err) == 0)
        installed = json_is_true(json_object_get(st, "schema_ok")) && json_is_true(json_object_get(st, "admin_ok"));
    json_decref(st);
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

/* ---------------------------------------------------------------- migrate */

struct resolve_ud {
    struct engine *e;
    char *last;
};

static const char *api_env(void *ud, const char *name)
{
    return stack_env(((struct resolve_ud *)ud)->e->u->api, name);
}

static const char *resolve(void *ud, const char *host)
{
    struct resolve_ud *r = ud;
    free(r->last);
    r->last = upctx_resolve(r->e->u, host);
    return r->last;
}

static int es_open(struct engine *e, struct es_conn *es, struct tu_err *err)
{
    struct resolve_ud r = {e, NULL};
    int rc = es_conn_from_env(es, api_env, &r, resolve, err);
    free(r.last);
    return rc;
}

/* The key under which a schema's documents are counted in the new release: the
 * alias of a partitioned family (partitions may be merged), else the index. */
static char *count_key(const char *to_index, int multi, const char *worker)
{
    struct tindex t;
    int family = multi || (worker && strcmp(worker, "reindex_to_one_index") == 0);
    if (!family || tindex_parse(to_index, &t) < 0)
        return xstrdup(to_index);
    const char *pfx = t.prefix_kind == 'p' ? "prod-" : "";
    if (strcmp(t.db_version, "09x") == 0)
        return xasprintf("%s%s.%s.%s", pfx, t.db_version, t.tenant, t.name);
    return xasprintf("%s%s.%s", pfx, t.tenant, t.name);
}

static int64_t count_or(const struct es_conn *es, const char *index, int64_t dflt)
{
    int64_t n;
    struct tu_err e;
    return es_count(es, index, &n, &e) == 0 ? n : dflt;
}

/* Posts one context's migration once; records it first so a crash never repeats it. */
static int migrate_context(struct engine *e, size_t hop, struct tapi *a, const struct es_conn *es, const char *ctx,
                           struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    json_t *mig = json_object_get(hj, "migration");
    json_t *mc = json_object_get(mig, ctx);
    if (json_is_true(json_object_get(mc, "posted"))) {
        engine_say(e, "migrate", "%s: started before, not started again", ctx);
        return 0;
    }
    const char *from_db = jstr(hj, "from_db_version");
    const char *from_tenant = jstr(hj, "from_tenant");
    const char *context = strcmp(ctx, "production") == 0 ? "production" : NULL;
    char *esc_db = docker_escape(from_db);
    char *esc_t = docker_escape(from_tenant);
    char *path = xasprintf("/migration/%s?from_tenant_name=%s", esc_db, esc_t);
    free(esc_db);
    free(esc_t);
    json_t *plan = NULL;
    int rc = tapi_get_json(a, path, context, &plan, err);
    free(path);
    if (rc < 0) {
        tu_err_prefix(err, "migrate (%s): ", ctx);
        return -1;
    }
    json_t *schemas = json_object_get(plan, "schemas");
    json_t *ids = json_array();
    json_t *before = json_object();
    json_t *checks = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(schemas, i, s) {
        const char *id = jstr(s, "id");
        json_t *ci = json_object_get(s, "copy_index");
        const char *from = jstr(ci, "from_index"), *to = jstr(ci, "to_index");
        if (!id || !from || !to)
            continue;
        json_array_append_new(ids, json_string(id));
        if (strncmp(to, "Table:", 6) == 0)
            continue; /* copied into MySQL: verified by the task's result only */
        char *key = count_key(to, json_is_true(json_object_get(ci, "multi")), jstr(s, "worker"));
        json_array_append_new(checks, json_pack("{s:s,s:s}", "from", from, "key", key));
        json_object_set_new(before, from, json_integer(count_or(es, from, 0)));
        free(key);
    }
    json_decref(plan);
    /* What the new release holds before the copy (install wrote its admin, say). */
    json_t *baseline = json_object();
    json_array_foreach(checks, i, s) {
        const char *key = jstr(s, "key");
        if (!json_object_get(baseline, key))
            json_object_set_new(baseline, key, json_integer(count_or(es, key, 0)));
    }
    if (!json_array_size(ids)) {
        engine_say(e, "migrate", "%s: nothing to migrate (no source indices)", ctx);
        json_object_set_new(mig, ctx, json_pack("{s:b,s:o,s:o,s:o,s:o}", "posted", 1, "ids", ids, "before", before,
                                                "checks", checks, "baseline", baseline));
        return engine_save(e, err);
    }
    /* Tasks that exist now are not this migration's (unless they change later). */
    json_t *tasks = NULL;
    json_t *known = json_object();
    if (tapi_get_json(a, "/tasks/type/upgrade", context, &tasks, err) == 0) {
        json_t *list = json_object_get(json_object_get(tasks, "grouped"), "Tasks");
        json_array_foreach(list, i, s) if (jstr(s, "id")) {
            json_t *ts = json_object_get(s, "timestamp");
            json_object_set(known, jstr(s, "id"), ts ? ts : json_null());
        }
    }
    json_decref(tasks);
    json_object_set_new(mig, ctx, json_pack("{s:b,s:o,s:o,s:o,s:o,s:o}", "posted", 1, "ids", ids, "before", before,
                                            "checks", checks, "known_tasks", known, "baseline", baseline));
    if (engine_save(e, err) < 0)
        return -1;
    json_t *body = json_pack("{s:s,s:s,s:O}", "from_version", from_db, "from_tenant_name", from_tenant, "ids", ids);
    rc = tapi_post_json(a, jstr(hj, "migrate_path"), body, context, NULL, err);
    json_decref(body);
    if (rc < 0) {
        tu_err_prefix(err, "migrate (%s): ", ctx);
        return -1;
    }
    engine_say(e, "migrate", "%s: started, %zu schemas from %s (tenant %s)", ctx, json_array_size(ids), from_db,
               from_tenant);
    return 0;
}

#define NO_TASK_TIMEOUT_MS 120000

/* Waits for this migration's tasks in one context. */
static int wait_tasks(struct engine *e, size_t hop, struct tapi *a, const char *ctx, long deadline, struct tu_err *err)
{
    json_t *mc = json_object_get(json_object_get(engine_hop(e, hop), "migration"), ctx);
    json_t *known = json_object_get(mc, "known_tasks");
    const char *context = strcmp(ctx, "production") == 0 ? "production" : NULL;
    int last_pct = -1;
    long first_seen = time_mono_ms();
    for (;;) {
        json_t *tasks = NULL;
        if (tapi_get_json(a, "/tasks/type/upgrade", context, &tasks, err) < 0) {
            tu_err_prefix(err, "migrate (%s): ", ctx);
            return -1;
        }
        json_t *list = json_object_get(json_object_get(tasks, "grouped"), "Tasks");
        size_t i, mine = 0, done = 0;
        long pct = 0;
        json_t *t;
        const char *failed = NULL;
        json_array_foreach(list, i, t) {
            const char *id = jstr(t, "id");
            json_t *was = id ? json_object_get(known, id) : NULL;
            json_t *ts = json_object_get(t, "timestamp");
            if (!id || (was && json_equal(was, ts ? ts : json_null())))
                continue;
            mine++;
            const char *st = jstr(t, "status");
            pct += (long)json_number_value(json_object_get(t, "progress"));
            if (st && (strcmp(st, "error") == 0 || strcmp(st, "failed") == 0))
                failed = jstr(t, "name") ? jstr(t, "name") : id;
            if (st && (strcmp(st, "done") == 0 || strcmp(st, "finished") == 0 || strcmp(st, "completed") == 0))
                done++;
        }
        char failed_copy[200] = "";
        if (failed)
            snprintf(failed_copy, sizeof(failed_copy), "%s", failed);
        json_decref(tasks);
        if (failed_copy[0])
            return tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): task '%s' failed", ctx, failed_copy);
        int p = mine ? (int)(pct / (long)mine) : 0;
        if (mine && p / 10 != last_pct / 10) {
            engine_say(e, "migrate", "%s: %zu of %zu tasks done, %d%%", ctx, done, mine, p);
            last_pct = p;
        }
        if (mine && done == mine)
            return 0;
        /* No task at all: the job sits in a queue nobody reads (no update worker, or
         * one on another Redis: tracardi issue #849). */
        if (!mine && time_mono_ms() > first_seen + NO_TASK_TIMEOUT_MS)
            return tu_err_set(err, TU_ERR_TIMEOUT, "migrate (%s): no migration task appeared within %d s; is the "
                                                   "update worker of the new release running, on the new release's "
                                                   "Redis?", ctx, NO_TASK_TIMEOUT_MS / 1000);
        if (tu_interrupted())
            return PHASE_INTERRUPTED;
        if (time_mono_ms() > deadline)
            return tu_err_set(err, TU_ERR_TIMEOUT, "migrate (%s): %zu of %zu tasks done after %ld s", ctx, done, mine,
                              e->o->migrate_timeout_s);
        time_sleep_ms(1000);
    }
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

/* Counts lag writes by up to a refresh interval: ask again briefly while short. */
static int64_t settled_count(const struct es_conn *es, const char *index, int64_t want)
{
    int64_t g = -1;
    for (int i = 0; i < 6; i++) {
        /* A family whose source was empty may never have been created: zero documents. */
        g = count_or(es, index, 0);
        if (g >= want)
            break;
        time_sleep_ms(500);
    }
    return g;
}

/* Every copied family must hold what blue held when the copy started, and no more
 * than blue holds now (blue keeps serving while it runs). */
static int verify_counts(struct engine *e, size_t hop, const struct es_conn *es, const char *ctx, struct tu_err *err)
{
    json_t *mc = json_object_get(json_object_get(engine_hop(e, hop), "migration"), ctx);
    json_t *checks = json_object_get(mc, "checks");
    json_t *before = json_object_get(mc, "before");
    json_t *baseline = json_object_get(mc, "baseline");
    json_t *sums = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) {
        const char *key = jstr(c, "key"), *from = jstr(c, "from");
        json_t *sum = json_object_get(sums, key);
        if (!sum) {
            sum = json_pack("{s:I,s:I}", "before", (json_int_t)0, "after", (json_int_t)0);
            json_object_set_new(sums, key, sum);
        }
        json_int_t b = json_integer_value(json_object_get(before, from));
        json_int_t a = count_or(es, from, b);
        json_object_set_new(sum, "before", json_integer(json_integer_value(json_object_get(sum, "before")) + b));
        json_object_set_new(sum, "after", json_integer(json_integer_value(json_object_get(sum, "after")) + a));
    }
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
        int64_t g = settled_count(es, key, b);
        json_object_set_new(result, key, json_pack("{s:I,s:I,s:I,s:I}", "old_before", (json_int_t)(b - base),
                                                   "old_after", (json_int_t)(a - base), "new_before_copy",
                                                   (json_int_t)base, "new", (json_int_t)g));
        checked++;
        total += g > 0 ? g : 0;
        if (g < b || (g > a && !self_written(key))) {
            if (rc == 0)
                tu_err_set(err, TU_ERR_REFUSED, "migrate (%s): '%s' holds %lld documents, expected %lld (%lld copied "
                           "from the old release, %lld its own)%s", ctx, key, (long long)g, (long long)b,
                           (long long)(b - base), (long long)base,
                           g < b ? ": documents are missing" : " and the copy has more than the source");
            rc = -1;
        }
    }
    json_object_set_new(mc, "verified", result);
    json_decref(sums);
    if (rc == 0)
        engine_say(e, "migrate", "%s: verified %zu copied families, %lld documents, counts match", ctx, checked,
                   (long long)total);
    return rc;
}

int phase_migrate(struct engine *e, size_t hop, struct tu_err *err)
{
    json_t *hj = engine_hop(e, hop);
    const char *url = jstr(hj, "api_url");
    if (!url)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "migrate: the new api's address is unknown");
    struct tapi a;
    tapi_init(&a, url, 60000);
    struct es_conn es;
    memset(&es, 0, sizeof(es));
    int rc = -1;
    if (es_open(e, &es, err) < 0)
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
    const char *from_db = jstr(hj, "from_db_version");
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
    for (int c = 0; c < 2; c++) {
        if ((rc = migrate_context(e, hop, &a, &es, ctxs[c], err)) < 0)
            goto out;
        json_t *mc = json_object_get(json_object_get(hj, "migration"), ctxs[c]);
        if (json_array_size(json_object_get(mc, "ids")) &&
            (rc = wait_tasks(e, hop, &a, ctxs[c], deadline, err)) != 0)
            goto out;
        rc = -1;
    }
    for (int c = 0; c < 2; c++)
        if (verify_counts(e, hop, &es, ctxs[c], err) < 0)
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
    if (es_open(e, &es, err) < 0)
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

int engine_delete_release_indices(struct engine *e, const char *db, const char *tenant, struct tu_err *err)
{
    json_t *names = NULL;
    int64_t docs = 0;
    if (engine_release_indices(e, db, tenant, &names, &docs, err) < 0)
        return -1;
    struct es_conn es;
    int rc = es_open(e, &es, err);
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) {
        if (rc == 0 && es_delete_index(&es, json_string_value(v), err) < 0 && err->kind != TU_ERR_NOT_FOUND)
            rc = -1;
    }
    if (rc == 0)
        engine_say(e, "rollback", "deleted the %zu indices the failed upgrade created (%s.%s.*, %lld documents, "
                                  "all copies)", json_array_size(names), db, tenant, (long long)docs);
    if (rc == 0 || es.base)
        es_conn_free(&es);
    json_decref(names);
    return rc;
}

/* ---------------------------------------------------------------- intermediate releases */

int phase_remove_intermediate(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    size_t n = json_array_size(json_object_get(e->j.doc, "hops"));
    for (size_t h = 0; h + 1 < n; h++) {
        if (engine_remove_hop(e, h, err) < 0)
            return -1;
        engine_say(e, "cleanup", "intermediate release %s removed", jstr(engine_hop(e, h), "to"));
    }
    return 0;
}

/* ---------------------------------------------------------------- switch */

static int public_answers(const char *base, const char *want, long timeout_ms)
{
    char *url = xasprintf("%s/info/version", base);
    long deadline = time_mono_ms() + timeout_ms;
    int ok = 0;
    while (!ok) {
        struct http_req req = {.url = url, .timeout_ms = 2000, .max_body = 4096};
        struct http_resp resp;
        struct tu_err e;
        if (http_do(&req, &resp, &e) == 0 && resp.status == 200 && resp.body.data) {
            json_t *j = json_loadb(resp.body.data, resp.body.len, JSON_DECODE_ANY, NULL);
            const char *v = json_string_value(j);
            ok = v ? strcmp(v, want) == 0 : strstr(resp.body.data, want) != NULL;
            json_decref(j);
        }
        http_resp_free(&resp);
        if (ok || time_mono_ms() > deadline)
            break;
        time_sleep_ms(100);
    }
    free(url);
    return ok;
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
        const char *api_id = green_id(e, last, "api");
        char *url = engine_container_url(e, api_id, GREEN_API_PORT);
        pid_t pid = fork();
        if (pid == 0) {
            setenv("TRACUP_GREEN_API_URL", url ? url : "", 1);
            setenv("TRACUP_GREEN_API_NAME", green_name_of(e, last, "api"), 1);
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
        int ok = pub && public_answers(pub, ver, 30000);
        free(pub);
        if (!ok)
            return tu_err_set(err, TU_ERR_REFUSED, "switch: the public URL does not answer %s", ver);
        engine_say(e, "switch", "the operator's proxy now serves %s", ver);
        return 0;
    }
    if (!e->u->edge)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "switch: the stack has no edge");
    char *api_up = xasprintf("%s:%d", green_name_of(e, last, "api"), GREEN_API_PORT);
    char *gui_up = green_name_of(e, last, "gui") ? xasprintf("%s:%d", green_name_of(e, last, "gui"), GREEN_GUI_PORT)
                                                 : NULL;
    char *conf = NULL;
    int rc = -1;
    const char *blue_gui = jstr(json_object_get(e->j.doc, "blue"), "gui_upstream");
    if (edge_render(api_up, gui_up ? gui_up : (blue_gui ? blue_gui : api_up), &conf, err) < 0)
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
    int ok = pub && public_answers(pub, ver, 15000);
    if (!ok) {
        tu_err_set(err, TU_ERR_REFUSED, "switch: the edge at %s does not answer %s after the reload", pub ? pub : "?",
                   ver);
        free(pub);
        goto out;
    }
    engine_say(e, "switch", "the edge serves %s at %s (%ld ms after the reload)", ver, pub, time_mono_ms() - t0);
    free(pub);
    rc = 0;
out:
    free(conf);
    free(api_up);
    free(gui_up);
    return rc;
}

/* ---------------------------------------------------------------- observe */

int phase_observe(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    size_t last = json_array_size(json_object_get(e->j.doc, "hops")) - 1;
    const char *ver = jstr(engine_hop(e, last), "to");
    char *pub = engine_public_url(e);
    if (!pub) {
        const char *api_id = green_id(e, last, "api");
        pub = api_id ? engine_container_url(e, api_id, GREEN_API_PORT) : NULL;
    }
    long end = time_mono_ms() + e->o->observe_s * 1000L;
    engine_say(e, "observe", "watching %s for %ld s", pub ? pub : "the new release", e->o->observe_s);
    int rc = 0;
    long checks = 0;
    while (rc == 0) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(engine_hop(e, last), "containers"), i, c) {
            json_t *ins = NULL;
            if (docker_container_inspect(e->u->d, jstr(c, "id"), &ins, err) < 0) {
                rc = -1;
                break;
            }
            json_t *st = json_object_get(ins, "State");
            long restarts = (long)json_integer_value(json_object_get(ins, "RestartCount"));
            const char *status = jstr(st, "Status");
            const char *health = jstr(json_object_get(st, "Health"), "Status");
            if (restarts > 0 || !status || strcmp(status, "running") != 0 ||
                (health && strcmp(health, "unhealthy") == 0)) {
                rc = tu_err_set(err, TU_ERR_REFUSED, "observe: %s is %s (restarts %ld%s%s)", jstr(c, "name"),
                                status ? status : "?", restarts, health ? ", health " : "", health ? health : "");
            }
            json_decref(ins);
            if (rc)
                break;
        }
        if (rc == 0 && pub && !public_answers(pub, ver, 3000))
            rc = tu_err_set(err, TU_ERR_REFUSED, "observe: %s stopped answering %s", pub, ver);
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
        engine_say(e, "observe", "%ld checks, no restart, every answer %s", checks, ver);
    free(pub);
    return rc;
}

/* ---------------------------------------------------------------- done */

int phase_done(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    json_t *blue = json_object_get(e->j.doc, "blue");
    size_t i;
    json_t *id;
    /* Blue stays as the way back: stopped, not removed, until finalize. */
    json_array_foreach(json_object_get(blue, "release"), i, id) {
        if (docker_container_stop(e->u->d, json_string_value(id), 10, err) < 0 && err->kind != TU_ERR_NOT_FOUND)
            return -1;
    }
    json_object_set_new(e->j.doc, "blue_stopped", json_true());
    return engine_save(e, err);
}
