/* http_client.h - blocking HTTP requests through libcurl, bodies capped */
#ifndef STANDIN_HTTP_CLIENT_H
#define STANDIN_HTTP_CLIENT_H

#include <stddef.h>
#include <jansson.h>

struct hc_resp {
	long status;    /* 0 when the request did not complete */
	char *body;     /* NUL-terminated; caller frees with hc_resp_free */
	size_t len;
	char error[256];
};

/* Sends one request; ctype may be NULL when there is no body. Returns 0 when a response arrived. */
int hc_request(const char *method, const char *url, const char *userpwd, const char *ctype,
	       const char *body, size_t body_len, long timeout_s, struct hc_resp *out);
void hc_resp_free(struct hc_resp *r);

/* Elasticsearch endpoint the api and worker talk to, from ELASTIC_* variables. */
struct es_conn {
	char base[512];      /* scheme://host:port without trailing slash */
	char userpwd[512];   /* "user:password" or "" */
};

/* Fills from ELASTIC_HOST (first of the comma list), ELASTIC_SCHEME and ELASTIC_HTTP_AUTH_*. */
void es_conn_from_env(struct es_conn *c);
/* Fills from a URL that may carry credentials (scheme://user:pass@host:port). */
void es_conn_from_url(struct es_conn *c, const char *url);
/* URL with credentials embedded, as Tracardi passes to its worker; caller frees. */
char *es_conn_url_with_auth(const struct es_conn *c);

/*
 * Calls Elasticsearch with a JSON body (may be NULL; not released) and returns the parsed
 * answer (caller releases) or NULL; *status gets the HTTP status, 0 when unreachable.
 */
json_t *es_call(const struct es_conn *c, const char *method, const char *path, json_t *body, long *status);
/* Same with a raw body (NDJSON for _bulk). */
json_t *es_call_raw(const struct es_conn *c, const char *method, const char *path,
		    const char *ctype, const char *body, long *status);

#endif
