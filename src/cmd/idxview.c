/* idxview.c - printing the indices by release, a release's index list, and typed confirmations. */
#include "cmd/idxview.h"

#include <string.h>
#include <unistd.h>

#include "cmd/progress.h"
#include "tracardi/releases.h"

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static long long ji(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* "live", "rollback target", "orphan", "containers: a, b", "not Tracardi's". */
static void state_text(json_t *g, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t o = 0;
    if (!json_is_true(json_object_get(g, "tracardi"))) {
        snprintf(buf, cap, "not Tracardi's (never touched)");
        return;
    }
    if (json_is_true(json_object_get(g, "orphan"))) {
        snprintf(buf, cap, "orphan (no container)");
        return;
    }
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(g, "uses"), i, u) {
        const char *s = json_string_value(u);
        const char *t = strcmp(s, "rollback") == 0 ? "rollback target (kept)" : strcmp(s, "upgrading") == 0 ? "upgrade under way" : s;
        int w = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", t);
        if (w < 0 || (size_t)w >= cap - o)
            return;
        o += (size_t)w;
    }
    json_t *cs = json_object_get(g, "containers");
    if (json_array_size(cs) && o < cap)
        snprintf(buf + o, cap - o, "%s%zu container%s (%s%s)", o ? ", " : "", json_array_size(cs),
                 json_array_size(cs) == 1 ? "" : "s", json_string_value(json_array_get(cs, 0)),
                 json_array_size(cs) > 1 ? ", …" : "");
}

void idxview_group(FILE *f, json_t *group, const char *indent)
{
    char b[32];
    size_t i;
    json_t *ix;
    json_array_foreach(json_object_get(group, "indices"), i, ix) {
        long long docs = ji(ix, "docs"), bytes = ji(ix, "bytes");
        char db[32];
        fprintf(f, "%s%-60s %10s docs %10s\n", indent, js(ix, "index"),
                docs >= 0 ? (snprintf(db, sizeof(db), "%lld", docs), db) : "?",
                bytes >= 0 ? progress_bytes(b, sizeof(b), bytes) : "?");
    }
    fprintf(f, "%s%lld indices, %lld documents, %s, %lld shards\n", indent, ji(group, "count"), ji(group, "docs"),
            progress_bytes(b, sizeof(b), ji(group, "bytes")), ji(group, "shards"));
}

void idxview_budget(FILE *f, json_t *doc)
{
    json_t *b = json_object_get(doc, "budget");
    if (!b)
        return;
    long long nodes = ji(b, "data_nodes");
    fprintf(f, "Shards: %lld of %lld open (cluster.max_shards_per_node %lld x %lld data node%s), %lld free.\n",
            ji(b, "shards_open"), ji(b, "shard_limit"), ji(b, "max_shards_per_node"), nodes, nodes == 1 ? "" : "s",
            ji(b, "shards_free"));
    fprintf(f, "One more upgrade adds about %lld shards: %lld more upgrade%s fit before the limit.\n",
            ji(b, "per_upgrade"), ji(b, "upgrades_fit"), ji(b, "upgrades_fit") == 1 ? "" : "s");
    size_t i;
    json_t *g;
    int first = 1;
    json_array_foreach(json_object_get(doc, "groups"), i, g) {
        if (!json_is_true(json_object_get(g, "orphan")))
            continue;
        if (first)
            fprintf(f, "Orphan releases (%lld shards), which 'tracup prune-indices --release …' can delete:\n",
                    ji(b, "orphan_shards"));
        first = 0;
        char prefix[16];
        release_db_prefix(js(g, "db_version"), prefix, sizeof(prefix));
        fprintf(f, "  %s (%s.%s.*): %lld ind%s, %lld shards\n", js(g, "release"), prefix, js(g, "tenant"),
                ji(g, "count"), ji(g, "count") == 1 ? "ex" : "ices", ji(g, "shards"));
    }
}

void idxview_table(FILE *f, json_t *doc, int names)
{
    json_t *es = json_object_get(doc, "elasticsearch");
    if (es)
        fprintf(f, "Elasticsearch %s: cluster %s, %s, %lld data node%s\n", js(es, "endpoint"), js(es, "cluster"),
                js(es, "health"), ji(es, "data_nodes"), ji(es, "data_nodes") == 1 ? "" : "s");
    fprintf(f, "%-9s %-10s %-7s %7s %7s %7s %11s %10s  %s\n", "RELEASE", "DB", "TENANT", "INDICES", "PRIMARY",
            "SHARDS", "DOCUMENTS", "SIZE", "STATE");
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "groups"), i, g) {
        char st[256], sz[32];
        state_text(g, st, sizeof(st));
        int tr = json_is_true(json_object_get(g, "tracardi"));
        fprintf(f, "%-9s %-10s %-7s %7lld %7lld %7lld %11lld %10s  %s\n", js(g, "release"),
                tr ? js(g, "db_version") : "-", tr ? js(g, "tenant") : "-", ji(g, "count"), ji(g, "primary_shards"),
                ji(g, "shards"), ji(g, "docs"), progress_bytes(sz, sizeof(sz), ji(g, "bytes")), st);
        if (names)
            idxview_group(f, g, "    ");
    }
    if (!json_array_size(json_object_get(doc, "groups")))
        fprintf(f, "(no indices)\n");
    idxview_budget(f, doc);
}

int idxview_confirm_typed(struct tu_ctx *ctx, const char *what, const char *expected, int yes)
{
    if (yes)
        return 1;
    FILE *f = ctx->json ? ctx->errout : ctx->out;
    fprintf(f, "This cannot be undone. Type %s (%s) to go on: ", what, expected);
    fflush(f);
    char line[128];
    if (!fgets(line, sizeof(line), stdin)) {
        fputc('\n', f);
        return 0;
    }
    line[strcspn(line, "\r\n")] = '\0';
    /* A typed answer ends the line on a terminal; a piped one does not. */
    if (!isatty(STDIN_FILENO))
        fputc('\n', f);
    return strcmp(line, expected) == 0;
}
