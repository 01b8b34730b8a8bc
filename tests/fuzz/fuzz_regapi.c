/* fuzz_regapi.c - what a registry sends tracup check: WWW-Authenticate and Link headers, tags.
 * Input: a WWW-Authenticate value '\n' a Link value '\n' the running version '\n' tags, one a line. */
#include <jansson.h>

#include "fuzz.h"
#include "registry/regapi.h"
#include "tracardi/available.h"
#include "tracardi/images.h"

#define BASE "http://127.0.0.1:5000"

static void headers(const char *wa, const char *link)
{
    struct www_auth a;
    struct tu_err err;
    tu_err_clear(&err);
    if (reg_parse_www_auth(wa, &a, &err) == 0) {
        if (!a.scheme[0])
            fuzz_fail("challenge '%s' parsed without a scheme", wa);
        www_auth_free(&a);
    } else {
        fuzz_check_err("www-authenticate", &err);
        if (a.realm || a.service || a.scope)
            fuzz_fail("a failed parse of '%s' left values", wa);
    }
    char *next = NULL, *url = NULL;
    tu_err_clear(&err);
    if (reg_parse_link_next(link, &next, &err) < 0) {
        fuzz_check_err("link", &err);
        if (next)
            fuzz_fail("a failed parse of '%s' left a target", link);
        return;
    }
    if (!next)
        return;
    if (!*next || strpbrk(next, "<> "))
        fuzz_fail("link target '%s' from '%s'", next, link);
    if (reg_next_url(BASE, next, &url, &err) == 0) {
        /* Credentials follow the next page: it must stay on the registry's own API. */
        if (strncmp(url, BASE "/v2/", strlen(BASE "/v2/")) != 0)
            fuzz_fail("next page '%s' left %s", url, BASE);
        free(url);
    } else {
        fuzz_check_err("next url", &err);
    }
    free(next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t rest_len;
    char *wa = fuzz_split(data, size, &rest, &rest_len);
    char *link = fuzz_split(rest, rest_len, &rest, &rest_len);
    char *running = fuzz_split(rest, rest_len, &rest, &rest_len);
    headers(wa, link);
    (void)reg_host_is_loopback(wa);

    /* The tags as the client keeps them: valid names only, at most a few hundred. */
    struct reg_tags t;
    memset(&t, 0, sizeof(t));
    while (rest_len && t.n < 300) {
        char *tag = fuzz_split(rest, rest_len, &rest, &rest_len);
        if (reg_tag_valid(tag)) {
            t.tag = realloc(t.tag, (t.n + 1) * sizeof(*t.tag));
            if (!t.tag)
                abort();
            t.tag[t.n++] = tag;
        } else {
            free(tag);
        }
    }
    struct tversion v;
    struct tu_err err;
    int known = tversion_parse(running, &v, &err) == 0;
    const struct reg_tags *tp[8] = {&t, &t, &t, NULL, &t, &t, &t, &t};
    for (int all = 0; all < 2; all++) {
        struct avail_in in = {.running = known ? &v : NULL, .tags = tp, .all = all};
        json_t *doc = avail_report(&in);
        json_t *rels = json_object_get(doc, "releases");
        struct tversion prev;
        for (size_t i = 0; i < json_array_size(rels); i++) {
            const char *s = json_string_value(json_object_get(json_array_get(rels, i), "version"));
            struct tversion cur;
            if (!s || tversion_parse(s, &cur, &err) < 0 || !reg_tags_has(&t, s))
                fuzz_fail("release '%s' is no listed version", s ? s : "(null)");
            if (known && tversion_cmp(&cur, &v) <= 0)
                fuzz_fail("release '%s' is not newer than '%s'", s, running);
            if (i && tversion_cmp(&prev, &cur) > 0)
                fuzz_fail("releases out of order at '%s'", s);
            if (!all && cur.suffix[0])
                fuzz_fail("pre-release '%s' listed without --all", s);
            prev = cur;
        }
        FILE *f = fopen("/dev/null", "w");
        if (f) {
            avail_print(f, doc);
            fclose(f);
        }
        json_decref(doc);
    }
    reg_tags_free(&t);
    free(wa);
    free(link);
    free(running);
    return 0;
}
