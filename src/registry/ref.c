/* ref.c - parsing and normalising image references as the docker CLI does. */
#include "registry/ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define NAME_MAX_LEN 255

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )* */
static int path_component_valid(const char *s, size_t n)
{
    if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
        return 0;
    for (size_t i = 0; i < n;) {
        if (is_lower_alnum(s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        if (s[i] == '.') {
            j = i + 1;
        } else if (s[i] == '_') {
            j = i + 1;
            if (j < n && s[j] == '_')
                j++;
        } else if (s[i] == '-') {
            while (j < n && s[j] == '-')
                j++;
        } else {
            return 0;
        }
        if (j >= n || !is_lower_alnum(s[j]))
            return 0;
        i = j;
    }
    return 1;
}

/* domain := label ("." label)* [":" port], label := [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? */
static int domain_valid(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t host_len = colon ? (size_t)(colon - s) : n;
    if (host_len == 0)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i < host_len; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-')
            return 0;
        if (label == 0 && c == '-')
            return 0;
        label++;
    }
    if (label == 0 || s[host_len - 1] == '-')
        return 0;
    if (colon) {
        size_t plen = n - host_len - 1;
        if (plen == 0 || plen > 5)
            return 0;
        long port = 0;
        for (size_t i = host_len + 1; i < n; i++) {
            if (!isdigit((unsigned char)s[i]))
                return 0;
            port = port * 10 + (s[i] - '0');
        }
        if (port < 1 || port > 65535)
            return 0;
    }
    return 1;
}

static int tag_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    if (!(isalnum((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

int image_digest_valid(const char *d)
{
    if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
        return 0;
    for (const char *p = d + 7; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int looks_like_domain(const char *s, size_t n)
{
    if (n == 9 && strncmp(s, "localhost", 9) == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ':' || isupper((unsigned char)s[i]))
            return 1;
    return 0;
}

int image_ref_parse(const char *s, struct image_ref *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!s || !*s)
        return tu_err_set(err, TU_ERR_USAGE, "empty image reference");
    size_t total = strlen(s);
    if (total > NAME_MAX_LEN + 1 + 128 + 1 + 71)
        return tu_err_set(err, TU_ERR_USAGE, "image reference is too long (%zu bytes)", total);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return tu_err_set(err, TU_ERR_USAGE, "image reference contains a space or control character");

    char *copy = xstrdup(s);
    char *name = copy;
    char *at = strchr(name, '@');
    if (at) {
        *at = '\0';
        if (!image_digest_valid(at + 1)) {
            free(copy);
            return tu_err_set(err, TU_ERR_USAGE, "invalid digest in image reference '%s'", s);
        }
        out->digest = xstrdup(at + 1);
    }
    char *slash = strrchr(name, '/');
    char *colon = strrchr(name, ':');
    if (colon && (!slash || colon > slash)) {
        *colon = '\0';
        if (!tag_valid(colon + 1)) {
            free(copy);
            image_ref_free(out);
            return tu_err_set(err, TU_ERR_USAGE, "invalid tag in image reference '%s'", s);
        }
        out->tag = xstrdup(colon + 1);
    }
    if (strlen(name) > NAME_MAX_LEN) {
        free(copy);
        image_ref_free(out);
        return tu_err_set(err, TU_ERR_USAGE, "repository name in '%s' is longer than %d characters", s,
                          NAME_MAX_LEN);
    }

    const char *path = name;
    char *first = strchr(name, '/');
    if (first && looks_like_domain(name, (size_t)(first - name))) {
        if (!domain_valid(name, (size_t)(first - name))) {
            free(copy);
            image_ref_free(out);
            return tu_err_set(err, TU_ERR_USAGE, "invalid registry host in image reference '%s'", s);
        }
        out->domain = xstrndup(name, (size_t)(first - name));
        path = first + 1;
    } else {
        out->domain = xstrdup(DOCKER_HUB_DOMAIN);
    }
    if (strcmp(out->domain, "index.docker.io") == 0) {
        free(out->domain);
        out->domain = xstrdup(DOCKER_HUB_DOMAIN);
    }

    /* every path component must be valid */
    const char *p = path;
    int components = 0;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (!path_component_valid(p, n)) {
            free(copy);
            image_ref_free(out);
            return tu_err_set(err, TU_ERR_USAGE,
                              "invalid repository name in image reference '%s' (lower-case letters, "
                              "digits and . _ - only)", s);
        }
        components++;
        if (!e)
            break;
        p = e + 1;
    }
    if (strcmp(out->domain, DOCKER_HUB_DOMAIN) == 0 && components == 1)
        out->path = xasprintf("library/%s", path);
    else
        out->path = xstrdup(path);
    /* The daemon checks the limit on the full name, domain and library/ included. */
    if (strlen(out->domain) + 1 + strlen(out->path) > NAME_MAX_LEN) {
        free(copy);
        image_ref_free(out);
        return tu_err_set(err, TU_ERR_USAGE, "repository name in '%s' is longer than %d characters", s,
                          NAME_MAX_LEN);
    }
    free(copy);
    return 0;
}

void image_ref_free(struct image_ref *r)
{
    if (!r)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r->digest);
    memset(r, 0, sizeof(*r));
}

char *image_ref_repo(const struct image_ref *r)
{
    return xasprintf("%s/%s", r->domain, r->path);
}

char *image_ref_string(const struct image_ref *r)
{
    return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
                     r->digest ? "@" : "", r->digest ? r->digest : "");
}

const char *image_ref_auth_key(const struct image_ref *r)
{
    return strcmp(r->domain, DOCKER_HUB_DOMAIN) == 0 ? DOCKER_HUB_AUTH_KEY : r->domain;
}

int image_repo_equal(const char *a, const char *b)
{
    struct image_ref ra, rb;
    struct tu_err e;
    if (image_ref_parse(a, &ra, &e) < 0)
        return 0;
    if (image_ref_parse(b, &rb, &e) < 0) {
        image_ref_free(&ra);
        return 0;
    }
    int eq = strcmp(ra.domain, rb.domain) == 0 && strcmp(ra.path, rb.path) == 0;
    image_ref_free(&ra);
    image_ref_free(&rb);
    return eq;
}
