/* pull.c - aggregating a pull stream into per-image progress. */
#include "docker/pull.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

void pull_progress_init(struct pull_progress *p)
{
    memset(p, 0, sizeof(*p));
}

static struct pull_layer *layer_get(struct pull_progress *p, const char *id)
{
    for (size_t i = 0; i < p->nlayers; i++)
        if (strcmp(p->layers[i].id, id) == 0)
            return &p->layers[i];
    if (p->nlayers == PULL_MAX_LAYERS || strlen(id) >= sizeof(p->layers[0].id))
        return NULL;
    struct pull_layer *l = &p->layers[p->nlayers++];
    memset(l, 0, sizeof(*l));
    snprintf(l->id, sizeof(l->id), "%s", id);
    return l;
}

/* Layer sizes are the daemon's numbers: the sums saturate rather than overflow. */
static int64_t add_sat(int64_t a, int64_t b)
{
    return b > 0 && a > INT64_MAX - b ? INT64_MAX : a + b;
}

static void recount(struct pull_progress *p)
{
    p->bytes_done = p->bytes_total = 0;
    p->layers_done = 0;
    for (size_t i = 0; i < p->nlayers; i++) {
        const struct pull_layer *l = &p->layers[i];
        p->bytes_total = add_sat(p->bytes_total, l->total);
        p->bytes_done = add_sat(p->bytes_done, l->done ? l->total : l->current);
        p->layers_done += l->done;
    }
}

static int64_t int_field(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return -1;
    json_int_t n = json_integer_value(v);
    return n < 0 ? -1 : (int64_t)n;
}

enum pull_event pull_progress_line(struct pull_progress *p, const char *line, size_t len)
{
    json_t *j = json_loadb(line, len, 0, NULL);
    enum pull_event ev = PULL_EV_NONE;
    if (!json_is_object(j)) {
        p->bad_lines++;
        json_decref(j);
        return PULL_EV_NONE;
    }
    json_t *errd = json_object_get(j, "errorDetail");
    const char *errs = json_string_value(json_object_get(j, "error"));
    if (errd || errs) {
        const char *m = json_string_value(json_object_get(errd, "message"));
        if (!m)
            m = errs ? errs : "the pull failed";
        p->failed = 1;
        snprintf(p->error, sizeof(p->error), "%s", m);
        for (char *c = p->error; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        json_decref(j);
        return PULL_EV_ERROR;
    }
    const char *status = json_string_value(json_object_get(j, "status"));
    const char *id = json_string_value(json_object_get(j, "id"));
    if (!status) {
        json_decref(j);
        return PULL_EV_NONE;
    }
    if (strncmp(status, "Digest: ", 8) == 0) {
        snprintf(p->digest, sizeof(p->digest), "%s", status + 8);
        ev = PULL_EV_DIGEST;
    } else if (strncmp(status, "Status: ", 8) == 0) {
        snprintf(p->status, sizeof(p->status), "%s", status + 8);
        p->up_to_date = strstr(status, "up to date") != NULL;
        ev = PULL_EV_STATUS;
    } else if (id && (strcmp(status, "Pulling fs layer") == 0 || strcmp(status, "Waiting") == 0 ||
                      strcmp(status, "Downloading") == 0 || strcmp(status, "Verifying Checksum") == 0 ||
                      strcmp(status, "Download complete") == 0 || strcmp(status, "Extracting") == 0 ||
                      strcmp(status, "Pull complete") == 0 || strcmp(status, "Already exists") == 0)) {
        struct pull_layer *l = layer_get(p, id);
        if (l) {
            json_t *pd = json_object_get(j, "progressDetail");
            if (strcmp(status, "Downloading") == 0) {
                int64_t cur = int_field(pd, "current"), tot = int_field(pd, "total");
                if (cur >= 0)
                    l->current = cur;
                if (tot > 0)
                    l->total = tot;
                if (l->total && l->current > l->total)
                    l->current = l->total;
            } else if (strcmp(status, "Download complete") == 0 || strcmp(status, "Extracting") == 0) {
                l->current = l->total;
            }
            ev = PULL_EV_LAYER;
            if (!l->done && (strcmp(status, "Pull complete") == 0 || strcmp(status, "Already exists") == 0)) {
                l->done = 1;
                l->current = l->total;
                ev = PULL_EV_LAYER_DONE;
            }
            recount(p);
        }
    }
    json_decref(j);
    return ev;
}
