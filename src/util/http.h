/* http.h - small HTTP client for the Tracardi API and Elasticsearch (TCP, libcurl). */
#ifndef TRACUP_HTTP_H
#define TRACUP_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

struct http_req {
    const char *method;       /* "GET" when NULL */
    const char *url;
    const char *body;         /* NULL for none */
    size_t body_len;
    const char *content_type; /* default application/json when body is set */
    const char *bearer;       /* Authorization: Bearer, or NULL (never logged) */
    const char *authorization;/* a whole Authorization value ("Basic …"), or NULL (never logged) */
    const char *const *headers;
    long timeout_ms;          /* whole request */
    size_t max_body;          /* cap on the answer */
    const char *ca_file;      /* TLS: CA bundle, or NULL */
    int insecure;             /* TLS: skip verification (only when the stack itself does) */
    size_t max_headers;       /* > 0: keep the answer's header lines, up to this many bytes */
};

struct http_resp {
    long status;
    struct buf body;
    struct buf headers;       /* raw header lines of the final answer when max_headers was set */
};

/* Performs the request. Returns 0 when an HTTP answer arrived (any status),
 * -1 on a transport failure or an answer over the cap. The caller frees resp
 * with http_resp_free. */
int http_do(const struct http_req *req, struct http_resp *resp, struct tu_err *err);
void http_resp_free(struct http_resp *resp);
/* The value of the idx-th (from 0) header `name` of the answer, trimmed, or NULL
 * (the caller frees). Needs max_headers in the request. */
char *http_resp_header(const struct http_resp *resp, const char *name, size_t idx);
/* Parses the body as JSON (any value); NULL with err set when it is not. */
json_t *http_resp_json(const struct http_resp *resp, const char *what, struct tu_err *err);

#endif
