/* probe_stats.c - counting answers: failures by kind, gaps, latency histogram, versions. */
#include "probe.h"

#include <jansson.h>

#include <math.h>
#include <string.h>

static const char *const fail_names[FAIL_KINDS] = {
    [FAIL_CONNECT] = "connect",
    [FAIL_RESET] = "reset",
    [FAIL_TIMEOUT] = "timeout",
    [FAIL_OTHER] = "other",
    [FAIL_HTTP] = "http",
    [FAIL_OVER_CAP] = "over_cap",
    [FAIL_ABORTED] = "aborted",
};

const char *fail_kind_name(enum fail_kind kind)
{
    return kind < FAIL_KINDS ? fail_names[kind] : "?";
}

void stats_init(struct stats *st)
{
    memset(st, 0, sizeof *st);
    st->last_version = -2;
}

void stats_sent(struct stats *st, double lag_s)
{
    st->sent++;
    if (lag_s > st->max_lag_s)
        st->max_lag_s = lag_s;
}

void stats_fail(struct stats *st, enum fail_kind kind, const char *why, double t)
{
    st->failed++;
    st->fail[kind]++;
    if (why && !st->first_error[0]) {
        snprintf(st->first_error, sizeof st->first_error, "%s", why);
        st->first_error_s = t;
    }
}

void stats_http(struct stats *st, long code)
{
    st->failed++;
    st->fail[FAIL_HTTP]++;
    st->status[(code > 0 && code < STATUS_MAX) ? code : 0]++;
}

static unsigned floor_log2(uint64_t v)
{
    unsigned n = 0;
    while (v >>= 1)
        n++;
    return n;
}

static size_t hist_index(uint64_t us)
{
    if (us < HIST_LINEAR)
        return (size_t)us;
    unsigned shift = floor_log2(us) - 6;
    if (shift > HIST_TOP_BIT - 6)
        return HIST_BUCKETS - 1;
    return HIST_LINEAR + (size_t)(shift - 1) * HIST_SUB + (size_t)((us >> shift) - HIST_SUB);
}

static uint64_t hist_upper(size_t idx)
{
    if (idx < HIST_LINEAR)
        return idx;
    size_t k = idx - HIST_LINEAR;
    unsigned shift = (unsigned)(k / HIST_SUB) + 1;
    uint64_t m = (uint64_t)(k % HIST_SUB) + HIST_SUB;
    return ((m + 1) << shift) - 1;
}

void stats_ok(struct stats *st, uint64_t latency_us, double t)
{
    st->ok++;
    st->hist[hist_index(latency_us)]++;
    if (latency_us > st->lat_max_us)
        st->lat_max_us = latency_us;
    if (st->have_ok) {
        double gap = t - st->last_ok_s;
        if (!st->have_gap || gap > st->max_gap_s) {
            st->max_gap_s = gap;
            st->max_gap_end_s = t;
        }
        st->have_gap = 1;
    }
    st->have_ok = 1;
    st->last_ok_s = t;
}

/* The bound of the first bucket covering fraction q of the ok answers, never above the
 * exact maximum; 0 without answers. */
uint64_t stats_quantile_us(const struct stats *st, double q)
{
    uint64_t n = st->ok;
    if (n == 0)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)n);
    if (want < 1)
        want = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += st->hist[i];
        if (seen >= want) {
            uint64_t up = hist_upper(i);
            return up < st->lat_max_us ? up : st->lat_max_us;
        }
    }
    return st->lat_max_us;
}

/* Kept printable ASCII so both reports stay readable whatever the endpoint sends. */
static void version_text(char *out, size_t outlen, const char *body, size_t len)
{
    while (len > 0 && strchr(" \t\r\n", body[0])) {
        body++;
        len--;
    }
    while (len > 0 && strchr(" \t\r\n", body[len - 1]))
        len--;

    const char *src = body;
    size_t n = len;
    json_t *j = len ? json_loadb(body, len, JSON_DECODE_ANY, NULL) : NULL;
    json_t *s = json_is_object(j) ? json_object_get(j, "version") : j;
    if (json_is_string(s)) {
        src = json_string_value(s);
        n = json_string_length(s);
    }
    size_t w = 0;
    for (size_t i = 0; i < n && w + 1 < outlen; i++) {
        unsigned char c = (unsigned char)src[i];
        out[w++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[w] = '\0';
    json_decref(j);
}

void stats_version(struct stats *st, const char *body, size_t len, double t)
{
    char v[VERSION_MAX + 1];
    version_text(v, sizeof v, body, len);

    int idx = -1;
    for (size_t i = 0; i < st->n_versions; i++) {
        if (strcmp(st->versions[i].text, v) == 0) {
            idx = (int)i;
            break;
        }
    }
    if (idx < 0 && st->n_versions < VERSIONS_MAX) {
        idx = (int)st->n_versions++;
        struct version_seen *nv = &st->versions[idx];
        memcpy(nv->text, v, sizeof nv->text);
        nv->first_s = t;
    }
    if (idx >= 0) {
        st->versions[idx].last_s = t;
        st->versions[idx].count++;
    } else {
        st->versions_unnamed++;
    }
    /* Counting flips, not versions, shows whether old and new answered interleaved. */
    if (st->last_version != -2 && st->last_version != idx)
        st->version_changes++;
    st->last_version = idx;
}
