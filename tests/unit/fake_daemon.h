/* fake_daemon.h - a scripted stand-in for dockerd on a temporary Unix socket. */
#ifndef TRACUP_FAKE_DAEMON_H
#define TRACUP_FAKE_DAEMON_H

#include <stddef.h>

#define FAKE_MAX_STEPS 32
#define FAKE_MAX_CHUNKS 16
#define FAKE_MAX_REQUESTS 64
#define FAKE_CHUNK_END "0\r\n\r\n"

/* One request the daemon received. */
struct fake_request {
    char method[16];
    char target[2048];  /* as sent, e.g. "/v1.41/containers/x/start" */
    char *headers;      /* the raw header lines after the request line */
    char *body;
    size_t body_len;
    int step;           /* the step that answered it, or -1 when none matched */
};

struct fake_daemon;

/* Listens on <new temporary directory>/docker.sock and serves each connection
 * in its own thread. Every wait inside is bounded; fake_daemon_stop ends it. */
struct fake_daemon *fake_daemon_start(void);
/* The same on TCP at 127.0.0.1 (a port the kernel picks): a fake HTTP peer such
 * as a registry. */
struct fake_daemon *fake_daemon_start_tcp(void);
int fake_daemon_port(const struct fake_daemon *fd);
/* Stops, joins every thread, removes the directory and frees everything. */
void fake_daemon_stop(struct fake_daemon *fd);

const char *fake_daemon_socket(const struct fake_daemon *fd);
/* The daemon's temporary directory: tests may put other files there. */
const char *fake_daemon_dir(const struct fake_daemon *fd);

/* Expects a request whose method is `method` and whose target starts with
 * `prefix`, and answers it with `response` (raw HTTP, copied). Requests are
 * matched to the first unused step that fits, so steps with the same prefix
 * answer in the order they were added. */
void fake_daemon_expect(struct fake_daemon *fd, const char *method, const char *prefix,
                        const char *response);
/* Same, but the response goes out in pieces with delay_ms between them; after
 * the last piece the connection stays open, silent, for stall_ms. */
void fake_daemon_expect_chunks(struct fake_daemon *fd, const char *method, const char *prefix,
                               const char *const *chunks, size_t n, long delay_ms, long stall_ms);

/* Same as fake_daemon_expect, for a response holding any bytes (NULs too). */
void fake_daemon_expect_raw(struct fake_daemon *fd, const char *method, const char *prefix,
                            const void *response, size_t len);

size_t fake_daemon_nrequests(struct fake_daemon *fd);
/* A copy of request i's record is not needed: the pointer stays valid until stop. */
const struct fake_request *fake_daemon_request(struct fake_daemon *fd, size_t i);
/* Requests whose target contains `needle`. */
size_t fake_daemon_count(struct fake_daemon *fd, const char *needle);
/* Steps that no request used. */
size_t fake_daemon_unused(struct fake_daemon *fd);
/* The most connections served at the same time. */
int fake_daemon_max_active(struct fake_daemon *fd);

/* A header's value in a received request (the caller frees), or NULL. */
char *fake_request_header(const struct fake_request *r, const char *name);

/* Builds "HTTP/1.1 <status>" with Content-Length, Connection: close, the extra
 * header lines (each ending in \r\n, may be NULL) and the body (the caller frees). */
char *fake_http(int status, const char *extra_headers, const char *body);
/* The head of a chunked answer (the caller frees). */
char *fake_chunked_head(int status, const char *content_type);
/* One chunk of chunked transfer encoding holding data (the caller frees). */
char *fake_chunk(const char *data);

#endif
