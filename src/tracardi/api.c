/* api.c - talking to tracardi-api. */
#include "tracardi/api.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "registry/auth.h"
#include "util/http.h"
#include "util/xalloc.h"

void tapi_init(struct tapi *a, const char *base, long timeout_ms)
{
    memset(a, 0, sizeof(*a));
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    a->base = xstrndup(base, n);
    a->timeout_ms = timeout_ms > 0 ? timeout_ms : 15000;
}

void tapi_free(struct tapi *a)
{
    if (!a)
        return;
    free(a->base);
    secret_free(a->token);
    memset(a, 0, sizeof(*a));
}

static int do_call(struct tapi *a, const char *method, const char *path, const char *body, size_t body_len,
                   const char *ctype, const char *context, long *status, json_t **out, struct tu_err *err)
{
    *out = NULL;
    char *url = xasprintf("%s%s", a->base, path);
    char *ctx_hdr = context ? xasprintf("x-context: %s", context) : NULL;
    const char *headers[] = {ctx_hdr, NULL};
    struct http_req req = {
        .method = method,
        .url = url,
        .body = body,
        .body_len = body_len,
        .content_type = ctype,
        .bearer = a->token,
        .headers = ctx_hdr ? headers : NULL,
        .timeout_ms = a->timeout_ms,
        .max_body = TAPI_BODY_MAX,
    };
    struct http_resp resp;
    int rc = http_do(&req, &resp, err);
    if (rc == 0) {
        *status = resp.status;
        if (resp.body.len)
            *out = json_loadb(resp.body.data, resp.body.len, JSON_DECODE_ANY, NULL);
    }
    http_resp_free(&resp);
    free(ctx_hdr);
    free(url);
    return rc;
}

int tapi_call(struct tapi *a, const char *method, const char *path, const char *body, const char *context,
              long *status, json_t **out, struct tu_err *err)
{
    return do_call(a, method, path, body, body ? strlen(body) : 0, NULL, context, status, out, err);
}

/* FastAPI puts the reason in "detail" (a string, or a list of objects with "msg"). */
static void fail_status(struct tu_err *err, const char *method, const char *path, long status, json_t *body)
{
    const char *detail = json_string_value(json_object_get(body, "detail"));
    if (!detail)
        detail = json_string_value(json_object_get(json_array_get(json_object_get(body, "detail"), 0), "msg"));
    if (!detail)
        detail = json_string_value(json_object_get(body, "message"));
    tu_err_set(err, status == 404 ? TU_ERR_NOT_FOUND : status == 409 ? TU_ERR_CONFLICT : TU_ERR_HTTP,
               "%s %s answered HTTP %ld%s%.300s", method, path, status, detail ? ": " : "", detail ? detail : "");
    err->status = status;
}

int tapi_get_json(struct tapi *a, const char *path, const char *context, json_t **out, struct tu_err *err)
{
    long status = 0;
    if (tapi_call(a, "GET", path, NULL, context, &status, out, err) < 0)
        return -1;
    if (status < 200 || status >= 300 || !*out) {
        if (status >= 200 && status < 300)
            tu_err_set(err, TU_ERR_PROTOCOL, "GET %s did not answer with JSON", path);
        else
            fail_status(err, "GET", path, status, *out);
        json_decref(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int tapi_post_json(struct tapi *a, const char *path, json_t *body, const char *context, json_t **out,
                   struct tu_err *err)
{
    char *text = json_dumps(body, JSON_COMPACT);
    long status = 0;
    json_t *res = NULL;
    int rc = tapi_call(a, "POST", path, text, context, &status, &res, err);
    if (text) {
        memset(text, 0, strlen(text)); /* may hold a password */
        free(text);
    }
    if (rc < 0)
        return -1;
    if (status < 200 || status >= 300) {
        fail_status(err, "POST", path, status, res);
        json_decref(res);
        return -1;
    }
    if (out)
        *out = res;
    else
        json_decref(res);
    return 0;
}

int tapi_details(struct tapi *a, json_t **out, struct tu_err *err)
{
    if (tapi_get_json(a, "/info/version/details", NULL, out, err) < 0)
        return -1;
    if (!json_is_object(*out) || !json_is_string(json_object_get(*out, "version"))) {
        json_decref(*out);
        *out = NULL;
        return tu_err_set(err, TU_ERR_PROTOCOL, "/info/version/details has no version");
    }
    return 0;
}

int tapi_install_status(struct tapi *a, json_t **out, struct tu_err *err)
{
    if (tapi_get_json(a, "/install", NULL, out, err) < 0)
        return -1;
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return tu_err_set(err, TU_ERR_PROTOCOL, "GET /install did not answer with an object");
    }
    return 0;
}

int tapi_install(struct tapi *a, const char *install_token, const char *email, const char *password,
                 struct tu_err *err)
{
    json_t *body = json_pack("{s:s,s:s,s:s,s:b,s:b}", "username", email, "password", password, "token",
                             install_token, "needs_admin", 1, "update_mapping", 0);
    if (!body)
        return tu_err_set(err, TU_ERR_USAGE, "the admin e-mail or password is not valid UTF-8");
    int rc = tapi_post_json(a, "/install", body, NULL, NULL, err);
    json_decref(body);
    if (rc < 0 && err->status == 403)
        tu_err_hint(err, "the installation token does not match the api's INSTALLATION_TOKEN");
    return rc;
}

int tapi_login(struct tapi *a, const char *email, const char *password, struct tu_err *err)
{
    char *u = curl_easy_escape(NULL, email, 0);
    char *p = curl_easy_escape(NULL, password, 0);
    if (!u || !p) {
        curl_free(u);
        curl_free(p);
        return tu_err_set(err, TU_ERR_IO, "out of memory");
    }
    char *form = xasprintf("username=%s&password=%s", u, p);
    memset(p, 0, strlen(p));
    curl_free(u);
    curl_free(p);
    long status = 0;
    json_t *res = NULL;
    int rc = do_call(a, "POST", "/user/token", form, strlen(form), "application/x-www-form-urlencoded", NULL,
                     &status, &res, err);
    secret_free(form);
    if (rc < 0)
        return -1;
    const char *tok = json_string_value(json_object_get(res, "access_token"));
    if (status != 200 || !tok || !*tok || strlen(tok) > 8192) {
        if (status == 200)
            tu_err_set(err, TU_ERR_PROTOCOL, "POST /user/token answered without an access_token");
        else
            fail_status(err, "POST", "/user/token", status, res);
        json_decref(res);
        return -1;
    }
    secret_free(a->token);
    a->token = xstrdup(tok);
    json_decref(res);
    return 0;
}
