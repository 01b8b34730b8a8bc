/* auth.h - registry credentials found the way the docker CLI finds them. */
#ifndef TRACUP_AUTH_H
#define TRACUP_AUTH_H

#include <stddef.h>

#include "util/err.h"

#define AUTH_CONFIG_MAX (1024 * 1024)
#define AUTH_HELPER_OUTPUT_MAX (64 * 1024)
#define AUTH_HELPER_TIMEOUT_S 30

struct reg_creds {
    char *username;
    char *password;
    char *identitytoken;
    char *serveraddress;
    char source[128];  /* where they came from, for messages: "auths", "helper docker-credential-x" */
};

/* What the config says to do for one registry. */
struct auth_plan {
    char helper[65];         /* helper name to run (credHelpers or credsStore), or "" */
    struct reg_creds creds;  /* from auths, when no helper applies */
};

/* Decides from config.json text for the registry whose CLI key is auth_key
 * (e.g. "https://index.docker.io/v1/" or "127.0.0.1:5001"). Pure: runs nothing. */
int auth_plan_from_config(const char *json_text, size_t len, const char *auth_key,
                          struct auth_plan *out, struct tu_err *err);

/* Parses a helper's `get` output into creds. */
int auth_parse_helper_output(const char *text, size_t len, const char *server, struct reg_creds *out,
                             struct tu_err *err);

/* Runs docker-credential-<helper> get with the server on stdin. Anonymous (no creds,
 * returns 0) when the helper says the credentials are not found. */
int auth_run_helper(const char *helper, const char *server, struct reg_creds *out, struct tu_err *err);

/* The whole lookup: config file ($DOCKER_CONFIG/config.json or ~/.docker/config.json),
 * then the helper if any. A missing config means anonymous. */
int auth_find(const char *auth_key, struct reg_creds *out, struct tu_err *err);

/* True when creds hold anything to send. */
int reg_creds_present(const struct reg_creds *c);
/* The X-Registry-Auth value: base64url (padded) of the JSON; the caller frees
 * it (wipe first). NULL when anonymous. */
char *auth_header_value(const struct reg_creds *c);
/* Frees and wipes secrets. */
void reg_creds_free(struct reg_creds *c);
/* Zeroes a secret string and frees it. */
void secret_free(char *s);

/* "https://host:port/v1/" -> "host:port" (the caller frees). */
char *auth_hostname(const char *key);

#endif
