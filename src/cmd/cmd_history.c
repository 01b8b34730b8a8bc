/* cmd_history.c - `tracup history`: every upgrade, rollback and finalize on record. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "upgrade/upctx.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#define HISTORY_MAX (16 * 1024 * 1024)

enum { O_STACK, O_JSON };
static const struct opt_spec opts[] = {
    [O_STACK] = {"stack", 0, "NAME", "only this stack"},
    [O_JSON] = {"json", 0, NULL, "print one JSON array"},
    {NULL, 0, NULL, NULL},
};

/* Appends the records of one stack's history file to out; bad lines are counted. */
static int read_history(const char *stack, json_t *out, size_t *bad, struct tu_err *err)
{
    char *path = xasprintf("%s/%s/history.jsonl", upctx_state_root(), stack);
    struct buf b;
    int r = fs_read_capped(path, HISTORY_MAX, &b, err);
    free(path);
    if (r != 0)
        return r == 1 ? 0 : -1;
    for (char *line = b.data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line) {
            json_t *j = json_loads(line, 0, NULL);
            if (json_is_object(j))
                json_array_append_new(out, j);
            else {
                json_decref(j);
                (*bad)++;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    buf_free(&b);
    return 0;
}

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    json_t *all = json_array();
    size_t bad = 0;
    struct tu_err err;
    tu_err_clear(&err);
    int rc = TU_EXIT_OK;
    if (o->value[O_STACK]) {
        if (!upctx_stack_name_ok(o->value[O_STACK])) {
            tu_err_set(&err, TU_ERR_USAGE, "stack name '%.60s' cannot name a state directory", o->value[O_STACK]);
            rc = cmd_fail(ctx, &err, TU_EXIT_USAGE);
        } else if (read_history(o->value[O_STACK], all, &bad, &err) < 0)
            rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
    } else {
        /* Every directory (or link to one) with a stack's name is a stack; the
         * state root also holds files of its own (bundles.json and its lock). */
        DIR *dp = opendir(upctx_state_root());
        struct dirent *de;
        struct stat st;
        while (rc == 0 && dp && (de = readdir(dp)))
            if (upctx_stack_name_ok(de->d_name) && fstatat(dirfd(dp), de->d_name, &st, 0) == 0 &&
                S_ISDIR(st.st_mode) && read_history(de->d_name, all, &bad, &err) < 0)
                rc = cmd_fail(ctx, &err, TU_EXIT_ERROR);
        if (dp)
            closedir(dp);
    }
    if (rc == 0) {
        if (ctx->json) {
            json_dumpf(all, ctx->out, JSON_COMPACT);
            fputc('\n', ctx->out);
        } else if (!json_array_size(all)) {
            fprintf(ctx->out, "no history yet (%s)\n", upctx_state_root());
        } else {
            fprintf(ctx->out, "%-20s %-12s %-13s %-8s %-8s %-24s %8s %s\n", "WHEN", "STACK", "OPERATION", "FROM", "TO",
                    "RESULT", "SECONDS", "WHO");
            size_t i;
            json_t *r;
            json_array_foreach(all, i, r)
                fprintf(ctx->out, "%-20s %-12s %-13s %-8s %-8s %-24s %8.1f %s\n", js(r, "when"), js(r, "stack"),
                        js(r, "operation"), json_object_get(r, "from") ? js(r, "from") : js(r, "release"), js(r, "to"),
                        js(r, "result"),
                        json_number_value(json_object_get(r, "duration_s")), js(r, "who"));
        }
        if (bad)
            cmd_warn(ctx, "%zu history lines could not be read and were skipped", bad);
    }
    json_decref(all);
    return rc;
}

const struct cmd_entry cmd_history_entry = {
    .name = "history",
    .summary = "list the upgrades, rollbacks and finalizes on record",
    .usage = "[--stack NAME] [--json]",
    .description = "Reads the history files under the state directory ($TRACUP_STATE_DIR, default\n" TU_STATE_DIR_DEFAULT ").",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
