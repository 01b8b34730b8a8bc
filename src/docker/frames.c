/* frames.c - incremental decoding of docker's stdout/stderr multiplexing. */
#include "docker/frames.h"

void frames_init(struct frames *f, frame_fn fn, void *ud)
{
    f->head_len = 0;
    f->remaining = 0;
    f->stream = FRAME_STDOUT;
    f->fn = fn;
    f->ud = ud;
    f->bad = 0;
}

int frames_feed(struct frames *f, const char *data, size_t len)
{
    if (f->bad)
        return -1;
    while (len > 0) {
        if (f->remaining == 0) {
            while (f->head_len < 8 && len > 0) {
                f->head[f->head_len++] = (unsigned char)*data++;
                len--;
            }
            if (f->head_len < 8)
                return 0;
            if (f->head[0] > FRAME_SYSERR || f->head[1] || f->head[2] || f->head[3]) {
                f->bad = 1;
                return -1;
            }
            f->stream = (enum frame_stream)f->head[0];
            f->remaining = (uint32_t)f->head[4] << 24 | (uint32_t)f->head[5] << 16 |
                           (uint32_t)f->head[6] << 8 | (uint32_t)f->head[7];
            f->head_len = 0;
            continue;
        }
        size_t n = len < f->remaining ? len : f->remaining;
        int rc = f->fn(f->ud, f->stream, data, n);
        if (rc)
            return rc;
        data += n;
        len -= n;
        f->remaining -= (uint32_t)n;
    }
    return 0;
}

int frames_complete(const struct frames *f)
{
    return f->head_len == 0 && f->remaining == 0 && !f->bad;
}
