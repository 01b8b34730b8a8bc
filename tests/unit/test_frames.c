/* test_frames.c - decoding the daemon's multiplexed stdout/stderr log stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "docker/frames.h"

struct sink {
    char out[512];
    size_t out_len;
    char err[512];
    size_t err_len;
    char order[64];   /* stream of each call: 'o' or 'e' (others '?'), merged runs */
    size_t norder;
    int calls;
    int zero_len_calls;
    int stop_after;   /* stop (return 42) after this many calls, 0 = never */
};

static int on_frame(void *ud, enum frame_stream stream, const char *data, size_t len)
{
    struct sink *s = ud;
    s->calls++;
    if (len == 0)
        s->zero_len_calls++;
    char tag = stream == FRAME_STDOUT ? 'o' : stream == FRAME_STDERR ? 'e' : '?';
    if ((s->norder == 0 || s->order[s->norder - 1] != tag) && s->norder < sizeof(s->order) - 1)
        s->order[s->norder++] = tag;
    if (stream == FRAME_STDERR) {
        memcpy(s->err + s->err_len, data, len);
        s->err_len += len;
    } else {
        memcpy(s->out + s->out_len, data, len);
        s->out_len += len;
    }
    if (s->stop_after && s->calls == s->stop_after)
        return 42;
    return 0;
}

/* Appends one frame to buf; returns the new length. */
static size_t put_frame(unsigned char *buf, size_t at, unsigned stream, const char *payload, size_t n)
{
    buf[at + 0] = (unsigned char)stream;
    buf[at + 1] = buf[at + 2] = buf[at + 3] = 0;
    buf[at + 4] = (unsigned char)(n >> 24);
    buf[at + 5] = (unsigned char)(n >> 16);
    buf[at + 6] = (unsigned char)(n >> 8);
    buf[at + 7] = (unsigned char)n;
    memcpy(buf + at + 8, payload, n);
    return at + 8 + n;
}

static size_t sample(unsigned char *buf)
{
    size_t n = 0;
    n = put_frame(buf, n, FRAME_STDOUT, "starting tracardi\n", 18);
    n = put_frame(buf, n, FRAME_STDERR, "WARNING: x\n", 11);
    n = put_frame(buf, n, FRAME_STDOUT, "", 0);  /* a zero-length frame */
    n = put_frame(buf, n, FRAME_STDOUT, "ready\n", 6);
    n = put_frame(buf, n, FRAME_STDERR, "bye", 3);
    return n;
}

static void check_sample(const struct sink *s)
{
    assert_int_equal(s->out_len, 24);
    assert_memory_equal(s->out, "starting tracardi\nready\n", 24);
    assert_int_equal(s->err_len, 14);
    assert_memory_equal(s->err, "WARNING: x\nbye", 14);
    assert_string_equal(s->order, "oeoe");
}

static void test_whole_stream(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = sample(buf);
    struct sink s = {0};
    struct frames f;
    frames_init(&f, on_frame, &s);
    assert_true(frames_complete(&f));
    assert_int_equal(frames_feed(&f, (const char *)buf, n), 0);
    check_sample(&s);
    /* A zero-length frame produces no payload call. */
    assert_int_equal(s.zero_len_calls, 0);
    assert_true(frames_complete(&f));
}

static void test_split_at_every_position(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = sample(buf);
    for (size_t cut = 0; cut <= n; cut++) {
        struct sink s = {0};
        struct frames f;
        frames_init(&f, on_frame, &s);
        assert_int_equal(frames_feed(&f, (const char *)buf, cut), 0);
        assert_int_equal(frames_feed(&f, (const char *)buf + cut, n - cut), 0);
        check_sample(&s);
        assert_true(frames_complete(&f));
    }
}

static void test_split_at_every_pair_of_positions(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = sample(buf);
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b++) {
            struct sink s = {0};
            struct frames f;
            frames_init(&f, on_frame, &s);
            assert_int_equal(frames_feed(&f, (const char *)buf, a), 0);
            assert_int_equal(frames_feed(&f, (const char *)buf + a, b - a), 0);
            assert_int_equal(frames_feed(&f, (const char *)buf + b, n - b), 0);
            check_sample(&s);
        }
    }
}

static void test_byte_by_byte_and_incomplete(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = sample(buf);
    struct sink s = {0};
    struct frames f;
    frames_init(&f, on_frame, &s);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(frames_feed(&f, (const char *)buf + i, 1), 0);
        /* Complete only on the boundaries: after the last byte of each frame. */
        int boundary = i + 1 == 26 || i + 1 == 45 || i + 1 == 53 || i + 1 == 67 || i + 1 == n;
        if (frames_complete(&f) != boundary)
            fail_msg("after byte %zu: complete=%d", i + 1, frames_complete(&f));
    }
    check_sample(&s);
}

static void test_large_size_field(void **state)
{
    (void)state;
    /* A size with every byte of the field in use: 0x01020304. Only the header
     * and a few bytes arrive; the decoder waits for the rest. */
    unsigned char head[8 + 4] = {1, 0, 0, 0, 1, 2, 3, 4, 'a', 'b', 'c', 'd'};
    struct sink s = {0};
    struct frames f;
    frames_init(&f, on_frame, &s);
    assert_int_equal(frames_feed(&f, (const char *)head, sizeof(head)), 0);
    assert_int_equal(f.remaining, 0x01020304u - 4);
    assert_false(frames_complete(&f));
    assert_int_equal(s.out_len, 4);
}

static void test_bad_headers(void **state)
{
    (void)state;
    static const unsigned char bad[][8] = {
        {4, 0, 0, 0, 0, 0, 0, 1},   /* unknown stream */
        {1, 1, 0, 0, 0, 0, 0, 1},   /* reserved bytes set */
        {1, 0, 0, 9, 0, 0, 0, 1},
        {'{', '"', 's', 't', 'a', 't', 'u', 's'},  /* a TTY stream is not framed */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sink s = {0};
        struct frames f;
        frames_init(&f, on_frame, &s);
        /* A good frame first, then the bad header split in two. */
        unsigned char good[16];
        size_t n = put_frame(good, 0, FRAME_STDOUT, "ok", 2);
        assert_int_equal(frames_feed(&f, (const char *)good, n), 0);
        assert_int_equal(frames_feed(&f, (const char *)bad[i], 3), 0);
        assert_int_equal(frames_feed(&f, (const char *)bad[i] + 3, 5), -1);
        assert_int_equal(f.bad, 1);
        assert_false(frames_complete(&f));
        /* It stays broken. */
        assert_int_equal(frames_feed(&f, (const char *)good, n), -1);
        assert_int_equal(s.out_len, 2);
    }
}

static void test_stdin_and_syserr_streams_accepted(void **state)
{
    (void)state;
    unsigned char buf[64];
    size_t n = put_frame(buf, 0, FRAME_STDIN, "i", 1);
    n = put_frame(buf, n, FRAME_SYSERR, "s", 1);
    struct sink s = {0};
    struct frames f;
    frames_init(&f, on_frame, &s);
    assert_int_equal(frames_feed(&f, (const char *)buf, n), 0);
    assert_int_equal(s.calls, 2);
    assert_true(frames_complete(&f));
}

static void test_callback_stop(void **state)
{
    (void)state;
    unsigned char buf[256];
    size_t n = sample(buf);
    struct sink s = {.stop_after = 2};
    struct frames f;
    frames_init(&f, on_frame, &s);
    assert_int_equal(frames_feed(&f, (const char *)buf, n), 42);
    assert_int_equal(s.calls, 2);
    assert_int_equal(s.out_len, 18);
    assert_int_equal(s.err_len, 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_stream),
        cmocka_unit_test(test_split_at_every_position),
        cmocka_unit_test(test_split_at_every_pair_of_positions),
        cmocka_unit_test(test_byte_by_byte_and_incomplete),
        cmocka_unit_test(test_large_size_field),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_stdin_and_syserr_streams_accepted),
        cmocka_unit_test(test_callback_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
