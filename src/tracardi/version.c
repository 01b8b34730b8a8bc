/* version.c - Tracardi version strings. */
#include "tracardi/version.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tversion_parse(const char *s, struct tversion *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!s || !*s)
        return tu_err_set(err, TU_ERR_USAGE, "empty version");
    if (strcasecmp(s, "latest") == 0) {
        tu_err_set(err, TU_ERR_USAGE, "'latest' is not a version: it moves, so an upgrade to it cannot be "
                                      "pinned or rolled back");
        tu_err_hint(err, "name the release, e.g. --to 0.8.2");
        return -1;
    }
    size_t len = strlen(s);
    if (len >= sizeof(out->text))
        return tu_err_set(err, TU_ERR_USAGE, "version is too long (%zu characters)", len);

    const char *p = s;
    if (*p == 'v' || *p == 'V')
        return tu_err_set(err, TU_ERR_USAGE, "invalid version '%s': write it without 'v', e.g. 0.8.2", s);
    for (;;) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        if (out->nparts == TVERSION_MAX_PARTS)
            goto bad;
        if (p[0] == '0' && isdigit((unsigned char)p[1]))
            goto bad;
        long n = 0;
        while (isdigit((unsigned char)*p)) {
            n = n * 10 + (*p - '0');
            if (n > 99999)
                goto bad;
            p++;
        }
        out->parts[out->nparts++] = (int)n;
        if (*p == '.') {
            p++;
            continue;
        }
        break;
    }
    if (out->nparts < 2)
        goto bad;
    if (*p == '-') {
        p++;
        size_t n = strlen(p);
        if (n == 0 || n >= sizeof(out->suffix) || !isalnum((unsigned char)p[0]))
            goto bad;
        for (size_t i = 0; i < n; i++)
            if (!isalnum((unsigned char)p[i]) && p[i] != '.')
                goto bad;
        memcpy(out->suffix, p, n + 1);
    } else if (*p) {
        goto bad;
    }
    memcpy(out->text, s, len + 1);
    return 0;
bad:
    memset(out, 0, sizeof(*out));
    tu_err_set(err, TU_ERR_USAGE, "invalid version '%.40s': expected numbers and dots with an optional "
                                  "suffix, e.g. 0.8.2 or 0.8.2-rc1", s);
    return -1;
}

/* Orders suffixes: dev builds < rc < other pre-releases < a release. */
static int suffix_rank(const char *s)
{
    if (!*s)
        return 3;
    if (strncasecmp(s, "dev", 3) == 0)
        return 0;
    if (strncasecmp(s, "rc", 2) == 0)
        return 1;
    return 2;
}

int tversion_cmp(const struct tversion *a, const struct tversion *b)
{
    int n = a->nparts > b->nparts ? a->nparts : b->nparts;
    for (int i = 0; i < n; i++) {
        int x = i < a->nparts ? a->parts[i] : 0;
        int y = i < b->nparts ? b->parts[i] : 0;
        if (x != y)
            return x < y ? -1 : 1;
    }
    int ra = suffix_rank(a->suffix), rb = suffix_rank(b->suffix);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    /* rc2 < rc10: compare the letters, then the number that follows. */
    const char *x = a->suffix, *y = b->suffix;
    while (*x && *y && !isdigit((unsigned char)*x) && *x == *y) {
        x++;
        y++;
    }
    if (isdigit((unsigned char)*x) && isdigit((unsigned char)*y)) {
        long nx = strtol(x, NULL, 10), ny = strtol(y, NULL, 10);
        if (nx != ny)
            return nx < ny ? -1 : 1;
    }
    int c = strcmp(a->suffix, b->suffix);
    return c < 0 ? -1 : c > 0;
}

int tversion_is_dev(const struct tversion *v)
{
    for (const char *p = v->suffix; *p; p++)
        if (strncasecmp(p, "dev", 3) == 0)
            return 1;
    return 0;
}

int tversion_is_rc(const struct tversion *v)
{
    return strncasecmp(v->suffix, "rc", 2) == 0;
}

int tversion_at_least(const struct tversion *v, int major, int minor, int patch)
{
    struct tversion ref = {.parts = {major, minor, patch}, .nparts = 3};
    struct tversion plain = *v;
    plain.suffix[0] = '\0';
    return tversion_cmp(&plain, &ref) >= 0;
}

int tversion_same_release(const char *reported, const char *target)
{
    if (!reported || !target)
        return 0;
    if (strcmp(reported, target) == 0)
        return 1;
    struct tversion r, t;
    struct tu_err e;
    if (tversion_parse(reported, &r, &e) < 0 || tversion_parse(target, &t, &e) < 0)
        return 0;
    if (t.nparts != 4 || r.nparts != 3 || r.suffix[0] || t.suffix[0])
        return 0;
    return r.parts[0] == t.parts[0] && r.parts[1] == t.parts[1] && r.parts[2] == t.parts[2];
}

int tversion_newest_patch(const char *const *tags, size_t n, const struct tversion *release, struct tversion *out)
{
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        struct tversion t;
        struct tu_err e;
        if (!tags[i] || tversion_parse(tags[i], &t, &e) < 0 || t.suffix[0] || t.nparts < 3)
            continue;
        if (t.parts[0] != release->parts[0] || t.parts[1] != (release->nparts > 1 ? release->parts[1] : 0) ||
            t.parts[2] != (release->nparts > 2 ? release->parts[2] : 0))
            continue;
        if (!found || tversion_cmp(&t, out) > 0)
            *out = t;
        found = 1;
    }
    return found;
}

const char *tracardi_db_version(const struct tversion *v)
{
    static const struct {
        int major, minor, patch;
        const char *db;
    } table[] = {
        {0, 7, 0, "0.7.0"}, {0, 7, 1, "0.7.1"}, {0, 7, 2, "0.7.2"}, {0, 7, 3, "0.7.3"},
        {0, 7, 4, "0.7.4"}, {0, 8, 0, "0.8.0"}, {0, 8, 1, "08x"},   {0, 8, 2, "0820"},
    };
    int maj = v->parts[0], min = v->nparts > 1 ? v->parts[1] : 0, pat = v->nparts > 2 ? v->parts[2] : 0;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].major == maj && table[i].minor == min && table[i].patch == pat)
            return table[i].db;
    /* 0.9.x, 1.0.x and 1.1.x share the 0.9 indices. */
    if ((maj == 0 && min == 9) || (maj == 1 && (min == 0 || min == 1)))
        return "09x";
    return NULL;
}

int tversion_check_target(const char *s, int allow_dev, struct tversion *out, int *warn_rc,
                          struct tu_err *err)
{
    if (warn_rc)
        *warn_rc = 0;
    if (tversion_parse(s, out, err) < 0)
        return -1;
    if (tversion_is_dev(out) && !allow_dev) {
        tu_err_set(err, TU_ERR_REFUSED, "'%s' is a development build: Tracardi's -dev releases may lose "
                                        "data on upgrade", out->text);
        tu_err_hint(err, "pass --allow-dev to use it anyway, on a copy of your data");
        return -1;
    }
    if (warn_rc && tversion_is_rc(out))
        *warn_rc = 1;
    return 0;
}
