/* fuzz_frames.c - the daemon's multiplexed log stream (8-byte headers), checked against a one-pass reference.
 * The first byte chooses how the stream is cut into chunks. */
#include "docker/frames.h"
#include "fuzz.h"

struct out {
    unsigned char *bytes;   /* payload bytes in order, each tagged with its stream */
    unsigned char *streams;
    size_t n;
    size_t cap;
};

static int on_payload(void *ud, enum frame_stream stream, const char *data, size_t len)
{
    struct out *o = ud;
    if ((int)stream < FRAME_STDIN || stream > FRAME_SYSERR)
        fuzz_fail("stream %d delivered", (int)stream);
    if (len == 0 || o->n + len > o->cap)
        fuzz_fail("%zu payload bytes delivered past the input's %zu", o->n + len, o->cap);
    memcpy(o->bytes + o->n, data, len);
    memset(o->streams + o->n, (int)stream, len);
    o->n += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = 1 + data[0] % 23;
    data++;
    size--;

    struct out o = {malloc(size + 1), malloc(size + 1), 0, size};
    if (!o.bytes || !o.streams)
        abort();
    struct frames f;
    frames_init(&f, on_payload, &o);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk)
        rc = frames_feed(&f, (const char *)data + off, size - off < chunk ? size - off : chunk);

    /* Reference: walk the headers over the whole input. */
    int want_rc = 0;
    size_t pos = 0, k = 0, ended_on_boundary = 1;
    while (pos < size) {
        if (size - pos < 8) {
            ended_on_boundary = 0;
            break;
        }
        const uint8_t *h = data + pos;
        if (h[0] > FRAME_SYSERR || h[1] || h[2] || h[3]) {
            want_rc = -1;
            break;
        }
        uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
        pos += 8;
        size_t take = size - pos < len ? size - pos : len;
        for (size_t i = 0; i < take; i++, k++)
            if (k >= o.n || o.bytes[k] != data[pos + i] || o.streams[k] != h[0])
                fuzz_fail("payload byte %zu differs from the reference", k);
        pos += take;
        if (take < len)
            ended_on_boundary = 0;
    }
    if (rc != want_rc)
        fuzz_fail("frames_feed returned %d, the reference %d", rc, want_rc);
    if (k != o.n)
        fuzz_fail("%zu payload bytes delivered, the reference %zu", o.n, k);
    if (frames_complete(&f) != (want_rc == 0 && ended_on_boundary))
        fuzz_fail("frames_complete is %d", frames_complete(&f));
    if (rc != 0 && frames_feed(&f, "x", 1) != -1)
        fuzz_fail("a broken stream accepted more bytes");

    free(o.bytes);
    free(o.streams);
    return 0;
}
