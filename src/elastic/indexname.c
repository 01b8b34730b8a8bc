/* indexname.c - reading Tracardi's Elasticsearch index names. */
#include "elastic/indexname.h"

#include <string.h>

#define ES_INDEX_NAME_MAX 255

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_lower_hex(int ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f');
}

/* Characters of a tenant and of the index part after the tenant. */
static int is_word(int ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || ch == '-' || ch == '_';
}

int tindex_valid_tenant(const char *tenant)
{
    size_t n = tenant ? strlen(tenant) : 0;
    if (n == 0 || n > TINDEX_TENANT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_word((unsigned char)tenant[i]))
            return 0;
    return 1;
}

/* The db_version for an index prefix: "074" -> "0.7.4"; "08x", "082x", "0820",
 * "09x" stay as written. Returns 0, or -1 when p is not such a prefix. */
static int db_version(const char *p, size_t n, char *out, size_t cap)
{
    size_t digits = 0;
    while (digits < n && is_digit((unsigned char)p[digits]))
        digits++;
    if (n == 3 && digits == 3) {
        if (cap < 6)
            return -1;
        out[0] = p[0];
        out[1] = '.';
        out[2] = p[1];
        out[3] = '.';
        out[4] = p[2];
        out[5] = '\0';
        return 0;
    }
    int ok = (n == 4 && digits == 4) || ((digits == 2 || digits == 3) && n == digits + 1 && p[digits] == 'x');
    if (!ok || n >= cap)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* Splits a trailing "-YYYY-{M..|qN|year}" off s[0..*n); copies it to part.
 * Tracardi writes month "2024-3", quarter "2024-q1", year "2024-year", and
 * day/hour/minute/second as digits run together ("2024-315"). */
static void split_partition(const char *s, size_t *n, char *part, size_t cap)
{
    part[0] = '\0';
    const char *dash = NULL;
    for (size_t i = *n; i > 0; i--)
        if (s[i - 1] == '-') {
            dash = s + i - 1;
            break;
        }
    if (!dash)
        return;
    const char *tail = dash + 1;
    size_t tn = (size_t)(s + *n - tail);
    int ok = 0;
    if (tn == 4 && memcmp(tail, "year", 4) == 0)
        ok = 1;
    else if (tn == 2 && tail[0] == 'q' && tail[1] >= '1' && tail[1] <= '4')
        ok = 1;
    else if (tn >= 1 && tn <= 10 && tail[0] != '0') {
        ok = 1;
        for (size_t i = 0; i < tn; i++)
            if (!is_digit((unsigned char)tail[i]))
                ok = 0;
    }
    /* The year: "-YYYY" right before. */
    size_t year_at = (size_t)(dash - s);
    if (!ok || year_at < 5 || s[year_at - 5] != '-' || s[year_at - 4] == '0')
        return;
    for (size_t i = year_at - 4; i < year_at; i++)
        if (!is_digit((unsigned char)s[i]))
            return;
    size_t start = year_at - 5;
    size_t pn = *n - start - 1;
    if (pn >= cap)
        return;
    memcpy(part, s + start + 1, pn);
    part[pn] = '\0';
    *n = start;
}

int tindex_parse_pinned(const char *index, const char *pinned_tenant, struct tindex *out)
{
    memset(out, 0, sizeof(*out));
    if (!index)
        return -1;
    size_t n = strnlen(index, ES_INDEX_NAME_MAX + 1);
    if (n == 0 || n > ES_INDEX_NAME_MAX || index[0] == '.')
        goto bad;

    const char *p = index;
    if (strncmp(p, "prod-", 5) == 0) {
        out->prefix_kind = 'p';
        p += 5;
    } else if (strncmp(p, "static-", 7) == 0) {
        out->prefix_kind = 's';
        p += 7;
    }

    const char *dot1 = strchr(p, '.');
    if (!dot1 || db_version(p, (size_t)(dot1 - p), out->db_version, sizeof(out->db_version)) < 0)
        goto bad;

    const char *tenant = dot1 + 1;
    const char *dot2 = strchr(tenant, '.');
    if (!dot2)
        goto bad;
    size_t tl = (size_t)(dot2 - tenant);
    int hex5 = tl == 5;
    for (size_t i = 0; hex5 && i < tl; i++)
        hex5 = is_lower_hex((unsigned char)tenant[i]);
    int pinned = !hex5 && tindex_valid_tenant(pinned_tenant) && strlen(pinned_tenant) == tl &&
                 memcmp(tenant, pinned_tenant, tl) == 0;
    if (!hex5 && !pinned)
        goto bad;
    memcpy(out->tenant, tenant, tl);
    out->tenant[tl] = '\0';

    const char *name = dot2 + 1;
    size_t nl = strlen(name);
    if (nl <= 9 || strncmp(name, "tracardi-", 9) != 0)
        goto bad;
    for (size_t i = 0; i < nl; i++)
        if (!is_word((unsigned char)name[i]))
            goto bad;
    split_partition(name, &nl, out->partition, sizeof(out->partition));
    /* "tracardi-" alone, or a name ending in '-', is no index Tracardi makes. */
    if (nl <= 9 || name[nl - 1] == '-' || nl >= sizeof(out->name))
        goto bad;
    memcpy(out->name, name, nl);
    out->name[nl] = '\0';
    return 0;

bad:
    memset(out, 0, sizeof(*out));
    return -1;
}

int tindex_parse(const char *index, struct tindex *out)
{
    return tindex_parse_pinned(index, NULL, out);
}

int tindex_parse_loose(const char *index, struct tindex *out)
{
    if (tindex_parse_pinned(index, NULL, out) == 0)
        return 0;
    /* The tenant is what lies between the first two dots after the prefix. */
    const char *dot1 = index ? memchr(index, '.', strnlen(index, ES_INDEX_NAME_MAX + 1)) : NULL;
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    char tenant[TINDEX_TENANT_MAX + 1];
    if (!dot2 || (size_t)(dot2 - dot1 - 1) > TINDEX_TENANT_MAX)
        return -1;
    memcpy(tenant, dot1 + 1, (size_t)(dot2 - dot1 - 1));
    tenant[dot2 - dot1 - 1] = '\0';
    return tindex_parse_pinned(index, tenant, out);
}

const char *tindex_release_key(const struct tindex *t)
{
    return t->db_version;
}
