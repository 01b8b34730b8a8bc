/* fuzz.h - what the libFuzzer targets share: the entry point, C-string copies, oracles. */
#ifndef TRACUP_FUZZ_H
#define TRACUP_FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (the caller frees). The parsers stop at
 * the first NUL, as they do on the C strings they get in the program. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* An oracle failed: say which and abort, so libFuzzer saves the input. */
static inline void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz oracle failed: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

/* Splits the input at its first '\n': the head (NUL-terminated, the caller
 * frees) and *rest, *rest_len for what follows (borrowed from data). */
static inline char *fuzz_split(const uint8_t *data, size_t size, const uint8_t **rest, size_t *rest_len)
{
    const uint8_t *nl = size ? memchr(data, '\n', size) : NULL;
    size_t head = nl ? (size_t)(nl - data) : size;
    *rest = nl ? nl + 1 : data + size;
    *rest_len = nl ? size - head - 1 : 0;
    return fuzz_cstr(data, head);
}

/* True when s is one line of valid UTF-8 without control bytes: what tu_text_clean
 * promises for every message built from outside input. Written from RFC 3629. */
static inline int fuzz_clean_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned cp;
        size_t len;
        if (*p < 0x80) {
            if (*p < 0x20 || *p == 0x7f)
                return 0;
            p++;
            continue;
        }
        if ((*p & 0xe0) == 0xc0) {
            cp = *p & 0x1f;
            len = 2;
        } else if ((*p & 0xf0) == 0xe0) {
            cp = *p & 0x0f;
            len = 3;
        } else if ((*p & 0xf8) == 0xf0) {
            cp = *p & 0x07;
            len = 4;
        } else {
            return 0;
        }
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += len;
    }
    return 1;
}

/* An error built from outside input must be printable as it is. */
static inline void fuzz_check_err(const char *what, const struct tu_err *e)
{
    if (!memchr(e->msg, '\0', sizeof(e->msg)) || !fuzz_clean_text(e->msg))
        fuzz_fail("%s: message is not one clean line of UTF-8", what);
    if (!memchr(e->hint, '\0', sizeof(e->hint)) || !fuzz_clean_text(e->hint))
        fuzz_fail("%s: hint is not one clean line of UTF-8", what);
}

#endif
