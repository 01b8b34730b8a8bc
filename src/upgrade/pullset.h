/* pullset.h - pulling a set of images concurrently, pinned by digest. */
#ifndef TRACUP_UPGRADE_PULLSET_H
#define TRACUP_UPGRADE_PULLSET_H

#include "docker/client.h"
#include "docker/pull.h"

struct pull_job {
    const char *key;      /* "api", "gui", … (borrowed) */
    char *ref;            /* "<prefix>/tracardi/tracardi-api:0.8.2" */
    char *repo;           /* ref without the tag */
    char *tag;
    char *old_digest;     /* the tag's repository digest on this host before the pull, or NULL */
    char *digest;         /* after a successful pull */
    struct pull_progress prog;
    struct docker_stream stream;
    struct tu_err err;
    int ok;
    long started_ms, finished_ms;
};

struct pull_observer {
    void (*event)(void *ud, struct pull_job *job, enum pull_event ev);
    int (*tick)(void *ud); /* non-zero aborts */
    void *ud;
};

/* Fills a job for one image reference (validated). */
int pull_job_init(struct pull_job *job, const char *key, const char *ref, struct tu_err *err);
void pull_job_free(struct pull_job *job);

/* Finds credentials for each registry, then pulls every job at once. Returns 0
 * when all succeeded; -1 with err set when the pulls could not start (e.g. a
 * failing credential helper: nothing was pulled) or when any job failed (see
 * each job's err). */
int pullset_run(struct docker *d, struct pull_job *jobs, size_t n, const struct pull_observer *obs,
                struct tu_err *err);

long pull_now_ms(void);

#endif
