/* test_sha256.c - SHA-256 against the NIST (FIPS 180-4 / CAVS) test vectors, in one piece and split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"

struct vec {
    const char *msg;
    const char *hex;
};

static const struct vec vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
     "nopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static void test_vectors_whole(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        char hex[SHA256_HEX_LEN + 1];
        sha256_hex(vectors[i].msg, strlen(vectors[i].msg), hex);
        assert_string_equal(hex, vectors[i].hex);
    }
}

/* Every split point of every vector into two updates, and byte-by-byte. */
static void test_vectors_split(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const char *m = vectors[i].msg;
        size_t n = strlen(m);
        for (size_t cut = 0; cut <= n; cut++) {
            struct sha256 s;
            char hex[SHA256_HEX_LEN + 1];
            sha256_init(&s);
            sha256_update(&s, m, cut);
            sha256_update(&s, m + cut, n - cut);
            sha256_final_hex(&s, hex);
            assert_string_equal(hex, vectors[i].hex);
        }
        struct sha256 s;
        char hex[SHA256_HEX_LEN + 1];
        sha256_init(&s);
        for (size_t k = 0; k < n; k++)
            sha256_update(&s, m + k, 1);
        sha256_final_hex(&s, hex);
        assert_string_equal(hex, vectors[i].hex);
    }
}

/* One million 'a': in one update, and in uneven pieces that straddle blocks. */
static void test_million_a(void **state)
{
    (void)state;
    static const char want[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t n = 1000000;
    char *a = malloc(n);
    assert_non_null(a);
    memset(a, 'a', n);
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(a, n, hex);
    assert_string_equal(hex, want);

    static const size_t pieces[] = {1, 63, 64, 65, 127, 1000, 4096, 7};
    struct sha256 s;
    sha256_init(&s);
    size_t done = 0;
    for (size_t k = 0; done < n; k++) {
        size_t take = pieces[k % (sizeof(pieces) / sizeof(pieces[0]))];
        if (take > n - done)
            take = n - done;
        sha256_update(&s, a + done, take);
        done += take;
    }
    sha256_final_hex(&s, hex);
    assert_string_equal(hex, want);
    free(a);
}

/* Lengths around the padding boundary (55, 56, 63, 64 bytes) agree across splits. */
static void test_padding_boundaries(void **state)
{
    (void)state;
    /* sha256 of 'a' x 55, 56, 64 (computed independently with sha256sum). */
    static const struct {
        size_t n;
        const char *hex;
    } cases[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    char buf[64];
    memset(buf, 'a', sizeof(buf));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char hex[SHA256_HEX_LEN + 1];
        sha256_hex(buf, cases[i].n, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

static void test_hex_valid(void **state)
{
    (void)state;
    assert_true(sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_false(sha256_hex_valid("E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_false(sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"));
    assert_false(sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550"));
    assert_false(sha256_hex_valid("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_false(sha256_hex_valid(""));
    assert_false(sha256_hex_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_whole),
        cmocka_unit_test(test_vectors_split),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_boundaries),
        cmocka_unit_test(test_hex_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
