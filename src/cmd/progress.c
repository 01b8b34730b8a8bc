/* progress.c - pull progress for people and for scripts. */
#include "cmd/progress.h"

#include <jansson.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cmd/cmd.h"

const char *progress_bytes(char *buf, size_t len, long long n)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)n;
    size_t u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%lld B", n);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

void progress_init(struct progress_view *v, enum progress_mode mode, FILE *f, struct pull_job *jobs, size_t n)
{
    memset(v, 0, sizeof(*v));
    v->mode = mode;
    v->f = f;
    v->jobs = jobs;
    v->n = n;
    v->width = 100;
    struct winsize ws;
    if (mode == PROGRESS_TTY && ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        v->width = ws.ws_col;
}

static const char *job_state(const struct pull_job *j)
{
    if (j->finished_ms)
        return j->ok ? (j->prog.up_to_date ? "up to date" : "done") : "failed";
    if (j->prog.failed)
        return "failed";
    if (!j->prog.nlayers)
        return "resolving";
    return "pulling";
}

static void draw_line(struct progress_view *v, const struct pull_job *j, long now)
{
    char done[32], total[32], rate[32], line[512];
    long ms = (j->finished_ms ? j->finished_ms : now) - j->started_ms;
    long long r = ms > 0 ? (long long)j->prog.bytes_done * 1000 / ms : 0;
    snprintf(line, sizeof(line), "%-14s %10s / %-10s %3d/%-3zu layers %10s/s  %s", j->key,
             progress_bytes(done, sizeof(done), j->prog.bytes_done),
             progress_bytes(total, sizeof(total), j->prog.bytes_total), j->prog.layers_done, j->prog.nlayers,
             progress_bytes(rate, sizeof(rate), r), job_state(j));
    /* A wrapped line would break the redraw: cut to the terminal's width. */
    if ((int)strlen(line) >= v->width)
        line[v->width - 1] = '\0';
    fprintf(v->f, "\r\033[2K%s\n", line);
}

static void redraw(struct progress_view *v)
{
    long now = pull_now_ms();
    if (v->drawn)
        fprintf(v->f, "\033[%dA", v->drawn);
    for (size_t i = 0; i < v->n; i++)
        draw_line(v, &v->jobs[i], now);
    v->drawn = (int)v->n;
    v->last_draw_ms = now;
    fflush(v->f);
}

static const char *event_name(enum pull_event ev)
{
    switch (ev) {
    case PULL_EV_START: return "start";
    case PULL_EV_LAYER: return "progress";
    case PULL_EV_LAYER_DONE: return "layer_done";
    case PULL_EV_DIGEST: return "digest";
    case PULL_EV_STATUS: return "status";
    case PULL_EV_ERROR: return "error";
    case PULL_EV_DONE: return "done";
    case PULL_EV_NONE: break;
    }
    return "event";
}

static void json_event(struct progress_view *v, const struct pull_job *j, enum pull_event ev)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:i}", "event", event_name(ev), "image", j->key, "ref",
                          j->ref, "bytes_done", (json_int_t)j->prog.bytes_done, "bytes_total",
                          (json_int_t)j->prog.bytes_total, "layers_done", j->prog.layers_done, "layers",
                          (int)j->prog.nlayers);
    if (ev == PULL_EV_DONE) {
        json_object_set_new(o, "digest", json_string(j->digest));
        json_object_set_new(o, "previous_digest", j->old_digest ? json_string(j->old_digest) : json_null());
        json_object_set_new(o, "up_to_date", json_boolean(j->prog.up_to_date));
    }
    if (ev == PULL_EV_DIGEST)
        json_object_set_new(o, "digest", json_string(j->prog.digest));
    if (ev == PULL_EV_ERROR)
        json_object_set_new(o, "message", json_string(j->finished_ms ? j->err.msg : j->prog.error));
    json_dumpf(o, v->f, JSON_COMPACT);
    fputc('\n', v->f);
    fflush(v->f);
    json_decref(o);
}

void progress_event(void *ud, struct pull_job *job, enum pull_event ev)
{
    struct progress_view *v = ud;
    char a[32], b[32];
    switch (v->mode) {
    case PROGRESS_QUIET:
        return;
    case PROGRESS_JSON:
        /* Byte progress goes out from the tick, at most once a second. */
        if (ev != PULL_EV_LAYER)
            json_event(v, job, ev);
        return;
    case PROGRESS_TTY:
        if (ev == PULL_EV_START || ev == PULL_EV_DONE || ev == PULL_EV_ERROR || ev == PULL_EV_LAYER_DONE)
            redraw(v);
        return;
    case PROGRESS_PLAIN:
        switch (ev) {
        case PULL_EV_START:
            fprintf(v->f, "%s: pulling %s\n", job->key, job->ref);
            break;
        case PULL_EV_LAYER_DONE:
            fprintf(v->f, "%s: layer %d/%zu done (%s of %s)\n", job->key, job->prog.layers_done, job->prog.nlayers,
                    progress_bytes(a, sizeof(a), job->prog.bytes_done),
                    progress_bytes(b, sizeof(b), job->prog.bytes_total));
            break;
        case PULL_EV_DONE:
            fprintf(v->f, "%s: %s in %.1f s\n", job->key, job->prog.up_to_date ? "up to date" : "pulled",
                    (double)(job->finished_ms - job->started_ms) / 1000.0);
            break;
        case PULL_EV_ERROR:
            if (!job->finished_ms)
                fprintf(v->f, "%s: failed: %s\n", job->key, job->prog.error);
            break;
        default:
            break;
        }
        fflush(v->f);
        return;
    }
}

int progress_tick(void *ud)
{
    struct progress_view *v = ud;
    long now = pull_now_ms();
    if (v->mode == PROGRESS_TTY && now - v->last_draw_ms >= 200)
        redraw(v);
    if (v->mode == PROGRESS_JSON && now - v->last_json_ms >= 1000) {
        v->last_json_ms = now;
        for (size_t i = 0; i < v->n; i++)
            if (!v->jobs[i].finished_ms && v->jobs[i].prog.nlayers)
                json_event(v, &v->jobs[i], PULL_EV_LAYER);
    }
    return tu_interrupted();
}

void progress_end(struct progress_view *v)
{
    if (v->mode == PROGRESS_TTY)
        redraw(v);
}
