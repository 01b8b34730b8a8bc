/* err.c - filling and decorating struct tu_err. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void tu_err_clear(struct tu_err *e)
{
    if (e)
        memset(e, 0, sizeof(*e));
}

/* Keeps the message on one line: a peer's text may carry newlines. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
}

int tu_err_set(struct tu_err *e, enum tu_err_kind kind, const char *fmt, ...)
{
    if (!e)
        return -1;
    e->kind = kind;
    e->status = 0;
    e->hint[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    one_line(e->msg);
    return -1;
}

void tu_err_hint(struct tu_err *e, const char *fmt, ...)
{
    if (!e)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
    va_end(ap);
    one_line(e->hint);
}

void tu_err_prefix(struct tu_err *e, const char *fmt, ...)
{
    if (!e)
        return;
    char pre[256];
    char old[sizeof(e->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof(old));
    /* Both parts cut to fit; a long message keeps its start. */
    size_t pl = strnlen(pre, sizeof(pre));
    size_t ol = strnlen(old, sizeof(old) - 1);
    if (pl > sizeof(e->msg) - 1)
        pl = sizeof(e->msg) - 1;
    if (ol > sizeof(e->msg) - 1 - pl)
        ol = sizeof(e->msg) - 1 - pl;
    memcpy(e->msg, pre, pl);
    memcpy(e->msg + pl, old, ol);
    e->msg[pl + ol] = '\0';
    one_line(e->msg);
}

const char *tu_err_kind_name(enum tu_err_kind kind)
{
    switch (kind) {
    case TU_ERR_NONE: return "none";
    case TU_ERR_USAGE: return "usage";
    case TU_ERR_CONNECT: return "connect";
    case TU_ERR_PERMISSION: return "permission";
    case TU_ERR_HTTP: return "http";
    case TU_ERR_NOT_FOUND: return "not-found";
    case TU_ERR_CONFLICT: return "conflict";
    case TU_ERR_PROTOCOL: return "protocol";
    case TU_ERR_TOO_BIG: return "too-big";
    case TU_ERR_TIMEOUT: return "timeout";
    case TU_ERR_IO: return "io";
    case TU_ERR_UNSUPPORTED: return "unsupported";
    case TU_ERR_REFUSED: return "refused";
    }
    return "unknown";
}
