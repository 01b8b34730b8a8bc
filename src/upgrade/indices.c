/* indices.c - grouping the cluster's indices by Tracardi release and marking what uses each group. */
#include "upgrade/indices.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracardi/images.h"
#include "tracardi/releases.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t jint(json_t *o, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(o, k));
}

/* Counts from Elasticsearch are any non-negative numbers it sends: sums and
 * products saturate rather than overflow. */
static int64_t sat_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

static int64_t sat_mul(int64_t a, int64_t b)
{
    if (a <= 0 || b <= 0)
        return 0;
    return a > INT64_MAX / b ? INT64_MAX : a * b;
}

static void add_int(json_t *o, const char *k, int64_t v)
{
    json_object_set_new(o, k, json_integer((json_int_t)sat_add(jint(o, k), v)));
}

/* ---------------------------------------------------------------- grouping */

static json_t *new_group(const char *db, const char *tenant, int tracardi)
{
    char label[32];
    if (tracardi)
        release_label_of_db(db, label, sizeof(label));
    else
        snprintf(label, sizeof(label), "other");
    return json_pack("{s:s,s:s,s:s,s:b,s:[],s:[],s:b,s:i,s:i,s:i,s:i,s:i,s:[]}", "release", label, "db_version",
                     db, "tenant", tenant, "tracardi", tracardi, "uses", "containers", "orphan", 0, "count", 0,
                     "primary_shards", 0, "shards", 0, "docs", 0, "bytes", 0, "indices");
}

static json_t *group_for(json_t *groups, const char *db, const char *tenant, int tracardi)
{
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        if (json_is_true(json_object_get(g, "tracardi")) == tracardi && strcmp(jstr(g, "db_version"), db) == 0 &&
            strcmp(jstr(g, "tenant"), tenant) == 0)
            return g;
    }
    g = new_group(db, tenant, tracardi);
    json_array_append_new(groups, g);
    return g;
}

static void add_use(json_t *g, const char *use)
{
    json_t *uses = json_object_get(g, "uses");
    size_t i;
    json_t *v;
    json_array_foreach(uses, i, v) if (strcmp(json_string_value(v), use) == 0) return;
    json_array_append_new(uses, json_string(use));
}

static void mark(json_t *g, const struct rel_ref *r)
{
    if (r->uses & REL_LIVE)
        add_use(g, "live");
    if (r->uses & REL_ROLLBACK)
        add_use(g, "rollback");
    if (r->uses & REL_UPGRADING)
        add_use(g, "upgrading");
    if ((r->uses & REL_CONTAINERS) && r->container[0]) {
        json_t *cs = json_object_get(g, "containers");
        size_t i;
        json_t *v;
        json_array_foreach(cs, i, v) if (strcmp(json_string_value(v), r->container) == 0) return;
        json_array_append_new(cs, json_string(r->container));
    }
}

/* Newest release first; the group of other indices last. */
static int group_cmp(const void *a, const void *b)
{
    json_t *ga = *(json_t *const *)a, *gb = *(json_t *const *)b;
    int ta = json_is_true(json_object_get(ga, "tracardi")), tb = json_is_true(json_object_get(gb, "tracardi"));
    if (ta != tb)
        return ta ? -1 : 1;
    int c = release_db_compare(jstr(gb, "db_version"), jstr(ga, "db_version"));
    return c ? c : strcmp(jstr(ga, "tenant"), jstr(gb, "tenant"));
}

json_t *indices_group(const struct es_index *idx, size_t n, const struct rel_ref *refs, size_t nrefs)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < n; i++) {
        struct tindex t;
        int tracardi = tindex_parse_loose(idx[i].name, &t) == 0;
        json_t *g = tracardi ? group_for(groups, t.db_version, t.tenant, 1) : group_for(groups, "", "", 0);
        int open = strcmp(idx[i].status, "close") != 0;
        int64_t shards = open ? sat_mul(idx[i].pri, sat_add(idx[i].rep, 1)) : 0;
        int64_t docs = idx[i].docs_count > 0 ? idx[i].docs_count : 0;
        int64_t bytes = idx[i].store_bytes > 0 ? idx[i].store_bytes : 0;
        json_array_append_new(json_object_get(g, "indices"),
                              json_pack("{s:s,s:s,s:I,s:I,s:I,s:I}", "index", idx[i].name, "status",
                                        open ? "open" : "closed", "pri", (json_int_t)idx[i].pri, "shards",
                                        (json_int_t)shards, "docs", (json_int_t)idx[i].docs_count, "bytes",
                                        (json_int_t)idx[i].store_bytes));
        add_int(g, "count", 1);
        add_int(g, "primary_shards", open ? idx[i].pri : 0);
        add_int(g, "shards", shards);
        add_int(g, "docs", docs);
        add_int(g, "bytes", bytes);
    }
    for (size_t r = 0; r < nrefs; r++) {
        size_t i;
        json_t *g;
        json_array_foreach(groups, i, g) {
            if (json_is_true(json_object_get(g, "tracardi")) && strcmp(jstr(g, "db_version"), refs[r].db_version) == 0 &&
                strcmp(jstr(g, "tenant"), refs[r].tenant) == 0)
                mark(g, &refs[r]);
        }
    }
    size_t ng = json_array_size(groups);
    json_t **v = xcalloc(ng ? ng : 1, sizeof(*v));
    for (size_t i = 0; i < ng; i++) {
        v[i] = json_incref(json_array_get(groups, i));
        int orphan = json_is_true(json_object_get(v[i], "tracardi")) &&
                     json_array_size(json_object_get(v[i], "uses")) == 0 &&
                     json_array_size(json_object_get(v[i], "containers")) == 0;
        json_object_set_new(v[i], "orphan", json_boolean(orphan));
    }
    qsort(v, ng, sizeof(*v), group_cmp);
    json_array_clear(groups);
    for (size_t i = 0; i < ng; i++)
        json_array_append_new(groups, v[i]);
    free(v);
    return json_pack("{s:o}", "groups", groups);
}

void indices_budget(json_t *doc, long per_node, long data_nodes, int64_t per_upgrade)
{
    int64_t open = 0, orphan = 0;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "groups"), i, g) {
        open = sat_add(open, jint(g, "shards"));
        if (json_is_true(json_object_get(g, "orphan")))
            orphan = sat_add(orphan, jint(g, "shards"));
    }
    long nodes = data_nodes > 0 ? data_nodes : 1;
    int64_t limit = sat_mul(per_node, nodes);
    int64_t free_shards = limit - open;
    int64_t fit = per_upgrade > 0 && free_shards > 0 ? free_shards / per_upgrade : 0;
    json_object_set_new(doc, "budget",
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "max_shards_per_node", (json_int_t)per_node,
                                  "data_nodes", (json_int_t)nodes, "shard_limit", (json_int_t)limit, "shards_open",
                                  (json_int_t)open, "shards_free", (json_int_t)free_shards, "per_upgrade",
                                  (json_int_t)per_upgrade, "upgrades_fit", (json_int_t)fit, "orphan_shards",
                                  (json_int_t)orphan));
}

json_t *indices_find(json_t *doc, const char *db_version, const char *tenant)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "groups"), i, g) {
        if (db_version && tenant && json_is_true(json_object_get(g, "tracardi")) && jstr(g, "db_version") &&
            jstr(g, "tenant") && strcmp(jstr(g, "db_version"), db_version) == 0 && strcmp(jstr(g, "tenant"), tenant) == 0)
            return g;
    }
    return NULL;
}

static int has_use(json_t *g, const char *use)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(g, "uses"), i, v) if (strcmp(json_string_value(v), use) == 0) return 1;
    return 0;
}

const char *indices_guard(json_t *group, int allowed, char *why, size_t cap)
{
    const char *rel = jstr(group, "release");
    if (!json_is_true(json_object_get(group, "tracardi"))) {
        snprintf(why, cap, "these indices are not Tracardi's: tracup never deletes them");
        return why;
    }
    if (!(allowed & REL_LIVE) && has_use(group, "live")) {
        snprintf(why, cap, "Tracardi %s (%s.%s) is the live release: its indices hold the data being served", rel,
                 jstr(group, "db_version"), jstr(group, "tenant"));
        return why;
    }
    if (!(allowed & REL_ROLLBACK) && has_use(group, "rollback")) {
        snprintf(why, cap, "Tracardi %s (%s.%s) is the rollback target of an upgrade not finalized: 'tracup "
                 "rollback' needs its indices; 'tracup finalize --delete-old-indices' deletes them once the "
                 "upgrade is final", rel, jstr(group, "db_version"), jstr(group, "tenant"));
        return why;
    }
    if (!(allowed & REL_UPGRADING) && has_use(group, "upgrading")) {
        snprintf(why, cap, "Tracardi %s (%s.%s) is the new release of an upgrade under way", rel,
                 jstr(group, "db_version"), jstr(group, "tenant"));
        return why;
    }
    json_t *cs = json_object_get(group, "containers");
    if (!(allowed & REL_CONTAINERS) && json_array_size(cs) > 0) {
        snprintf(why, cap, "Tracardi %s (%s.%s) still has containers on this host (%s%s): remove them first", rel,
                 jstr(group, "db_version"), jstr(group, "tenant"), json_string_value(json_array_get(cs, 0)),
                 json_array_size(cs) > 1 ? ", …" : "");
        return why;
    }
    return NULL;
}

/* ---------------------------------------------------------------- what refers to which release */

struct refs {
    struct rel_ref *v;
    size_t n, cap;
};

static void ref_add(struct refs *r, const char *db, const char *tenant, int uses, const char *container)
{
    if (!db || !tenant || !*db || !*tenant)
        return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    struct rel_ref *x = &r->v[r->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->db_version, sizeof(x->db_version), "%s", db);
    snprintf(x->tenant, sizeof(x->tenant), "%s", tenant);
    x->uses = uses;
    if (container)
        snprintf(x->container, sizeof(x->container), "%s", container);
}

/* The release a version's containers use: its db_version and tenant (TENANT_NAME,
 * INSTANCE_PREFIX before 0.8.1, else the name derived from the version). */
static int version_ref(const struct tversion *v, const char *pinned, char db[16], char tenant[TINDEX_TENANT_MAX + 1])
{
    const char *d = tracardi_db_version(v);
    if (!d)
        return -1;
    snprintf(db, 16, "%s", d);
    if (pinned && tindex_valid_tenant(pinned)) {
        snprintf(tenant, TINDEX_TENANT_MAX + 1, "%s", pinned);
    } else {
        char t[6];
        release_tenant(v, t);
        snprintf(tenant, TINDEX_TENANT_MAX + 1, "%s", t);
    }
    return 0;
}

static const char *label_of(const struct stack_container *c, const char *k)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(c->inspect, "Config"), "Labels"), k));
}

static int container_ref(const struct stack_container *c, char db[16], char tenant[TINDEX_TENANT_MAX + 1])
{
    const char *ver = label_of(c, "tracup.version");
    if (!ver)
        ver = c->tag;
    struct tversion v;
    struct tu_err e;
    if (!ver || tversion_parse(ver, &v, &e) < 0)
        return -1;
    const char *pinned = stack_env(c, tversion_at_least(&v, 0, 8, 1) ? "TENANT_NAME" : "INSTANCE_PREFIX");
    return version_ref(&v, pinned, db, tenant);
}

/* Marks a journal's releases: the old one, each hop's new one. */
static void journal_refs(struct refs *r, json_t *doc)
{
    const char *st = jstr(doc, "state");
    if (!st || strcmp(st, "finalized") == 0 || strcmp(st, "rolled_back") == 0)
        return;
    int ended = strcmp(st, "done") == 0 || strcmp(st, "finalizing") == 0;
    int switched = ended || json_is_true(json_object_get(doc, "switched"));
    json_t *from = json_object_get(doc, "from");
    json_t *hops = json_object_get(doc, "hops");
    /* an older journal of a 0.8.0 blue has no db_version there: its first hop names it */
    const char *from_db = jstr(from, "db_version") ? jstr(from, "db_version")
                                                   : jstr(json_array_get(hops, 0), "from_db_version");
    ref_add(r, from_db, jstr(from, "name"), switched ? REL_ROLLBACK : REL_LIVE, NULL);
    size_t i;
    json_t *h;
    json_array_foreach(hops, i, h) {
        int last = i + 1 == json_array_size(hops);
        struct tversion v;
        struct tu_err e;
        char tenant[6];
        if (tversion_parse(jstr(h, "to"), &v, &e) < 0)
            continue;
        /* Intermediate releases are gone once the upgrade is done. */
        if (ended && !last)
            continue;
        release_tenant(&v, tenant);
        ref_add(r, jstr(h, "to_db_version"), tenant, last && switched ? REL_LIVE : REL_UPGRADING, NULL);
    }
}

size_t indices_host_refs(const struct upctx *u, json_t *journal_doc, struct rel_ref **out)
{
    struct refs r = {NULL, 0, 0};
    const char *st = journal_doc ? jstr(journal_doc, "state") : NULL;
    int journal_live = st && strcmp(st, "finalized") != 0 && strcmp(st, "rolled_back") != 0;
    if (journal_live)
        journal_refs(&r, journal_doc);
    else if (u->api && u->api->state && strcmp(u->api->state, "running") == 0) {
        /* The running api says best which indices it serves. */
        const char *db = jstr(u->blue_details, "db_version"), *name = jstr(u->blue_details, "name");
        char cdb[16], ctenant[TINDEX_TENANT_MAX + 1];
        if (db && name)
            ref_add(&r, db, name, REL_LIVE, u->api->name);
        else if (container_ref(u->api, cdb, ctenant) == 0)
            ref_add(&r, cdb, ctenant, REL_LIVE, u->api->name);
    }
    for (size_t s = 0; s < u->stacks.n; s++) {
        const struct stack *sk = &u->stacks.s[s];
        for (size_t i = 0; i < sk->n; i++) {
            const struct stack_container *c = &sk->c[i];
            char db[16], tenant[TINDEX_TENANT_MAX + 1];
            if ((c->role == ROLE_API || c->role == ROLE_WORKER) && container_ref(c, db, tenant) == 0)
                ref_add(&r, db, tenant, REL_CONTAINERS, c->name);
        }
    }
    *out = r.v;
    return r.n;
}

/* ---------------------------------------------------------------- collecting */

int indices_collect(const struct upctx *u, json_t *journal_doc, json_t **out, struct es_conn *es_out,
                    struct tu_err *err)
{
    *out = NULL;
    struct es_conn es;
    if (upctx_es_open(u, &es, err) < 0)
        return -1;
    struct es_health h;
    struct es_index *idx = NULL;
    size_t n = 0;
    long per_node = ES_DEFAULT_MAX_SHARDS_PER_NODE;
    if (es_health(&es, &h, err) < 0 || es_max_shards_per_node(&es, &per_node, NULL, err) < 0 ||
        es_indices(&es, &idx, &n, err) < 0) {
        es_conn_free(&es);
        return -1;
    }
    struct rel_ref *refs = NULL;
    size_t nrefs = indices_host_refs(u, journal_doc, &refs);
    json_t *doc = indices_group(idx, n, refs, nrefs);
    /* One more upgrade installs a release about the size of the live one, and at
     * least what the next release's install opens. */
    int64_t per_upgrade = 0;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "groups"), i, g) {
        if (!has_use(g, "live"))
            continue;
        int64_t floor = release_next_install_shards(jstr(g, "db_version"));
        int64_t need = jint(g, "shards") > floor ? jint(g, "shards") : floor;
        if (need > per_upgrade)
            per_upgrade = need;
    }
    if (per_upgrade == 0)
        per_upgrade = release_next_install_shards("");
    indices_budget(doc, per_node, h.number_of_data_nodes, per_upgrade);
    char *desc = es_conn_describe(&es);
    json_object_set_new(doc, "elasticsearch", json_pack("{s:s,s:s,s:s,s:I}", "endpoint", desc, "cluster",
                                                        h.cluster_name, "health", h.status, "data_nodes",
                                                        (json_int_t)h.number_of_data_nodes));
    free(desc);
    free(refs);
    free(idx);
    if (es_out)
        *es_out = es;
    else
        es_conn_free(&es);
    *out = doc;
    return 0;
}

char *indices_orphans_text(json_t *doc)
{
    char *s = NULL;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "groups"), i, g) {
        if (!json_is_true(json_object_get(g, "orphan")))
            continue;
        char prefix[16];
        release_db_prefix(jstr(g, "db_version"), prefix, sizeof(prefix));
        char *next = xasprintf("%s%s%s (%s.%s, %lld shards)", s ? s : "", s ? ", " : "", jstr(g, "release"), prefix,
                               jstr(g, "tenant"), (long long)jint(g, "shards"));
        free(s);
        s = next;
    }
    return s;
}
