/* test_indices.c - grouping indices by release, the guards, the budget, the refs of a host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "elastic/indexname.h"
#include "tracardi/releases.h"
#include "upgrade/cleanup.h"
#include "upgrade/indices.h"
#include "util/xalloc.h"

static struct es_index ix(const char *name, long pri, long rep, int64_t docs, int64_t bytes, const char *status)
{
    struct es_index e;
    memset(&e, 0, sizeof(e));
    snprintf(e.name, sizeof(e.name), "%s", name);
    snprintf(e.status, sizeof(e.status), "%s", status);
    e.pri = pri;
    e.rep = rep;
    e.docs_count = docs;
    e.store_bytes = bytes;
    return e;
}

static struct rel_ref ref(const char *db, const char *tenant, int uses, const char *container)
{
    struct rel_ref r;
    memset(&r, 0, sizeof(r));
    snprintf(r.db_version, sizeof(r.db_version), "%s", db);
    snprintf(r.tenant, sizeof(r.tenant), "%s", tenant);
    r.uses = uses;
    snprintf(r.container, sizeof(r.container), "%s", container ? container : "");
    return r;
}

static const char *gs(json_t *g, const char *k)
{
    return json_string_value(json_object_get(g, k));
}

static long long gi(json_t *g, const char *k)
{
    return (long long)json_integer_value(json_object_get(g, k));
}

static int has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

/* ---- names ---- */

static void test_loose_names(void **state)
{
    (void)state;
    struct tindex t;
    /* md5-derived tenants parse either way */
    assert_int_equal(tindex_parse_loose("prod-0820.ffe49.tracardi-event-2024-3", &t), 0);
    assert_string_equal(t.tenant, "ffe49");
    assert_string_equal(t.partition, "2024-3");
    /* a TENANT_NAME-pinned tenant only loosely */
    assert_int_equal(tindex_parse("0820.acme_eu.tracardi-profile", &t), -1);
    assert_int_equal(tindex_parse_loose("0820.acme_eu.tracardi-profile", &t), 0);
    assert_string_equal(t.db_version, "0820");
    assert_string_equal(t.tenant, "acme_eu");
    assert_int_equal(tindex_parse_loose("static-09x.tenant-1.tracardi-bridge", &t), 0);
    assert_int_equal(t.prefix_kind, 's');
    /* still not Tracardi's */
    assert_int_equal(tindex_parse_loose("my-app-logs", &t), -1);
    assert_int_equal(tindex_parse_loose(".kibana_1", &t), -1);
    assert_int_equal(tindex_parse_loose("0820.ACME.tracardi-event", &t), -1);
    assert_int_equal(tindex_parse_loose("0820.a.b.tracardi-event", &t), -1);
    assert_int_equal(tindex_parse_loose("0820.abcdefghijklmnopqrstuvwxyz0123456789.tracardi-event", &t), -1);
    assert_int_equal(tindex_parse_loose("0820..tracardi-event", &t), -1);
    assert_int_equal(tindex_parse_loose("logs.2024.01", &t), -1);
    assert_int_equal(tindex_parse_loose(NULL, &t), -1);
    assert_int_equal(tindex_parse_loose("", &t), -1);
}

static void test_release_labels(void **state)
{
    (void)state;
    char b[32];
    release_label_of_db("08x", b, sizeof(b));
    assert_string_equal(b, "0.8.1");
    release_label_of_db("0820", b, sizeof(b));
    assert_string_equal(b, "0.8.2");
    release_label_of_db("09x", b, sizeof(b));
    assert_string_equal(b, "0.9-1.1");
    release_label_of_db("0.7.4", b, sizeof(b));
    assert_string_equal(b, "0.7.4");
    release_db_prefix("0.7.4", b, sizeof(b));
    assert_string_equal(b, "074");
    release_db_prefix("0820", b, sizeof(b));
    assert_string_equal(b, "0820");
    char tiny[3];
    release_db_prefix("0.7.4", tiny, sizeof(tiny));
    assert_string_equal(tiny, "07");
    assert_true(release_db_compare("0.7.4", "0.8.0") < 0);
    assert_true(release_db_compare("0.8.0", "08x") < 0);
    assert_true(release_db_compare("08x", "082x") < 0);
    assert_true(release_db_compare("082x", "0820") < 0);
    assert_true(release_db_compare("0820", "09x") < 0);
    assert_true(release_db_compare("0.7.10", "0.7.4") > 0);
    assert_true(release_db_compare("junk", "0.7.0") < 0);
    assert_int_equal(release_db_compare("09x", "09x"), 0);
    /* the next upgrade installs the following release */
    assert_int_equal(release_next_install_shards("0.7.4"), 84);
    assert_int_equal(release_next_install_shards("08x"), 104);
    assert_int_equal(release_next_install_shards("0820"), 32);
    assert_int_equal(release_next_install_shards("09x"), 32);
}

/* ---- grouping ---- */

static json_t *sample(void)
{
    struct es_index v[] = {
        ix("074.75120.tracardi-event-2022-12", 1, 0, 10, 1000, "open"),
        ix("074.75120.tracardi-profile", 1, 0, 5, 500, "open"),
        ix("080.fa73a.tracardi-event-2023-6", 1, 1, 20, 2000, "open"),
        ix("08x.01506.tracardi-event-2023-11", 1, 0, 30, 3000, "open"),
        ix("prod-08x.01506.tracardi-event-2023-11", 1, 0, 31, 3100, "open"),
        ix("static-08x.01506.tracardi-bridge", 1, 0, 2, 200, "open"),
        ix("0820.ffe49.tracardi-event-2024-3", 2, 0, 40, 4000, "open"),
        ix("prod-0820.ffe49.tracardi-event-2024-3", 2, 0, 41, 4100, "open"),
        ix("0820.ffe49.tracardi-log-2024-1", 1, 0, -1, -1, "close"),
        ix("my-app-logs", 3, 1, 99, 9900, "open"),
        ix(".kibana_1", 1, 0, 7, 700, "open"),
    };
    struct rel_ref r[] = {
        ref("0820", "ffe49", REL_LIVE, NULL),
        ref("0820", "ffe49", REL_CONTAINERS, "s-api-green"),
        ref("08x", "01506", REL_ROLLBACK, NULL),
        ref("08x", "01506", REL_CONTAINERS, "s-api-1"),
        ref("08x", "01506", REL_CONTAINERS, "s-worker-1"),
        ref("08x", "01506", REL_CONTAINERS, "s-api-1"), /* twice: listed once */
        ref("09x", "8504a", REL_CONTAINERS, "other-api"), /* no indices: no group */
    };
    return indices_group(v, sizeof(v) / sizeof(v[0]), r, sizeof(r) / sizeof(r[0]));
}

static void test_group(void **state)
{
    (void)state;
    json_t *doc = sample();
    json_t *groups = json_object_get(doc, "groups");
    assert_int_equal(json_array_size(groups), 5);
    /* newest first, other last */
    json_t *g0 = json_array_get(groups, 0), *g1 = json_array_get(groups, 1), *g2 = json_array_get(groups, 2),
           *g3 = json_array_get(groups, 3), *g4 = json_array_get(groups, 4);
    assert_string_equal(gs(g0, "release"), "0.8.2");
    assert_string_equal(gs(g1, "release"), "0.8.1");
    assert_string_equal(gs(g2, "release"), "0.8.0");
    assert_string_equal(gs(g3, "release"), "0.7.4");
    assert_string_equal(gs(g4, "release"), "other");
    /* live: staging and prod together; the closed index listed, no shards counted */
    assert_int_equal(gi(g0, "count"), 3);
    assert_int_equal(gi(g0, "primary_shards"), 4);
    assert_int_equal(gi(g0, "shards"), 4);
    assert_int_equal(gi(g0, "docs"), 81);
    assert_int_equal(gi(g0, "bytes"), 8100);
    assert_true(has(json_object_get(g0, "uses"), "live"));
    assert_false(json_is_true(json_object_get(g0, "orphan")));
    /* rollback target with its containers, each once */
    assert_int_equal(gi(g1, "count"), 3);
    assert_true(has(json_object_get(g1, "uses"), "rollback"));
    assert_int_equal(json_array_size(json_object_get(g1, "containers")), 2);
    /* orphans; replicas count toward the limit */
    assert_true(json_is_true(json_object_get(g2, "orphan")));
    assert_int_equal(gi(g2, "shards"), 2);
    assert_true(json_is_true(json_object_get(g3, "orphan")));
    assert_string_equal(gs(g3, "db_version"), "0.7.4");
    assert_string_equal(gs(g3, "tenant"), "75120");
    /* not Tracardi's: never an orphan */
    assert_false(json_is_true(json_object_get(g4, "tracardi")));
    assert_false(json_is_true(json_object_get(g4, "orphan")));
    assert_int_equal(gi(g4, "count"), 2);
    assert_int_equal(gi(g4, "shards"), 7);

    indices_budget(doc, 100, 1, 30);
    json_t *b = json_object_get(doc, "budget");
    assert_int_equal(gi(b, "shards_open"), 4 + 3 + 2 + 2 + 7);
    assert_int_equal(gi(b, "shard_limit"), 100);
    assert_int_equal(gi(b, "shards_free"), 82);
    assert_int_equal(gi(b, "upgrades_fit"), 2);
    assert_int_equal(gi(b, "orphan_shards"), 4);

    char *text = indices_orphans_text(doc);
    assert_non_null(text);
    assert_string_equal(text, "0.8.0 (080.fa73a, 2 shards), 0.7.4 (074.75120, 2 shards)");
    free(text);
    json_decref(doc);
}

static void test_budget_edges(void **state)
{
    (void)state;
    json_t *doc = indices_group(NULL, 0, NULL, 0);
    assert_int_equal(json_array_size(json_object_get(doc, "groups")), 0);
    assert_null(indices_orphans_text(doc));
    /* two data nodes double the limit; no nodes reported counts as one */
    indices_budget(doc, 1000, 2, 116);
    assert_int_equal(gi(json_object_get(doc, "budget"), "shard_limit"), 2000);
    assert_int_equal(gi(json_object_get(doc, "budget"), "upgrades_fit"), 17);
    indices_budget(doc, 1000, 0, 0);
    assert_int_equal(gi(json_object_get(doc, "budget"), "shard_limit"), 1000);
    assert_int_equal(gi(json_object_get(doc, "budget"), "upgrades_fit"), 0);
    json_decref(doc);
    /* over the limit: negative free, nothing fits */
    struct es_index v[] = {ix("0820.ffe49.tracardi-event-2024-3", 10, 0, 1, 1, "open")};
    doc = indices_group(v, 1, NULL, 0);
    indices_budget(doc, 5, 1, 1);
    assert_int_equal(gi(json_object_get(doc, "budget"), "shards_free"), -5);
    assert_int_equal(gi(json_object_get(doc, "budget"), "upgrades_fit"), 0);
    json_decref(doc);
}

static void test_guard(void **state)
{
    (void)state;
    json_t *doc = sample();
    char why[512];
    json_t *live = indices_find(doc, "0820", "ffe49");
    json_t *back = indices_find(doc, "08x", "01506");
    json_t *orphan = indices_find(doc, "0.8.0", "fa73a");
    assert_non_null(live);
    assert_non_null(back);
    assert_non_null(orphan);
    assert_null(indices_find(doc, "0820", "00000"));
    assert_null(indices_find(doc, "", ""));  /* the other group is never found as a release */

    assert_non_null(indices_guard(live, 0, why, sizeof(why)));
    assert_non_null(strstr(why, "live release"));
    /* the live release stays refused whatever else is allowed */
    assert_non_null(indices_guard(live, REL_ROLLBACK | REL_CONTAINERS | REL_UPGRADING, why, sizeof(why)));
    assert_non_null(indices_guard(back, 0, why, sizeof(why)));
    assert_non_null(strstr(why, "rollback target"));
    /* finalize allows its own rollback target, but its containers must go first */
    assert_non_null(indices_guard(back, REL_ROLLBACK, why, sizeof(why)));
    assert_non_null(strstr(why, "containers"));
    assert_null(indices_guard(back, REL_ROLLBACK | REL_CONTAINERS, why, sizeof(why)));
    assert_null(indices_guard(orphan, 0, why, sizeof(why)));
    json_t *other = json_array_get(json_object_get(doc, "groups"), 4);
    assert_non_null(indices_guard(other, ~0, why, sizeof(why)));
    assert_non_null(strstr(why, "not Tracardi's"));
    json_decref(doc);

    struct es_index v[] = {ix("09x.8504a.tracardi-event-2024-q1", 1, 0, 1, 1, "open")};
    struct rel_ref r[] = {ref("09x", "8504a", REL_UPGRADING, NULL)};
    doc = indices_group(v, 1, r, 1);
    assert_non_null(indices_guard(indices_find(doc, "09x", "8504a"), 0, why, sizeof(why)));
    assert_non_null(strstr(why, "under way"));
    json_decref(doc);
}

static void test_api_path(void **state)
{
    (void)state;
    struct tversion v082, v081, v080;
    struct tu_err e;
    assert_int_equal(tversion_parse("0.8.2", &v082, &e), 0);
    assert_int_equal(tversion_parse("0.8.1", &v081, &e), 0);
    assert_int_equal(tversion_parse("0.8.0", &v080, &e), 0);
    char *p = cleanup_api_path(&v082, "08x", "01506");
    assert_string_equal(p, "/indices?db_version=08x&codename=01506");
    free(p);
    /* from 0.8.2 the endpoint matches the index prefix, so dotted db_versions lose their dots */
    p = cleanup_api_path(&v082, "0.8.0", "fa73a");
    assert_string_equal(p, "/indices?db_version=080&codename=fa73a");
    free(p);
    p = cleanup_api_path(&v081, "0.8.0", "fa73a");
    assert_string_equal(p, "/indices/version/0.8.0?codename=fa73a");
    free(p);
    p = cleanup_api_path(&v080, "0.7.4", "75120");
    assert_string_equal(p, "/indices/version/0.7.4?codename=75120");
    free(p);
}

/* ---- the refs of a host ---- */

static void container(struct stack_container *c, const char *name, enum stack_role role, const char *tag,
                      const char *state, json_t *inspect)
{
    memset(c, 0, sizeof(*c));
    c->id = xstrdup(name);
    c->name = xstrdup(name);
    c->role = role;
    c->tag = tag ? xstrdup(tag) : NULL;
    c->state = xstrdup(state);
    c->inspect = inspect ? inspect : json_object();
}

static const struct rel_ref *find_ref(const struct rel_ref *r, size_t n, const char *db, const char *tenant, int use)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(r[i].db_version, db) == 0 && strcmp(r[i].tenant, tenant) == 0 && (r[i].uses & use))
            return &r[i];
    return NULL;
}

static void test_host_refs(void **state)
{
    (void)state;
    struct upctx u;
    memset(&u, 0, sizeof(u));
    struct stack *st = xcalloc(1, sizeof(*st));
    st->name = xstrdup("s");
    st->kind = xstrdup("compose");
    st->n = 4;
    st->c = xcalloc(st->n, sizeof(*st->c));
    container(&st->c[0], "s-api-1", ROLE_API, "0.8.1", "exited", NULL);
    container(&st->c[1], "s-api-green", ROLE_API, NULL, "running",
              json_pack("{s:{s:{s:s},s:[s]}}", "Config", "Labels", "tracup.version", "0.8.2", "Env",
                        "TENANT_NAME=acme"));
    container(&st->c[2], "s-gui-1", ROLE_GUI, "0.8.0", "running", NULL); /* a gui uses no indices */
    container(&st->c[3], "s-old-api", ROLE_API, "0.7.4", "exited",
              json_pack("{s:{s:[s]}}", "Config", "Env", "INSTANCE_PREFIX=legacy"));
    u.stacks.s = st;
    u.stacks.n = 1;
    u.stack = st;
    u.api = &st->c[1];
    u.blue_details = json_pack("{s:s,s:s}", "db_version", "0820", "name", "acme");

    /* no journal: the running api is live; every api and worker container counts */
    struct rel_ref *r = NULL;
    size_t n = indices_host_refs(&u, NULL, &r);
    assert_non_null(find_ref(r, n, "0820", "acme", REL_LIVE));
    assert_non_null(find_ref(r, n, "0820", "acme", REL_CONTAINERS));
    assert_non_null(find_ref(r, n, "08x", "01506", REL_CONTAINERS));
    assert_non_null(find_ref(r, n, "0.7.4", "legacy", REL_CONTAINERS));
    assert_null(find_ref(r, n, "0.8.0", "fa73a", REL_CONTAINERS));
    free(r);

    /* a done upgrade: the old release is the rollback target, the last hop live, the intermediate gone */
    json_t *doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:b,s:[{s:s,s:s},{s:s,s:s}]}", "state", "done", "from", "version",
                            "0.8.0", "db_version", "0.8.0", "name", "fa73a", "switched", 1, "hops", "to", "0.8.1",
                            "to_db_version", "08x", "to", "0.8.2", "to_db_version", "0820");
    n = indices_host_refs(&u, doc, &r);
    assert_non_null(find_ref(r, n, "0.8.0", "fa73a", REL_ROLLBACK));
    assert_non_null(find_ref(r, n, "0820", "ffe49", REL_LIVE));
    assert_null(find_ref(r, n, "08x", "01506", REL_UPGRADING | REL_LIVE));
    free(r);
    /* under way and not switched: the old release is live, every hop's release is being built */
    json_object_set_new(doc, "state", json_string("interrupted"));
    json_object_set_new(doc, "switched", json_false());
    n = indices_host_refs(&u, doc, &r);
    assert_non_null(find_ref(r, n, "0.8.0", "fa73a", REL_LIVE));
    assert_non_null(find_ref(r, n, "08x", "01506", REL_UPGRADING));
    assert_non_null(find_ref(r, n, "0820", "ffe49", REL_UPGRADING));
    free(r);
    /* finalizing still protects the old release from prune */
    json_object_set_new(doc, "state", json_string("finalizing"));
    n = indices_host_refs(&u, doc, &r);
    assert_non_null(find_ref(r, n, "0.8.0", "fa73a", REL_ROLLBACK));
    free(r);
    /* finalized: the journal protects nothing */
    json_object_set_new(doc, "state", json_string("finalized"));
    n = indices_host_refs(&u, doc, &r);
    assert_null(find_ref(r, n, "0.8.0", "fa73a", REL_ROLLBACK | REL_LIVE));
    assert_non_null(find_ref(r, n, "0820", "acme", REL_LIVE));
    free(r);
    json_decref(doc);

    json_decref(u.blue_details);
    stack_list_free(&u.stacks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loose_names), cmocka_unit_test(test_release_labels), cmocka_unit_test(test_group),
        cmocka_unit_test(test_budget_edges), cmocka_unit_test(test_guard),   cmocka_unit_test(test_api_path),
        cmocka_unit_test(test_host_refs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
