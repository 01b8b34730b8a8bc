/* test_buf.c - the capped growable buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static void test_append_and_terminate(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_null(b.data);
    assert_int_equal(buf_appends(&b, "hello"), 0);
    assert_int_equal(buf_append(&b, ", world", 7), 0);
    assert_int_equal(b.len, 12);
    assert_string_equal(b.data, "hello, world");
    assert_true(b.cap > b.len);
    /* Binary data with NULs keeps its length. */
    assert_int_equal(buf_append(&b, "\0x", 2), 0);
    assert_int_equal(b.len, 14);
    assert_int_equal(b.data[12], '\0');
    assert_int_equal(b.data[13], 'x');
    assert_int_equal(b.data[14], '\0');
    buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_grows_past_initial_capacity(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    char chunk[100];
    memset(chunk, 'a', sizeof(chunk));
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
    assert_int_equal(b.len, 10000);
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] != 'a')
            fail_msg("byte %zu is 0x%02x", i, (unsigned char)b.data[i]);
    assert_int_equal(b.data[10000], '\0');
    buf_free(&b);
}

static void test_cap_respected_exactly(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "12345", 5), 0);
    assert_int_equal(buf_append(&b, "67890", 5), 0);  /* exactly at the cap */
    assert_int_equal(b.len, 10);
    /* One more byte is refused and nothing changes. */
    char *before = b.data;
    size_t cap = b.cap;
    assert_int_equal(buf_append(&b, "x", 1), -1);
    assert_int_equal(b.len, 10);
    assert_ptr_equal(b.data, before);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "1234567890");
    /* An empty append still fits. */
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, 10);
    buf_free(&b);
}

static void test_cap_refuses_oversized_first_append(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4);
    assert_int_equal(buf_append(&b, "12345", 5), -1);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(buf_appends(&b, "1234"), 0);
    assert_int_equal(buf_appends(&b, "5"), -1);
    assert_string_equal(b.data, "1234");
    buf_free(&b);
}

static void test_cap_no_overflow_on_huge_n(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    assert_int_equal(buf_appends(&b, "abc"), 0);
    /* len + n would wrap around: must still be refused, and data never read. */
    assert_int_equal(buf_append(&b, "x", SIZE_MAX - 1), -1);
    assert_int_equal(buf_append(&b, "x", SIZE_MAX), -1);
    assert_int_equal(b.len, 3);
    assert_string_equal(b.data, "abc");
    buf_free(&b);
}

static void test_consume(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    buf_consume(&b, 5);  /* on an empty buffer: nothing */
    assert_int_equal(b.len, 0);
    buf_appends(&b, "abcdef");
    buf_consume(&b, 2);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "cdef");
    buf_consume(&b, 0);
    assert_string_equal(b.data, "cdef");
    buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    buf_free(&b);
}

static void test_reset_keeps_cap_and_frees_room(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_int_equal(buf_appends(&b, "12345678"), 0);
    buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(b.max, 8);
    assert_int_equal(buf_appends(&b, "abcdefgh"), 0);
    assert_int_equal(buf_appends(&b, "i"), -1);
    buf_free(&b);
}

static void test_detach(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    char *empty = buf_detach(&b);
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
    buf_appends(&b, "owned");
    char *p = buf_detach(&b);
    assert_string_equal(p, "owned");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(p);
    buf_free(&b);  /* harmless after a detach */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_terminate),
        cmocka_unit_test(test_grows_past_initial_capacity),
        cmocka_unit_test(test_cap_respected_exactly),
        cmocka_unit_test(test_cap_refuses_oversized_first_append),
        cmocka_unit_test(test_cap_no_overflow_on_huge_n),
        cmocka_unit_test(test_consume),
        cmocka_unit_test(test_reset_keeps_cap_and_frees_room),
        cmocka_unit_test(test_detach),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
