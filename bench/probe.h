/* probe.h - tracup-probe's options, counters and reports, shared by its three files. */
#ifndef TRACUP_PROBE_H
#define TRACUP_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_ALLOW_HOSTS 8
#define VERSION_MAX 64
#define VERSIONS_MAX 32     /* distinct versions kept; more are counted, not named */
#define STATUS_MAX 600
/* Latency histogram: 1 us buckets below 128 us, then 64 buckets per power of two
 * (under 1.6% error), up to 2^40 us; memory stays fixed however long the run. */
#define HIST_LINEAR 128
#define HIST_SUB 64
#define HIST_TOP_BIT 40
#define HIST_BUCKETS (HIST_LINEAR + (HIST_TOP_BIT - 6) * HIST_SUB)

struct opts {
    const char *url;
    long rate;
    double duration_s;
    long long max_requests;   /* 0: no limit but the duration */
    long timeout_ms;
    long max_inflight;
    int keepalive;
    int json;
    int record_version;
    const char *until_file;
    const char *allow_hosts[MAX_ALLOW_HOSTS];
    size_t n_allow_hosts;
};

enum fail_kind {
    FAIL_CONNECT,    /* refused or unresolvable: nothing listened */
    FAIL_RESET,      /* the peer went away mid-exchange */
    FAIL_TIMEOUT,
    FAIL_OTHER,      /* any other transport error */
    FAIL_HTTP,       /* an answer outside 2xx */
    FAIL_OVER_CAP,   /* not sent: the in-flight cap was reached */
    FAIL_ABORTED,    /* still unanswered when the probe gave up waiting */
    FAIL_KINDS
};

struct version_seen {
    char text[VERSION_MAX + 1];
    double first_s, last_s;   /* since the start, when answers carrying it completed */
    uint64_t count;
};

struct stats {
    uint64_t sent, ok, failed;   /* sent == ok + failed once the run is over */
    uint64_t fail[FAIL_KINDS];
    uint64_t status[STATUS_MAX]; /* non-2xx answers; [0] holds codes outside 1..599 */
    char first_error[128];
    double first_error_s;
    int have_ok;
    double last_ok_s;
    int have_gap;
    double max_gap_s;
    double max_gap_end_s;        /* when the answer that ended the longest gap came */
    double max_lag_s;
    uint64_t hist[HIST_BUCKETS];
    uint64_t lat_max_us;
    struct version_seen versions[VERSIONS_MAX];
    size_t n_versions;
    uint64_t versions_unnamed;
    uint64_t version_changes;
    int last_version;            /* index; -1 unnamed, -2 none yet */
};

struct outcome {
    const char *stopped_by;   /* "duration", "max-requests", "until-file" or "signal" */
    double elapsed_s;         /* the sending window */
    double drain_s;           /* then waiting for the answers still due */
    struct stats st;
};

/* probe.c */
void fatal_oom(void) __attribute__((noreturn));

/* probe_stats.c; every time t is seconds since the start */
void stats_init(struct stats *st);
void stats_sent(struct stats *st, double lag_s);
/* why may be NULL; the first failure with a reason is kept for the report. */
void stats_fail(struct stats *st, enum fail_kind kind, const char *why, double t);
void stats_http(struct stats *st, long code);
void stats_ok(struct stats *st, uint64_t latency_us, double t);
/* Reads body as the version answer: a JSON string, an object's "version", or short text. */
void stats_version(struct stats *st, const char *body, size_t len, double t);
uint64_t stats_quantile_us(const struct stats *st, double q);
/* Returns a static name, as used in both reports. */
const char *fail_kind_name(enum fail_kind kind);

/* probe_report.c */
int report_json(FILE *f, const struct opts *o, const struct outcome *r);
void report_text(FILE *f, const struct opts *o, const struct outcome *r);

#endif
