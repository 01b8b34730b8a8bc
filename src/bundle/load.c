/* load.c - `bundle load`: verify every member first, then stream the images into the daemon. */
#include "bundle/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/record.h"
#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "docker/objects.h"
#include "docker/transfer.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define CHUNK (64 * 1024)
#define MAX_MEMBERS (BUNDLE_MAX_IMAGES + 2)
#define INNER_MANIFEST_MAX (64 * 1024)  /* docker save's own manifest.json, bytes */

struct seen {
    char name[48];
    char hex[SHA256_HEX_LEN + 1];
    uint64_t size;
    /* An image member, from the docker-save archive's own manifest.json: the one
     * tag docker load would set, and the image's config digest. */
    char repo_tag[256];
    char config_hex[SHA256_HEX_LEN + 1];
};

/* Opens the bundle; st receives what the file is, fd the descriptor to close
 * after archive_read_free. */
static struct archive *open_bundle(const char *file, struct stat *st, int *fd, struct tu_err *err)
{
    *fd = open(file, O_RDONLY | O_CLOEXEC);
    const char *why = NULL;
    if (*fd < 0 || fstat(*fd, st) < 0)
        why = strerror(errno);
    else if (!S_ISREG(st->st_mode))
        why = "not a regular file";
    if (why) {
        tu_err_set(err, TU_ERR_IO, "cannot read bundle '%s': %s", file, why);
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return NULL;
    }
    struct archive *a = archive_read_new();
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_xz(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_fd(a, *fd, CHUNK) != ARCHIVE_OK) {
        tu_err_set(err, TU_ERR_IO, "cannot read bundle '%s': %s", file, archive_error_string(a));
        archive_read_free(a);
        close(*fd);
        *fd = -1;
        return NULL;
    }
    return a;
}

static void close_bundle(struct archive *a, int fd)
{
    archive_read_free(a);
    if (fd >= 0)
        close(fd);
}

static int64_t ns_of(struct timespec t)
{
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* "docker.io/x/y:t" and "x/y:t" are one name to the daemon. */
static const char *short_name(const char *n)
{
    return strncmp(n, "docker.io/", 10) == 0 ? n + 10 : n;
}

static void say(FILE *f, const char *verb, const char *member, uint64_t n)
{
    char b[32];
    if (f) {
        fprintf(f, "%s %-22s %s\n", verb, member, progress_bytes(b, sizeof(b), (long long)n));
        fflush(f);
    }
}

/* Reads the current member to its end, hashing it; small members are kept in keep. */
static int read_member(struct archive *a, const char *file, const char *name, struct buf *keep, struct seen *s,
                       FILE *progress, struct tu_err *err)
{
    char *chunk = xmalloc(CHUNK);
    struct sha256 h;
    sha256_init(&h);
    uint64_t n = 0;
    long last = time_mono_ms();
    int rc = 0;
    for (;;) {
        la_ssize_t r = archive_read_data(a, chunk, CHUNK);
        if (r == 0)
            break;
        if (r < 0) {
            rc = tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s' is damaged: member '%s': %s", file, name,
                            archive_error_string(a) ? archive_error_string(a) : "read error");
            break;
        }
        if (tu_interrupted()) {
            rc = tu_err_set(err, TU_ERR_IO, "interrupted; nothing was loaded");
            break;
        }
        if (keep && buf_append(keep, chunk, (size_t)r) < 0) {
            rc = tu_err_set(err, TU_ERR_TOO_BIG, "bundle '%s': member '%s' is larger than %zu bytes", file, name,
                            keep->max);
            break;
        }
        if (n + (uint64_t)r > BUNDLE_IMAGE_MAX) {
            rc = tu_err_set(err, TU_ERR_TOO_BIG, "bundle '%s': member '%s' is larger than %llu bytes", file, name,
                            (unsigned long long)BUNDLE_IMAGE_MAX);
            break;
        }
        sha256_update(&h, chunk, (size_t)r);
        n += (uint64_t)r;
        if (progress && time_mono_ms() - last >= 1000) {
            last = time_mono_ms();
            say(progress, "checking", name, n);
        }
    }
    free(chunk);
    if (rc == 0) {
        sha256_final_hex(&h, s->hex);
        s->size = n;
    }
    return rc;
}

/* ---- an image member: hashed whole, and read as the tar docker load will read ---- */

struct inner_src {
    struct archive *outer;
    char *chunk;
    struct sha256 *h;
    uint64_t n;
    FILE *progress;
    const char *name;
    long last_ms;
    int failed;          /* 1 outer read error, 2 interrupted, 3 too big */
};

static la_ssize_t inner_read(struct archive *ia, void *ud, const void **out)
{
    (void)ia;
    struct inner_src *s = ud;
    if (tu_interrupted()) {
        s->failed = 2;
        return -1;
    }
    la_ssize_t r = archive_read_data(s->outer, s->chunk, CHUNK);
    if (r < 0) {
        s->failed = 1;
        return -1;
    }
    if (s->n + (uint64_t)r > BUNDLE_IMAGE_MAX) {
        s->failed = 3;
        return -1;
    }
    sha256_update(s->h, s->chunk, (size_t)r);
    s->n += (uint64_t)r;
    if (s->progress && time_mono_ms() - s->last_ms >= 1000) {
        s->last_ms = time_mono_ms();
        say(s->progress, "checking", s->name, s->n);
    }
    *out = s->chunk;
    return r;
}

/* docker save's manifest.json: exactly one image, exactly one tag, its config. */
static int inner_manifest(const char *data, size_t len, struct seen *s)
{
    json_t *j = json_loadb(data, len, 0, NULL);
    json_t *img = json_array_get(j, 0);
    json_t *tags = json_object_get(img, "RepoTags");
    const char *tag = json_string_value(json_array_get(tags, 0));
    const char *cfg = json_string_value(json_object_get(img, "Config"));
    int ok = json_is_array(j) && json_array_size(j) == 1 && json_array_size(tags) == 1 && tag && cfg &&
             strlen(tag) < sizeof(s->repo_tag);
    if (ok) {
        snprintf(s->repo_tag, sizeof(s->repo_tag), "%s", tag);
        /* "<hex>.json" (docker save) or "blobs/sha256/<hex>" (OCI layout). */
        const char *h = strncmp(cfg, "blobs/sha256/", 13) == 0 ? cfg + 13 : cfg;
        size_t hl = strlen(h);
        if (h == cfg && hl > 5 && strcmp(h + hl - 5, ".json") == 0)
            hl -= 5;
        ok = hl == SHA256_HEX_LEN && strspn(h, "0123456789abcdef") >= hl;
        if (ok)
            snprintf(s->config_hex, sizeof(s->config_hex), "%.*s", (int)hl, h);
    }
    json_decref(j);
    return ok ? 0 : -1;
}

static int read_image_member(struct archive *a, const char *file, struct seen *s, FILE *progress, struct tu_err *err)
{
    struct sha256 h;
    sha256_init(&h);
    struct inner_src src = {.outer = a, .chunk = xmalloc(CHUNK), .h = &h, .progress = progress, .name = s->name,
                            .last_ms = time_mono_ms()};
    struct buf man;
    buf_init(&man, INNER_MANIFEST_MAX);
    int rc = 0, found = 0;
    const char *why = NULL;
    struct archive *ia = archive_read_new();
    archive_read_support_format_tar(ia);
    if (archive_read_open(ia, &src, NULL, inner_read, NULL) != ARCHIVE_OK) {
        why = archive_error_string(ia) ? archive_error_string(ia) : "not a tar";
    } else {
        for (int entries = 0; !why; entries++) {
            struct archive_entry *en;
            int r = archive_read_next_header(ia, &en);
            if (r == ARCHIVE_EOF)
                break;
            if (r != ARCHIVE_OK || entries > 100000) {
                why = r != ARCHIVE_OK ? (archive_error_string(ia) ? archive_error_string(ia) : "not a tar")
                                      : "too many entries";
                break;
            }
            const char *p = archive_entry_pathname(en);
            if (p && strcmp(p, "manifest.json") == 0 && !found) {
                found = 1;
                char tmp[4096];
                for (;;) {
                    la_ssize_t n = archive_read_data(ia, tmp, sizeof(tmp));
                    if (n == 0)
                        break;
                    if (n < 0 || buf_append(&man, tmp, (size_t)n) < 0) {
                        why = n < 0 ? (archive_error_string(ia) ? archive_error_string(ia) : "read error")
                                    : "its manifest.json is too large";
                        break;
                    }
                }
            } else if (archive_read_data_skip(ia) != ARCHIVE_OK) {
                why = archive_error_string(ia) ? archive_error_string(ia) : "read error";
            }
        }
    }
    char whybuf[200];
    if (why) { /* it may live in ia, freed next */
        snprintf(whybuf, sizeof(whybuf), "%s", why);
        why = whybuf;
    }
    archive_read_free(ia);
    /* The rest of the member (tar padding) still counts in its hash. */
    while (!src.failed) {
        const void *dummy;
        la_ssize_t r = inner_read(NULL, &src, &dummy);
        if (r <= 0)
            break;
    }
    if (src.failed == 2)
        rc = tu_err_set(err, TU_ERR_IO, "interrupted; nothing was loaded");
    else if (src.failed == 3)
        rc = tu_err_set(err, TU_ERR_TOO_BIG, "bundle '%s': member '%s' is larger than %llu bytes", file, s->name,
                        (unsigned long long)BUNDLE_IMAGE_MAX);
    else if (src.failed == 1)
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s' is damaged: member '%s': %s", file, s->name,
                        archive_error_string(a) ? archive_error_string(a) : "read error");
    else if (why || !found || inner_manifest(man.data ? man.data : "", man.len, s) < 0)
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' is not one saved image with one tag (%s)",
                        file, s->name, why ? why : !found ? "no manifest.json" : "its manifest.json");
    if (rc == 0) {
        sha256_final_hex(&h, s->hex);
        s->size = src.n;
    }
    buf_free(&man);
    free(src.chunk);
    return rc;
}

static struct seen *find_seen(struct seen *s, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].name, name) == 0)
            return &s[i];
    return NULL;
}

/* Checks the members read against SHA256SUMS and the manifest. */
static int cross_check(const char *file, struct seen *seen, size_t ns, const struct bundle_sums *sums,
                       const struct bundle_manifest *m, struct tu_err *err)
{
    for (size_t i = 0; i < ns; i++) {
        if (strcmp(seen[i].name, BUNDLE_SUMS) == 0)
            continue;
        const char *want = bundle_sums_get(sums, seen[i].name);
        if (!want)
            return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' is not in SHA256SUMS", file,
                              seen[i].name);
        if (strcmp(want, seen[i].hex) != 0)
            return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' does not match its SHA-256 in "
                                                    "SHA256SUMS (the bundle is corrupted)", file, seen[i].name);
    }
    for (size_t i = 0; i < sums->n; i++)
        if (!find_seen(seen, ns, sums->name[i]))
            return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' is missing", file, sums->name[i]);
    for (size_t i = 0; i < m->n; i++) {
        const struct bundle_image *bi = &m->img[i];
        struct seen *s = find_seen(seen, ns, bi->member);
        if (!s)
            return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' is missing", file, bi->member);
        if (strcmp(s->hex, bi->sha256) != 0 || s->size != bi->size)
            return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' does not match the manifest's "
                                                    "SHA-256 and size", file, bi->member);
        /* What docker load would tag, and the image: exactly the manifest's. */
        if (strcmp(short_name(s->repo_tag), short_name(bi->name)) != 0)
            return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' would tag '%.120s', not '%s'", file,
                              bi->member, s->repo_tag, bi->name);
        if (strncmp(bi->image_id, "sha256:", 7) != 0 || strcmp(bi->image_id + 7, s->config_hex) != 0)
            return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' holds image sha256:%s, not %s", file,
                              bi->member, s->config_hex, bi->image_id);
    }
    for (size_t i = 0; i < ns; i++) {
        if (bundle_member_kind(seen[i].name) != BM_IMAGE)
            continue;
        int listed = 0;
        for (size_t k = 0; k < m->n; k++)
            listed |= strcmp(m->img[k].member, seen[i].name) == 0;
        if (!listed)
            return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' is not in the manifest", file,
                              seen[i].name);
    }
    return 0;
}

int bundle_verify(const char *file, struct bundle_manifest *m, FILE *progress, struct tu_err *err)
{
    memset(m, 0, sizeof(*m));
    struct stat st;
    int fd;
    struct archive *a = open_bundle(file, &st, &fd, err);
    if (!a)
        return -1;
    struct seen seen[MAX_MEMBERS];
    size_t ns = 0;
    struct buf manifest, sums_text;
    buf_init(&manifest, BUNDLE_MANIFEST_MAX);
    buf_init(&sums_text, BUNDLE_SUMS_MAX);
    int rc = -1;
    const char *last = NULL;
    for (;;) {
        struct archive_entry *en;
        int r = archive_read_next_header(a, &en);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            if (last)
                tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s' is damaged after member '%s': %s", file, last,
                           archive_error_string(a) ? archive_error_string(a) : "read error");
            else
                tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s' is damaged or not a bundle: %s", file,
                           archive_error_string(a) ? archive_error_string(a) : "read error");
            goto out;
        }
        const char *name = archive_entry_pathname(en);
        char shown[80];
        snprintf(shown, sizeof(shown), "%s", name ? name : "");
        tu_text_clean(shown, sizeof(shown));
        enum bundle_member kind = bundle_member_kind(name);
        if (kind == BM_UNSAFE) {
            tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': unsafe member name '%s'", file, shown);
            goto out;
        }
        if (kind == BM_UNEXPECTED) {
            tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': unexpected member '%s'", file, shown);
            goto out;
        }
        if (archive_entry_filetype(en) != AE_IFREG) {
            tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' is not a regular file", file, shown);
            goto out;
        }
        if (find_seen(seen, ns, name)) {
            tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' appears twice", file, shown);
            goto out;
        }
        if (ns == MAX_MEMBERS) {
            tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': more than %d members", file, MAX_MEMBERS);
            goto out;
        }
        struct seen *s = &seen[ns++];
        memset(s, 0, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%s", name);
        last = s->name;
        struct buf *keep = kind == BM_MANIFEST ? &manifest : kind == BM_SUMS ? &sums_text : NULL;
        if (keep && archive_entry_size_is_set(en) && (uint64_t)archive_entry_size(en) > keep->max) {
            tu_err_set(err, TU_ERR_TOO_BIG, "bundle '%s': member '%s' is larger than %zu bytes", file, shown,
                       keep->max);
            goto out;
        }
        if ((kind == BM_IMAGE ? read_image_member(a, file, s, progress, err)
                              : read_member(a, file, s->name, keep, s, progress, err)) < 0)
            goto out;
        if (progress && kind == BM_IMAGE)
            say(progress, "checked ", s->name, s->size);
    }
    if (!find_seen(seen, ns, BUNDLE_MANIFEST) || !find_seen(seen, ns, BUNDLE_SUMS)) {
        tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' is missing", file,
                   find_seen(seen, ns, BUNDLE_MANIFEST) ? BUNDLE_SUMS : BUNDLE_MANIFEST);
        goto out;
    }
    struct bundle_sums sums;
    if (bundle_sums_parse(sums_text.data ? sums_text.data : "", sums_text.len, &sums, err) < 0) {
        tu_err_prefix(err, "bundle '%s': member '%s': ", file, BUNDLE_SUMS);
        goto out;
    }
    /* The manifest is trusted only once its bytes match SHA256SUMS. */
    const char *mh = bundle_sums_get(&sums, BUNDLE_MANIFEST);
    if (strcmp(mh, find_seen(seen, ns, BUNDLE_MANIFEST)->hex) != 0) {
        tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' does not match its SHA-256 in SHA256SUMS (the "
                                         "bundle is corrupted)", file, BUNDLE_MANIFEST);
        goto out;
    }
    if (bundle_manifest_parse(manifest.data ? manifest.data : "", manifest.len, m, err) < 0) {
        tu_err_prefix(err, "bundle '%s': member '%s': ", file, BUNDLE_MANIFEST);
        goto out;
    }
    if (cross_check(file, seen, ns, &sums, m, err) < 0)
        goto out;
    m->src_dev = (uint64_t)st.st_dev;
    m->src_ino = (uint64_t)st.st_ino;
    m->src_size = (uint64_t)st.st_size;
    m->src_mtime_ns = ns_of(st.st_mtim);
    m->src_ctime_ns = ns_of(st.st_ctim);
    rc = 0;
out:
    if (rc < 0)
        bundle_manifest_free(m);
    buf_free(&manifest);
    buf_free(&sums_text);
    close_bundle(a, fd);
    return rc;
}

/* ---- pass 2 ---- */

struct source {
    struct archive *a;
    const struct bundle_image *bi;
    struct sha256 h;
    uint64_t n;
    FILE *progress;
    long last_ms;
    int mismatch;
    char archive_error[256];
    /* One chunk is read ahead and the one before it held back until then: the
     * member's last bytes reach the daemon only once its SHA-256 matched. */
    char *cur, *nxt;
    size_t cur_len, cur_off, nxt_len;
    int primed;
};

static la_ssize_t fill(struct source *s, char *dst)
{
    la_ssize_t r = archive_read_data(s->a, dst, CHUNK);
    if (r < 0) {
        snprintf(s->archive_error, sizeof(s->archive_error), "%s",
                 archive_error_string(s->a) ? archive_error_string(s->a) : "read error");
        return -1;
    }
    if (r == 0) {
        /* The end: the bytes read must be the bytes verified in pass 1. */
        char hex[SHA256_HEX_LEN + 1];
        sha256_final_hex(&s->h, hex);
        if (strcmp(hex, s->bi->sha256) != 0 || s->n != s->bi->size) {
            s->mismatch = 1;
            return -1;
        }
        return 0;
    }
    sha256_update(&s->h, dst, (size_t)r);
    s->n += (uint64_t)r;
    if (s->progress && time_mono_ms() - s->last_ms >= 1000) {
        s->last_ms = time_mono_ms();
        say(s->progress, "loading ", s->bi->member, s->n);
    }
    return r;
}

/* Makes the next chunk current: 1, 0 at the (verified) end, -1 on error. */
static int advance(struct source *s)
{
    if (!s->primed) {
        s->primed = 1;
        la_ssize_t r = fill(s, s->nxt);
        if (r < 0)
            return -1;
        s->nxt_len = (size_t)r;
    }
    if (s->nxt_len == 0)
        return 0;
    char *t = s->cur;
    s->cur = s->nxt;
    s->nxt = t;
    s->cur_len = s->nxt_len;
    s->cur_off = 0;
    la_ssize_t r = fill(s, s->nxt);
    if (r < 0)
        return -1; /* the current chunk is never sent */
    s->nxt_len = (size_t)r;
    return 1;
}

static ssize_t read_source(void *ud, char *buf, size_t cap)
{
    struct source *s = ud;
    if (tu_interrupted())
        return -1;
    if (s->cur_off == s->cur_len) {
        int r = advance(s);
        if (r <= 0)
            return r;
    }
    size_t n = s->cur_len - s->cur_off;
    if (n > cap)
        n = cap;
    memcpy(buf, s->cur + s->cur_off, n);
    s->cur_off += n;
    return (ssize_t)n;
}

int bundle_stream_member(struct archive *a, const struct bundle_image *bi, int (*send)(void *ud, const char *data,
                                                                                        size_t len),
                         void *ud, struct tu_err *err)
{
    struct source s = {.a = a, .bi = bi, .last_ms = time_mono_ms(), .cur = xmalloc(CHUNK), .nxt = xmalloc(CHUNK)};
    sha256_init(&s.h);
    char *buf = xmalloc(CHUNK);
    int rc = 0;
    for (;;) {
        ssize_t n = read_source(&s, buf, CHUNK);
        if (n == 0)
            break;
        if (n < 0 || send(ud, buf, (size_t)n) != 0) {
            rc = -1;
            break;
        }
    }
    if (s.mismatch)
        tu_err_set(err, TU_ERR_PROTOCOL, "member '%s' changed since it was verified", bi->member);
    else if (s.archive_error[0])
        tu_err_set(err, TU_ERR_PROTOCOL, "member '%s': %s", bi->member, s.archive_error);
    else if (rc < 0)
        tu_err_set(err, TU_ERR_IO, "member '%s': stopped", bi->member);
    free(buf);
    free(s.cur);
    free(s.nxt);
    return rc;
}

static int on_load_line(void *ud, const char *line, size_t len)
{
    load_result_line(ud, line, len);
    return 0;  /* read to the end: the daemon may say more */
}

static int load_member(struct docker *d, struct archive *a, const char *file, const struct bundle_image *bi,
                       FILE *progress, struct tu_err *err)
{
    struct source s = {.a = a, .bi = bi, .progress = progress, .last_ms = time_mono_ms(), .cur = xmalloc(CHUNK),
                       .nxt = xmalloc(CHUNK)};
    sha256_init(&s.h);
    struct load_result lr;
    load_result_init(&lr);
    /* quiet=0: the daemon reports each layer as it registers it, so a long load of
     * a big image is not taken for a stalled stream. */
    long st = docker_upload(d, "/images/load?quiet=0", "application/x-tar", read_source, &s, on_load_line, &lr, err);
    free(s.cur);
    free(s.nxt);
    if (tu_interrupted())
        return tu_err_set(err, TU_ERR_IO, "interrupted while loading member '%s'; images loaded before it stay, "
                                          "nothing was recorded", bi->member);
    if (s.mismatch)
        return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s': member '%s' changed since it was verified", file,
                          bi->member);
    if (s.archive_error[0])
        return tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s' is damaged: member '%s': %s", file, bi->member,
                          s.archive_error);
    if (st < 0) {
        tu_err_prefix(err, "loading member '%s': ", bi->member);
        return -1;
    }
    if (lr.failed)
        return tu_err_set(err, TU_ERR_HTTP, "loading member '%s': the docker daemon said: %s", bi->member, lr.error);
    for (size_t i = 0; i < lr.nloaded; i++)
        if (strcmp(short_name(lr.loaded[i]), short_name(bi->name)) != 0)
            return tu_err_set(err, TU_ERR_PROTOCOL, "loading member '%s': the daemon tagged '%.120s', not '%s'",
                              bi->member, lr.loaded[i], bi->name);
    say(progress, "loaded  ", bi->member, s.n);
    /* The tag is there and names exactly the image the manifest promised. */
    json_t *img = NULL;
    if (docker_image_inspect(d, bi->name, &img, err) < 0) {
        tu_err_prefix(err, "after loading member '%s', image '%s': ", bi->member, bi->name);
        return -1;
    }
    const char *id = json_string_value(json_object_get(img, "Id"));
    int same = id && strcmp(id, bi->image_id) == 0;
    if (!same)
        tu_err_set(err, TU_ERR_PROTOCOL, "member '%s' loaded '%s' as image %.80s, but the manifest says %s",
                   bi->member, bi->name, id ? id : "(none)", bi->image_id);
    json_decref(img);
    return same ? 0 : -1;
}

int bundle_load(struct docker *d, const char *file, FILE *progress, const struct bundle_manifest *m, char **record_path,
                struct tu_err *err)
{
    *record_path = NULL;
    struct stat st;
    int fd;
    struct archive *a = open_bundle(file, &st, &fd, err);
    if (!a)
        return -1;
    int rc = -1;
    if ((uint64_t)st.st_dev != m->src_dev || (uint64_t)st.st_ino != m->src_ino ||
        (uint64_t)st.st_size != m->src_size || ns_of(st.st_mtim) != m->src_mtime_ns ||
        ns_of(st.st_ctim) != m->src_ctime_ns) {
        tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s' changed since it was verified; nothing was loaded", file);
        goto out;
    }
    size_t loaded = 0;
    for (;;) {
        struct archive_entry *en;
        int r = archive_read_next_header(a, &en);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s' changed since it was verified: %s", file,
                       archive_error_string(a) ? archive_error_string(a) : "read error");
            goto out;
        }
        const char *name = archive_entry_pathname(en);
        const struct bundle_image *bi = NULL;
        for (size_t i = 0; i < m->n && name; i++)
            if (strcmp(m->img[i].member, name) == 0)
                bi = &m->img[i];
        if (!bi)
            continue;  /* manifest and sums: read in pass 1 */
        if (load_member(d, a, file, bi, progress, err) < 0)
            goto out;
        loaded++;
    }
    if (loaded != m->n) {
        tu_err_set(err, TU_ERR_PROTOCOL, "bundle '%s' changed since it was verified: %zu of %zu images found", file,
                   loaded, m->n);
        goto out;
    }
    char stamp[32];
    if (bundle_record_save(m, time_iso_now(stamp, sizeof(stamp)), err) < 0) {
        tu_err_prefix(err, "the images are loaded, but recording them failed: ");
        goto out;
    }
    *record_path = bundle_record_path();
    rc = 0;
out:
    close_bundle(a, fd);
    return rc;
}
