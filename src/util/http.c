/* http.c - HTTP requests with caps and timeouts. */
#include "util/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/xalloc.h"

struct sink {
    struct buf *b;
    int too_big;
    struct buf *h;
    int headers_too_big;
};

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    /* A new status line starts another answer (after a 100 Continue): keep the last. */
    if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0)
        buf_reset(s->h);
    if (buf_append(s->h, ptr, n) < 0) {
        s->headers_too_big = 1;
        return 0;
    }
    return n;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    if (buf_append(s->b, ptr, n) < 0) {
        s->too_big = 1;
        return 0;
    }
    return n;
}

int http_do(const struct http_req *req, struct http_resp *resp, struct tu_err *err)
{
    const char *method = req->method ? req->method : "GET";
    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, req->max_body ? req->max_body : 1024 * 1024);
    buf_init(&resp->headers, req->max_headers);
    if (strncmp(req->url, "http://", 7) != 0 && strncmp(req->url, "https://", 8) != 0)
        return tu_err_set(err, TU_ERR_USAGE, "unsupported URL scheme in '%.100s'", req->url);

    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "fatal: cannot initialise libcurl\n");
        abort();
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    struct sink sink = {&resp->body, 0, &resp->headers, 0};
    struct curl_slist *list = NULL;
    char *auth = NULL;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    if (req->max_headers) {
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms > 0 && req->timeout_ms < 5000
                                                       ? req->timeout_ms : 5000L);
    /* Proxies from the environment must not see the API's tokens. */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    if (req->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
    if (req->insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        char *ct = xasprintf("Content-Type: %s", req->content_type ? req->content_type : "application/json");
        list = curl_slist_append(list, ct);
        free(ct);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    }
    list = curl_slist_append(list, "Expect:");
    list = curl_slist_append(list, "Accept: application/json");
    if (req->bearer) {
        auth = xasprintf("Authorization: Bearer %s", req->bearer);
        list = curl_slist_append(list, auth);
    } else if (req->authorization) {
        auth = xasprintf("Authorization: %s", req->authorization);
        list = curl_slist_append(list, auth);
    }
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        list = curl_slist_append(list, req->headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);

    int rc = 0;
    CURLcode cr = curl_easy_perform(c);
    if (cr != CURLE_OK) {
        if (sink.headers_too_big)
            tu_err_set(err, TU_ERR_TOO_BIG, "the headers from %s are larger than %zu bytes", req->url,
                       req->max_headers);
        else if (sink.too_big)
            tu_err_set(err, TU_ERR_TOO_BIG, "the answer from %s is larger than %zu bytes", req->url,
                       resp->body.max);
        else if (cr == CURLE_OPERATION_TIMEDOUT)
            tu_err_set(err, TU_ERR_TIMEOUT, "no answer from %s within %ld ms", req->url, req->timeout_ms);
        else
            tu_err_set(err, TU_ERR_CONNECT, "cannot reach %s: %s", req->url, *errbuf ? errbuf : curl_easy_strerror(cr));
        rc = -1;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    /* The list holds its own copies of the headers: wipe the credentials there too. */
    for (struct curl_slist *l = list; l; l = l->next)
        if (strncasecmp(l->data, "Authorization:", 14) == 0)
            memset(l->data, 0, strlen(l->data));
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    return rc;
}

void http_resp_free(struct http_resp *resp)
{
    if (!resp)
        return;
    buf_free(&resp->body);
    buf_free(&resp->headers);
}

char *http_resp_header(const struct http_resp *resp, const char *name, size_t idx)
{
    size_t nl = strlen(name);
    const char *h = resp->headers.data;
    const char *end = h ? h + resp->headers.len : NULL;
    while (h && h < end) {
        const char *eol = memchr(h, '\n', (size_t)(end - h));
        const char *line_end = eol ? eol : end;
        size_t ll = (size_t)(line_end - h);
        if (ll > nl && strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            if (idx-- == 0) {
                const char *v = h + nl + 1, *e = line_end;
                while (v < e && (*v == ' ' || *v == '\t'))
                    v++;
                while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
                    e--;
                return xstrndup(v, (size_t)(e - v));
            }
        }
        h = eol ? eol + 1 : end;
    }
    return NULL;
}

json_t *http_resp_json(const struct http_resp *resp, const char *what, struct tu_err *err)
{
    json_error_t je;
    json_t *j = resp->body.len ? json_loadb(resp->body.data, resp->body.len, JSON_DECODE_ANY, &je) : NULL;
    if (!j)
        tu_err_set(err, TU_ERR_PROTOCOL, "%s did not answer with JSON", what);
    return j;
}
