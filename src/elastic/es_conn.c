/* es_conn.c - where an Elasticsearch is and how to log in, read as tracardi-api reads it. */
#include "elastic/es.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/auth.h"
#include "util/xalloc.h"

#define ES_HOST_MAX 1024

void es_conn_free(struct es_conn *c)
{
    if (!c)
        return;
    free(c->base);
    free(c->user);
    secret_free(c->password);
    secret_free(c->api_key);
    free(c->ca_file);
    memset(c, 0, sizeof(*c));
}

/* A copy of s[0..n) with %XX sequences decoded (the caller frees); a '%' not
 * followed by two hex digits stays as it is. */
static char *pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
            char hex[3] = {s[i + 1], s[i + 2], '\0'};
            out[o++] = (char)strtol(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static int is_name_char(int ch)
{
    return isalnum(ch) || ch == '.' || ch == '-' || ch == '_';
}

/* A DNS name or IPv4 address. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* The inside of [...]: hex digits, ':', '.', and a zone after '%'. */
static int valid_ipv6(const char *s, size_t n)
{
    if (n < 2 || n > 64 || !memchr(s, ':', n))
        return 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (!isxdigit(ch) && ch != ':' && ch != '.' && ch != '%')
            return 0;
    }
    return 1;
}

/* Sets *scheme to a static "http"/"https"; 0 or -1 when it is neither. */
static int pick_scheme(const char *s, size_t n, const char **scheme)
{
    if (n == 4 && strncasecmp(s, "http", 4) == 0)
        *scheme = "http";
    else if (n == 5 && strncasecmp(s, "https", 5) == 0)
        *scheme = "https";
    else
        return -1;
    return 0;
}

/* One entry of ELASTIC_HOST, already trimmed: [scheme://][user[:pass]@]host[:port][/prefix]. */
static int parse_host(struct es_conn *out, const char *spec, size_t len, const char *default_scheme,
                      es_resolve_fn resolve, void *ud, struct tu_err *err)
{
    const char *scheme = NULL;
    const char *p = spec, *end = spec + len;
    const char *sep = NULL;
    for (const char *q = spec; q + 3 <= end; q++)
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            sep = q;
            break;
        }
    if (sep) {
        if (pick_scheme(spec, (size_t)(sep - spec), &scheme) < 0)
            return tu_err_set(err, TU_ERR_USAGE, "elasticsearch host '%.*s' has a scheme other than http or https",
                              (int)(sep - spec), spec);
        p = sep + 3;
    } else {
        const char *d = default_scheme && *default_scheme ? default_scheme : "http";
        if (pick_scheme(d, strlen(d), &scheme) < 0)
            return tu_err_set(err, TU_ERR_USAGE, "ELASTIC_SCHEME '%.20s' is neither http nor https", d);
    }

    const char *auth_end = p;
    while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
        auth_end++;
    if (auth_end < end && *auth_end != '/')
        return tu_err_set(err, TU_ERR_USAGE, "elasticsearch host URL must not carry a query or fragment");
    const char *path = auth_end;

    /* Userinfo: everything up to the last '@' of the authority. */
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@')
            at = q;
    char *user = NULL, *password = NULL;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            user = pct_decode(p, (size_t)(colon - p));
            password = pct_decode(colon + 1, (size_t)(at - colon - 1));
        } else {
            user = pct_decode(p, (size_t)(at - p));
        }
        p = at + 1;
    }

    const char *host = p, *host_end;
    const char *port_s = NULL;
    int bracketed = 0;
    if (p < auth_end && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        host = p + 1;
        host_end = rb;
        bracketed = 1;
        if (!rb || !valid_ipv6(host, (size_t)(rb - host)))
            goto bad_host;
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                goto bad_host;
            port_s = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        host_end = colon ? colon : auth_end;
        if (colon)
            port_s = colon + 1;
        if (!valid_name(host, (size_t)(host_end - host)))
            goto bad_host;
    }

    long port = ES_DEFAULT_PORT;
    if (port_s) {
        size_t pn = (size_t)(auth_end - port_s);
        if (pn == 0 || pn > 5)
            goto bad_host;
        port = 0;
        for (size_t i = 0; i < pn; i++) {
            if (!isdigit((unsigned char)port_s[i]))
                goto bad_host;
            port = port * 10 + (port_s[i] - '0');
        }
        if (port < 1 || port > 65535)
            goto bad_host;
    }

    char *hostname = xstrndup(host, (size_t)(host_end - host));
    const char *target = hostname;
    int target_v6 = bracketed;
    const char *r = resolve ? resolve(ud, hostname) : NULL;
    if (r && *r) {
        size_t rn = strlen(r);
        if (valid_name(r, rn)) {
            target_v6 = 0;
        } else if (valid_ipv6(r, rn)) {
            target_v6 = 1;
        } else {
            tu_err_set(err, TU_ERR_USAGE, "elasticsearch host '%.100s' resolved to an invalid address '%.100s'",
                       hostname, r);
            free(hostname);
            free(user);
            secret_free(password);
            return -1;
        }
        target = r;
    }

    size_t path_len = (size_t)(end - path);
    while (path_len > 0 && path[path_len - 1] == '/')
        path_len--;
    out->base = xasprintf("%s://%s%s%s:%ld%.*s", scheme, target_v6 ? "[" : "", target, target_v6 ? "]" : "",
                          port, (int)path_len, path);
    free(hostname);
    out->user = user;
    out->password = password;
    return 0;

bad_host:
    free(user);
    secret_free(password);
    /* The spec may hold a password: name only the part after the userinfo. */
    return tu_err_set(err, TU_ERR_USAGE, "elasticsearch host '%.*s' is not host[:port] with a port 1-65535",
                      (int)(auth_end - p > 200 ? 200 : auth_end - p), p);
}

/* The first entry of a comma list without surrounding blanks: a pointer into
 * s (borrowed) and its length in *len. */
static const char *trimmed(const char *s, size_t *len)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, ",");
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    *len = n;
    return s;
}

/* s itself (borrowed) when it holds anything, else NULL. */
static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

int es_conn_from_env(struct es_conn *out, es_env_fn env, void *ud, es_resolve_fn resolve,
                     struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    const char *hosts = env(ud, "ELASTIC_HOST");
    if (!hosts)
        hosts = "http://localhost:9200";
    size_t len = 0;
    const char *first = trimmed(hosts, &len);
    if (len == 0)
        return tu_err_set(err, TU_ERR_USAGE, "ELASTIC_HOST of the api container names no host");
    if (len > ES_HOST_MAX)
        return tu_err_set(err, TU_ERR_USAGE, "ELASTIC_HOST of the api container is too long");
    if (parse_host(out, first, len, nonempty(env(ud, "ELASTIC_SCHEME")), resolve, ud, err) < 0) {
        tu_err_prefix(err, "ELASTIC_HOST: ");
        es_conn_free(out);
        return -1;
    }

    /* Credentials in the URL win, as in the Python client: per-host auth overrides. */
    if (!out->user && !out->password) {
        const char *pw = nonempty(env(ud, "ELASTIC_HTTP_AUTH_PASSWORD"));
        if (pw) {
            const char *u = nonempty(env(ud, "ELASTIC_HTTP_AUTH_USERNAME"));
            out->user = xstrdup(u ? u : "elastic");
            out->password = xstrdup(pw);
        }
    }
    const char *kid = nonempty(env(ud, "ELASTIC_API_KEY_ID"));
    const char *key = nonempty(env(ud, "ELASTIC_API_KEY"));
    if (kid && key)
        out->api_key = xasprintf("%s:%s", kid, key);

    out->ca_file = xstrdup(nonempty(env(ud, "ELASTIC_CA_FILE")));
    const char *verify = env(ud, "ELASTIC_VERIFY_CERTS");
    out->insecure = verify && (strcasecmp(verify, "no") == 0 || strcasecmp(verify, "false") == 0 ||
                               strcmp(verify, "0") == 0);
    out->timeout_ms = ES_DEFAULT_TIMEOUT_MS;
    return 0;
}

int es_conn_from_url(struct es_conn *out, const char *url, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    size_t len = url ? strlen(url) : 0;
    if (len == 0 || len > ES_HOST_MAX || strchr(url, ','))
        return tu_err_set(err, TU_ERR_USAGE, "the elasticsearch URL must be one http[s]://host[:port]");
    if (parse_host(out, url, len, "http", NULL, NULL, err) < 0) {
        es_conn_free(out);
        return -1;
    }
    out->timeout_ms = ES_DEFAULT_TIMEOUT_MS;
    return 0;
}

char *es_conn_describe(const struct es_conn *c)
{
    const char *tls = c->insecure ? ", tls verification off" : "";
    if (c->api_key)
        return xasprintf("%s (api key%s)", c->base, tls);
    if (c->user)
        return xasprintf("%s (basic auth as '%.64s'%s)", c->base, c->user, tls);
    return xasprintf("%s (no auth%s)", c->base, tls);
}
