/* fuzz_indices.c - grouping _cat/indices rows by Tracardi release and the shard budget, with values
 * in the ranges es_indices and es_health accept from Elasticsearch. One item a line:
 *   INDEX STATUS HEALTH PRI REP DOCS BYTES     a row of _cat/indices
 *   ref DB TENANT USES CONTAINER               what refers to a release (journal, containers)
 *   health DATA_NODES MAX_SHARDS_PER_NODE       the cluster's answers */
#include <errno.h>
#include <limits.h>

#include "fuzz.h"
#include "tracardi/releases.h"
#include "upgrade/indices.h"

#define MAX_ROWS 512
#define MAX_REFS 16

static int num(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    if (!s)
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A field copied the way es.c's get_str does: -1 when it does not fit. */
static int field(char *dst, size_t cap, const char *s)
{
    if (!s || strlen(s) >= cap)
        return -1;
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct es_index rows[MAX_ROWS];
    struct rel_ref refs[MAX_REFS];
    size_t n = 0, nrefs = 0;
    long data_nodes = 1, per_node = ES_DEFAULT_MAX_SHARDS_PER_NODE;
    char *text = fuzz_cstr(data, size);

    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *tok[8] = {NULL};
        size_t nt = 0;
        for (char *save = NULL, *t = strtok_r(line, " ", &save); t && nt < 8; t = strtok_r(NULL, " ", &save))
            tok[nt++] = t;
        long long a, b, c, d;
        if (nt == 3 && strcmp(tok[0], "health") == 0) {
            if (num(tok[1], 0, LONG_MAX, &a) == 0 && num(tok[2], 1, INT32_MAX, &b) == 0) {
                data_nodes = (long)a;
                per_node = (long)b;
            }
        } else if (nt >= 4 && strcmp(tok[0], "ref") == 0 && nrefs < MAX_REFS) {
            struct rel_ref *r = &refs[nrefs];
            memset(r, 0, sizeof(*r));
            if (field(r->db_version, sizeof(r->db_version), tok[1]) == 0 &&
                field(r->tenant, sizeof(r->tenant), tok[2]) == 0 && num(tok[3], 0, 15, &a) == 0 &&
                (nt < 5 || field(r->container, sizeof(r->container), tok[4]) == 0)) {
                r->uses = (int)a;
                nrefs++;
            }
        } else if (nt == 7 && n < MAX_ROWS) {
            /* What index_row accepts: JSON strings (UTF-8) that fit, counts that are not negative. */
            struct es_index *x = &rows[n];
            memset(x, 0, sizeof(*x));
            if (fuzz_clean_text(tok[0]) && field(x->name, sizeof(x->name), tok[0]) == 0 &&
                fuzz_clean_text(tok[1]) && field(x->status, sizeof(x->status), tok[1]) == 0 &&
                fuzz_clean_text(tok[2]) && field(x->health, sizeof(x->health), strcmp(tok[2], "-") ? tok[2] : "") == 0 &&
                num(tok[3], 0, LONG_MAX, &a) == 0 && num(tok[4], 0, LONG_MAX, &b) == 0 &&
                num(tok[5], -1, INT64_MAX, &c) == 0 && num(tok[6], -1, INT64_MAX, &d) == 0) {
                x->pri = (long)a;
                x->rep = (long)b;
                x->docs_count = c;
                x->store_bytes = d;
                n++;
            }
        }
    }

    json_t *doc = indices_group(rows, n, refs, nrefs);
    if (!doc)
        fuzz_fail("no grouping");
    /* As indices_collect sizes one more upgrade. */
    int64_t per_upgrade = 0;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "groups"), i, g) {
        const char *db = json_string_value(json_object_get(g, "db_version"));
        int64_t floor = release_next_install_shards(db ? db : "");
        int64_t shards = json_integer_value(json_object_get(g, "shards"));
        if (shards > per_upgrade)
            per_upgrade = shards;
        if (floor > per_upgrade)
            per_upgrade = floor;
        char why[512];
        (void)indices_guard(g, 0, why, sizeof(why));
        (void)indices_guard(g, REL_ROLLBACK | REL_CONTAINERS, why, sizeof(why));
    }
    indices_budget(doc, per_node, data_nodes, per_upgrade);
    for (i = 0; i < nrefs; i++)
        (void)indices_find(doc, refs[i].db_version, refs[i].tenant);
    free(indices_orphans_text(doc));
    json_decref(doc);
    free(text);
    return 0;
}
