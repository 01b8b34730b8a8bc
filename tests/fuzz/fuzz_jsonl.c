/* fuzz_jsonl.c - splitting a daemon stream into lines, checked against a one-pass reference split.
 * The first input bytes choose the line cap, chunk sizes and when the callback stops;
 * the same stream must give the same lines however it is cut into chunks. */
#include "fuzz.h"
#include "util/jsonl.h"

#define MAX_LINES 4096

struct seen {
    size_t n;
    size_t stop_at;       /* the callback returns non-zero at this line (1-based), or 0 */
    size_t max_line;
    char *line[MAX_LINES];
    size_t len[MAX_LINES];
    int overflow;
};

static int on_line(void *ud, const char *line, size_t len)
{
    struct seen *s = ud;
    if (len == 0 || len > s->max_line)
        fuzz_fail("line of %zu bytes delivered (cap %zu)", len, s->max_line);
    if (memchr(line, '\n', len))
        fuzz_fail("line holds a newline");
    if (s->n == MAX_LINES) {
        s->overflow = 1;
        return 0;
    }
    char *copy = malloc(len);
    if (!copy)
        abort();
    memcpy(copy, line, len);
    s->line[s->n] = copy;
    s->len[s->n++] = len;
    return s->stop_at && s->n == s->stop_at ? 7 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    struct seen s;
    memset(&s, 0, sizeof(s));
    s.max_line = 1 + data[0] % 64;
    s.stop_at = data[1] % 8;
    unsigned seed = data[2];
    data += 3;
    size -= 3;

    struct jsonl j;
    jsonl_init(&j, s.max_line, on_line, &s);
    int rc = 0;
    size_t off = 0;
    while (off < size && rc == 0) {
        seed = seed * 1103515245u + 12345u;
        size_t chunk = 1 + (seed >> 16) % 17;
        if (chunk > size - off)
            chunk = size - off;
        rc = jsonl_feed(&j, (const char *)data + off, chunk);
        off += chunk;
    }
    if (rc == 0)
        rc = jsonl_finish(&j);
    if (rc == 0 && jsonl_feed(&j, "", 0) != 0)
        fuzz_fail("an empty feed failed");

    /* Reference: split the whole input at once. */
    int want_rc = 0;
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= size && want_rc == 0; i++) {
        if (i < size && data[i] != '\n')
            continue;
        size_t len = i - start;
        const char *line = (const char *)data + start;
        start = i + 1;
        if (len && line[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        if (len > s.max_line) {
            want_rc = -1;
            break;
        }
        if (k >= s.n || s.len[k] != len || memcmp(s.line[k], line, len) != 0) {
            if (!s.overflow)
                fuzz_fail("line %zu differs from the reference split", k + 1);
            break;
        }
        k++;
        if (s.stop_at && k == s.stop_at)
            want_rc = 7;
    }
    if (!s.overflow) {
        if (rc != want_rc)
            fuzz_fail("jsonl returned %d, the reference %d", rc, want_rc);
        if (k != s.n)
            fuzz_fail("jsonl delivered %zu lines, the reference %zu", s.n, k);
    }

    for (size_t i = 0; i < s.n; i++)
        free(s.line[i]);
    jsonl_free(&j);
    return 0;
}
