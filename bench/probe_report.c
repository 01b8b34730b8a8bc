/* probe_report.c - the probe's two reports: text for people, one JSON object for tests. */
#include "probe.h"

#include <jansson.h>

#include <math.h>

typedef unsigned long long ull;

/* Milliseconds rounded to the microsecond the clock can honestly claim. */
static double ms(double seconds)
{
    return round(seconds * 1e6) / 1e3;
}

static double us_to_ms(uint64_t us)
{
    return (double)us / 1e3;
}

static void jset(json_t *obj, const char *key, json_t *val)
{
    if (!val || json_object_set_new(obj, key, val) != 0)
        fatal_oom();
}

static json_t *jobject(void)
{
    json_t *o = json_object();
    if (!o)
        fatal_oom();
    return o;
}

static json_t *jcount(uint64_t n)
{
    return json_integer((json_int_t)n);
}

static json_t *json_versions(const struct stats *st)
{
    json_t *vs = json_array();
    if (!vs)
        fatal_oom();
    for (size_t i = 0; i < st->n_versions; i++) {
        const struct version_seen *v = &st->versions[i];
        json_t *e = jobject();
        jset(e, "version", json_string(v->text));
        jset(e, "first_ms", json_real(ms(v->first_s)));
        jset(e, "last_ms", json_real(ms(v->last_s)));
        jset(e, "count", jcount(v->count));
        if (json_array_append_new(vs, e) != 0)
            fatal_oom();
    }
    return vs;
}

/* Returns 0, or -1 when the object could not be written to f. */
int report_json(FILE *f, const struct opts *o, const struct outcome *r)
{
    const struct stats *st = &r->st;
    json_t *root = jobject();

    jset(root, "url", json_string(o->url));
    jset(root, "rate", json_integer(o->rate));
    jset(root, "duration_s", json_real(o->duration_s));
    jset(root, "keepalive", json_boolean(o->keepalive));
    jset(root, "stopped_by", json_string(r->stopped_by));
    jset(root, "elapsed_s", json_real(round(r->elapsed_s * 1e3) / 1e3));
    jset(root, "drain_s", json_real(round(r->drain_s * 1e3) / 1e3));
    jset(root, "sent", jcount(st->sent));
    jset(root, "ok", jcount(st->ok));
    jset(root, "failed", jcount(st->failed));

    json_t *err = jobject();
    for (int k = 0; k < FAIL_KINDS; k++)
        jset(err, fail_kind_name((enum fail_kind)k), jcount(st->fail[k]));
    jset(root, "errors", err);

    json_t *status = jobject();
    for (size_t c = 0; c < STATUS_MAX; c++) {
        if (st->status[c]) {
            char key[16];
            snprintf(key, sizeof key, "%zu", c);
            jset(status, c ? key : "other", jcount(st->status[c]));
        }
    }
    jset(root, "status", status);
    jset(root, "first_error", st->first_error[0] ? json_string(st->first_error) : json_null());
    jset(root, "first_error_ms",
         st->first_error[0] ? json_real(ms(st->first_error_s)) : json_null());
    jset(root, "max_gap_ms", st->have_gap ? json_real(ms(st->max_gap_s)) : json_null());
    /* Where the longest gap lies in the run: the ok answers on either side of it. */
    jset(root, "max_gap_from_ms",
         st->have_gap ? json_real(ms(st->max_gap_end_s - st->max_gap_s)) : json_null());
    jset(root, "max_gap_to_ms", st->have_gap ? json_real(ms(st->max_gap_end_s)) : json_null());
    jset(root, "max_send_lag_ms", json_real(ms(st->max_lag_s)));

    json_t *lat = json_null();
    if (st->ok) {
        lat = jobject();
        jset(lat, "p50", json_real(us_to_ms(stats_quantile_us(st, 0.50))));
        jset(lat, "p90", json_real(us_to_ms(stats_quantile_us(st, 0.90))));
        jset(lat, "p99", json_real(us_to_ms(stats_quantile_us(st, 0.99))));
        jset(lat, "max", json_real(us_to_ms(st->lat_max_us)));
    }
    jset(root, "latency_ms", lat);

    if (o->record_version) {
        jset(root, "versions", json_versions(st));
        jset(root, "versions_unnamed", jcount(st->versions_unnamed));
        jset(root, "version_changes", jcount(st->version_changes));
    }

    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    json_decref(root);
    if (rc != 0 || fputc('\n', f) == EOF)
        return -1;
    return 0;
}

void report_text(FILE *f, const struct opts *o, const struct outcome *r)
{
    const struct stats *st = &r->st;

    fprintf(f, "probe      %s, %ld req/s, %s\n", o->url, o->rate,
            o->keepalive ? "connections reused" : "new connection per request");
    fprintf(f, "ran        %.3f s, stopped by %s, then %.3f s awaiting answers\n",
            r->elapsed_s, r->stopped_by, r->drain_s);
    fprintf(f, "sent       %llu\n", (ull)st->sent);
    fprintf(f, "ok         %llu\n", (ull)st->ok);
    fprintf(f, "failed     %llu (", (ull)st->failed);
    for (int k = 0; k < FAIL_KINDS; k++)
        fprintf(f, "%s%s %llu", k ? ", " : "", fail_kind_name((enum fail_kind)k),
                (ull)st->fail[k]);
    fputs(")\n", f);
    if (st->fail[FAIL_HTTP]) {
        fputs("status    ", f);
        for (size_t c = 0; c < STATUS_MAX; c++) {
            if (st->status[c])
                fprintf(f, " %zu x %llu", c, (ull)st->status[c]);
        }
        fputc('\n', f);
    }
    if (st->first_error[0])
        fprintf(f, "first err  %s, at %.1f ms\n", st->first_error, ms(st->first_error_s));
    if (st->have_gap)
        fprintf(f, "max gap    %.1f ms between ok answers, from %.1f ms to %.1f ms\n", ms(st->max_gap_s),
                ms(st->max_gap_end_s - st->max_gap_s), ms(st->max_gap_end_s));
    else
        fputs("max gap    - (fewer than two ok answers)\n", f);
    if (st->ok)
        fprintf(f, "latency    p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms (ok answers)\n",
                us_to_ms(stats_quantile_us(st, 0.50)), us_to_ms(stats_quantile_us(st, 0.90)),
                us_to_ms(stats_quantile_us(st, 0.99)), us_to_ms(st->lat_max_us));
    fprintf(f, "send lag   max %.1f ms behind schedule\n", ms(st->max_lag_s));
    if (o->record_version) {
        for (size_t i = 0; i < st->n_versions; i++) {
            const struct version_seen *v = &st->versions[i];
            fprintf(f, "version    \"%s\" x %llu, first %.1f ms, last %.1f ms\n", v->text,
                    (ull)v->count, ms(v->first_s), ms(v->last_s));
        }
        if (st->versions_unnamed)
            fprintf(f, "version    %llu answers carried further versions, not listed\n",
                    (ull)st->versions_unnamed);
        fprintf(f, "changes    %llu between consecutive ok answers\n", (ull)st->version_changes);
    }
}
