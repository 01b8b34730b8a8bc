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

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

void tu_text_clean(char *s, size_t cap)
{
    if (!s || cap == 0)
        return;
    char in[1024];
    size_t n = strnlen(s, cap - 1);
    if (n >= sizeof(in))
        n = sizeof(in) - 1;
    memcpy(in, s, n);
    in[n] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)in + i;
        size_t len = utf8_len(p, n - i);
        if (len == 0) {
            /* A byte that is no character: shown, never passed on raw. */
            if (o + 4 >= cap)
                break;
            snprintf(s + o, cap - o, "\\x%02x", p[0]);
            o += 4;
            i++;
            continue;
        }
        if (o + len >= cap)
            break; /* cut on a character boundary */
        if (len == 1 && (p[0] == '\n' || p[0] == '\r' || p[0] == '\t'))
            s[o] = ' '; /* one line: a peer's text may carry newlines */
        else if (len == 1 && (p[0] < 0x20 || p[0] == 0x7f))
            s[o] = '?';
        else
            memcpy(s + o, p, len);
        o += len;
        i += len;
    }
    s[o] = '\0';
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
    tu_text_clean(e->msg, sizeof(e->msg));
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
    tu_text_clean(e->hint, sizeof(e->hint));
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
    tu_text_clean(e->msg, sizeof(e->msg));
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
