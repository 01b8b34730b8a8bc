/* lifecycle.c - creating, starting, stopping and removing containers; files and logs. */
#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker/frames.h"
#include "docker/objects.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define LOGS_MAX (256 * 1024)

/* before + escaped(id) + after */
static char *esc_path(const char *before, const char *id, const char *after)
{
    char *e = docker_escape(id);
    char *p = xasprintf("%s%s%s", before, e, after);
    free(e);
    return p;
}

int docker_container_create(struct docker *d, const char *name, json_t *body, char **id_out,
                            struct tu_err *err)
{
    *id_out = NULL;
    char *text = json_dumps(body, JSON_COMPACT);
    char *path = esc_path("/containers/create?name=", name, "");
    json_t *res = NULL;
    long st = docker_call(d, "POST", path, text, NULL, &res, err);
    free(path);
    free(text);
    if (st < 0) {
        tu_err_prefix(err, "creating container '%s': ", name);
        return -1;
    }
    const char *id = json_string_value(json_object_get(res, "Id"));
    if (!id || strlen(id) > 128) {
        json_decref(res);
        return tu_err_set(err, TU_ERR_PROTOCOL, "creating container '%s': the daemon sent no id", name);
    }
    *id_out = xstrdup(id);
    json_decref(res);
    return 0;
}

static int simple_post(struct docker *d, const char *path, const char *what, const char *id, struct tu_err *err)
{
    long st = docker_call(d, "POST", path, NULL, NULL, NULL, err);
    if (st < 0) {
        tu_err_prefix(err, "%s container '%.12s': ", what, id);
        return -1;
    }
    return 0;
}

int docker_container_start(struct docker *d, const char *id, struct tu_err *err)
{
    char *path = esc_path("/containers/", id, "/start");
    int rc = simple_post(d, path, "starting", id, err);
    free(path);
    return rc;
}

int docker_container_stop(struct docker *d, const char *id, int timeout_s, struct tu_err *err)
{
    char *e = docker_escape(id);
    char *path = xasprintf("/containers/%s/stop?t=%d", e, timeout_s);
    free(e);
    /* The daemon answers once the container stopped: allow for the grace period. */
    long saved = d->request_timeout_s;
    if (d->request_timeout_s && d->request_timeout_s < timeout_s + 30)
        d->request_timeout_s = timeout_s + 30;
    int rc = simple_post(d, path, "stopping", id, err);
    d->request_timeout_s = saved;
    free(path);
    return rc;
}

int docker_container_remove(struct docker *d, const char *id, int force, struct tu_err *err)
{
    char *e = docker_escape(id);
    char *path = xasprintf("/containers/%s?force=%d&v=0", e, force ? 1 : 0);
    free(e);
    long st = docker_call(d, "DELETE", path, NULL, NULL, NULL, err);
    free(path);
    if (st < 0 && err->kind == TU_ERR_NOT_FOUND) {
        tu_err_clear(err);
        return 0;
    }
    if (st < 0) {
        tu_err_prefix(err, "removing container '%.12s': ", id);
        return -1;
    }
    return 0;
}

int docker_network_connect(struct docker *d, const char *net, const char *id, const char *const *aliases,
                           struct tu_err *err)
{
    json_t *al = json_array();
    for (size_t i = 0; aliases && aliases[i]; i++)
        json_array_append_new(al, json_string(aliases[i]));
    json_t *body = json_pack("{s:s,s:{s:o}}", "Container", id, "EndpointConfig", "Aliases", al);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *path = esc_path("/networks/", net, "/connect");
    long st = docker_call(d, "POST", path, text, NULL, NULL, err);
    free(path);
    free(text);
    if (st < 0) {
        tu_err_prefix(err, "connecting '%.12s' to network '%s': ", id, net);
        return -1;
    }
    return 0;
}

static la_ssize_t tar_write(struct archive *a, void *ud, const void *buf, size_t n)
{
    (void)a;
    struct buf *b = ud;
    if (buf_append(b, buf, n) < 0)
        return -1;
    return (la_ssize_t)n;
}

static int tar_close(struct archive *a, void *ud)
{
    (void)a;
    (void)ud;
    return ARCHIVE_OK;
}

int docker_put_file(struct docker *d, const char *id, const char *dir, const char *name, const void *data,
                    size_t len, int mode, struct tu_err *err)
{
    struct buf tar;
    buf_init(&tar, len + 64 * 1024);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    int rc = -1;
    if (archive_write_open(a, &tar, NULL, tar_write, tar_close) != ARCHIVE_OK) {
        tu_err_set(err, TU_ERR_IO, "cannot make a tar: %s", archive_error_string(a));
        archive_write_free(a);
        buf_free(&tar);
        return -1;
    }
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, (mode_t)mode);
    archive_entry_set_mtime(e, 0, 0);
    if (archive_write_header(a, e) != ARCHIVE_OK ||
        (len && archive_write_data(a, data, len) != (la_ssize_t)len) || archive_write_close(a) != ARCHIVE_OK) {
        tu_err_set(err, TU_ERR_IO, "cannot make a tar: %s", archive_error_string(a));
        archive_entry_free(e);
        archive_write_free(a);
        buf_free(&tar);
        return -1;
    }
    archive_entry_free(e);
    archive_write_free(a);

    char *ei = docker_escape(id);
    char *ed = docker_escape(dir);
    char *path = xasprintf("/containers/%s/archive?path=%s", ei, ed);
    free(ei);
    free(ed);
    long st = docker_call_raw(d, "PUT", path, tar.data, tar.len, "application/x-tar", NULL, err);
    free(path);
    if (st < 0)
        tu_err_prefix(err, "uploading '%s/%s' into '%.12s': ", dir, name, id);
    else
        rc = 0;
    buf_free(&tar);
    return rc;
}

int docker_get_file(struct docker *d, const char *id, const char *path, size_t max, char **data, size_t *len,
                    struct tu_err *err)
{
    *data = NULL;
    *len = 0;
    char *ep = docker_escape(path);
    char *url = esc_path("/containers/", id, "/archive?path=");
    char *full = xasprintf("%s%s", url, ep);
    free(url);
    free(ep);
    struct buf tar;
    long st = docker_call_bytes(d, "GET", full, &tar, err);
    free(full);
    if (st < 0) {
        /* the daemon's message names the path */
        tu_err_prefix(err, "reading a file of container '%.12s': ", id);
        buf_free(&tar);
        return -1;
    }
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    int rc = -1;
    struct archive_entry *en;
    if (archive_read_open_memory(a, tar.data ? tar.data : "", tar.len) != ARCHIVE_OK ||
        archive_read_next_header(a, &en) != ARCHIVE_OK) {
        tu_err_set(err, TU_ERR_PROTOCOL, "reading '%.300s' in '%.12s': the daemon's answer is not a tar", path, id);
    } else if (archive_entry_filetype(en) != AE_IFREG) {
        tu_err_set(err, TU_ERR_REFUSED, "'%.300s' in '%.12s' is not a regular file", path, id);
    } else if (archive_entry_size(en) < 0 || (uint64_t)archive_entry_size(en) > max) {
        tu_err_set(err, TU_ERR_TOO_BIG, "'%.300s' in '%.12s' is larger than %zu bytes", path, id, max);
    } else {
        size_t n = (size_t)archive_entry_size(en);
        char *b = xmalloc(n + 1);
        la_ssize_t got = n ? archive_read_data(a, b, n) : 0;
        if (got != (la_ssize_t)n) {
            free(b);
            tu_err_set(err, TU_ERR_PROTOCOL, "reading '%.300s' in '%.12s': the tar ends early", path, id);
        } else {
            b[n] = '\0';
            *data = b;
            *len = n;
            rc = 0;
        }
    }
    archive_read_free(a);
    buf_free(&tar);
    return rc;
}

static int collect_frame(void *ud, enum frame_stream stream, const char *data, size_t len)
{
    (void)stream;
    struct buf *b = ud;
    size_t room = b->max - b->len;
    buf_append(b, data, len < room ? len : room);
    return 0;
}

int docker_container_logs(struct docker *d, const char *id, int tail, char **out, struct tu_err *err)
{
    *out = NULL;
    char *e = docker_escape(id);
    char *path = xasprintf("/containers/%s/logs?stdout=1&stderr=1&tail=%d", e, tail);
    free(e);
    struct buf raw;
    buf_init(&raw, 0);
    /* The body is framed binary, not JSON: fetch it raw. */
    long st = docker_call_bytes(d, "GET", path, &raw, err);
    free(path);
    if (st < 0)
        return -1;
    struct buf text;
    buf_init(&text, LOGS_MAX);
    struct frames f;
    frames_init(&f, collect_frame, &text);
    if (frames_feed(&f, raw.data ? raw.data : "", raw.len) < 0) {
        /* A container with a TTY sends its log unframed. */
        buf_reset(&text);
        size_t n = raw.len < LOGS_MAX ? raw.len : LOGS_MAX;
        buf_append(&text, raw.data ? raw.data : "", n);
    }
    buf_free(&raw);
    *out = buf_detach(&text);
    return 0;
}

/* ---- exec ---- */

#define EXEC_STREAM_MAX (1024 * 1024)

static int exec_inspect(struct docker *d, const char *eid, int *running, int *code, struct tu_err *err)
{
    char *path = esc_path("/exec/", eid, "/json");
    json_t *j = NULL;
    long st = docker_call(d, "GET", path, NULL, NULL, &j, err);
    free(path);
    if (st < 0)
        return -1;
    json_t *r = json_object_get(j, "Running"), *c = json_object_get(j, "ExitCode");
    int rc = 0;
    if (!json_is_boolean(r) || (!json_is_true(r) && !json_is_integer(c)))
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "the daemon's answer about exec '%.12s' has no state", eid);
    else {
        *running = json_is_true(r);
        json_int_t v = json_is_integer(c) ? json_integer_value(c) : -1;
        *code = v >= -1 && v <= 255 ? (int)v : -1;
    }
    json_decref(j);
    return rc;
}

int docker_exec(struct docker *d, const char *id, const char *const *argv, int *exit_code, char **output,
                struct tu_err *err)
{
    *exit_code = -1;
    *output = NULL;
    const char *what = argv && argv[0] ? argv[0] : "";
    json_t *cmd = json_array();
    for (size_t i = 0; argv && argv[i]; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    json_t *body = json_pack("{s:b,s:b,s:b,s:b,s:o}", "AttachStdin", 0, "AttachStdout", 1, "AttachStderr", 1, "Tty", 0,
                             "Cmd", cmd);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char *path = esc_path("/containers/", id, "/exec");
    json_t *res = NULL;
    long st = docker_call(d, "POST", path, text, NULL, &res, err);
    free(path);
    free(text);
    if (st < 0) {
        tu_err_prefix(err, "running '%s' in container '%.12s': ", what, id);
        return -1;
    }
    const char *eid_j = json_string_value(json_object_get(res, "Id"));
    if (!eid_j || !*eid_j || strlen(eid_j) > 128) {
        json_decref(res);
        return tu_err_set(err, TU_ERR_PROTOCOL, "running '%s' in container '%.12s': the daemon sent no exec id",
                          what, id);
    }
    char *eid = xstrdup(eid_j);
    json_decref(res);

    /* Attached, the daemon answers with the command's multiplexed output and closes
     * the connection when it ends. */
    struct buf raw;
    size_t saved_max = d->max_body;
    d->max_body = EXEC_STREAM_MAX;
    path = esc_path("/exec/", eid, "/start");
    st = docker_call_bytes_body(d, "POST", path, "{\"Detach\":false,\"Tty\":false}", &raw, err);
    d->max_body = saved_max;
    free(path);
    int rc = -1;
    if (st < 0) {
        tu_err_prefix(err, "running '%s' in container '%.12s': ", what, id);
        buf_free(&raw);
        free(eid);
        return -1;
    }
    struct buf out;
    buf_init(&out, DOCKER_EXEC_OUTPUT_MAX);
    struct frames f;
    frames_init(&f, collect_frame, &out);
    if (frames_feed(&f, raw.data ? raw.data : "", raw.len) < 0) {
        buf_reset(&out);
        buf_append(&out, raw.data ? raw.data : "", raw.len < DOCKER_EXEC_OUTPUT_MAX ? raw.len : DOCKER_EXEC_OUTPUT_MAX);
    }
    buf_free(&raw);
    /* The stream ends with the process; its state may lag a moment behind. */
    int running = 1, code = -1, asked = 1;
    for (int i = 0; i < 50; i++) {
        if (exec_inspect(d, eid, &running, &code, err) < 0) {
            asked = 0;
            break;
        }
        if (!running) {
            rc = 0;
            break;
        }
        time_sleep_ms(100);
    }
    if (rc == 0) {
        *exit_code = code;
        *output = buf_detach(&out);
    } else {
        if (asked)
            tu_err_set(err, TU_ERR_TIMEOUT, "'%s' in container '%.12s' still runs after its output ended", what, id);
        else
            tu_err_prefix(err, "running '%s' in container '%.12s': ", what, id);
        buf_free(&out);
    }
    free(eid);
    return rc;
}
