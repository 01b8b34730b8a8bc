/* http_client.c - blocking HTTP requests through libcurl, bodies capped */
#include "http_client.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESP_MAX (64L * 1024 * 1024)

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	if (buf_append(b, p, size * n) < 0)
		return 0;  /* aborts the transfer: over the cap */
	return size * n;
}

int hc_request(const char *method, const char *url, const char *userpwd, const char *ctype,
	       const char *body, size_t body_len, long timeout_s, struct hc_resp *out)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct buf b;
	int rc = -1;

	memset(out, 0, sizeof *out);
	buf_init(&b, RESP_MAX);
	if (!h) {
		snprintf(out->error, sizeof out->error, "curl init failed");
		return -1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (userpwd && *userpwd) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
	}
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	if (ctype) {
		char line[128];
		snprintf(line, sizeof line, "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, line);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	CURLcode cc = curl_easy_perform(h);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
		rc = 0;
	} else {
		snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(cc));
	}
	out->len = b.len;
	out->body = buf_steal(&b);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

void hc_resp_free(struct hc_resp *r)
{
	free(r->body);
	r->body = NULL;
}

void es_conn_from_url(struct es_conn *c, const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *rest = scheme_end ? scheme_end + 3 : url;
	char scheme[16];
	snprintf(scheme, sizeof scheme, "%.*s", scheme_end ? (int)(scheme_end - url) : 4,
		 scheme_end ? url : "http");
	c->userpwd[0] = '\0';
	const char *at = strchr(rest, '@');
	const char *slash = strchr(rest, '/');
	if (at && (!slash || at < slash)) {
		snprintf(c->userpwd, sizeof c->userpwd, "%.*s", (int)(at - rest), rest);
		rest = at + 1;
	}
	size_t hostlen = slash && slash > rest ? (size_t)(strchr(rest, '/') - rest) : strlen(rest);
	char host[300];
	snprintf(host, sizeof host, "%.*s", (int)hostlen, rest);
	/* no port means Elasticsearch's default, as the Python client assumes */
	const char *colon = strrchr(host, ':');
	if (colon && !strchr(host, ']'))
		snprintf(c->base, sizeof c->base, "%s://%s", scheme, host);
	else
		snprintf(c->base, sizeof c->base, "%s://%s:9200", scheme, host);
}

void es_conn_from_env(struct es_conn *c)
{
	const char *hosts = env_or("ELASTIC_HOST", "127.0.0.1");
	const char *comma = strchr(hosts, ',');
	char first[400];
	snprintf(first, sizeof first, "%.*s", comma ? (int)(comma - hosts) : (int)strlen(hosts), hosts);
	if (!strstr(first, "://")) {
		char with[450];
		snprintf(with, sizeof with, "%s://%s", env_or("ELASTIC_SCHEME", "http"), first);
		es_conn_from_url(c, with);
	} else {
		es_conn_from_url(c, first);
	}
	const char *u = getenv("ELASTIC_HTTP_AUTH_USERNAME");
	const char *p = getenv("ELASTIC_HTTP_AUTH_PASSWORD");
	if (u && *u)
		snprintf(c->userpwd, sizeof c->userpwd, "%s:%s", u, p ? p : "");
}

char *es_conn_url_with_auth(const struct es_conn *c)
{
	if (!c->userpwd[0])
		return xstrdup(c->base);
	const char *rest = strstr(c->base, "://");
	return xasprintf("%.*s://%s@%s", (int)(rest - c->base), c->base, c->userpwd, rest + 3);
}

json_t *es_call_raw(const struct es_conn *c, const char *method, const char *path,
		    const char *ctype, const char *body, long *status)
{
	struct hc_resp r;
	char *url = xasprintf("%s%s", c->base, path);
	json_t *j = NULL;
	*status = 0;
	if (hc_request(method, url, c->userpwd, body ? ctype : NULL, body, body ? strlen(body) : 0, 30, &r) == 0) {
		*status = r.status;
		if (r.len)
			j = json_loadb(r.body, r.len, JSON_DECODE_ANY, NULL);
	}
	hc_resp_free(&r);
	free(url);
	return j;
}

json_t *es_call(const struct es_conn *c, const char *method, const char *path, json_t *body, long *status)
{
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_t *j = es_call_raw(c, method, path, "application/json", s, status);
	free(s);
	return j;
}
