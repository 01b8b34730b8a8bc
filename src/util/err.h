/* err.h - errors as data: what failed, the HTTP status, the peer's message. */
#ifndef TRACUP_ERR_H
#define TRACUP_ERR_H

#include <stddef.h>

enum tu_err_kind {
    TU_ERR_NONE = 0,
    TU_ERR_USAGE,      /* the operator's input is wrong */
    TU_ERR_CONNECT,    /* a peer (daemon, registry, api) cannot be reached */
    TU_ERR_PERMISSION, /* e.g. the docker socket is not ours to open */
    TU_ERR_HTTP,       /* the peer answered with an error status */
    TU_ERR_NOT_FOUND,  /* the peer answered 404 */
    TU_ERR_CONFLICT,   /* the peer answered 409 */
    TU_ERR_PROTOCOL,   /* the peer answered something we cannot parse */
    TU_ERR_TOO_BIG,    /* the answer passed a size cap */
    TU_ERR_TIMEOUT,    /* nothing arrived in time */
    TU_ERR_IO,         /* a local file or process failed */
    TU_ERR_UNSUPPORTED,/* e.g. a daemon too old */
    TU_ERR_REFUSED,    /* a guard refused the operation */
};

struct tu_err {
    enum tu_err_kind kind;
    long status;     /* HTTP status when kind is HTTP/NOT_FOUND/CONFLICT, else 0 */
    char msg[512];   /* one line, lower-case start, no full stop */
    char hint[256];  /* what to do next, or empty */
};

void tu_err_clear(struct tu_err *e);
/* Sets kind and message; returns -1 so callers can write `return tu_err_set(...)`. */
int tu_err_set(struct tu_err *e, enum tu_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tu_err_hint(struct tu_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefixes the message with context ("pulling 'x': " + old message). */
void tu_err_prefix(struct tu_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *tu_err_kind_name(enum tu_err_kind kind);
/* Makes s (a buffer of cap bytes) one line of valid UTF-8, in place: newlines and
 * tabs become spaces, other control bytes '?', bytes that are no character
 * "\xNN"; a cut falls on a character boundary. Only the first 1023 bytes
 * are kept (messages are at most 512). Every message tracup prints from
 * outside input goes through it. */
void tu_text_clean(char *s, size_t cap);

#endif
