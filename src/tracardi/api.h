/* api.h - the tracardi-api HTTP endpoints tracup uses (design.md §3). */
#ifndef TRACUP_TRACARDI_API_H
#define TRACUP_TRACARDI_API_H

#include <jansson.h>

#include "util/err.h"

#define TAPI_BODY_MAX (4 * 1024 * 1024)

struct tapi {
    char *base;        /* "http://172.18.0.5:80", no trailing slash */
    char *token;       /* bearer token after tapi_login (a secret) */
    long timeout_ms;
};

void tapi_init(struct tapi *a, const char *base, long timeout_ms);
void tapi_free(struct tapi *a);

/* Any call: method, path (with query), JSON body or NULL, x-context or NULL.
 * Returns 0 when an answer arrived, with *status and *out (JSON or NULL when
 * the body is not JSON); -1 on a transport failure. */
int tapi_call(struct tapi *a, const char *method, const char *path, const char *body, const char *context,
              long *status, json_t **out, struct tu_err *err);

/* GET /info/version/details: an object with version and db_version. */
int tapi_details(struct tapi *a, json_t **out, struct tu_err *err);
/* GET /install: {schema_ok, admin_ok, form_ok, warning}. */
int tapi_install_status(struct tapi *a, json_t **out, struct tu_err *err);
/* POST /install with the installation token and the admin's credentials. */
int tapi_install(struct tapi *a, const char *install_token, const char *email, const char *password,
                 struct tu_err *err);
/* POST /user/token (form): stores the bearer token in a->token. */
int tapi_login(struct tapi *a, const char *email, const char *password, struct tu_err *err);
/* GET with the bearer token; non-2xx is an error naming the path and status. */
int tapi_get_json(struct tapi *a, const char *path, const char *context, json_t **out, struct tu_err *err);
/* POST JSON with the bearer token; non-2xx is an error. */
int tapi_post_json(struct tapi *a, const char *path, json_t *body, const char *context, json_t **out,
                   struct tu_err *err);

#endif
