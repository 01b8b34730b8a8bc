/* test_docker.c - the Engine API client and concurrent pulls against a fake daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker/client.h"
#include "docker/objects.h"
#include "upgrade/edge.h"
#include "upgrade/phases.h"
#include "docker/transfer.h"
#include "fake_daemon.h"
#include "testutil.h"
#include "upgrade/pullset.h"
#include "upgrade/upctx.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define DIGEST_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIGEST_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DIGEST_OLD "sha256:0000000000000000000000000000000000000000000000000000000000000000"
#define DIGEST_HUB "sha256:1111111111111111111111111111111111111111111111111111111111111111"

#define API_REF "127.0.0.1:5000/tracardi/tracardi-api:0.8.2"
#define GUI_REF "127.0.0.1:5000/tracardi/tracardi-gui:0.8.2"
#define API_INSPECT "/v1.41/images/127.0.0.1%3A5000%2Ftracardi%2Ftracardi-api%3A0.8.2/json"
#define GUI_INSPECT "/v1.41/images/127.0.0.1%3A5000%2Ftracardi%2Ftracardi-gui%3A0.8.2/json"
#define API_CREATE "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Ftracardi%2Ftracardi-api&tag=0.8.2"
#define GUI_CREATE "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Ftracardi%2Ftracardi-gui&tag=0.8.2"

struct fixture {
    struct fake_daemon *fd;
    struct docker d;
    int have_d;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->fd = fake_daemon_start();
    char *host = xasprintf("unix://%s", fake_daemon_socket(f->fd));
    tt_env_set("DOCKER_HOST", host);
    free(host);
    /* No config.json there: anonymous unless a test writes one. */
    tt_env_set("DOCKER_CONFIG", fake_daemon_dir(f->fd));
    tt_env_set("DOCKER_API_VERSION", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->have_d)
        docker_cleanup(&f->d);
    fake_daemon_stop(f->fd);
    tt_env_restore();
    free(f);
    return 0;
}

static void expect_http(struct fixture *f, const char *method, const char *prefix, int status,
                        const char *extra, const char *body)
{
    char *r = fake_http(status, extra, body);
    fake_daemon_expect(f->fd, method, prefix, r);
    free(r);
}

static void expect_json(struct fixture *f, const char *method, const char *prefix, int status, const char *body)
{
    expect_http(f, method, prefix, status, "Content-Type: application/json\r\n", body);
}

static void expect_ping(struct fixture *f, const char *api)
{
    char *h = api ? xasprintf("Api-Version: %s\r\nContent-Type: text/plain; charset=utf-8\r\n", api) : NULL;
    expect_http(f, "GET", "/_ping", 200, h, "OK");
    free(h);
}

/* docker_init + negotiation against a daemon speaking `api`; short timeouts. */
static void connect_at(struct fixture *f, const char *api)
{
    struct tu_err e = {0};
    expect_ping(f, api);
    if (docker_init(&f->d, &e) != 0)
        fail_msg("docker_init: %s", e.msg);
    f->have_d = 1;
    if (docker_negotiate(&f->d, &e) != 0)
        fail_msg("docker_negotiate: %s", e.msg);
    f->d.request_timeout_s = 5;
    f->d.stall_timeout_s = 5;
}

static const struct fake_request *last_request(struct fixture *f)
{
    size_t n = fake_daemon_nrequests(f->fd);
    assert_true(n > 0);
    return fake_daemon_request(f->fd, n - 1);
}

/* ---- docker_init ---- */

static void test_init_socket_checks(void **state)
{
    struct fixture *f = *state;
    struct docker d;
    struct tu_err e = {0};

    tt_env_set("DOCKER_HOST", "tcp://127.0.0.1:2375");
    assert_int_equal(docker_init(&d, &e), -1);
    assert_int_equal(e.kind, TU_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "'tcp'"));
    assert_non_null(strstr(e.hint, "unix://"));

    tt_env_set("DOCKER_HOST", "ssh://user@host");
    assert_int_equal(docker_init(&d, &e), -1);
    assert_int_equal(e.kind, TU_ERR_UNSUPPORTED);

    tt_env_set("DOCKER_HOST", "unix://relative/docker.sock");
    assert_int_equal(docker_init(&d, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);

    char *missing = xasprintf("unix://%s/nope.sock", fake_daemon_dir(f->fd));
    tt_env_set("DOCKER_HOST", missing);
    tu_err_clear(&e);
    assert_int_equal(docker_init(&d, &e), -1);
    assert_int_equal(e.kind, TU_ERR_CONNECT);
    assert_non_null(strstr(e.msg, "does not exist"));
    assert_non_null(strstr(e.msg, "nope.sock"));
    assert_non_null(strstr(e.hint, "DOCKER_HOST"));
    free(missing);

    char *file = tt_write_file(fake_daemon_dir(f->fd), "regular", "x", 0600);
    char *host = xasprintf("unix://%s", file);
    tt_env_set("DOCKER_HOST", host);
    tu_err_clear(&e);
    assert_int_equal(docker_init(&d, &e), -1);
    assert_int_equal(e.kind, TU_ERR_CONNECT);
    assert_non_null(strstr(e.msg, "not a socket"));
    free(host);
    free(file);

    char longp[300] = "unix:///";
    memset(longp + 8, 'a', 200);
    longp[208] = '\0';
    tt_env_set("DOCKER_HOST", longp);
    tu_err_clear(&e);
    assert_int_equal(docker_init(&d, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    assert_non_null(strstr(e.msg, "too long"));

    /* The real one works and starts at the oldest API. */
    host = xasprintf("unix://%s", fake_daemon_socket(f->fd));
    tt_env_set("DOCKER_HOST", host);
    free(host);
    assert_int_equal(docker_init(&d, &e), 0);
    assert_string_equal(d.socket_path, fake_daemon_socket(f->fd));
    assert_string_equal(d.api_version, DOCKER_API_MIN);
    docker_cleanup(&d);
    docker_cleanup(NULL);
    /* Nothing was sent anywhere. */
    assert_int_equal(fake_daemon_nrequests(f->fd), 0);
}

static void test_connect_refused(void **state)
{
    struct fixture *f = *state;
    /* A socket that is bound but never listens refuses connections. */
    char *path = xasprintf("%s/dead.sock", fake_daemon_dir(f->fd));
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char *host = xasprintf("unix://%s", path);
    tt_env_set("DOCKER_HOST", host);
    struct docker d;
    struct tu_err e = {0};
    assert_int_equal(docker_init(&d, &e), 0);
    assert_int_equal(docker_negotiate(&d, &e), -1);
    assert_int_equal(e.kind, TU_ERR_CONNECT);
    assert_non_null(strstr(e.msg, "dead.sock"));
    docker_cleanup(&d);
    close(s);
    free(host);
    free(path);
}

/* ---- negotiation ---- */

static void test_negotiate_141(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    assert_string_equal(f->d.api_version, "1.41");
    assert_string_equal(f->d.daemon_api_version, "1.41");
    assert_int_equal(f->d.api_forced, 0);
    /* The ping itself is not versioned. */
    assert_string_equal(fake_daemon_request(f->fd, 0)->target, "/_ping");
    assert_string_equal(fake_daemon_request(f->fd, 0)->method, "GET");

    expect_json(f, "GET", "/v1.41/version", 200, "{\"ApiVersion\":\"1.41\",\"Version\":\"20.10.24\"}");
    json_t *v = NULL;
    struct tu_err e = {0};
    assert_int_equal(docker_version(&f->d, &v, &e), 0);
    assert_string_equal(json_string_value(json_object_get(v, "Version")), "20.10.24");
    json_decref(v);
    assert_string_equal(last_request(f)->target, "/v1.41/version");
}

static void test_negotiate_newer_daemon_capped(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.50");
    assert_string_equal(f->d.api_version, DOCKER_API_MAX);
    assert_string_equal(f->d.api_version, "1.47");
    assert_string_equal(f->d.daemon_api_version, "1.50");
    expect_json(f, "GET", "/v1.47/containers/json", 200, "[]");
    json_t *list = NULL;
    struct tu_err e = {0};
    assert_int_equal(docker_container_list(&f->d, "{\"label\":[\"a=b\"]}", &list, &e), 0);
    assert_true(json_is_array(list));
    json_decref(list);
    assert_string_equal(last_request(f)->target,
                        "/v1.47/containers/json?all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
}

static void test_negotiate_in_between_and_header_case(void **state)
{
    struct fixture *f = *state;
    expect_http(f, "GET", "/_ping", 200, "api-version:1.44\r\n", "OK");
    struct tu_err e = {0};
    assert_int_equal(docker_init(&f->d, &e), 0);
    f->have_d = 1;
    assert_int_equal(docker_negotiate(&f->d, &e), 0);
    assert_string_equal(f->d.api_version, "1.44");
}

static void negotiate_fails(struct fixture *f, const char *header, enum tu_err_kind kind, const char *want)
{
    if (header)
        expect_http(f, "GET", "/_ping", 200, header, "OK");
    else
        expect_ping(f, NULL);
    struct tu_err e = {0};
    assert_int_equal(docker_init(&f->d, &e), 0);
    f->have_d = 1;
    assert_int_equal(docker_negotiate(&f->d, &e), -1);
    assert_int_equal(e.kind, kind);
    if (!strstr(e.msg, want))
        fail_msg("message '%s' lacks '%s'", e.msg, want);
}

static void test_negotiate_old_daemon(void **state)
{
    struct fixture *f = *state;
    negotiate_fails(f, "Api-Version: 1.40\r\n", TU_ERR_UNSUPPORTED, "speaks API 1.40, older than 1.41");
}

static void test_negotiate_missing_header(void **state)
{
    struct fixture *f = *state;
    negotiate_fails(f, NULL, TU_ERR_UNSUPPORTED, "did not announce a valid API version");
}

static void test_negotiate_garbage_header(void **state)
{
    struct fixture *f = *state;
    negotiate_fails(f, "Api-Version: banana\r\n", TU_ERR_UNSUPPORTED, "did not announce a valid API version");
}

static void test_negotiate_overlong_header(void **state)
{
    struct fixture *f = *state;
    negotiate_fails(f, "Api-Version: 1.41111111111111111111111111111\r\n", TU_ERR_UNSUPPORTED,
                    "did not announce a valid API version");
}

static void test_negotiate_ping_error(void **state)
{
    struct fixture *f = *state;
    expect_json(f, "GET", "/_ping", 500, "{\"message\":\"daemon is shutting down\"}");
    struct tu_err e = {0};
    assert_int_equal(docker_init(&f->d, &e), 0);
    f->have_d = 1;
    assert_int_equal(docker_negotiate(&f->d, &e), -1);
    assert_int_equal(e.kind, TU_ERR_HTTP);
    assert_int_equal(e.status, 500);
    assert_string_equal(e.msg, "the docker daemon's /_ping failed: daemon is shutting down");
}

static void test_negotiate_forced_version(void **state)
{
    struct fixture *f = *state;
    tt_env_set("DOCKER_API_VERSION", "1.43");
    connect_at(f, "1.50");
    assert_string_equal(f->d.api_version, "1.43");
    assert_string_equal(f->d.daemon_api_version, "1.50");
    assert_int_equal(f->d.api_forced, 1);
    expect_http(f, "POST", "/v1.43/containers/x/start", 204, NULL, "");
    struct tu_err e = {0};
    assert_int_equal(docker_call(&f->d, "POST", "/containers/x/start", NULL, NULL, NULL, &e), 204);
    assert_string_equal(last_request(f)->target, "/v1.43/containers/x/start");
}

static void test_negotiate_forced_version_bad(void **state)
{
    struct fixture *f = *state;
    struct tu_err e = {0};
    assert_int_equal(docker_init(&f->d, &e), 0);
    f->have_d = 1;
    static const char *const out_of_range[] = {"1.40", "1.48", "2.0", "0.41"};
    for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++) {
        tt_env_set("DOCKER_API_VERSION", out_of_range[i]);
        tu_err_clear(&e);
        assert_int_equal(docker_negotiate(&f->d, &e), -1);
        assert_int_equal(e.kind, TU_ERR_UNSUPPORTED);
        assert_non_null(strstr(e.msg, out_of_range[i]));
    }
    static const char *const malformed[] = {"abc", "1", "1.", ".41", "1.41.0", "1.41x", "v1.41", "-1.41",
                                            "1.-41", "1. 41", "+1.41", "1.+41", "12345678901.1"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        tt_env_set("DOCKER_API_VERSION", malformed[i]);
        tu_err_clear(&e);
        if (docker_negotiate(&f->d, &e) != -1 || e.kind != TU_ERR_USAGE)
            fail_msg("DOCKER_API_VERSION='%s' not refused as malformed (%s)", malformed[i], e.msg);
        assert_non_null(strstr(e.msg, "is not an API version"));
    }
    /* Refused before talking to the daemon at all. */
    assert_int_equal(fake_daemon_nrequests(f->fd), 0);
    /* The version stays the safe default. */
    assert_string_equal(f->d.api_version, DOCKER_API_MIN);
}

static void test_api_cmp(void **state)
{
    (void)state;
    assert_int_equal(docker_api_cmp("1.41", "1.41"), 0);
    assert_int_equal(docker_api_cmp("1.41", "1.47"), -1);
    assert_int_equal(docker_api_cmp("1.100", "1.47"), 1);
    assert_int_equal(docker_api_cmp("2.0", "1.99"), 1);
    assert_int_equal(docker_api_cmp("1.41", "x"), -2);
    assert_int_equal(docker_api_cmp(NULL, "1.41"), -2);
    assert_int_equal(docker_api_cmp("", "1.41"), -2);
}

/* ---- plain calls ---- */

static void test_call_304_is_not_an_error(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_http(f, "POST", "/v1.41/containers/x/start", 304, NULL, "");
    expect_http(f, "POST", "/v1.41/containers/x/stop?t=10", 304, NULL, "");
    struct tu_err e = {0};
    json_t *out = (json_t *)1;
    assert_int_equal(docker_call(&f->d, "POST", "/containers/x/start", NULL, NULL, &out, &e), 304);
    assert_null(out);
    assert_int_equal(e.kind, TU_ERR_NONE);
    assert_string_equal(last_request(f)->method, "POST");
    assert_int_equal(last_request(f)->body_len, 0);
    assert_int_equal(docker_call(&f->d, "POST", "/containers/x/stop?t=10", NULL, NULL, NULL, &e), 304);
    assert_int_equal(e.kind, TU_ERR_NONE);
    assert_int_equal(fake_daemon_unused(f->fd), 0);
}

static void test_call_404_not_found(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "GET", "/v1.41/containers/x/json", 404, "{\"message\":\"No such container: x\"}");
    struct tu_err e = {0};
    json_t *out = NULL;
    assert_int_equal(docker_call(&f->d, "GET", "/containers/x/json", NULL, NULL, &out, &e), -1);
    assert_null(out);
    assert_int_equal(e.kind, TU_ERR_NOT_FOUND);
    assert_int_equal(e.status, 404);
    assert_string_equal(e.msg, "No such container: x");
    /* Through the typed call as well. */
    expect_json(f, "GET", "/v1.41/images/redis%3A7/json", 404, "{\"message\":\"No such image: redis:7\"}");
    assert_int_equal(docker_image_inspect(&f->d, "redis:7", &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_NOT_FOUND);
    assert_string_equal(e.msg, "No such image: redis:7");
}

static void test_call_409_conflict(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "POST", "/v1.41/containers/create?name=tracardi-api",
                409, "{\"message\":\"Conflict. The container name \\\"/tracardi-api\\\" is already in use\"}");
    struct tu_err e = {0};
    json_t *out = NULL;
    const char *body = "{\"Image\":\"127.0.0.1:5000/tracardi/tracardi-api:0.8.2\"}";
    assert_int_equal(docker_call(&f->d, "POST", "/containers/create?name=tracardi-api", body, NULL, &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_CONFLICT);
    assert_int_equal(e.status, 409);
    assert_string_equal(e.msg, "Conflict. The container name \"/tracardi-api\" is already in use");
    /* The JSON body went out as JSON. */
    const struct fake_request *r = last_request(f);
    assert_string_equal(r->body, body);
    char *ct = fake_request_header(r, "Content-Type");
    assert_string_equal(ct, "application/json");
    free(ct);
}

static void test_call_500_not_json(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_http(f, "GET", "/v1.41/info", 500, "Content-Type: text/plain\r\n",
                "Internal Server Error\ngoroutine 1 [running]:\n");
    expect_http(f, "GET", "/v1.41/info", 502, NULL, "");
    struct tu_err e = {0};
    assert_int_equal(docker_call(&f->d, "GET", "/info", NULL, NULL, NULL, &e), -1);
    assert_int_equal(e.kind, TU_ERR_HTTP);
    assert_int_equal(e.status, 500);
    assert_string_equal(e.msg, "Internal Server Error");
    assert_int_equal(docker_call(&f->d, "GET", "/info", NULL, NULL, NULL, &e), -1);
    assert_int_equal(e.status, 502);
    assert_string_equal(e.msg, "the docker daemon answered HTTP 502");
}

static void test_call_ok_bodies(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "GET", "/v1.41/containers/abc/json", 200,
                "{\"Id\":\"abc\",\"State\":{\"Status\":\"running\",\"Health\":{\"Status\":\"healthy\"}}}");
    expect_http(f, "DELETE", "/v1.41/containers/abc?force=1", 204, NULL, "");
    expect_json(f, "GET", "/v1.41/containers/bad/json", 200, "{not json");
    expect_json(f, "GET", "/v1.41/containers/arr/json", 200, "[1]");
    expect_json(f, "GET", "/v1.41/containers/empty/json", 200, "");
    struct tu_err e = {0};
    json_t *out = NULL;
    assert_int_equal(docker_container_inspect(&f->d, "abc", &out, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "State"), "Status")), "running");
    json_decref(out);
    /* Extra headers go out; a DELETE is a DELETE. */
    const char *const hdrs[] = {"X-Test-Header: yes", NULL};
    assert_int_equal(docker_call(&f->d, "DELETE", "/containers/abc?force=1", NULL, hdrs, &out, &e), 204);
    assert_null(out);
    const struct fake_request *r = last_request(f);
    assert_string_equal(r->method, "DELETE");
    char *h = fake_request_header(r, "X-Test-Header");
    assert_string_equal(h, "yes");
    free(h);
    /* A 200 that is not JSON is a protocol error. */
    assert_int_equal(docker_call(&f->d, "GET", "/containers/bad/json", NULL, NULL, &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    assert_null(out);
    /* The typed call checks the shape. */
    assert_int_equal(docker_container_inspect(&f->d, "arr", &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    assert_null(out);
    assert_int_equal(docker_container_inspect(&f->d, "empty", &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    assert_null(out);
}

static void test_call_raw_body(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_http(f, "PUT", "/v1.41/containers/abc/archive?path=%2Fetc", 200, NULL, "");
    const char tar[] = {'t', 'a', 'r', '\0', 'x', (char)0xff};
    struct tu_err e = {0};
    assert_int_equal(docker_call_raw(&f->d, "PUT", "/containers/abc/archive?path=%2Fetc", tar, sizeof(tar),
                                     "application/x-tar", NULL, &e), 200);
    const struct fake_request *r = last_request(f);
    assert_string_equal(r->method, "PUT");
    assert_int_equal(r->body_len, sizeof(tar));
    assert_memory_equal(r->body, tar, sizeof(tar));
    char *ct = fake_request_header(r, "Content-Type");
    assert_string_equal(ct, "application/x-tar");
    free(ct);
    /* No "Expect: 100-continue" dance with the daemon. */
    assert_null(fake_request_header(r, "Expect"));
}

static void test_call_body_too_big(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    char big[4096];
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '[';
    big[sizeof(big) - 2] = ']';
    big[sizeof(big) - 1] = '\0';
    expect_json(f, "GET", "/v1.41/containers/json", 200, big);
    f->d.max_body = 100;
    struct tu_err e = {0};
    json_t *out = NULL;
    assert_int_equal(docker_call(&f->d, "GET", "/containers/json?all=1", NULL, NULL, &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_TOO_BIG);
    assert_non_null(strstr(e.msg, "larger than 100 bytes"));
    assert_null(out);
}

static void test_call_no_answer_times_out(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    const char *nothing = "";
    fake_daemon_expect_chunks(f->fd, "GET", "/v1.41/info", &nothing, 1, 0, 5000);
    f->d.request_timeout_s = 1;
    struct tu_err e = {0};
    long t0 = tt_now_ms();
    assert_int_equal(docker_call(&f->d, "GET", "/info", NULL, NULL, NULL, &e), -1);
    long took = tt_now_ms() - t0;
    assert_int_equal(e.kind, TU_ERR_TIMEOUT);
    assert_true(took < 4000);
}

static void test_escape(void **state)
{
    (void)state;
    char *s = docker_escape("127.0.0.1:5000/a b?c&d=e#f");
    assert_string_equal(s, "127.0.0.1%3A5000%2Fa%20b%3Fc%26d%3De%23f");
    free(s);
}

static void test_error_from_body(void **state)
{
    (void)state;
    struct tu_err e;
    docker_error_from_body(&e, 404, "{\"message\":\"no\\nsuch\"}", 22);
    assert_int_equal(e.kind, TU_ERR_NOT_FOUND);
    assert_string_equal(e.msg, "no such");
    docker_error_from_body(&e, 400, "{\"message\":42}", 14);
    assert_int_equal(e.kind, TU_ERR_HTTP);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.msg, "{\"message\":42}");
    docker_error_from_body(&e, 409, NULL, 0);
    assert_int_equal(e.kind, TU_ERR_CONFLICT);
    assert_string_equal(e.msg, "the docker daemon answered HTTP 409");
    /* A long non-JSON body is cut. */
    char big[1000];
    memset(big, 'x', sizeof(big));
    docker_error_from_body(&e, 500, big, sizeof(big));
    assert_true(strlen(e.msg) < 300);
}

/* ---- container lifecycle ---- */

static void test_lifecycle_calls(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "POST", "/v1.41/containers/create?name=tracardi-api-green", 201,
                "{\"Id\":\"0123456789abcdef\",\"Warnings\":[]}");
    expect_json(f, "POST", "/v1.41/containers/create?name=bad", 201, "{\"Warnings\":[]}");
    expect_http(f, "POST", "/v1.41/containers/0123456789abcdef/start", 304, NULL, "");
    expect_http(f, "POST", "/v1.41/containers/0123456789abcdef/stop?t=10", 304, NULL, "");
    expect_json(f, "DELETE", "/v1.41/containers/gone?force=1&v=0", 404, "{\"message\":\"No such container: gone\"}");
    expect_json(f, "DELETE", "/v1.41/containers/busy?force=0&v=0", 409,
                "{\"message\":\"cannot remove a running container\"}");
    expect_http(f, "POST", "/v1.41/networks/tracardi%20net/connect", 200, NULL, "");
    struct tu_err e = {0};
    json_t *body = json_pack("{s:s}", "Image", API_REF);
    char *id = NULL;
    assert_int_equal(docker_container_create(&f->d, "tracardi-api-green", body, &id, &e), 0);
    assert_string_equal(id, "0123456789abcdef");
    free(id);
    assert_string_equal(last_request(f)->body, "{\"Image\":\"" API_REF "\"}");
    assert_int_equal(docker_container_create(&f->d, "bad", body, &id, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    assert_null(id);
    json_decref(body);
    assert_int_equal(docker_container_start(&f->d, "0123456789abcdef", &e), 0);
    assert_int_equal(docker_container_stop(&f->d, "0123456789abcdef", 10, &e), 0);
    /* The request timeout was stretched for the stop, then put back. */
    assert_int_equal(f->d.request_timeout_s, 5);
    /* Removing what is already gone is done. */
    assert_int_equal(docker_container_remove(&f->d, "gone", 1, &e), 0);
    assert_int_equal(e.kind, TU_ERR_NONE);
    assert_int_equal(docker_container_remove(&f->d, "busy", 0, &e), -1);
    assert_int_equal(e.kind, TU_ERR_CONFLICT);
    assert_string_equal(e.msg, "removing container 'busy': cannot remove a running container");
    const char *const aliases[] = {"tracardi-api", NULL};
    assert_int_equal(docker_network_connect(&f->d, "tracardi net", "0123456789abcdef", aliases, &e), 0);
    json_t *sent = json_loads(last_request(f)->body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sent, "Container")), "0123456789abcdef");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(sent, "EndpointConfig"), "Aliases"), 0)),
                        "tracardi-api");
    json_decref(sent);
    assert_int_equal(fake_daemon_unused(f->fd), 0);
}

static void test_lifecycle_put_file(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_http(f, "PUT", "/v1.41/containers/abc/archive?path=%2Fetc%2Ftracardi", 200, NULL, "");
    expect_json(f, "PUT", "/v1.41/containers/abc/archive", 404, "{\"message\":\"Could not find the file /nope\"}");
    const char content[] = "key: value\n\0binary";
    struct tu_err e = {0};
    assert_int_equal(docker_put_file(&f->d, "abc", "/etc/tracardi", "conf.yaml", content, sizeof(content), 0640, &e),
                     0);
    const struct fake_request *r = last_request(f);
    char *ct = fake_request_header(r, "Content-Type");
    assert_string_equal(ct, "application/x-tar");
    free(ct);
    /* The body is a tar with exactly that one file. */
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, r->body, r->body_len), ARCHIVE_OK);
    struct archive_entry *ent;
    assert_int_equal(archive_read_next_header(a, &ent), ARCHIVE_OK);
    assert_string_equal(archive_entry_pathname(ent), "conf.yaml");
    assert_int_equal(archive_entry_size(ent), sizeof(content));
    assert_int_equal(archive_entry_perm(ent), 0640);
    assert_true(archive_entry_filetype(ent) == AE_IFREG);
    char got[64];
    assert_int_equal(archive_read_data(a, got, sizeof(got)), sizeof(content));
    assert_memory_equal(got, content, sizeof(content));
    assert_int_equal(archive_read_next_header(a, &ent), ARCHIVE_EOF);
    archive_read_free(a);

    assert_int_equal(docker_put_file(&f->d, "abc", "/nope", "x", "", 0, 0600, &e), -1);
    assert_int_equal(e.kind, TU_ERR_NOT_FOUND);
    assert_string_equal(e.msg, "uploading '/nope/x' into 'abc': Could not find the file /nope");
}

static void test_lifecycle_logs(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    /* Framed (no TTY): stdout and stderr interleaved. */
    static const char framed[] = "\x01\0\0\0\0\0\0\x06hello\n\x02\0\0\0\0\0\0\x04oops\x01\0\0\0\0\0\0\x03" "bye";
    char *head = xasprintf("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n", sizeof(framed) - 1);
    size_t hl = strlen(head);
    char *resp = xmalloc(hl + sizeof(framed) - 1);
    memcpy(resp, head, hl);
    memcpy(resp + hl, framed, sizeof(framed) - 1);
    fake_daemon_expect_raw(f->fd, "GET", "/v1.41/containers/abc/logs?stdout=1&stderr=1&tail=50", resp,
                           hl + sizeof(framed) - 1);
    free(resp);
    free(head);
    struct tu_err e = {0};
    char *out = NULL;
    assert_int_equal(docker_container_logs(&f->d, "abc", 50, &out, &e), 0);
    assert_string_equal(out, "hello\noopsbye");
    free(out);
    expect_http(f, "GET", "/v1.41/containers/abc/logs?stdout=1&stderr=1&tail=50", 200, NULL,
                "plain tty output\nsecond line\n");
    assert_int_equal(docker_container_logs(&f->d, "abc", 50, &out, &e), 0);
    /* Unframed (a TTY): taken as it is. */
    assert_string_equal(out, "plain tty output\nsecond line\n");
    free(out);
    expect_json(f, "GET", "/v1.41/containers/nope/logs", 404, "{\"message\":\"No such container: nope\"}");
    assert_int_equal(docker_container_logs(&f->d, "nope", 50, &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_NOT_FOUND);
    assert_null(out);
}

/* ---- exec ---- */

/* An attached exec start: the daemon's raw stream with no length, closed at the end. */
static void expect_exec_start(struct fixture *f, const char *eid, const char *framed, size_t len)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n";
    char *resp = xmalloc(sizeof(head) - 1 + len + 1);
    memcpy(resp, head, sizeof(head) - 1);
    memcpy(resp + sizeof(head) - 1, framed, len);
    char *path = xasprintf("/v1.41/exec/%s/start", eid);
    fake_daemon_expect_raw(f->fd, "POST", path, resp, sizeof(head) - 1 + len);
    free(path);
    free(resp);
}

static void test_exec(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    static const char framed[] = "\x02\0\0\0\0\0\0\x20" "2026/11/22 [notice] signal sent\n"
                                 "\x01\0\0\0\0\0\0\x03" "ok\n";
    expect_json(f, "POST", "/v1.41/containers/edge%2F1/exec", 201, "{\"Id\":\"e1\"}");
    expect_exec_start(f, "e1", framed, sizeof(framed) - 1);
    /* The stream ended a moment before the daemon noticed the process did. */
    expect_json(f, "GET", "/v1.41/exec/e1/json", 200, "{\"Running\":true,\"ExitCode\":null}");
    expect_json(f, "GET", "/v1.41/exec/e1/json", 200, "{\"Running\":false,\"ExitCode\":0}");
    static const char *const argv[] = {"nginx", "-s", "reload", NULL};
    struct tu_err e = {0};
    int code = -7;
    char *out = NULL;
    assert_int_equal(docker_exec(&f->d, "edge/1", argv, &code, &out, &e), 0);
    assert_int_equal(code, 0);
    assert_string_equal(out, "2026/11/22 [notice] signal sent\nok\n");
    free(out);
    json_t *sent = json_loads(fake_daemon_request(f->fd, 1)->body, 0, NULL);
    assert_non_null(sent);
    json_t *want = json_pack("[sss]", "nginx", "-s", "reload");
    assert_true(json_equal(json_object_get(sent, "Cmd"), want));
    json_decref(want);
    assert_true(json_is_false(json_object_get(sent, "Tty")) && json_is_false(json_object_get(sent, "AttachStdin")));
    assert_true(json_is_true(json_object_get(sent, "AttachStdout")) && json_is_true(json_object_get(sent, "AttachStderr")));
    json_decref(sent);
    /* Attached, not detached: the output comes back on this request. */
    assert_string_equal(fake_daemon_request(f->fd, 2)->body, "{\"Detach\":false,\"Tty\":false}");
    assert_int_equal(fake_daemon_unused(f->fd), 0);

    /* A failing command is not an error of the call: its code and output come back. */
    static const char failed[] = "\x02\0\0\0\0\0\0\x2a" "nginx: [error] invalid PID number \"\" in /\n";
    expect_json(f, "POST", "/v1.41/containers/edge/exec", 201, "{\"Id\":\"e2\"}");
    expect_exec_start(f, "e2", failed, sizeof(failed) - 1);
    expect_json(f, "GET", "/v1.41/exec/e2/json", 200, "{\"Running\":false,\"ExitCode\":1}");
    assert_int_equal(docker_exec(&f->d, "edge", argv, &code, &out, &e), 0);
    assert_int_equal(code, 1);
    assert_non_null(strstr(out, "invalid PID number"));
    free(out);

    /* A container that does not run: the daemon's 409, named. */
    expect_json(f, "POST", "/v1.41/containers/stopped/exec", 409,
                "{\"message\":\"Container stopped is not running\"}");
    assert_int_equal(docker_exec(&f->d, "stopped", argv, &code, &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_CONFLICT);
    assert_non_null(strstr(e.msg, "running 'nginx' in container 'stopped': Container stopped is not running"));
    assert_null(out);
    assert_int_equal(code, -1);

    /* No exec id, or an exec state without an exit code: protocol errors. */
    expect_json(f, "POST", "/v1.41/containers/edge/exec", 201, "{}");
    assert_int_equal(docker_exec(&f->d, "edge", argv, &code, &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    expect_json(f, "POST", "/v1.41/containers/edge/exec", 201, "{\"Id\":\"e3\"}");
    expect_exec_start(f, "e3", "", 0);
    expect_json(f, "GET", "/v1.41/exec/e3/json", 200, "{\"Running\":false}");
    assert_int_equal(docker_exec(&f->d, "edge", argv, &code, &out, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    assert_null(out);
}

/* The edge reloads by running nginx inside it, never by POST /kill (a signalled
 * container with restart policy unless-stopped stays down after a daemon restart). */
static void test_edge_reload(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "POST", "/v1.41/containers/edge/exec", 201, "{\"Id\":\"r1\"}");
    expect_exec_start(f, "r1", "", 0);
    expect_json(f, "GET", "/v1.41/exec/r1/json", 200, "{\"Running\":false,\"ExitCode\":0}");
    struct tu_err e = {0};
    assert_int_equal(edge_reload(&f->d, "edge", &e), 0);
    json_t *sent = json_loads(fake_daemon_request(f->fd, 1)->body, 0, NULL);
    json_t *want = json_pack("[sss]", "nginx", "-s", "reload");
    assert_true(json_equal(json_object_get(sent, "Cmd"), want));
    json_decref(want);
    json_decref(sent);

    static const char failed[] = "\x02\0\0\0\0\0\0\x2a" "nginx: [error] invalid PID number \"\" in /\n";
    /* A just-started nginx without its pid file yet: tried again, and it works. */
    expect_json(f, "POST", "/v1.41/containers/edge/exec", 201, "{\"Id\":\"r2\"}");
    expect_exec_start(f, "r2", failed, sizeof(failed) - 1);
    expect_json(f, "GET", "/v1.41/exec/r2/json", 200, "{\"Running\":false,\"ExitCode\":1}");
    expect_json(f, "POST", "/v1.41/containers/edge/exec", 201, "{\"Id\":\"r3\"}");
    expect_exec_start(f, "r3", "", 0);
    expect_json(f, "GET", "/v1.41/exec/r3/json", 200, "{\"Running\":false,\"ExitCode\":0}");
    assert_int_equal(edge_reload(&f->d, "edge", &e), 0);
    assert_int_equal(fake_daemon_unused(f->fd), 0);

    /* A reload that keeps failing: EDGE_RELOAD_TRIES runs, then nginx's line in the error. */
    for (int i = 0; i < EDGE_RELOAD_TRIES; i++) {
        char id[16];
        snprintf(id, sizeof(id), "f%d", i);
        char *created = xasprintf("{\"Id\":\"%s\"}", id);
        char *exec_json = xasprintf("/v1.41/exec/%s/json", id);
        expect_json(f, "POST", "/v1.41/containers/edge/exec", 201, created);
        expect_exec_start(f, id, failed, sizeof(failed) - 1);
        expect_json(f, "GET", exec_json, 200, "{\"Running\":false,\"ExitCode\":1}");
        free(created);
        free(exec_json);
    }
    assert_int_equal(edge_reload(&f->d, "edge", &e), -1);
    assert_int_equal(e.kind, TU_ERR_REFUSED);
    assert_non_null(strstr(e.msg, "'nginx -s reload' in container 'edge' exited 1 (5 tries): nginx: [error] invalid PID number"));
    assert_int_equal(fake_daemon_unused(f->fd), 0);
    assert_int_equal(fake_daemon_count(f->fd, "/kill"), 0);
}

/* A switch is seen only when the new release answers every request for a while:
 * after a reload nginx's old workers still take connections for a moment. */
static void expect_version(struct fake_daemon *fd, const char *v)
{
    char *body = xasprintf("\"%s\"", v);
    char *resp = fake_http(200, "Content-Type: application/json\r\n", body);
    fake_daemon_expect(fd, "GET", "/info/version", resp);
    free(resp);
    free(body);
}

static void test_public_answers_steady(void **state)
{
    (void)state;
    struct fake_daemon *fd = fake_daemon_start_tcp();
    char *base = xasprintf("http://127.0.0.1:%d", fake_daemon_port(fd));
    /* New, old (an old worker took it), then new for good. */
    expect_version(fd, "0.8.2");
    expect_version(fd, "0.8.1");
    for (int i = 0; i < 20; i++)
        expect_version(fd, "0.8.2");
    long t0 = time_mono_ms();
    long first = -1;
    assert_int_equal(engine_public_answers(base, "0.8.2", 10000, &first), 1);
    long t1 = time_mono_ms();
    /* The run that counts began after the old answer, and lasted PUBLIC_STABLE_MS. */
    assert_true(first - t0 >= PUBLIC_STABLE_POLL_MS + 100);
    assert_true(t1 - first >= PUBLIC_STABLE_MS);
    size_t n = fake_daemon_nrequests(fd);
    assert_true(n >= 4);
    assert_true(n <= 3 + PUBLIC_STABLE_MS / PUBLIC_STABLE_POLL_MS + 1);
    fake_daemon_stop(fd);

    /* Flapping between the two releases never counts as switched. */
    fd = fake_daemon_start_tcp();
    free(base);
    base = xasprintf("http://127.0.0.1:%d", fake_daemon_port(fd));
    for (int i = 0; i < FAKE_MAX_STEPS / 2; i++) {
        expect_version(fd, "0.8.2");
        expect_version(fd, "0.8.1");
    }
    first = -1;
    assert_int_equal(engine_public_answers(base, "0.8.2", 800, &first), 0);
    assert_int_equal(first, -1);
    assert_true(fake_daemon_nrequests(fd) >= 4);
    fake_daemon_stop(fd);
    free(base);
}

/* ---- streams ---- */

struct lines {
    char *v[64];
    size_t n;
    int stop_after;
};

static int collect_line(void *ud, const char *line, size_t len)
{
    struct lines *l = ud;
    if (l->n < 64)
        l->v[l->n++] = xstrndup(line, len);
    return l->stop_after && (int)l->n >= l->stop_after;
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

/* Adds a chunked stream step: the head, then each piece as its own chunk, then the end. */
static void expect_stream(struct fixture *f, const char *method, const char *prefix, int status,
                          const char *const *pieces, size_t n, long delay_ms, long stall_ms, int finish)
{
    char *parts[FAKE_MAX_CHUNKS];
    size_t k = 0;
    parts[k++] = fake_chunked_head(status, "application/json");
    for (size_t i = 0; i < n; i++)
        parts[k++] = fake_chunk(pieces[i]);
    if (finish)
        parts[k++] = xstrdup(FAKE_CHUNK_END);
    fake_daemon_expect_chunks(f->fd, method, prefix, (const char *const *)parts, k, delay_ms, stall_ms);
    for (size_t i = 0; i < k; i++)
        free(parts[i]);
}

static const char *const pull_api_pieces[] = {
    "{\"status\":\"Pulling from tracardi/tracardi-api\",\"id\":\"0.8.2\"}\r\n{\"status\":\"Pulling fs la",
    "yer\",\"progressDetail\":{},\"id\":\"a1\"}\r\n{\"status\":\"Downloading\",\"progressDetail\":{\"curr",
    "ent\":5,\"total\":10},\"id\":\"a1\"}\r",
    "\n{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"a1\"}\r\n",
    "{\"status\":\"Status: Downloaded newer image for 127.0.0.1:5000/tracardi/tracardi-api:0.8.2\"}\r\n",
};

static void test_stream_lines_split_across_chunks(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_stream(f, "POST", API_CREATE, 200, pull_api_pieces, 5, 20, 0, 1);
    struct lines l = {0};
    struct docker_stream s;
    docker_stream_init(&s, "POST", API_CREATE + 6, NULL, NULL, collect_line, &l);
    struct docker_stream *ss[] = {&s};
    assert_int_equal(docker_run_streams(&f->d, ss, 1, NULL, NULL, 50), 0);
    assert_int_equal(s.status, 200);
    assert_int_equal(s.err.kind, TU_ERR_NONE);
    assert_int_equal(s.done, 1);
    assert_int_equal(l.n, 5);
    assert_string_equal(l.v[0], "{\"status\":\"Pulling from tracardi/tracardi-api\",\"id\":\"0.8.2\"}");
    assert_string_equal(l.v[1], "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"a1\"}");
    assert_string_equal(l.v[2], "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":5,\"total\":10},\"id\":\"a1\"}");
    assert_string_equal(l.v[3], "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"a1\"}");
    const struct fake_request *r = last_request(f);
    assert_string_equal(r->target, API_CREATE);
    assert_string_equal(r->method, "POST");
    lines_free(&l);
    docker_stream_free(&s);
    docker_stream_free(NULL);
}

static void test_stream_last_line_without_newline(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    const char *const pieces[] = {"{\"a\":1}\n{\"b\"", ":2}"};
    expect_stream(f, "GET", "/v1.41/events", 200, pieces, 2, 0, 0, 1);
    struct lines l = {0};
    struct docker_stream s;
    docker_stream_init(&s, "GET", "/events", NULL, NULL, collect_line, &l);
    struct docker_stream *ss[] = {&s};
    assert_int_equal(docker_run_streams(&f->d, ss, 1, NULL, NULL, 50), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[1], "{\"b\":2}");
    lines_free(&l);
    docker_stream_free(&s);
}

static void test_stream_error_status(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "POST", "/v1.41/images/create", 404,
                "{\"message\":\"pull access denied for x, repository does not exist\"}");
    struct lines l = {0};
    struct docker_stream s;
    docker_stream_init(&s, "POST", "/images/create?fromImage=x&tag=1", NULL, NULL, collect_line, &l);
    struct docker_stream *ss[] = {&s};
    assert_int_equal(docker_run_streams(&f->d, ss, 1, NULL, NULL, 50), -1);
    assert_int_equal(s.status, 404);
    assert_int_equal(s.err.kind, TU_ERR_NOT_FOUND);
    assert_int_equal(s.err.status, 404);
    assert_string_equal(s.err.msg, "pull access denied for x, repository does not exist");
    /* The error body is not fed as lines. */
    assert_int_equal(l.n, 0);
    docker_stream_free(&s);
}

static void test_stream_line_too_long(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    const char *const pieces[] = {"{\"ok\":1}\n", "{\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n",
                                  "{\"never\":1}\n"};
    expect_stream(f, "GET", "/v1.41/events", 200, pieces, 3, 0, 0, 1);
    f->d.max_line = 32;
    struct lines l = {0};
    struct docker_stream s;
    docker_stream_init(&s, "GET", "/events", NULL, NULL, collect_line, &l);
    struct docker_stream *ss[] = {&s};
    assert_int_equal(docker_run_streams(&f->d, ss, 1, NULL, NULL, 50), -1);
    assert_int_equal(s.err.kind, TU_ERR_TOO_BIG);
    assert_non_null(strstr(s.err.msg, "longer than 32 bytes"));
    assert_int_equal(l.n, 1);
    lines_free(&l);
    docker_stream_free(&s);
}

static void test_stream_stop_by_callback(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    const char *const pieces[] = {"{\"n\":1}\n{\"n\":2}\n", "{\"n\":3}\n"};
    /* The daemon would keep the stream open; stopping must not wait for it. */
    expect_stream(f, "GET", "/v1.41/events", 200, pieces, 2, 0, 5000, 0);
    struct lines l = {.stop_after = 2};
    struct docker_stream s;
    docker_stream_init(&s, "GET", "/events", NULL, NULL, collect_line, &l);
    struct docker_stream *ss[] = {&s};
    long t0 = tt_now_ms();
    assert_int_equal(docker_run_streams(&f->d, ss, 1, NULL, NULL, 50), 0);
    assert_true(tt_now_ms() - t0 < 3000);
    assert_int_equal(s.stopped, 1);
    assert_int_equal(s.err.kind, TU_ERR_NONE);
    assert_int_equal(l.n, 2);
    lines_free(&l);
    docker_stream_free(&s);
}

static void stall_case(struct fixture *f, const char *const *pieces, size_t n, size_t want_lines)
{
    connect_at(f, "1.41");
    expect_stream(f, "POST", "/v1.41/images/create", 200, pieces, n, 0, 10000, 0);
    f->d.stall_timeout_s = 1;
    struct lines l = {0};
    struct docker_stream s;
    docker_stream_init(&s, "POST", "/images/create?fromImage=x&tag=1", NULL, NULL, collect_line, &l);
    struct docker_stream *ss[] = {&s};
    long t0 = tt_now_ms();
    assert_int_equal(docker_run_streams(&f->d, ss, 1, NULL, NULL, 50), -1);
    long took = tt_now_ms() - t0;
    assert_int_equal(s.err.kind, TU_ERR_TIMEOUT);
    assert_non_null(strstr(s.err.msg, "sent nothing for 1 s"));
    assert_int_equal(l.n, want_lines);
    lines_free(&l);
    docker_stream_free(&s);
    /* "fail when no byte arrives for this long": 1 s, with some slack. */
    if (took > 3500)
        fail_msg("a 1 s stall was noticed only after %ld ms", took);
}

/* The daemon sends the head of the answer, then nothing. */
static void test_stream_stall_before_data(void **state)
{
    stall_case(*state, NULL, 0, 0);
}

/* The daemon sends a line of progress, then nothing. */
static void test_stream_stall_after_data(void **state)
{
    const char *const pieces[] = {"{\"status\":\"Pulling fs layer\",\"id\":\"a1\"}\r\n"};
    stall_case(*state, pieces, 1, 1);
}

static int tick_abort(void *ud)
{
    int *calls = ud;
    return ++*calls >= 2;
}

static void test_stream_tick_aborts(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    const char *const pieces[] = {"{\"n\":1}\n"};
    expect_stream(f, "GET", "/v1.41/events", 200, pieces, 1, 0, 8000, 0);
    struct lines l = {0};
    struct docker_stream s;
    docker_stream_init(&s, "GET", "/events", NULL, NULL, collect_line, &l);
    struct docker_stream *ss[] = {&s};
    int calls = 0;
    long t0 = tt_now_ms();
    assert_int_equal(docker_run_streams(&f->d, ss, 1, tick_abort, &calls, 20), -1);
    assert_true(tt_now_ms() - t0 < 3000);
    assert_int_equal(calls, 2);
    assert_int_equal(s.err.kind, TU_ERR_IO);
    assert_string_equal(s.err.msg, "interrupted");
    lines_free(&l);
    docker_stream_free(&s);
}

/* ---- pulls ---- */

struct observed {
    int start, done, error, layer_done, digest, status;
};

static void on_event(void *ud, struct pull_job *job, enum pull_event ev)
{
    struct observed *o = ud;
    (void)job;
    switch (ev) {
    case PULL_EV_START: o->start++; break;
    case PULL_EV_DONE: o->done++; break;
    case PULL_EV_ERROR: o->error++; break;
    case PULL_EV_LAYER_DONE: o->layer_done++; break;
    case PULL_EV_DIGEST: o->digest++; break;
    case PULL_EV_STATUS: o->status++; break;
    default: break;
    }
}

static void test_pull_job_init(void **state)
{
    (void)state;
    struct pull_job j;
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&j, "api", API_REF, &e), 0);
    assert_string_equal(j.ref, API_REF);
    assert_string_equal(j.repo, "127.0.0.1:5000/tracardi/tracardi-api");
    assert_string_equal(j.tag, "0.8.2");
    assert_string_equal(j.key, "api");
    pull_job_free(&j);
    assert_int_equal(pull_job_init(&j, "api", "tracardi/tracardi-api:0.8.2", &e), 0);
    assert_string_equal(j.repo, "docker.io/tracardi/tracardi-api");
    pull_job_free(&j);
    assert_int_equal(pull_job_init(&j, "api", "127.0.0.1:5000/tracardi/tracardi-api", &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    assert_int_equal(pull_job_init(&j, "api", API_REF "@" DIGEST_A, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    assert_int_equal(pull_job_init(&j, "api", "Bad/Ref:1", &e), -1);
    assert_null(j.ref);
    pull_job_free(NULL);
}

static void add_pull_stream(struct fixture *f, const char *create, const char *image, long delay_ms)
{
    char *l1 = xasprintf("{\"status\":\"Pulling from %s\",\"id\":\"0.8.2\"}\r\n{\"status\":\"Pulling fs la", image);
    const char *pieces[] = {
        l1,
        "yer\",\"progressDetail\":{},\"id\":\"l1\"}\r\n{\"status\":\"Pulling fs layer\",\"id\":\"l2\"}\r\n",
        "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":3,\"total\":7},\"id\":\"l1\"}\r\n{\"status\":\"Pull co",
        "mplete\",\"id\":\"l1\"}\r\n{\"status\":\"Already exists\",\"id\":\"l2\"}\r\n",
        "{\"status\":\"Status: Downloaded newer image\"}\r\n",
    };
    expect_stream(f, "POST", create, 200, pieces, 5, delay_ms, 0, 1);
    free(l1);
}

static void test_pullset_two_concurrent(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    /* Before: the api tag points at an older digest here; gui is not present. */
    expect_json(f, "GET", API_INSPECT, 200,
                "{\"Id\":\"sha256:old\",\"RepoDigests\":[\"127.0.0.1:5000/tracardi/tracardi-api@" DIGEST_OLD "\"]}");
    expect_json(f, "GET", GUI_INSPECT, 404, "{\"message\":\"No such image: " GUI_REF "\"}");
    add_pull_stream(f, API_CREATE, "tracardi/tracardi-api", 100);
    add_pull_stream(f, GUI_CREATE, "tracardi/tracardi-gui", 100);
    /* After: the digests the daemon now has (a Docker Hub digest listed first must not be taken). */
    expect_json(f, "GET", API_INSPECT, 200,
                "{\"Id\":\"sha256:new\",\"RepoDigests\":[\"tracardi/tracardi-api@" DIGEST_HUB "\","
                "\"127.0.0.1:5000/tracardi/tracardi-api@" DIGEST_A "\"]}");
    expect_json(f, "GET", GUI_INSPECT, 200,
                "{\"Id\":\"sha256:new2\",\"RepoDigests\":[\"127.0.0.1:5000/tracardi/tracardi-gui@" DIGEST_B "\"]}");

    struct pull_job jobs[2];
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&jobs[0], "api", API_REF, &e), 0);
    assert_int_equal(pull_job_init(&jobs[1], "gui", GUI_REF, &e), 0);
    struct observed o = {0};
    struct pull_observer obs = {on_event, NULL, &o};
    long t0 = tt_now_ms();
    int rc = pullset_run(&f->d, jobs, 2, &obs, &e);
    long took = tt_now_ms() - t0;
    if (rc != 0)
        fail_msg("pullset_run: %s / %s / %s", e.msg, jobs[0].err.msg, jobs[1].err.msg);
    assert_true(jobs[0].ok);
    assert_true(jobs[1].ok);
    assert_string_equal(jobs[0].digest, DIGEST_A);
    assert_string_equal(jobs[1].digest, DIGEST_B);
    assert_string_equal(jobs[0].old_digest, DIGEST_OLD);
    assert_null(jobs[1].old_digest);
    assert_int_equal(jobs[0].prog.layers_done, 2);
    assert_int_equal(jobs[1].prog.nlayers, 2);
    assert_int_equal(jobs[0].prog.bad_lines, 0);
    assert_int_equal(jobs[0].err.kind, TU_ERR_NONE);
    assert_true(jobs[0].finished_ms >= jobs[0].started_ms);
    /* Both pulls were in flight at once: the streams took 4 x 100 ms each. */
    assert_true(fake_daemon_max_active(f->fd) >= 2);
    assert_true(took < 2 * 4 * 100 + 400);
    assert_int_equal(o.start, 2);
    assert_int_equal(o.done, 2);
    assert_int_equal(o.error, 0);
    assert_int_equal(o.layer_done, 4);
    assert_int_equal(o.status, 2);
    assert_int_equal(fake_daemon_unused(f->fd), 0);
    assert_int_equal(fake_daemon_count(f->fd, "/images/create"), 2);
    /* Anonymous: no X-Registry-Auth header. */
    for (size_t i = 0; i < fake_daemon_nrequests(f->fd); i++)
        assert_null(fake_request_header(fake_daemon_request(f->fd, i), "X-Registry-Auth"));
    pull_job_free(&jobs[0]);
    pull_job_free(&jobs[1]);
}

static void test_pullset_digest_from_stream_when_inspect_has_none(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "GET", API_INSPECT, 404, "{\"message\":\"No such image\"}");
    const char *const pieces[] = {"{\"status\":\"Digest: " DIGEST_B "\"}\r\n{\"status\":\"Status: Image is up to date\"}\r\n"};
    expect_stream(f, "POST", API_CREATE, 200, pieces, 1, 0, 0, 1);
    expect_json(f, "GET", API_INSPECT, 200, "{\"Id\":\"sha256:x\",\"RepoDigests\":[]}");
    struct pull_job job;
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&job, "api", API_REF, &e), 0);
    assert_int_equal(pullset_run(&f->d, &job, 1, NULL, &e), 0);
    assert_string_equal(job.digest, DIGEST_B);
    assert_int_equal(job.prog.up_to_date, 1);
    pull_job_free(&job);
}

static void test_pullset_error_detail_mid_stream(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "GET", API_INSPECT, 404, "{\"message\":\"No such image\"}");
    const char *const pieces[] = {
        "{\"status\":\"Pulling from tracardi/tracardi-api\",\"id\":\"0.8.2\"}\r\n",
        "{\"status\":\"Pulling fs layer\",\"id\":\"l1\"}\r\n{\"errorDetail\":{\"message\":\"read tcp: connection re",
        "set by peer\"},\"error\":\"read tcp: connection reset by peer\"}\r\n",
    };
    expect_stream(f, "POST", API_CREATE, 200, pieces, 3, 10, 0, 1);
    struct pull_job job;
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&job, "api", API_REF, &e), 0);
    struct observed o = {0};
    struct pull_observer obs = {on_event, NULL, &o};
    assert_int_equal(pullset_run(&f->d, &job, 1, &obs, &e), -1);
    assert_string_equal(e.msg, "1 of 1 pulls failed");
    assert_false(job.ok);
    assert_null(job.digest);
    assert_int_equal(job.prog.failed, 1);
    assert_string_equal(job.err.msg, "cannot pull '" API_REF "': read tcp: connection reset by peer");
    assert_int_equal(o.error, 2);  /* the stream's error line, then the job's end */
    assert_int_equal(o.done, 0);
    /* A failed pull is not looked up afterwards. */
    assert_int_equal(fake_daemon_count(f->fd, "/json"), 1);
    pull_job_free(&job);
}

static void test_pullset_stalled_stream(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    f->d.stall_timeout_s = 1;
    expect_json(f, "GET", API_INSPECT, 404, "{\"message\":\"No such image\"}");
    /* The head of the answer, then silence. */
    expect_stream(f, "POST", API_CREATE, 200, NULL, 0, 0, 8000, 0);
    struct pull_job job;
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&job, "api", API_REF, &e), 0);
    long t0 = tt_now_ms();
    assert_int_equal(pullset_run(&f->d, &job, 1, NULL, &e), -1);
    assert_true(tt_now_ms() - t0 < 4000);
    assert_int_equal(job.err.kind, TU_ERR_TIMEOUT);
    assert_non_null(strstr(job.err.msg, "cannot pull '" API_REF "'"));
    pull_job_free(&job);
}

/* The daemon goes away mid-pull: the chunked answer never ends. Not a success. */
static void test_pullset_stream_cut_off(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "GET", API_INSPECT, 404, "{\"message\":\"No such image\"}");
    const char *const pieces[] = {"{\"status\":\"Pulling fs layer\",\"id\":\"l1\"}\r\n"};
    expect_stream(f, "POST", API_CREATE, 200, pieces, 1, 0, 0, 0);
    struct pull_job job;
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&job, "api", API_REF, &e), 0);
    assert_int_equal(pullset_run(&f->d, &job, 1, NULL, &e), -1);
    assert_false(job.ok);
    assert_null(job.digest);
    assert_int_equal(job.err.kind, TU_ERR_CONNECT);
    assert_non_null(strstr(job.err.msg, "cannot pull '" API_REF "': talking to the docker daemon failed"));
    assert_int_equal(job.prog.nlayers, 1);
    pull_job_free(&job);
}

static void test_pullset_sends_registry_auth(void **state)
{
    struct fixture *f = *state;
    /* user "puller", password "p:w~?" */
    free(tt_write_file(fake_daemon_dir(f->fd), "config.json",
                       "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"cHVsbGVyOnA6d34/\"},"
                       "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1Yg==\"}}}", 0600));
    connect_at(f, "1.41");
    expect_json(f, "GET", API_INSPECT, 404, "{\"message\":\"No such image\"}");
    const char *const pieces[] = {"{\"status\":\"Status: Downloaded newer image\"}\r\n"};
    expect_stream(f, "POST", API_CREATE, 200, pieces, 1, 0, 0, 1);
    expect_json(f, "GET", API_INSPECT, 200,
                "{\"RepoDigests\":[\"127.0.0.1:5000/tracardi/tracardi-api@" DIGEST_A "\"]}");
    struct pull_job job;
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&job, "api", API_REF, &e), 0);
    assert_int_equal(pullset_run(&f->d, &job, 1, NULL, &e), 0);
    size_t found = 0;
    for (size_t i = 0; i < fake_daemon_nrequests(f->fd); i++) {
        const struct fake_request *r = fake_daemon_request(f->fd, i);
        char *h = fake_request_header(r, "X-Registry-Auth");
        if (!strstr(r->target, "/images/create")) {
            /* Credentials go only where they are needed. */
            assert_null(h);
            continue;
        }
        found++;
        assert_non_null(h);
        size_t n = 0;
        char *raw = tt_b64url_decode(h, &n);
        assert_non_null(raw);
        json_t *j = json_loadb(raw, n, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "username")), "puller");
        assert_string_equal(json_string_value(json_object_get(j, "password")), "p:w~?");
        assert_string_equal(json_string_value(json_object_get(j, "serveraddress")), "127.0.0.1:5000");
        json_decref(j);
        free(raw);
        free(h);
    }
    assert_int_equal(found, 1);
    pull_job_free(&job);
}

static void test_pullset_failing_helper_pulls_nothing(void **state)
{
    struct fixture *f = *state;
    const char *dir = fake_daemon_dir(f->fd);
    free(tt_write_file(dir, "config.json", "{\"credsStore\":\"failing\"}", 0600));
    free(tt_write_file(dir, "docker-credential-failing", "#!/bin/sh\ncat >/dev/null\necho 'no dbus' >&2\nexit 3\n",
                       0755));
    const char *path = getenv("PATH");
    char *np = xasprintf("%s:%s", dir, path ? path : "/usr/bin:/bin");
    tt_env_set("PATH", np);
    free(np);
    connect_at(f, "1.41");
    struct pull_job jobs[2];
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&jobs[0], "api", API_REF, &e), 0);
    assert_int_equal(pull_job_init(&jobs[1], "gui", GUI_REF, &e), 0);
    struct observed o = {0};
    struct pull_observer obs = {on_event, NULL, &o};
    assert_int_equal(pullset_run(&f->d, jobs, 2, &obs, &e), -1);
    assert_non_null(strstr(e.msg, "credentials for '127.0.0.1:5000': "));
    assert_non_null(strstr(e.msg, "docker-credential-failing"));
    assert_non_null(strstr(e.msg, "exit status 3"));
    /* Nothing was pulled, nothing started. */
    assert_int_equal(fake_daemon_count(f->fd, "/images/create"), 0);
    assert_int_equal(fake_daemon_nrequests(f->fd), 1);  /* the ping only */
    assert_int_equal(o.start, 0);
    pull_job_free(&jobs[0]);
    pull_job_free(&jobs[1]);
}

static void test_pullset_daemon_refuses_pull(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    expect_json(f, "GET", API_INSPECT, 404, "{\"message\":\"No such image\"}");
    expect_json(f, "POST", API_CREATE, 404,
                "{\"message\":\"manifest for " API_REF " not found: manifest unknown\"}");
    struct pull_job job;
    struct tu_err e = {0};
    assert_int_equal(pull_job_init(&job, "api", API_REF, &e), 0);
    assert_int_equal(pullset_run(&f->d, &job, 1, NULL, &e), -1);
    assert_int_equal(job.err.kind, TU_ERR_NOT_FOUND);
    assert_int_equal(job.err.status, 404);
    assert_non_null(strstr(job.err.msg, "manifest unknown"));
    assert_int_equal(pullset_run(&f->d, NULL, 0, NULL, &e), 0);
    pull_job_free(&job);
}

/* ---- resolving a stack's DNS names: the daemon is asked for the address it has now ---- */

static void test_resolve_asks_daemon(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    char e1[] = "e1", r1[] = "r1", en[] = "p-elasticsearch-1", rn[] = "p-redis-1", es[] = "elasticsearch",
         rs[] = "redis", sn[] = "p";
    struct stack_container c[2] = {
        {.id = e1, .name = en, .service = es,
         /* listed while stopped: no address */
         .inspect = json_loads("{\"NetworkSettings\":{\"Networks\":{\"p_default\":{\"IPAddress\":\"\","
                               "\"Aliases\":[\"es\"]}}}}", 0, NULL)},
        {.id = r1, .name = rn, .service = rs,
         .inspect = json_loads("{\"NetworkSettings\":{\"Networks\":{\"p_default\":{\"IPAddress\":"
                               "\"172.18.0.2\"}}}}", 0, NULL)},
    };
    assert_non_null(c[0].inspect);
    assert_non_null(c[1].inspect);
    struct stack s = {.name = sn, .c = c, .n = 2};
    struct upctx u = {.d = &f->d, .stack = &s};

    /* Started since the listing: the daemon's address, by service and by alias. */
    expect_json(f, "GET", "/v1.41/containers/e1/json", 200,
                "{\"NetworkSettings\":{\"Networks\":{\"other\":{\"IPAddress\":\"10.0.0.1\"},"
                "\"p_default\":{\"IPAddress\":\"172.18.0.9\"}}}}");
    char *ip = upctx_resolve(&u, "elasticsearch");
    assert_string_equal(ip, "172.18.0.9");
    free(ip);
    expect_json(f, "GET", "/v1.41/containers/e1/json", 200,
                "{\"NetworkSettings\":{\"Networks\":{\"p_default\":{\"IPAddress\":\"172.18.0.10\"}}}}");
    ip = upctx_resolve(&u, "es");
    assert_string_equal(ip, "172.18.0.10");
    free(ip);
    /* Restarted with another address: the daemon's, not the listing's. */
    expect_json(f, "GET", "/v1.41/containers/r1/json", 200,
                "{\"NetworkSettings\":{\"Networks\":{\"p_default\":{\"IPAddress\":\"172.18.0.7\"}}}}");
    ip = upctx_resolve(&u, "redis");
    assert_string_equal(ip, "172.18.0.7");
    free(ip);
    /* The daemon cannot say (gone, or an answer without an address): the listing's. */
    expect_json(f, "GET", "/v1.41/containers/r1/json", 404, "{\"message\":\"No such container: r1\"}");
    ip = upctx_resolve(&u, "p-redis-1");
    assert_string_equal(ip, "172.18.0.2");
    free(ip);
    expect_json(f, "GET", "/v1.41/containers/e1/json", 200,
                "{\"NetworkSettings\":{\"Networks\":{\"p_default\":{\"IPAddress\":\"\"}}}}");
    ip = upctx_resolve(&u, "elasticsearch");
    assert_string_equal(ip, "elasticsearch");
    free(ip);
    /* A name no container answers to is kept, and the daemon is not asked. */
    size_t before = fake_daemon_nrequests(f->fd);
    ip = upctx_resolve(&u, "db.example.com");
    assert_string_equal(ip, "db.example.com");
    free(ip);
    assert_int_equal(fake_daemon_nrequests(f->fd), before);
    assert_int_equal(fake_daemon_unused(f->fd), 0);
    json_decref(c[0].inspect);
    json_decref(c[1].inspect);
}

/* ---- streamed save/load: the watchdog tells "still preparing" from "stalled" ---- */

static int collect(void *ud, const char *data, size_t len)
{
    return buf_append(ud, data, len) < 0;
}

/* A GET /images/get whose answer goes out as `first`, then after delay_ms `rest`. */
static long timed_download(struct fixture *f, const char *first, const char *rest, long delay_ms, struct buf *got,
                           struct tu_err *e)
{
    const char *chunks[2] = {first, rest};
    fake_daemon_expect_chunks(f->fd, "GET", "/v1.41/images/get", chunks, 2, delay_ms, 0);
    tu_err_clear(e);
    return docker_download(&f->d, "/images/get?names=x", collect, got, e);
}

static int stop_now;
static int stop_flag(void)
{
    return stop_now;
}

static void test_download_watchdog(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    f->d.stall_timeout_s = 1;
    f->d.first_byte_timeout_s = 5;
    struct tu_err e;
    struct buf got;
    char *whole = fake_http(200, "Content-Type: application/x-tar\r\n", "hello world");

    /* Silent 2.5 s before the answer starts (the daemon stages layers): not a stall. */
    buf_init(&got, 1024);
    assert_int_equal(timed_download(f, "", whole, 2500, &got, &e), 200);
    assert_int_equal(got.len, 11);
    assert_memory_equal(got.data, "hello world", 11);
    buf_free(&got);

    /* Silent 3 s once the answer has started: a stall of stall_timeout_s. */
    char *head = xstrdup(whole);
    char *tail = strstr(head, "hello world") + 5;
    char *rest = xstrdup(tail);
    *tail = '\0';
    buf_init(&got, 1024);
    long t0 = time_mono_ms();
    assert_int_equal(timed_download(f, head, rest, 3000, &got, &e), -1);
    assert_int_equal(e.kind, TU_ERR_TIMEOUT);
    assert_non_null(strstr(e.msg, "sent nothing for 1 s"));
    assert_true(time_mono_ms() - t0 < 2900);
    buf_free(&got);

    /* Silent past first_byte_timeout_s before the answer: says so. */
    f->d.first_byte_timeout_s = 2;
    buf_init(&got, 1024);
    t0 = time_mono_ms();
    assert_int_equal(timed_download(f, "", whole, 4000, &got, &e), -1);
    assert_int_equal(e.kind, TU_ERR_TIMEOUT);
    assert_non_null(strstr(e.msg, "did not start its answer within 2 s"));
    assert_true(time_mono_ms() - t0 < 3900);
    buf_free(&got);

    /* An interrupt ends a silent wait at once, not after the timeout. */
    f->d.first_byte_timeout_s = 30;
    f->d.interrupted = stop_flag;
    stop_now = 1;
    buf_init(&got, 1024);
    t0 = time_mono_ms();
    assert_int_equal(timed_download(f, "", whole, 4000, &got, &e), -1);
    assert_non_null(strstr(e.msg, "interrupted"));
    assert_true(time_mono_ms() - t0 < 3000);
    stop_now = 0;
    buf_free(&got);
    free(head);
    free(rest);
    free(whole);
}

/* ---- streamed load: the watchdog once the body is out ---- */

struct src {
    size_t left;
};

static ssize_t fill_source(void *ud, char *b, size_t cap)
{
    struct src *s = ud;
    size_t n = s->left < cap ? s->left : cap;
    memset(b, 'x', n);
    s->left -= n;
    return (ssize_t)n;
}

/* POST /images/load with a body of `body` bytes; the daemon reads it, is silent
 * for silent_ms, then answers one line. */
static long timed_load(struct fixture *f, size_t body, long silent_ms, struct lines *l, struct tu_err *e, long *took)
{
    char *head = fake_chunked_head(200, "application/json");
    char *line = fake_chunk("{\"stream\":\"Loaded image: x:1\\n\"}\r\n");
    char *answer = xasprintf("%s%s%s", head, line, FAKE_CHUNK_END);
    const char *chunks[2] = {"", answer};
    fake_daemon_expect_chunks(f->fd, "POST", "/v1.41/images/load", chunks, 2, silent_ms, 0);
    free(head);
    free(line);
    free(answer);
    struct src src = {.left = body};
    tu_err_clear(e);
    long t0 = time_mono_ms();
    long rc = docker_upload(&f->d, "/images/load?quiet=0", "application/x-tar", fill_source, &src, collect_line, l, e);
    *took = time_mono_ms() - t0;
    return rc;
}

/* Once a load's body is out, the daemon may work silently (it unpacks before it
 * reports) for first_byte_timeout_s, not only stall_timeout_s; past it the load
 * fails saying the answer did not start, not that the body stalled. */
static void test_load_watchdog(void **state)
{
    struct fixture *f = *state;
    connect_at(f, "1.41");
    f->d.stall_timeout_s = 1;
    f->d.first_byte_timeout_s = 5;
    struct lines l = {0};
    struct tu_err e;
    long took;
    long rc = timed_load(f, 200 * 1000, 2000, &l, &e, &took);
    if (rc != 200)
        fail_msg("the load failed after %ld ms: %s", took, e.msg);
    assert_int_equal(l.n, 1);
    assert_non_null(strstr(l.v[0], "Loaded image: x:1"));
    const struct fake_request *r = last_request(f);
    assert_int_equal(r->body_len, 200 * 1000);
    lines_free(&l);

    f->d.first_byte_timeout_s = 2;
    assert_int_equal(timed_load(f, 1000, 4500, &l, &e, &took), -1);
    assert_int_equal(e.kind, TU_ERR_TIMEOUT);
    if (!strstr(e.msg, "POST /images/load?quiet=0: the docker daemon did not start its answer within 2 s"))
        fail_msg("unexpected message: %s", e.msg);
    if (took < 1900 || took > 4000)
        fail_msg("a 2 s first-byte timeout fired after %ld ms", took);
    assert_int_equal(l.n, 0);
    lines_free(&l);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_init_socket_checks),
        T(test_connect_refused),
        T(test_negotiate_141),
        T(test_negotiate_newer_daemon_capped),
        T(test_negotiate_in_between_and_header_case),
        T(test_negotiate_old_daemon),
        T(test_negotiate_missing_header),
        T(test_negotiate_garbage_header),
        T(test_negotiate_overlong_header),
        T(test_negotiate_ping_error),
        T(test_negotiate_forced_version),
        T(test_negotiate_forced_version_bad),
        cmocka_unit_test(test_api_cmp),
        T(test_call_304_is_not_an_error),
        T(test_call_404_not_found),
        T(test_call_409_conflict),
        T(test_call_500_not_json),
        T(test_call_ok_bodies),
        T(test_call_raw_body),
        T(test_call_body_too_big),
        T(test_call_no_answer_times_out),
        T(test_lifecycle_calls),
        T(test_lifecycle_put_file),
        T(test_lifecycle_logs),
        T(test_exec),
        T(test_edge_reload),
        cmocka_unit_test(test_public_answers_steady),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_error_from_body),
        T(test_stream_lines_split_across_chunks),
        T(test_stream_last_line_without_newline),
        T(test_stream_error_status),
        T(test_stream_line_too_long),
        T(test_stream_stop_by_callback),
        T(test_stream_stall_before_data),
        T(test_stream_stall_after_data),
        T(test_stream_tick_aborts),
        cmocka_unit_test(test_pull_job_init),
        T(test_pullset_two_concurrent),
        T(test_pullset_digest_from_stream_when_inspect_has_none),
        T(test_pullset_error_detail_mid_stream),
        T(test_pullset_stalled_stream),
        T(test_pullset_stream_cut_off),
        T(test_pullset_sends_registry_auth),
        T(test_pullset_failing_helper_pulls_nothing),
        T(test_pullset_daemon_refuses_pull),
        T(test_resolve_asks_daemon),
        T(test_download_watchdog),
        T(test_load_watchdog),
    };
#undef T
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
