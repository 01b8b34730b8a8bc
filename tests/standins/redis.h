/* redis.h - a minimal RESP client: enough for PING, AUTH, SET/GET/EXPIRE, RPUSH and BLPOP */
#ifndef STANDIN_REDIS_H
#define STANDIN_REDIS_H

#include <stddef.h>

enum redis_type { R_NONE, R_STATUS, R_ERROR, R_INT, R_BULK, R_NIL, R_ARRAY };

struct redis_reply {
	enum redis_type type;
	long long integer;
	char *str;                    /* status, error or bulk text */
	size_t len;
	struct redis_reply *elems;    /* arrays */
	size_t nelems;
};

struct redis {
	int fd;
	char rbuf[8192];
	size_t rlen, rpos;
};

/*
 * Connects to REDIS_HOST-style address ("redis://host:port", "host:port" or "host") and
 * authenticates when password is non-empty. Returns 0, or -1 with err filled.
 */
int redis_connect(struct redis *r, const char *addr, const char *password, char *err, size_t errlen);
void redis_close(struct redis *r);
/* Sends one command; fills out (caller frees with redis_reply_free). Returns 0 or -1 on I/O error. */
int redis_cmd(struct redis *r, struct redis_reply *out, int argc, const char **argv);
void redis_reply_free(struct redis_reply *rep);

#endif
