/* pull.h - following one image pull's JSON-lines progress stream. */
#ifndef TRACUP_DOCKER_PULL_H
#define TRACUP_DOCKER_PULL_H

#include <stddef.h>
#include <stdint.h>

#define PULL_MAX_LAYERS 256

struct pull_layer {
    char id[72];
    int64_t current;  /* bytes downloaded */
    int64_t total;    /* bytes to download; 0 while unknown */
    int done;         /* "Pull complete" or "Already exists" */
};

enum pull_event {
    PULL_EV_NONE = 0,
    PULL_EV_LAYER,      /* a layer appeared or progressed */
    PULL_EV_LAYER_DONE, /* a layer finished */
    PULL_EV_DIGEST,     /* "Digest: sha256:..." */
    PULL_EV_STATUS,     /* "Status: ..." — the last word of the pull */
    PULL_EV_ERROR,      /* errorDetail / error in the stream, or the pull failed */
    PULL_EV_START,      /* (observers only) the pull was sent */
    PULL_EV_DONE,       /* (observers only) the pull succeeded and the digest is known */
};

struct pull_progress {
    struct pull_layer layers[PULL_MAX_LAYERS];
    size_t nlayers;
    int layers_done;
    int64_t bytes_done;
    int64_t bytes_total;
    char digest[80];     /* from the stream, may be empty */
    char status[256];    /* the final "Status: ..." text */
    int up_to_date;      /* "Image is up to date" */
    int failed;
    char error[512];
    int bad_lines;       /* lines that were not JSON objects */
};

void pull_progress_init(struct pull_progress *p);
/* Applies one line of the stream; returns the kind of event it was. */
enum pull_event pull_progress_line(struct pull_progress *p, const char *line, size_t len);

#endif
