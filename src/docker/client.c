/* client.c - libcurl transport to the Docker daemon's Unix socket. */
#include "docker/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/xalloc.h"

#define ERRBODY_MAX (64 * 1024)

static const char *socket_hint_missing =
    "start the docker daemon, or point DOCKER_HOST at its socket (unix:///path/to/docker.sock)";

int docker_init(struct docker *d, struct tu_err *err)
{
    memset(d, 0, sizeof(*d));
    d->connect_timeout_ms = 5000;
    d->request_timeout_s = 120;
    d->stall_timeout_s = 120;
    d->first_byte_timeout_s = 1800;
    d->max_body = 16u * 1024 * 1024;
    d->max_line = 1024u * 1024;

    const char *host = getenv("DOCKER_HOST");
    const char *path = DOCKER_DEFAULT_SOCKET;
    if (host && *host) {
        if (strncmp(host, "unix://", 7) != 0) {
            const char *colon = strstr(host, "://");
            int scheme_len = colon ? (int)(colon - host) : (int)strlen(host);
            if (scheme_len > 16)
                scheme_len = 16;
            tu_err_set(err, TU_ERR_UNSUPPORTED,
                       "DOCKER_HOST scheme '%.*s' is not supported: tracup talks to the daemon "
                       "over its Unix socket only", scheme_len, host);
            tu_err_hint(err, "set DOCKER_HOST=unix:///path/to/docker.sock, or unset it for %s",
                        DOCKER_DEFAULT_SOCKET);
            return -1;
        }
        path = host + 7;
        if (path[0] != '/') {
            tu_err_set(err, TU_ERR_USAGE, "DOCKER_HOST must name an absolute socket path (unix:///...)");
            return -1;
        }
    }
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        tu_err_set(err, TU_ERR_USAGE, "docker socket path is too long (%zu bytes)", strlen(path));
        return -1;
    }

    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == EACCES) {
            tu_err_set(err, TU_ERR_PERMISSION, "permission denied on docker socket '%s'", path);
            tu_err_hint(err, "add the user to the 'docker' group (and log in again), or run as root");
        } else {
            tu_err_set(err, TU_ERR_CONNECT, "cannot reach the docker daemon: socket '%s' %s", path,
                       errno == ENOENT ? "does not exist" : strerror(errno));
            tu_err_hint(err, "%s", socket_hint_missing);
        }
        return -1;
    }
    if (!S_ISSOCK(st.st_mode)) {
        tu_err_set(err, TU_ERR_CONNECT, "cannot reach the docker daemon: '%s' is not a socket", path);
        tu_err_hint(err, "%s", socket_hint_missing);
        return -1;
    }
    if (access(path, R_OK | W_OK) != 0) {
        tu_err_set(err, TU_ERR_PERMISSION, "permission denied on docker socket '%s'", path);
        tu_err_hint(err, "add the user to the 'docker' group (and log in again), or run as root");
        return -1;
    }
    d->socket_path = xstrdup(path);
    snprintf(d->api_version, sizeof(d->api_version), "%s", DOCKER_API_MIN);
    return 0;
}

void docker_cleanup(struct docker *d)
{
    if (!d)
        return;
    free(d->socket_path);
    d->socket_path = NULL;
}

static int parse_api(const char *s, long *major, long *minor)
{
    if (!s || !*s || strlen(s) > 10)
        return -1;
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '.' || a < 0 || a > 99 || errno)
        return -1;
    const char *m = end + 1;
    long b = strtol(m, &end, 10);
    if (end == m || *end != '\0' || b < 0 || b > 999 || errno)
        return -1;
    if (s[0] == '+' || s[0] == '-' || m[0] == '+' || m[0] == '-' || m[0] == ' ')
        return -1;
    *major = a;
    *minor = b;
    return 0;
}

int docker_api_cmp(const char *a, const char *b)
{
    long am, an, bm, bn;
    if (parse_api(a, &am, &an) < 0 || parse_api(b, &bm, &bn) < 0)
        return -2;
    if (am != bm)
        return am < bm ? -1 : 1;
    if (an != bn)
        return an < bn ? -1 : 1;
    return 0;
}

/* ---- shared easy-handle setup ---- */

struct slist_holder {
    struct curl_slist *list;
};

static CURL *make_easy(struct docker *d, const char *method, const char *path, int versioned,
                       const void *body, size_t body_len, const char *content_type,
                       const char *const *headers, struct curl_slist **out_list, char *errbuf)
{
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "fatal: cannot initialise libcurl\n");
        abort();
    }
    char *url = versioned ? xasprintf("http://localhost/v%s%s", d->api_version, path)
                          : xasprintf("http://localhost%s", path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, d->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    errbuf[0] = '\0';

    struct curl_slist *list = NULL;
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body_len ? body : "");
        char *ct = xasprintf("Content-Type: %s", content_type ? content_type : "application/json");
        list = curl_slist_append(list, ct);
        free(ct);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    /* curl sends "Expect: 100-continue" for large bodies; the daemon does not need it. */
    list = curl_slist_append(list, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    *out_list = list;
    return c;
}

static void transport_error(struct docker *d, struct tu_err *err, CURLcode rc, const char *errbuf)
{
    const char *detail = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
    d->lost = 1;
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        tu_err_set(err, TU_ERR_CONNECT, "cannot connect to the docker daemon at '%s': %s",
                   d->socket_path, detail);
        tu_err_hint(err, "is dockerd running? %s", socket_hint_missing);
        break;
    case CURLE_OPERATION_TIMEDOUT:
        tu_err_set(err, TU_ERR_TIMEOUT, "the docker daemon did not answer in time: %s", detail);
        break;
    default:
        tu_err_set(err, TU_ERR_CONNECT, "talking to the docker daemon failed: %s", detail);
        break;
    }
}

void docker_error_from_body(struct tu_err *err, long status, const char *body, size_t len)
{
    char text[300] = "";
    json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *msg = j ? json_string_value(json_object_get(j, "message")) : NULL;
    if (msg) {
        snprintf(text, sizeof(text), "%s", msg);
    } else if (body && len) {
        size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
        memcpy(text, body, n);
        text[n] = '\0';
        char *nl = strpbrk(text, "\r\n");
        if (nl)
            *nl = '\0';
    }
    json_decref(j);
    enum tu_err_kind kind = status == 404 ? TU_ERR_NOT_FOUND
                          : status == 409 ? TU_ERR_CONFLICT
                                          : TU_ERR_HTTP;
    if (*text)
        tu_err_set(err, kind, "%s", text);
    else
        tu_err_set(err, kind, "the docker daemon answered HTTP %ld", status);
    err->status = status;
}

/* ---- plain calls ---- */

struct body_sink {
    struct buf b;
    int too_big;
};

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct body_sink *s = ud;
    size_t n = size * nmemb;
    if (buf_append(&s->b, ptr, n) < 0) {
        s->too_big = 1;
        return 0;
    }
    return n;
}

static long call(struct docker *d, const char *method, const char *path, int versioned,
                 const void *body, size_t body_len, const char *ctype,
                 const char *const *headers, json_t **out, struct buf *raw_out,
                 struct tu_err *err)
{
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *list = NULL;
    struct body_sink sink = {0};
    long status = 0, rc = -1;
    if (out)
        *out = NULL;
    buf_init(&sink.b, d->max_body);

    CURL *c = make_easy(d, method, path, versioned, body, body_len, ctype, headers, &list, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    if (d->request_timeout_s > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT, d->request_timeout_s);

    CURLcode cr = curl_easy_perform(c);
    if (cr != CURLE_OK) {
        if (sink.too_big)
            tu_err_set(err, TU_ERR_TOO_BIG, "the docker daemon's answer to %s %s is larger than %zu bytes",
                       method, path, d->max_body);
        else
            transport_error(d, err, cr, errbuf);
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    d->lost = 0;
    if (status == 304 || (status >= 200 && status < 300)) {
        if (out && sink.b.len && status != 304) {
            json_error_t je;
            *out = json_loadb(sink.b.data, sink.b.len, JSON_DECODE_ANY, &je);
            if (!*out) {
                tu_err_set(err, TU_ERR_PROTOCOL, "the docker daemon's answer to %s %s is not JSON: %s",
                           method, path, je.text);
                goto out;
            }
        }
        if (raw_out) {
            *raw_out = sink.b;
            buf_init(&sink.b, 0);
        }
        rc = status;
    } else {
        docker_error_from_body(err, status, sink.b.data, sink.b.len);
    }
out:
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    buf_free(&sink.b);
    return rc;
}

long docker_call(struct docker *d, const char *method, const char *path, const char *body,
                 const char *const *headers, json_t **out, struct tu_err *err)
{
    return call(d, method, path, 1, body, body ? strlen(body) : 0, NULL, headers, out, NULL, err);
}

long docker_call_raw(struct docker *d, const char *method, const char *path,
                     const void *body, size_t body_len, const char *content_type,
                     json_t **out, struct tu_err *err)
{
    return call(d, method, path, 1, body, body_len, content_type, NULL, out, NULL, err);
}

long docker_call_bytes(struct docker *d, const char *method, const char *path, struct buf *out,
                       struct tu_err *err)
{
    buf_init(out, 0);
    return call(d, method, path, 1, NULL, 0, NULL, NULL, NULL, out, err);
}

long docker_call_bytes_body(struct docker *d, const char *method, const char *path, const char *body,
                            struct buf *out, struct tu_err *err)
{
    buf_init(out, 0);
    return call(d, method, path, 1, body, body ? strlen(body) : 0, NULL, NULL, NULL, out, err);
}

int docker_alive(struct docker *d)
{
    struct buf b;
    struct tu_err e;
    long st = docker_call_bytes(d, "GET", "/_ping", &b, &e);
    buf_free(&b);
    return st == 200;
}

/* ---- negotiation ---- */

struct ping_headers {
    char api[16];
};

static size_t ping_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct ping_headers *h = ud;
    size_t n = size * nmemb;
    static const char name[] = "api-version:";
    if (n > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
        const char *v = ptr + sizeof(name) - 1;
        const char *end = ptr + n;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        size_t len = 0;
        while (v + len < end && v[len] != '\r' && v[len] != '\n')
            len++;
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
            len--;
        if (len < sizeof(h->api)) {
            memcpy(h->api, v, len);
            h->api[len] = '\0';
        }
    }
    return n;
}

int docker_negotiate(struct docker *d, struct tu_err *err)
{
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *list = NULL;
    struct body_sink sink = {0};
    struct ping_headers h = {{0}};
    int rc = -1;
    buf_init(&sink.b, 4096);

    const char *forced = getenv("DOCKER_API_VERSION");
    if (forced && *forced) {
        if (docker_api_cmp(forced, forced) == -2) {
            return tu_err_set(err, TU_ERR_USAGE, "DOCKER_API_VERSION '%.20s' is not an API version like 1.41",
                              forced);
        }
        if (docker_api_cmp(forced, DOCKER_API_MIN) < 0 || docker_api_cmp(forced, DOCKER_API_MAX) > 0) {
            tu_err_set(err, TU_ERR_UNSUPPORTED,
                       "DOCKER_API_VERSION %s is outside what tracup supports (%s to %s)", forced,
                       DOCKER_API_MIN, DOCKER_API_MAX);
            return -1;
        }
    }

    CURL *c = make_easy(d, "GET", "/_ping", 0, NULL, 0, NULL, NULL, &list, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ping_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    if (cr != CURLE_OK) {
        transport_error(d, err, cr, errbuf);
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        docker_error_from_body(err, status, sink.b.data, sink.b.len);
        tu_err_prefix(err, "the docker daemon's /_ping failed: ");
        goto out;
    }
    if (!h.api[0] || docker_api_cmp(h.api, h.api) == -2) {
        tu_err_set(err, TU_ERR_UNSUPPORTED,
                   "the docker daemon did not announce a valid API version; it is too old for tracup "
                   "(needs API %s or newer)", DOCKER_API_MIN);
        goto out;
    }
    snprintf(d->daemon_api_version, sizeof(d->daemon_api_version), "%s", h.api);
    if (forced && *forced) {
        snprintf(d->api_version, sizeof(d->api_version), "%s", forced);
        d->api_forced = 1;
        rc = 0;
        goto out;
    }
    if (docker_api_cmp(h.api, DOCKER_API_MIN) < 0) {
        tu_err_set(err, TU_ERR_UNSUPPORTED,
                   "the docker daemon speaks API %s, older than %s, the oldest tracup supports", h.api,
                   DOCKER_API_MIN);
        tu_err_hint(err, "upgrade the daemon to Docker Engine 20.10 or newer");
        goto out;
    }
    snprintf(d->api_version, sizeof(d->api_version), "%s",
             docker_api_cmp(h.api, DOCKER_API_MAX) < 0 ? h.api : DOCKER_API_MAX);
    rc = 0;
out:
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    buf_free(&sink.b);
    return rc;
}

/* ---- streams ---- */

void docker_stream_init(struct docker_stream *s, const char *method, const char *path,
                        const char *body, const char *const *headers,
                        jsonl_line_fn on_line, void *ud)
{
    memset(s, 0, sizeof(*s));
    s->method = method;
    s->path = xstrdup(path);
    s->body = xstrdup(body);
    size_t n = 0;
    while (headers && headers[n])
        n++;
    if (n) {
        s->headers = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            s->headers[i] = xstrdup(headers[i]);
    }
    s->on_line = on_line;
    s->ud = ud;
    buf_init(&s->errbody, ERRBODY_MAX);
}

static void wipe_free(char *p)
{
    if (!p)
        return;
    /* Headers may carry X-Registry-Auth: do not leave it in freed memory. */
    volatile char *v = p;
    while (*v)
        *v++ = '\0';
    free(p);
}

void docker_stream_free(struct docker_stream *s)
{
    if (!s)
        return;
    free(s->path);
    free(s->body);
    for (size_t i = 0; s->headers && s->headers[i]; i++)
        wipe_free(s->headers[i]);
    free(s->headers);
    if (s->easy)
        curl_easy_cleanup(s->easy);
    curl_slist_free_all(s->slist);
    jsonl_free(&s->lines);
    buf_free(&s->errbody);
    memset(s, 0, sizeof(*s));
}

static long now_ms(void);

static size_t stream_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    (void)ptr;
    struct docker_stream *s = ud;
    s->last_byte_ms = now_ms();
    return size * nmemb;
}

static size_t stream_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct docker_stream *s = ud;
    size_t n = size * nmemb;
    s->last_byte_ms = now_ms();
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
        int rc = jsonl_feed(&s->lines, ptr, n);
        if (rc != 0) {
            if (s->lines.too_long)
                tu_err_set(&s->err, TU_ERR_TOO_BIG,
                           "a line of the docker daemon's stream is longer than %zu bytes",
                           s->d->max_line);
            else
                s->stopped = 1;
            return 0;
        }
        return n;
    }
    /* An error body: keep the start of it, drop the rest quietly. */
    size_t room = s->errbody.max - s->errbody.len;
    buf_append(&s->errbody, ptr, n < room ? n : room);
    return n;
}

static void stream_start(struct docker *d, struct docker_stream *s)
{
    s->d = d;
    jsonl_init(&s->lines, d->max_line, s->on_line, s->ud);
    struct curl_slist *list = NULL;
    CURL *c = make_easy(d, s->method, s->path, 1, s->body, s->body ? strlen(s->body) : 0, NULL,
                        (const char *const *)s->headers, &list, s->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    /* No total timeout: pulls and event streams legitimately run long. A stall (no
     * byte for stall_timeout_s) is an error, checked in docker_run_streams: curl's
     * low-speed limit averages over a window and notices a stall seconds late. */
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, stream_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    curl_easy_setopt(c, CURLOPT_PRIVATE, s);
    s->last_byte_ms = now_ms();
    s->easy = c;
    s->slist = list;
}

static void stream_done(struct docker_stream *s, CURLcode cr)
{
    s->done = 1;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
    if (s->err.kind != TU_ERR_NONE)
        return;  /* the write callback already said why */
    if (cr != CURLE_OK && !(cr == CURLE_WRITE_ERROR && s->stopped)) {
        transport_error(s->d, &s->err, cr, s->errbuf);
        return;
    }
    if (s->status < 200 || s->status >= 300) {
        docker_error_from_body(&s->err, s->status, s->errbody.data, s->errbody.len);
        return;
    }
    if (!s->stopped && jsonl_finish(&s->lines) != 0) {
        if (s->lines.too_long)
            tu_err_set(&s->err, TU_ERR_TOO_BIG, "a line of the docker daemon's stream is longer than %zu bytes",
                       s->d->max_line);
        else
            s->stopped = 1;
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int docker_run_streams(struct docker *d, struct docker_stream **streams, size_t n,
                       docker_tick_fn tick, void *tick_ud, long tick_ms)
{
    CURLM *m = curl_multi_init();
    if (!m) {
        fprintf(stderr, "fatal: cannot initialise libcurl\n");
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        stream_start(d, streams[i]);
        curl_multi_add_handle(m, streams[i]->easy);
    }
    if (tick_ms <= 0)
        tick_ms = 100;
    int running = 1, aborted = 0;
    long last_tick = now_ms();
    while (running) {
        CURLMcode mc = curl_multi_perform(m, &running);
        if (mc != CURLM_OK)
            break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct docker_stream *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            stream_done(s, msg->data.result);
            curl_multi_remove_handle(m, msg->easy_handle);
            if (s->on_done)
                s->on_done(s->ud, s);
        }
        long now = now_ms();
        for (size_t i = 0; i < n; i++) {
            struct docker_stream *s = streams[i];
            if (s->done || now - s->last_byte_ms < d->stall_timeout_s * 1000L)
                continue;
            curl_multi_remove_handle(m, s->easy);
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &s->status);
            s->done = 1;
            tu_err_set(&s->err, TU_ERR_TIMEOUT, "the docker daemon sent nothing for %ld s", d->stall_timeout_s);
            if (s->on_done)
                s->on_done(s->ud, s);
        }
        if (tick && now - last_tick >= tick_ms) {
            last_tick = now_ms();
            if (tick(tick_ud)) {
                aborted = 1;
                break;
            }
        }
        if (running)
            curl_multi_poll(m, NULL, 0, (int)tick_ms, NULL);
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct docker_stream *s = streams[i];
        if (aborted && !s->done && s->err.kind == TU_ERR_NONE)
            tu_err_set(&s->err, TU_ERR_IO, "interrupted");
        curl_multi_remove_handle(m, s->easy);
        if (s->err.kind != TU_ERR_NONE)
            rc = -1;
    }
    if (aborted)
        rc = -1;
    curl_multi_cleanup(m);
    return rc;
}

char *docker_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) {
        fprintf(stderr, "fatal: out of memory\n");
        abort();
    }
    char *r = xstrdup(e);
    curl_free(e);
    return r;
}
