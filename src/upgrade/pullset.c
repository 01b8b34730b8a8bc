/* pullset.c - concurrent pulls with credentials and digest pinning. */
#include "upgrade/pullset.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker/objects.h"
#include "registry/auth.h"
#include "registry/ref.h"
#include "util/xalloc.h"

long pull_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int pull_job_init(struct pull_job *job, const char *key, const char *ref, struct tu_err *err)
{
    memset(job, 0, sizeof(*job));
    struct image_ref r;
    if (image_ref_parse(ref, &r, err) < 0)
        return -1;
    if (!r.tag || r.digest) {
        image_ref_free(&r);
        return tu_err_set(err, TU_ERR_USAGE, "image '%s' must name a tag and no digest to be pulled", ref);
    }
    job->key = key;
    job->ref = xstrdup(ref);
    job->repo = image_ref_repo(&r);
    job->tag = xstrdup(r.tag);
    image_ref_free(&r);
    pull_progress_init(&job->prog);
    return 0;
}

void pull_job_free(struct pull_job *job)
{
    if (!job)
        return;
    free(job->ref);
    free(job->repo);
    free(job->tag);
    free(job->old_digest);
    free(job->digest);
    docker_stream_free(&job->stream);
    memset(job, 0, sizeof(*job));
}

struct line_ctx {
    struct pull_job *job;
    const struct pull_observer *obs;
    struct docker *d;
};

static int on_line(void *ud, const char *line, size_t len)
{
    struct line_ctx *lc = ud;
    enum pull_event ev = pull_progress_line(&lc->job->prog, line, len);
    if (ev != PULL_EV_NONE && lc->obs && lc->obs->event)
        lc->obs->event(lc->obs->ud, lc->job, ev);
    return 0;
}

/* The digest the tag points to on this host, for the repository. */
static char *local_digest(struct docker *d, const char *ref, const char *repo)
{
    json_t *img = NULL;
    struct tu_err e;
    if (docker_image_inspect(d, ref, &img, &e) < 0)
        return NULL;
    const char *dg = docker_image_repo_digest(img, repo);
    char *out = dg ? xstrdup(dg) : NULL;
    json_decref(img);
    return out;
}

/* Runs as each pull ends, so that progress shows it at once. */
static void finish_job(void *ud, struct docker_stream *s)
{
    struct line_ctx *lc = ud;
    struct pull_job *job = lc->job;
    job->finished_ms = pull_now_ms();
    if (s->err.kind != TU_ERR_NONE) {
        job->err = s->err;
    } else if (!s->done) {
        tu_err_set(&job->err, TU_ERR_IO, "interrupted");
    } else if (job->prog.failed) {
        /* The daemon said 200 and then reported the failure in the stream. */
        tu_err_set(&job->err, TU_ERR_HTTP, "%s", job->prog.error);
    } else {
        char *dg = local_digest(lc->d, job->ref, job->repo);
        if (!dg && job->prog.digest[0])
            dg = xstrdup(job->prog.digest);
        if (!dg)
            tu_err_set(&job->err, TU_ERR_PROTOCOL, "the pull ended but the image has no repository digest");
        job->digest = dg;
        job->ok = dg != NULL;
    }
    if (!job->ok)
        tu_err_prefix(&job->err, "cannot pull '%s': ", job->ref);
    if (lc->obs && lc->obs->event)
        lc->obs->event(lc->obs->ud, job, job->ok ? PULL_EV_DONE : PULL_EV_ERROR);
}

static int obs_tick(void *ud)
{
    const struct pull_observer *obs = ud;
    return obs && obs->tick ? obs->tick(obs->ud) : 0;
}

int pullset_run(struct docker *d, struct pull_job *jobs, size_t n, const struct pull_observer *obs,
                struct tu_err *err)
{
    if (n == 0)
        return 0;
    struct line_ctx *lcs = xcalloc(n, sizeof(*lcs));
    struct docker_stream **streams = xcalloc(n, sizeof(*streams));
    char **auth_values = xcalloc(n, sizeof(char *));
    int rc = -1;

    /* Credentials first, for every job: a failing helper stops everything before any pull. */
    for (size_t i = 0; i < n; i++) {
        struct image_ref r;
        if (image_ref_parse(jobs[i].ref, &r, err) < 0)
            goto out;
        const char *key = image_ref_auth_key(&r);
        for (size_t j = 0; j < i && !auth_values[i]; j++) {
            struct image_ref rj;
            struct tu_err ej;
            if (image_ref_parse(jobs[j].ref, &rj, &ej) == 0) {
                if (strcmp(image_ref_auth_key(&rj), key) == 0 && auth_values[j])
                    auth_values[i] = xstrdup(auth_values[j]);
                image_ref_free(&rj);
            }
        }
        if (!auth_values[i]) {
            struct reg_creds creds;
            if (auth_find(key, &creds, err) < 0) {
                tu_err_prefix(err, "credentials for '%s': ", key);
                image_ref_free(&r);
                goto out;
            }
            auth_values[i] = auth_header_value(&creds);
            reg_creds_free(&creds);
        }
        image_ref_free(&r);
    }

    for (size_t i = 0; i < n; i++) {
        struct pull_job *job = &jobs[i];
        free(job->old_digest);
        job->old_digest = local_digest(d, job->ref, job->repo);
        char *from = docker_escape(job->repo);
        char *tag = docker_escape(job->tag);
        char *path = xasprintf("/images/create?fromImage=%s&tag=%s", from, tag);
        free(from);
        free(tag);
        char *hdr = auth_values[i] ? xasprintf("X-Registry-Auth: %s", auth_values[i]) : NULL;
        const char *headers[] = {hdr, NULL};
        lcs[i].job = job;
        lcs[i].obs = obs;
        lcs[i].d = d;
        docker_stream_init(&job->stream, "POST", path, NULL, hdr ? headers : NULL, on_line, &lcs[i]);
        job->stream.on_done = finish_job;
        secret_free(hdr);
        free(path);
        streams[i] = &job->stream;
        job->started_ms = pull_now_ms();
        if (obs && obs->event)
            obs->event(obs->ud, job, PULL_EV_START);
    }

    struct pull_observer tick_obs = obs ? *obs : (struct pull_observer){0};
    docker_run_streams(d, streams, n, obs_tick, &tick_obs, 100);

    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (!jobs[i].finished_ms)  /* aborted before it ended */
            finish_job(&lcs[i], &jobs[i].stream);
        failed += !jobs[i].ok;
    }
    if (failed) {
        tu_err_set(err, TU_ERR_HTTP, "%d of %zu pulls failed", failed, n);
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        secret_free(auth_values[i]);
    free(auth_values);
    free(streams);
    free(lcs);
    return rc;
}
