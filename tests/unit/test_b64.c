/* test_b64.c - base64 encoding (both alphabets) and strict decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/b64.h"

static void check_encode(const char *in, size_t len, enum b64_alphabet a, const char *want)
{
    char *e = b64_encode(in, len, a);
    assert_string_equal(e, want);
    free(e);
}

static void test_encode_rfc4648_vectors(void **state)
{
    (void)state;
    check_encode("", 0, B64_STD, "");
    check_encode("f", 1, B64_STD, "Zg==");
    check_encode("fo", 2, B64_STD, "Zm8=");
    check_encode("foo", 3, B64_STD, "Zm9v");
    check_encode("foob", 4, B64_STD, "Zm9vYg==");
    check_encode("fooba", 5, B64_STD, "Zm9vYmE=");
    check_encode("foobar", 6, B64_STD, "Zm9vYmFy");
}

static void test_encode_url_alphabet(void **state)
{
    (void)state;
    /* 0xfb 0xff 0xbf -> "+/+/" in the standard alphabet, "-_-_" in the URL one. */
    const char bytes[] = {(char)0xfb, (char)0xff, (char)0xbf};
    check_encode(bytes, 3, B64_STD, "+/+/");
    check_encode(bytes, 3, B64_URL, "-_-_");
    /* The URL alphabet keeps its padding (X-Registry-Auth wants it). */
    const char two[] = {(char)0xff, (char)0xff};
    check_encode(two, 2, B64_URL, "__8=");
    check_encode(two, 2, B64_STD, "//8=");
}

static void test_encode_binary_with_nul(void **state)
{
    (void)state;
    const char bytes[] = {'a', '\0', 'b'};
    check_encode(bytes, 3, B64_STD, "YQBi");
}

static void check_decode(const char *in, const char *want, size_t want_len)
{
    size_t n = 12345;
    char *d = b64_decode(in, strlen(in), &n);
    assert_non_null(d);
    assert_int_equal(n, want_len);
    assert_memory_equal(d, want, want_len);
    assert_int_equal(d[n], '\0');
    free(d);
}

static void test_decode_vectors(void **state)
{
    (void)state;
    check_decode("", "", 0);
    check_decode("Zg==", "f", 1);
    check_decode("Zg", "f", 1);  /* padding is optional */
    check_decode("Zm8=", "fo", 2);
    check_decode("Zm9v", "foo", 3);
    check_decode("Zm9vYmFy", "foobar", 6);
    check_decode("dXNlcjpwYXNz", "user:pass", 9);
    check_decode("YQBi", "a\0b", 3);
}

static void test_decode_roundtrip_all_bytes(void **state)
{
    (void)state;
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    for (size_t len = 0; len <= sizeof(all); len += 7) {
        char *e = b64_encode(all, len, B64_STD);
        size_t n = 0;
        char *d = b64_decode(e, strlen(e), &n);
        assert_non_null(d);
        assert_int_equal(n, len);
        assert_memory_equal(d, all, len);
        free(d);
        free(e);
    }
}

static void test_decode_rejects_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Z",          /* one character cannot encode a byte */
        "Zm9vY",      /* 5 characters: 4k+1 */
        "Zm9v!",      /* not in the alphabet */
        "Zm 9v",      /* whitespace is not allowed */
        "Zm9v\n",
        "-_-_",       /* the URL alphabet is not the standard one */
        "Zm=9v",      /* padding in the middle */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = 99;
        char *d = b64_decode(bad[i], strlen(bad[i]), &n);
        if (d)
            fail_msg("'%s' decoded but is not base64", bad[i]);
    }
}

static void test_decode_respects_len(void **state)
{
    (void)state;
    /* Only the first 4 characters are looked at. */
    size_t n = 0;
    char *d = b64_decode("Zm9v!!!!", 4, &n);
    assert_non_null(d);
    assert_int_equal(n, 3);
    assert_string_equal(d, "foo");
    free(d);
    /* out_len may be NULL. */
    d = b64_decode("Zm9v", 4, NULL);
    assert_string_equal(d, "foo");
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_rfc4648_vectors),
        cmocka_unit_test(test_encode_url_alphabet),
        cmocka_unit_test(test_encode_binary_with_nul),
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_decode_roundtrip_all_bytes),
        cmocka_unit_test(test_decode_rejects_garbage),
        cmocka_unit_test(test_decode_respects_len),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
