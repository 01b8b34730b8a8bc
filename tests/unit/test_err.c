/* test_err.c - errors as data: setting, hints, prefixes, kind names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/err.h"

static void test_set_returns_minus_one_and_fills(void **state)
{
    (void)state;
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(e.kind, TU_ERR_NONE);
    e.status = 404;
    tu_err_hint(&e, "old hint");
    assert_int_equal(tu_err_set(&e, TU_ERR_CONFLICT, "name '%s' is in use", "x"), -1);
    assert_int_equal(e.kind, TU_ERR_CONFLICT);
    assert_string_equal(e.msg, "name 'x' is in use");
    /* A new error forgets the old status and hint. */
    assert_int_equal(e.status, 0);
    assert_string_equal(e.hint, "");
    /* NULL is allowed and still says "failed". */
    assert_int_equal(tu_err_set(NULL, TU_ERR_IO, "x"), -1);
    tu_err_clear(NULL);
    tu_err_hint(NULL, "x");
    tu_err_prefix(NULL, "x");
}

static void test_set_keeps_one_line(void **state)
{
    (void)state;
    struct tu_err e;
    tu_err_set(&e, TU_ERR_HTTP, "%s", "line one\nline two\r\nand\ta tab");
    assert_null(strchr(e.msg, '\n'));
    assert_null(strchr(e.msg, '\r'));
    assert_null(strchr(e.msg, '\t'));
    assert_string_equal(e.msg, "line one line two  and a tab");
    tu_err_hint(&e, "do\nthis");
    assert_string_equal(e.hint, "do this");
}

static void test_set_truncates_long_message(void **state)
{
    (void)state;
    struct tu_err e;
    char big[2000];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tu_err_set(&e, TU_ERR_HTTP, "%s", big);
    assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
}

static void test_prefix(void **state)
{
    (void)state;
    struct tu_err e;
    tu_err_set(&e, TU_ERR_NOT_FOUND, "no such image");
    e.status = 404;
    tu_err_prefix(&e, "pulling '%s': ", "redis");
    assert_string_equal(e.msg, "pulling 'redis': no such image");
    /* The prefix does not change the kind or status. */
    assert_int_equal(e.kind, TU_ERR_NOT_FOUND);
    assert_int_equal(e.status, 404);
}

static void test_prefix_truncation_keeps_start_and_one_line(void **state)
{
    (void)state;
    struct tu_err e;
    char big[600];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = 'S';
    tu_err_set(&e, TU_ERR_HTTP, "%s", big);
    assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
    /* A prefix with a newline in it (e.g. from a peer's name) stays on one line. */
    tu_err_prefix(&e, "ctx\n%s: ", "peer");
    assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
    assert_null(strchr(e.msg, '\n'));
    assert_memory_equal(e.msg, "ctx peer: S", 11);
    assert_int_equal(e.msg[sizeof(e.msg) - 2], 'a');

    /* A prefix longer than the whole message keeps its start only. */
    char longpre[400];
    memset(longpre, 'p', sizeof(longpre) - 1);
    longpre[sizeof(longpre) - 1] = '\0';
    tu_err_set(&e, TU_ERR_HTTP, "tail");
    tu_err_prefix(&e, "%s", longpre);
    /* The prefix is cut at 255 bytes, then the old message follows. */
    assert_int_equal(strlen(e.msg), 255 + 4);
    assert_string_equal(e.msg + 255, "tail");
    tu_err_prefix(&e, "%s", longpre);
    tu_err_prefix(&e, "%s", longpre);
    assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
    assert_int_equal(e.msg[0], 'p');
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(tu_err_kind_name(TU_ERR_NONE), "none");
    assert_string_equal(tu_err_kind_name(TU_ERR_NOT_FOUND), "not-found");
    assert_string_equal(tu_err_kind_name(TU_ERR_CONFLICT), "conflict");
    assert_string_equal(tu_err_kind_name(TU_ERR_TOO_BIG), "too-big");
    assert_string_equal(tu_err_kind_name(TU_ERR_TIMEOUT), "timeout");
    assert_string_equal(tu_err_kind_name(TU_ERR_REFUSED), "refused");
    assert_string_equal(tu_err_kind_name((enum tu_err_kind)999), "unknown");
    /* Every kind has its own name. */
    for (int a = TU_ERR_NONE; a <= TU_ERR_REFUSED; a++)
        for (int b = a + 1; b <= TU_ERR_REFUSED; b++)
            assert_string_not_equal(tu_err_kind_name((enum tu_err_kind)a), tu_err_kind_name((enum tu_err_kind)b));
}

static void test_text_clean_utf8(void **state)
{
    (void)state;
    char b[64];
    /* valid text passes untouched, newlines and tabs become spaces */
    snprintf(b, sizeof(b), "caf\xc3\xa9 \xe2\x82\xac\n\tx");
    tu_text_clean(b, sizeof(b));
    assert_string_equal(b, "caf\xc3\xa9 \xe2\x82\xac  x");
    /* bytes that are no character are shown, never passed on */
    snprintf(b, sizeof(b), "0.8.\xff");
    tu_text_clean(b, sizeof(b));
    assert_string_equal(b, "0.8.\\xff");
    /* overlong forms, surrogates, stray continuation bytes, a cut sequence */
    snprintf(b, sizeof(b), "\xc0\xaf|\xed\xa0\x80|\x80|\xc3");
    tu_text_clean(b, sizeof(b));
    assert_string_equal(b, "\\xc0\\xaf|\\xed\\xa0\\x80|\\x80|\\xc3");
    /* other control bytes become '?' */
    snprintf(b, sizeof(b), "a\x1b[31mb");
    tu_text_clean(b, sizeof(b));
    assert_string_equal(b, "a?[31mb");
    /* a cut falls on a character boundary */
    char small[8];
    memcpy(small, "abc\xc3\xa9", 6);
    tu_text_clean(small, 5); /* room for "abc" and half the e-acute */
    assert_string_equal(small, "abc");
    /* through tu_err_set: the message stays valid */
    struct tu_err e;
    tu_err_set(&e, TU_ERR_USAGE, "invalid version '%s'", "0.8.\xff\xfe");
    assert_string_equal(e.msg, "invalid version '0.8.\\xff\\xfe'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_returns_minus_one_and_fills),
        cmocka_unit_test(test_set_keeps_one_line),
        cmocka_unit_test(test_text_clean_utf8),
        cmocka_unit_test(test_set_truncates_long_message),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_prefix_truncation_keeps_start_and_one_line),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
