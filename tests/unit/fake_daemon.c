/* fake_daemon.c - a scripted stand-in for dockerd on a temporary Unix socket. */
#include "fake_daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "testutil.h"
#include "util/xalloc.h"

#define MAX_CONNS 64
#define HEAD_MAX (64 * 1024)
#define BODY_MAX (1024 * 1024)
#define READ_DEADLINE_MS 3000

struct step {
    char *method;
    char *prefix;
    char *chunks[FAKE_MAX_CHUNKS];
    size_t lens[FAKE_MAX_CHUNKS];
    size_t nchunks;
    long delay_ms;
    long stall_ms;
    int used;
};

struct conn {
    struct fake_daemon *fd;
    int sock;
    pthread_t thread;
};

struct fake_daemon {
    char *dir;
    char *sock_path;
    int listen_sock;
    pthread_t accept_thread;
    pthread_mutex_t mu;
    volatile int stop;  /* read under mu or as a hint between bounded waits */
    struct step steps[FAKE_MAX_STEPS];
    size_t nsteps;
    struct fake_request reqs[FAKE_MAX_REQUESTS];
    size_t nreqs;
    struct conn conns[MAX_CONNS];
    size_t nconns;
    int active, max_active;
    int port;           /* TCP mode: the port at 127.0.0.1, else 0 */
};

static int stopping(struct fake_daemon *fd)
{
    pthread_mutex_lock(&fd->mu);
    int s = fd->stop;
    pthread_mutex_unlock(&fd->mu);
    return s;
}

/* Sleeps up to ms, waking early when the daemon stops. */
static void nap(struct fake_daemon *fd, long ms)
{
    while (ms > 0 && !stopping(fd)) {
        long step = ms < 20 ? ms : 20;
        tt_sleep_ms(step);
        ms -= step;
    }
}

static int send_all(int s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(s, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads into b until `want` bytes are there or the head is complete (want 0). */
static int read_some(struct fake_daemon *fd, int s, char *b, size_t *len, size_t cap, long deadline)
{
    while (!stopping(fd)) {
        long left = deadline - tt_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {s, POLLIN, 0};
        int pr = poll(&p, 1, left < 50 ? (int)left : 50);
        if (pr < 0 && errno != EINTR)
            return -1;
        if (pr <= 0)
            continue;
        if (*len >= cap)
            return -1;
        ssize_t n = recv(s, b + *len, cap - *len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        *len += (size_t)n;
        return 0;
    }
    return -1;
}

/* A chunked request body: read (up to BODY_MAX) until its last chunk, or until the
 * peer stops sending; returns what the complete chunks held (*out_len bytes). */
static char *read_chunked(struct fake_daemon *fd, int s, const char *pre, size_t pre_len, long deadline,
                          size_t *out_len)
{
    char *raw = xmalloc(BODY_MAX + 1);
    size_t rlen = pre_len < BODY_MAX ? pre_len : BODY_MAX;
    memcpy(raw, pre, rlen);
    char *body = xmalloc(BODY_MAX + 1);
    size_t blen = 0, pos = 0;
    for (;;) {
        /* Decode every complete chunk there is. */
        int last = 0;
        for (;;) {
            char *nl = NULL;
            for (size_t i = pos; i + 1 < rlen && !nl; i++)
                if (raw[i] == '\r' && raw[i + 1] == '\n')
                    nl = raw + i;
            if (!nl)
                break;
            size_t n = strtoul(raw + pos, NULL, 16);
            size_t start = (size_t)(nl - raw) + 2;
            if (n == 0) {
                last = 1;
                break;
            }
            if (start + n + 2 > rlen || blen + n > BODY_MAX)
                break;
            memcpy(body + blen, raw + start, n);
            blen += n;
            pos = start + n + 2;
        }
        if (last || rlen >= BODY_MAX || read_some(fd, s, raw, &rlen, BODY_MAX, deadline) < 0)
            break;
    }
    free(raw);
    *out_len = blen;
    return body;
}

static void serve(struct fake_daemon *fd, int s)
{
    long deadline = tt_now_ms() + READ_DEADLINE_MS;
    char *buf = xmalloc(HEAD_MAX + 1);
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (read_some(fd, s, buf, &len, HEAD_MAX, deadline) < 0) {
            free(buf);
            return;
        }
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf) + 4;
    char method[16] = "", target[2048] = "";
    char *sp1 = memchr(buf, ' ', head_len);
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - buf)) : NULL;
    char *eol = strstr(buf, "\r\n");
    if (sp1 && sp2 && (size_t)(sp1 - buf) < sizeof(method) && (size_t)(sp2 - sp1 - 1) < sizeof(target)) {
        memcpy(method, buf, (size_t)(sp1 - buf));
        memcpy(target, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    }
    char *headers = xstrndup(eol + 2, (size_t)(end + 2 - (eol + 2)));

    size_t clen = 0;
    int chunked = 0;
    for (const char *h = headers; *h;) {
        const char *nl = strstr(h, "\r\n");
        if (!nl)
            break;
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            clen = strtoul(h + 15, NULL, 10);
        if (strncasecmp(h, "Transfer-Encoding:", 18) == 0 && strstr(h, "chunked") && strstr(h, "chunked") < nl)
            chunked = 1;
        h = nl + 2;
    }
    char *body;
    size_t have;
    if (chunked) {
        body = read_chunked(fd, s, buf + head_len, len - head_len, deadline, &have);
        free(buf);
    } else {
        if (clen > BODY_MAX)
            clen = BODY_MAX;
        body = xmalloc(clen + 1);
        have = len - head_len < clen ? len - head_len : clen;
        memcpy(body, buf + head_len, have);
        free(buf);
        while (have < clen) {
            if (read_some(fd, s, body, &have, clen, deadline) < 0)
                break;
        }
    }
    body[have] = '\0';

    struct step *st = NULL;
    pthread_mutex_lock(&fd->mu);
    int idx = -1;
    for (size_t i = 0; i < fd->nsteps; i++) {
        struct step *c = &fd->steps[i];
        if (!c->used && strcmp(c->method, method) == 0 && strncmp(target, c->prefix, strlen(c->prefix)) == 0) {
            c->used = 1;
            st = c;
            idx = (int)i;
            break;
        }
    }
    if (fd->nreqs < FAKE_MAX_REQUESTS) {
        struct fake_request *r = &fd->reqs[fd->nreqs++];
        memcpy(r->method, method, sizeof(r->method));
        memcpy(r->target, target, sizeof(r->target));
        r->headers = headers;
        r->body = body;
        r->body_len = have;
        r->step = idx;
        headers = NULL;
        body = NULL;
    }
    fd->active++;
    if (fd->active > fd->max_active)
        fd->max_active = fd->active;
    pthread_mutex_unlock(&fd->mu);
    free(headers);
    free(body);

    if (!st) {
        char *r = fake_http(500, NULL, "{\"message\":\"fake daemon: unexpected request\"}");
        send_all(s, r, strlen(r));
        free(r);
    } else {
        for (size_t i = 0; i < st->nchunks; i++) {
            if (i > 0)
                nap(fd, st->delay_ms);
            if (stopping(fd) || send_all(s, st->chunks[i], st->lens[i]) < 0)
                break;
        }
        nap(fd, st->stall_ms);
    }
    pthread_mutex_lock(&fd->mu);
    fd->active--;
    pthread_mutex_unlock(&fd->mu);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    serve(c->fd, c->sock);
    close(c->sock);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct fake_daemon *fd = arg;
    while (!stopping(fd)) {
        struct pollfd p = {fd->listen_sock, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int s = accept(fd->listen_sock, NULL, NULL);
        if (s < 0)
            continue;
        fcntl(s, F_SETFD, FD_CLOEXEC);
        pthread_mutex_lock(&fd->mu);
        if (fd->nconns == MAX_CONNS) {
            pthread_mutex_unlock(&fd->mu);
            close(s);
            continue;
        }
        struct conn *c = &fd->conns[fd->nconns];
        c->fd = fd;
        c->sock = s;
        if (pthread_create(&c->thread, NULL, conn_main, c) == 0)
            fd->nconns++;
        else
            close(s);
        pthread_mutex_unlock(&fd->mu);
    }
    return NULL;
}

struct fake_daemon *fake_daemon_start(void)
{
    struct fake_daemon *fd = xcalloc(1, sizeof(*fd));
    fd->dir = tt_mkdtemp();
    fd->sock_path = xasprintf("%s/docker.sock", fd->dir);
    pthread_mutex_init(&fd->mu, NULL);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(fd->sock_path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "socket path too long: %s\n", fd->sock_path);
        abort();
    }
    memcpy(sa.sun_path, fd->sock_path, strlen(fd->sock_path) + 1);
    fd->listen_sock = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd->listen_sock < 0 || bind(fd->listen_sock, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd->listen_sock, 16) != 0) {
        fprintf(stderr, "cannot listen on %s: %s\n", fd->sock_path, strerror(errno));
        abort();
    }
    fcntl(fd->listen_sock, F_SETFD, FD_CLOEXEC);
    if (pthread_create(&fd->accept_thread, NULL, accept_main, fd) != 0)
        abort();
    return fd;
}

void fake_daemon_stop(struct fake_daemon *fd)
{
    if (!fd)
        return;
    pthread_mutex_lock(&fd->mu);
    fd->stop = 1;
    pthread_mutex_unlock(&fd->mu);
    pthread_join(fd->accept_thread, NULL);
    /* No new connections now: nconns is stable. */
    for (size_t i = 0; i < fd->nconns; i++)
        pthread_join(fd->conns[i].thread, NULL);
    close(fd->listen_sock);
    for (size_t i = 0; i < fd->nsteps; i++) {
        free(fd->steps[i].method);
        free(fd->steps[i].prefix);
        for (size_t j = 0; j < fd->steps[i].nchunks; j++)
            free(fd->steps[i].chunks[j]);
    }
    for (size_t i = 0; i < fd->nreqs; i++) {
        free(fd->reqs[i].headers);
        free(fd->reqs[i].body);
    }
    pthread_mutex_destroy(&fd->mu);
    tt_rmtree(fd->dir);
    free(fd->dir);
    free(fd->sock_path);
    free(fd);
}

struct fake_daemon *fake_daemon_start_tcp(void)
{
    struct fake_daemon *fd = xcalloc(1, sizeof(*fd));
    fd->dir = tt_mkdtemp();
    fd->sock_path = xstrdup("");
    pthread_mutex_init(&fd->mu, NULL);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t sl = sizeof(sa);
    fd->listen_sock = socket(AF_INET, SOCK_STREAM, 0);
    if (fd->listen_sock < 0 || bind(fd->listen_sock, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd->listen_sock, 16) != 0 || getsockname(fd->listen_sock, (struct sockaddr *)&sa, &sl) != 0) {
        fprintf(stderr, "cannot listen on 127.0.0.1: %s\n", strerror(errno));
        abort();
    }
    fd->port = ntohs(sa.sin_port);
    fcntl(fd->listen_sock, F_SETFD, FD_CLOEXEC);
    if (pthread_create(&fd->accept_thread, NULL, accept_main, fd) != 0)
        abort();
    return fd;
}

int fake_daemon_port(const struct fake_daemon *fd)
{
    return fd->port;
}

const char *fake_daemon_socket(const struct fake_daemon *fd)
{
    return fd->sock_path;
}

const char *fake_daemon_dir(const struct fake_daemon *fd)
{
    return fd->dir;
}

void fake_daemon_expect_chunks(struct fake_daemon *fd, const char *method, const char *prefix,
                               const char *const *chunks, size_t n, long delay_ms, long stall_ms)
{
    pthread_mutex_lock(&fd->mu);
    if (fd->nsteps == FAKE_MAX_STEPS || n > FAKE_MAX_CHUNKS)
        abort();
    struct step *st = &fd->steps[fd->nsteps++];
    st->method = xstrdup(method);
    st->prefix = xstrdup(prefix);
    for (size_t i = 0; i < n; i++) {
        st->lens[i] = strlen(chunks[i]);
        st->chunks[i] = xstrdup(chunks[i]);
    }
    st->nchunks = n;
    st->delay_ms = delay_ms;
    st->stall_ms = stall_ms;
    pthread_mutex_unlock(&fd->mu);
}

void fake_daemon_expect(struct fake_daemon *fd, const char *method, const char *prefix,
                        const char *response)
{
    fake_daemon_expect_chunks(fd, method, prefix, &response, 1, 0, 0);
}

void fake_daemon_expect_raw(struct fake_daemon *fd, const char *method, const char *prefix,
                            const void *response, size_t len)
{
    fake_daemon_expect_chunks(fd, method, prefix, NULL, 0, 0, 0);
    pthread_mutex_lock(&fd->mu);
    struct step *st = &fd->steps[fd->nsteps - 1];
    st->chunks[0] = xmalloc(len ? len : 1);
    memcpy(st->chunks[0], response, len);
    st->lens[0] = len;
    st->nchunks = 1;
    pthread_mutex_unlock(&fd->mu);
}

size_t fake_daemon_nrequests(struct fake_daemon *fd)
{
    pthread_mutex_lock(&fd->mu);
    size_t n = fd->nreqs;
    pthread_mutex_unlock(&fd->mu);
    return n;
}

const struct fake_request *fake_daemon_request(struct fake_daemon *fd, size_t i)
{
    pthread_mutex_lock(&fd->mu);
    const struct fake_request *r = i < fd->nreqs ? &fd->reqs[i] : NULL;
    pthread_mutex_unlock(&fd->mu);
    return r;
}

size_t fake_daemon_count(struct fake_daemon *fd, const char *needle)
{
    pthread_mutex_lock(&fd->mu);
    size_t n = 0;
    for (size_t i = 0; i < fd->nreqs; i++)
        if (strstr(fd->reqs[i].target, needle))
            n++;
    pthread_mutex_unlock(&fd->mu);
    return n;
}

size_t fake_daemon_unused(struct fake_daemon *fd)
{
    pthread_mutex_lock(&fd->mu);
    size_t n = 0;
    for (size_t i = 0; i < fd->nsteps; i++)
        n += !fd->steps[i].used;
    pthread_mutex_unlock(&fd->mu);
    return n;
}

int fake_daemon_max_active(struct fake_daemon *fd)
{
    pthread_mutex_lock(&fd->mu);
    int n = fd->max_active;
    pthread_mutex_unlock(&fd->mu);
    return n;
}

char *fake_request_header(const struct fake_request *r, const char *name)
{
    size_t nl = strlen(name);
    for (const char *h = r->headers; h && *h;) {
        const char *eol = strstr(h, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - h) > nl && strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return xstrndup(v, (size_t)(eol - v));
        }
        h = eol + 2;
    }
    return NULL;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    }
    return "Status";
}

char *fake_http(int status, const char *extra_headers, const char *body)
{
    if (!body)
        body = "";
    return xasprintf("HTTP/1.1 %d %s\r\nServer: fake-dockerd\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n%s",
                     status, reason(status), strlen(body), extra_headers ? extra_headers : "", body);
}

char *fake_chunked_head(int status, const char *content_type)
{
    return xasprintf("HTTP/1.1 %d %s\r\nServer: fake-dockerd\r\nContent-Type: %s\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                     status, reason(status), content_type);
}

char *fake_chunk(const char *data)
{
    return xasprintf("%zx\r\n%s\r\n", strlen(data), data);
}
