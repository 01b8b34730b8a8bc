/* test_auth.c - registry credentials: config.json, helpers, X-Registry-Auth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/auth.h"
#include "testutil.h"
#include "util/b64.h"
#include "util/xalloc.h"

/* ---- auth_plan_from_config ---- */

static int plan(const char *json, const char *key, struct auth_plan *p, struct tu_err *e)
{
    tu_err_clear(e);
    return auth_plan_from_config(json, strlen(json), key, p, e);
}

static void test_plan_cred_helpers(void **state)
{
    (void)state;
    struct auth_plan p;
    struct tu_err e;
    /* By the exact key. */
    assert_int_equal(plan("{\"credHelpers\":{\"127.0.0.1:5000\":\"ecr-login\"},\"credsStore\":\"desktop\","
                          "\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYXNz\"}}}",
                          "127.0.0.1:5000", &p, &e), 0);
    assert_string_equal(p.helper, "ecr-login");
    assert_false(reg_creds_present(&p.creds));
    reg_creds_free(&p.creds);
    /* By the host name of a Docker Hub key. */
    assert_int_equal(plan("{\"credHelpers\":{\"index.docker.io\":\"pass\"}}", "https://index.docker.io/v1/", &p, &e), 0);
    assert_string_equal(p.helper, "pass");
    assert_int_equal(plan("{\"credHelpers\":{\"https://index.docker.io/v1/\":\"osxkeychain\"}}",
                          "https://index.docker.io/v1/", &p, &e), 0);
    assert_string_equal(p.helper, "osxkeychain");
    /* Another registry's helper does not apply; credsStore does. */
    assert_int_equal(plan("{\"credHelpers\":{\"gcr.io\":\"gcloud\"},\"credsStore\":\"secretservice\"}",
                          "127.0.0.1:5000", &p, &e), 0);
    assert_string_equal(p.helper, "secretservice");
    /* A non-string entry is ignored. */
    assert_int_equal(plan("{\"credHelpers\":{\"127.0.0.1:5000\":42},\"credsStore\":\"pass\"}", "127.0.0.1:5000", &p, &e),
                     0);
    assert_string_equal(p.helper, "pass");
    /* An empty credsStore means none: auths apply. */
    assert_int_equal(plan("{\"credsStore\":\"\",\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYXNz\"}}}",
                          "127.0.0.1:5000", &p, &e), 0);
    assert_string_equal(p.helper, "");
    assert_string_equal(p.creds.username, "user");
    reg_creds_free(&p.creds);
}

static void test_plan_auths(void **state)
{
    (void)state;
    struct auth_plan p;
    struct tu_err e;
    /* "user:pass" */
    assert_int_equal(plan("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYXNz\"}}}", "127.0.0.1:5000", &p, &e), 0);
    assert_string_equal(p.helper, "");
    assert_string_equal(p.creds.username, "user");
    assert_string_equal(p.creds.password, "pass");
    assert_null(p.creds.identitytoken);
    assert_string_equal(p.creds.serveraddress, "127.0.0.1:5000");
    assert_string_equal(p.creds.source, "auths");
    assert_true(reg_creds_present(&p.creds));
    reg_creds_free(&p.creds);
    assert_null(p.creds.username);

    /* A password holding ':' keeps everything after the first one. */
    char *enc = b64_encode("deploy:pa:ss:word", 17, B64_STD);
    char json[256];
    snprintf(json, sizeof(json), "{\"auths\":{\"registry.example.com\":{\"auth\":\"%s\"}}}", enc);
    free(enc);
    assert_int_equal(plan(json, "registry.example.com", &p, &e), 0);
    assert_string_equal(p.creds.username, "deploy");
    assert_string_equal(p.creds.password, "pa:ss:word");
    reg_creds_free(&p.creds);

    /* An empty password is allowed. */
    assert_int_equal(plan("{\"auths\":{\"r.example.com\":{\"auth\":\"dXNlcjo=\"}}}", "r.example.com", &p, &e), 0);
    assert_string_equal(p.creds.username, "user");
    assert_string_equal(p.creds.password, "");
    reg_creds_free(&p.creds);

    /* A legacy key "https://host/v1/" matched by host name; serveraddress is the key found. */
    assert_int_equal(plan("{\"auths\":{\"https://other.example.com/v1/\":{\"auth\":\"eDp5\"},"
                          "\"https://registry.example.com/v1/\":{\"auth\":\"dXNlcjpwYXNz\"}}}",
                          "registry.example.com", &p, &e), 0);
    assert_string_equal(p.creds.username, "user");
    assert_string_equal(p.creds.serveraddress, "https://registry.example.com/v1/");
    reg_creds_free(&p.creds);

    /* Docker Hub's key. */
    assert_int_equal(plan("{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnNlY3JldA==\"}}}",
                          "https://index.docker.io/v1/", &p, &e), 0);
    assert_string_equal(p.creds.username, "hub");
    assert_string_equal(p.creds.password, "secret");
    reg_creds_free(&p.creds);

    /* identitytoken beside auth. */
    assert_int_equal(plan("{\"auths\":{\"r.example.com\":{\"auth\":\"dXNlcjpwYXNz\",\"identitytoken\":\"tok-123\"}}}",
                          "r.example.com", &p, &e), 0);
    assert_string_equal(p.creds.identitytoken, "tok-123");
    assert_true(reg_creds_present(&p.creds));
    reg_creds_free(&p.creds);
    /* identitytoken alone. */
    assert_int_equal(plan("{\"auths\":{\"r.example.com\":{\"identitytoken\":\"tok-456\"}}}", "r.example.com", &p, &e), 0);
    assert_null(p.creds.username);
    assert_string_equal(p.creds.identitytoken, "tok-456");
    assert_true(reg_creds_present(&p.creds));
    reg_creds_free(&p.creds);

    /* Separate username and password fields. */
    assert_int_equal(plan("{\"auths\":{\"r.example.com\":{\"username\":\"u\",\"password\":\"p\"}}}", "r.example.com",
                          &p, &e), 0);
    assert_string_equal(p.creds.username, "u");
    assert_string_equal(p.creds.password, "p");
    reg_creds_free(&p.creds);

    /* No entry for the registry: anonymous. */
    assert_int_equal(plan("{\"auths\":{\"other.example.com\":{\"auth\":\"dXNlcjpwYXNz\"}}}", "127.0.0.1:5000", &p, &e), 0);
    assert_false(reg_creds_present(&p.creds));
    assert_string_equal(p.helper, "");
    reg_creds_free(&p.creds);
    /* Port matters. */
    assert_int_equal(plan("{\"auths\":{\"127.0.0.1:5001\":{\"auth\":\"dXNlcjpwYXNz\"}}}", "127.0.0.1:5000", &p, &e), 0);
    assert_false(reg_creds_present(&p.creds));
    reg_creds_free(&p.creds);
    /* An empty entry ({}), or empty config, is anonymous. */
    assert_int_equal(plan("{\"auths\":{\"127.0.0.1:5000\":{}}}", "127.0.0.1:5000", &p, &e), 0);
    assert_false(reg_creds_present(&p.creds));
    reg_creds_free(&p.creds);
    assert_int_equal(plan("{}", "127.0.0.1:5000", &p, &e), 0);
    assert_false(reg_creds_present(&p.creds));
    /* auths of the wrong type. */
    assert_int_equal(plan("{\"auths\":[1,2]}", "127.0.0.1:5000", &p, &e), 0);
    assert_false(reg_creds_present(&p.creds));
    assert_int_equal(plan("{\"auths\":{\"127.0.0.1:5000\":\"dXNlcjpwYXNz\"}}", "127.0.0.1:5000", &p, &e), 0);
    assert_false(reg_creds_present(&p.creds));
}

static void plan_bad(const char *json, const char *want_in_msg)
{
    struct auth_plan p;
    struct tu_err e;
    memset(&p, 0, sizeof(p));
    if (plan(json, "127.0.0.1:5000", &p, &e) != -1)
        fail_msg("config accepted: %s", json);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    if (!strstr(e.msg, want_in_msg))
        fail_msg("message '%s' lacks '%s'", e.msg, want_in_msg);
    /* Nothing half-filled comes back. */
    assert_null(p.creds.username);
    assert_null(p.creds.password);
    assert_string_equal(p.helper, "");
    /* Secrets do not leak into the message. */
    assert_null(strstr(e.msg, "dXNl"));
}

static void test_plan_bad_input(void **state)
{
    (void)state;
    plan_bad("{\"auths\":", "not valid JSON");
    plan_bad("", "not valid JSON");
    plan_bad("{\"auths\":{}} trailing", "not valid JSON");
    plan_bad("[]", "not a JSON object");
    plan_bad("\"x\"", "not valid JSON");
    plan_bad("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"!!!not base64\"}}}", "not base64 of user:password");
    plan_bad("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcg==\"}}}", "not base64 of user:password"); /* "user" */
    plan_bad("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"OnBhc3M=\"}}}", "not base64 of user:password"); /* ":pass" */
    plan_bad("{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYXNz\\n\"}}}", "not base64");
    plan_bad("{\"credsStore\":\"../../bin/sh\"}", "invalid credential helper");
    plan_bad("{\"credsStore\":\"a/b\"}", "invalid credential helper");
    plan_bad("{\"credsStore\":\".hidden\"}", "invalid credential helper");
    plan_bad("{\"credsStore\":\"x y\"}", "invalid credential helper");
    plan_bad("{\"credsStore\":\"x;rm -rf /\"}", "invalid credential helper");
    plan_bad("{\"credHelpers\":{\"127.0.0.1:5000\":\"$(id)\"}}", "invalid credential helper");
    char json[256];
    char name[70];
    memset(name, 'h', 65);
    name[65] = '\0';
    snprintf(json, sizeof(json), "{\"credsStore\":\"%s\"}", name);
    plan_bad(json, "invalid credential helper");
    /* 64 characters is fine. */
    name[64] = '\0';
    snprintf(json, sizeof(json), "{\"credsStore\":\"%s\"}", name);
    struct auth_plan p;
    struct tu_err e;
    assert_int_equal(plan(json, "127.0.0.1:5000", &p, &e), 0);
    assert_string_equal(p.helper, name);
}

static void test_hostname(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"https://index.docker.io/v1/", "index.docker.io"},
        {"http://r.example.com:5000/v2/", "r.example.com:5000"},
        {"127.0.0.1:5000", "127.0.0.1:5000"},
        {"r.example.com/path", "r.example.com"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *h = auth_hostname(cases[i][0]);
        assert_string_equal(h, cases[i][1]);
        free(h);
    }
}

/* ---- helper output ---- */

static void test_parse_helper_output(void **state)
{
    (void)state;
    struct reg_creds c;
    struct tu_err e = {0};
    const char *out = "{\"ServerURL\":\"127.0.0.1:5000\",\"Username\":\"bob\",\"Secret\":\"hunter2\"}\n";
    assert_int_equal(auth_parse_helper_output(out, strlen(out), "127.0.0.1:5000", &c, &e), 0);
    assert_string_equal(c.username, "bob");
    assert_string_equal(c.password, "hunter2");
    assert_null(c.identitytoken);
    assert_string_equal(c.serveraddress, "127.0.0.1:5000");
    reg_creds_free(&c);

    out = "{\"ServerURL\":\"https://index.docker.io/v1/\",\"Username\":\"<token>\",\"Secret\":\"refresh-tok\"}";
    assert_int_equal(auth_parse_helper_output(out, strlen(out), "https://index.docker.io/v1/", &c, &e), 0);
    assert_null(c.username);
    assert_null(c.password);
    assert_string_equal(c.identitytoken, "refresh-tok");
    assert_true(reg_creds_present(&c));
    reg_creds_free(&c);

    static const char *const bad[] = {
        "", "not json", "[]", "{\"Username\":\"u\"}", "{\"Secret\":\"s\"}", "{\"Username\":1,\"Secret\":\"s\"}",
        "{\"Username\":\"u\",\"Secret\":null}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tu_err_clear(&e);
        assert_int_equal(auth_parse_helper_output(bad[i], strlen(bad[i]), "s", &c, &e), -1);
        assert_int_equal(e.kind, TU_ERR_PROTOCOL);
        assert_null(c.username);
        assert_null(c.identitytoken);
    }
}

/* ---- X-Registry-Auth ---- */

static json_t *decode_header(const char *v)
{
    size_t n = 0;
    char *raw = tt_b64url_decode(v, &n);
    assert_non_null(raw);
    json_t *j = json_loadb(raw, n, 0, NULL);
    free(raw);
    assert_non_null(j);
    return j;
}

static void test_header_value_password(void **state)
{
    (void)state;
    /* This password makes the encoding use '-', '_' and padding. */
    struct reg_creds c = {0};
    c.username = xstrdup("user");
    c.password = xstrdup("~~>??");
    c.serveraddress = xstrdup("127.0.0.1:5000");
    char *v = auth_header_value(&c);
    assert_non_null(v);
    assert_non_null(strchr(v, '-'));
    assert_non_null(strchr(v, '_'));
    assert_null(strchr(v, '+'));
    assert_null(strchr(v, '/'));
    assert_int_equal(strlen(v) % 4, 0);
    assert_int_equal(v[strlen(v) - 1], '=');
    json_t *j = decode_header(v);
    assert_int_equal(json_object_size(j), 3);
    assert_string_equal(json_string_value(json_object_get(j, "username")), "user");
    assert_string_equal(json_string_value(json_object_get(j, "password")), "~~>??");
    assert_string_equal(json_string_value(json_object_get(j, "serveraddress")), "127.0.0.1:5000");
    json_decref(j);
    free(v);
    reg_creds_free(&c);

    /* Characters JSON must escape survive the trip. */
    c.username = xstrdup("u\"ser");
    c.password = xstrdup("p\\a\"s\ns");
    v = auth_header_value(&c);
    j = decode_header(v);
    assert_int_equal(json_object_size(j), 2);  /* no serveraddress given */
    assert_string_equal(json_string_value(json_object_get(j, "username")), "u\"ser");
    assert_string_equal(json_string_value(json_object_get(j, "password")), "p\\a\"s\ns");
    json_decref(j);
    free(v);
    reg_creds_free(&c);

    /* A user without a password sends an empty one. */
    c.username = xstrdup("solo");
    v = auth_header_value(&c);
    j = decode_header(v);
    assert_string_equal(json_string_value(json_object_get(j, "password")), "");
    json_decref(j);
    free(v);
    reg_creds_free(&c);
}

static void test_header_value_token_and_anonymous(void **state)
{
    (void)state;
    struct reg_creds c = {0};
    c.username = xstrdup("ignored");
    c.password = xstrdup("ignored");
    c.identitytoken = xstrdup("eyJhbGciOi.token");
    c.serveraddress = xstrdup("https://index.docker.io/v1/");
    char *v = auth_header_value(&c);
    json_t *j = decode_header(v);
    assert_int_equal(json_object_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(j, "identitytoken")), "eyJhbGciOi.token");
    assert_string_equal(json_string_value(json_object_get(j, "serveraddress")), "https://index.docker.io/v1/");
    assert_null(json_object_get(j, "username"));
    assert_null(json_object_get(j, "password"));
    json_decref(j);
    free(v);
    reg_creds_free(&c);

    /* Anonymous: nothing to send. */
    struct reg_creds none = {0};
    assert_null(auth_header_value(&none));
    none.serveraddress = xstrdup("127.0.0.1:5000");
    none.username = xstrdup("");
    none.password = xstrdup("pw");
    none.identitytoken = xstrdup("");
    assert_false(reg_creds_present(&none));
    assert_null(auth_header_value(&none));
    reg_creds_free(&none);
    reg_creds_free(NULL);
    secret_free(NULL);
}

/* ---- helpers run for real ---- */

struct fixture {
    char *dir;
};

static int setup_dir(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->dir = tt_mkdtemp();
    const char *path = getenv("PATH");
    char *np = xasprintf("%s:%s", f->dir, path ? path : "/usr/bin:/bin");
    tt_env_set("PATH", np);
    free(np);
    *state = f;
    return 0;
}

static int teardown_dir(void **state)
{
    struct fixture *f = *state;
    tt_env_restore();
    tt_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void script(const struct fixture *f, const char *name, const char *body)
{
    char *text = xasprintf("#!/bin/sh\n%s\n", body);
    char *fname = xasprintf("docker-credential-%s", name);
    free(tt_write_file(f->dir, fname, text, 0755));
    free(fname);
    free(text);
}

static char *file_in(const struct fixture *f, const char *name)
{
    char *p = xasprintf("%s/%s", f->dir, name);
    char *s = tt_read_file(p);
    free(p);
    return s;
}

static const char good_helper[] =
    "d=$(dirname \"$0\")\n"
    "echo \"$#\" > \"$d/argc\"\n"
    "printf '%s' \"$*\" > \"$d/argv\"\n"
    "server=$(cat)\n"
    "printf '%s' \"$server\" > \"$d/stdin\"\n"
    "printf '{\"ServerURL\":\"%s\",\"Username\":\"robot\",\"Secret\":\"s3cr:et\"}\\n' \"$server\"\n";

static void test_helper_returns_creds_server_on_stdin(void **state)
{
    struct fixture *f = *state;
    script(f, "good", good_helper);
    struct reg_creds c;
    struct tu_err e = {0};
    assert_int_equal(auth_run_helper("good", "127.0.0.1:5000", &c, &e), 0);
    assert_string_equal(c.username, "robot");
    assert_string_equal(c.password, "s3cr:et");
    assert_string_equal(c.serveraddress, "127.0.0.1:5000");
    assert_string_equal(c.source, "helper docker-credential-good");
    reg_creds_free(&c);
    /* The helper got exactly one argument, "get", and the server on stdin. */
    char *argc = file_in(f, "argc"), *argv = file_in(f, "argv"), *in = file_in(f, "stdin");
    assert_non_null(argc);
    assert_string_equal(argc, "1\n");
    assert_string_equal(argv, "get");
    assert_string_equal(in, "127.0.0.1:5000");
    free(argc);
    free(argv);
    free(in);
}

static void test_helper_token(void **state)
{
    struct fixture *f = *state;
    script(f, "tok", "cat >/dev/null\nprintf '{\"Username\":\"<token>\",\"Secret\":\"id-tok\"}'");
    struct reg_creds c;
    struct tu_err e = {0};
    assert_int_equal(auth_run_helper("tok", "https://index.docker.io/v1/", &c, &e), 0);
    assert_string_equal(c.identitytoken, "id-tok");
    assert_null(c.username);
    reg_creds_free(&c);
}

static void test_helper_not_found_means_anonymous(void **state)
{
    struct fixture *f = *state;
    script(f, "none", "cat >/dev/null\necho 'credentials not found in native keychain'\nexit 1");
    script(f, "none2", "cat >/dev/null\necho 'credentials not found in native keychain' >&2\nexit 1");
    struct reg_creds c;
    struct tu_err e = {0};
    assert_int_equal(auth_run_helper("none", "127.0.0.1:5000", &c, &e), 0);
    assert_false(reg_creds_present(&c));
    assert_int_equal(e.kind, TU_ERR_NONE);
    reg_creds_free(&c);
    assert_int_equal(auth_run_helper("none2", "127.0.0.1:5000", &c, &e), 0);
    assert_false(reg_creds_present(&c));
    reg_creds_free(&c);
}

static void test_helper_failures(void **state)
{
    struct fixture *f = *state;
    struct reg_creds c;
    struct tu_err e = {0};

    script(f, "exit3", "cat >/dev/null\necho 'boom' >&2\nexit 3");
    assert_int_equal(auth_run_helper("exit3", "127.0.0.1:5000", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_IO);
    assert_non_null(strstr(e.msg, "docker-credential-exit3"));
    assert_non_null(strstr(e.msg, "exit status 3"));
    assert_false(reg_creds_present(&c));

    /* Exits at once without reading stdin. */
    script(f, "quick", "exit 4");
    tu_err_clear(&e);
    assert_int_equal(auth_run_helper("quick", "127.0.0.1:5000", &c, &e), -1);
    assert_non_null(strstr(e.msg, "exit status 4"));

    script(f, "sig", "cat >/dev/null\nkill -9 $$");
    tu_err_clear(&e);
    assert_int_equal(auth_run_helper("sig", "127.0.0.1:5000", &c, &e), -1);
    assert_non_null(strstr(e.msg, "killed by signal 9"));

    script(f, "garbage", "cat >/dev/null\necho 'this is not json'");
    tu_err_clear(&e);
    assert_int_equal(auth_run_helper("garbage", "127.0.0.1:5000", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_PROTOCOL);
    assert_non_null(strstr(e.msg, "docker-credential-garbage: "));

    script(f, "big", "cat >/dev/null\nhead -c 100000 /dev/zero | tr '\\000' a");
    tu_err_clear(&e);
    assert_int_equal(auth_run_helper("big", "127.0.0.1:5000", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_TOO_BIG);

    tu_err_clear(&e);
    assert_int_equal(auth_run_helper("missing-helper", "127.0.0.1:5000", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_IO);
    assert_non_null(strstr(e.msg, "'docker-credential-missing-helper'"));
    assert_non_null(strstr(e.msg, "not found in PATH"));
    assert_non_null(strstr(e.hint, "install it"));

    /* Present but not executable. */
    free(tt_write_file(f->dir, "docker-credential-noexec", "#!/bin/sh\nexit 0\n", 0644));
    tu_err_clear(&e);
    assert_int_equal(auth_run_helper("noexec", "127.0.0.1:5000", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_IO);
    assert_non_null(strstr(e.msg, "cannot run credential helper"));

    /* A name that could escape PATH is never run. */
    tu_err_clear(&e);
    assert_int_equal(auth_run_helper("../../bin/true", "x", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    assert_int_equal(auth_run_helper("", "x", &c, &e), -1);
}

/* ---- auth_find ---- */

static void test_find_missing_config_is_anonymous(void **state)
{
    struct fixture *f = *state;
    tt_env_set("DOCKER_CONFIG", f->dir);
    struct reg_creds c;
    struct tu_err e = {0};
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), 0);
    assert_false(reg_creds_present(&c));
    reg_creds_free(&c);
    /* Without DOCKER_CONFIG: $HOME/.docker/config.json, missing too. */
    tt_env_set("DOCKER_CONFIG", NULL);
    tt_env_set("HOME", f->dir);
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), 0);
    assert_false(reg_creds_present(&c));
    /* Neither HOME nor DOCKER_CONFIG: anonymous. */
    tt_env_set("HOME", NULL);
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), 0);
    assert_false(reg_creds_present(&c));
}

static void test_find_auths_and_home(void **state)
{
    struct fixture *f = *state;
    free(tt_write_file(f->dir, "config.json", "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYXNz\"}}}", 0600));
    tt_env_set("DOCKER_CONFIG", f->dir);
    struct reg_creds c;
    struct tu_err e = {0};
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), 0);
    assert_string_equal(c.username, "user");
    assert_string_equal(c.password, "pass");
    reg_creds_free(&c);
    assert_int_equal(auth_find("other.example.com", &c, &e), 0);
    assert_false(reg_creds_present(&c));
    reg_creds_free(&c);

    /* ~/.docker/config.json when DOCKER_CONFIG is unset. */
    char *home = xasprintf("%s/home", f->dir);
    char *dotdocker = xasprintf("%s/.docker", home);
    mkdir(home, 0700);
    mkdir(dotdocker, 0700);
    free(tt_write_file(dotdocker, "config.json", "{\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"aG9tZTp1c2Vy\"}}}", 0600));
    tt_env_set("DOCKER_CONFIG", "");
    tt_env_set("HOME", home);
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), 0);
    assert_string_equal(c.username, "home");
    assert_string_equal(c.password, "user");
    reg_creds_free(&c);
    free(home);
    free(dotdocker);
}

static void test_find_through_helper(void **state)
{
    struct fixture *f = *state;
    script(f, "good", good_helper);
    free(tt_write_file(f->dir, "config.json",
                       "{\"credsStore\":\"good\",\"auths\":{\"127.0.0.1:5000\":{\"auth\":\"dXNlcjpwYXNz\"}}}", 0600));
    tt_env_set("DOCKER_CONFIG", f->dir);
    struct reg_creds c;
    struct tu_err e = {0};
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), 0);
    assert_string_equal(c.username, "robot");
    assert_string_equal(c.source, "helper docker-credential-good");
    reg_creds_free(&c);
    char *in = file_in(f, "stdin");
    assert_string_equal(in, "127.0.0.1:5000");
    free(in);

    /* A failing helper is an error, not anonymous. */
    script(f, "bad", "exit 3");
    free(tt_write_file(f->dir, "config.json", "{\"credsStore\":\"bad\"}", 0600));
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), -1);
    assert_non_null(strstr(e.msg, "exit status 3"));
}

static void test_find_errors(void **state)
{
    struct fixture *f = *state;
    tt_env_set("DOCKER_CONFIG", f->dir);
    struct reg_creds c;
    struct tu_err e = {0};

    /* Malformed: the message names the file. */
    char *path = tt_write_file(f->dir, "config.json", "{\"auths\": nope}", 0600);
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    assert_non_null(strstr(e.msg, path));
    assert_non_null(strstr(e.msg, "not valid JSON"));
    unlink(path);

    /* Unreadable: a directory where the file should be. */
    mkdir(path, 0700);
    tu_err_clear(&e);
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE); /* the operator's configuration: exit 2 */
    assert_non_null(strstr(e.msg, "cannot read docker config"));
    assert_non_null(strstr(e.msg, "Is a directory"));
    rmdir(path);

    /* Unreadable by permissions (root reads anything, so only when not root). */
    free(tt_write_file(f->dir, "config.json", "{}", 0000));
    if (geteuid() != 0) {
        tu_err_clear(&e);
        assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), -1);
        assert_int_equal(e.kind, TU_ERR_USAGE);
        assert_non_null(strstr(e.msg, "Permission denied"));
    }
    unlink(path);

    /* Over the size cap. */
    size_t big = AUTH_CONFIG_MAX + 100;
    char *text = xmalloc(big + 1);
    memset(text, ' ', big);
    text[0] = '{';
    text[big - 1] = '}';
    text[big] = '\0';
    free(tt_write_file(f->dir, "config.json", text, 0600));
    free(text);
    tu_err_clear(&e);
    assert_int_equal(auth_find("127.0.0.1:5000", &c, &e), -1);
    assert_int_equal(e.kind, TU_ERR_USAGE);
    assert_non_null(strstr(e.msg, "larger than"));
    free(path);
}

int main(void)
{
    /* A helper that exits before reading its stdin must not kill us (as in main). */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_cred_helpers),
        cmocka_unit_test(test_plan_auths),
        cmocka_unit_test(test_plan_bad_input),
        cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_parse_helper_output),
        cmocka_unit_test(test_header_value_password),
        cmocka_unit_test(test_header_value_token_and_anonymous),
        cmocka_unit_test_setup_teardown(test_helper_returns_creds_server_on_stdin, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_helper_token, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_helper_not_found_means_anonymous, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_helper_failures, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_find_missing_config_is_anonymous, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_find_auths_and_home, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_find_through_helper, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_find_errors, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
