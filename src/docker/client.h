/* client.h - the Docker Engine API over its Unix socket: requests, streams, negotiation. */
#ifndef TRACUP_DOCKER_CLIENT_H
#define TRACUP_DOCKER_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/jsonl.h"

#define DOCKER_API_MIN "1.41"   /* Debian's docker.io 20.10 */
#define DOCKER_API_MAX "1.47"
#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"

struct docker {
    char *socket_path;
    char api_version[16];        /* negotiated, e.g. "1.41" */
    char daemon_api_version[16]; /* what the daemon's /_ping said */
    int api_forced;              /* DOCKER_API_VERSION was set */
    long connect_timeout_ms;
    long request_timeout_s;      /* whole request, for calls that are not streams */
    long stall_timeout_s;        /* streams: fail when no byte arrives for this long */
    long first_byte_timeout_s;   /* image save/load: how long the daemon may work in silence before
                                    its answer starts (it stages layers first); at least stall_timeout_s */
    int (*interrupted)(void);    /* non-NULL: a silent wait ends when it returns non-zero */
    size_t max_body;             /* cap on bodies that are not streams */
    size_t max_line;             /* cap on one line of a JSON-lines stream */
    int lost;                    /* the last call could not reach the daemon at all */
};

/* Reads DOCKER_HOST (unix:// only) and checks the socket can be opened.
 * Fills a clear error naming the socket on failure. */
int docker_init(struct docker *d, struct tu_err *err);
void docker_cleanup(struct docker *d);

/* GET /_ping; picks min(daemon, DOCKER_API_MAX) unless DOCKER_API_VERSION is set;
 * refuses a daemon older than DOCKER_API_MIN. */
int docker_negotiate(struct docker *d, struct tu_err *err);

/* True when the daemon answers /_ping now; a check after a failure, to tell a
 * daemon that went away (restart, crash) from a request it refused. */
int docker_alive(struct docker *d);

/* Compares "1.41"-style versions: <0, 0, >0; returns -2 when either is malformed. */
int docker_api_cmp(const char *a, const char *b);

/* One request whose answer is a JSON document (or nothing). `path` starts with
 * '/' and is already escaped; the API version prefix is added here. `body` is a
 * JSON text or NULL. `headers` is a NULL-terminated list or NULL.
 * On 2xx and 304 returns the status and sets *out (the caller's, may be NULL
 * for empty bodies; pass out=NULL to ignore the body). Otherwise returns -1 with
 * err holding the status and the daemon's message (404 -> TU_ERR_NOT_FOUND,
 * 409 -> TU_ERR_CONFLICT). */
long docker_call(struct docker *d, const char *method, const char *path, const char *body,
                 const char *const *headers, json_t **out, struct tu_err *err);

/* Same, but the body is raw bytes (e.g. a tar) with the given content type. */
long docker_call_raw(struct docker *d, const char *method, const char *path,
                     const void *body, size_t body_len, const char *content_type,
                     json_t **out, struct tu_err *err);

/* Same as docker_call, but hands back the raw body (capped at max_body). */
long docker_call_bytes(struct docker *d, const char *method, const char *path, struct buf *out,
                       struct tu_err *err);
/* Same, with a JSON body (e.g. POST /exec/{id}/start, whose answer is a raw stream). */
long docker_call_bytes_body(struct docker *d, const char *method, const char *path, const char *body,
                            struct buf *out, struct tu_err *err);

/* A streaming transfer: the response is fed to on_line one JSON line at a time
 * (on 2xx), or collected as an error body otherwise. Several transfers can run
 * at once through docker_run_streams. */
struct docker_stream {
    /* set by the caller */
    const char *method;
    char *path;                  /* owned; freed by docker_stream_free */
    char *body;                  /* owned JSON text or NULL */
    char **headers;              /* owned NULL-terminated list or NULL */
    jsonl_line_fn on_line;
    void *ud;
    void (*on_done)(void *ud, struct docker_stream *s); /* optional: called as it ends */
    /* results */
    long status;
    struct tu_err err;           /* kind NONE when the transfer itself succeeded */
    int stopped;                 /* on_line asked to stop */
    int done;                    /* the transfer ended (either way) */
    long last_byte_ms;           /* when the daemon last sent anything (stall detection) */
    /* internal */
    void *easy;
    void *slist;
    struct jsonl lines;
    struct buf errbody;
    char errbuf[256];
    struct docker *d;
};

/* Sets up a stream; takes ownership of nothing (copies path, body, headers). */
void docker_stream_init(struct docker_stream *s, const char *method, const char *path,
                        const char *body, const char *const *headers,
                        jsonl_line_fn on_line, void *ud);
void docker_stream_free(struct docker_stream *s);

/* Called about every tick_ms while streams run; return non-zero to abort all. */
typedef int (*docker_tick_fn)(void *ud);

/* Runs the streams concurrently until all end. Returns 0 when every stream
 * ended with a 2xx and no transport error, else -1 (see each stream's err). */
int docker_run_streams(struct docker *d, struct docker_stream **streams, size_t n,
                       docker_tick_fn tick, void *tick_ud, long tick_ms);

/* Escapes one path or query component; the caller frees. */
char *docker_escape(const char *s);

/* Fills err from a daemon error body ({"message": ...}) and status. */
void docker_error_from_body(struct tu_err *err, long status, const char *body, size_t len);

#endif
