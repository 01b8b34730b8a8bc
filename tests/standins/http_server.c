/* http_server.c - a small HTTP/1.1 server: thread per connection, keep-alive, Content-Length bodies */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX (32 * 1024)
#define IDLE_TIMEOUT_MS 30000
#define IO_TIMEOUT_MS 15000

struct conn {
	int fd;
	const struct http_server_opts *opts;
	struct buf in;  /* bytes read but not yet consumed (pipelining) */
};

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

const char *http_header(const struct http_req *req, const char *name)
{
	for (int i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

char *http_query(const struct http_req *req, const char *key)
{
	return form_get(req->query, key);
}

int http_query_bool(const struct http_req *req, const char *key)
{
	char *v = http_query(req, key);
	int on = v && (strcmp(v, "") == 0 || strcmp(v, "true") == 0);
	free(v);
	return on;
}

void resp_text(struct http_resp *resp, int status, const char *ctype, const char *text)
{
	resp->status = status;
	snprintf(resp->ctype, sizeof resp->ctype, "%s", ctype);
	resp->body.len = 0;
	buf_puts(&resp->body, text);
}

void resp_json(struct http_resp *resp, int status, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	resp_text(resp, status, "application/json", s ? s : "null");
	free(s);
	json_decref(j);
}

void resp_header(struct http_resp *resp, const char *name, const char *value)
{
	buf_printf(&resp->headers, "%s: %s\r\n", name, value);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads more bytes into c->in; returns bytes read, 0 on EOF, -1 on error or timeout. */
static ssize_t fill(struct conn *c, int timeout_ms)
{
	char tmp[16384];
	int waited = 0;
	for (;;) {
		struct pollfd p = { c->fd, POLLIN, 0 };
		int r = poll(&p, 1, 200);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0)
			break;
		waited += 200;
		if (g_stop || waited >= timeout_ms)
			return -1;
	}
	ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	if (buf_append(&c->in, tmp, (size_t)n) < 0)
		return -1;
	return n;
}

static void consume(struct buf *b, size_t n)
{
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

static void send_simple(int fd, int status, const char *msg)
{
	char out[512];
	int n = snprintf(out, sizeof out,
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n%s", status, reason(status), strlen(msg), msg);
	write_all(fd, out, (size_t)n);
}

static void free_req(struct http_req *req)
{
	free(req->path);
	free(req->query);
	free(req->body);
	for (int i = 0; i < req->nheaders; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	memset(req, 0, sizeof *req);
}

/* Parses the head in c->in (ending at head_len); fills req. Returns 0 or an HTTP status. */
static int parse_head(char *head, struct http_req *req, int *http10)
{
	char *save = NULL;
	char *line = strtok_r(head, "\r\n", &save);
	if (!line)
		return 400;
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || (size_t)(sp1 - line) >= sizeof req->method)
		return 400;
	memcpy(req->method, line, (size_t)(sp1 - line));
	req->method[sp1 - line] = '\0';
	*sp2 = '\0';
	*http10 = strcmp(sp2 + 1, "HTTP/1.0") == 0;
	char *target = sp1 + 1;
	char *q = strchr(target, '?');
	req->query = xstrdup(q ? q + 1 : "");
	req->path = q ? xstrndup(target, (size_t)(q - target)) : xstrdup(target);
	{
		/* '+' is literal in paths, so decode only %XX here */
		char *o = req->path;
		for (char *s = req->path; *s; s++) {
			if (s[0] == '%' && s[1] && s[2]) {
				char hex[3] = { s[1], s[2], 0 };
				char *end;
				long v = strtol(hex, &end, 16);
				if (*end == '\0') {
					*o++ = (char)v;
					s += 2;
					continue;
				}
			}
			*o++ = *s;
		}
		*o = '\0';
	}
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
		char *colon = strchr(line, ':');
		if (!colon)
			return 400;
		if (req->nheaders >= HTTP_MAX_HEADERS)
			return 400;
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		req->headers[req->nheaders].name = xstrndup(line, (size_t)(colon - line));
		req->headers[req->nheaders].value = xstrndup(v, vl);
		req->nheaders++;
	}
	return 0;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	const struct http_server_opts *o = c->opts;
	int keep = 1;

	while (keep && !g_stop) {
		struct http_req req;
		struct http_resp resp;
		int http10 = 0;
		char *end;

		memset(&req, 0, sizeof req);
		/* wait for a complete head */
		while (!(c->in.data && (end = strstr(c->in.data, "\r\n\r\n")) != NULL)) {
			if (c->in.len >= HEAD_MAX) {
				send_simple(c->fd, 400, "request head too large");
				goto out;
			}
			if (fill(c, c->in.len ? IO_TIMEOUT_MS : IDLE_TIMEOUT_MS) <= 0)
				goto out;
		}
		size_t head_len = (size_t)(end - c->in.data) + 4;
		char *head = xstrndup(c->in.data, head_len - 4);
		consume(&c->in, head_len);
		int bad = parse_head(head, &req, &http10);
		free(head);
		if (bad) {
			send_simple(c->fd, bad, "bad request");
			free_req(&req);
			goto out;
		}

		const char *te = http_header(&req, "Transfer-Encoding");
		if (te && strcasecmp(te, "identity") != 0) {
			send_simple(c->fd, 411, "chunked bodies are not supported; send Content-Length");
			free_req(&req);
			goto out;
		}
		long clen = 0;
		const char *cl = http_header(&req, "Content-Length");
		if (cl && (parse_long(cl, &clen) || clen < 0)) {
			send_simple(c->fd, 400, "bad Content-Length");
			free_req(&req);
			goto out;
		}
		if ((size_t)clen > o->max_body) {
			send_simple(c->fd, 413, "request body too large");
			free_req(&req);
			goto out;
		}
		const char *expect = http_header(&req, "Expect");
		if (clen > 0 && expect && strcasecmp(expect, "100-continue") == 0 && c->in.len < (size_t)clen) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
			if (write_all(c->fd, cont, sizeof cont - 1) < 0) {
				free_req(&req);
				goto out;
			}
		}
		while (c->in.len < (size_t)clen) {
			if (fill(c, IO_TIMEOUT_MS) <= 0) {
				free_req(&req);
				goto out;
			}
		}
		req.body = xstrndup(c->in.data ? c->in.data : "", (size_t)clen);
		req.body_len = (size_t)clen;
		if (clen)
			consume(&c->in, (size_t)clen);

		const char *conn_hdr = http_header(&req, "Connection");
		if (conn_hdr && strcasecmp(conn_hdr, "close") == 0)
			keep = 0;
		if (http10 && !(conn_hdr && strcasecmp(conn_hdr, "keep-alive") == 0))
			keep = 0;

		memset(&resp, 0, sizeof resp);
		buf_init(&resp.body, 0);
		buf_init(&resp.headers, 0);
		resp.status = 500;
		snprintf(resp.ctype, sizeof resp.ctype, "text/plain");
		long long t0 = now_ms();
		o->handler(&req, &resp, o->ctx);
		logmsg("%s %s %d %lldms", req.method, req.path, resp.status, now_ms() - t0);

		int head_only = strcmp(req.method, "HEAD") == 0;
		struct buf out;
		buf_init(&out, 0);
		buf_printf(&out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
			   resp.status, reason(resp.status), resp.ctype, resp.body.len,
			   resp.headers.data ? resp.headers.data : "",
			   keep ? "" : "Connection: close\r\n");
		if (!head_only && resp.body.len)
			buf_append(&out, resp.body.data, resp.body.len);
		int werr = write_all(c->fd, out.data, out.len);
		buf_free(&out);
		buf_free(&resp.body);
		buf_free(&resp.headers);
		free_req(&req);
		if (werr)
			break;
	}
out:
	close(c->fd);
	buf_free(&c->in);
	free(c);
	return NULL;
}

int http_serve(const struct http_server_opts *opts)
{
	struct sockaddr_in sa;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		logmsg("error: socket: %s", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)opts->port);
	if (inet_pton(AF_INET, opts->bind, &sa.sin_addr) != 1) {
		logmsg("error: bad bind address '%s'", opts->bind);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 128) < 0) {
		logmsg("error: cannot listen on %s:%d: %s", opts->bind, opts->port, strerror(errno));
		close(fd);
		return -1;
	}
	logmsg("listening on %s:%d", opts->bind, opts->port);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	while (!g_stop) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, 200) <= 0)
			continue;
		int cfd = accept(fd, NULL, NULL);
		if (cfd < 0)
			continue;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = xcalloc(1, sizeof *c);
		c->fd = cfd;
		c->opts = opts;
		buf_init(&c->in, 2 * HEAD_MAX + opts->max_body + 16384);
		pthread_t t;
		if (pthread_create(&t, &attr, conn_main, c) != 0) {
			close(cfd);
			buf_free(&c->in);
			free(c);
		}
	}
	pthread_attr_destroy(&attr);
	close(fd);
	return 0;
}
