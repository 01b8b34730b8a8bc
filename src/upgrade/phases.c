/* phases.c - what the phases share, and preflight, pull and snapshot. */
#include "upgrade/phases.h"
#include "tracardi/version.h"

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
#include "bundle/record.h"
#include "docker/objects.h"
#include "elastic/es.h"
#include "elastic/indexname.h"
#include "registry/auth.h"
#include "tracardi/api.h"
#include "tracardi/images.h"
#include "upgrade/edge.h"
#include "upgrade/pullset.h"
#include "upgrade/secrets.h"
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
    const char *rec = jstr(e->j.doc, "public_url");
    if (rec && *rec)
        return xstrdup(rec);
    const char *ext = e->o->public_url;
    if (ext && *ext)
        return xstrdup(ext);
    return e->u->edge ? stack_container_url(e->u->edge, EDGE_API_PORT) : NULL;
}

/* Polls base/info/version until it answers want (a JSON string, or text holding
 * it) on every request for PUBLIC_STABLE_MS; any other answer starts over. */
int engine_public_answers(const char *base, const char *want, long timeout_ms, long *first_ms)
{
    char *url = xasprintf("%s/info/version", base);
    long deadline = time_mono_ms() + timeout_ms;
    long since = -1; /* when the current run of answers of `want` began */
    int ok = 0;
    for (;;) {
        struct http_req req = {.url = url, .timeout_ms = 2000, .max_body = 4096};
        struct http_resp resp;
        struct tu_err e;
        int answered = 0;
        if (http_do(&req, &resp, &e) == 0 && resp.status == 200 && resp.body.data) {
            json_t *j = json_loadb(resp.body.data, resp.body.len, JSON_DECODE_ANY, NULL);
            const char *v = json_string_value(j);
            answered = v ? tversion_same_release(v, want) : strstr(resp.body.data, want) != NULL;
            json_decref(j);
        }
        http_resp_free(&resp);
        long now = time_mono_ms();
        if (!answered)
            since = -1;
        else if (since < 0)
            since = now;
        if (since >= 0 && now - since >= PUBLIC_STABLE_MS) {
            ok = 1;
            if (first_ms)
                *first_ms = since;
            break;
        }
        if (now > deadline)
            break;
        time_sleep_ms(since >= 0 ? PUBLIC_STABLE_POLL_MS : 100);
    }
    free(url);
    return ok;
}

char *engine_port_url(json_t *inspect, int port)
{
    char key[16];
    snprintf(key, sizeof(key), "%d/tcp", port);
    json_t *b = json_array_get(json_object_get(json_object_get(json_object_get(inspect, "HostConfig"), "PortBindings"),
                                               key), 0);
    const char *ip = jstr(b, "HostIp"), *hp = jstr(b, "HostPort");
    if (!hp || !*hp)
        return NULL;
    if (!ip || !*ip || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0)
        ip = "127.0.0.1";
    return xasprintf(strchr(ip, ':') ? "http://[%s]:%s" : "http://%s:%s", ip, hp);
}

/* The id of hop's green container for key, or NULL (borrowed). */
const char *engine_green_id(struct engine *e, size_t hop, const char *key)
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

const char *engine_green_name(struct engine *e, size_t hop, const char *key)
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
            if (jstr(im, "image_id")) {
                /* Loaded from a bundle while the registry is down: not pulled, checked. */
                char *pin = offline_pin(e->u->d, im, err);
                if (!pin)
                    goto out;
                const char *at = jstr(json_object_get(json_object_get(e->j.doc, "plan"), "offline"), "loaded_at");
                engine_say(e, "pull", "offline: %s is image %s from the bundle loaded at %s", pin,
                           jstr(im, "image_id"), at ? at : "(see the bundle record)");
                free(pin);
                continue;
            }
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

/* One container's inspect document with its secret values masked; the real ones
 * go to store under the container's id. The daemon's document itself stays as it
 * is: green copies blue's environment from it. */
static int snapshot_container(struct archive *a, const struct stack_container *c, json_t *store)
{
    json_t *doc = json_deep_copy(c->inspect);
    json_t *real = secrets_withhold(doc);
    const char *id = jstr(doc, "Id");
    if (json_object_size(real) > 0 && id)
        json_object_set(store, id, real);
    json_decref(real);
    char *text = json_dumps(doc, JSON_INDENT(1));
    char *name = xasprintf("containers/%s.json", c->name);
    int r = text ? tar_add(a, name, text, strlen(text)) : -1;
    free(name);
    free(text);
    json_decref(doc);
    return r;
}

/* Every container of the stack as the daemon describes it (enough to recreate
 * blue) and the edge's config, as a tar on fd; secret values into store. */
static int snapshot_tar(struct engine *e, int fd, json_t *store, struct tu_err *err)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    int rc = archive_write_open_fd(a, fd) == ARCHIVE_OK ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < e->u->stack->n; i++)
        rc = snapshot_container(a, &e->u->stack->c[i], store);
    const char *conf = jstr(json_object_get(e->j.doc, "blue"), "edge_conf");
    if (rc == 0 && conf)
        rc = tar_add(a, "edge/" EDGE_CONF_FILE, conf, strlen(conf));
    if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
        rc = -1;
    if (rc < 0) {
        const char *why = archive_error_string(a);
        tu_err_set(err, TU_ERR_IO, "cannot write the snapshot: %s", why ? why : "libarchive failed");
    }
    archive_write_free(a);
    return rc;
}

static size_t count_values(json_t *store)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(store, k, v) n += json_object_size(v);
    return n;
}

int phase_snapshot(struct engine *e, size_t hop, struct tu_err *err)
{
    (void)hop;
    char *path = xasprintf("%s/snapshot.tar", e->upgrade_dir);
    char *tmp = xasprintf("%s.tmp", path);
    char *spath = secrets_path(e->u->stack_dir, jstr(e->j.doc, "id"));
    json_t *containers = json_object();
    json_t *store = json_pack("{s:s,s:O}", "upgrade", jstr(e->j.doc, "id"), "containers", containers);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd < 0) {
        tu_err_set(err, TU_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (snapshot_tar(e, fd, containers, err) < 0)
        goto out;
    if (fsync(fd) != 0) {
        tu_err_set(err, TU_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    /* The secrets first: a snapshot in place can always be restored from. */
    if (secrets_save(spath, store, err) < 0)
        goto out;
    if (rename(tmp, path) != 0) {
        tu_err_set(err, TU_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
    json_object_set_new(e->j.doc, "snapshot", json_string(path));
    engine_say(e, "snapshot", "blue's %zu containers%s saved in %s; their %zu secret values in %s", e->u->stack->n,
               jstr(json_object_get(e->j.doc, "blue"), "edge_conf") ? " and the edge config" : "", path,
               count_values(containers), spath);
    rc = engine_save(e, err);
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    json_decref(containers);
    json_decref(store);
    free(spath);
    free(tmp);
    free(path);
    return rc;
}
