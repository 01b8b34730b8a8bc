/* test_ref.c - image references, registry prefixes and Tracardi image roles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "docker/objects.h"
#include "registry/ref.h"
#include "tracardi/images.h"

#define D64 "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void ref_ok(const char *s, const char *domain, const char *path, const char *tag, const char *digest,
                   const char *full)
{
    struct image_ref r;
    struct tu_err e = {0};
    if (image_ref_parse(s, &r, &e) != 0)
        fail_msg("'%s' refused: %s", s, e.msg);
    assert_string_equal(r.domain, domain);
    assert_string_equal(r.path, path);
    if (tag)
        assert_string_equal(r.tag, tag);
    else
        assert_null(r.tag);
    if (digest)
        assert_string_equal(r.digest, digest);
    else
        assert_null(r.digest);
    char *str = image_ref_string(&r);
    assert_string_equal(str, full);
    free(str);
    /* The normalised form parses to the same thing. */
    struct image_ref again;
    char *str2 = image_ref_string(&r);
    assert_int_equal(image_ref_parse(str2, &again, &e), 0);
    assert_string_equal(again.domain, r.domain);
    assert_string_equal(again.path, r.path);
    image_ref_free(&again);
    free(str2);
    image_ref_free(&r);
    assert_null(r.domain);
}

static void test_parse_normalises(void **state)
{
    (void)state;
    ref_ok("redis", "docker.io", "library/redis", NULL, NULL, "docker.io/library/redis");
    ref_ok("redis:7.2-alpine", "docker.io", "library/redis", "7.2-alpine", NULL, "docker.io/library/redis:7.2-alpine");
    ref_ok("docker.io/redis", "docker.io", "library/redis", NULL, NULL, "docker.io/library/redis");
    ref_ok("index.docker.io/library/redis", "docker.io", "library/redis", NULL, NULL, "docker.io/library/redis");
    ref_ok("tracardi/tracardi-api:0.8.2", "docker.io", "tracardi/tracardi-api", "0.8.2", NULL,
           "docker.io/tracardi/tracardi-api:0.8.2");
    ref_ok("127.0.0.1:5000/tracardi/tracardi-api:0.8.2", "127.0.0.1:5000", "tracardi/tracardi-api", "0.8.2", NULL,
           "127.0.0.1:5000/tracardi/tracardi-api:0.8.2");
    ref_ok("localhost/x", "localhost", "x", NULL, NULL, "localhost/x");
    ref_ok("localhost:5000/x:1", "localhost:5000", "x", "1", NULL, "localhost:5000/x:1");
    ref_ok("127.0.0.1:5000/tracardi/tracardi-api", "127.0.0.1:5000", "tracardi/tracardi-api", NULL, NULL,
           "127.0.0.1:5000/tracardi/tracardi-api");
    ref_ok("registry.example.com/a/b/c", "registry.example.com", "a/b/c", NULL, NULL, "registry.example.com/a/b/c");
    ref_ok("tracardi/tracardi-api:0.8.2@" D64, "docker.io", "tracardi/tracardi-api", "0.8.2", D64,
           "docker.io/tracardi/tracardi-api:0.8.2@" D64);
    ref_ok("127.0.0.1:5000/x@" D64, "127.0.0.1:5000", "x", NULL, D64, "127.0.0.1:5000/x@" D64);
    /* Separators inside path components. */
    ref_ok("a_b/c__d/e.f/g-h/i---j", "docker.io", "a_b/c__d/e.f/g-h/i---j", NULL, NULL,
           "docker.io/a_b/c__d/e.f/g-h/i---j");
    /* An upper-case first component is a host, as the docker CLI reads it. */
    ref_ok("Registry.Example.com/x", "Registry.Example.com", "x", NULL, NULL, "Registry.Example.com/x");
    /* A tag may be 128 characters. */
    char tag128[200] = "x:";
    memset(tag128 + 2, 't', 128);
    tag128[130] = '\0';
    struct image_ref r;
    struct tu_err e;
    assert_int_equal(image_ref_parse(tag128, &r, &e), 0);
    assert_int_equal(strlen(r.tag), 128);
    image_ref_free(&r);
}

static void ref_bad(const char *s, const char *want_in_msg)
{
    struct image_ref r;
    struct tu_err e = {0};
    memset(&r, 0x5a, sizeof(r));
    if (image_ref_parse(s, &r, &e) != -1)
        fail_msg("'%s' accepted", s ? s : "(null)");
    assert_int_equal(e.kind, TU_ERR_USAGE);
    if (want_in_msg && !strstr(e.msg, want_in_msg))
        fail_msg("'%s': message '%s' lacks '%s'", s ? s : "(null)", e.msg, want_in_msg);
    /* Nothing is left for the caller to free. */
    assert_null(r.domain);
    assert_null(r.path);
    assert_null(r.tag);
    assert_null(r.digest);
    image_ref_free(&r);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    ref_bad(NULL, "empty");
    ref_bad("", "empty");
    ref_bad("Redis", "invalid repository name");
    ref_bad("tracardi/Tracardi-API:0.8.2", "invalid repository name");
    ref_bad("127.0.0.1:5000/Tracardi/api", "invalid repository name");
    ref_bad("x@sha256:0123", "invalid digest");
    ref_bad("x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", "invalid digest");
    ref_bad("x@sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "invalid digest");
    ref_bad("x@" D64 "0", "invalid digest");
    ref_bad("x@", "invalid digest");
    ref_bad("x:1@" D64 "@" D64, "invalid digest");
    ref_bad("host:99999/x", "invalid registry host");
    ref_bad("host:0/x", "invalid registry host");
    ref_bad("host:123456/x", "invalid registry host");
    ref_bad("host:abc/x", "invalid registry host");
    ref_bad("host:/x", "invalid registry host");
    ref_bad("-host.com/x", "invalid registry host");
    ref_bad("host-.com/x", "invalid registry host");
    ref_bad("a..b.com/x", "invalid registry host");
    ref_bad("a.com./x", "invalid registry host");
    ref_bad("h_st.com/x", "invalid registry host");
    ref_bad("[::1]:5000/x", "invalid registry host");
    ref_bad("redis:", "invalid tag");
    ref_bad("redis:-x", "invalid tag");
    ref_bad("redis:.x", "invalid tag");
    ref_bad("redis:a+b", "invalid tag");
    ref_bad("a//b", "invalid repository name");
    ref_bad("a/", "invalid repository name");
    ref_bad("/a", "invalid repository name");
    ref_bad("tracardi/tracardi-api-", "invalid repository name");
    ref_bad("tracardi/-api", "invalid repository name");
    ref_bad("a.-b", "invalid repository name");
    ref_bad("a___b", "invalid repository name");
    ref_bad("a..b", "invalid repository name");
    ref_bad("a_.b", "invalid repository name");
    ref_bad("127.0.0.1:5000/", "invalid repository name");
    ref_bad(":tag", "invalid repository name");
    ref_bad("@" D64, "invalid repository name");
    ref_bad("tracardi/tracardi api", "space or control");
    ref_bad(" redis", "space or control");
    ref_bad("redis\n", "space or control");
    ref_bad("redis\t:7", "space or control");
    ref_bad("redis\x7f", "space or control");
    ref_bad("r\xc3\xa9" "dis", "space or control");
    /* A tag over 128 characters. */
    char tag129[200] = "x:";
    memset(tag129 + 2, 't', 129);
    tag129[131] = '\0';
    ref_bad(tag129, "invalid tag");
    /* A 300-character repository name. */
    char name[400];
    memset(name, 'a', 300);
    name[300] = '\0';
    ref_bad(name, "longer than 255");
    memcpy(name + 300, ":1", 3);
    ref_bad(name, "longer than 255");
    /* Far too long overall. */
    char huge[1200];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    ref_bad(huge, "too long");
}

static void test_auth_key(void **state)
{
    (void)state;
    static const struct {
        const char *ref, *key;
    } cases[] = {
        {"redis", "https://index.docker.io/v1/"},
        {"tracardi/tracardi-api:0.8.2", "https://index.docker.io/v1/"},
        {"docker.io/tracardi/tracardi-api", "https://index.docker.io/v1/"},
        {"index.docker.io/tracardi/tracardi-api", "https://index.docker.io/v1/"},
        {"127.0.0.1:5000/tracardi/tracardi-api:0.8.2", "127.0.0.1:5000"},
        {"registry.example.com/x", "registry.example.com"},
        {"localhost/x", "localhost"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct image_ref r;
        struct tu_err e;
        assert_int_equal(image_ref_parse(cases[i].ref, &r, &e), 0);
        assert_string_equal(image_ref_auth_key(&r), cases[i].key);
        char *repo = image_ref_repo(&r);
        assert_null(strchr(repo + strlen(r.domain), ':'));
        free(repo);
        image_ref_free(&r);
    }
    assert_string_equal(DOCKER_HUB_AUTH_KEY, "https://index.docker.io/v1/");
}

static void test_repo_equal(void **state)
{
    (void)state;
    assert_true(image_repo_equal("redis", "docker.io/library/redis"));
    assert_true(image_repo_equal("redis:7", "index.docker.io/library/redis@" D64));
    assert_true(image_repo_equal("tracardi/tracardi-api:0.8.2", "docker.io/tracardi/tracardi-api"));
    assert_true(image_repo_equal("127.0.0.1:5000/x:1", "127.0.0.1:5000/x:2"));
    assert_false(image_repo_equal("127.0.0.1:5000/x", "127.0.0.1:5001/x"));
    assert_false(image_repo_equal("127.0.0.1:5000/x", "127.0.0.1:5000/y"));
    assert_false(image_repo_equal("redis", "localhost/redis"));
    assert_false(image_repo_equal("library/redis", "other/redis"));
    assert_false(image_repo_equal("tracardi/tracardi-api", "tracardi/tracardi-api-evil"));
    /* Anything invalid is never equal, not even to itself. */
    assert_false(image_repo_equal("Bad Name", "Bad Name"));
    assert_false(image_repo_equal("redis", "a//b"));
    assert_false(image_repo_equal("", ""));
}

static void test_digest_valid(void **state)
{
    (void)state;
    assert_true(image_digest_valid(D64));
    assert_false(image_digest_valid(NULL));
    assert_false(image_digest_valid(""));
    assert_false(image_digest_valid("sha256:"));
    assert_false(image_digest_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
    assert_false(image_digest_valid(D64 "0"));
    assert_false(image_digest_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(image_digest_valid("sha256:g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(image_digest_valid("SHA256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(image_digest_valid("sha384:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(image_digest_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
}

static void test_repo_digest_from_inspect(void **state)
{
    (void)state;
    json_t *img = json_pack("{s:[s,s,s,s,s]}", "RepoDigests",
                            "evil/tracardi-api@sha256:1111111111111111111111111111111111111111111111111111111111111111",
                            "127.0.0.1:5000/tracardi/tracardi-api@sha256:bad",
                            "127.0.0.1:5000/tracardi/tracardi-api@" D64,
                            "tracardi/tracardi-api@sha256:2222222222222222222222222222222222222222222222222222222222222222",
                            "garbage");
    assert_non_null(img);
    assert_string_equal(docker_image_repo_digest(img, "127.0.0.1:5000/tracardi/tracardi-api"), D64);
    assert_string_equal(docker_image_repo_digest(img, "docker.io/tracardi/tracardi-api"),
                        "sha256:2222222222222222222222222222222222222222222222222222222222222222");
    assert_null(docker_image_repo_digest(img, "127.0.0.1:5001/tracardi/tracardi-api"));
    json_decref(img);
    /* No RepoDigests (an image built locally), or a hostile shape. */
    img = json_pack("{s:s}", "Id", "sha256:x");
    assert_null(docker_image_repo_digest(img, "redis"));
    json_decref(img);
    img = json_pack("{s:{s:i}}", "RepoDigests", "x", 1);
    assert_null(docker_image_repo_digest(img, "redis"));
    json_decref(img);
    assert_null(docker_image_repo_digest(NULL, "redis"));
}

static void prefix_ok(const char *p)
{
    struct tu_err e = {0};
    if (registry_prefix_check(p, &e) != 0)
        fail_msg("prefix '%s' refused: %s", p, e.msg);
}

static void prefix_bad(const char *p, const char *want_in_msg)
{
    struct tu_err e = {0};
    if (registry_prefix_check(p, &e) != -1)
        fail_msg("prefix '%s' accepted", p ? p : "(null)");
    assert_int_equal(e.kind, TU_ERR_USAGE);
    if (!strstr(e.msg, want_in_msg))
        fail_msg("prefix '%s': message '%s' lacks '%s'", p ? p : "(null)", e.msg, want_in_msg);
}

static void test_registry_prefix_check(void **state)
{
    (void)state;
    prefix_ok("docker.io");
    prefix_ok("127.0.0.1:5000");
    prefix_ok("127.0.0.1:5000/faulty/unhealthy");
    prefix_ok("localhost");
    prefix_ok("localhost:5000");
    prefix_ok("registry.example.com");
    prefix_ok("registry.example.com:443/mirror");
    prefix_bad(NULL, "empty registry");
    prefix_bad("", "empty registry");
    prefix_bad("https://registry.example.com", "must not have a scheme");
    prefix_bad("127.0.0.1:5000/", "must not end with '/'");
    /* A Docker Hub namespace is not a registry. */
    prefix_bad("tracardi", "invalid registry 'tracardi'");
    prefix_bad("myuser/mirror", "invalid registry");
    prefix_bad("127.0.0.1:99999", "invalid registry");
    prefix_bad("127.0.0.1:5000/Faulty", "invalid registry");
    prefix_bad("127.0.0.1:5000//x", "invalid registry");
    prefix_bad("127.0.0.1:5000/x y", "invalid registry");
    prefix_bad("127.0.0.1:5000:tag", "invalid registry");
    prefix_bad("127.0.0.1:5000/x@" D64, "invalid registry");
}

static void role_is(const char *image, const char *prefix, enum stack_role want, const char *want_key)
{
    const char *key = "unset";
    enum stack_role got = tracardi_image_role(image, prefix, &key);
    if (got != want)
        fail_msg("role of '%s' under '%s' is %s, want %s", image ? image : "(null)", prefix,
                 stack_role_name(got), stack_role_name(want));
    if (want_key)
        assert_string_equal(key, want_key);
    else
        assert_null(key);
    /* key may be NULL. */
    assert_int_equal(tracardi_image_role(image, prefix, NULL), want);
}

static void test_image_role_under_local_registry(void **state)
{
    (void)state;
    const char *p = "127.0.0.1:5000";
    role_is("127.0.0.1:5000/tracardi/tracardi-api:0.8.2", p, ROLE_API, "api");
    role_is("127.0.0.1:5000/tracardi/tracardi-api", p, ROLE_API, "api");
    role_is("127.0.0.1:5000/tracardi/tracardi-api@" D64, p, ROLE_API, "api");
    role_is("127.0.0.1:5000/tracardi/tracardi-gui:0.8.2", p, ROLE_GUI, "gui");
    role_is("127.0.0.1:5000/tracardi/update-worker:0.8.2", p, ROLE_WORKER, "update-worker");
    role_is("127.0.0.1:5000/tracardi/apm:0.8.2", p, ROLE_WORKER, "apm");
    /* A Tracardi image tracup has no entry for: a worker without a key. */
    /* A Tracardi image without an entry is one tracup cannot upgrade, never a worker. */
    role_is("127.0.0.1:5000/tracardi/some-worker:0.8.2", p, ROLE_UNSUPPORTED, NULL);
    role_is("127.0.0.1:5000/tracardi/com-tracardi-api:0.8.2.1", p, ROLE_UNSUPPORTED, NULL);
    role_is("127.0.0.1:5000/tracardi/background-worker:1.0.0", p, ROLE_UNSUPPORTED, NULL);
    /* Look-alikes that are not Tracardi's. */
    role_is("evil/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);  /* Docker Hub, not the prefix */
    role_is("127.0.0.1:5000/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/x/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/tracardi/tracardi-api/extra:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/tracardix/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5001/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/tracardi", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/redis:7", p, ROLE_OTHER, NULL);
    /* Unparseable or missing images. */
    role_is(NULL, p, ROLE_OTHER, NULL);
    role_is("", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/Tracardi/tracardi-api", p, ROLE_OTHER, NULL);
    role_is("sha256:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", p, ROLE_OTHER, NULL);
    /* An invalid prefix matches nothing. */
    role_is("127.0.0.1:5000/tracardi/tracardi-api", "127.0.0.1:5000/Bad", ROLE_OTHER, NULL);
}

static void test_image_role_under_prefix_path(void **state)
{
    (void)state;
    const char *p = "127.0.0.1:5000/faulty/unhealthy";
    role_is("127.0.0.1:5000/faulty/unhealthy/tracardi/tracardi-api:0.8.2", p, ROLE_API, "api");
    role_is("127.0.0.1:5000/faulty/unhealthy/tracardi/tracardi-gui:0.8.2", p, ROLE_GUI, "gui");
    role_is("127.0.0.1:5000/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/faulty/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/faulty/unhealthyx/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/faulty/unhealthy/x/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/faulty/unhealthy/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    /* The prefix path must match whole components. */
    role_is("127.0.0.1:5000/faultyx/tracardi/tracardi-api:0.8.2", "127.0.0.1:5000/faulty", ROLE_OTHER, NULL);
}

/* docker.io is the default prefix: the official images must be recognised there. */
static void test_image_role_under_docker_hub(void **state)
{
    (void)state;
    const char *p = "docker.io";
    role_is("tracardi/tracardi-api:0.8.2", p, ROLE_API, "api");
    role_is("docker.io/tracardi/tracardi-api:0.8.2", p, ROLE_API, "api");
    role_is("index.docker.io/tracardi/tracardi-gui:0.8.2", p, ROLE_GUI, "gui");
    role_is("tracardi/update-worker:0.8.2", p, ROLE_WORKER, "update-worker");
    role_is("evil/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("library/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("127.0.0.1:5000/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
    role_is("x/tracardi/tracardi-api:0.8.2", p, ROLE_OTHER, NULL);
}

static void test_infra_role_guess(void **state)
{
    (void)state;
    assert_int_equal(infra_role_guess("redis:7", NULL), ROLE_REDIS);
    assert_int_equal(infra_role_guess("docker.io/redis/redis-stack-server:latest", NULL), ROLE_REDIS);
    assert_int_equal(infra_role_guess("docker.elastic.co/elasticsearch/elasticsearch:7.17.9", NULL), ROLE_ELASTIC);
    assert_int_equal(infra_role_guess("opensearchproject/opensearch:2", NULL), ROLE_ELASTIC);
    assert_int_equal(infra_role_guess("mysql:8", NULL), ROLE_MYSQL);
    assert_int_equal(infra_role_guess("mariadb:11", NULL), ROLE_MYSQL);
    assert_int_equal(infra_role_guess("nginx:1.25", NULL), ROLE_EDGE);
    /* The service name wins over the image. */
    assert_int_equal(infra_role_guess("some/custom:1", "redis"), ROLE_REDIS);
    assert_int_equal(infra_role_guess("some/custom:1", "es"), ROLE_ELASTIC);
    assert_int_equal(infra_role_guess("some/custom:1", "elastic"), ROLE_ELASTIC);
    assert_int_equal(infra_role_guess("some/custom:1", "elasticsearch"), ROLE_ELASTIC);
    assert_int_equal(infra_role_guess("some/custom:1", "mariadb"), ROLE_MYSQL);
    assert_int_equal(infra_role_guess("redis:7", "edge"), ROLE_EDGE);
    /* An unknown service name falls back to the image. */
    assert_int_equal(infra_role_guess("redis:7", "cache"), ROLE_REDIS);
    /* Only the last component counts, and exactly. */
    assert_int_equal(infra_role_guess("redis/something:1", NULL), ROLE_OTHER);
    assert_int_equal(infra_role_guess("myredis:1", NULL), ROLE_OTHER);
    assert_int_equal(infra_role_guess("redis-exporter:1", NULL), ROLE_OTHER);
    assert_int_equal(infra_role_guess("tracardi/tracardi-api:0.8.2", NULL), ROLE_OTHER);
    assert_int_equal(infra_role_guess(NULL, NULL), ROLE_OTHER);
    assert_int_equal(infra_role_guess("Bad Image", NULL), ROLE_OTHER);
    assert_int_equal(infra_role_guess(NULL, "unknown"), ROLE_OTHER);
}

static void test_unsupported_images(void **state)
{
    (void)state;
    char *path = tracardi_image_path("127.0.0.1:5000/tracardi/com-tracardi-api:0.8.2.1", "127.0.0.1:5000");
    assert_string_equal(path, "tracardi/com-tracardi-api");
    assert_string_equal(tracardi_unsupported_what(path), "the commercial api");
    free(path);
    path = tracardi_image_path("docker.io/tracardi/tms:1.0.0", "docker.io");
    assert_string_equal(tracardi_unsupported_what(path), "the commercial tenant management service");
    free(path);
    assert_null(tracardi_unsupported_what("tracardi/some-worker"));
    assert_null(tracardi_unsupported_what(NULL));
    assert_null(tracardi_image_path("127.0.0.1:5000/other/tracardi-api:1", "127.0.0.1:5000"));
    assert_null(tracardi_image_path("127.0.0.1:5000/tracardi/a/b:1", "127.0.0.1:5000"));
}

static void test_image_table(void **state)
{
    (void)state;
    assert_non_null(tracardi_image_by_key("api"));
    assert_string_equal(tracardi_image_by_key("api")->path, "tracardi/tracardi-api");
    assert_string_equal(tracardi_image_by_key("gui")->path, "tracardi/tracardi-gui");
    assert_null(tracardi_image_by_key("API"));
    assert_null(tracardi_image_by_key(""));
    assert_null(tracardi_image_by_key("tracardi-api"));
    struct tversion v;
    struct tu_err e;
    const struct tracardi_image *w = tracardi_image_by_key("update-worker");
    assert_non_null(w);
    assert_int_equal(tversion_parse("0.8.0", &v, &e), 0);
    assert_false(tracardi_image_in_release(w, &v));
    assert_true(tracardi_image_in_release(tracardi_image_by_key("api"), &v));
    assert_int_equal(tversion_parse("0.8.1", &v, &e), 0);
    assert_true(tracardi_image_in_release(w, &v));
    assert_false(tracardi_image_in_release(tracardi_image_by_key("apm"), &v));
    char *ref = tracardi_image_ref("127.0.0.1:5000", "tracardi/tracardi-api", "0.8.2");
    assert_string_equal(ref, "127.0.0.1:5000/tracardi/tracardi-api:0.8.2");
    free(ref);
    assert_string_equal(stack_role_name(ROLE_ELASTIC), "elasticsearch");
    assert_string_equal(stack_role_name(ROLE_OTHER), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_normalises),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_auth_key),
        cmocka_unit_test(test_repo_equal),
        cmocka_unit_test(test_digest_valid),
        cmocka_unit_test(test_repo_digest_from_inspect),
        cmocka_unit_test(test_registry_prefix_check),
        cmocka_unit_test(test_image_role_under_local_registry),
        cmocka_unit_test(test_image_role_under_prefix_path),
        cmocka_unit_test(test_image_role_under_docker_hub),
        cmocka_unit_test(test_infra_role_guess),
        cmocka_unit_test(test_unsupported_images),
        cmocka_unit_test(test_image_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
