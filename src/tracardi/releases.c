/* releases.c - the release chain and the hops of an upgrade. */
#include "tracardi/releases.h"

#include <stdio.h>
#include <string.h>

#include "util/md5.h"

/* In migration order; each row is one db_version. Sources: tests/standins/README.md, facts. */
static const struct release_info chain[] = {
    {"0.8.0", "0.8.0", "080", 0, 1, "/migration", 0, 0, NULL},
    {"0.8.1", "08x", "08x", 0, 1, "/migration", 0, 1, NULL},
    /* tracardi-api 0.8.2.1 docker.Dockerfile: tiangolo/uvicorn-gunicorn-fastapi:python3.10, tracardi
     * installed by pip; tracardi 0.8.2.1 process_engine/migration/migration_manager.py names the file. */
    {"0.8.2", "0820", "0820", 0, 1, "/migration", 0, 0,
     "/usr/local/lib/python3.10/site-packages/tracardi/process_engine/migration/schemas/08x_to_082x.json"},
    {"0.9.0", "09x", "09x", 1, 1, "/migration/elasticsearch", 1, 0, NULL},
};
#define CHAIN_N (sizeof(chain) / sizeof(chain[0]))

const char *release_chain_version(size_t i)
{
    return i < CHAIN_N ? chain[i].version : NULL;
}

const struct release_info *release_info_of_db(const char *db)
{
    for (size_t i = 0; db && i < CHAIN_N; i++)
        if (strcmp(chain[i].db_version, db) == 0)
            return &chain[i];
    return NULL;
}

const struct release_info *release_info_of(const struct tversion *v)
{
    const char *db = tracardi_db_version(v);
    if (!db)
        return NULL;
    for (size_t i = 0; i < CHAIN_N; i++)
        if (strcmp(chain[i].db_version, db) == 0)
            return &chain[i];
    return NULL;
}

void release_tenant(const struct tversion *v, char out[6])
{
    const char *db = tracardi_db_version(v);
    char plain[48];
    /* Up to 0.8.0 the name came from the version string itself. */
    if (tversion_at_least(v, 0, 8, 1) && db)
        snprintf(plain, sizeof(plain), "%s", db);
    else
        /* the library's own VERSION: a patch tag (0.8.0.11) runs code that says 0.8.0 */
        snprintf(plain, sizeof(plain), "%d.%d.%d", v->parts[0], v->nparts > 1 ? v->parts[1] : 0,
                 v->nparts > 2 ? v->parts[2] : 0);
    char hex[33];
    md5_hex(plain, strlen(plain), hex);
    memcpy(out, hex, 5);
    out[5] = '\0';
}

int release_hops(const struct tversion *from, const struct tversion *to, struct hop *out, size_t *n,
                 struct tu_err *err)
{
    *n = 0;
    const struct release_info *fi = release_info_of(from), *ti = release_info_of(to);
    if (!fi)
        return tu_err_set(err, TU_ERR_REFUSED, "tracup does not know how to migrate from Tracardi %s", from->text);
    if (!ti)
        return tu_err_set(err, TU_ERR_REFUSED, "tracup does not know Tracardi %s's indices (db_version)", to->text);
    if (fi == ti) {
        if (tversion_cmp(to, from) <= 0)
            return tu_err_set(err, TU_ERR_REFUSED, "Tracardi %s is not newer than %s", to->text, from->text);
        memset(&out[0], 0, sizeof(out[0]));
        out[0].from_info = fi;
        out[0].to_info = ti;
        out[0].to = *to;
        out[0].shared = 1;
        *n = 1;
        return 0;
    }
    size_t a = (size_t)(fi - chain), b = (size_t)(ti - chain);
    if (b < a)
        return tu_err_set(err, TU_ERR_REFUSED, "Tracardi migrates forward only: %s (db_version %s) cannot "
                                               "migrate into %s (db_version %s)",
                          from->text, fi->db_version, to->text, ti->db_version);
    for (size_t i = a + 1; i <= b; i++) {
        if (*n == MAX_HOPS)
            return tu_err_set(err, TU_ERR_REFUSED, "too many hops");
        struct hop *h = &out[(*n)++];
        memset(h, 0, sizeof(*h));
        h->from_info = &chain[i - 1];
        h->to_info = &chain[i];
        h->intermediate = i < b;
        struct tu_err e;
        tversion_parse(i < b ? chain[i].version : to->text, &h->to, &e);
    }
    return 0;
}

void release_label_of_db(const char *db, char *out, size_t cap)
{
    static const struct {
        const char *db, *label;
    } known[] = {{"08x", "0.8.1"}, {"082x", "0.8.2-dev"}, {"0820", "0.8.2"}, {"09x", "0.9-1.1"}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(db, known[i].db) == 0) {
            snprintf(out, cap, "%s", known[i].label);
            return;
        }
    snprintf(out, cap, "%s", db);
}

void release_db_prefix(const char *db, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *c = db; *c && o + 1 < cap; c++)
        if (*c != '.')
            out[o++] = *c;
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
}

/* A sortable number for a db_version: (major, minor, patch) scaled, 082x just
 * before 0820. */
static long db_rank(const char *db)
{
    if (strcmp(db, "08x") == 0)
        return 80010;
    if (strcmp(db, "082x") == 0)
        return 80019;
    if (strcmp(db, "0820") == 0)
        return 80020;
    if (strcmp(db, "09x") == 0)
        return 90000;
    int a, b, c;
    char tail;
    if (sscanf(db, "%d.%d.%d%c", &a, &b, &c, &tail) == 3 && a >= 0 && a < 100 && b >= 0 && b < 100 && c >= 0 &&
        c < 100)
        return (long)a * 1000000 + (long)b * 10000 + (long)c * 10;
    return -1;
}

int release_db_compare(const char *a, const char *b)
{
    long ra = db_rank(a), rb = db_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    return strcmp(a, b);
}

long release_index_count(const struct tversion *v)
{
    if (tversion_at_least(v, 0, 8, 0) && !tversion_at_least(v, 0, 8, 1))
        return 35;
    if (tversion_at_least(v, 0, 8, 1) && !tversion_at_least(v, 0, 8, 2))
        return 37;
    if (tversion_at_least(v, 0, 8, 2) && !tversion_at_least(v, 0, 9, 0))
        return 39;
    return 0;
}

/* From each release's mapping files (tests/standins/README.md, facts): data indices take
 * ELASTIC_INDEX_SHARDS (3), the rest ELASTIC_CONF_INDEX_SHARDS (1), each in staging and
 * production, static ones once. */
int64_t release_install_shards(const struct tversion *v)
{
    if (!tversion_at_least(v, 0, 8, 1))
        return 84;  /* 4 x 3 x 2 + 29 x 2 + 2 */
    if (!tversion_at_least(v, 0, 8, 2))
        return 88;  /* 4 x 3 x 2 + 31 x 2 + 2 */
    if (!tversion_at_least(v, 0, 9, 0))
        return 104; /* 7 x 3 x 2 + 30 x 2 + 2 */
    return 32;      /* 0.9 and later: 5 x 3 x 2 + 1 x 2 (the rest lives in MySQL) */
}

int64_t release_next_install_shards(const char *db)
{
    size_t next = CHAIN_N - 1;
    for (size_t i = 0; db_rank(db) >= 0 && i < CHAIN_N; i++)
        if (release_db_compare(chain[i].db_version, db) > 0) {
            next = i;
            break;
        }
    struct tversion v;
    struct tu_err e;
    return tversion_parse(chain[next].version, &v, &e) == 0 ? release_install_shards(&v) : 0;
}
