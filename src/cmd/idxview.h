/* idxview.h - printing the indices by release, a release's index list, and typed confirmations. */
#ifndef TRACUP_CMD_IDXVIEW_H
#define TRACUP_CMD_IDXVIEW_H

#include <jansson.h>
#include <stdio.h>

#include "cmd/cmd.h"

/* The table of groups (indices_collect's document) and the budget; names: every
 * index under its group. */
void idxview_table(FILE *f, json_t *doc, int names);
/* The budget line(s) and the orphans prune-indices could remove. */
void idxview_budget(FILE *f, json_t *doc);
/* Every index of a group with its documents and size, and the totals. */
void idxview_group(FILE *f, json_t *group, const char *indent);
/* Asks the operator to type `expected` (on stdin, a terminal or not); yes skips
 * the question. Returns non-zero when confirmed. */
int idxview_confirm_typed(struct tu_ctx *ctx, const char *what, const char *expected, int yes);

#endif
