/* util.h - allocation, bounded buffers, logging and small helpers shared by every mode */
#ifndef STANDIN_UTIL_H
#define STANDIN_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <jansson.h>

/* Set by SIGTERM/SIGINT; every loop polls it so the process exits promptly as PID 1. */
extern volatile sig_atomic_t g_stop;

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* Returns a copy the caller frees. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a formatted string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer with a hard cap for data that comes from outside. */
struct buf {
	char *data;   /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;   /* 0 = no cap */
};
void buf_init(struct buf *b, size_t max);
/* Returns 0, or -1 when the cap would be exceeded (the buffer is unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (who frees it) and resets the buffer. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

void log_set_mode(const char *mode);
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Borrowed value of an environment variable, or def when unset or empty. */
const char *env_or(const char *name, const char *def);
long env_long(const char *name, long def);
/* Strict decimal parse; returns 0 on success. */
int parse_long(const char *s, long *out);

/* Sleeps up to ms milliseconds, returning early when g_stop is set. */
void sleep_ms_interruptible(long ms);
long long now_ms(void);
/* UTC time as 2024-03-01T12:00:00; buf must hold 32 bytes. */
void iso_time(char *buf, size_t n);

/* Decodes %XX and '+' in place (form and query encoding). */
void url_decode(char *s);
/* Returns the decoded value of key in a query or form string (caller frees), or NULL. */
char *form_get(const char *query, const char *key);

/* Standard base64 of n bytes; caller frees. */
char *base64_encode(const unsigned char *p, size_t n);
/* Random lowercase hex string of n chars into out (n+1 bytes). */
void random_hex(char *out, size_t n);
/* Random RFC 4122 version 4 UUID into out (37 bytes). */
void random_uuid(char *out);

/* Glob match supporting only '*', as Elasticsearch index expressions do. */
int glob_match(const char *pat, const char *s);

/* Looks up a dotted path (a.b.c) in a JSON object; borrowed. */
json_t *json_dotted(json_t *obj, const char *path);
/* Integer from a JSON number or numeric string; def when absent or invalid. */
long json_long_any(const json_t *v, long def);

#endif
