/* test_mask.c - keeping secrets out of output: env names, URLs, env entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "upgrade/green.h"
#include "util/mask.h"

static void test_secret_names(void **state)
{
    (void)state;
    static const char *const secret[] = {
        "PASSWORD", "ELASTIC_PASSWORD", "MYSQL_ROOT_PASSWORD", "db_passwd", "API_SECRET",
        "client_secret", "TOKEN", "INSTALLATION_TOKEN", "x_api_key", "APIKEY", "AWS_CREDENTIALS",
        "SSH_PRIVATE_KEY", "Password", "redisPassword",
    };
    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        if (!env_name_is_secret(secret[i]))
            fail_msg("'%s' should be secret", secret[i]);
    static const char *const plain[] = {
        "", "PATH", "ELASTIC_HOST", "REDIS_HOST", "API_DOCS", "LOGGING_LEVEL", "TRACARDI_VERSION",
        "PUBLIC_KEY", "USER", "TOKE", "PASS",
    };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (env_name_is_secret(plain[i]))
            fail_msg("'%s' should not be secret", plain[i]);
}

static void check_url(const char *in, const char *want)
{
    char *m = mask_url(in);
    if (strcmp(m, want) != 0)
        fail_msg("mask_url('%s') = '%s', want '%s'", in, m, want);
    free(m);
}

static void test_mask_url(void **state)
{
    (void)state;
    check_url("http://user:pass@es:9200", "http://user:***@es:9200");
    check_url("http://elastic:s3cr3t@es:9200/index?q=1", "http://elastic:***@es:9200/index?q=1");
    /* A password holding ':' and '@' is masked whole (the last '@' ends userinfo). */
    check_url("https://u:p:a@ss@host/", "https://u:***@host/");
    /* A user name alone may be a token: mask it. */
    check_url("https://ghp_token123@github.com/x", "https://***@github.com/x");
    /* No userinfo: unchanged. */
    check_url("http://es:9200", "http://es:9200");
    check_url("redis://redis:6379/0", "redis://redis:6379/0");
    /* '@' in the path, query or fragment is not userinfo. */
    check_url("http://host/path@x", "http://host/path@x");
    check_url("http://host?mail=a@b", "http://host?mail=a@b");
    check_url("http://host#a@b", "http://host#a@b");
    check_url("http://u:p@host/p@x", "http://u:***@host/p@x");
    check_url("http://host:9200/p@x", "http://host:9200/p@x");
    /* A password holding an unescaped '/' is still masked. */
    check_url("http://u:pa/ss@host:9200", "http://u:***@host:9200");
    check_url("http://u:a/b/c@host/p", "http://u:***@host/p");
    /* No scheme. */
    check_url("user:pw@host:1", "user:***@host:1");
    check_url("plain text", "plain text");
    check_url("", "");
    /* Empty password still hides nothing but keeps the form. */
    check_url("http://u:@h", "http://u:***@h");
}

static void check_env(const char *in, const char *want)
{
    char *m = mask_env_entry(in);
    if (strcmp(m, want) != 0)
        fail_msg("mask_env_entry('%s') = '%s', want '%s'", in, m, want);
    free(m);
}

static void test_mask_env_entry(void **state)
{
    (void)state;
    check_env("ELASTIC_PASSWORD=hunter2", "ELASTIC_PASSWORD=***");
    check_env("API_TOKEN=", "API_TOKEN=***");
    check_env("ELASTIC_HOST=http://elastic:pw@es:9200", "ELASTIC_HOST=http://elastic:***@es:9200");
    check_env("REDIS_HOST=redis://redis", "REDIS_HOST=redis://redis");
    check_env("LOGGING_LEVEL=info", "LOGGING_LEVEL=info");
    /* The first '=' separates the name; later ones are part of the value. */
    check_env("OPTS=a=b", "OPTS=a=b");
    check_env("SECRET_OPTS=a=b", "SECRET_OPTS=***");
    /* No '=' at all: left alone (nothing to mask). */
    check_env("JUSTANAME", "JUSTANAME");
}

/* Green's Redis: blue's URL with the host replaced; user, password, port, db kept. */
static void expect_redis(const char *blue, const char *want)
{
    char *got = green_redis_url(blue, "g-redis");
    assert_string_equal(got, want);
    free(got);
}

static void test_green_redis_url(void **state)
{
    (void)state;
    expect_redis(NULL, "redis://g-redis:6379");
    expect_redis("redis", "redis://g-redis:6379");
    expect_redis("redis://redis:6379", "redis://g-redis:6379");
    expect_redis("redis://redis", "redis://g-redis:6379");
    expect_redis("redis://:pw@redis:6380/2", "redis://:pw@g-redis:6380/2");
    expect_redis("rediss://user:p@ss@redis:6380", "rediss://user:p@ss@g-redis:6380");
    /* a bracketed IPv6 host has colons of its own */
    expect_redis("redis://[fd00::6]:6380/1", "redis://g-redis:6380/1");
    expect_redis("redis://[fd00::6]/1", "redis://g-redis:6379/1");
    expect_redis("redis://[fd00::6", "redis://g-redis:6379");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_names),
        cmocka_unit_test(test_mask_url),
        cmocka_unit_test(test_mask_env_entry),
        cmocka_unit_test(test_green_redis_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
