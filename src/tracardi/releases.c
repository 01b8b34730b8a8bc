/* releases.c - the release chain and the hops of an upgrade. */
#include "tracardi/releases.h"

#include <stdio.h>
#include <string.h>

#include "util/md5.h"

/* In migration order; each row is one db_version. */
static const struct release_info chain[] = {
    {"0.8.0", "0.8.0", "080", 0, 0, "/migration"},
    {"0.8.1", "08x", "08x", 0, 1, "/migration"},
    {"0.8.2", "0820", "0820", 0, 1, "/migration"},
    {"0.9.0", "09x", "09x", 1, 1, "/migration/elasticsearch"},
};
#define CHAIN_N (sizeof(chain) / sizeof(chain[0]))

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
    const char *src = tversion_at_least(v, 0, 8, 1) && db ? db : v->text;
    snprintf(plain, sizeof(plain), "%s", src);
    if (!tversion_at_least(v, 0, 8, 1)) {
        char *dash = strchr(plain, '-');
        if (dash)
            *dash = '\0';
    }
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
        tu_err_set(err, TU_ERR_REFUSED,
                   "Tracardi %s and %s share db_version '%s': both would write the same Elasticsearch "
                   "indices, so the new release cannot run beside the old one and a rollback could not undo "
                   "its writes",
                   from->text, to->text, fi->db_version);
        tu_err_hint(err, "upgrade such releases in place, after a snapshot of Elasticsearch");
        return -1;
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
