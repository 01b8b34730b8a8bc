/* regheaders.c - what a registry's answers carry: WWW-Authenticate challenges, Link pages, tag names. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/regapi.h"
#include "util/buf.h"
#include "util/xalloc.h"

int reg_tag_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

int reg_host_is_loopback(const char *hostport)
{
    if (!hostport)
        return 0;
    if (strncmp(hostport, "[::1]", 5) == 0)
        return hostport[5] == '\0' || (hostport[5] == ':' && hostport[6] && strlen(hostport + 6) <= 5 &&
                                        strspn(hostport + 6, "0123456789") == strlen(hostport + 6));
    const char *colon = strchr(hostport, ':');
    size_t hl = colon ? (size_t)(colon - hostport) : strlen(hostport);
    /* After the host only a port: "localhost:1@evil.example" is evil.example's. */
    if (colon && (!colon[1] || strlen(colon + 1) > 5 || strspn(colon + 1, "0123456789") != strlen(colon + 1)))
        return 0;
    if (hl == 9 && strncasecmp(hostport, "localhost", 9) == 0)
        return 1;
    /* 127.a.b.c: four numbers up to 255, the first 127. */
    int parts = 0, val = -1;
    for (size_t i = 0; i <= hl; i++) {
        char c = i < hl ? hostport[i] : '.';
        if (c >= '0' && c <= '9') {
            val = (val < 0 ? 0 : val * 10) + (c - '0');
            if (val > 255)
                return 0;
        } else if (c == '.') {
            if (val < 0 || (parts == 0 && val != 127))
                return 0;
            parts++;
            val = -1;
        } else {
            return 0;
        }
    }
    return parts == 4;
}

static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int is_tchar(char c)
{
    return c != '\0' && (isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A token or a quoted string at *pp (into a new string); NULL when malformed. */
static char *param_value(const char **pp)
{
    const char *p = *pp;
    struct buf b;
    buf_init(&b, REG_HEADER_VALUE_MAX);
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            if (buf_append(&b, p, 1) < 0)
                goto bad;
            p++;
        }
        if (*p != '"')
            goto bad;
        p++;
    } else {
        const char *s = p;
        while (*p && (is_tchar(*p) || *p == '/' || *p == ':' || *p == '='))
            p++;
        if (p == s || buf_append(&b, s, (size_t)(p - s)) < 0)
            goto bad;
    }
    *pp = p;
    if (!b.data)
        buf_append(&b, "", 0);
    return buf_detach(&b);
bad:
    buf_free(&b);
    return NULL;
}

void www_auth_free(struct www_auth *a)
{
    if (!a)
        return;
    free(a->realm);
    free(a->service);
    free(a->scope);
    memset(a, 0, sizeof(*a));
}

int reg_parse_www_auth(const char *value, struct www_auth *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!value || strlen(value) > REG_HEADER_VALUE_MAX || has_ctl(value))
        return tu_err_set(err, TU_ERR_PROTOCOL, "the WWW-Authenticate header is missing, too long or not text");
    const char *p = skip_ws(value);
    size_t sl = 0;
    while (is_tchar(p[sl]))
        sl++;
    if (sl == 0 || sl >= sizeof(out->scheme))
        return tu_err_set(err, TU_ERR_PROTOCOL, "the WWW-Authenticate header names no scheme");
    memcpy(out->scheme, p, sl);
    p += sl;
    if (*p && *p != ' ' && *p != '\t')
        goto bad;
    p = skip_ws(p);
    while (*p) {
        const char *k = p;
        while (is_tchar(*p))
            p++;
        size_t kl = (size_t)(p - k);
        p = skip_ws(p);
        if (kl == 0)
            goto bad;
        if (*p != '=') {
            /* "Bearer …, Basic realm=…": a second challenge starts; the first is enough. */
            if (*p == '\0' || *p == ' ' || is_tchar(*p))
                break;
            goto bad;
        }
        p = skip_ws(p + 1);
        char *v = param_value(&p);
        if (!v)
            goto bad;
        char **slot = kl == 5 && strncasecmp(k, "realm", 5) == 0     ? &out->realm
                    : kl == 7 && strncasecmp(k, "service", 7) == 0 ? &out->service
                    : kl == 5 && strncasecmp(k, "scope", 5) == 0   ? &out->scope
                                                                   : NULL;
        if (slot && !*slot)
            *slot = v;
        else
            free(v);
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p)
            goto bad;
    }
    return 0;
bad:
    www_auth_free(out);
    return tu_err_set(err, TU_ERR_PROTOCOL, "the WWW-Authenticate header '%.120s' cannot be read", value);
}

int reg_parse_link_next(const char *value, char **out, struct tu_err *err)
{
    *out = NULL;
    if (!value || strlen(value) > REG_HEADER_VALUE_MAX || has_ctl(value))
        return tu_err_set(err, TU_ERR_PROTOCOL, "the Link header is too long or not text");
    const char *p = skip_ws(value);
    while (*p) {
        if (*p != '<')
            goto bad;
        const char *u = ++p;
        while (*p && *p != '>' && *p != ' ' && *p != '<')
            p++;
        if (*p != '>' || p == u || (size_t)(p - u) > REG_URL_MAX)
            goto bad;
        size_t ul = (size_t)(p - u);
        p = skip_ws(p + 1);
        int next = 0;
        while (*p == ';') {
            p = skip_ws(p + 1);
            const char *k = p;
            while (is_tchar(*p))
                p++;
            size_t kl = (size_t)(p - k);
            p = skip_ws(p);
            if (kl == 0 || *p != '=')
                goto bad;
            p = skip_ws(p + 1);
            char *v = param_value(&p);
            if (!v)
                goto bad;
            if (kl == 3 && strncasecmp(k, "rel", 3) == 0) {
                /* rel holds space-separated relation types. */
                char *save = NULL;
                for (char *t = strtok_r(v, " ", &save); t; t = strtok_r(NULL, " ", &save))
                    next |= strcasecmp(t, "next") == 0;
            }
            free(v);
            p = skip_ws(p);
        }
        if (*p == ',')
            p = skip_ws(p + 1);
        else if (*p)
            goto bad;
        if (next && !*out)
            *out = xstrndup(u, ul);
    }
    return 0;
bad:
    free(*out);
    *out = NULL;
    return tu_err_set(err, TU_ERR_PROTOCOL, "the Link header '%.120s' cannot be read", value);
}

int reg_next_url(const char *base, const char *link, char **out, struct tu_err *err)
{
    *out = NULL;
    size_t bl = strlen(base);
    const char *path = NULL;
    if (link[0] == '/' && link[1] != '/') {
        path = link;
    } else if (strncmp(link, "http://", 7) == 0 || strncmp(link, "https://", 8) == 0) {
        if (strncmp(link, base, bl) != 0 || link[bl] != '/')
            return tu_err_set(err, TU_ERR_PROTOCOL, "the registry's next page '%.120s' is not on %s: not followed",
                              link, base);
        path = link + bl;
    } else {
        return tu_err_set(err, TU_ERR_PROTOCOL, "the registry's next page '%.120s' is not a URL tracup follows",
                          link);
    }
    if (strncmp(path, "/v2/", 4) != 0)
        return tu_err_set(err, TU_ERR_PROTOCOL, "the registry's next page '%.120s' is outside its /v2/ API", link);
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '#')
            return tu_err_set(err, TU_ERR_PROTOCOL, "the registry's next page '%.120s' is not a valid URL", link);
    *out = xasprintf("%s%s", base, path);
    return 0;
}
