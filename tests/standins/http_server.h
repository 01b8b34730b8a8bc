/* http_server.h - a small HTTP/1.1 server: thread per connection, keep-alive, Content-Length bodies */
#ifndef STANDIN_HTTP_SERVER_H
#define STANDIN_HTTP_SERVER_H

#include <stddef.h>
#include <jansson.h>
#include "util.h"

#define HTTP_MAX_HEADERS 64

struct http_header {
	char *name;
	char *value;
};

struct http_req {
	char method[16];
	char *path;    /* decoded path without the query */
	char *query;   /* raw query string without '?', "" when none */
	struct http_header headers[HTTP_MAX_HEADERS];
	int nheaders;
	char *body;    /* NUL-terminated, len in body_len */
	size_t body_len;
};

struct http_resp {
	int status;
	char ctype[64];
	struct buf body;
	struct buf headers;  /* extra "Name: value\r\n" lines */
};

typedef void (*http_handler)(const struct http_req *req, struct http_resp *resp, void *ctx);

struct http_server_opts {
	const char *bind;
	int port;
	size_t max_body;
	http_handler handler;
	void *ctx;
};

/* Serves until g_stop is set; returns 0, or -1 when the socket cannot be opened. */
int http_serve(const struct http_server_opts *opts);

/* Borrowed header value (case-insensitive name), or NULL. */
const char *http_header(const struct http_req *req, const char *name);
/* Decoded query parameter; caller frees; NULL when absent. */
char *http_query(const struct http_req *req, const char *key);
int http_query_bool(const struct http_req *req, const char *key);

void resp_text(struct http_resp *resp, int status, const char *ctype, const char *text);
/* Serialises and releases j. */
void resp_json(struct http_resp *resp, int status, json_t *j);
void resp_header(struct http_resp *resp, const char *name, const char *value);

#endif
