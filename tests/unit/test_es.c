/* test_es.c - Tracardi index names, the Elasticsearch connection from the api's
 * environment, and the REST calls against a fake Elasticsearch on 127.0.0.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "elastic/es.h"
#include "elastic/indexname.h"
#include "testutil.h"
#include "util/xalloc.h"

/* ---- index names ---- */

static void expect_index(const char *index, char kind, const char *dbv, const char *tenant, const char *name,
                         const char *part)
{
    struct tindex t;
    if (tindex_parse(index, &t) != 0)
        fail_msg("'%s' did not parse", index);
    assert_int_equal(t.prefix_kind, kind);
    assert_string_equal(t.db_version, dbv);
    assert_string_equal(t.tenant, tenant);
    assert_string_equal(t.name, name);
    assert_string_equal(t.partition, part);
    assert_string_equal(tindex_release_key(&t), dbv);
}

static void expect_not_index(const char *index)
{
    struct tindex t;
    memset(&t, 'x', sizeof(t));
    if (tindex_parse(index, &t) != -1)
        fail_msg("'%s' parsed as a Tracardi index", index ? index : "(null)");
    /* A refused name leaves nothing half-filled. */
    assert_int_equal(t.prefix_kind, 0);
    assert_string_equal(t.db_version, "");
    assert_string_equal(t.name, "");
}

static void test_index_schemes(void **state)
{
    (void)state;
    expect_index("074.75120.tracardi-event-2022-12", 0, "0.7.4", "75120", "tracardi-event", "2022-12");
    expect_index("080.fa73a.tracardi-event-2023-6", 0, "0.8.0", "fa73a", "tracardi-event", "2023-6");
    expect_index("071.abcde.tracardi-profile", 0, "0.7.1", "abcde", "tracardi-profile", "");
    expect_index("08x.01506.tracardi-profile", 0, "08x", "01506", "tracardi-profile", "");
    expect_index("08x.01506.tracardi-event-2023-11", 0, "08x", "01506", "tracardi-event", "2023-11");
    expect_index("0820.ffe49.tracardi-event-2024-3", 0, "0820", "ffe49", "tracardi-event", "2024-3");
    expect_index("prod-0820.ffe49.tracardi-event-2024-3", 'p', "0820", "ffe49", "tracardi-event", "2024-3");
    expect_index("static-0820.ffe49.tracardi-bridge", 's', "0820", "ffe49", "tracardi-bridge", "");
    expect_index("static-0820.ffe49.tracardi-event-reshaping", 's', "0820", "ffe49", "tracardi-event-reshaping", "");
    expect_index("0820.ffe49.tracardi-item-2024-year", 0, "0820", "ffe49", "tracardi-item", "2024-year");
    expect_index("prod-09x.8504a.tracardi-event-2024-q1", 'p', "09x", "8504a", "tracardi-event", "2024-q1");
    expect_index("09x.8504a.tracardi-session-2024-q4", 0, "09x", "8504a", "tracardi-session", "2024-q4");
    expect_index("082x.ffe49.tracardi-log-2024-1", 0, "082x", "ffe49", "tracardi-log", "2024-1");
    expect_index("0820.ffe49.tracardi-field-update-log-2024-10", 0, "0820", "ffe49", "tracardi-field-update-log",
                 "2024-10");
    /* day, hour, minute and second partitions run the digits together */
    expect_index("09x.8504a.tracardi-event-2024-315", 0, "09x", "8504a", "tracardi-event", "2024-315");
    expect_index("09x.8504a.tracardi-event-2024-1231235959", 0, "09x", "8504a", "tracardi-event",
                 "2024-1231235959");
    /* a suffix that is no partition stays part of the name */
    expect_index("0820.ffe49.tracardi-event-2024-q5", 0, "0820", "ffe49", "tracardi-event-2024-q5", "");
    expect_index("0820.ffe49.tracardi-event-2024-03", 0, "0820", "ffe49", "tracardi-event-2024-03", "");
    expect_index("0820.ffe49.tracardi-x-24-3", 0, "0820", "ffe49", "tracardi-x-24-3", "");
}

static void test_index_odd_names(void **state)
{
    (void)state;
    expect_not_index(NULL);
    expect_not_index("");
    expect_not_index(".kibana");
    expect_not_index(".kibana_7.13.2_001");
    expect_not_index(".ds-logs-2024");
    expect_not_index("my-index");
    expect_not_index("tracardi-license");          /* unversioned: no release owns it */
    expect_not_index("ffe49.tracardi-event");      /* an alias shape, not an index */
    expect_not_index("prod-ffe49.tracardi-event"); /* 0.8 production alias */
    /* tenant of the wrong length, wrong digits, upper case */
    expect_not_index("0820.ffe4.tracardi-event-2024-3");
    expect_not_index("0820.ffe491.tracardi-event-2024-3");
    expect_not_index("0820..tracardi-event-2024-3");
    expect_not_index("0820.ffg49.tracardi-event-2024-3");
    expect_not_index("0820.FFE49.tracardi-event-2024-3");
    expect_not_index("PROD-0820.ffe49.tracardi-event-2024-3");
    expect_not_index("0820.ffe49.Tracardi-event-2024-3");
    expect_not_index("0820.ffe49.tracardi-EVENT");
    expect_not_index("0820.ffe49.tracardi_user_log");
    /* versions */
    expect_not_index("8.ffe49.tracardi-event");
    expect_not_index("82.ffe49.tracardi-event");
    expect_not_index("08.ffe49.tracardi-event");
    expect_not_index("0x.ffe49.tracardi-event");
    expect_not_index("08y.ffe49.tracardi-event");
    expect_not_index("08xx.ffe49.tracardi-event");
    expect_not_index("08200.ffe49.tracardi-event");
    expect_not_index("v082.ffe49.tracardi-event");
    expect_not_index("0.8.2.ffe49.tracardi-event");
    expect_not_index("prod-.ffe49.tracardi-event");
    expect_not_index("prod-static-0820.ffe49.tracardi-event");
    expect_not_index("staging-0820.ffe49.tracardi-event");
    /* the name part */
    expect_not_index("0820.ffe49.other-event");
    expect_not_index("0820.ffe49.tracardi");
    expect_not_index("0820.ffe49.tracardi-");
    expect_not_index("0820.ffe49.tracardi-event-");
    expect_not_index("0820.ffe49.tracardi-2024-3");
    expect_not_index("0820.ffe49.tracardi-event.2024");
    expect_not_index("0820.ffe49.tracardi event");
    expect_not_index("0820.ffe49.");
    expect_not_index("0820.ffe49");
    expect_not_index("0820");

    /* 300 characters: over Elasticsearch's 255-byte limit */
    char big[301];
    memcpy(big, "0820.ffe49.tracardi-", 20);
    memset(big + 20, 'a', sizeof(big) - 21);
    big[300] = '\0';
    expect_not_index(big);
    /* 200 characters: a legal index name, but no Tracardi name is that long */
    big[200] = '\0';
    expect_not_index(big);
    /* the longest name that fits: 127 characters */
    char ok[11 + 127 + 1];
    memcpy(ok, "0820.ffe49.tracardi-", 20);
    memset(ok + 20, 'b', 127 - 9);
    ok[11 + 127] = '\0';
    struct tindex t;
    assert_int_equal(tindex_parse(ok, &t), 0);
    assert_int_equal(strlen(t.name), 127);
    char over[11 + 128 + 1];
    memcpy(over, ok, 11 + 127);
    over[11 + 127] = 'b';
    over[11 + 128] = '\0';
    expect_not_index(over);
}

static void test_index_pinned_tenant(void **state)
{
    (void)state;
    struct tindex t;
    const char *idx = "prod-0820.acme_shop-1.tracardi-event-2024-3";
    assert_int_equal(tindex_parse(idx, &t), -1);
    assert_int_equal(tindex_parse_pinned(idx, "acme_shop-1", &t), 0);
    assert_int_equal(t.prefix_kind, 'p');
    assert_string_equal(t.tenant, "acme_shop-1");
    assert_string_equal(t.name, "tracardi-event");
    assert_string_equal(t.partition, "2024-3");
    /* another pinned name, or none, does not match */
    assert_int_equal(tindex_parse_pinned(idx, "acme", &t), -1);
    assert_int_equal(tindex_parse_pinned(idx, "acme_shop-12", &t), -1);
    assert_int_equal(tindex_parse_pinned(idx, "", &t), -1);
    /* md5 tenants still parse when a name is pinned */
    assert_int_equal(tindex_parse_pinned("0820.ffe49.tracardi-event", "acme", &t), 0);
    assert_string_equal(t.tenant, "ffe49");
    /* a pinned name that TENANT_NAME could not hold is refused */
    assert_int_equal(tindex_parse_pinned("0820.ACME.tracardi-event", "ACME", &t), -1);
    char t32[33], t33[34];
    memset(t32, 'z', 32);
    t32[32] = '\0';
    memset(t33, 'z', 33);
    t33[33] = '\0';
    char *i32 = xasprintf("09x.%s.tracardi-event-2024-q1", t32);
    char *i33 = xasprintf("09x.%s.tracardi-event-2024-q1", t33);
    assert_int_equal(tindex_parse_pinned(i32, t32, &t), 0);
    assert_string_equal(t.tenant, t32);
    assert_int_equal(tindex_parse_pinned(i33, t33, &t), -1);
    free(i32);
    free(i33);
    assert_true(tindex_valid_tenant("a"));
    assert_true(tindex_valid_tenant("ffe49"));
    assert_false(tindex_valid_tenant(NULL));
    assert_false(tindex_valid_tenant(""));
    assert_false(tindex_valid_tenant("a.b"));
    assert_false(tindex_valid_tenant("A"));
}

/* ---- the connection from the api container's environment ---- */

struct kv {
    const char *k, *v;
};

struct envt {
    const struct kv *vars;
    const char *from, *to; /* the resolver maps from -> to */
    int calls;
    char asked[128];
};

static const char *env_get(void *ud, const char *name)
{
    struct envt *e = ud;
    for (const struct kv *p = e->vars; p && p->k; p++)
        if (strcmp(p->k, name) == 0)
            return p->v;
    return NULL;
}

static const char *resolve(void *ud, const char *host)
{
    struct envt *e = ud;
    e->calls++;
    snprintf(e->asked, sizeof(e->asked), "%s", host);
    return e->from && strcmp(host, e->from) == 0 ? e->to : NULL;
}

/* Builds from vars (NULL-terminated pairs) and checks the base URL. */
static void expect_base(const struct kv *vars, const char *base)
{
    struct envt e = {vars, NULL, NULL, 0, ""};
    struct es_conn c;
    struct tu_err err;
    tu_err_clear(&err);
    if (es_conn_from_env(&c, env_get, &e, NULL, &err) != 0)
        fail_msg("expected %s, got error: %s", base, err.msg);
    assert_string_equal(c.base, base);
    assert_int_equal(c.timeout_ms, ES_DEFAULT_TIMEOUT_MS);
    es_conn_free(&c);
}

static void expect_bad(const struct kv *vars, const char *needle)
{
    struct envt e = {vars, NULL, NULL, 0, ""};
    struct es_conn c;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), -1);
    assert_int_equal(err.kind, TU_ERR_USAGE);
    assert_null(c.base);
    assert_null(c.password);
    if (needle && !strstr(err.msg, needle))
        fail_msg("'%s' does not mention '%s'", err.msg, needle);
}

#define HOST(v) ((const struct kv[]){{"ELASTIC_HOST", v}, {NULL, NULL}})

static void test_conn_hosts(void **state)
{
    (void)state;
    expect_base((const struct kv[]){{NULL, NULL}}, "http://localhost:9200");
    expect_base(HOST("elasticsearch"), "http://elasticsearch:9200");
    expect_base(HOST("elasticsearch:9201"), "http://elasticsearch:9201");
    expect_base(HOST("http://elasticsearch"), "http://elasticsearch:9200");
    expect_base(HOST("HTTPS://es.example.com:9243/"), "https://es.example.com:9243");
    expect_base(HOST("http://proxy:8080/es/"), "http://proxy:8080/es");
    expect_base(HOST("es1:9200,es2:9200"), "http://es1:9200");
    expect_base(HOST("  es1 , es2"), "http://es1:9200");
    expect_base(HOST("10.0.0.7"), "http://10.0.0.7:9200");
    expect_base(HOST("[::1]:9201"), "http://[::1]:9201");
    expect_base(HOST("[fd00::2]"), "http://[fd00::2]:9200");
    expect_base(((const struct kv[]){{"ELASTIC_HOST", "elasticsearch"}, {"ELASTIC_SCHEME", "https"}, {NULL, NULL}}),
                "https://elasticsearch:9200");
    expect_base(((const struct kv[]){{"ELASTIC_HOST", "elasticsearch"}, {"ELASTIC_SCHEME", "HTTPS"}, {NULL, NULL}}),
                "https://elasticsearch:9200");
    expect_base(((const struct kv[]){{"ELASTIC_HOST", "elasticsearch"}, {"ELASTIC_SCHEME", ""}, {NULL, NULL}}),
                "http://elasticsearch:9200");
    /* a scheme in the URL wins over ELASTIC_SCHEME */
    expect_base(
        ((const struct kv[]){{"ELASTIC_HOST", "http://elasticsearch"}, {"ELASTIC_SCHEME", "https"}, {NULL, NULL}}),
        "http://elasticsearch:9200");

    expect_bad(HOST(""), "no host");
    expect_bad(HOST(",es2"), "no host");
    expect_bad(HOST("   "), "no host");
    expect_bad(HOST("es:0"), "port");
    expect_bad(HOST("es:65536"), "port");
    expect_bad(HOST("es:"), "port");
    expect_bad(HOST("es:92a0"), "port");
    expect_bad(HOST("es:9200:1"), NULL);
    expect_bad(HOST("::1"), NULL);
    expect_bad(HOST("[::1"), NULL);
    expect_bad(HOST("[::1]x"), NULL);
    expect_bad(HOST("ftp://es:21"), "scheme");
    expect_bad(HOST("http://"), NULL);
    expect_bad(HOST("http://es:9200?x=1"), "query");
    expect_bad(HOST("es host"), NULL);
    expect_bad(((const struct kv[]){{"ELASTIC_HOST", "es"}, {"ELASTIC_SCHEME", "ftp"}, {NULL, NULL}}),
               "ELASTIC_SCHEME");
    char *longhost = xmalloc(2001);
    memset(longhost, 'a', 2000);
    longhost[2000] = '\0';
    expect_bad(HOST(longhost), "too long");
    free(longhost);
}

static void test_conn_credentials(void **state)
{
    (void)state;
    struct es_conn c;
    struct tu_err err;
    tu_err_clear(&err);

    /* userinfo in the URL: taken as credentials, removed from base, %-decoded,
     * and it wins over ELASTIC_HTTP_AUTH_* */
    const struct kv v1[] = {{"ELASTIC_HOST", "https://elastic:s%40cr%3At@elasticsearch:9200"},
                            {"ELASTIC_HTTP_AUTH_USERNAME", "other"},
                            {"ELASTIC_HTTP_AUTH_PASSWORD", "otherpw"},
                            {NULL, NULL}};
    struct envt e = {v1, NULL, NULL, 0, ""};
    assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), 0);
    assert_string_equal(c.base, "https://elasticsearch:9200");
    assert_string_equal(c.user, "elastic");
    assert_string_equal(c.password, "s@cr:t");
    assert_null(c.api_key);
    assert_int_equal(c.insecure, 0);
    char *d = es_conn_describe(&c);
    assert_null(strstr(d, "s@cr"));
    assert_non_null(strstr(d, "basic auth as 'elastic'"));
    free(d);
    es_conn_free(&c);
    assert_null(c.base);

    /* a user without a password in the URL */
    const struct kv v2[] = {{"ELASTIC_HOST", "http://reader@es"}, {NULL, NULL}};
    e.vars = v2;
    assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), 0);
    assert_string_equal(c.base, "http://es:9200");
    assert_string_equal(c.user, "reader");
    assert_null(c.password);
    es_conn_free(&c);

    /* environment credentials: the username defaults to elastic */
    const struct kv v3[] = {{"ELASTIC_HOST", "es"}, {"ELASTIC_HTTP_AUTH_PASSWORD", "pw"}, {NULL, NULL}};
    e.vars = v3;
    assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), 0);
    assert_string_equal(c.user, "elastic");
    assert_string_equal(c.password, "pw");
    es_conn_free(&c);

    /* a username alone is not used, as in tracardi-api */
    const struct kv v4[] = {{"ELASTIC_HOST", "es"}, {"ELASTIC_HTTP_AUTH_USERNAME", "bob"}, {NULL, NULL}};
    e.vars = v4;
    assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), 0);
    assert_null(c.user);
    assert_null(c.password);
    d = es_conn_describe(&c);
    assert_string_equal(d, "http://es:9200 (no auth)");
    free(d);
    es_conn_free(&c);

    /* API key: both parts needed */
    const struct kv v5[] = {{"ELASTIC_HOST", "es"},
                            {"ELASTIC_API_KEY_ID", "VuaCfGcBCdbkQm-e5aOx"},
                            {"ELASTIC_API_KEY", "ui2lp2axTNmsyakw9tvNnw"},
                            {"ELASTIC_CA_FILE", "/etc/ssl/es-ca.pem"},
                            {NULL, NULL}};
    e.vars = v5;
    assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), 0);
    assert_string_equal(c.api_key, "VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw");
    assert_string_equal(c.ca_file, "/etc/ssl/es-ca.pem");
    d = es_conn_describe(&c);
    assert_null(strstr(d, "ui2lp2"));
    assert_non_null(strstr(d, "api key"));
    free(d);
    es_conn_free(&c);
    const struct kv v6[] = {{"ELASTIC_HOST", "es"}, {"ELASTIC_API_KEY", "k"}, {NULL, NULL}};
    e.vars = v6;
    assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), 0);
    assert_null(c.api_key);
    assert_null(c.ca_file);
    es_conn_free(&c);

    /* a bad host must not echo the password */
    const struct kv v7[] = {{"ELASTIC_HOST", "http://u:topsecret@es:99999"}, {NULL, NULL}};
    e.vars = v7;
    assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), -1);
    assert_null(strstr(err.msg, "topsecret"));
    assert_non_null(strstr(err.msg, "ELASTIC_HOST"));
}

static void test_conn_verify_flags(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        int insecure;
    } t[] = {{NULL, 0},    {"yes", 0},  {"true", 0}, {"1", 0},     {"", 0},   {"maybe", 0},
             {"no", 1},    {"No", 1},   {"NO", 1},   {"false", 1}, {"False", 1}, {"0", 1}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const struct kv vars[] = {{"ELASTIC_HOST", "https://es:9200"}, {"ELASTIC_VERIFY_CERTS", t[i].v}, {NULL, NULL}};
        struct envt e = {vars, NULL, NULL, 0, ""};
        struct es_conn c;
        struct tu_err err;
        assert_int_equal(es_conn_from_env(&c, env_get, &e, NULL, &err), 0);
        if (c.insecure != t[i].insecure)
            fail_msg("ELASTIC_VERIFY_CERTS=%s gave insecure=%d", t[i].v ? t[i].v : "(unset)", c.insecure);
        if (c.insecure) {
            char *d = es_conn_describe(&c);
            assert_non_null(strstr(d, "tls verification off"));
            free(d);
        }
        es_conn_free(&c);
    }
}

static void test_conn_resolver(void **state)
{
    (void)state;
    struct es_conn c;
    struct tu_err err;
    const struct kv vars[] = {{"ELASTIC_HOST", "http://elastic:pw@elasticsearch:9200,es2"}, {NULL, NULL}};
    struct envt e = {vars, "elasticsearch", "172.18.0.3", 0, ""};
    assert_int_equal(es_conn_from_env(&c, env_get, &e, resolve, &err), 0);
    assert_int_equal(e.calls, 1);
    assert_string_equal(e.asked, "elasticsearch"); /* the bare name: no port, no userinfo */
    assert_string_equal(c.base, "http://172.18.0.3:9200");
    assert_string_equal(c.password, "pw");
    es_conn_free(&c);

    /* an unknown name stays */
    e.from = "other";
    assert_int_equal(es_conn_from_env(&c, env_get, &e, resolve, &err), 0);
    assert_string_equal(c.base, "http://elasticsearch:9200");
    es_conn_free(&c);

    /* an IPv6 answer gets brackets; a port given stays */
    const struct kv v6[] = {{"ELASTIC_HOST", "elasticsearch:9300"}, {NULL, NULL}};
    struct envt e6 = {v6, "elasticsearch", "fd00::3", 0, ""};
    assert_int_equal(es_conn_from_env(&c, env_get, &e6, resolve, &err), 0);
    assert_string_equal(c.base, "http://[fd00::3]:9300");
    es_conn_free(&c);

    /* a literal IPv6 host is handed over without its brackets */
    const struct kv vb[] = {{"ELASTIC_HOST", "[fd00::9]"}, {NULL, NULL}};
    struct envt eb = {vb, "fd00::9", "10.1.2.3", 0, ""};
    assert_int_equal(es_conn_from_env(&c, env_get, &eb, resolve, &err), 0);
    assert_string_equal(c.base, "http://10.1.2.3:9200");
    es_conn_free(&c);

    /* nonsense from the resolver is refused */
    struct envt ebad = {vars, "elasticsearch", "10.0.0.1/evil", 0, ""};
    assert_int_equal(es_conn_from_env(&c, env_get, &ebad, resolve, &err), -1);
    assert_int_equal(err.kind, TU_ERR_USAGE);
    assert_null(c.base);
}

static void test_conn_from_url(void **state)
{
    (void)state;
    struct es_conn c;
    struct tu_err err;
    assert_int_equal(es_conn_from_url(&c, "127.0.0.1:9200", &err), 0);
    assert_string_equal(c.base, "http://127.0.0.1:9200");
    es_conn_free(&c);
    assert_int_equal(es_conn_from_url(&c, "https://a:b@es", &err), 0);
    assert_string_equal(c.base, "https://es:9200");
    assert_string_equal(c.user, "a");
    assert_string_equal(c.password, "b");
    es_conn_free(&c);
    assert_int_equal(es_conn_from_url(&c, "es1,es2", &err), -1);
    assert_int_equal(es_conn_from_url(&c, "", &err), -1);
    assert_int_equal(es_conn_from_url(&c, NULL, &err), -1);
    es_conn_free(NULL);
}

/* ---- a fake Elasticsearch on 127.0.0.1 ---- */

#define FAKE_ROUTES 8

struct route {
    char method[8];
    char prefix[256];
    char *response; /* raw HTTP */
    size_t len;
    long stall_ms;  /* answer nothing for this long, then close */
};

struct fake_es {
    int sock;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    int stop;
    struct route routes[FAKE_ROUTES];
    size_t nroutes;
    int nreq;
    char last_method[16];
    char last_target[1024];
    char last_auth[512];
};

static struct fake_es *g_es;

static int fake_stopping(struct fake_es *f)
{
    pthread_mutex_lock(&f->mu);
    int s = f->stop;
    pthread_mutex_unlock(&f->mu);
    return s;
}

static void send_all(int s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(s, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Reads one request head; the client sends no bodies here. */
static void fake_serve(struct fake_es *f, int s)
{
    char buf[8192];
    size_t len = 0;
    long deadline = tt_now_ms() + 3000;
    buf[0] = '\0';
    while (!strstr(buf, "\r\n\r\n")) {
        if (len + 1 >= sizeof(buf) || tt_now_ms() > deadline || fake_stopping(f))
            return;
        struct pollfd p = {s, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t n = recv(s, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
    }
    char method[16] = "", target[1024] = "", auth[512] = "";
    sscanf(buf, "%15s %1023s", method, target);
    for (char *h = strstr(buf, "\r\n"); h && h[2]; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Authorization: ", 15) == 0) {
            const char *v = h + 17;
            size_t vn = strcspn(v, "\r\n");
            if (vn < sizeof(auth)) {
                memcpy(auth, v, vn);
                auth[vn] = '\0';
            }
        }

    char *resp = NULL;
    size_t rlen = 0;
    long stall = 0;
    pthread_mutex_lock(&f->mu);
    f->nreq++;
    memcpy(f->last_method, method, sizeof(method));
    memcpy(f->last_target, target, sizeof(target));
    memcpy(f->last_auth, auth, sizeof(auth));
    for (size_t i = 0; i < f->nroutes; i++) {
        struct route *r = &f->routes[i];
        if (strcmp(r->method, method) == 0 && strncmp(target, r->prefix, strlen(r->prefix)) == 0) {
            resp = xstrndup(r->response, r->len);
            rlen = r->len;
            stall = r->stall_ms;
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    if (stall > 0) {
        for (long t = 0; t < stall && !fake_stopping(f); t += 10)
            tt_sleep_ms(10);
    } else if (resp) {
        send_all(s, resp, rlen);
    } else {
        static const char nf[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send_all(s, nf, sizeof(nf) - 1);
    }
    free(resp);
}

static void *fake_main(void *ud)
{
    struct fake_es *f = ud;
    while (!fake_stopping(f)) {
        struct pollfd p = {f->sock, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int s = accept(f->sock, NULL, NULL);
        if (s < 0)
            continue;
        struct timeval tv = {2, 0};
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        fake_serve(f, s);
        shutdown(s, SHUT_RDWR);
        close(s);
    }
    return NULL;
}

static void fake_clear(struct fake_es *f)
{
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nroutes; i++)
        free(f->routes[i].response);
    f->nroutes = 0;
    f->nreq = 0;
    f->last_method[0] = f->last_target[0] = f->last_auth[0] = '\0';
    pthread_mutex_unlock(&f->mu);
}

static void fake_route_stall(struct fake_es *f, const char *method, const char *prefix, int status,
                             const char *body, long stall_ms)
{
    pthread_mutex_lock(&f->mu);
    assert_true(f->nroutes < FAKE_ROUTES);
    struct route *r = &f->routes[f->nroutes++];
    snprintf(r->method, sizeof(r->method), "%s", method);
    snprintf(r->prefix, sizeof(r->prefix), "%s", prefix);
    r->response = xasprintf("HTTP/1.1 %d X\r\nContent-Type: application/json; charset=UTF-8\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                            status, strlen(body), body);
    r->len = strlen(r->response);
    r->stall_ms = stall_ms;
    pthread_mutex_unlock(&f->mu);
}

static void fake_route(struct fake_es *f, const char *method, const char *prefix, int status, const char *body)
{
    fake_route_stall(f, method, prefix, status, body, 0);
}

static int fake_start(void **state)
{
    (void)state;
    struct fake_es *f = xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    f->sock = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->sock >= 0);
    int one = 1;
    setsockopt(f->sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    assert_int_equal(bind(f->sock, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(f->sock, 16), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(f->sock, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
    g_es = f;
    return 0;
}

static int fake_stop(void **state)
{
    (void)state;
    struct fake_es *f = g_es;
    pthread_mutex_lock(&f->mu);
    f->stop = 1;
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    close(f->sock);
    fake_clear(f);
    pthread_mutex_destroy(&f->mu);
    free(f);
    g_es = NULL;
    return 0;
}

/* Each test starts with no routes and a connection to the fake. */
static int each_setup(void **state)
{
    fake_clear(g_es);
    struct es_conn *c = xcalloc(1, sizeof(*c));
    char *url = xasprintf("http://127.0.0.1:%d", g_es->port);
    struct tu_err err;
    assert_int_equal(es_conn_from_url(c, url, &err), 0);
    free(url);
    c->timeout_ms = 3000;
    *state = c;
    return 0;
}

static int each_teardown(void **state)
{
    struct es_conn *c = *state;
    es_conn_free(c);
    free(c);
    return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* ---- the calls ---- */

static void test_health(void **state)
{
    struct es_conn *c = *state;
    fake_route(g_es, "GET", "/_cluster/health", 200,
               "{\"cluster_name\":\"docker-cluster\",\"status\":\"yellow\",\"timed_out\":false,"
               "\"number_of_nodes\":1,\"number_of_data_nodes\":1,\"active_primary_shards\":87,"
               "\"active_shards\":87,\"relocating_shards\":0,\"initializing_shards\":0,"
               "\"unassigned_shards\":12,\"delayed_unassigned_shards\":0,\"number_of_pending_tasks\":0,"
               "\"number_of_in_flight_fetch\":0,\"task_max_waiting_in_queue_millis\":0,"
               "\"active_shards_percent_as_number\":87.87878787878788}");
    struct es_health h;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(es_health(c, &h, &err), 0);
    assert_string_equal(h.status, "yellow");
    assert_string_equal(h.cluster_name, "docker-cluster");
    assert_int_equal(h.number_of_nodes, 1);
    assert_int_equal(h.number_of_data_nodes, 1);
    assert_int_equal(h.active_shards, 87);
    assert_int_equal(h.active_primary_shards, 87);
    assert_int_equal(h.unassigned_shards, 12);
    assert_string_equal(g_es->last_method, "GET");
    assert_string_equal(g_es->last_target, "/_cluster/health");
    assert_string_equal(g_es->last_auth, ""); /* no credentials, no header */
}

static void test_health_malformed(void **state)
{
    struct es_conn *c = *state;
    struct es_health h;
    struct tu_err err;
    static const char *const bodies[] = {
        "{\"status\":\"green\",\"number_of_nodes\":1",               /* cut off */
        "[1,2,3]",                                                  /* not an object */
        "{\"status\":\"green\",\"number_of_nodes\":1}",              /* missing counts */
        "{\"status\":7,\"number_of_nodes\":1,\"number_of_data_nodes\":1,\"active_shards\":1}",
        "{\"status\":\"green\",\"number_of_nodes\":-1,\"number_of_data_nodes\":1,\"active_shards\":1}",
        "{\"status\":\"greeeeeeeeeeeeeeeeeeen\",\"number_of_nodes\":1,\"number_of_data_nodes\":1,\"active_shards\":1}",
        "",
        "<html>bad gateway</html>",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        fake_clear(g_es);
        fake_route(g_es, "GET", "/_cluster/health", 200, bodies[i]);
        tu_err_clear(&err);
        assert_int_equal(es_health(c, &h, &err), -1);
        if (err.kind != TU_ERR_PROTOCOL)
            fail_msg("body %zu: kind %s (%s)", i, tu_err_kind_name(err.kind), err.msg);
        assert_string_equal(h.status, "");
    }
}

static void expect_max_shards(struct es_conn *c, const char *body, long want, const char *want_source)
{
    fake_clear(g_es);
    fake_route(g_es, "GET", "/_cluster/settings", 200, body);
    long n = 0;
    const char *src = NULL;
    struct tu_err err;
    tu_err_clear(&err);
    if (es_max_shards_per_node(c, &n, &src, &err) != 0)
        fail_msg("%s: %s", body, err.msg);
    assert_int_equal(n, want);
    assert_string_equal(src, want_source);
    assert_string_equal(g_es->last_target, "/_cluster/settings?include_defaults=true&flat_settings=true");
}

static void test_max_shards(void **state)
{
    struct es_conn *c = *state;
    expect_max_shards(c,
                      "{\"persistent\":{},\"transient\":{},\"defaults\":{\"cluster.max_shards_per_node\":\"1000\","
                      "\"cluster.max_shards_per_node.frozen\":\"3000\",\"cluster.name\":\"docker-cluster\"}}",
                      1000, "defaults");
    expect_max_shards(c,
                      "{\"persistent\":{\"cluster.max_shards_per_node\":\"2000\"},\"transient\":{},"
                      "\"defaults\":{\"cluster.max_shards_per_node\":\"1000\"}}",
                      2000, "persistent");
    expect_max_shards(c,
                      "{\"persistent\":{\"cluster.max_shards_per_node\":\"2000\"},"
                      "\"transient\":{\"cluster.max_shards_per_node\":\"3000\"},"
                      "\"defaults\":{\"cluster.max_shards_per_node\":\"1000\"}}",
                      3000, "transient");
    expect_max_shards(c,
                      "{\"transient\":{\"cluster.max_shards_per_node\":\"500\"},"
                      "\"defaults\":{\"cluster.max_shards_per_node\":\"1000\"}}",
                      500, "transient");
    /* nothing says: Elasticsearch's own default */
    expect_max_shards(c, "{\"persistent\":{},\"transient\":{}}", 1000, "builtin");
    expect_max_shards(c, "{}", 1000, "builtin");
    /* a number instead of a string, and nested settings when flat_settings was ignored */
    expect_max_shards(c, "{\"persistent\":{\"cluster.max_shards_per_node\":1500}}", 1500, "persistent");
    expect_max_shards(c,
                      "{\"persistent\":{\"cluster\":{\"max_shards_per_node\":\"2500\"}},"
                      "\"defaults\":{\"cluster\":{\"max_shards_per_node\":\"1000\"}}}",
                      2500, "persistent");
    /* a null (a reset setting) falls through */
    expect_max_shards(c,
                      "{\"transient\":{\"cluster.max_shards_per_node\":null},"
                      "\"persistent\":{\"cluster.max_shards_per_node\":\"1200\"}}",
                      1200, "persistent");

    static const char *const bad[] = {
        "{\"persistent\":{\"cluster.max_shards_per_node\":\"lots\"}}",
        "{\"persistent\":{\"cluster.max_shards_per_node\":\"0\"}}",
        "{\"persistent\":{\"cluster.max_shards_per_node\":\"-5\"}}",
        "{\"persistent\":{\"cluster.max_shards_per_node\":\"99999999999999\"}}",
        "[]",
        "{\"persistent\":",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake_clear(g_es);
        fake_route(g_es, "GET", "/_cluster/settings", 200, bad[i]);
        long n = 0;
        struct tu_err err;
        assert_int_equal(es_max_shards_per_node(c, &n, NULL, &err), -1);
        assert_int_equal(err.kind, TU_ERR_PROTOCOL);
    }
}

static void test_indices(void **state)
{
    struct es_conn *c = *state;
    /* as 7.13 answers: every value a string; a closed index has nulls */
    fake_route(g_es, "GET", "/_cat/indices", 200,
               "[{\"health\":\"yellow\",\"status\":\"open\",\"index\":\"prod-0820.ffe49.tracardi-event-2024-3\","
               "\"pri\":\"3\",\"rep\":\"1\",\"docs.count\":\"120345\",\"store.size\":\"73400320\"},"
               "{\"health\":\"green\",\"status\":\"open\",\"index\":\".kibana_1\",\"uuid\":\"x\","
               "\"pri\":\"1\",\"rep\":\"0\",\"docs.count\":\"4\",\"docs.deleted\":\"0\",\"store.size\":\"20480\","
               "\"pri.store.size\":\"20480\"},"
               "{\"health\":null,\"status\":\"close\",\"index\":\"074.75120.tracardi-event-2022-12\","
               "\"pri\":\"5\",\"rep\":\"1\",\"docs.count\":null,\"store.size\":null},"
               "{\"health\":\"red\",\"status\":\"open\",\"index\":\"09x.8504a.tracardi-profile-2024-q1\","
               "\"pri\":2,\"rep\":2,\"docs.count\":0,\"store.size\":\"0\"}]");
    struct es_index *v = NULL;
    size_t n = 0;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(es_indices(c, &v, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_contains(g_es->last_target, "/_cat/indices?format=json&bytes=b&expand_wildcards=all");
    assert_string_equal(v[0].name, "prod-0820.ffe49.tracardi-event-2024-3");
    assert_string_equal(v[0].health, "yellow");
    assert_string_equal(v[0].status, "open");
    assert_int_equal(v[0].pri, 3);
    assert_int_equal(v[0].rep, 1);
    assert_int_equal(v[0].docs_count, 120345);
    assert_int_equal(v[0].store_bytes, 73400320);
    assert_string_equal(v[2].status, "close");
    assert_string_equal(v[2].health, "");
    assert_int_equal(v[2].docs_count, -1);
    assert_int_equal(v[2].store_bytes, -1);
    assert_int_equal(v[3].pri, 2);
    assert_int_equal(v[3].docs_count, 0);
    /* 3*2 + 1*1 + (closed: none) + 2*3 */
    assert_int_equal(es_shards_open(v, n), 13);
    free(v);

    /* none */
    fake_clear(g_es);
    fake_route(g_es, "GET", "/_cat/indices", 200, "[]");
    assert_int_equal(es_indices(c, &v, &n, &err), 0);
    assert_null(v);
    assert_int_equal(n, 0);
    assert_int_equal(es_shards_open(NULL, 0), 0);
}

static void test_indices_malformed(void **state)
{
    struct es_conn *c = *state;
    static const char *const bad[] = {
        "{\"index\":\"x\"}",
        "[{\"health\":\"green\",\"status\":\"open\",\"index\":\"a\",\"rep\":\"1\"}]",        /* no pri */
        "[{\"health\":\"green\",\"status\":\"open\",\"index\":\"a\",\"pri\":\"x\",\"rep\":\"1\"}]",
        "[{\"health\":\"green\",\"status\":\"open\",\"index\":\"a\",\"pri\":\"1\",\"rep\":\"-1\"}]",
        "[{\"health\":\"green\",\"status\":\"open\",\"pri\":\"1\",\"rep\":\"1\"}]",          /* no name */
        "[{\"health\":\"green\",\"status\":\"open\",\"index\":\"a\",\"pri\":\"1\",\"rep\":\"1\","
        "\"docs.count\":\"1e3\"}]",
        "[{\"health\":\"green\",\"status\":\"open\",\"index\":\"a\",\"pri\":\"1\",\"rep\":\"1\","
        "\"store.size\":\"12kb\"}]",
        "[\"a\"]",
        "[{\"health\":\"green\",\"status\":\"open\",\"index\":\"a\",\"pri\":\"1\",\"rep\":\"1\"},",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake_clear(g_es);
        fake_route(g_es, "GET", "/_cat/indices", 200, bad[i]);
        struct es_index *v = (struct es_index *)&v;
        size_t n = 99;
        struct tu_err err;
        tu_err_clear(&err);
        assert_int_equal(es_indices(c, &v, &n, &err), -1);
        if (err.kind != TU_ERR_PROTOCOL)
            fail_msg("body %zu: kind %s (%s)", i, tu_err_kind_name(err.kind), err.msg);
        assert_null(v);
        assert_int_equal(n, 0);
    }
    /* a name longer than Elasticsearch allows */
    char *name = xmalloc(301);
    memset(name, 'a', 300);
    name[300] = '\0';
    char *body = xasprintf("[{\"health\":\"green\",\"status\":\"open\",\"index\":\"%s\",\"pri\":\"1\",\"rep\":\"1\"}]",
                           name);
    fake_clear(g_es);
    fake_route(g_es, "GET", "/_cat/indices", 200, body);
    struct es_index *v = NULL;
    size_t n = 0;
    struct tu_err err;
    assert_int_equal(es_indices(c, &v, &n, &err), -1);
    assert_int_equal(err.kind, TU_ERR_PROTOCOL);
    free(body);
    free(name);
}

static void test_shards_open(void **state)
{
    (void)state;
    struct es_index v[3];
    memset(v, 0, sizeof(v));
    snprintf(v[0].status, sizeof(v[0].status), "open");
    v[0].pri = 1;
    v[0].rep = 0;
    snprintf(v[1].status, sizeof(v[1].status), "close");
    v[1].pri = 100;
    v[1].rep = 100;
    snprintf(v[2].status, sizeof(v[2].status), "open");
    v[2].pri = LONG_MAX;
    v[2].rep = LONG_MAX;
    assert_int_equal(es_shards_open(v, 2), 1);
    assert_true(es_shards_open(v, 3) == INT64_MAX); /* saturates */
}

static void test_count(void **state)
{
    struct es_conn *c = *state;
    fake_route(g_es, "GET", "/prod-0820.ffe49.tracardi-event-*/_count", 200,
               "{\"count\":4521,\"_shards\":{\"total\":3,\"successful\":3,\"skipped\":0,\"failed\":0}}");
    int64_t n = -1;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(es_count(c, "prod-0820.ffe49.tracardi-event-*", &n, &err), 0);
    assert_int_equal(n, 4521);
    assert_string_equal(g_es->last_target, "/prod-0820.ffe49.tracardi-event-*/_count");

    /* odd bytes are escaped; path-breaking ones refused before any request */
    fake_clear(g_es);
    fake_route(g_es, "GET", "/", 200, "{\"count\":0}");
    assert_int_equal(es_count(c, "a%b", &n, &err), 0);
    assert_string_equal(g_es->last_target, "/a%25b/_count");
    static const char *const bad[] = {"", "a/b", "a?b", "a#b", "a b", "../_cluster/settings", "a\nb"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fake_clear(g_es);
        assert_int_equal(es_count(c, bad[i], &n, &err), -1);
        assert_int_equal(err.kind, TU_ERR_USAGE);
        assert_int_equal(g_es->nreq, 0);
    }
    assert_int_equal(es_count(c, NULL, &n, &err), -1);

    /* an answer without a count */
    fake_clear(g_es);
    fake_route(g_es, "GET", "/x/_count", 200, "{\"_shards\":{}}");
    assert_int_equal(es_count(c, "x", &n, &err), -1);
    assert_int_equal(err.kind, TU_ERR_PROTOCOL);
}

static void test_count_404(void **state)
{
    struct es_conn *c = *state;
    /* the real shape of Elasticsearch 7.x's answer */
    fake_route(g_es, "GET", "/nope/_count", 404,
               "{\"error\":{\"root_cause\":[{\"type\":\"index_not_found_exception\",\"reason\":\"no such index "
               "[nope]\",\"resource.type\":\"index_or_alias\",\"resource.id\":\"nope\",\"index_uuid\":\"_na_\","
               "\"index\":\"nope\"}],\"type\":\"index_not_found_exception\",\"reason\":\"no such index [nope]\","
               "\"resource.type\":\"index_or_alias\",\"resource.id\":\"nope\",\"index_uuid\":\"_na_\","
               "\"index\":\"nope\"},\"status\":404}");
    int64_t n = -1;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(es_count(c, "nope", &n, &err), -1);
    assert_int_equal(err.kind, TU_ERR_NOT_FOUND);
    assert_int_equal(err.status, 404);
    assert_int_equal(n, 0);
    assert_contains(err.msg, "HTTP 404");
    assert_contains(err.msg, "index_not_found_exception");
    assert_contains(err.msg, "no such index [nope]");

    /* es_count_or_absent: Elasticsearch's own "no such index" holds nothing… */
    n = -1;
    tu_err_clear(&err);
    assert_int_equal(es_count_or_absent(c, "nope", &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(err.kind, TU_ERR_NONE);
    fake_route(g_es, "GET", "/seven/_count", 200, "{\"count\":7}");
    assert_int_equal(es_count_or_absent(c, "seven", &n, &err), 0);
    assert_int_equal(n, 7);
    /* …but a 404 from something else (a proxy, even for an index named like the
     * exception) and any other failure are errors, never a zero. */
    fake_route(g_es, "GET", "/proxied/_count", 404, "404 page not found");
    fake_route(g_es, "GET", "/index_not_found_exception/_count", 404, "{\"error\":\"not here\"}");
    static const char *const not_absent[] = {"proxied", "index_not_found_exception", "unrouted"};
    for (size_t i = 0; i < sizeof(not_absent) / sizeof(not_absent[0]); i++) {
        n = -1;
        tu_err_clear(&err);
        assert_int_equal(es_count_or_absent(c, not_absent[i], &n, &err), -1);
        assert_int_equal(err.kind, i < 2 ? TU_ERR_NOT_FOUND : TU_ERR_HTTP);
        assert_int_equal(n, 0);
    }
}

static void test_errors(void **state)
{
    struct es_conn *c = *state;
    struct es_health h;
    struct tu_err err;

    /* 401 from a secured cluster, with credentials that must not leak */
    c->user = xstrdup("elastic");
    c->password = xstrdup("hunter2-secret");
    fake_route(g_es, "GET", "/_cluster/health", 401,
               "{\"error\":{\"root_cause\":[{\"type\":\"security_exception\",\"reason\":\"unable to authenticate "
               "user [elastic] for REST request [/_cluster/health]\",\"header\":{\"WWW-Authenticate\":"
               "\"Basic realm=\\\"security\\\" charset=\\\"UTF-8\\\"\"}}],\"type\":\"security_exception\","
               "\"reason\":\"unable to authenticate user [elastic] for REST request [/_cluster/health]\"},"
               "\"status\":401}");
    tu_err_clear(&err);
    assert_int_equal(es_health(c, &h, &err), -1);
    assert_int_equal(err.kind, TU_ERR_HTTP);
    assert_int_equal(err.status, 401);
    assert_contains(err.msg, "security_exception");
    assert_contains(err.hint, "ELASTIC_HTTP_AUTH_USERNAME");
    assert_null(strstr(err.msg, "hunter2"));
    assert_null(strstr(err.hint, "hunter2"));
    /* base64("elastic:hunter2-secret") */
    assert_string_equal(g_es->last_auth, "Basic ZWxhc3RpYzpodW50ZXIyLXNlY3JldA==");

    /* an older error shape: a plain string */
    fake_clear(g_es);
    fake_route(g_es, "GET", "/_cluster/health", 503, "{\"error\":\"cluster not ready\",\"status\":503}");
    assert_int_equal(es_health(c, &h, &err), -1);
    assert_int_equal(err.kind, TU_ERR_HTTP);
    assert_int_equal(err.status, 503);
    assert_contains(err.msg, "cluster not ready");

    /* no JSON at all (a proxy's page) */
    fake_clear(g_es);
    fake_route(g_es, "GET", "/_cluster/health", 502, "<html><body>Bad Gateway</body></html>");
    assert_int_equal(es_health(c, &h, &err), -1);
    assert_int_equal(err.kind, TU_ERR_HTTP);
    assert_int_equal(err.status, 502);
    assert_contains(err.msg, "HTTP 502");

    /* 409 */
    fake_clear(g_es);
    fake_route(g_es, "DELETE", "/x", 409, "{\"error\":{\"type\":\"x\",\"reason\":\"busy\"},\"status\":409}");
    assert_int_equal(es_delete_index(c, "x", &err), -1);
    assert_int_equal(err.kind, TU_ERR_CONFLICT);
}

static void test_api_key_header(void **state)
{
    struct es_conn *c = *state;
    c->api_key = xstrdup("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw");
    c->user = xstrdup("ignored");
    c->password = xstrdup("ignored");
    fake_route(g_es, "GET", "/x/_count", 200, "{\"count\":1}");
    int64_t n = 0;
    struct tu_err err;
    assert_int_equal(es_count(c, "x", &n, &err), 0);
    /* the example from Elasticsearch's API key documentation */
    assert_string_equal(g_es->last_auth, "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==");
    /* a key without ':' is taken as already encoded */
    free(c->api_key);
    c->api_key = xstrdup("QUJDOkRFRg==");
    assert_int_equal(es_count(c, "x", &n, &err), 0);
    assert_string_equal(g_es->last_auth, "ApiKey QUJDOkRFRg==");
}

static void test_delete(void **state)
{
    struct es_conn *c = *state;
    struct tu_err err;
    fake_route(g_es, "DELETE", "/074.75120.tracardi-event-2022-12", 200, "{\"acknowledged\":true}");
    tu_err_clear(&err);
    assert_int_equal(es_delete_index(c, "074.75120.tracardi-event-2022-12", &err), 0);
    assert_string_equal(g_es->last_method, "DELETE");
    assert_string_equal(g_es->last_target, "/074.75120.tracardi-event-2022-12");

    fake_clear(g_es);
    fake_route(g_es, "DELETE", "/gone", 404,
               "{\"error\":{\"root_cause\":[{\"type\":\"index_not_found_exception\",\"reason\":\"no such index "
               "[gone]\"}],\"type\":\"index_not_found_exception\",\"reason\":\"no such index [gone]\","
               "\"index\":\"gone\"},\"status\":404}");
    assert_int_equal(es_delete_index(c, "gone", &err), -1);
    assert_int_equal(err.kind, TU_ERR_NOT_FOUND);
    assert_contains(err.msg, "DELETE /gone");

    fake_clear(g_es);
    fake_route(g_es, "DELETE", "/slow", 200, "{\"acknowledged\":false}");
    assert_int_equal(es_delete_index(c, "slow", &err), -1);
    assert_int_equal(err.kind, TU_ERR_TIMEOUT);

    /* never a pattern, a list, _all or a system index; nothing is sent */
    fake_clear(g_es);
    static const char *const bad[] = {"", "*", "_all", "prod-0820.*", "a,b", "a?", "-a", "+a", ".", "..",
                                      "a/b", "a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(es_delete_index(c, bad[i], &err), -1);
        assert_int_equal(err.kind, TU_ERR_USAGE);
    }
    assert_int_equal(es_delete_index(c, NULL, &err), -1);
    assert_int_equal(es_delete_index(c, ".kibana", &err), -1);
    assert_int_equal(err.kind, TU_ERR_REFUSED);
    assert_int_equal(g_es->nreq, 0);
}

static void test_answer_over_cap(void **state)
{
    struct es_conn *c = *state;
    size_t big = 64 * 1024;
    char *body = xmalloc(big + 64);
    size_t o = 0;
    o += (size_t)snprintf(body, 64, "[");
    while (o < big) {
        memcpy(body + o, "{\"index\":\"aaaaaaaaaaaaaaaa\"},", 28);
        o += 28;
    }
    body[o - 1] = ']';
    body[o] = '\0';
    fake_route(g_es, "GET", "/_cat/indices", 200, body);
    free(body);
    c->max_body = 4096;
    struct es_index *v = NULL;
    size_t n = 0;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(es_indices(c, &v, &n, &err), -1);
    assert_int_equal(err.kind, TU_ERR_TOO_BIG);
    assert_null(v);
    assert_int_equal(n, 0);
}

static void test_no_answer_times_out(void **state)
{
    struct es_conn *c = *state;
    fake_route_stall(g_es, "GET", "/_cluster/health", 200, "{}", 1500);
    c->timeout_ms = 200;
    struct es_health h;
    struct tu_err err;
    long t0 = tt_now_ms();
    assert_int_equal(es_health(c, &h, &err), -1);
    assert_int_equal(err.kind, TU_ERR_TIMEOUT);
    assert_true(tt_now_ms() - t0 < 1400);
}

static void test_connect_refused(void **state)
{
    (void)state;
    /* a port nothing listens on: bind one, then close it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t al = sizeof(a);
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char *url = xasprintf("http://elastic:pw-do-not-show@127.0.0.1:%d", ntohs(a.sin_port));
    struct es_conn c;
    struct tu_err err;
    assert_int_equal(es_conn_from_url(&c, url, &err), 0);
    free(url);
    c.timeout_ms = 2000;
    struct es_health h;
    assert_int_equal(es_health(&c, &h, &err), -1);
    assert_int_equal(err.kind, TU_ERR_CONNECT);
    assert_null(strstr(err.msg, "pw-do-not-show"));
    es_conn_free(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest parse_tests[] = {
        cmocka_unit_test(test_index_schemes),
        cmocka_unit_test(test_index_odd_names),
        cmocka_unit_test(test_index_pinned_tenant),
        cmocka_unit_test(test_conn_hosts),
        cmocka_unit_test(test_conn_credentials),
        cmocka_unit_test(test_conn_verify_flags),
        cmocka_unit_test(test_conn_resolver),
        cmocka_unit_test(test_conn_from_url),
        cmocka_unit_test(test_shards_open),
        cmocka_unit_test(test_connect_refused),
    };
#define T(fn) cmocka_unit_test_setup_teardown(fn, each_setup, each_teardown)
    const struct CMUnitTest http_tests[] = {
        T(test_health),
        T(test_health_malformed),
        T(test_max_shards),
        T(test_indices),
        T(test_indices_malformed),
        T(test_count),
        T(test_count_404),
        T(test_errors),
        T(test_api_key_header),
        T(test_delete),
        T(test_answer_over_cap),
        T(test_no_answer_times_out),
    };
#undef T
    int rc = cmocka_run_group_tests_name("index names and connection", parse_tests, NULL, NULL);
    rc += cmocka_run_group_tests_name("calls against a fake elasticsearch", http_tests, fake_start, fake_stop);
    curl_global_cleanup();
    return rc;
}
