/* test_check.c - tracup check: the registry API v2 client against a fake registry on
 * 127.0.0.1 (pages, challenges, bad answers) and the report of newer releases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "fake_daemon.h"
#include "registry/regapi.h"
#include "testutil.h"
#include "tracardi/available.h"
#include "tracardi/images.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define REPO "ns/tracardi/tracardi-api"
#define LIST "/v2/" REPO "/tags/list"
#define PASSWORD "s3cret-Pass"

/* ---- parsers ---- */

static void test_www_auth(void **state)
{
    (void)state;
    struct www_auth a;
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(reg_parse_www_auth("Basic realm=\"Registry Realm\"", &a, &e), 0);
    assert_string_equal(a.scheme, "Basic");
    assert_string_equal(a.realm, "Registry Realm");
    assert_null(a.service);
    www_auth_free(&a);

    assert_int_equal(reg_parse_www_auth("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                        "scope=\"repository:tracardi/tracardi-api:pull\"", &a, &e), 0);
    assert_string_equal(a.scheme, "Bearer");
    assert_string_equal(a.realm, "https://auth.docker.io/token");
    assert_string_equal(a.service, "registry.docker.io");
    assert_string_equal(a.scope, "repository:tracardi/tracardi-api:pull");
    www_auth_free(&a);

    /* Tokens without quotes, spaces around commas, escapes, unknown params, a second challenge. */
    assert_int_equal(reg_parse_www_auth("bearer  realm=http://127.0.0.1:1/t , error=\"invalid_token\", "
                                        "service=\"a\\\"b\", Basic realm=x", &a, &e), 0);
    assert_string_equal(a.scheme, "bearer");
    assert_string_equal(a.realm, "http://127.0.0.1:1/t");
    assert_string_equal(a.service, "a\"b");
    www_auth_free(&a);

    static const char *const bad[] = {
        "", "   ", "realm=\"x\"", "Bearer realm=\"unterminated", "Bearer realm=", "Bearer realm=\"a\" junk",
        "Bearer realm=\"a\",,=b", "Bearer\trealm=\"a\r\nX: y\"", "Bea/rer realm=x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_err_clear(&e);
        assert_int_equal(reg_parse_www_auth(bad[i], &a, &e), -1);
        assert_int_equal(e.kind, TU_ERR_PROTOCOL);
        assert_null(a.realm);
    }
    char *big = xmalloc(REG_HEADER_VALUE_MAX + 100);
    memset(big, 'a', REG_HEADER_VALUE_MAX + 99);
    memcpy(big, "Bearer realm=", 13);
    big[REG_HEADER_VALUE_MAX + 99] = '\0';
    assert_int_equal(reg_parse_www_auth(big, &a, &e), -1);
    free(big);
}

static void test_link(void **state)
{
    (void)state;
    char *next;
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(reg_parse_link_next("</v2/x/tags/list?last=b&n=2>; rel=\"next\"", &next, &e), 0);
    assert_string_equal(next, "/v2/x/tags/list?last=b&n=2");
    free(next);
    assert_int_equal(reg_parse_link_next("<http://r/a>; rel=\"prev\", <http://r/b>;rel=next", &next, &e), 0);
    assert_string_equal(next, "http://r/b");
    free(next);
    assert_int_equal(reg_parse_link_next("<http://r/a>; rel=\"prev first\"; title=\"x\"", &next, &e), 0);
    assert_null(next);
    assert_int_equal(reg_parse_link_next("</a>; rel=\"first NEXT\"", &next, &e), 0);
    assert_string_equal(next, "/a");
    free(next);

    static const char *const bad[] = {
        "/v2/x; rel=next", "</v2/x rel=next", "<>; rel=next", "</v2/x>; rel", "</v2/x>; rel=\"next",
        "</v2/x> rel=next", "</v2/x>; rel=next junk", "</v2/\x01x>; rel=next", "</v2/x y>; rel=next",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_err_clear(&e);
        assert_int_equal(reg_parse_link_next(bad[i], &next, &e), -1);
        assert_null(next);
        assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    }
}

static void test_next_url(void **state)
{
    (void)state;
    char *u;
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(reg_next_url("http://127.0.0.1:5000", "/v2/a/tags/list?last=x", &u, &e), 0);
    assert_string_equal(u, "http://127.0.0.1:5000/v2/a/tags/list?last=x");
    free(u);
    assert_int_equal(reg_next_url("https://r.example:443", "https://r.example:443/v2/a/tags/list?n=1", &u, &e), 0);
    assert_string_equal(u, "https://r.example:443/v2/a/tags/list?n=1");
    free(u);
    /* Credentials go with the next request: never to another origin. */
    static const char *const bad[] = {
        "https://evil.example/v2/a", "http://127.0.0.1:50001/v2/a", "http://127.0.0.1:5000.evil/v2/a",
        "//evil.example/v2/a", "tags/list?last=x", "/v1/a", "/v2/a b", "ftp://127.0.0.1:5000/v2/a",
        "https://127.0.0.1:5000/v2/a",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_err_clear(&e);
        assert_int_equal(reg_next_url("http://127.0.0.1:5000", bad[i], &u, &e), -1);
        assert_null(u);
    }
}

static void test_loopback_and_tags(void **state)
{
    (void)state;
    assert_true(reg_host_is_loopback("127.0.0.1:5000"));
    assert_true(reg_host_is_loopback("127.200.3.4"));
    assert_true(reg_host_is_loopback("localhost:5000"));
    assert_true(reg_host_is_loopback("LOCALHOST"));
    assert_true(reg_host_is_loopback("[::1]:5000"));
    assert_true(reg_host_is_loopback("[::1]"));
    assert_false(reg_host_is_loopback("128.0.0.1:5000"));
    assert_false(reg_host_is_loopback("127.0.0.1.evil.example"));
    assert_false(reg_host_is_loopback("localhost.example:5000"));
    assert_false(reg_host_is_loopback("127.0.0.256"));
    assert_false(reg_host_is_loopback("127.0.0"));
    assert_false(reg_host_is_loopback("[::2]:5000"));
    assert_false(reg_host_is_loopback("docker.io"));
    /* What follows the host can only be a port. */
    assert_false(reg_host_is_loopback("localhost:1@evil.example"));
    assert_false(reg_host_is_loopback("127.0.0.1:1@evil.example"));
    assert_false(reg_host_is_loopback("[::1]:1@evil.example"));
    assert_false(reg_host_is_loopback("127.0.0.1:"));
    assert_false(reg_host_is_loopback("127.0.0.1:123456"));

    struct reg_api r;
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(reg_api_init(&r, "127.0.0.1:5000/ns", &e), 0);
    assert_string_equal(r.base, "http://127.0.0.1:5000");
    assert_string_equal(r.auth_key, "127.0.0.1:5000");
    reg_api_free(&r);
    assert_int_equal(reg_api_init(&r, "docker.io", &e), 0);
    assert_string_equal(r.base, "https://registry-1.docker.io");
    assert_string_equal(r.auth_key, "https://index.docker.io/v1/");
    reg_api_free(&r);
    assert_int_equal(reg_api_init(&r, "registry.example:8443/mirror", &e), 0);
    assert_string_equal(r.base, "https://registry.example:8443");
    reg_api_free(&r);
    char *repo = reg_repo_of("127.0.0.1:5000/ns", "tracardi/tracardi-api", &e);
    assert_string_equal(repo, REPO);
    free(repo);
    repo = reg_repo_of("docker.io", "tracardi/tracardi-gui", &e);
    assert_string_equal(repo, "tracardi/tracardi-gui");
    free(repo);

    assert_true(reg_tag_valid("0.8.2-rc1"));
    assert_true(reg_tag_valid("latest"));
    assert_true(reg_tag_valid("_x"));
    assert_false(reg_tag_valid(""));
    assert_false(reg_tag_valid(".x"));
    assert_false(reg_tag_valid("-x"));
    assert_false(reg_tag_valid("a b"));
    assert_false(reg_tag_valid("a\x1b[31m"));
}

/* ---- the client against a fake registry ---- */

struct fx {
    struct fake_daemon *fd;
    char *prefix;  /* 127.0.0.1:PORT/ns */
    char *base;    /* http://127.0.0.1:PORT */
    char *cfgdir;
    struct reg_api r;
};

static int fx_setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    f->fd = fake_daemon_start_tcp();
    f->prefix = xasprintf("127.0.0.1:%d/ns", fake_daemon_port(f->fd));
    f->base = xasprintf("http://127.0.0.1:%d", fake_daemon_port(f->fd));
    f->cfgdir = tt_mkdtemp();
    /* Anonymous unless a test writes credentials. */
    tt_env_set("DOCKER_CONFIG", f->cfgdir);
    tt_env_set("HOME", f->cfgdir);
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(reg_api_init(&f->r, f->prefix, &e), 0);
    f->r.timeout_ms = 3000;
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    reg_api_free(&f->r);
    fake_daemon_stop(f->fd);
    tt_rmtree(f->cfgdir);
    free(f->cfgdir);
    free(f->prefix);
    free(f->base);
    free(f);
    tt_env_restore();
    return 0;
}

static void fx_login(struct fx *f, const char *user, const char *password)
{
    char *pair = xasprintf("%s:%s", user, password);
    char *enc = b64_encode(pair, strlen(pair), B64_STD);
    char *cfg = xasprintf("{\"auths\":{\"127.0.0.1:%d\":{\"auth\":\"%s\"}}}", fake_daemon_port(f->fd), enc);
    free(tt_write_file(f->cfgdir, "config.json", cfg, 0600));
    free(cfg);
    free(enc);
    free(pair);
}

static void expect(struct fx *f, const char *prefix, int status, const char *headers, const char *body)
{
    char *r = fake_http(status, headers, body);
    fake_daemon_expect(f->fd, "GET", prefix, r);
    free(r);
}

static int list(struct fx *f, struct reg_tags *t, struct tu_err *e)
{
    tu_err_clear(e);
    return reg_list_tags(&f->r, REPO, t, e);
}

static void test_pages(void **state)
{
    struct fx *f = *state;
    f->r.page_size = 2;
    /* A relative link, then an absolute one on the same origin, then the end. */
    expect(f, LIST "?n=2", 200, "Link: <" LIST "?last=0.8.1&n=2>; rel=\"next\"\r\n",
           "{\"name\":\"" REPO "\",\"tags\":[\"0.8.0\",\"0.8.1\"]}");
    char *abs = xasprintf("Link: <%s" LIST "?last=latest&n=2>; rel=\"next\"\r\n", f->base);
    expect(f, LIST "?last=0.8.1", 200, abs, "{\"name\":\"" REPO "\",\"tags\":[\"0.8.2\",\"latest\"]}");
    free(abs);
    /* Two Link headers: the second holds the next page. */
    expect(f, LIST "?last=latest", 200, "Link: </v2/x>; rel=\"prev\"\r\nLink: <" LIST "?last=1.0.0>; rel=\"next\"\r\n",
           "{\"name\":\"" REPO "\",\"tags\":[\"1.0.0\"]}");
    expect(f, LIST "?last=1.0.0", 200, NULL, "{\"name\":\"" REPO "\",\"tags\":[]}");
    struct reg_tags t;
    struct tu_err e;
    assert_int_equal(list(f, &t, &e), 0);
    assert_int_equal(t.n, 5);
    assert_int_equal(t.pages, 4);
    assert_string_equal(t.tag[0], "0.8.0");
    assert_string_equal(t.tag[4], "1.0.0");
    assert_true(reg_tags_has(&t, "latest"));
    assert_false(reg_tags_has(&t, "0.9.0"));
    assert_int_equal(fake_daemon_unused(f->fd), 0);
    assert_int_equal(fake_daemon_nrequests(f->fd), 4);
    /* Anonymous: no Authorization went out. */
    assert_null(fake_request_header(fake_daemon_request(f->fd, 0), "Authorization"));
    reg_tags_free(&t);
}

static void test_empty_and_null_tags(void **state)
{
    struct fx *f = *state;
    expect(f, LIST, 200, NULL, "{\"name\":\"" REPO "\",\"tags\":null}");
    struct reg_tags t;
    struct tu_err e;
    assert_int_equal(list(f, &t, &e), 0);
    assert_int_equal(t.n, 0);
    reg_tags_free(&t);
    /* Names that are no tag are counted, never kept. */
    expect(f, LIST, 200, NULL, "{\"tags\":[\"0.8.2\",\"bad tag\",\"\\u001b[31m\",\"\"]}");
    assert_int_equal(list(f, &t, &e), 0);
    assert_int_equal(t.n, 1);
    assert_int_equal(t.invalid, 3);
    reg_tags_free(&t);
}

static void test_basic_challenge(void **state)
{
    struct fx *f = *state;
    fx_login(f, "tracup", PASSWORD);
    expect(f, LIST, 401, "WWW-Authenticate: Basic realm=\"registry\"\r\n",
           "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}");
    expect(f, LIST, 200, NULL, "{\"tags\":[\"0.8.2\"]}");
    struct reg_tags t;
    struct tu_err e;
    assert_int_equal(list(f, &t, &e), 0);
    assert_int_equal(t.n, 1);
    char *h = fake_request_header(fake_daemon_request(f->fd, 1), "Authorization");
    assert_non_null(h);
    assert_string_equal(h, "Basic dHJhY3VwOnMzY3JldC1QYXNz"); /* tracup:s3cret-Pass */
    free(h);
    reg_tags_free(&t);
    /* The next repository goes with the credentials that worked, straight away. */
    expect(f, "/v2/ns/tracardi/tracardi-gui/tags/list", 200, NULL, "{\"tags\":[\"0.8.2\"]}");
    tu_err_clear(&e);
    assert_int_equal(reg_list_tags(&f->r, "ns/tracardi/tracardi-gui", &t, &e), 0);
    h = fake_request_header(fake_daemon_request(f->fd, 2), "Authorization");
    assert_non_null(h);
    free(h);
    reg_tags_free(&t);
}

static void assert_no_secret(const struct tu_err *e)
{
    assert_null(strstr(e->msg, PASSWORD));
    assert_null(strstr(e->hint, PASSWORD));
    assert_null(strstr(e->msg, "dHJhY3VwOnMzY3JldC1QYXNz"));
}

static void test_basic_refused(void **state)
{
    struct fx *f = *state;
    fx_login(f, "tracup", PASSWORD);
    expect(f, LIST, 401, "WWW-Authenticate: Basic realm=\"registry\"\r\n", "");
    expect(f, LIST, 401, "WWW-Authenticate: Basic realm=\"registry\"\r\n", "");
    expect(f, LIST, 200, NULL, "{\"tags\":[]}"); /* never asked for */
    struct reg_tags t;
    struct tu_err e;
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PERMISSION);
    assert_non_null(strstr(e.msg, "refused the credentials"));
    char *name = xasprintf("'127.0.0.1:%d'", fake_daemon_port(f->fd));
    assert_non_null(strstr(e.msg, name));
    free(name);
    assert_non_null(strstr(e.hint, "docker login"));
    assert_no_secret(&e);
    assert_int_equal(fake_daemon_nrequests(f->fd), 2);
}

static void test_basic_without_credentials(void **state)
{
    struct fx *f = *state;
    expect(f, LIST, 401, "WWW-Authenticate: Basic realm=\"registry\"\r\n", "");
    struct reg_tags t;
    struct tu_err e;
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PERMISSION);
    assert_non_null(strstr(e.msg, "wants credentials"));
    assert_non_null(strstr(e.hint, "docker login 127.0.0.1:"));
    /* A 401 without a challenge, or one tracup does not speak. */
    expect(f, LIST, 401, NULL, "");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    expect(f, LIST, 401, "WWW-Authenticate: Negotiate\r\n", "");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_UNSUPPORTED);
    expect(f, LIST, 401, "WWW-Authenticate: Bearer realm=\"unterminated\r\n", "");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
}

static void test_bearer_with_credentials(void **state)
{
    struct fx *f = *state;
    fx_login(f, "tracup", PASSWORD);
    char *ch = xasprintf("WWW-Authenticate: Bearer realm=\"%s/token\",service=\"fake registry\","
                         "scope=\"repository:" REPO ":pull\"\r\n", f->base);
    expect(f, LIST, 401, ch, "");
    expect(f, "/token?", 200, NULL, "{\"token\":\"tok-123\",\"expires_in\":300}");
    expect(f, LIST, 200, NULL, "{\"tags\":[\"0.8.2\",\"1.0.0\"]}");
    struct reg_tags t;
    struct tu_err e;
    assert_int_equal(list(f, &t, &e), 0);
    assert_int_equal(t.n, 2);
    const struct fake_request *tr = fake_daemon_request(f->fd, 1);
    assert_string_equal(tr->target, "/token?service=fake%20registry&scope=repository%3Ans%2Ftracardi%2Ftracardi-api%3Apull");
    char *h = fake_request_header(tr, "Authorization");
    assert_string_equal(h, "Basic dHJhY3VwOnMzY3JldC1QYXNz");
    free(h);
    h = fake_request_header(fake_daemon_request(f->fd, 2), "Authorization");
    assert_string_equal(h, "Bearer tok-123");
    free(h);
    reg_tags_free(&t);

    /* Another repository: the token's scope does not cover it, a new one is fetched. */
    char *ch2 = xasprintf("WWW-Authenticate: Bearer realm=\"%s/token\",service=\"fake\"\r\n", f->base);
    expect(f, "/v2/ns/tracardi/tracardi-gui/tags/list", 401, ch2, "");
    expect(f, "/token?", 200, NULL, "{\"access_token\":\"tok-456\"}");
    expect(f, "/v2/ns/tracardi/tracardi-gui/tags/list", 200, NULL, "{\"tags\":[\"0.8.2\"]}");
    tu_err_clear(&e);
    assert_int_equal(reg_list_tags(&f->r, "ns/tracardi/tracardi-gui", &t, &e), 0);
    /* Without a scope in the challenge, tracup asks for pull on the repository. */
    assert_string_equal(fake_daemon_request(f->fd, 4)->target,
                        "/token?service=fake&scope=repository%3Ans%2Ftracardi%2Ftracardi-gui%3Apull");
    h = fake_request_header(fake_daemon_request(f->fd, 5), "Authorization");
    assert_string_equal(h, "Bearer tok-456");
    free(h);
    reg_tags_free(&t);
    free(ch);
    free(ch2);
}

static void test_bearer_anonymous(void **state)
{
    struct fx *f = *state;
    char *ch = xasprintf("WWW-Authenticate: Bearer realm=\"%s/token?x=1\",scope=\"repository:" REPO ":pull\"\r\n",
                         f->base);
    expect(f, LIST, 401, ch, "");
    expect(f, "/token?x=1&scope=", 200, NULL, "{\"token\":\"anon\"}");
    expect(f, LIST, 200, NULL, "{\"tags\":[\"0.8.2\"]}");
    struct reg_tags t;
    struct tu_err e;
    assert_int_equal(list(f, &t, &e), 0);
    assert_null(fake_request_header(fake_daemon_request(f->fd, 1), "Authorization"));
    reg_tags_free(&t);
    free(ch);
    /* A realm with a fragment: the query goes before it (curl drops what follows
     * '#', so the scope would never be asked for). */
    ch = xasprintf("WWW-Authenticate: Bearer realm=\"%s/token2?x=1#frag?y\",scope=\"repository:" REPO ":pull\"\r\n",
                   f->base);
    expect(f, LIST, 401, ch, "");
    expect(f, "/token2", 200, NULL, "{\"token\":\"anon\"}");
    expect(f, LIST, 200, NULL, "{\"tags\":[\"0.8.2\"]}");
    assert_int_equal(list(f, &t, &e), 0);
    assert_string_equal(fake_daemon_request(f->fd, 4)->target,
                        "/token2?x=1&scope=repository%3Ans%2Ftracardi%2Ftracardi-api%3Apull");
    reg_tags_free(&t);
    free(ch);
}

static void test_bearer_identity_token(void **state)
{
    struct fx *f = *state;
    char *cfg = xasprintf("{\"auths\":{\"127.0.0.1:%d\":{\"identitytoken\":\"refresh-XYZ\"}}}",
                          fake_daemon_port(f->fd));
    free(tt_write_file(f->cfgdir, "config.json", cfg, 0600));
    free(cfg);
    char *ch = xasprintf("WWW-Authenticate: Bearer realm=\"%s/oauth\",service=\"svc\"\r\n", f->base);
    expect(f, LIST, 401, ch, "");
    char *tok = fake_http(200, NULL, "{\"access_token\":\"acc\"}");
    fake_daemon_expect(f->fd, "POST", "/oauth", tok);
    free(tok);
    expect(f, LIST, 200, NULL, "{\"tags\":[]}");
    struct reg_tags t;
    struct tu_err e;
    assert_int_equal(list(f, &t, &e), 0);
    const struct fake_request *tr = fake_daemon_request(f->fd, 1);
    assert_string_equal(tr->method, "POST");
    assert_non_null(strstr(tr->body, "grant_type=refresh_token"));
    assert_non_null(strstr(tr->body, "refresh_token=refresh-XYZ"));
    assert_non_null(strstr(tr->body, "service=svc"));
    char *h = fake_request_header(fake_daemon_request(f->fd, 2), "Authorization");
    assert_string_equal(h, "Bearer acc");
    free(h);
    reg_tags_free(&t);
    free(ch);
}

static void test_bearer_failures(void **state)
{
    struct fx *f = *state;
    fx_login(f, "tracup", PASSWORD);
    char *ch = xasprintf("WWW-Authenticate: Bearer realm=\"%s/token\",service=\"s\"\r\n", f->base);
    struct reg_tags t;
    struct tu_err e;
    /* The token service refuses the credentials. */
    expect(f, LIST, 401, ch, "");
    expect(f, "/token?", 401, NULL, "{\"details\":\"incorrect username or password\"}");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PERMISSION);
    assert_non_null(strstr(e.msg, "refused the credentials"));
    assert_no_secret(&e);
    /* A token the registry then refuses. */
    expect(f, LIST, 401, ch, "");
    expect(f, "/token?", 200, NULL, "{\"token\":\"t\"}");
    expect(f, LIST, 401, ch, "");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PERMISSION);
    assert_no_secret(&e);
    /* No token in the answer, or one that is not a token. */
    static const char *const bad[] = {"{}", "not json", "{\"token\":\"a b\"}", "{\"token\":7}", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect(f, LIST, 401, ch, "");
        expect(f, "/token?", 200, NULL, bad[i]);
        assert_int_equal(list(f, &t, &e), -1);
        assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    }
    /* Credentials never go over plain http to a host that is not loopback. */
    expect(f, LIST, 401, "WWW-Authenticate: Bearer realm=\"http://auth.example/token\"\r\n", "");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_REFUSED);
    /* A loopback name in the user information is not a loopback host: the realm is
     * refused before any request (the fake registry would answer the next one). */
    static const char *const sly[] = {"http://localhost:1@evil.example/token", "http://127.0.0.1:5000@evil.example/t",
                                      "http://user:pw@127.0.0.1/token", "http://127.0.0.1%40evil.example/t",
                                      "HTTP://auth.example/token"};
    for (size_t i = 0; i < sizeof(sly) / sizeof(sly[0]); i++) {
        char *hdr = xasprintf("WWW-Authenticate: Bearer realm=\"%s\"\r\n", sly[i]);
        expect(f, LIST, 401, hdr, "");
        tu_err_clear(&e);
        assert_int_equal(list(f, &t, &e), -1);
        assert_true(e.kind == TU_ERR_REFUSED || e.kind == TU_ERR_PROTOCOL);
        free(hdr);
    }
    expect(f, LIST, 401, "WWW-Authenticate: Bearer realm=\"file:///etc/passwd\"\r\n", "");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    /* A realm whose user information reads "localhost" and whose host is the fake
     * registry itself: refused, and no token request reaches it. */
    size_t before = fake_daemon_count(f->fd, "/token");
    char *ui = xasprintf("WWW-Authenticate: Bearer realm=\"http://localhost:1@127.0.0.1:%d/token\"\r\n",
                         fake_daemon_port(f->fd));
    expect(f, LIST, 401, ui, "");
    expect(f, "/token", 200, NULL, "{\"token\":\"t\"}");
    free(ui);
    tu_err_clear(&e);
    assert_int_equal(list(f, &t, &e), -1);
    assert_true(e.kind == TU_ERR_REFUSED || e.kind == TU_ERR_PROTOCOL);
    assert_int_equal(fake_daemon_count(f->fd, "/token"), before);
    assert_no_secret(&e);
    free(ch);
}

/* One Bearer challenge against a fresh fake registry that would hand out a token
 * and the tags if asked: returns list's rc, the error in *e, the fake's requests
 * in *nreq and how many reached /token in *ntoken. The realm is a printf format
 * taking the fake's port (at most twice). */
static int realm_round(const char *realm_fmt, int creds, struct tu_err *e, size_t *nreq, size_t *ntoken)
{
    struct fake_daemon *fd = fake_daemon_start_tcp();
    int port = fake_daemon_port(fd);
    char *cfgdir = tt_mkdtemp();
    tt_env_set("DOCKER_CONFIG", cfgdir);
    tt_env_set("HOME", cfgdir);
    if (creds) {
        char *cfg = xasprintf("{\"auths\":{\"127.0.0.1:%d\":{\"auth\":\"dHJhY3VwOnMzY3JldC1QYXNz\"}}}", port);
        free(tt_write_file(cfgdir, "config.json", cfg, 0600));
        free(cfg);
    }
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    char *realm = xasprintf(realm_fmt, port, port);
#pragma GCC diagnostic pop
    char *hdr = xasprintf("WWW-Authenticate: Bearer realm=\"%s\",service=\"s\"\r\n", realm);
    char *r = fake_http(401, hdr, "");
    fake_daemon_expect(fd, "GET", LIST, r);
    free(r);
    r = fake_http(200, NULL, "{\"token\":\"tok-1\"}");
    fake_daemon_expect(fd, "GET", "/token", r);
    free(r);
    r = fake_http(200, NULL, "{\"tags\":[\"0.8.2\"]}");
    fake_daemon_expect(fd, "GET", LIST, r);
    free(r);
    char *prefix = xasprintf("127.0.0.1:%d/ns", port);
    struct reg_api api;
    tu_err_clear(e);
    assert_int_equal(reg_api_init(&api, prefix, e), 0);
    api.timeout_ms = 3000;
    struct reg_tags t;
    int rc = reg_list_tags(&api, REPO, &t, e);
    if (rc == 0)
        reg_tags_free(&t);
    reg_api_free(&api);
    *nreq = fake_daemon_nrequests(fd);
    *ntoken = fake_daemon_count(fd, "/token");
    fake_daemon_stop(fd);
    tt_rmtree(cfgdir);
    free(cfgdir);
    free(prefix);
    free(hdr);
    free(realm);
    tt_env_restore();
    return rc;
}

/* A token realm is judged as curl will request it: user information (which hides
 * the real host behind a loopback-looking name), credentials over plain http to a
 * host that is not loopback, and anything that is no http(s) URL are refused
 * before any token request. Each realm leads to the fake registry itself, which
 * would answer with a token and the tags: a realm let through shows there. */
static void test_realm_refused(void **state)
{
    (void)state;
    static const struct {
        const char *realm;
        int creds;
        enum tu_err_kind kind; /* 0: either TU_ERR_REFUSED or TU_ERR_PROTOCOL */
    } cases[] = {
        {"http://localhost:1@127.0.0.1:%d/token", 1, 0},
        {"http://localhost:1@127.0.0.1:%d/token", 0, 0},
        {"http://localhost@127.0.0.1:%d/token", 1, 0},
        {"http://127.0.0.1:5001@127.0.0.1:%d/token", 1, 0},
        {"http://user:pw@127.0.0.1:%d/token", 1, 0},
        {"http://user:pw@127.0.0.1:%d/token", 0, 0},
        {"http://evil.example@127.0.0.1:%d/token", 1, 0},
        {"http://[::1]:1@127.0.0.1:%d/token", 1, 0},
        {"HTTP://localhost:1@127.0.0.1:%d/token", 1, 0},
        {"http://localhost%%3a1%%40127.0.0.1:%d/token", 1, 0},
        /* 0.0.0.0 is no loopback name, though Linux connects it to this host. */
        {"http://0.0.0.0:%d/token", 1, TU_ERR_REFUSED},
        {"ftp://127.0.0.1:%d/token", 0, TU_ERR_PROTOCOL},
        {"127.0.0.1:%d/token", 1, TU_ERR_PROTOCOL},
        {"//127.0.0.1:%d/token", 1, TU_ERR_PROTOCOL},
        {"http://127.0.0.1:%d/to ken", 1, TU_ERR_PROTOCOL},
        {"", 1, TU_ERR_PROTOCOL},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tu_err e;
        size_t nreq = 0, ntoken = 0;
        int rc = realm_round(cases[i].realm, cases[i].creds, &e, &nreq, &ntoken);
        int kind_ok = cases[i].kind ? e.kind == cases[i].kind : e.kind == TU_ERR_REFUSED || e.kind == TU_ERR_PROTOCOL;
        if (rc != -1 || !kind_ok || nreq != 1 || ntoken != 0 || !strstr(e.msg, "registry '127.0.0.1:") ||
            strstr(e.msg, PASSWORD) || strstr(e.msg, "dHJhY3VwOnMzY3JldC1QYXNz")) {
            print_error("realm '%s' (creds %d): rc %d kind %d, %zu requests (%zu to /token): %s\n", cases[i].realm,
                        cases[i].creds, rc, (int)e.kind, nreq, ntoken, e.msg);
            failed++;
        }
    }
    assert_int_equal(failed, 0);
    /* The same fake registry through a plain loopback realm: the token is fetched
     * (with the credentials) and the tags are listed. */
    static const char *const good[] = {"http://127.0.0.1:%d/token", "http://localhost:%d/token?x=1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        for (int creds = 0; creds < 2; creds++) {
            struct tu_err e;
            size_t nreq = 0, ntoken = 0;
            int rc = realm_round(good[i], creds, &e, &nreq, &ntoken);
            if (rc != 0 || nreq != 3 || ntoken != 1)
                fail_msg("realm '%s' (creds %d): rc %d, %zu requests (%zu to /token): %s", good[i], creds, rc, nreq,
                         ntoken, e.msg);
        }
}

static void test_not_found_and_errors(void **state)
{
    struct fx *f = *state;
    struct reg_tags t;
    struct tu_err e;
    expect(f, LIST, 404, NULL,
           "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"repository name not known to registry\"}]}");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_NOT_FOUND);
    assert_non_null(strstr(e.msg, "repository '" REPO "' not found"));
    assert_non_null(strstr(e.msg, "NAME_UNKNOWN"));
    expect(f, LIST, 403, NULL, "");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PERMISSION);
    expect(f, LIST, 500, NULL, "oops");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_HTTP);
    assert_int_equal(e.status, 500);
}

static void test_bad_bodies(void **state)
{
    struct fx *f = *state;
    struct reg_tags t;
    struct tu_err e;
    static const char *const bad[] = {
        "", "{", "not json", "[\"0.8.2\"]", "{\"tags\":\"0.8.2\"}", "{\"tags\":[1,2]}", "{\"tags\":{}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect(f, LIST, 200, NULL, bad[i]);
        assert_int_equal(list(f, &t, &e), -1);
        assert_int_equal(e.kind, TU_ERR_PROTOCOL);
        assert_int_equal(t.n, 0);
    }
    /* Past the cap on one answer. */
    size_t n = REG_BODY_MAX + 1000;
    char *big = xmalloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"tags\":[", 9);
    memcpy(big + n - 2, "]}", 2);
    big[n] = '\0';
    expect(f, LIST, 200, NULL, big);
    free(big);
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_TOO_BIG);
    /* Past the cap on tags. */
    f->r.max_tags = 2;
    expect(f, LIST, 200, NULL, "{\"tags\":[\"a\",\"b\",\"c\"]}");
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_TOO_BIG);
}

static void test_bad_links(void **state)
{
    struct fx *f = *state;
    struct reg_tags t;
    struct tu_err e;
    static const char *const bad[] = {
        "Link: " LIST "?last=a; rel=\"next\"\r\n",
        "Link: <" LIST "?last=a; rel=\"next\"\r\n",
        "Link: <https://evil.example" LIST "?last=a>; rel=\"next\"\r\n",
        "Link: <//evil.example" LIST ">; rel=\"next\"\r\n",
        "Link: </v1/other>; rel=\"next\"\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect(f, LIST, 200, bad[i], "{\"tags\":[\"0.8.2\"]}");
        assert_int_equal(list(f, &t, &e), -1);
        assert_int_equal(e.kind, TU_ERR_PROTOCOL);
        assert_non_null(strstr(e.msg, "registry '127.0.0.1:"));
    }
    /* A link back to the same page. */
    expect(f, LIST "?n=100", 200, "Link: <" LIST "?n=100>; rel=\"next\"\r\n", "{\"tags\":[\"0.8.2\"]}");
    assert_int_equal(list(f, &t, &e), -1);
    assert_non_null(strstr(e.msg, "same page"));
    /* Pages without end stop at the bound. */
    f->r.max_pages = 3;
    for (int i = 0; i < 4; i++) {
        char *l = xasprintf("Link: <" LIST "?last=p%d>; rel=\"next\"\r\n", i);
        expect(f, LIST, 200, l, "{\"tags\":[]}");
        free(l);
    }
    assert_int_equal(list(f, &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_TOO_BIG);
    assert_non_null(strstr(e.msg, "more than 3 pages"));
    assert_int_equal(fake_daemon_count(f->fd, LIST), 5 + 1 + 3);
}

static void test_stall_and_down(void **state)
{
    struct fx *f = *state;
    struct reg_tags t;
    struct tu_err e;
    /* The head of an answer, then nothing: the request's bound ends it. */
    const char *chunks[] = {"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"tags\":["};
    fake_daemon_expect_chunks(f->fd, "GET", LIST, chunks, 1, 0, 3000);
    f->r.timeout_ms = 300;
    long t0 = tt_now_ms();
    assert_int_equal(list(f, &t, &e), -1);
    long took = tt_now_ms() - t0;
    assert_int_equal(e.kind, TU_ERR_TIMEOUT);
    assert_true(took < 2000);
    assert_non_null(strstr(e.msg, "registry '127.0.0.1:"));

    /* Nothing listens: a port this process held a moment ago. */
    struct fake_daemon *gone = fake_daemon_start_tcp();
    int port = fake_daemon_port(gone);
    fake_daemon_stop(gone);
    char *prefix = xasprintf("127.0.0.1:%d", port);
    struct reg_api r;
    tu_err_clear(&e);
    assert_int_equal(reg_api_init(&r, prefix, &e), 0);
    assert_int_equal(reg_list_tags(&r, "tracardi/tracardi-api", &t, &e), -1);
    assert_int_equal(e.kind, TU_ERR_CONNECT);
    assert_non_null(strstr(e.msg, prefix));
    assert_non_null(strstr(e.hint, "reachable"));
    reg_api_free(&r);
    free(prefix);
}

/* ---- the running release, against a fake daemon ---- */

/* Runs `tracup check ARGS…` with stdout into a file; returns the exit code, the output in *out. */
static int run_check(char **argv, int argc, char **out)
{
    char *dir = tt_mkdtemp();
    char *path = xasprintf("%s/out", dir);
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(dup2(fileno(f), 1) >= 0);
    fclose(f);
    int rc = cmd_main(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    *out = tt_read_file(path);
    tt_rmtree(dir);
    free(dir);
    free(path);
    return rc;
}

static void expect_docker(struct fake_daemon *fd, const char *prefix, const char *body)
{
    char *r = fake_http(200, "Content-Type: application/json\r\n", body);
    fake_daemon_expect(fd, "GET", prefix, r);
    free(r);
}

/* After `upgrade --blue-standby` both releases' apis run; the running release is
 * green's, whichever the daemon lists first. */
static void test_running_after_standby(void **state)
{
    (void)state;
    struct fake_daemon *dk = fake_daemon_start();
    struct fake_daemon *reg = fake_daemon_start_tcp();
    char *state_dir = tt_mkdtemp();
    char *host = xasprintf("unix://%s", fake_daemon_socket(dk));
    tt_env_set("DOCKER_HOST", host);
    tt_env_set("DOCKER_API_VERSION", NULL);
    tt_env_set("DOCKER_CONFIG", state_dir);
    tt_env_set("TRACUP_STATE_DIR", state_dir);
    tt_env_set("TRACUP_REGISTRY", NULL);
    char *conf = tt_write_file(state_dir, "tracup.conf", "", 0600);
    tt_env_set("TRACUP_CONFIG", conf); /* not the host's */
    free(conf);
    char *prefix = xasprintf("127.0.0.1:%d", fake_daemon_port(reg));

    /* The journal of a done upgrade whose blue stands by. */
    char *sdir = xasprintf("%s/s", state_dir);
    assert_int_equal(mkdir(sdir, 0700), 0);
    free(tt_write_file(sdir, "journal.json",
                       "{\"format\":1,\"id\":\"u1\",\"stack\":\"s\",\"phase\":\"done\",\"state\":\"done\","
                       "\"phases\":[],\"blue_standby\":true,\"blue\":{\"api\":\"blueapi\",\"release\":[\"blueapi\"]}}",
                       0600));
    char *r = fake_http(200, "Api-Version: 1.41\r\n", "OK");
    fake_daemon_expect(dk, "GET", "/_ping", r);
    free(r);
    /* Blue is listed first: without the journal it would be taken. */
    char *list = xasprintf(
        "[{\"Id\":\"blueapi\",\"Names\":[\"/s_api_1\"],\"Image\":\"%s/tracardi/tracardi-api:0.8.1\","
        "\"ImageID\":\"sha256:1\",\"State\":\"running\",\"Labels\":{\"com.docker.compose.project\":\"s\","
        "\"com.docker.compose.service\":\"api\"}},"
        "{\"Id\":\"greenapi\",\"Names\":[\"/s-green-api\"],\"Image\":\"%s/tracardi/tracardi-api:0.8.2\","
        "\"ImageID\":\"sha256:2\",\"State\":\"running\",\"Labels\":{\"tracup.stack\":\"s\",\"tracup.role\":\"api\","
        "\"tracup.color\":\"green\",\"tracup.upgrade\":\"u1\"}}]",
        prefix, prefix);
    expect_docker(dk, "/v1.41/containers/json", list);
    free(list);
    char *ins = xasprintf("{\"Id\":\"blueapi\",\"Config\":{\"Image\":\"%s/tracardi/tracardi-api:0.8.1\"},"
                          "\"State\":{\"Status\":\"running\"}}", prefix);
    expect_docker(dk, "/v1.41/containers/blueapi/json", ins);
    free(ins);
    ins = xasprintf("{\"Id\":\"greenapi\",\"Config\":{\"Image\":\"%s/tracardi/tracardi-api:0.8.2\"},"
                    "\"State\":{\"Status\":\"running\"}}", prefix);
    expect_docker(dk, "/v1.41/containers/greenapi/json", ins);
    free(ins);
    for (int i = 0; i < 8; i++) {
        r = fake_http(200, "Content-Type: application/json\r\n", "{\"tags\":[\"0.8.1\",\"0.8.2\",\"0.9.0\"]}");
        fake_daemon_expect(reg, "GET", "/v2/tracardi/", r);
        free(r);
    }

    char a0[] = "tracup", a1[] = "check", a2[] = "--registry", a4[] = "--json";
    char *argv[] = {a0, a1, a2, prefix, a4, NULL};
    char *out = NULL;
    int rc = run_check(argv, 5, &out);
    json_t *doc = json_loads(out, 0, NULL);
    if (rc != 0 || !doc)
        fail_msg("check exited %d: %s", rc, out);
    assert_string_equal(json_string_value(json_object_get(doc, "running")), "0.8.2");
    assert_string_equal(json_string_value(json_object_get(doc, "stack")), "s");
    json_decref(doc);
    free(out);
    free(sdir);
    free(prefix);
    free(host);
    fake_daemon_stop(reg);
    fake_daemon_stop(dk);
    tt_rmtree(state_dir);
    free(state_dir);
    tt_env_restore();
}

/* ---- the report ---- */

static void tags_of(struct reg_tags *t, const char *const *list)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; list[i]; i++) {
        t->tag = xrealloc(t->tag, (t->n + 1) * sizeof(*t->tag));
        t->tag[t->n++] = xstrdup(list[i]);
    }
}

static json_t *report(const char *running, const char *const *api, const char *const *gui, const char *const *uw,
                      int apm_unknown, int all)
{
    static const char *const none[] = {NULL};
    struct reg_tags t[4];
    tags_of(&t[0], api);
    tags_of(&t[1], gui);
    tags_of(&t[2], uw ? uw : none);
    tags_of(&t[3], api);
    const struct reg_tags *tp[4] = {&t[0], &t[1], &t[2], apm_unknown ? NULL : &t[3]};
    struct tversion v;
    struct tu_err e;
    if (running)
        assert_int_equal(tversion_parse(running, &v, &e), 0);
    struct avail_in in = {.running = running ? &v : NULL, .tags = tp, .all = all};
    json_t *doc = avail_report(&in);
    for (int i = 0; i < 4; i++)
        reg_tags_free(&t[i]);
    return doc;
}

static const char *rel_field(json_t *doc, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(doc, "releases"), i), key));
}

static char *hops_text(json_t *o)
{
    struct buf b;
    buf_init(&b, 0);
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(o, "hops"), i, h) {
        if (i)
            buf_appends(&b, ",");
        buf_appends(&b, json_string_value(h));
    }
    buf_appends(&b, "");
    return buf_detach(&b);
}

static void test_report_sorting_and_marking(void **state)
{
    (void)state;
    static const char *const api[] = {"latest", "1.0.0", "0.8.2-rc1", "0.8.0", "0.9.0-dev", "0.8.2", "0.10.0",
                                      "0.8.1", "stable", "0.9.0", "0.8.2-rc10", "0.8.2-rc2", "v0.9.0", NULL};
    static const char *const gui[] = {"0.8.2", "0.9.0", "0.8.2-rc1", "1.0.0", NULL};
    static const char *const uw[] = {"0.8.2", "0.9.0", "1.0.0", NULL};
    json_t *doc = report("0.8.1", api, gui, uw, 0, 0);
    json_t *tags = json_object_get(doc, "tags");
    assert_int_equal(json_integer_value(json_object_get(tags, "listed")), 13);
    assert_int_equal(json_integer_value(json_object_get(tags, "not_versions")), 3);
    assert_int_equal(json_integer_value(json_object_get(tags, "older")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(tags, "not_version_examples"), 0)), "latest");
    /* Without --all: releases only, in version order (0.10.0 after 0.9.0, not after 0.1). */
    json_t *rels = json_object_get(doc, "releases");
    assert_int_equal(json_array_size(rels), 4);
    assert_string_equal(rel_field(doc, 0, "version"), "0.8.2");
    assert_string_equal(rel_field(doc, 1, "version"), "0.9.0");
    assert_string_equal(rel_field(doc, 2, "version"), "0.10.0");
    assert_string_equal(rel_field(doc, 3, "version"), "1.0.0");
    assert_int_equal(json_integer_value(json_object_get(doc, "hidden")), 4);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "newest_release"), "version")), "1.0.0");
    assert_false(json_is_true(json_object_get(doc, "up_to_date")));
    /* 0.10.0 has no gui and no worker image. */
    json_t *r010 = json_array_get(rels, 2);
    assert_true(json_is_false(json_object_get(json_object_get(r010, "images"), "gui")));
    assert_true(json_is_false(json_object_get(r010, "complete")));
    assert_true(json_is_true(json_object_get(json_array_get(rels, 0), "complete")));
    json_decref(doc);

    /* With --all: rc in rc order (rc1 < rc2 < rc10) before the release, dev before rc. */
    doc = report("0.8.1", api, gui, uw, 0, 1);
    static const char *const order[] = {"0.8.2-rc1", "0.8.2-rc2", "0.8.2-rc10", "0.8.2", "0.9.0-dev", "0.9.0",
                                        "0.10.0", "1.0.0"};
    static const char *const kinds[] = {"rc", "rc", "rc", "release", "dev", "release", "release", "release"};
    assert_int_equal(json_array_size(json_object_get(doc, "releases")), 8);
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(rel_field(doc, i, "version"), order[i]);
        assert_string_equal(rel_field(doc, i, "kind"), kinds[i]);
    }
    assert_int_equal(json_integer_value(json_object_get(doc, "hidden")), 0);
    /* The rc's gui is there, rc2's is not. */
    json_t *imgs = json_object_get(json_array_get(json_object_get(doc, "releases"), 1), "images");
    assert_true(json_is_false(json_object_get(imgs, "gui")));
    imgs = json_object_get(json_array_get(json_object_get(doc, "releases"), 0), "images");
    assert_true(json_is_true(json_object_get(imgs, "gui")));
    json_decref(doc);
}

static void test_report_hops(void **state)
{
    (void)state;
    static const char *const api[] = {"0.8.0", "0.8.1", "0.8.2", "0.9.0", "1.0.0", NULL};
    json_t *doc = report("0.8.0", api, api, api, 0, 0);
    /* 0.8.0 -> 0.8.2 goes through 0.8.1; 1.0.0 through 0.8.1 and 0.8.2 (0.9 and 1.0 share their indices). */
    char *h = hops_text(json_array_get(json_object_get(doc, "releases"), 1));
    assert_string_equal(h, "0.8.1,0.8.2");
    free(h);
    h = hops_text(json_object_get(doc, "newest_release"));
    assert_string_equal(h, "0.8.1,0.8.2,1.0.0");
    free(h);
    assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "newest_release"), "not_in_registry")), 0);
    json_decref(doc);

    /* An intermediate release the registry lacks is named. */
    static const char *const gap[] = {"0.8.0", "0.8.2", NULL};
    doc = report("0.8.0", gap, gap, gap, 0, 0);
    json_t *nr = json_object_get(doc, "newest_release");
    assert_string_equal(json_string_value(json_array_get(json_object_get(nr, "not_in_registry"), 0)), "0.8.1");
    json_decref(doc);

    /* 0.9.0 -> 1.0.0 shares db_version 09x: one hop, on the same data, said so. */
    doc = report("0.9.0", api, api, api, 0, 0);
    assert_int_equal(json_array_size(json_object_get(doc, "releases")), 1);
    json_t *r0 = json_array_get(json_object_get(doc, "releases"), 0);
    assert_int_equal(json_array_size(json_object_get(r0, "hops")), 1);
    assert_true(json_is_true(json_object_get(r0, "shared_data")));
    assert_true(json_is_null(json_object_get(r0, "path_error")));
    json_decref(doc);

    /* Up to date; and no running release at all: everything, without hops. */
    doc = report("1.0.0", api, api, api, 0, 0);
    assert_true(json_is_true(json_object_get(doc, "up_to_date")));
    assert_int_equal(json_array_size(json_object_get(doc, "releases")), 0);
    json_decref(doc);
    doc = report(NULL, api, api, api, 1, 0);
    assert_int_equal(json_array_size(json_object_get(doc, "releases")), 5);
    assert_true(json_is_null(json_object_get(doc, "running")));
    assert_true(json_is_null(json_object_get(json_array_get(json_object_get(doc, "releases"), 0), "hops")));
    assert_false(json_is_true(json_object_get(doc, "up_to_date")));
    /* An apm repository that could not be listed is unknown, not missing. */
    json_t *imgs = json_object_get(json_array_get(json_object_get(doc, "releases"), 4), "images");
    assert_true(json_is_null(json_object_get(imgs, "apm")));
    assert_null(json_object_get(json_object_get(json_array_get(json_object_get(doc, "releases"), 0), "images"),
                                "update-worker"));
    json_decref(doc);
}

static char *printed(json_t *doc)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    avail_print(f, doc);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *text = xmalloc((size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_report_text(void **state)
{
    (void)state;
    static const char *const api[] = {"0.8.0", "0.8.1", "0.8.2", "0.9.0-dev", "1.0.0", NULL};
    static const char *const gui[] = {"0.8.2", NULL};
    json_t *doc = report("0.8.0", api, gui, api, 0, 1);
    char *t = printed(doc);
    assert_non_null(strstr(t, "0.8.2          release  complete"));
    assert_non_null(strstr(t, "0.9.0-dev      dev      no gui"));
    assert_non_null(strstr(t, "0.8.0 -> 0.8.1 -> 0.8.2 -> 1.0.0"));
    assert_non_null(strstr(t, "Newest release: 1.0.0, 3 hops: 0.8.0 -> 0.8.1 -> 0.8.2 -> 1.0.0"));
    assert_non_null(strstr(t, "note: 0.9.0-dev is a development build"));
    free(t);
    json_decref(doc);
    doc = report("0.8.0", api, gui, api, 0, 0);
    t = printed(doc);
    assert_null(strstr(t, "0.9.0-dev"));
    assert_non_null(strstr(t, "1 pre-release (rc, -dev) not shown: --all lists them"));
    free(t);
    json_decref(doc);
    /* A reason that holds for every release is said once. */
    doc = report("0.7.4", api, gui, api, 0, 0);
    t = printed(doc);
    const char *n1 = strstr(t, "note: tracup does not know how to migrate from Tracardi 0.7.4\n");
    assert_non_null(n1);
    assert_null(strstr(n1 + 1, "note: tracup does not know how to migrate"));
    assert_non_null(strstr(t, "no gui                 no blue-green upgrade (see below)\n"));
    free(t);
    json_decref(doc);
    doc = report("1.0.0", api, gui, api, 0, 0);
    t = printed(doc);
    assert_non_null(strstr(t, "Up to date: the registry has no release newer than 1.0.0"));
    free(t);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_www_auth),
        cmocka_unit_test(test_link),
        cmocka_unit_test(test_next_url),
        cmocka_unit_test(test_loopback_and_tags),
        cmocka_unit_test(test_running_after_standby),
        cmocka_unit_test_setup_teardown(test_pages, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_null_tags, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_basic_challenge, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_basic_refused, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_basic_without_credentials, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bearer_with_credentials, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bearer_anonymous, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bearer_identity_token, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bearer_failures, fx_setup, fx_teardown),
        cmocka_unit_test(test_realm_refused),
        cmocka_unit_test_setup_teardown(test_not_found_and_errors, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_bodies, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_links, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stall_and_down, fx_setup, fx_teardown),
        cmocka_unit_test(test_report_sorting_and_marking),
        cmocka_unit_test(test_report_hops),
        cmocka_unit_test(test_report_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
