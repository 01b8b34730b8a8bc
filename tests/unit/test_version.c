/* test_version.c - Tracardi versions: parsing, ordering, db_version, target checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tracardi/version.h"

static void parse_ok(const char *s, int nparts, const int *parts, const char *suffix)
{
    struct tversion v;
    struct tu_err e = {0};
    if (tversion_parse(s, &v, &e) != 0)
        fail_msg("'%s' refused: %s", s, e.msg);
    assert_int_equal(v.nparts, nparts);
    for (int i = 0; i < nparts; i++)
        assert_int_equal(v.parts[i], parts[i]);
    assert_string_equal(v.suffix, suffix);
    assert_string_equal(v.text, s);
}

static void test_parse_valid(void **state)
{
    (void)state;
    parse_ok("0.8.2", 3, (const int[]){0, 8, 2}, "");
    parse_ok("0.8.2-rc1", 3, (const int[]){0, 8, 2}, "rc1");
    parse_ok("0.9.0-dev", 3, (const int[]){0, 9, 0}, "dev");
    parse_ok("1.0", 2, (const int[]){1, 0}, "");
    parse_ok("0.7.3.1", 4, (const int[]){0, 7, 3, 1}, "");
    parse_ok("10.20.30", 3, (const int[]){10, 20, 30}, "");
    parse_ok("0.8.2-rc.1", 3, (const int[]){0, 8, 2}, "rc.1");
    parse_ok("1.0.0-RC2", 3, (const int[]){1, 0, 0}, "RC2");
    parse_ok("99999.0", 2, (const int[]){99999, 0}, "");
}

static void parse_bad(const char *s, const char *want_in_msg)
{
    struct tversion v;
    struct tu_err e = {0};
    memset(&v, 0x5a, sizeof(v));
    if (tversion_parse(s, &v, &e) != -1)
        fail_msg("'%s' accepted", s ? s : "(null)");
    assert_int_equal(e.kind, TU_ERR_USAGE);
    if (want_in_msg && !strstr(e.msg, want_in_msg))
        fail_msg("'%s': message '%s' lacks '%s'", s ? s : "(null)", e.msg, want_in_msg);
    /* A refused version leaves nothing half-parsed behind. */
    assert_int_equal(v.nparts, 0);
    assert_string_equal(v.text, "");
    assert_string_equal(v.suffix, "");
}

static void test_same_release(void **state)
{
    (void)state;
    assert_true(tversion_same_release("0.8.2", "0.8.2"));
    /* a patch tag's api reports its library's version */
    assert_true(tversion_same_release("0.8.2", "0.8.2.1"));
    assert_true(tversion_same_release("0.8.0", "0.8.0.11"));
    assert_true(tversion_same_release("0.8.2.1", "0.8.2.1"));
    assert_false(tversion_same_release("0.8.1", "0.8.2.1"));
    assert_false(tversion_same_release("0.8.2.1", "0.8.2"));
    assert_false(tversion_same_release("0.8.2-rc1", "0.8.2.1"));
    assert_false(tversion_same_release("0.8.2", "0.8.2.1-rc1"));
    assert_false(tversion_same_release("0.8.2", "0.8.3"));
    assert_false(tversion_same_release(NULL, "0.8.2"));
    assert_false(tversion_same_release("junk", "0.8.2.1"));
}

static void test_newest_patch(void **state)
{
    (void)state;
    struct tversion rel, out;
    struct tu_err e;
    assert_int_equal(tversion_parse("0.8.2", &rel, &e), 0);
    const char *tags[] = {"0.8.2-rc1", "0.8.1", "0.8.2", "0.8.2.1", "latest", "0.8.2.10-dev", "0.8.20", "0.8.2.3"};
    assert_true(tversion_newest_patch(tags, 8, &rel, &out));
    assert_string_equal(out.text, "0.8.2.3");
    const char *only_rc[] = {"0.8.2-rc4", "0.9.0"};
    assert_false(tversion_newest_patch(only_rc, 2, &rel, &out));
    const char *plain[] = {"0.8.2"};
    assert_true(tversion_newest_patch(plain, 1, &rel, &out));
    assert_string_equal(out.text, "0.8.2");
    assert_false(tversion_newest_patch(NULL, 0, &rel, &out));
}

static void test_parse_invalid(void **state)
{
    (void)state;
    parse_bad(NULL, "empty version");
    parse_bad("", "empty version");
    parse_bad("latest", "'latest' is not a version");
    parse_bad("LATEST", "'latest' is not a version");
    parse_bad("Latest", "'latest' is not a version");
    parse_bad("v0.8.2", "without 'v'");
    parse_bad("V0.8.2", "without 'v'");
    parse_bad("0.08.2", "invalid version '0.08.2'");
    parse_bad("00.8.2", "invalid version");
    parse_bad("0.8.02", "invalid version");
    parse_bad("0.8.2-", "invalid version");
    parse_bad("0.8.", "invalid version");
    parse_bad(".8.2", "invalid version");
    parse_bad("0..2", "invalid version");
    parse_bad("1", "invalid version");
    parse_bad("1.2.3.4.5", "invalid version");
    parse_bad("100000.0", "invalid version");
    parse_bad("0.99999999999999999999", "invalid version");
    parse_bad("4294967296.0", "invalid version");
    parse_bad(" 0.8.2", "invalid version");
    parse_bad("0.8.2 ", "invalid version");
    parse_bad("0.8 .2", "invalid version");
    parse_bad("0.8.2\n", "invalid version");
    parse_bad("0.8.2-rc 1", "invalid version");
    parse_bad("0.8.2-.rc1", "invalid version");
    parse_bad("0.8.2-rc-1", "invalid version");
    parse_bad("0.8.2-rc1/../x", "invalid version");
    parse_bad("0.8.2+build", "invalid version");
    parse_bad("0.8.2_1", "invalid version");
    parse_bad("-0.8.2", "invalid version");
    parse_bad("+1.0", "invalid version");
    parse_bad("0x1.0", "invalid version");
    parse_bad("1.0-\xc3\xa9", "invalid version");
    parse_bad("0.8.2-0123456789012345678901234567890123", "invalid version"); /* suffix too long */
    parse_bad("0.8.2-abcdefghijklmnopqrstuvwxyz0123456789abcdefghij", "too long");
    parse_bad("1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1", "too long");
}

static void test_latest_has_hint(void **state)
{
    (void)state;
    struct tversion v;
    struct tu_err e = {0};
    assert_int_equal(tversion_parse("latest", &v, &e), -1);
    assert_non_null(strstr(e.hint, "--to"));
}

static int cmp(const char *a, const char *b)
{
    struct tversion va, vb;
    struct tu_err e;
    assert_int_equal(tversion_parse(a, &va, &e), 0);
    assert_int_equal(tversion_parse(b, &vb, &e), 0);
    return tversion_cmp(&va, &vb);
}

static void test_cmp_ordering(void **state)
{
    (void)state;
    /* Each is lower than the next. */
    static const char *const ordered[] = {
        "0.7.4", "0.8.0", "0.8.1", "0.8.2-dev", "0.8.2-rc1", "0.8.2",
        "0.8.2.1", "0.9.0-dev", "0.9.0-rc1", "0.9.0", "0.10.0", "1.0", "1.0.1", "1.1.3", "2.0.0",
    };
    size_t n = sizeof(ordered) / sizeof(ordered[0]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            int want = i < j ? -1 : i > j ? 1 : 0;
            int got = cmp(ordered[i], ordered[j]);
            if (got != want)
                fail_msg("cmp(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want);
        }
    }
    /* Missing parts count as zero. */
    assert_int_equal(cmp("1.0", "1.0.0"), 0);
    assert_int_equal(cmp("1.0.0.0", "1.0"), 0);
    /* 0.10.0 is after 0.9.0: numbers, not text. */
    assert_int_equal(cmp("0.10.0", "0.9.0"), 1);
    assert_int_equal(cmp("0.9.10", "0.9.9"), 1);
    /* Two candidates order by their text. */
    assert_int_equal(cmp("0.8.2-rc1", "0.8.2-rc2"), -1);
    assert_int_equal(cmp("0.8.2-dev", "0.8.2-dev"), 0);
}

static void test_dev_rc_and_at_least(void **state)
{
    (void)state;
    struct tversion v;
    struct tu_err e;
    assert_int_equal(tversion_parse("0.9.0-dev", &v, &e), 0);
    assert_true(tversion_is_dev(&v));
    assert_false(tversion_is_rc(&v));
    assert_int_equal(tversion_parse("0.9.0-rc1.dev2", &v, &e), 0);
    assert_true(tversion_is_dev(&v));
    assert_true(tversion_is_rc(&v));
    assert_int_equal(tversion_parse("0.9.0-RC1", &v, &e), 0);
    assert_true(tversion_is_rc(&v));
    assert_false(tversion_is_dev(&v));
    assert_int_equal(tversion_parse("0.8.2", &v, &e), 0);
    assert_false(tversion_is_dev(&v));
    assert_false(tversion_is_rc(&v));

    assert_true(tversion_at_least(&v, 0, 8, 2));
    assert_true(tversion_at_least(&v, 0, 8, 1));
    assert_false(tversion_at_least(&v, 0, 8, 3));
    assert_false(tversion_at_least(&v, 0, 9, 0));
    /* The suffix does not matter: a 0.8.1 candidate ships what 0.8.1 ships. */
    assert_int_equal(tversion_parse("0.8.1-rc1", &v, &e), 0);
    assert_true(tversion_at_least(&v, 0, 8, 1));
    assert_int_equal(tversion_parse("1.0", &v, &e), 0);
    assert_true(tversion_at_least(&v, 0, 10, 0));
}

static const char *db(const char *s)
{
    struct tversion v;
    struct tu_err e;
    assert_int_equal(tversion_parse(s, &v, &e), 0);
    return tracardi_db_version(&v);
}

static void test_db_version(void **state)
{
    (void)state;
    assert_string_equal(db("0.7.0"), "0.7.0");
    assert_string_equal(db("0.7.4"), "0.7.4");
    assert_string_equal(db("0.8.0"), "0.8.0");
    assert_string_equal(db("0.8.1"), "08x");
    assert_string_equal(db("0.8.1-rc2"), "08x");
    assert_string_equal(db("0.8.2"), "0820");
    assert_string_equal(db("0.8.2-rc1"), "0820");
    assert_string_equal(db("0.9.0"), "09x");
    assert_string_equal(db("0.9"), "09x");
    assert_string_equal(db("0.9.7"), "09x");
    assert_string_equal(db("1.0.0"), "09x");
    assert_string_equal(db("1.0"), "09x");
    assert_string_equal(db("1.1.3"), "09x");
    /* Releases tracup does not know. */
    assert_null(db("0.6.0"));
    assert_null(db("0.7.5"));
    assert_null(db("0.8.3"));
    assert_null(db("0.10.0"));
    assert_null(db("1.2.0"));
    assert_null(db("2.0.0"));
    assert_string_equal(db("0.8"), "0.8.0");  /* 0.8 is 0.8.0 */
}

static void test_check_target(void **state)
{
    (void)state;
    struct tversion v;
    struct tu_err e = {0};
    int warn = 42;
    assert_int_equal(tversion_check_target("0.8.2", 0, &v, &warn, &e), 0);
    assert_int_equal(warn, 0);
    assert_string_equal(v.text, "0.8.2");

    warn = 42;
    assert_int_equal(tversion_check_target("0.8.2-rc1", 0, &v, &warn, &e), 0);
    assert_int_equal(warn, 1);

    warn = 42;
    tu_err_clear(&e);
    assert_int_equal(tversion_check_target("0.9.0-dev", 0, &v, &warn, &e), -1);
    assert_int_equal(e.kind, TU_ERR_REFUSED);
    assert_non_null(strstr(e.msg, "'0.9.0-dev' is a development build"));
    assert_non_null(strstr(e.hint, "--allow-dev"));
    assert_int_equal(warn, 0);

    warn = 42;
    tu_err_clear(&e);
    assert_int_equal(tversion_check_target("0.9.0-dev", 1, &v, &warn, &e), 0);
    assert_int_equal(e.kind, TU_ERR_NONE);
    assert_int_equal(warn, 0);
    assert_true(tversion_is_dev(&v));

    /* A suffix that hides "dev" further in is still a dev build. */
    assert_int_equal(tversion_check_target("0.9.0-rc1.dev3", 0, &v, &warn, &e), -1);
    assert_int_equal(e.kind, TU_ERR_REFUSED);

    /* Parse errors come through as usage errors; warn_rc may be NULL. */
    assert_int_equal(tversion_check_target("latest", 1, &v, NULL, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    assert_int_equal(tversion_check_target("0.8.2-rc1", 0, &v, NULL, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_same_release),
        cmocka_unit_test(test_newest_patch),
        cmocka_unit_test(test_latest_has_hint),
        cmocka_unit_test(test_cmp_ordering),
        cmocka_unit_test(test_dev_rc_and_at_least),
        cmocka_unit_test(test_db_version),
        cmocka_unit_test(test_check_target),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
