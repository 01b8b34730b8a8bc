/* test_config.c - tracup.conf parsing and loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util/config.h"

static void test_parse_keys_and_comments(void **state)
{
    (void)state;
    struct tu_config c = {0};
    struct tu_err e = {0};
    const char *text =
        "# tracup configuration\n"
        "\n"
        "   registry   =   127.0.0.1:5000/mirror   \n"
        "\t# indented comment\n"
        "stall_timeout=30\r\n"
        "first_byte_timeout = 600\n"
        "connect_timeout = 86400\n";
    assert_int_equal(tu_config_parse(&c, text, "t.conf", &e), 0);
    assert_string_equal(c.registry, "127.0.0.1:5000/mirror");
    assert_int_equal(c.stall_timeout, 30);
    assert_int_equal(c.first_byte_timeout, 600);
    assert_int_equal(c.connect_timeout, 86400);
    tu_config_free(&c);
    assert_null(c.registry);
}

static void test_parse_empty_and_later_key_wins(void **state)
{
    (void)state;
    struct tu_config c = {0};
    struct tu_err e = {0};
    assert_int_equal(tu_config_parse(&c, "", "t.conf", &e), 0);
    assert_null(c.registry);
    assert_int_equal(c.stall_timeout, 0);
    assert_int_equal(tu_config_parse(&c, "registry = a.example:1\nregistry = b.example:2\n", "t.conf", &e), 0);
    assert_string_equal(c.registry, "b.example:2");
    /* A value may itself contain '='. */
    assert_int_equal(tu_config_parse(&c, "registry = x=y\n", "t.conf", &e), 0);
    assert_string_equal(c.registry, "x=y");
    tu_config_free(&c);
}

static void expect_error(const char *text, const char *want_msg)
{
    struct tu_config c = {0};
    struct tu_err e = {0};
    assert_int_equal(tu_config_parse(&c, text, "/etc/tracup/tracup.conf", &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    if (strcmp(e.msg, want_msg) != 0)
        fail_msg("for %s: got '%s', want '%s'", text, e.msg, want_msg);
    tu_config_free(&c);
}

static void test_parse_errors_with_line_numbers(void **state)
{
    (void)state;
    expect_error("# c\n\nfoo = 1\n", "/etc/tracup/tracup.conf:3: unknown key 'foo'");
    expect_error("registry = x\nREGISTRY = y\n", "/etc/tracup/tracup.conf:2: unknown key 'REGISTRY'");
    expect_error("registry\n", "/etc/tracup/tracup.conf:1: expected 'key = value'");
    expect_error("\n\n\nregistry =   \n", "/etc/tracup/tracup.conf:4: registry needs a value");
    expect_error("stall_timeout = 0\n", "/etc/tracup/tracup.conf:1: stall_timeout must be 1 to 86400 seconds");
    expect_error("first_byte_timeout = 0\n",
                 "/etc/tracup/tracup.conf:1: first_byte_timeout must be 1 to 86400 seconds");
    expect_error("stall_timeout = -5\n", "/etc/tracup/tracup.conf:1: stall_timeout must be 1 to 86400 seconds");
    expect_error("stall_timeout = 86401\n", "/etc/tracup/tracup.conf:1: stall_timeout must be 1 to 86400 seconds");
    expect_error("stall_timeout = 10s\n", "/etc/tracup/tracup.conf:1: stall_timeout must be 1 to 86400 seconds");
    expect_error("stall_timeout =\n", "/etc/tracup/tracup.conf:1: stall_timeout must be 1 to 86400 seconds");
    expect_error("stall_timeout = 99999999999999999999999\n",
                 "/etc/tracup/tracup.conf:1: stall_timeout must be 1 to 86400 seconds");
    expect_error("connect_timeout = 1.5\n",
                 "/etc/tracup/tracup.conf:1: connect_timeout must be 1 to 86400 seconds");
    expect_error("= value\n", "/etc/tracup/tracup.conf:1: unknown key ''");
}

static void test_parse_unknown_key_is_cut_and_one_line(void **state)
{
    (void)state;
    struct tu_config c = {0};
    struct tu_err e = {0};
    char text[400];
    memset(text, 'k', 300);
    memcpy(text + 300, " = v\n", 6);
    assert_int_equal(tu_config_parse(&c, text, "t", &e), -1);
    /* The key is quoted at most 40 characters long. */
    assert_non_null(strstr(e.msg, "unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk'"));
    tu_config_free(&c);
}

static int setup_dir(void **state)
{
    *state = tt_mkdtemp();
    return 0;
}

static int teardown_dir(void **state)
{
    tt_env_restore();
    tt_rmtree(*state);
    free(*state);
    return 0;
}

static void test_load_from_env_file(void **state)
{
    const char *dir = *state;
    char *path = tt_write_file(dir, "tracup.conf", "registry = 127.0.0.1:5000\nstall_timeout = 5\n", 0600);
    tt_env_set("TRACUP_CONFIG", path);
    struct tu_config c;
    struct tu_err e = {0};
    assert_int_equal(tu_config_load(&c, &e), 0);
    assert_string_equal(c.path, path);
    assert_string_equal(c.registry, "127.0.0.1:5000");
    assert_int_equal(c.stall_timeout, 5);
    tu_config_free(&c);

    /* Errors name the file and the line. */
    free(tt_write_file(dir, "tracup.conf", "\nbogus = 1\n", 0600));
    assert_int_equal(tu_config_load(&c, &e), -1);
    char *want = NULL;
    size_t n = strlen(path) + 32;
    want = malloc(n);
    snprintf(want, n, "%s:2: unknown key 'bogus'", path);
    assert_string_equal(e.msg, want);
    free(want);
    assert_null(c.path);
    assert_null(c.registry);

    /* A file named by TRACUP_CONFIG must exist. */
    char *missing = malloc(strlen(dir) + 16);
    snprintf(missing, strlen(dir) + 16, "%s/none.conf", dir);
    tt_env_set("TRACUP_CONFIG", missing);
    assert_int_equal(tu_config_load(&c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    assert_non_null(strstr(e.msg, "cannot read config"));
    free(missing);

    /* A binary file is refused. */
    char *bin = malloc(strlen(dir) + 16);
    snprintf(bin, strlen(dir) + 16, "%s/bin.conf", dir);
    FILE *f = fopen(bin, "wb");
    fwrite("registry = x\0y\n", 1, 15, f);
    fclose(f);
    tt_env_set("TRACUP_CONFIG", bin);
    assert_int_equal(tu_config_load(&c, &e), -1);
    assert_non_null(strstr(e.msg, "is not a text file"));
    free(bin);

    /* A file over the cap is refused. */
    size_t big = TU_CONFIG_MAX + 10;
    char *huge = malloc(big + 1);
    memset(huge, '#', big);
    huge[big] = '\0';
    char *hp = tt_write_file(dir, "huge.conf", huge, 0600);
    free(huge);
    tt_env_set("TRACUP_CONFIG", hp);
    assert_int_equal(tu_config_load(&c, &e), -1);
    assert_non_null(strstr(e.msg, "is larger than"));
    free(hp);

    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_keys_and_comments),
        cmocka_unit_test(test_parse_empty_and_later_key_wins),
        cmocka_unit_test(test_parse_errors_with_line_numbers),
        cmocka_unit_test(test_parse_unknown_key_is_cut_and_one_line),
        cmocka_unit_test_setup_teardown(test_load_from_env_file, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
