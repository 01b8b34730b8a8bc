/* buf.h - a growable byte buffer with a hard size cap for input from outside. */
#ifndef TRACUP_BUF_H
#define TRACUP_BUF_H

#include <stddef.h>

struct buf {
    char *data;   /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max;   /* appends that would pass this fail; 0 means no cap */
};

void buf_init(struct buf *b, size_t max);
/* Returns 0, or -1 when the cap would be passed (the buffer is left unchanged). */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_appends(struct buf *b, const char *s);
void buf_consume(struct buf *b, size_t n); /* drops the first n bytes */
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
/* Hands the contents to the caller (free it) and leaves b empty. */
char *buf_detach(struct buf *b);

#endif
