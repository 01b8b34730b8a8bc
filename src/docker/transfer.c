/* transfer.c - streamed image save and load over the daemon's socket (libcurl callbacks). */
#include "docker/transfer.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timeutil.h"
#include "util/xalloc.h"

#define ERRBODY_MAX (64 * 1024)

struct xfer {
    struct docker *d;
    CURL *c;
    /* download */
    docker_sink_fn sink;
    void *sink_ud;
    int sink_stopped;
    /* upload */
    docker_source_fn source;
    void *source_ud;
    int source_failed;
    int body_sent;          /* the source said it was at its end */
    /* the watchdog */
    int answer_started;     /* a header line of the answer arrived */
    curl_off_t dl_seen, ul_seen;
    long last_ms;           /* when a byte last moved either way */
    long stalled_s;         /* non-zero: stopped after this many silent seconds */
    int stalled_waiting;    /* ... while waiting for the answer to start */
    int interrupted;
    struct jsonl lines;
    int lines_failed;
    struct buf errbody;
};

static int ok_status(struct xfer *x)
{
    long status = 0;
    curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
    return status >= 200 && status < 300;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (!ok_status(x)) {
        size_t room = x->errbody.max - x->errbody.len;
        buf_append(&x->errbody, ptr, n < room ? n : room);
        return n;
    }
    if (x->sink) {
        if (x->sink(x->sink_ud, ptr, n) != 0) {
            x->sink_stopped = 1;
            return 0;
        }
        return n;
    }
    if (jsonl_feed(&x->lines, ptr, n) != 0) {
        x->lines_failed = 1;
        return 0;
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    ssize_t n = x->source(x->source_ud, buf, size * nitems);
    if (n < 0) {
        x->source_failed = 1;
        return CURL_READFUNC_ABORT;
    }
    if (n == 0)
        x->body_sent = 1;
    return (size_t)n;
}

static size_t on_header(char *ptr, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    (void)ptr;
    x->answer_started = 1;
    x->last_ms = time_mono_ms();
    return size * nitems;
}

/* The stall watchdog (curl's low-speed limit cannot tell these apart). Once the
 * request is sent and until the answer starts, the daemon may be silent for
 * first_byte_timeout_s: `docker save` stages every layer before its first byte,
 * and a load may unpack before it says anything. While the body goes out and
 * once the answer has started, stall_timeout_s of silence is a stall. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    struct xfer *x = ud;
    (void)dltotal;
    (void)ultotal;
    if (x->d->interrupted && x->d->interrupted()) {
        x->interrupted = 1;
        return 1;
    }
    long now = time_mono_ms();
    if (dlnow != x->dl_seen || ulnow != x->ul_seen) {
        x->dl_seen = dlnow;
        x->ul_seen = ulnow;
        x->last_ms = now;
    }
    long stall = x->d->stall_timeout_s > 0 ? x->d->stall_timeout_s : 120L;
    int waiting = !x->answer_started && (!x->source || x->body_sent);
    long limit = waiting && x->d->first_byte_timeout_s > stall ? x->d->first_byte_timeout_s : stall;
    if (now - x->last_ms < limit * 1000L)
        return 0;
    x->stalled_s = limit;
    x->stalled_waiting = waiting;
    return 1;
}

static long run(struct xfer *x, const char *method, const char *path, struct curl_slist *list, struct tu_err *err)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct docker *d = x->d;
    char *url = xasprintf("http://localhost/v%s%s", d->api_version, path);
    curl_easy_setopt(x->c, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(x->c, CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
    curl_easy_setopt(x->c, CURLOPT_CONNECTTIMEOUT_MS, d->connect_timeout_ms);
    curl_easy_setopt(x->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->c, CURLOPT_ERRORBUFFER, errbuf);
    /* No total timeout (an image is as large as it is); a stall is an error. */
    x->last_ms = time_mono_ms();
    curl_easy_setopt(x->c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(x->c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(x->c, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(x->c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x->c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(x->c, CURLOPT_WRITEDATA, x);
    list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(x->c, CURLOPT_HTTPHEADER, list);
    CURLcode cr = curl_easy_perform(x->c);
    long status = 0, rc = -1;
    curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
    if (x->interrupted) {
        tu_err_set(err, TU_ERR_IO, "%s %s: interrupted", method, path);
    } else if (x->stalled_s) {
        if (x->stalled_waiting)
            tu_err_set(err, TU_ERR_TIMEOUT, "%s %s: the docker daemon did not start its answer within %ld s "
                                            "(first_byte_timeout)", method, path, x->stalled_s);
        else
            tu_err_set(err, TU_ERR_TIMEOUT, "%s %s: the docker daemon sent nothing for %ld s (stall_timeout)", method,
                       path, x->stalled_s);
    } else if (x->sink_stopped) {
        if (err->kind == TU_ERR_NONE)
            tu_err_set(err, TU_ERR_IO, "%s %s: stopped while writing the answer", method, path);
    } else if (x->source_failed) {
        if (err->kind == TU_ERR_NONE)
            tu_err_set(err, TU_ERR_IO, "%s %s: reading the body to send failed", method, path);
    } else if (x->lines_failed) {
        if (x->lines.too_long)
            tu_err_set(err, TU_ERR_TOO_BIG, "a line of the docker daemon's answer is longer than %zu bytes",
                       d->max_line);
        else if (err->kind == TU_ERR_NONE)
            tu_err_set(err, TU_ERR_IO, "%s %s: stopped reading the answer", method, path);
    } else if (cr != CURLE_OK) {
        d->lost = cr == CURLE_COULDNT_CONNECT;
        tu_err_set(err, cr == CURLE_OPERATION_TIMEDOUT ? TU_ERR_TIMEOUT : TU_ERR_CONNECT,
                   "%s %s: talking to the docker daemon failed: %s", method, path,
                   errbuf[0] ? errbuf : curl_easy_strerror(cr));
    } else if (status < 200 || status >= 300) {
        docker_error_from_body(err, status, x->errbody.data, x->errbody.len);
    } else if (!x->sink && jsonl_finish(&x->lines) != 0) {
        if (err->kind == TU_ERR_NONE)
            tu_err_set(err, TU_ERR_PROTOCOL, "%s %s: the answer's last line was refused", method, path);
    } else {
        rc = status;
    }
    curl_slist_free_all(list);
    return rc;
}

static void xfer_init(struct xfer *x, struct docker *d)
{
    memset(x, 0, sizeof(*x));
    x->d = d;
    x->c = curl_easy_init();
    if (!x->c) {
        fprintf(stderr, "fatal: cannot initialise libcurl\n");
        abort();
    }
    buf_init(&x->errbody, ERRBODY_MAX);
}

static void xfer_free(struct xfer *x)
{
    curl_easy_cleanup(x->c);
    jsonl_free(&x->lines);
    buf_free(&x->errbody);
}

long docker_download(struct docker *d, const char *path, docker_sink_fn sink, void *ud, struct tu_err *err)
{
    struct xfer x;
    xfer_init(&x, d);
    x.sink = sink;
    x.sink_ud = ud;
    long rc = run(&x, "GET", path, NULL, err);
    xfer_free(&x);
    return rc;
}

long docker_upload(struct docker *d, const char *path, const char *content_type, docker_source_fn source,
                   void *source_ud, jsonl_line_fn on_line, void *line_ud, struct tu_err *err)
{
    struct xfer x;
    xfer_init(&x, d);
    x.source = source;
    x.source_ud = source_ud;
    jsonl_init(&x.lines, d->max_line, on_line, line_ud);
    curl_easy_setopt(x.c, CURLOPT_POST, 1L);
    curl_easy_setopt(x.c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(x.c, CURLOPT_READDATA, &x);
    /* No size given: curl sends the body chunked, a piece at a time. */
    struct curl_slist *list = NULL;
    char *ct = xasprintf("Content-Type: %s", content_type);
    list = curl_slist_append(list, ct);
    free(ct);
    list = curl_slist_append(list, "Transfer-Encoding: chunked");
    long rc = run(&x, "POST", path, list, err);
    xfer_free(&x);
    return rc;
}
