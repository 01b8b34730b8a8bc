/* frames.h - decodes the daemon's multiplexed log stream (8-byte frame headers). */
#ifndef TRACUP_DOCKER_FRAMES_H
#define TRACUP_DOCKER_FRAMES_H

#include <stddef.h>
#include <stdint.h>

enum frame_stream { FRAME_STDIN = 0, FRAME_STDOUT = 1, FRAME_STDERR = 2, FRAME_SYSERR = 3 };

/* Called with payload bytes as they arrive: one frame may come in several calls.
 * Return non-zero to stop. */
typedef int (*frame_fn)(void *ud, enum frame_stream stream, const char *data, size_t len);

struct frames {
    unsigned char head[8];
    size_t head_len;     /* header bytes gathered so far */
    uint32_t remaining;  /* payload bytes still due for the current frame */
    enum frame_stream stream;
    frame_fn fn;
    void *ud;
    int bad;             /* a header had an unknown stream type */
};

void frames_init(struct frames *f, frame_fn fn, void *ud);
/* Returns 0; -1 on a malformed header; or the callback's non-zero value. */
int frames_feed(struct frames *f, const char *data, size_t len);
/* True when the stream ended on a frame boundary. */
int frames_complete(const struct frames *f);

#endif
