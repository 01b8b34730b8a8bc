/* regapi.c - the registry HTTP API v2: tag lists, pages by Link, Basic and Bearer challenges. */
#include "registry/regapi.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "registry/ref.h"
#include "util/b64.h"
#include "util/http.h"
#include "util/xalloc.h"

#define DOCKER_HUB_API "registry-1.docker.io"
#define CERTS_DIR_DEFAULT "/etc/docker/certs.d"

char *reg_repo_of(const char *prefix, const char *image_path, struct tu_err *err)
{
    char *probe = xasprintf("%s/%s", prefix, image_path);
    struct image_ref r;
    char *repo = NULL;
    if (image_ref_parse(probe, &r, err) == 0) {
        repo = xstrdup(r.path);
        image_ref_free(&r);
    }
    free(probe);
    return repo;
}

/* ---- the client ---- */

int reg_api_init(struct reg_api *r, const char *prefix, struct tu_err *err)
{
    memset(r, 0, sizeof(*r));
    char *probe = xasprintf("%s/tracardi/tracardi-api", prefix);
    struct image_ref ref;
    int rc = image_ref_parse(probe, &ref, err);
    free(probe);
    if (rc < 0)
        return -1;
    r->name = xstrdup(ref.domain);
    r->auth_key = xstrdup(image_ref_auth_key(&ref));
    image_ref_free(&ref);
    if (strcmp(r->name, DOCKER_HUB_DOMAIN) == 0)
        r->base = xstrdup("https://" DOCKER_HUB_API);
    else
        r->base = xasprintf("%s://%s", reg_host_is_loopback(r->name) ? "http" : "https", r->name);
    r->timeout_ms = REG_TIMEOUT_MS_DEFAULT;
    r->page_size = REG_PAGE_SIZE_DEFAULT;
    r->max_pages = REG_MAX_PAGES;
    r->max_tags = REG_MAX_TAGS;
    /* The docker CLI's own place for a registry's CA: /etc/docker/certs.d/HOST[:PORT]/ca.crt. */
    if (strncmp(r->base, "https://", 8) == 0) {
        char *ca = xasprintf("%s/%s/ca.crt", CERTS_DIR_DEFAULT, r->name);
        if (access(ca, R_OK) == 0)
            r->ca_file = ca;
        else
            free(ca);
    }
    return 0;
}

void reg_api_free(struct reg_api *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->base);
    free(r->auth_key);
    free(r->ca_file);
    reg_creds_free(&r->creds);
    secret_free(r->authz);
    memset(r, 0, sizeof(*r));
}

void reg_tags_free(struct reg_tags *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->tag[i]);
    free(t->tag);
    memset(t, 0, sizeof(*t));
}

int reg_tags_has(const struct reg_tags *t, const char *tag)
{
    for (size_t i = 0; t && i < t->n; i++)
        if (strcmp(t->tag[i], tag) == 0)
            return 1;
    return 0;
}

static int get(struct reg_api *r, const char *url, const char *authz, const char *body, size_t max_body,
               struct http_resp *resp, struct tu_err *err)
{
    struct http_req req = {
        .method = body ? "POST" : "GET",
        .url = url,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .content_type = body ? "application/x-www-form-urlencoded" : NULL,
        .authorization = authz,
        .timeout_ms = r->timeout_ms,
        .max_body = max_body,
        .max_headers = REG_HEADERS_MAX,
        .ca_file = r->ca_file,
    };
    if (http_do(&req, resp, err) == 0)
        return 0;
    http_resp_free(resp);
    if (err->kind == TU_ERR_CONNECT) {
        /* curl's message already names the URL; say which registry that is. */
        tu_err_prefix(err, "registry '%s': ", r->name);
        tu_err_hint(err, "is the registry up and reachable from here? check --registry");
    } else if (err->kind == TU_ERR_TIMEOUT) {
        tu_err_prefix(err, "registry '%s': ", r->name);
        tu_err_hint(err, "the registry stalls; try again later");
    } else if (err->kind == TU_ERR_TOO_BIG) {
        tu_err_prefix(err, "registry '%s': ", r->name);
    }
    return -1;
}

/* The first message of a registry's {"errors":[{"code","message"}]} answer, or "". */
static void registry_error_text(const struct http_resp *resp, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *j = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, NULL) : NULL;
    json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
    const char *code = json_string_value(json_object_get(e0, "code"));
    const char *msg = json_string_value(json_object_get(e0, "message"));
    if (code || msg)
        snprintf(out, cap, "%.40s%s%.160s", code ? code : "", code && msg ? ": " : "", msg ? msg : "");
    json_decref(j);
}

static int creds_load(struct reg_api *r, struct tu_err *err)
{
    if (r->creds_loaded)
        return 0;
    if (auth_find(r->auth_key, &r->creds, err) < 0)
        return -1;
    r->creds_loaded = 1;
    return 0;
}

static char *basic_value(const struct reg_creds *c)
{
    char *pair = xasprintf("%s:%s", c->username, c->password ? c->password : "");
    char *enc = b64_encode(pair, strlen(pair), B64_STD);
    secret_free(pair);
    char *v = xasprintf("Basic %s", enc);
    secret_free(enc);
    return v;
}

static void url_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            buf_append(b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

static int creds_refused(struct reg_api *r, const char *what, struct tu_err *err)
{
    tu_err_set(err, TU_ERR_PERMISSION, "registry '%s' refused the credentials (%s) for '%s'", r->name,
               r->creds.source[0] ? r->creds.source : "docker config", what);
    tu_err_hint(err, "check the login for '%s' (docker login, or the DOCKER_CONFIG tracup reads)", r->name);
    return -1;
}

static int creds_needed(struct reg_api *r, const char *what, struct tu_err *err)
{
    tu_err_set(err, TU_ERR_PERMISSION, "registry '%s' wants credentials to list '%s' and the docker config has none",
               r->name, what);
    tu_err_hint(err, "log in: docker login %s (tracup reads DOCKER_CONFIG or ~/.docker/config.json)", r->name);
    return -1;
}

/* The host of an http(s) URL into out, as curl will connect to it (curl's own
 * parser: "http://localhost:1@evil.example/" goes to evil.example). Returns -1
 * for a URL curl cannot parse or one carrying user information. */
static int url_host(const char *url, char *out, size_t cap)
{
    CURLU *u = curl_url();
    char *host = NULL, *user = NULL, *pw = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host &&
        curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_NO_USER &&
        curl_url_get(u, CURLUPART_PASSWORD, &pw, 0) == CURLUE_NO_PASSWORD && strlen(host) < cap) {
        snprintf(out, cap, "%s", host);
        rc = 0;
    }
    curl_free(host);
    curl_free(user);
    curl_free(pw);
    curl_url_cleanup(u);
    return rc;
}

/* Bearer: a token from the realm, with the credentials when there are some. */
static int bearer_token(struct reg_api *r, const struct www_auth *ch, const char *repo, struct tu_err *err)
{
    if (!ch->realm || (strncmp(ch->realm, "https://", 8) != 0 && strncmp(ch->realm, "http://", 7) != 0) ||
        strlen(ch->realm) > REG_URL_MAX)
        return tu_err_set(err, TU_ERR_PROTOCOL, "registry '%s' asks for a token without a usable realm", r->name);
    const struct reg_creds *c = &r->creds;
    int has_token = c->identitytoken && *c->identitytoken;
    int has_user = c->username && *c->username;
    char host[256];
    if (url_host(ch->realm, host, sizeof(host)) < 0)
        return tu_err_set(err, TU_ERR_PROTOCOL, "registry '%s' asks for a token at a realm tracup does not use "
                                                "(not a plain http(s) URL, or one with user information)", r->name);
    if ((has_token || has_user) && strncmp(ch->realm, "http://", 7) == 0 && !reg_host_is_loopback(host))
        return tu_err_set(err, TU_ERR_REFUSED, "registry '%s' sends its token requests to '%.100s' over plain "
                                               "http: tracup does not send credentials there", r->name, host);

    struct buf q;
    buf_init(&q, 0);
    if (ch->service) {
        buf_appends(&q, "service=");
        url_escape(&q, ch->service);
    }
    char *scope = ch->scope ? xstrdup(ch->scope) : xasprintf("repository:%s:pull", repo);
    if (q.len)
        buf_appends(&q, "&");
    buf_appends(&q, "scope=");
    url_escape(&q, scope);
    free(scope);

    /* A fragment is never sent: the query goes before it. */
    int rlen = (int)strcspn(ch->realm, "#");
    char *url = NULL, *body = NULL, *authz = NULL;
    if (has_token) {
        /* An identity token is an OAuth2 refresh token: exchange it by POST. */
        url = xasprintf("%.*s", rlen, ch->realm);
        struct buf b;
        buf_init(&b, 0);
        buf_appends(&b, q.data);
        buf_appends(&b, "&client_id=tracup&grant_type=refresh_token&refresh_token=");
        url_escape(&b, c->identitytoken);
        body = buf_detach(&b);
    } else {
        url = xasprintf("%.*s%c%s", rlen, ch->realm, memchr(ch->realm, '?', (size_t)rlen) ? '&' : '?', q.data);
        if (has_user)
            authz = basic_value(c);
    }
    buf_free(&q);

    struct http_resp resp;
    int rc = get(r, url, authz, body, REG_TOKEN_MAX, &resp, err);
    secret_free(authz);
    secret_free(body);
    if (rc == 0) {
        if (resp.status == 401 || resp.status == 403) {
            rc = has_token || has_user ? creds_refused(r, repo, err) : creds_needed(r, repo, err);
        } else if (resp.status != 200) {
            rc = tu_err_set(err, TU_ERR_HTTP, "registry '%s': its token service answered HTTP %ld", r->name,
                            resp.status);
            err->status = resp.status;
        } else {
            json_t *j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
            const char *tok = json_string_value(json_object_get(j, "token"));
            if (!tok || !*tok)
                tok = json_string_value(json_object_get(j, "access_token"));
            int ok = tok && *tok && strlen(tok) < 16384;
            for (const char *t = tok; ok && *t; t++)
                ok = (unsigned char)*t > 0x20 && (unsigned char)*t < 0x7f;
            if (!ok) {
                rc = tu_err_set(err, TU_ERR_PROTOCOL, "registry '%s': its token service did not answer a token",
                                r->name);
            } else {
                secret_free(r->authz);
                r->authz = xasprintf("Bearer %s", tok);
            }
            json_decref(j);
        }
        if (resp.body.data)
            memset(resp.body.data, 0, resp.body.len);
        http_resp_free(&resp);
    }
    free(url);
    return rc;
}

/* Answers a 401: a new Authorization value in r->authz, or an error. */
static int authenticate(struct reg_api *r, const struct http_resp *resp, const char *repo, struct tu_err *err)
{
    char *hv = http_resp_header(resp, "WWW-Authenticate", 0);
    if (!hv) {
        tu_err_set(err, TU_ERR_PROTOCOL, "registry '%s' answered 401 without a WWW-Authenticate challenge", r->name);
        return -1;
    }
    struct www_auth ch;
    int rc = reg_parse_www_auth(hv, &ch, err);
    free(hv);
    if (rc < 0) {
        tu_err_prefix(err, "registry '%s': ", r->name);
        return -1;
    }
    if (creds_load(r, err) < 0) {
        www_auth_free(&ch);
        return -1;
    }
    if (strcasecmp(ch.scheme, "Basic") == 0) {
        if (!(r->creds.username && *r->creds.username)) {
            rc = reg_creds_present(&r->creds)
                     ? tu_err_set(err, TU_ERR_PERMISSION, "registry '%s' wants a user and password; the docker "
                                                          "config has only an identity token for it", r->name)
                     : creds_needed(r, repo, err);
        } else {
            secret_free(r->authz);
            r->authz = basic_value(&r->creds);
        }
    } else if (strcasecmp(ch.scheme, "Bearer") == 0) {
        rc = bearer_token(r, &ch, repo, err);
    } else {
        rc = tu_err_set(err, TU_ERR_UNSUPPORTED, "registry '%s' asks for '%s' authentication, which tracup does "
                                                 "not speak", r->name, ch.scheme);
    }
    www_auth_free(&ch);
    return rc;
}

/* Appends the tags of one page. */
static int page_tags(struct reg_api *r, const char *repo, const struct http_resp *resp, struct reg_tags *out,
                     struct tu_err *err)
{
    json_error_t je;
    json_t *j = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, &je) : NULL;
    json_t *tags = json_object_get(j, "tags");
    if (!json_is_object(j) || (tags && !json_is_array(tags) && !json_is_null(tags))) {
        json_decref(j);
        return tu_err_set(err, TU_ERR_PROTOCOL, "registry '%s' answered the tag list of '%s' with something "
                                                "that is not a tag list", r->name, repo);
    }
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t) {
        const char *s = json_string_value(t);
        if (!s) {
            json_decref(j);
            return tu_err_set(err, TU_ERR_PROTOCOL, "registry '%s' lists a tag of '%s' that is not a string", r->name,
                              repo);
        }
        if (!reg_tag_valid(s)) {
            out->invalid++;
            continue;
        }
        if (out->n >= r->max_tags) {
            json_decref(j);
            return tu_err_set(err, TU_ERR_TOO_BIG, "registry '%s' lists more than %zu tags for '%s'", r->name,
                              r->max_tags, repo);
        }
        out->tag = xrealloc(out->tag, (out->n + 1) * sizeof(*out->tag));
        out->tag[out->n++] = xstrdup(s);
    }
    json_decref(j);
    return 0;
}

int reg_list_tags(struct reg_api *r, const char *repo, struct reg_tags *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    char *url = xasprintf("%s/v2/%s/tags/list?n=%ld", r->base, repo, r->page_size);
    int authed_here = 0, rc = 0;
    while (url) {
        if ((long)out->pages >= r->max_pages) {
            rc = tu_err_set(err, TU_ERR_TOO_BIG, "registry '%s' has more than %ld pages of tags for '%s'", r->name,
                            r->max_pages, repo);
            break;
        }
        struct http_resp resp;
        if (get(r, url, r->authz, NULL, REG_BODY_MAX, &resp, err) < 0) {
            rc = -1;
            break;
        }
        if (resp.status == 401) {
            /* The credentials of this listing were refused; those of another
             * repository (a token of another scope) get one more try. */
            if (authed_here)
                rc = creds_refused(r, repo, err);
            else
                rc = authenticate(r, &resp, repo, err);
            authed_here = 1;
            http_resp_free(&resp);
            if (rc < 0)
                break;
            continue;
        }
        if (resp.status != 200) {
            char why[256];
            registry_error_text(&resp, why, sizeof(why));
            if (resp.status == 404) {
                rc = tu_err_set(err, TU_ERR_NOT_FOUND, "repository '%s' not found in registry '%s'%s%s", repo,
                                r->name, why[0] ? ": " : "", why);
            } else if (resp.status == 403) {
                rc = tu_err_set(err, TU_ERR_PERMISSION, "registry '%s' denies listing '%s'%s%s", r->name, repo,
                                why[0] ? ": " : "", why);
            } else {
                rc = tu_err_set(err, TU_ERR_HTTP, "registry '%s' answered HTTP %ld to the tag list of '%s'%s%s",
                                r->name, resp.status, repo, why[0] ? ": " : "", why);
            }
            err->status = resp.status;
            http_resp_free(&resp);
            break;
        }
        rc = page_tags(r, repo, &resp, out, err);
        out->pages++;
        /* Every Link header counts: the first rel="next" is the next page. */
        char *next = NULL, *next_url = NULL;
        for (size_t li = 0; rc == 0 && !next && li < 16; li++) {
            char *link = http_resp_header(&resp, "Link", li);
            if (!link)
                break;
            rc = reg_parse_link_next(link, &next, err);
            free(link);
        }
        http_resp_free(&resp);
        if (rc == 0 && next)
            rc = reg_next_url(r->base, next, &next_url, err);
        if (rc < 0 && err->kind == TU_ERR_PROTOCOL && strncmp(err->msg, "registry '", 10) != 0)
            tu_err_prefix(err, "registry '%s': ", r->name);
        free(next);
        if (rc == 0 && next_url && strcmp(next_url, url) == 0) {
            rc = tu_err_set(err, TU_ERR_PROTOCOL, "registry '%s' links the tag list of '%s' to the same page again",
                            r->name, repo);
        }
        free(url);
        url = rc == 0 ? next_url : NULL;
        if (rc < 0)
            free(next_url);
    }
    free(url);
    if (rc < 0)
        reg_tags_free(out);
    return rc;
}
