/* fuzz_b64.c - base64 from docker config.json "auth" entries; encode and decode must round-trip. */
#include "fuzz.h"
#include "util/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0;
    char *dec = b64_decode((const char *)data, size, &n);
    if (dec) {
        if (dec[n] != '\0')
            fuzz_fail("decoded bytes are not terminated");
        char *enc = b64_encode(dec, n, B64_STD);
        size_t m = 0;
        char *again = b64_decode(enc, strlen(enc), &m);
        if (!again || m != n || memcmp(again, dec, n) != 0)
            fuzz_fail("decode(encode(x)) != x for %zu bytes", n);
        free(again);
        free(enc);
        free(dec);
    }

    /* Any bytes encode; the standard alphabet decodes back. */
    char *enc = b64_encode(data, size, B64_STD);
    size_t elen = strlen(enc);
    if (elen != (size + 2) / 3 * 4)
        fuzz_fail("%zu bytes encoded into %zu", size, elen);
    size_t m = 0;
    char *back = b64_decode(enc, elen, &m);
    if (!back || m != size || (size && memcmp(back, data, size) != 0))
        fuzz_fail("encode then decode lost %zu bytes", size);
    free(back);
    free(enc);
    char *url = b64_encode(data, size, B64_URL);
    if (strlen(url) != elen || strpbrk(url, "+/"))
        fuzz_fail("url alphabet output '%s'", url);
    free(url);
    return 0;
}
