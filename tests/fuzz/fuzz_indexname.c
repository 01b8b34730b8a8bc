/* fuzz_indexname.c - Tracardi index names from _cat/indices. A parsed name must print back as the input.
 * Input: the index name, then optionally '\n' and a pinned tenant (TENANT_NAME). */
#include <stdio.h>

#include "elastic/indexname.h"
#include "fuzz.h"

/* Writes the name back from its parts: the db_version's dots dropped, the partition re-attached. */
static void rebuild(const struct tindex *t, char *out, size_t cap)
{
    char prefix[16];
    size_t o = 0;
    for (const char *c = t->db_version; *c && o + 1 < sizeof(prefix); c++)
        if (*c != '.')
            prefix[o++] = *c;
    prefix[o] = '\0';
    snprintf(out, cap, "%s%s.%s.%s%s%s", t->prefix_kind == 'p' ? "prod-" : t->prefix_kind == 's' ? "static-" : "",
             prefix, t->tenant, t->name, t->partition[0] ? "-" : "", t->partition);
}

static void check(const char *index, const struct tindex *t, const char *pinned, int loose)
{
    char again[512];
    if (!memchr(t->db_version, '\0', sizeof(t->db_version)) || !memchr(t->tenant, '\0', sizeof(t->tenant)) ||
        !memchr(t->name, '\0', sizeof(t->name)) || !memchr(t->partition, '\0', sizeof(t->partition)))
        fuzz_fail("a field of '%s' is not terminated", index);
    if (!t->db_version[0] || strncmp(t->name, "tracardi-", 9) != 0 || !tindex_valid_tenant(t->tenant))
        fuzz_fail("'%s' parsed into db '%s' tenant '%s' name '%s'", index, t->db_version, t->tenant, t->name);
    int hex5 = strlen(t->tenant) == 5 && strspn(t->tenant, "0123456789abcdef") == 5;
    if (!hex5 && !loose && !(pinned && strcmp(pinned, t->tenant) == 0))
        fuzz_fail("'%s': tenant '%s' is neither md5-derived nor pinned", index, t->tenant);
    rebuild(t, again, sizeof(again));
    if (strcmp(again, index) != 0)
        fuzz_fail("'%s' parsed and printed back as '%s'", index, again);
    if (tindex_release_key(t) != t->db_version)
        fuzz_fail("release key is not the db_version");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t rest_len;
    char *index = fuzz_split(data, size, &rest, &rest_len);
    char *pinned = size && memchr(data, '\n', size) ? fuzz_cstr(rest, rest_len) : NULL;
    struct tindex t;

    int plain = tindex_parse(index, &t);
    if (plain == 0)
        check(index, &t, NULL, 0);
    int pin = tindex_parse_pinned(index, pinned, &t);
    if (pin == 0)
        check(index, &t, pinned, 0);
    if (plain == 0 && pin != 0)
        fuzz_fail("'%s' parses, but not with a pinned tenant", index);
    int loose = tindex_parse_loose(index, &t);
    if (loose == 0)
        check(index, &t, NULL, 1);
    if (pin == 0 && loose != 0)
        fuzz_fail("'%s' parses pinned, but not loose", index);
    if (plain != 0 && pin != 0 && loose != 0) {
        static const struct tindex zero;
        if (memcmp(&t, &zero, sizeof(t)) != 0)
            fuzz_fail("a refused name left fields set");
    }

    free(index);
    free(pinned);
    return 0;
}
