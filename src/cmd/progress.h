/* progress.h - showing concurrent pulls: live lines on a terminal, milestones, or JSON events. */
#ifndef TRACUP_CMD_PROGRESS_H
#define TRACUP_CMD_PROGRESS_H

#include <stdio.h>

#include "upgrade/pullset.h"

enum progress_mode { PROGRESS_TTY, PROGRESS_PLAIN, PROGRESS_JSON, PROGRESS_QUIET };

struct progress_view {
    enum progress_mode mode;
    FILE *f;
    struct pull_job *jobs;
    size_t n;
    int drawn;            /* lines drawn on the terminal so far */
    long last_draw_ms;
    long last_json_ms;
    int width;            /* terminal columns */
};

void progress_init(struct progress_view *v, enum progress_mode mode, FILE *f, struct pull_job *jobs, size_t n);
/* Observer callbacks for pullset_run. */
void progress_event(void *ud, struct pull_job *job, enum pull_event ev);
int progress_tick(void *ud);
/* Draws the final state (terminal mode). */
void progress_end(struct progress_view *v);

/* "12.3 MB" into buf. */
const char *progress_bytes(char *buf, size_t len, long long n);

#endif
