/* probe.c - tracup-probe: fixed-rate HTTP GETs at a local endpoint, bounded and counted.
 * One thread drives the libcurl multi interface, so a slow answer never delays the next
 * request; probe_stats.c counts what comes back and probe_report.c prints it. */
#include "probe.h"

#include <curl/curl.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#if LIBCURL_VERSION_NUM < 0x074200
#error "tracup-probe needs libcurl 7.66 or later (curl_multi_poll, CURLU)"
#endif

enum { PROBE_EXIT_OK = 0, PROBE_EXIT_ERROR = 1, PROBE_EXIT_USAGE = 2 };

#define BODY_MAX 256        /* a version answer is a few bytes; the rest is not kept */
#define POLL_MAX_MS 20      /* how late a signal or the until-file may be noticed */
#define UNTIL_CHECK_S 0.02

struct req {
    CURL *easy;
    struct req *next_free;
    int busy;
    size_t body_len;
    char body[BODY_MAX];
};

struct probe {
    const struct opts *o;
    CURLM *multi;
    struct req *slots;
    struct req *free_list;
    long inflight;
    double t0;
    struct outcome out;
};

static volatile sig_atomic_t g_signals;

static void on_signal(int sig)
{
    (void)sig;
    if (g_signals < 100)
        g_signals++;
}

void fatal_oom(void)
{
    fputs("fatal: out of memory\n", stderr);
    abort();
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- requests ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct req *r = userp;
    size_t n = size * nmemb;
    size_t room = sizeof r->body - r->body_len;
    size_t take = n < room ? n : room;
    memcpy(r->body + r->body_len, data, take);
    r->body_len += take;
    return n;   /* the rest is read and dropped, so a long answer is no transport error */
}

static enum fail_kind transport_kind(CURLcode res)
{
    switch (res) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return FAIL_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return FAIL_TIMEOUT;
    /* Cut off mid-exchange: what a backend killed or restarted under load looks like. */
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
        return FAIL_RESET;
    default:
        return FAIL_OTHER;
    }
}

static void finish(struct probe *p, struct req *r, CURLcode res)
{
    struct stats *st = &p->out.st;
    double t = now_s() - p->t0;

    if (res != CURLE_OK) {
        stats_fail(st, transport_kind(res), curl_easy_strerror(res), t);
        return;
    }
    long code = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 299) {
        stats_http(st, code);
        return;
    }
    curl_off_t us = 0;
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &us);
    stats_ok(st, us > 0 ? (uint64_t)us : 0, t);
    if (p->o->record_version)
        stats_version(st, r->body, r->body_len, t);
}

static void release(struct probe *p, struct req *r)
{
    curl_multi_remove_handle(p->multi, r->easy);
    r->busy = 0;
    r->next_free = p->free_list;
    p->free_list = r;
    p->inflight--;
}

static void collect(struct probe *p)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURLcode res = m->data.result;   /* m is invalid once the handle is removed */
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        struct req *r = (struct req *)(void *)priv;
        finish(p, r, res);
        release(p, r);
    }
}

static void launch(struct probe *p, double due, double now)
{
    struct stats *st = &p->out.st;
    stats_sent(st, now - due);

    struct req *r = p->free_list;
    if (!r) {
        /* Counted, not queued: a queue would hide an overloaded endpoint behind a late
         * schedule. */
        stats_fail(st, FAIL_OVER_CAP, "in-flight cap reached", now - p->t0);
        return;
    }
    p->free_list = r->next_free;
    r->body_len = 0;
    if (curl_multi_add_handle(p->multi, r->easy) != CURLM_OK) {
        r->next_free = p->free_list;
        p->free_list = r;
        stats_fail(st, FAIL_OTHER, "cannot add a request to the multi handle", now - p->t0);
        return;
    }
    r->busy = 1;
    p->inflight++;
}

static int req_setup(struct req *r, const struct opts *o)
{
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    r->easy = e;
    CURLcode c = curl_easy_setopt(e, CURLOPT_URL, o->url);
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_PROXY, "");   /* ignore *_proxy: traffic stays local */
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
#if LIBCURL_VERSION_NUM >= 0x075500
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
#else
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_USERAGENT, "tracup-probe/" TRACUP_VERSION);
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)r);
    if (!c)
        c = curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r);
    if (!c && !o->keepalive) {
        /* A new TCP connection per request, as independent clients arrive during a switch. */
        c = curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        if (!c)
            c = curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    }
    return c == CURLE_OK ? 0 : -1;
}

static int probe_init(struct probe *p, const struct opts *o)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    stats_init(&p->out.st);
    p->multi = curl_multi_init();
    if (!p->multi)
        return -1;
    p->slots = calloc((size_t)o->max_inflight, sizeof *p->slots);
    if (!p->slots)
        fatal_oom();
    for (long i = o->max_inflight - 1; i >= 0; i--) {
        if (req_setup(&p->slots[i], o) != 0)
            return -1;
        p->slots[i].next_free = p->free_list;
        p->free_list = &p->slots[i];
    }
    return 0;
}

static void probe_free(struct probe *p)
{
    if (p->slots) {
        for (long i = 0; i < p->o->max_inflight; i++) {
            if (p->slots[i].busy)
                curl_multi_remove_handle(p->multi, p->slots[i].easy);
            curl_easy_cleanup(p->slots[i].easy);
        }
        free(p->slots);
    }
    curl_multi_cleanup(p->multi);
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int wait_ms(double seconds)
{
    if (seconds <= 0)
        return 0;
    double ms = ceil(seconds * 1000.0);   /* rounding up: never wake before a request is due */
    return ms > POLL_MAX_MS ? POLL_MAX_MS : (int)ms;
}

/* Moves every transfer along and counts the finished ones, without waiting. */
static void progress(struct probe *p)
{
    int running = 0;
    curl_multi_perform(p->multi, &running);
    collect(p);
}

static void await_activity(struct probe *p, double seconds)
{
    curl_multi_poll(p->multi, NULL, 0, wait_ms(seconds), NULL);
}

static void run(struct probe *p)
{
    const struct opts *o = p->o;
    const double t0 = now_s();
    double next_until_check = t0;
    long long next = 0;   /* index of the next request; it is due at t0 + next / rate */

    p->t0 = t0;
    for (;;) {
        double now = now_s();
        if (g_signals) {
            p->out.stopped_by = "signal";
            break;
        }
        if (o->until_file && now >= next_until_check) {
            next_until_check = now + UNTIL_CHECK_S;
            if (file_exists(o->until_file)) {
                p->out.stopped_by = "until-file";
                break;
            }
        }
        /* Everything overdue goes out now, so one slow answer never delays the schedule. */
        for (;;) {
            if (o->max_requests && next >= o->max_requests)
                break;
            double at = (double)next / (double)o->rate;
            if (at >= o->duration_s || t0 + at > now)
                break;
            launch(p, t0 + at, now);
            next++;
        }
        if (o->max_requests && next >= o->max_requests) {
            p->out.stopped_by = "max-requests";
            break;
        }
        if (now - t0 >= o->duration_s) {
            p->out.stopped_by = "duration";
            break;
        }
        double due = t0 + (double)next / (double)o->rate;
        double end = t0 + o->duration_s;
        progress(p);
        await_activity(p, (due < end ? due : end) - now_s());
    }
    double stop = now_s();
    p->out.elapsed_s = stop - t0;

    /* Answers already asked for are awaited, bounded by the request timeout; a second
     * signal gives up on them. */
    sig_atomic_t sigs = g_signals;
    double drain_end = stop + (double)o->timeout_ms / 1000.0 + 1.0;
    for (;;) {
        progress(p);
        if (p->inflight == 0 || g_signals != sigs || now_s() >= drain_end)
            break;
        await_activity(p, drain_end - now_s());
    }
    for (long i = 0; i < o->max_inflight; i++) {
        struct req *r = &p->slots[i];
        if (r->busy) {
            stats_fail(&p->out.st, FAIL_ABORTED, NULL, 0);
            release(p, r);
        }
    }
    p->out.drain_s = now_s() - stop;
}

/* ---- arguments ---- */

enum opt_id {
    OPT_URL, OPT_RATE, OPT_DURATION, OPT_MAX_REQUESTS, OPT_KEEPALIVE, OPT_TIMEOUT_MS,
    OPT_MAX_INFLIGHT, OPT_JSON, OPT_RECORD_VERSION, OPT_UNTIL_FILE, OPT_ALLOW_HOST, OPT_HELP
};

struct opt_spec {
    enum opt_id id;
    const char *name;
    const char *arg;    /* NULL for a flag */
    const char *help;
};

static const struct opt_spec opt_table[] = {
    { OPT_URL, "url", "URL", "http:// endpoint on 127.0.0.1, localhost or ::1 (required)" },
    { OPT_RATE, "rate", "N", "requests per second, 1..10000 (default 200)" },
    { OPT_DURATION, "duration", "SECONDS", "how long to send, up to 3600 (default 10)" },
    { OPT_MAX_REQUESTS, "max-requests", "N", "stop after sending N requests" },
    { OPT_KEEPALIVE, "keepalive", NULL, "reuse connections (default: a new one per request)" },
    { OPT_TIMEOUT_MS, "timeout-ms", "N", "per-request timeout, 1..600000 (default 2000)" },
    { OPT_MAX_INFLIGHT, "max-inflight", "N", "requests in flight at most, 1..4096 (default 256)" },
    { OPT_JSON, "json", NULL, "print one JSON object instead of the text report" },
    { OPT_RECORD_VERSION, "record-version", NULL, "read each ok body as a version and track it" },
    { OPT_UNTIL_FILE, "until-file", "PATH", "stop as soon as PATH exists" },
    { OPT_ALLOW_HOST, "allow-host", "HOST", "also allow this non-loopback host (repeatable)" },
    { OPT_HELP, "help", NULL, "show this help" },
};

static void usage(FILE *f)
{
    fputs("usage: tracup-probe --url URL [options]\n\n", f);
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
        const struct opt_spec *s = &opt_table[i];
        char left[40];
        snprintf(left, sizeof left, "--%s%s%s", s->name, s->arg ? " " : "", s->arg ? s->arg : "");
        fprintf(f, "  %-24s %s\n", left, s->help);
    }
    fputs("\nExits 0 when it ran, whatever the answers; 2 on bad arguments.\n", f);
}

/* Prints the error the way the rest of tracup does and returns the usage exit code. */
__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("error: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nhint: see 'tracup-probe --help'\n", stderr);
    return PROBE_EXIT_USAGE;
}

static int parse_ll(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_seconds(const char *s, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

static const char *strip_brackets(const char *host, char *buf, size_t buflen)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        snprintf(buf, buflen, "%.*s", (int)(n - 2), host + 1);
        return buf;
    }
    return host;
}

static int host_allowed(const struct opts *o, const char *host)
{
    static const char *const loopback[] = { "127.0.0.1", "localhost", "::1" };
    char hb[256], ab[256];
    const char *h = strip_brackets(host, hb, sizeof hb);
    for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++) {
        if (strcasecmp(h, loopback[i]) == 0)
            return 1;
    }
    for (size_t i = 0; i < o->n_allow_hosts; i++) {
        if (strcasecmp(h, strip_brackets(o->allow_hosts[i], ab, sizeof ab)) == 0)
            return 1;
    }
    return 0;
}

/* Returns 0 when the URL is plain http to an allowed host, else the usage exit code. */
static int check_url(const struct opts *o)
{
    int rc = PROBE_EXIT_USAGE;
    char *scheme = NULL, *host = NULL;
    CURLU *u = curl_url();
    if (!u)
        fatal_oom();
    if (curl_url_set(u, CURLUPART_URL, o->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        usage_error("invalid url '%s'; write it as http://127.0.0.1:PORT/PATH", o->url);
        goto out;
    }
    if (strcasecmp(scheme, "http") != 0) {
        usage_error("url '%s' is not http://; only plain http is probed", o->url);
        goto out;
    }
    if (!host_allowed(o, host)) {
        usage_error("host '%s' is not loopback; pass '--allow-host %s' to probe it anyway",
                    host, host);
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

/* Returns 0, -1 after printing help, or the usage exit code after printing the error. */
static int parse_args(struct opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->rate = 200;
    o->duration_s = 10;
    o->timeout_ms = 2000;
    o->max_inflight = 256;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return usage_error("unexpected argument '%s'", a);
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt_spec *s = NULL;
        for (size_t k = 0; k < sizeof opt_table / sizeof opt_table[0]; k++) {
            if (strlen(opt_table[k].name) == nlen && strncmp(opt_table[k].name, name, nlen) == 0) {
                s = &opt_table[k];
                break;
            }
        }
        if (!s)
            return usage_error("unknown option '%s'", a);
        const char *val = NULL;
        if (s->arg) {
            if (eq)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return usage_error("option '--%s' needs a value", s->name);
        } else if (eq) {
            return usage_error("option '--%s' takes no value", s->name);
        }

        long long n = 0;
        switch (s->id) {
        case OPT_URL:
            o->url = val;
            break;
        case OPT_RATE:
            if (parse_ll(val, 1, 10000, &n) != 0)
                return usage_error("invalid --rate '%s'; give 1..10000", val);
            o->rate = (long)n;
            break;
        case OPT_DURATION:
            if (parse_seconds(val, 3600, &o->duration_s) != 0)
                return usage_error("invalid --duration '%s'; give seconds, more than 0 "
                                   "and at most 3600", val);
            break;
        case OPT_MAX_REQUESTS:
            if (parse_ll(val, 1, 1000000000LL, &n) != 0)
                return usage_error("invalid --max-requests '%s'; give 1..1000000000", val);
            o->max_requests = n;
            break;
        case OPT_TIMEOUT_MS:
            if (parse_ll(val, 1, 600000, &n) != 0)
                return usage_error("invalid --timeout-ms '%s'; give 1..600000", val);
            o->timeout_ms = (long)n;
            break;
        case OPT_MAX_INFLIGHT:
            if (parse_ll(val, 1, 4096, &n) != 0)
                return usage_error("invalid --max-inflight '%s'; give 1..4096", val);
            o->max_inflight = (long)n;
            break;
        case OPT_UNTIL_FILE:
            if (!*val)
                return usage_error("empty --until-file");
            o->until_file = val;
            break;
        case OPT_ALLOW_HOST:
            if (o->n_allow_hosts == MAX_ALLOW_HOSTS)
                return usage_error("too many --allow-host options at '%s'; at most %d", val,
                                   MAX_ALLOW_HOSTS);
            o->allow_hosts[o->n_allow_hosts++] = val;
            break;
        case OPT_KEEPALIVE:
            o->keepalive = 1;
            break;
        case OPT_JSON:
            o->json = 1;
            break;
        case OPT_RECORD_VERSION:
            o->record_version = 1;
            break;
        case OPT_HELP:
            usage(stdout);
            return -1;
        }
    }
    if (!o->url)
        return usage_error("missing --url");
    int rc = check_url(o);
    if (rc)
        return rc;
    /* A file left over from an earlier run would end this one at once and prove nothing. */
    if (o->until_file && file_exists(o->until_file))
        return usage_error("until-file '%s' already exists; remove it before starting the probe",
                           o->until_file);
    return 0;
}

/* ---- main ---- */

static void setup_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv)
{
    struct opts o;
    struct probe p;
    int rc = PROBE_EXIT_ERROR;

    setup_signals();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("error: cannot initialise libcurl\n", stderr);
        return PROBE_EXIT_ERROR;
    }
    int prc = parse_args(&o, argc, argv);
    if (prc != 0) {
        curl_global_cleanup();
        return prc < 0 ? PROBE_EXIT_OK : prc;
    }

    if (probe_init(&p, &o) != 0) {
        fputs("error: cannot set up libcurl handles\n", stderr);
        goto out;
    }
    run(&p);
    if (o.json) {
        if (report_json(stdout, &o, &p.out) != 0)
            goto out;
    } else {
        report_text(stdout, &o, &p.out);
    }
    rc = PROBE_EXIT_OK;
out:
    probe_free(&p);
    curl_global_cleanup();
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("error: cannot write the report to stdout\n", stderr);
        rc = PROBE_EXIT_ERROR;
    }
    return rc;
}
