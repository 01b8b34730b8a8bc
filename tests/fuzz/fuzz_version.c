/* fuzz_version.c - Tracardi versions (--to, image tags, the api's /info/version/details) and db_versions.
 * Input: two versions separated by '\n'; their order must be consistent both ways. */
#include "fuzz.h"
#include "tracardi/releases.h"
#include "tracardi/version.h"

static void one(const char *s, const struct tversion *v)
{
    if (strcmp(v->text, s) != 0)
        fuzz_fail("'%s' kept as '%s'", s, v->text);
    if (v->nparts < 2 || v->nparts > TVERSION_MAX_PARTS)
        fuzz_fail("'%s' has %d parts", s, v->nparts);
    if (tversion_cmp(v, v) != 0)
        fuzz_fail("'%s' does not equal itself", s);
    (void)tversion_is_dev(v);
    (void)tversion_is_rc(v);
    const char *db = tracardi_db_version(v);
    char label[64], prefix[16];
    if (db) {
        release_label_of_db(db, label, sizeof(label));
        release_db_prefix(db, prefix, sizeof(prefix));
        if (release_db_compare(db, db) != 0)
            fuzz_fail("db_version '%s' does not equal itself", db);
    }
    char tenant[6];
    release_tenant(v, tenant);
    if (strlen(tenant) != 5 || strspn(tenant, "0123456789abcdef") != 5)
        fuzz_fail("tenant '%s' for '%s'", tenant, s);
    (void)release_info_of(v);
    (void)release_index_count(v);
    (void)release_install_shards(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t rest_len;
    char *a = fuzz_split(data, size, &rest, &rest_len);
    char *b = fuzz_cstr(rest, rest_len);
    struct tversion va, vb;
    struct tu_err err;
    int oka = tversion_parse(a, &va, &err) == 0;
    if (!oka)
        fuzz_check_err("version", &err);
    int okb = tversion_parse(b, &vb, &err) == 0;
    if (oka)
        one(a, &va);
    if (okb)
        one(b, &vb);
    if (oka && okb) {
        int ab = tversion_cmp(&va, &vb), ba = tversion_cmp(&vb, &va);
        if (ab != -ba || ab < -1 || ab > 1)
            fuzz_fail("'%s' vs '%s': %d, reversed %d", a, b, ab, ba);
        struct hop hops[MAX_HOPS];
        size_t n = 0;
        if (release_hops(&va, &vb, hops, &n, &err) == 0 && (n == 0 || n > MAX_HOPS))
            fuzz_fail("%zu hops from '%s' to '%s'", n, a, b);
    }
    /* The same text as a target, and as a db_version read from an index or the api. */
    int warn = 0;
    if (tversion_check_target(a, 0, &va, &warn, &err) < 0)
        fuzz_check_err("target version", &err);
    char label[64], prefix[16];
    release_label_of_db(b, label, sizeof(label));
    release_db_prefix(b, prefix, sizeof(prefix));
    int dab = release_db_compare(a, b), dba = release_db_compare(b, a);
    if ((dab < 0) != (dba > 0) || (dab == 0) != (dba == 0))
        fuzz_fail("db_versions '%s' vs '%s': %d, reversed %d", a, b, dab, dba);
    free(a);
    free(b);
    return 0;
}
