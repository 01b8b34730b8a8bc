/* test_dotenv.c - reading compose env files and rewriting values in place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dotenv.h"
#include "util/xalloc.h"

#define D1 "@sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "@sha256:2222222222222222222222222222222222222222222222222222222222222222"

static const struct dotenv_set SETS[] = {
    {"TRACARDI_VERSION", "0.8.2"},
    {"API_DIGEST", D2},
};

/* Parses text (which must parse) and rewrites SETS; returns the new text. */
static char *rewrite(const char *text, size_t *nchanges)
{
    struct dotenv d;
    struct tu_err e = {0};
    if (dotenv_parse(&d, text, strlen(text), ".env", &e) != 0)
        fail_msg("parse: %s", e.msg);
    size_t len = 0;
    struct dotenv_change *c = NULL;
    char *out = dotenv_rewrite(&d, SETS, 2, "pinned", &len, &c, nchanges, &e);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    dotenv_changes_free(c, *nchanges);
    dotenv_free(&d);
    return out;
}

/* Parses text, which must be refused; returns the message (static). */
static const char *refused(const char *text, size_t len)
{
    static struct tu_err e;
    memset(&e, 0, sizeof(e));
    struct dotenv d;
    assert_int_equal(dotenv_parse(&d, text, len, ".env", &e), -1);
    assert_null(d.e);
    assert_null(d.text);
    return e.msg;
}

#define REFUSED(lit) refused(lit, sizeof(lit) - 1)

static void test_values_as_compose_reads_them(void **state)
{
    (void)state;
    const char *text = "# comment\n"
                       "\n"
                       "PLAIN=abc\n"
                       "  SPACED = value with spaces   # a comment\n"
                       "HASH=a#b\n"
                       "export EXPORTED=yes\n"
                       "SQ='single # not a comment'  # but this is\n"
                       "DQ=\"tab\\there \\\"q\\\"\"\n"
                       "ML=\"line one\n"
                       "line two\"\n"
                       "EMPTY=\n"
                       "ALONE\n"
                       "DUP=first\n"
                       "DUP=second";
    struct dotenv d;
    struct tu_err e = {0};
    assert_int_equal(dotenv_parse(&d, text, strlen(text), ".env", &e), 0);
    assert_string_equal(dotenv_get(&d, "PLAIN"), "abc");
    assert_string_equal(dotenv_get(&d, "SPACED"), "value with spaces");
    assert_string_equal(dotenv_get(&d, "HASH"), "a#b");
    assert_string_equal(dotenv_get(&d, "EXPORTED"), "yes");
    assert_string_equal(dotenv_get(&d, "SQ"), "single # not a comment");
    assert_string_equal(dotenv_get(&d, "DQ"), "tab\there \"q\"");
    assert_string_equal(dotenv_get(&d, "ML"), "line one\nline two");
    assert_string_equal(dotenv_get(&d, "EMPTY"), "");
    assert_null(dotenv_get(&d, "ALONE"));
    assert_string_equal(dotenv_get(&d, "DUP"), "second");
    assert_null(dotenv_get(&d, "MISSING"));
    /* The multi-line value's assignment starts on line 9; the next one is on 11. */
    for (size_t i = 0; i < d.n; i++) {
        if (strcmp(d.e[i].key, "ML") == 0)
            assert_int_equal(d.e[i].line, 9);
        if (strcmp(d.e[i].key, "EMPTY") == 0)
            assert_int_equal(d.e[i].line, 11);
    }
    dotenv_free(&d);
}

static void test_replaced_in_place_rest_kept(void **state)
{
    (void)state;
    const char *text = "# Tracardi\n"
                       "TRACARDI_VERSION=0.8.1   # the release\n"
                       "\n"
                       "export API_DIGEST='" D1 "'\n"
                       "OTHER=\"keep $ME\"\n";
    size_t n = 0;
    char *out = rewrite(text, &n);
    assert_int_equal(n, 2);
    assert_string_equal(out, "# Tracardi\n"
                             "TRACARDI_VERSION=0.8.2   # the release\n"
                             "\n"
                             "export API_DIGEST='" D2 "'\n"
                             "OTHER=\"keep $ME\"\n");
    free(out);
}

static void test_double_quotes_and_alone_key(void **state)
{
    (void)state;
    size_t n = 0;
    char *out = rewrite("API_DIGEST=\"\"\nTRACARDI_VERSION\n", &n);
    assert_int_equal(n, 2);
    assert_string_equal(out, "API_DIGEST=\"" D2 "\"\nTRACARDI_VERSION=0.8.2\n");
    free(out);
}

static void test_emptied_value_before_comment_quoted(void **state)
{
    (void)state;
    /* "APM_DIGEST= # x" would make "# x" the value (compose reads it so): quotes keep it empty. */
    const char *text = "APM_DIGEST=" D1 "  # pinned\nGUI_DIGEST=" D1 "\n";
    struct dotenv d;
    struct tu_err e = {0};
    assert_int_equal(dotenv_parse(&d, text, strlen(text), ".env", &e), 0);
    const struct dotenv_set sets[] = {{"APM_DIGEST", ""}, {"GUI_DIGEST", ""}};
    size_t len, n;
    struct dotenv_change *c;
    char *out = dotenv_rewrite(&d, sets, 2, "pinned", &len, &c, &n, &e);
    assert_string_equal(out, "APM_DIGEST=\"\"  # pinned\nGUI_DIGEST=\n");
    dotenv_changes_free(c, n);
    dotenv_free(&d);
    assert_int_equal(dotenv_parse(&d, out, len, ".env", &e), 0);
    assert_string_equal(dotenv_get(&d, "APM_DIGEST"), "");
    dotenv_free(&d);
    free(out);
}

static void test_crlf_kept(void **state)
{
    (void)state;
    size_t n = 0;
    char *out = rewrite("# windows\r\nAPI_DIGEST=" D1 "\r\nX=1\r\n", &n);
    assert_int_equal(n, 2);
    /* The missing variable is appended with the file's line ending. */
    assert_string_equal(out, "# windows\r\nAPI_DIGEST=" D2 "\r\nX=1\r\n# pinned\r\nTRACARDI_VERSION=0.8.2\r\n");
    free(out);
}

static void test_duplicates_all_replaced(void **state)
{
    (void)state;
    size_t n = 0;
    char *out = rewrite("API_DIGEST=" D1 "\nTRACARDI_VERSION=0.8.2\nAPI_DIGEST=\n", &n);
    assert_int_equal(n, 2);
    assert_string_equal(out, "API_DIGEST=" D2 "\nTRACARDI_VERSION=0.8.2\nAPI_DIGEST=" D2 "\n");
    free(out);
}

static void test_missing_appended_under_comment(void **state)
{
    (void)state;
    size_t n = 0;
    /* No newline at the end: one is added before the appended block. */
    char *out = rewrite("X=1", &n);
    assert_int_equal(n, 2);
    assert_string_equal(out, "X=1\n# pinned\nTRACARDI_VERSION=0.8.2\nAPI_DIGEST=" D2 "\n");
    free(out);
    out = rewrite("", &n);
    assert_string_equal(out, "# pinned\nTRACARDI_VERSION=0.8.2\nAPI_DIGEST=" D2 "\n");
    free(out);
}

static void test_nothing_to_change(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBFTRACARDI_VERSION='0.8.2'\nexport API_DIGEST=" D2 " # pinned\n";
    size_t n = 1;
    char *out = rewrite(text, &n);
    assert_int_equal(n, 0);
    assert_string_equal(out, text);
    free(out);
}

static void test_changes_listed(void **state)
{
    (void)state;
    const char *text = "A=1\nTRACARDI_VERSION=0.8.1\n";
    struct dotenv d;
    struct tu_err e = {0};
    assert_int_equal(dotenv_parse(&d, text, strlen(text), ".env", &e), 0);
    size_t len, n;
    struct dotenv_change *c;
    char *out = dotenv_rewrite(&d, SETS, 2, "pinned", &len, &c, &n, &e);
    assert_int_equal(n, 2);
    assert_string_equal(c[0].key, "TRACARDI_VERSION");
    assert_string_equal(c[0].old, "0.8.1");
    assert_string_equal(c[0].value, "0.8.2");
    assert_int_equal(c[0].line, 2);
    assert_string_equal(c[1].key, "API_DIGEST");
    assert_null(c[1].old);
    assert_int_equal(c[1].line, 0);
    dotenv_changes_free(c, n);
    free(out);
    /* A value that would need quoting is not written. */
    const struct dotenv_set bad[] = {{"TRACARDI_VERSION", "0.8.2 ; rm"}};
    assert_null(dotenv_rewrite(&d, bad, 1, "pinned", &len, &c, &n, &e));
    assert_non_null(strstr(e.msg, "TRACARDI_VERSION"));
    dotenv_free(&d);
}

static void test_invalid_lines_refused(void **state)
{
    (void)state;
    const char *m;
    m = REFUSED("A=1\nthis is not an assignment\n");
    assert_non_null(strstr(m, "line 2: expected NAME=VALUE"));
    m = REFUSED("A=1\n\n1ABC=x\n");
    assert_non_null(strstr(m, "line 3: expected NAME=VALUE"));
    m = REFUSED("A=1\nB=\"open\nstill open\n");
    assert_non_null(strstr(m, "line 2: unterminated double quote"));
    m = REFUSED("B='x' y\n");
    assert_non_null(strstr(m, "line 1: unexpected text after the closing quote"));
    m = REFUSED("A=1\nB=2\rC=3\n");
    assert_non_null(strstr(m, "line 2: a carriage return"));
    m = REFUSED("A=1\nB=x\0y\n");
    assert_non_null(strstr(m, "line 2: a NUL byte"));
    m = REFUSED("A=\x1b[31m\n");
    assert_non_null(strstr(m, "line 1: a control character"));
    m = REFUSED("export  \n");
    assert_non_null(strstr(m, "line 1: expected NAME=VALUE"));
}

static void test_size_caps(void **state)
{
    (void)state;
    /* Past the byte cap. */
    size_t big = DOTENV_MAX_BYTES + 1;
    char *t = xmalloc(big + 1);
    memset(t, '#', big);
    t[big] = '\0';
    struct dotenv d;
    struct tu_err e = {0};
    assert_int_equal(dotenv_parse(&d, t, big, ".env", &e), -1);
    assert_int_equal(e.kind, TU_ERR_TOO_BIG);
    free(t);
    /* Past the line cap (blank lines). */
    size_t nl = DOTENV_MAX_LINES + 1;
    t = xmalloc(nl + 1);
    memset(t, '\n', nl);
    assert_int_equal(dotenv_parse(&d, t, nl, ".env", &e), -1);
    assert_non_null(strstr(e.msg, "lines"));
    /* Exactly at the line cap is fine. */
    assert_int_equal(dotenv_parse(&d, t, nl - 1, ".env", &e), 0);
    dotenv_free(&d);
    free(t);
    /* One assignment longer than 64 KiB (a quoted value over many lines). */
    size_t vl = DOTENV_MAX_STATEMENT + 10;
    t = xmalloc(vl + 8);
    memcpy(t, "A=\"", 3);
    for (size_t i = 3; i < vl; i++)
        t[i] = i % 100 == 0 ? '\n' : 'x';
    memcpy(t + vl, "\"\n", 2);
    assert_int_equal(dotenv_parse(&d, t, vl + 2, ".env", &e), -1);
    assert_non_null(strstr(e.msg, "line 1: the assignment is longer than 64 KiB"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_as_compose_reads_them),
        cmocka_unit_test(test_replaced_in_place_rest_kept),
        cmocka_unit_test(test_double_quotes_and_alone_key),
        cmocka_unit_test(test_emptied_value_before_comment_quoted),
        cmocka_unit_test(test_crlf_kept),
        cmocka_unit_test(test_duplicates_all_replaced),
        cmocka_unit_test(test_missing_appended_under_comment),
        cmocka_unit_test(test_nothing_to_change),
        cmocka_unit_test(test_changes_listed),
        cmocka_unit_test(test_invalid_lines_refused),
        cmocka_unit_test(test_size_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
