/* fuzz_text_clean.c - tu_text_clean and tu_err_*: a peer's text made one printable line of UTF-8.
 * The first byte picks the buffer size; the rest is the text, cut where the buffer ends. */
#include "fuzz.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* 1 to 1009: the cleaner works on a 1 KiB copy, and its callers' buffers hold 512 and 256. */
    size_t cap = 1 + data[0] % 64 * 16;
    data++;
    size--;

    char *buf = malloc(cap);
    if (!buf)
        abort();
    size_t n = size < cap - 1 ? size : cap - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    tu_text_clean(buf, cap);
    if (!memchr(buf, '\0', cap) || !fuzz_clean_text(buf))
        fuzz_fail("cleaned text is not one line of UTF-8 within %zu bytes", cap);
    /* Clean text stays as it is. */
    char *again = strdup(buf);
    if (!again)
        abort();
    tu_text_clean(again, strlen(again) + 1);
    if (strcmp(again, buf) != 0)
        fuzz_fail("cleaning twice changed the text");
    free(again);
    free(buf);

    /* The way messages get built: a format with the peer's text, then a prefix. */
    char *text = fuzz_cstr(data, size);
    struct tu_err err;
    tu_err_clear(&err);
    tu_err_set(&err, TU_ERR_HTTP, "GET /x answered HTTP 500: %s", text);
    tu_err_hint(&err, "%s", text);
    fuzz_check_err("set", &err);
    tu_err_prefix(&err, "pulling '%s': ", text);
    fuzz_check_err("prefix", &err);
    free(text);
    return 0;
}
