/* fuzz_pull.c - a pull's JSON-lines progress stream, split as the client splits it and folded into progress. */
#include "docker/pull.h"
#include "fuzz.h"
#include "util/jsonl.h"

/* The client's cap on one stream line (struct docker's max_line). */
#define PULL_LINE_MAX (1024u * 1024)

static void check(const struct pull_progress *p)
{
    if (p->nlayers > PULL_MAX_LAYERS || p->layers_done < 0 || (size_t)p->layers_done > p->nlayers)
        fuzz_fail("%zu layers, %d done", p->nlayers, p->layers_done);
    if (!memchr(p->digest, '\0', sizeof(p->digest)) || !memchr(p->status, '\0', sizeof(p->status)) ||
        !memchr(p->error, '\0', sizeof(p->error)))
        fuzz_fail("a text field is not terminated");
    if (strpbrk(p->error, "\r\n"))
        fuzz_fail("the error message spans lines");
    for (size_t i = 0; i < p->nlayers; i++) {
        const struct pull_layer *l = &p->layers[i];
        if (!memchr(l->id, '\0', sizeof(l->id)))
            fuzz_fail("layer %zu has no terminated id", i);
        if (l->current < 0 || l->total < 0 || (l->total && l->current > l->total))
            fuzz_fail("layer %zu at %lld of %lld", i, (long long)l->current, (long long)l->total);
    }
}

static int on_line(void *ud, const char *line, size_t len)
{
    struct pull_progress *p = ud;
    enum pull_event ev = pull_progress_line(p, line, len);
    if (ev < PULL_EV_NONE || ev > PULL_EV_ERROR)
        fuzz_fail("event %d from a stream line", (int)ev);
    check(p);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pull_progress p;  /* 30 KiB: off the stack */
    if (size < 1)
        return 0;
    /* Curl hands the stream over in pieces of any size: the first byte picks it. */
    size_t chunk = 1 + data[0] % 97;
    data++;
    size--;
    pull_progress_init(&p);
    struct jsonl j;
    jsonl_init(&j, PULL_LINE_MAX, on_line, &p);
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk)
        rc = jsonl_feed(&j, (const char *)data + off, size - off < chunk ? size - off : chunk);
    if (rc == 0)
        jsonl_finish(&j);
    jsonl_free(&j);
    return 0;
}
