/* jsonl.c - incremental line splitting with a per-line cap. */
#include "util/jsonl.h"

#include <string.h>

void jsonl_init(struct jsonl *j, size_t max_line, jsonl_line_fn fn, void *ud)
{
    buf_init(&j->pending, max_line + 2);
    j->max_line = max_line;
    j->fn = fn;
    j->ud = ud;
    j->too_long = 0;
}

static int deliver(struct jsonl *j, const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    if (len > j->max_line) {
        j->too_long = 1;
        return -1;
    }
    return j->fn(j->ud, line, len);
}

int jsonl_feed(struct jsonl *j, const char *data, size_t len)
{
    if (j->too_long)
        return -1;
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        if (!nl) {
            if (buf_append(&j->pending, data, len) < 0) {
                j->too_long = 1;
                return -1;
            }
            return 0;
        }
        size_t n = (size_t)(nl - data);
        int rc;
        if (j->pending.len) {
            if (buf_append(&j->pending, data, n) < 0) {
                j->too_long = 1;
                return -1;
            }
            rc = deliver(j, j->pending.data, j->pending.len);
            buf_reset(&j->pending);
        } else {
            rc = deliver(j, data, n);
        }
        if (rc)
            return rc;
        data = nl + 1;
        len -= n + 1;
    }
    return 0;
}

int jsonl_finish(struct jsonl *j)
{
    if (j->too_long)
        return -1;
    if (!j->pending.len)
        return 0;
    int rc = deliver(j, j->pending.data, j->pending.len);
    buf_reset(&j->pending);
    return rc;
}

void jsonl_free(struct jsonl *j)
{
    buf_free(&j->pending);
}
