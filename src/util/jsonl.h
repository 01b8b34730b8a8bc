/* jsonl.h - splits a byte stream into lines as it arrives (JSON-lines streams). */
#ifndef TRACUP_JSONL_H
#define TRACUP_JSONL_H

#include <stddef.h>

#include "util/buf.h"

/* Called once per complete line, without its "\n" or "\r\n"; empty lines are
 * skipped. Return 0 to go on, non-zero to stop the stream. */
typedef int (*jsonl_line_fn)(void *ud, const char *line, size_t len);

struct jsonl {
    struct buf pending;   /* the incomplete tail of the last chunk */
    size_t max_line;
    jsonl_line_fn fn;
    void *ud;
    int too_long;         /* set when a line passed max_line */
};

void jsonl_init(struct jsonl *j, size_t max_line, jsonl_line_fn fn, void *ud);
/* Feeds a chunk. Returns 0; -1 when a line passed the cap; or the callback's
 * non-zero value. */
int jsonl_feed(struct jsonl *j, const char *data, size_t len);
/* Delivers a last line that had no newline. Returns like jsonl_feed. */
int jsonl_finish(struct jsonl *j);
void jsonl_free(struct jsonl *j);

#endif
