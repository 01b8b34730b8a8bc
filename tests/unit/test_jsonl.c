/* test_jsonl.c - splitting a byte stream into lines as it arrives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/jsonl.h"
#include "util/xalloc.h"

#define MAX_LINES 64

struct collect {
    char *lines[MAX_LINES];
    size_t n;
    int stop_at;   /* return stop_value on this line (1-based), 0 = never */
    int stop_value;
};

static int collect_fn(void *ud, const char *line, size_t len)
{
    struct collect *c = ud;
    if (c->n == MAX_LINES)
        return 99;
    c->lines[c->n++] = xstrndup(line, len);
    /* The line handed over has exactly len bytes and no terminator in it. */
    if (memchr(line, '\n', len))
        return 98;
    if (c->stop_at && (int)c->n == c->stop_at)
        return c->stop_value;
    return 0;
}

static void collect_free(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    c->n = 0;
}

static void test_whole_lines_one_chunk(void **state)
{
    (void)state;
    struct collect c = {0};
    struct jsonl j;
    jsonl_init(&j, 1024, collect_fn, &c);
    const char *s = "{\"a\":1}\n{\"b\":2}\r\n\n\r\n{\"c\":3}\n";
    assert_int_equal(jsonl_feed(&j, s, strlen(s)), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.lines[0], "{\"a\":1}");
    assert_string_equal(c.lines[1], "{\"b\":2}");  /* \r\n ending stripped */
    assert_string_equal(c.lines[2], "{\"c\":3}");
    assert_int_equal(jsonl_finish(&j), 0);
    assert_int_equal(c.n, 3);
    jsonl_free(&j);
    collect_free(&c);
}

/* The same stream, cut in two at every byte position, gives the same lines. */
static void test_split_at_every_position(void **state)
{
    (void)state;
    const char *s = "{\"status\":\"Pulling fs layer\",\"id\":\"abc\"}\r\n"
                    "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2}}\r\n"
                    "\r\n"
                    "{\"status\":\"Status: Downloaded newer image\"}";
    size_t len = strlen(s);
    for (size_t cut = 0; cut <= len; cut++) {
        struct collect c = {0};
        struct jsonl j;
        jsonl_init(&j, 1024, collect_fn, &c);
        assert_int_equal(jsonl_feed(&j, s, cut), 0);
        assert_int_equal(jsonl_feed(&j, s + cut, len - cut), 0);
        assert_int_equal(c.n, 2);
        assert_int_equal(jsonl_finish(&j), 0);
        if (c.n != 3)
            fail_msg("cut at %zu: %zu lines", cut, c.n);
        assert_string_equal(c.lines[0], "{\"status\":\"Pulling fs layer\",\"id\":\"abc\"}");
        assert_string_equal(c.lines[1],
                            "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2}}");
        assert_string_equal(c.lines[2], "{\"status\":\"Status: Downloaded newer image\"}");
        jsonl_free(&j);
        collect_free(&c);
    }
}

static void test_one_byte_at_a_time(void **state)
{
    (void)state;
    const char *s = "first\r\nsecond\n\nthird\r\n";
    struct collect c = {0};
    struct jsonl j;
    jsonl_init(&j, 16, collect_fn, &c);
    for (size_t i = 0; s[i]; i++)
        assert_int_equal(jsonl_feed(&j, s + i, 1), 0);
    assert_int_equal(jsonl_finish(&j), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.lines[0], "first");
    assert_string_equal(c.lines[1], "second");
    assert_string_equal(c.lines[2], "third");
    jsonl_free(&j);
    collect_free(&c);
}

static void test_final_line_without_newline(void **state)
{
    (void)state;
    struct collect c = {0};
    struct jsonl j;
    jsonl_init(&j, 64, collect_fn, &c);
    assert_int_equal(jsonl_feed(&j, "a\nlast", 6), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(jsonl_finish(&j), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.lines[1], "last");
    /* A second finish delivers nothing more. */
    assert_int_equal(jsonl_finish(&j), 0);
    assert_int_equal(c.n, 2);
    /* A trailing lone \r is dropped too. */
    assert_int_equal(jsonl_feed(&j, "cr\r", 3), 0);
    assert_int_equal(jsonl_finish(&j), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.lines[2], "cr");
    jsonl_free(&j);
    collect_free(&c);
}

static void test_line_at_cap_passes(void **state)
{
    (void)state;
    struct collect c = {0};
    struct jsonl j;
    jsonl_init(&j, 8, collect_fn, &c);
    /* Exactly 8 bytes plus \r\n, split so that it sits in the pending buffer. */
    assert_int_equal(jsonl_feed(&j, "1234", 4), 0);
    assert_int_equal(jsonl_feed(&j, "5678\r", 5), 0);
    assert_int_equal(jsonl_feed(&j, "\n", 1), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.lines[0], "12345678");
    assert_int_equal(j.too_long, 0);
    jsonl_free(&j);
    collect_free(&c);
}

static void test_line_over_cap_in_one_chunk(void **state)
{
    (void)state;
    struct collect c = {0};
    struct jsonl j;
    jsonl_init(&j, 8, collect_fn, &c);
    assert_int_equal(jsonl_feed(&j, "ok\n123456789\nnever\n", 19), -1);
    assert_int_equal(j.too_long, 1);
    assert_int_equal(c.n, 1);
    /* Once too long, the stream stays refused. */
    assert_int_equal(jsonl_feed(&j, "x\n", 2), -1);
    assert_int_equal(jsonl_finish(&j), -1);
    assert_int_equal(c.n, 1);
    jsonl_free(&j);
    collect_free(&c);
}

static void test_line_over_cap_across_chunks(void **state)
{
    (void)state;
    struct collect c = {0};
    struct jsonl j;
    jsonl_init(&j, 8, collect_fn, &c);
    /* A line that never ends must not grow the buffer past the cap. */
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = jsonl_feed(&j, "abc", 3);
    assert_int_equal(rc, -1);
    assert_int_equal(j.too_long, 1);
    assert_true(j.pending.len <= 10);
    assert_int_equal(c.n, 0);
    jsonl_free(&j);

    /* 9 bytes split 5 + 4 then a newline. */
    jsonl_init(&j, 8, collect_fn, &c);
    assert_int_equal(jsonl_feed(&j, "12345", 5), 0);
    assert_int_equal(jsonl_feed(&j, "6789", 4), 0);
    assert_int_equal(jsonl_feed(&j, "\n", 1), -1);
    assert_int_equal(j.too_long, 1);
    assert_int_equal(c.n, 0);
    jsonl_free(&j);

    /* Over the cap in the unterminated last line. */
    jsonl_init(&j, 4, collect_fn, &c);
    assert_int_equal(jsonl_feed(&j, "12345", 5), 0);
    assert_int_equal(jsonl_finish(&j), -1);
    assert_int_equal(j.too_long, 1);
    assert_int_equal(c.n, 0);
    jsonl_free(&j);
}

static void test_callback_stop_value_propagates(void **state)
{
    (void)state;
    struct collect c = {.stop_at = 2, .stop_value = 7};
    struct jsonl j;
    jsonl_init(&j, 64, collect_fn, &c);
    assert_int_equal(jsonl_feed(&j, "one\ntwo\nthree\n", 14), 7);
    /* The line after the stop is not delivered. */
    assert_int_equal(c.n, 2);
    assert_int_equal(j.too_long, 0);
    jsonl_free(&j);
    collect_free(&c);

    /* Also when the stopping line came through the pending buffer, and from finish. */
    struct collect c2 = {.stop_at = 1, .stop_value = -5};
    jsonl_init(&j, 64, collect_fn, &c2);
    assert_int_equal(jsonl_feed(&j, "on", 2), 0);
    assert_int_equal(jsonl_feed(&j, "e\nx\n", 4), -5);
    assert_int_equal(c2.n, 1);
    assert_string_equal(c2.lines[0], "one");
    jsonl_free(&j);
    collect_free(&c2);

    struct collect c3 = {.stop_at = 1, .stop_value = 3};
    jsonl_init(&j, 64, collect_fn, &c3);
    assert_int_equal(jsonl_feed(&j, "tail", 4), 0);
    assert_int_equal(jsonl_finish(&j), 3);
    jsonl_free(&j);
    collect_free(&c3);
}

static void test_empty_and_crlf_only_lines_skipped(void **state)
{
    (void)state;
    struct collect c = {0};
    struct jsonl j;
    jsonl_init(&j, 64, collect_fn, &c);
    assert_int_equal(jsonl_feed(&j, "\n\r\n\n\r", 5), 0);
    assert_int_equal(jsonl_feed(&j, "\n", 1), 0);
    assert_int_equal(jsonl_finish(&j), 0);
    assert_int_equal(c.n, 0);
    /* Only one \r is a line ending; others belong to the line. */
    assert_int_equal(jsonl_feed(&j, "a\r\r\n", 4), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.lines[0], "a\r");
    /* Bytes after a NUL are kept: the length is what counts. */
    assert_int_equal(jsonl_feed(&j, "x\0y\n", 4), 0);
    assert_int_equal(c.n, 2);
    jsonl_free(&j);
    collect_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_lines_one_chunk),
        cmocka_unit_test(test_split_at_every_position),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_final_line_without_newline),
        cmocka_unit_test(test_line_at_cap_passes),
        cmocka_unit_test(test_line_over_cap_in_one_chunk),
        cmocka_unit_test(test_line_over_cap_across_chunks),
        cmocka_unit_test(test_callback_stop_value_propagates),
        cmocka_unit_test(test_empty_and_crlf_only_lines_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
