/* fake_dockerd.c - a stand-in dockerd for end-to-end tests: canned bad answers, or a logging proxy.
 *
 *   fake_dockerd [--timeout S] [--log FILE] SCENARIO
 *       serves the scenario's canned answers (fake_daemon.c) on a new socket; at exit
 *       writes one line per request received ("METHOD TARGET") to FILE
 *   fake_dockerd [--timeout S] --log FILE --proxy UPSTREAM_SOCKET
 *       passes every connection through to the real daemon, appending each request
 *       line ("METHOD TARGET") to FILE as it goes
 *
 * Prints the socket's path on the first line of standard output once it listens, and
 * runs until SIGTERM or SIGINT, or for at most S seconds (default 60). Used by
 * tests/e2e/test_bad_input.sh; run with no arguments for the list of scenarios.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fake_daemon.h"
#include "testutil.h"
#include "util/xalloc.h"

#define BIG_BODY (17u * 1024 * 1024)  /* past the client's 16 MiB cap on a body */
#define LONG_LINE (10u * 1024 * 1024) /* a 10 MiB JSON line: past the 1 MiB cap on a stream line */
#define API_INSPECT "/v1.41/images/127.0.0.1%3A5000%2Ftracardi%2Ftracardi-api%3A0.8.2/json"
#define API_CREATE "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Ftracardi%2Ftracardi-api&tag=0.8.2"

/* ---- canned answers ---- */

static void ping(struct fake_daemon *fd, const char *api_header)
{
    char *h = xasprintf("%sContent-Type: text/plain; charset=utf-8\r\n", api_header ? api_header : "");
    char *r = fake_http(200, h, "OK");
    fake_daemon_expect(fd, "GET", "/_ping", r);
    free(r);
    free(h);
}

static void answer(struct fake_daemon *fd, const char *method, const char *prefix, int status, const char *type,
                   const char *body)
{
    char *h = xasprintf("Content-Type: %s\r\n", type);
    char *r = fake_http(status, h, body);
    fake_daemon_expect(fd, method, prefix, r);
    free(r);
    free(h);
}

/* `head`, n bytes of `fill`, then `tail`: the caller frees. */
static char *padded(const char *head, char fill, size_t n, const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail);
    char *s = xmalloc(hl + n + tl + 1);
    memcpy(s, head, hl);
    memset(s + hl, fill, n);
    memcpy(s + hl + n, tail, tl + 1);
    return s;
}

/* A pull whose stream is `lines` (each a chunk), with the image missing before and after. */
static void pull_stream(struct fake_daemon *fd, const char *const *lines, size_t n)
{
    answer(fd, "GET", API_INSPECT, 404, "application/json", "{\"message\":\"No such image\"}");
    const char *chunks[FAKE_MAX_CHUNKS];
    char *owned[FAKE_MAX_CHUNKS];
    size_t k = 0;
    owned[k] = fake_chunked_head(200, "application/json");
    chunks[k] = owned[k];
    k++;
    for (size_t i = 0; i < n && k < FAKE_MAX_CHUNKS - 1; i++, k++) {
        owned[k] = fake_chunk(lines[i]);
        chunks[k] = owned[k];
    }
    owned[k] = xstrdup(FAKE_CHUNK_END);
    chunks[k] = owned[k];
    k++;
    fake_daemon_expect_chunks(fd, "POST", API_CREATE, chunks, k, 0, 0);
    for (size_t i = 0; i < k; i++)
        free(owned[i]);
    answer(fd, "GET", API_INSPECT, 404, "application/json", "{\"message\":\"No such image\"}");
}

struct scenario {
    const char *name;
    const char *what;
    void (*setup)(struct fake_daemon *fd);
};

static void sc_api_old(struct fake_daemon *fd) { ping(fd, "Api-Version: 1.40\r\n"); }
static void sc_api_missing(struct fake_daemon *fd) { ping(fd, NULL); }
static void sc_api_garbage(struct fake_daemon *fd) { ping(fd, "Api-Version: \xff\xfe" "1.41\r\n"); }

static void sc_version_huge(struct fake_daemon *fd)
{
    ping(fd, "Api-Version: 1.41\r\n");
    char *body = padded("{\"Version\":\"", 'a', BIG_BODY, "\",\"ApiVersion\":\"1.41\"}");
    answer(fd, "GET", "/v1.41/version", 200, "application/json", body);
    free(body);
}

static void sc_containers_huge(struct fake_daemon *fd)
{
    ping(fd, "Api-Version: 1.41\r\n");
    char *body = padded("[{\"Id\":\"", 'a', BIG_BODY, "\"}]");
    answer(fd, "GET", "/v1.41/containers/json", 200, "application/json", body);
    free(body);
}

static void sc_containers_huge_error(struct fake_daemon *fd)
{
    ping(fd, "Api-Version: 1.41\r\n");
    char *body = padded("", 'e', BIG_BODY, "");
    answer(fd, "GET", "/v1.41/containers/json", 500, "text/plain", body);
    free(body);
}

static void sc_pull_long_line(struct fake_daemon *fd)
{
    ping(fd, "Api-Version: 1.41\r\n");
    char *line = padded("{\"status\":\"", 'x', LONG_LINE, "\"}\r\n");
    const char *lines[] = {"{\"status\":\"Pulling from tracardi/tracardi-api\",\"id\":\"0.8.2\"}\r\n", line};
    pull_stream(fd, lines, 2);
    free(line);
}

static void sc_version_bad_utf8(struct fake_daemon *fd)
{
    ping(fd, "Api-Version: 1.41\r\n");
    answer(fd, "GET", "/v1.41/version", 200, "application/json",
           "{\"Version\":\"20.10.\xff\xfe\",\"ApiVersion\":\"1.41\"}");
}

static void sc_containers_bad_utf8(struct fake_daemon *fd)
{
    ping(fd, "Api-Version: 1.41\r\n");
    answer(fd, "GET", "/v1.41/containers/json", 200, "application/json",
           "[{\"Id\":\"0123456789ab\",\"Names\":[\"/tracardi-api-\xff\xfe\"],"
           "\"Image\":\"tracardi/tracardi-api:0.8.1\",\"Labels\":{}}]");
}

static void sc_containers_error_bad_utf8(struct fake_daemon *fd)
{
    ping(fd, "Api-Version: 1.41\r\n");
    answer(fd, "GET", "/v1.41/containers/json", 500, "text/plain", "daemon broke: \xff\xfe\xc3");
}

static void sc_pull_bad_utf8(struct fake_daemon *fd)
{
    ping(fd, "Api-Version: 1.41\r\n");
    const char *lines[] = {"{\"status\":\"Pulling from tracardi/tracardi-api \xff\xfe\",\"id\":\"0.8.2\"}\r\n",
                           "{\"error\":\"bad \xff\"}\r\n"};
    pull_stream(fd, lines, 2);
}

/* For `tracup __complete versions`: tracardi-api tags under several prefixes, and
 * names that only look like it. */
static void sc_images_tags(struct fake_daemon *fd)
{
    for (int i = 0; i < 16; i++) /* one answer per request: several completions */
        answer(fd, "GET", "/v1.41/images/json", 200, "application/json",
               "[{\"Id\":\"sha256:01\",\"RepoTags\":[\"127.0.0.1:5000/tracardi/tracardi-api:0.8.2\","
               "\"tracardi/tracardi-api:1.1.0\",\"mirror.example:443/a/b/tracardi/tracardi-api:1.0.3\"]},"
               "{\"Id\":\"sha256:02\",\"RepoTags\":[\"tracardi/tracardi-apix:9.9.1\",\"other/tracardi-api:9.9.2\","
               "\"xtracardi/tracardi-api:9.9.3\",\"tracardi/tracardi-api:latest\",\"tracardi/tracardi-api:v9.9.4\","
               "\"tracardi/tracardi-api:0.8.3-rc1\"]},"
               "{\"Id\":\"sha256:03\",\"RepoTags\":null},{\"Id\":\"sha256:04\",\"RepoTags\":[\"<none>:<none>\",7]},"
               "{\"Id\":\"sha256:05\"}]");
}

/* A daemon that accepts and then says nothing. */
static void sc_images_stall(struct fake_daemon *fd)
{
    const char *chunks[] = {"HTTP/1.1 200 OK\r\n"};
    fake_daemon_expect_chunks(fd, "GET", "/v1.41/images/json", chunks, 1, 0, 20000);
}

static const struct scenario scenarios[] = {
    {"api-old", "/_ping announces API 1.40", sc_api_old},
    {"api-missing", "/_ping announces no API version", sc_api_missing},
    {"api-garbage", "/_ping announces an API version of invalid UTF-8 bytes", sc_api_garbage},
    {"version-huge", "GET /version answers 17 MiB", sc_version_huge},
    {"containers-huge", "GET /containers/json answers 17 MiB", sc_containers_huge},
    {"containers-huge-error", "GET /containers/json answers HTTP 500 with 17 MiB", sc_containers_huge_error},
    {"pull-long-line", "the api image's pull stream carries a 10 MiB JSON line", sc_pull_long_line},
    {"version-bad-utf8", "GET /version answers JSON holding invalid UTF-8", sc_version_bad_utf8},
    {"containers-bad-utf8", "GET /containers/json answers JSON holding invalid UTF-8", sc_containers_bad_utf8},
    {"containers-error-bad-utf8", "GET /containers/json answers HTTP 500 with invalid UTF-8 text",
     sc_containers_error_bad_utf8},
    {"pull-bad-utf8", "the api image's pull stream has only invalid UTF-8 lines; no image after", sc_pull_bad_utf8},
    {"images-tags", "GET /images/json lists tracardi-api tags under several prefixes, and look-alikes",
     sc_images_tags},
    {"images-stall", "GET /images/json gets a status line, then silence for 20 s", sc_images_stall},
    {NULL, NULL, NULL},
};

/* ---- the proxy ---- */

#define PROXY_MAX_CONNS 256

struct proxy;

struct pconn {
    struct proxy *p;
    int client;
    pthread_t thread;
};

struct proxy {
    const char *upstream;
    int listen_sock;
    int log_fd;
    pthread_mutex_t mu;
    int stop;
    struct pconn conns[PROXY_MAX_CONNS];
    size_t nconns;
};

static int proxy_stopping(struct proxy *p)
{
    pthread_mutex_lock(&p->mu);
    int s = p->stop;
    pthread_mutex_unlock(&p->mu);
    return s;
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(s);
        return -1;
    }
    fcntl(s, F_SETFD, FD_CLOEXEC);
    return s;
}

static int send_all(int s, const char *b, size_t n)
{
    while (n > 0) {
        ssize_t w = send(s, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Logs the request lines ("GET /v1.41/... HTTP/1.1") that start lines of the chunk. */
static void log_requests(struct proxy *p, const char *b, size_t n)
{
    static const char *const methods[] = {"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "PATCH ", NULL};
    const char *end = b + n;
    for (const char *line = b; line < end;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *le = nl ? nl : end;
        for (size_t i = 0; methods[i]; i++) {
            size_t ml = strlen(methods[i]);
            if ((size_t)(le - line) > ml && memcmp(line, methods[i], ml) == 0) {
                const char *sp = memchr(line + ml, ' ', (size_t)(le - line) - ml);
                size_t len = (size_t)((sp ? sp : le) - line);
                char *text = xasprintf("%.*s\n", (int)len, line);
                pthread_mutex_lock(&p->mu);
                if (write(p->log_fd, text, strlen(text)) < 0)
                    fprintf(stderr, "fake_dockerd: cannot write the log: %s\n", strerror(errno));
                pthread_mutex_unlock(&p->mu);
                free(text);
                break;
            }
        }
        line = le + 1;
    }
}

static void *pconn_main(void *arg)
{
    struct pconn *c = arg;
    struct proxy *p = c->p;
    int up = unix_connect(p->upstream);
    if (up < 0) {
        close(c->client);
        return NULL;
    }
    char *b = xmalloc(65536);
    int open_ = 1;
    while (open_ && !proxy_stopping(p)) {
        struct pollfd fds[2] = {{c->client, POLLIN, 0}, {up, POLLIN, 0}};
        int pr = poll(fds, 2, 100);
        if (pr < 0 && errno != EINTR)
            break;
        for (int i = 0; pr > 0 && i < 2 && open_; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = recv(fds[i].fd, b, 65536, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                open_ = 0;
                break;
            }
            if (i == 0)
                log_requests(p, b, (size_t)n);
            if (send_all(i == 0 ? up : c->client, b, (size_t)n) < 0)
                open_ = 0;
        }
    }
    free(b);
    close(up);
    close(c->client);
    return NULL;
}

static void *proxy_accept_main(void *arg)
{
    struct proxy *p = arg;
    while (!proxy_stopping(p)) {
        struct pollfd pf = {p->listen_sock, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int s = accept(p->listen_sock, NULL, NULL);
        if (s < 0)
            continue;
        fcntl(s, F_SETFD, FD_CLOEXEC);
        pthread_mutex_lock(&p->mu);
        if (p->nconns == PROXY_MAX_CONNS) {
            pthread_mutex_unlock(&p->mu);
            close(s);
            continue;
        }
        struct pconn *c = &p->conns[p->nconns];
        c->p = p;
        c->client = s;
        if (pthread_create(&c->thread, NULL, pconn_main, c) == 0)
            p->nconns++;
        else
            close(s);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

static int listen_at(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 64) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    fcntl(s, F_SETFD, FD_CLOEXEC);
    return s;
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr, "usage: fake_dockerd [--timeout S] [--log FILE] SCENARIO\n"
                    "       fake_dockerd [--timeout S] --log FILE --proxy UPSTREAM_SOCKET\n\nscenarios:\n");
    for (size_t i = 0; scenarios[i].name; i++)
        fprintf(stderr, "  %-26s %s\n", scenarios[i].name, scenarios[i].what);
}

/* Waits for SIGTERM/SIGINT (blocked in every thread) or the timeout. */
static void wait_for_end(const sigset_t *set, long timeout_s)
{
    long end = tt_now_ms() + timeout_s * 1000;
    for (;;) {
        long left = end - tt_now_ms();
        if (left <= 0)
            return;
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            return;
        if (sig < 0 && errno != EINTR)
            return;  /* EAGAIN: the timeout */
    }
}

int main(int argc, char **argv)
{
    long timeout_s = 60;
    const char *log_path = NULL, *upstream = NULL, *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_s = strtol(argv[++i], NULL, 10);
            if (timeout_s < 1 || timeout_s > 3600) {
                fprintf(stderr, "fake_dockerd: --timeout takes 1 to 3600 seconds\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) {
            log_path = argv[++i];
        } else if (strcmp(argv[i], "--proxy") == 0 && i + 1 < argc) {
            upstream = argv[++i];
        } else if (argv[i][0] != '-' && !name) {
            name = argv[i];
        } else {
            usage();
            return 2;
        }
    }
    const struct scenario *sc = NULL;
    for (size_t i = 0; name && scenarios[i].name; i++)
        if (strcmp(scenarios[i].name, name) == 0)
            sc = &scenarios[i];
    if ((upstream && (name || !log_path)) || (!upstream && !sc)) {
        if (name && !sc)
            fprintf(stderr, "fake_dockerd: unknown scenario '%s'\n", name);
        usage();
        return 2;
    }

    /* Threads inherit the mask: only wait_for_end takes these signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (upstream) {
        struct proxy *p = xcalloc(1, sizeof(*p));
        p->upstream = upstream;
        pthread_mutex_init(&p->mu, NULL);
        p->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        char *dir = tt_mkdtemp();
        char *path = xasprintf("%s/docker.sock", dir);
        p->listen_sock = listen_at(path);
        if (p->log_fd < 0 || p->listen_sock < 0) {
            fprintf(stderr, "fake_dockerd: cannot open %s or listen on %s: %s\n", log_path, path, strerror(errno));
            tt_rmtree(dir);
            return 1;
        }
        pthread_t acc;
        if (pthread_create(&acc, NULL, proxy_accept_main, p) != 0)
            return 1;
        printf("%s\n", path);
        fflush(stdout);
        wait_for_end(&set, timeout_s);
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_mutex_unlock(&p->mu);
        pthread_join(acc, NULL);
        for (size_t i = 0; i < p->nconns; i++)
            pthread_join(p->conns[i].thread, NULL);
        close(p->listen_sock);
        close(p->log_fd);
        pthread_mutex_destroy(&p->mu);
        tt_rmtree(dir);
        free(dir);
        free(path);
        free(p);
        return 0;
    }

    struct fake_daemon *fd = fake_daemon_start();
    sc->setup(fd);
    printf("%s\n", fake_daemon_socket(fd));
    fflush(stdout);
    wait_for_end(&set, timeout_s);
    int rc = 0;
    if (log_path) {
        FILE *f = fopen(log_path, "w");
        if (!f) {
            fprintf(stderr, "fake_dockerd: cannot write %s: %s\n", log_path, strerror(errno));
            rc = 1;
        } else {
            size_t n = fake_daemon_nrequests(fd);
            for (size_t i = 0; i < n; i++) {
                const struct fake_request *r = fake_daemon_request(fd, i);
                fprintf(f, "%s %s\n", r->method, r->target);
            }
            if (fclose(f) != 0)
                rc = 1;
        }
    }
    fake_daemon_stop(fd);
    return rc;
}
