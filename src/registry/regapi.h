/* regapi.h - the registry HTTP API v2: tag lists, pages by Link, Basic and Bearer challenges. */
#ifndef TRACUP_REGAPI_H
#define TRACUP_REGAPI_H

#include <stddef.h>

#include "registry/auth.h"
#include "util/err.h"

#define REG_PAGE_SIZE_DEFAULT 100
#define REG_PAGE_SIZE_MAX 1000
#define REG_MAX_PAGES 200
#define REG_MAX_TAGS 10000
#define REG_BODY_MAX (1024 * 1024)
#define REG_HEADERS_MAX (64 * 1024)
#define REG_TOKEN_MAX (64 * 1024)
#define REG_TIMEOUT_MS_DEFAULT 15000
#define REG_URL_MAX 4096
#define REG_HEADER_VALUE_MAX 4096

struct reg_api {
    char *name;          /* the registry as the operator names it, for messages: "127.0.0.1:5000", "docker.io" */
    char *base;          /* "http://127.0.0.1:5000", "https://registry-1.docker.io" */
    char *auth_key;      /* the docker CLI's key for its credentials */
    char *ca_file;       /* /etc/docker/certs.d/<name>/ca.crt when it exists, or NULL */
    struct reg_creds creds;
    int creds_loaded;
    long timeout_ms;     /* each request, whole */
    long page_size;      /* n= of each tags/list request */
    long max_pages;      /* per repository */
    size_t max_tags;     /* per repository */
    char *authz;         /* the Authorization value that worked last (a secret), or NULL */
};

struct reg_tags {
    char **tag;          /* as the registry listed them, valid tag syntax only */
    size_t n;
    size_t invalid;      /* entries that are no valid tag (never printed) */
    size_t pages;
};

/* A parsed WWW-Authenticate challenge (the first one of the header). */
struct www_auth {
    char scheme[16];     /* "Basic", "Bearer", … as sent */
    char *realm, *service, *scope; /* NULL when absent */
};

/* Sets r up for the registry host of an image prefix (HOST[:PORT][/PATH] or
 * docker.io): http for loopback hosts, https otherwise, with Docker's
 * certs.d CA file when there is one. Credentials are looked up only when the
 * registry asks for them. */
int reg_api_init(struct reg_api *r, const char *prefix, struct tu_err *err);
void reg_api_free(struct reg_api *r);

/* Every tag of repository `repo` ("tracardi/tracardi-api"), following
 * rel="next" links. Answers 401 with the challenge's scheme. A repository the
 * registry does not know is TU_ERR_NOT_FOUND. */
int reg_list_tags(struct reg_api *r, const char *repo, struct reg_tags *out, struct tu_err *err);
void reg_tags_free(struct reg_tags *t);
/* True when the list holds tag. */
int reg_tags_has(const struct reg_tags *t, const char *tag);

/* The repository path of an image path under prefix: "127.0.0.1:5000/ns" and
 * "tracardi/tracardi-api" -> "ns/tracardi/tracardi-api" (the caller frees). */
char *reg_repo_of(const char *prefix, const char *image_path, struct tu_err *err);

/* Parsers, public for the tests. */
int reg_parse_www_auth(const char *value, struct www_auth *out, struct tu_err *err);
void www_auth_free(struct www_auth *a);
/* The target of the rel="next" link in a Link header value, or *out NULL when
 * the header names none (the caller frees). */
int reg_parse_link_next(const char *value, char **out, struct tu_err *err);
/* The absolute URL of a next-page link: path-absolute links are taken against
 * base; absolute ones must have base's origin (credentials go there). */
int reg_next_url(const char *base, const char *link, char **out, struct tu_err *err);
/* True for 127.0.0.0/8, localhost and [::1], with or without a port. */
int reg_host_is_loopback(const char *hostport);
/* True when s has the syntax of an image tag. */
int reg_tag_valid(const char *s);

#endif
