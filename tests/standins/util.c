/* util.c - allocation, bounded buffers, logging and small helpers shared by every mode */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t g_stop;

static void oom(void)
{
	fputs("tracup-standin: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	char *p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->max && b->len + n > b->max)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	char *tmp = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = buf_append(b, tmp, (size_t)n);
	free(tmp);
	return rc;
}

char *buf_steal(struct buf *b)
{
	char *p = b->data ? b->data : xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static const char *log_mode = "standin";

void log_set_mode(const char *mode)
{
	log_mode = mode;
}

void logmsg(const char *fmt, ...)
{
	char line[2048];
	char ts[32];
	va_list ap;
	iso_time(ts, sizeof ts);
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* one write per line so lines from threads do not interleave */
	fprintf(stderr, "%s standin-%s: %s\n", ts, log_mode, line);
	fflush(stderr);
}

const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return (v && *v) ? v : def;
}

int parse_long(const char *s, long *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

long env_long(const char *name, long def)
{
	long v;
	const char *s = getenv(name);
	if (!s || !*s || parse_long(s, &v))
		return def;
	return v;
}

void sleep_ms_interruptible(long ms)
{
	while (ms > 0 && !g_stop) {
		long step = ms > 100 ? 100 : ms;
		struct timespec ts = { step / 1000, (step % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void iso_time(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void url_decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

char *form_get(const char *query, const char *key)
{
	size_t klen = strlen(key);
	const char *p = query;
	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		char *pair = xstrndup(p, len);
		char *eq = strchr(pair, '=');
		if (eq)
			*eq = '\0';
		url_decode(pair);
		if (strlen(pair) == klen && memcmp(pair, key, klen) == 0) {
			char *val = xstrdup(eq ? eq + 1 : "");
			free(pair);
			url_decode(val);
			return val;
		}
		free(pair);
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

char *base64_encode(const unsigned char *p, size_t n)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc((n + 2) / 3 * 4 + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = tbl[(v >> 18) & 63];
		out[o++] = tbl[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tbl[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

static pthread_mutex_t rnd_lock = PTHREAD_MUTEX_INITIALIZER;

static void random_bytes(unsigned char *out, size_t n)
{
	static int fd = -2;
	size_t got = 0;
	pthread_mutex_lock(&rnd_lock);
	if (fd == -2)
		fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && got < n) {
		ssize_t r = read(fd, out + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	/* no /dev/urandom in a bare root filesystem: fall back to a time-seeded generator */
	static unsigned long long state;
	if (!state)
		state = (unsigned long long)now_ms() * 6364136223846793005ULL + (unsigned long long)getpid();
	for (; got < n; got++) {
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		out[got] = (unsigned char)(state >> 56);
	}
	pthread_mutex_unlock(&rnd_lock);
}

void random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *raw = xmalloc(n);
	random_bytes(raw, n);
	for (size_t i = 0; i < n; i++)
		out[i] = hex[raw[i] & 15];
	out[n] = '\0';
	free(raw);
}

void random_uuid(char *out)
{
	char h[33];
	random_hex(h, 32);
	h[12] = '4';
	h[16] = "89ab"[hexval(h[16]) & 3];
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

int glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *ss = NULL;
	while (*s) {
		if (*pat == '*') {
			star = pat++;
			ss = s;
		} else if (*pat == *s) {
			pat++;
			s++;
		} else if (star) {
			pat = star + 1;
			s = ++ss;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

json_t *json_dotted(json_t *obj, const char *path)
{
	char *copy = xstrdup(path);
	char *save = NULL;
	json_t *cur = obj;
	/* strtok_r is POSIX and re-entrant; plain strtok is banned here */
	for (char *part = strtok_r(copy, ".", &save); part && cur; part = strtok_r(NULL, ".", &save))
		cur = json_is_object(cur) ? json_object_get(cur, part) : NULL;
	free(copy);
	return cur;
}

long json_long_any(const json_t *v, long def)
{
	long out;
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	if (json_is_real(v))
		return (long)json_real_value(v);
	if (json_is_string(v) && parse_long(json_string_value(v), &out) == 0)
		return out;
	return def;
}
