/* redis.c - a minimal RESP client: enough for PING, AUTH, SET/GET/EXPIRE, RPUSH and BLPOP */
#include "redis.h"
#include "util.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REPLY_MAX (16 * 1024 * 1024)

int redis_connect(struct redis *r, const char *addr, const char *password, char *err, size_t errlen)
{
	char host[256];
	char port[16] = "6379";
	const char *p = strstr(addr, "://");
	p = p ? p + 3 : addr;
	const char *at = strchr(p, '@');  /* redis://:password@host form */
	if (at)
		p = at + 1;
	const char *colon = strchr(p, ':');
	const char *slash = strchr(p, '/');
	size_t hl = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
	snprintf(host, sizeof host, "%.*s", (int)hl, p);
	if (colon) {
		size_t pl = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
		snprintf(port, sizeof port, "%.*s", (int)pl, colon + 1);
	}

	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai) {
		snprintf(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(gai));
		return -1;
	}
	r->fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			r->fd = fd;
			break;
		}
		close(fd);
	}
	freeaddrinfo(res);
	if (r->fd < 0) {
		snprintf(err, errlen, "cannot connect to redis at %s:%s: %s", host, port, strerror(errno));
		return -1;
	}
	r->rlen = r->rpos = 0;
	if (password && *password) {
		struct redis_reply rep;
		const char *argv[] = { "AUTH", password };
		if (redis_cmd(r, &rep, 2, argv) < 0 || rep.type == R_ERROR) {
			snprintf(err, errlen, "redis authentication failed");
			redis_reply_free(&rep);
			redis_close(r);
			return -1;
		}
		redis_reply_free(&rep);
	}
	return 0;
}

void redis_close(struct redis *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static int rfill(struct redis *r)
{
	if (r->rpos == r->rlen)
		r->rpos = r->rlen = 0;
	if (r->rlen == sizeof r->rbuf) {
		memmove(r->rbuf, r->rbuf + r->rpos, r->rlen - r->rpos);
		r->rlen -= r->rpos;
		r->rpos = 0;
	}
	for (;;) {
		struct pollfd p = { r->fd, POLLIN, 0 };
		/* generous: BLPOP blocks server-side for its own timeout */
		int pr = poll(&p, 1, 60000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			return -1;
		break;
	}
	ssize_t n = recv(r->fd, r->rbuf + r->rlen, sizeof r->rbuf - r->rlen, 0);
	if (n <= 0)
		return -1;
	r->rlen += (size_t)n;
	return 0;
}

/* Reads one CRLF-terminated line; caller frees. */
static char *read_line(struct redis *r)
{
	struct buf b;
	buf_init(&b, 64 * 1024);
	for (;;) {
		while (r->rpos < r->rlen) {
			char ch = r->rbuf[r->rpos++];
			if (ch == '\n') {
				if (b.len && b.data[b.len - 1] == '\r')
					b.data[--b.len] = '\0';
				return buf_steal(&b);
			}
			if (buf_append(&b, &ch, 1) < 0) {
				buf_free(&b);
				return NULL;
			}
		}
		if (rfill(r) < 0) {
			buf_free(&b);
			return NULL;
		}
	}
}

static int read_reply(struct redis *r, struct redis_reply *out, int depth)
{
	memset(out, 0, sizeof *out);
	if (depth > 4)
		return -1;
	char *line = read_line(r);
	if (!line)
		return -1;
	long long n = strtoll(line + 1, NULL, 10);
	int rc = 0;
	switch (line[0]) {
	case '+':
	case '-':
		out->type = line[0] == '+' ? R_STATUS : R_ERROR;
		out->str = xstrdup(line + 1);
		out->len = strlen(out->str);
		break;
	case ':':
		out->type = R_INT;
		out->integer = n;
		break;
	case '$':
		if (n < 0) {
			out->type = R_NIL;
			break;
		}
		if (n > REPLY_MAX) {
			rc = -1;
			break;
		}
		out->type = R_BULK;
		out->str = xmalloc((size_t)n + 3);
		out->len = (size_t)n;
		for (size_t got = 0; got < (size_t)n + 2;) {
			if (r->rpos == r->rlen && rfill(r) < 0) {
				rc = -1;
				break;
			}
			size_t take = r->rlen - r->rpos;
			if (take > (size_t)n + 2 - got)
				take = (size_t)n + 2 - got;
			memcpy(out->str + got, r->rbuf + r->rpos, take);
			r->rpos += take;
			got += take;
		}
		out->str[n] = '\0';
		break;
	case '*':
		if (n < 0) {
			out->type = R_NIL;
			break;
		}
		if (n > 1024) {
			rc = -1;
			break;
		}
		out->type = R_ARRAY;
		out->nelems = (size_t)n;
		out->elems = xcalloc((size_t)n, sizeof *out->elems);
		for (long long i = 0; i < n && rc == 0; i++)
			rc = read_reply(r, &out->elems[i], depth + 1);
		break;
	default:
		rc = -1;
	}
	free(line);
	return rc;
}

int redis_cmd(struct redis *r, struct redis_reply *out, int argc, const char **argv)
{
	struct buf b;
	memset(out, 0, sizeof *out);
	if (r->fd < 0)
		return -1;
	buf_init(&b, 0);
	buf_printf(&b, "*%d\r\n", argc);
	for (int i = 0; i < argc; i++)
		buf_printf(&b, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	const char *p = b.data;
	size_t left = b.len;
	while (left) {
		ssize_t w = send(r->fd, p, left, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			buf_free(&b);
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	buf_free(&b);
	return read_reply(r, out, 0);
}

void redis_reply_free(struct redis_reply *rep)
{
	for (size_t i = 0; i < rep->nelems; i++)
		redis_reply_free(&rep->elems[i]);
	free(rep->elems);
	free(rep->str);
	memset(rep, 0, sizeof *rep);
}
