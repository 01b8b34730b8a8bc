/* fuzz_es_conn.c - where Elasticsearch is: --elastic URLs and the api container's ELASTIC_* environment.
 * Input: the URL on the first line, then NAME=value lines of the api's environment;
 * a RESOLVE=addr line is what the engine would map the host name to. */
#include "elastic/es.h"
#include "fuzz.h"

struct env {
    char *text;           /* the lines, NUL-separated */
    const char *name[32];
    const char *value[32];
    size_t n;
};

static const char *env_get(void *ud, const char *name)
{
    const struct env *e = ud;
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->name[i], name) == 0)
            return e->value[i];
    return NULL;
}

static const char *resolve(void *ud, const char *host)
{
    (void)host;
    return env_get(ud, "RESOLVE");
}

/* The base is printed and put in URLs: it never carries userinfo. */
static void check(const struct es_conn *c)
{
    if (!c->base || (strncmp(c->base, "http://", 7) != 0 && strncmp(c->base, "https://", 8) != 0))
        fuzz_fail("base '%s' has no http(s) scheme", c->base ? c->base : "(null)");
    const char *auth = strstr(c->base, "://") + 3;
    size_t alen = strcspn(auth, "/");
    if (memchr(auth, '@', alen))
        fuzz_fail("base '%s' carries userinfo", c->base);
    if (c->base[strlen(c->base) - 1] == '/')
        fuzz_fail("base '%s' ends with '/'", c->base);
    char *d = es_conn_describe(c);
    if (!d)
        fuzz_fail("no description");
    free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t rest_len;
    char *url = fuzz_split(data, size, &rest, &rest_len);
    struct es_conn c;
    struct tu_err err;
    if (es_conn_from_url(&c, url, &err) == 0)
        check(&c);
    else
        fuzz_check_err("elasticsearch url", &err);
    es_conn_free(&c);
    free(url);

    struct env e;
    memset(&e, 0, sizeof(e));
    e.text = fuzz_cstr(rest, rest_len);
    for (char *line = e.text; line && e.n < 32;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            e.name[e.n] = line;
            e.value[e.n++] = eq + 1;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (es_conn_from_env(&c, env_get, &e, resolve, &err) == 0)
        check(&c);
    else
        fuzz_check_err("elasticsearch environment", &err);
    es_conn_free(&c);
    free(e.text);
    return 0;
}
