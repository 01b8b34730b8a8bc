/* fuzz_bundle.c - the offline bundle's parsers: manifest, SHA256SUMS, member names, load stream lines. */
#include "bundle/format.h"
#include "fuzz.h"

static void manifest(const uint8_t *data, size_t size)
{
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    if (bundle_manifest_parse((const char *)data, size, &m, &err) < 0) {
        if (m.n || m.registry)
            fuzz_fail("a refused manifest left data behind");
        if (!memchr(err.msg, '\0', sizeof(err.msg)) || !err.msg[0])
            fuzz_fail("a refusal without a message");
        return;
    }
    if (m.n == 0 || m.n > BUNDLE_MAX_IMAGES || !m.registry)
        fuzz_fail("an accepted manifest with %zu images", m.n);
    for (size_t i = 0; i < m.n; i++) {
        if (bundle_member_kind(m.img[i].member) != BM_IMAGE)
            fuzz_fail("an accepted manifest with member '%s'", m.img[i].member);
        if (!sha256_hex_valid(m.img[i].sha256) || m.img[i].size == 0 || m.img[i].size > BUNDLE_IMAGE_MAX)
            fuzz_fail("an accepted image with a bad sum or size");
        for (size_t k = 0; k < i; k++)
            if (strcmp(m.img[k].role, m.img[i].role) == 0)
                fuzz_fail("an accepted manifest with role '%s' twice", m.img[i].role);
    }
    /* What it prints parses again to the same. */
    json_t *j = bundle_manifest_json(&m);
    char *text = json_dumps(j, JSON_COMPACT);
    struct bundle_manifest again;
    if (bundle_manifest_parse(text, strlen(text), &again, &err) < 0)
        fuzz_fail("a manifest's own JSON is refused: %s", err.msg);
    bundle_manifest_free(&again);
    free(text);
    json_decref(j);
    bundle_manifest_free(&m);
}

static void sums(const uint8_t *data, size_t size)
{
    struct bundle_sums s;
    struct tu_err err;
    tu_err_clear(&err);
    if (bundle_sums_parse((const char *)data, size, &s, &err) < 0)
        return;
    if (!bundle_sums_get(&s, BUNDLE_MANIFEST))
        fuzz_fail("accepted sums without the manifest");
    for (size_t i = 0; i < s.n; i++) {
        enum bundle_member k = bundle_member_kind(s.name[i]);
        if ((k != BM_MANIFEST && k != BM_IMAGE) || !sha256_hex_valid(s.hex[i]))
            fuzz_fail("accepted sums line %zu", i);
    }
}

static void name(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    enum bundle_member k = bundle_member_kind(s);
    size_t n = strlen(s);
    int dotdot = strcmp(s, "..") == 0 || strncmp(s, "../", 3) == 0 || strstr(s, "/../") ||
                 (n >= 3 && strcmp(s + n - 3, "/..") == 0);
    if (k != BM_UNSAFE && (s[0] == '/' || dotdot || strchr(s, '\\') || n > 64 || n == 0))
        fuzz_fail("'%s' passed as a safe member name", s);
    free(s);
}

static void load_lines(const uint8_t *data, size_t size)
{
    struct load_result r;
    load_result_init(&r);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int rc = load_result_line(&r, p, len);
        if (rc < 0 && !r.failed)
            fuzz_fail("an error line did not fail the load");
        p += len + 1;
    }
    if (!memchr(r.error, '\0', sizeof(r.error)) || strpbrk(r.error, "\r\n") || r.nloaded > BUNDLE_MAX_IMAGES)
        fuzz_fail("the load result is malformed");
    if (r.failed && !r.error[0])
        fuzz_fail("a failure without a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t which = data[0] % 4;
    data++;
    size--;
    switch (which) {
    case 0: manifest(data, size); break;
    case 1: sums(data, size); break;
    case 2: name(data, size); break;
    default: load_lines(data, size); break;
    }
    return 0;
}
