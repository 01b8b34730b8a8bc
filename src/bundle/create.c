/* create.c - `bundle create`: pull pinned, save each image streaming, write one compressed archive. */
#include "bundle/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "docker/objects.h"
#include "docker/transfer.h"
#include "registry/ref.h"
#include "tracardi/images.h"
#include "upgrade/pullset.h"
#include "util/timeutil.h"
#include "util/fsutil.h"
#include "util/xalloc.h"

#define CHUNK (64 * 1024)

struct saved {
    int fd;             /* unlinked temporary file holding the saved image, or -1 */
    uint64_t size;
    char hex[SHA256_HEX_LEN + 1];
};

struct save_sink {
    int fd;
    struct sha256 h;
    uint64_t n;
    FILE *progress;
    const char *role;
    long last_ms;
    struct tu_err *err;
};


static void say_bytes(FILE *f, const char *verb, const char *role, uint64_t n, const char *end)
{
    char b[32];
    if (f) {
        fprintf(f, "%s %-14s %s%s\n", verb, role, progress_bytes(b, sizeof(b), (long long)n), end);
        fflush(f);
    }
}

static int save_write(void *ud, const char *data, size_t len)
{
    struct save_sink *s = ud;
    if (tu_interrupted()) {
        tu_err_set(s->err, TU_ERR_IO, "interrupted");
        return 1;
    }
    if (s->n + len > BUNDLE_IMAGE_MAX) {
        tu_err_set(s->err, TU_ERR_TOO_BIG, "image %s is larger than %llu bytes", s->role,
                   (unsigned long long)BUNDLE_IMAGE_MAX);
        return 1;
    }
    if (fs_write_all(s->fd, data, len) < 0) {
        tu_err_set(s->err, TU_ERR_IO, "writing the saved %s image to a temporary file: %s", s->role, strerror(errno));
        return 1;
    }
    sha256_update(&s->h, data, len);
    s->n += len;
    long now = time_mono_ms();
    if (now - s->last_ms >= 1000) {
        s->last_ms = now;
        say_bytes(s->progress, "saving ", s->role, s->n, "");
    }
    return 0;
}

/* A temporary file in dir that disappears when closed (unlinked at once). */
static int temp_fd(const char *dir, struct tu_err *err)
{
    char *tmpl = xasprintf("%s/.tracup-bundle-image-XXXXXX", dir);
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        tu_err_set(err, TU_ERR_IO, "cannot create a temporary file in '%s': %s", dir, strerror(errno));
        free(tmpl);
        return -1;
    }
    unlink(tmpl);
    free(tmpl);
    return fd;
}

static char *dir_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == file)
        return xstrdup("/");
    return xstrndup(file, (size_t)(slash - file));
}

/* The image under ref: its id, checked to carry the pulled digest. */
static int image_id_of(struct docker *d, const struct pull_job *job, char *id, size_t cap, struct tu_err *err)
{
    json_t *img = NULL;
    if (docker_image_inspect(d, job->ref, &img, err) < 0)
        return -1;
    const char *have = json_string_value(json_object_get(img, "Id"));
    const char *dg = docker_image_repo_digest(img, job->repo);
    int rc = 0;
    if (!have || !image_digest_valid(have) || strlen(have) >= cap)
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "image '%s' has no valid id", job->ref);
    else if (!dg || strcmp(dg, job->digest) != 0)
        rc = tu_err_set(err, TU_ERR_REFUSED, "'%s' moved after the pull: it no longer has digest %s", job->ref,
                        job->digest);
    else
        snprintf(id, cap, "%s", have);
    json_decref(img);
    return rc;
}

static int save_image(struct docker *d, const struct pull_job *job, const char *dir, FILE *progress,
                      struct saved *sv, struct tu_err *err)
{
    sv->fd = temp_fd(dir, err);
    if (sv->fd < 0)
        return -1;
    struct save_sink s = {.fd = sv->fd, .progress = progress, .role = job->key, .last_ms = time_mono_ms(), .err = err};
    sha256_init(&s.h);
    char *esc = docker_escape(job->ref);
    char *path = xasprintf("/images/get?names=%s", esc);
    free(esc);
    long st = docker_download(d, path, save_write, &s, err);
    free(path);
    if (st < 0) {
        tu_err_prefix(err, "saving '%s': ", job->ref);
        return -1;
    }
    if (s.n == 0)
        return tu_err_set(err, TU_ERR_PROTOCOL, "saving '%s': the daemon sent nothing", job->ref);
    sha256_final_hex(&s.h, sv->hex);
    sv->size = s.n;
    say_bytes(progress, "saved  ", job->key, s.n, ", sha256 checked as written");
    return 0;
}

/* libarchive's message, with the system's reason when it has one. */
static int archive_fail(struct archive *a, struct tu_err *err, const char *name)
{
    int e = archive_errno(a);
    const char *m = archive_error_string(a) ? archive_error_string(a) : "write error";
    if (e > 0)
        return tu_err_set(err, TU_ERR_IO, "writing member '%s': %s (%s)", name, m, strerror(e));
    return tu_err_set(err, TU_ERR_IO, "writing member '%s': %s", name, m);
}

static struct archive_entry *entry_for(const char *name, uint64_t size)
{
    struct archive_entry *en = archive_entry_new();
    archive_entry_set_pathname(en, name);
    archive_entry_set_size(en, (la_int64_t)size);
    archive_entry_set_filetype(en, AE_IFREG);
    archive_entry_set_perm(en, 0644);
    archive_entry_set_mtime(en, time(NULL), 0);
    return en;
}

static int add_bytes(struct archive *a, const char *name, const char *data, size_t len, struct tu_err *err)
{
    struct archive_entry *en = entry_for(name, len);
    int ok = archive_write_header(a, en) == ARCHIVE_OK && archive_write_data(a, data, len) == (la_ssize_t)len;
    archive_entry_free(en);
    if (!ok)
        return archive_fail(a, err, name);
    return 0;
}

static int add_file(struct archive *a, const char *name, const char *role, const struct saved *sv, FILE *progress,
                    struct tu_err *err)
{
    struct archive_entry *en = entry_for(name, sv->size);
    int hr = archive_write_header(a, en);
    archive_entry_free(en);
    if (hr != ARCHIVE_OK)
        return archive_fail(a, err, name);
    if (lseek(sv->fd, 0, SEEK_SET) != 0)
        return tu_err_set(err, TU_ERR_IO, "rewinding the saved %s image: %s", role, strerror(errno));
    char *buf = xmalloc(CHUNK);
    uint64_t done = 0;
    long last = time_mono_ms();
    int rc = 0;
    struct sha256 h;
    sha256_init(&h);
    while (done < sv->size) {
        ssize_t n = read(sv->fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = tu_err_set(err, TU_ERR_IO, "reading the saved %s image back: %s", role,
                            n < 0 ? strerror(errno) : "it is shorter than written");
            break;
        }
        if (tu_interrupted()) {
            rc = tu_err_set(err, TU_ERR_IO, "interrupted");
            break;
        }
        sha256_update(&h, buf, (size_t)n);
        if (archive_write_data(a, buf, (size_t)n) != n) {
            rc = archive_fail(a, err, name);
            break;
        }
        done += (uint64_t)n;
        if (time_mono_ms() - last >= 1000) {
            last = time_mono_ms();
            say_bytes(progress, "packing", role, done, "");
        }
    }
    free(buf);
    if (rc == 0) {
        /* What goes into the archive is what was hashed while saving. */
        char hex[SHA256_HEX_LEN + 1];
        sha256_final_hex(&h, hex);
        if (strcmp(hex, sv->hex) != 0)
            rc = tu_err_set(err, TU_ERR_IO, "the saved %s image changed on disk before it was packed", role);
    }
    if (rc == 0)
        say_bytes(progress, "packed ", role, done, "");
    return rc;
}

static struct archive *archive_out(int fd, const char **compression, struct tu_err *err)
{
    struct archive *a = archive_write_new();
    /* zstd when this libarchive has it built in (ARCHIVE_WARN means an external program). */
    if (archive_write_add_filter_zstd(a) == ARCHIVE_OK) {
        *compression = "zstd";
    } else {
        archive_write_free(a);
        a = archive_write_new();
        if (archive_write_add_filter_xz(a) != ARCHIVE_OK) {
            tu_err_set(err, TU_ERR_UNSUPPORTED, "this libarchive can compress with neither zstd nor xz");
            archive_write_free(a);
            return NULL;
        }
        *compression = "xz";
    }
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        tu_err_set(err, TU_ERR_IO, "cannot start the archive: %s", archive_error_string(a));
        archive_write_free(a);
        return NULL;
    }
    return a;
}

static int pull_all(struct docker *d, struct pull_job *jobs, size_t n, FILE *progress, struct tu_err *err)
{
    struct progress_view view;
    progress_init(&view, progress ? PROGRESS_PLAIN : PROGRESS_QUIET, progress ? progress : stderr, jobs, n);
    struct pull_observer obs = {progress_event, progress_tick, &view};
    int rc = pullset_run(d, jobs, n, &obs, err);
    progress_end(&view);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            if (!jobs[i].ok && jobs[i].err.kind != TU_ERR_NONE) {
                *err = jobs[i].err;
                break;
            }
        if (strstr(err->msg, "connection refused") || strstr(err->msg, "no such host"))
            tu_err_hint(err, "is the registry up and reachable from the docker daemon?");
        else if (strstr(err->msg, "unauthorized") || strstr(err->msg, "denied"))
            tu_err_hint(err, "check the registry credentials (docker login, or DOCKER_CONFIG)");
        else if (strstr(err->msg, "manifest unknown") || strstr(err->msg, "not found"))
            tu_err_hint(err, "is that version published in that registry? check --to and --registry");
    }
    return rc;
}

int bundle_create(struct docker *d, const struct bundle_create_opts *o, struct bundle_create_result *res,
                  struct tu_err *err)
{
    memset(res, 0, sizeof(*res));
    struct bundle_manifest *m = &res->m;
    struct pull_job jobs[BUNDLE_MAX_IMAGES];
    struct saved sv[BUNDLE_MAX_IMAGES];
    size_t n = 0;
    int rc = -1, outfd = -1;
    struct archive *a = NULL;
    char *dir = dir_of(o->file), *tmp = NULL, *text = NULL;
    memset(jobs, 0, sizeof(jobs));
    for (size_t i = 0; i < BUNDLE_MAX_IMAGES; i++)
        sv[i].fd = -1;

    struct stat st;
    if (!o->force && lstat(o->file, &st) == 0) {
        tu_err_set(err, TU_ERR_USAGE, "'%s' exists", o->file);
        tu_err_hint(err, "choose another file, or --force to replace it");
        goto out;
    }
    m->format = BUNDLE_FORMAT;
    snprintf(m->release, sizeof(m->release), "%s", o->release);
    m->registry = xstrdup(o->registry);
    snprintf(m->tracup_version, sizeof(m->tracup_version), "%s", TRACUP_VERSION);
    time_iso_now(m->created, sizeof(m->created));

    for (; n < o->nroles; n++) {
        const struct tracardi_image *ti = tracardi_image_by_key(o->roles[n]);
        char *ref = tracardi_image_ref(o->registry, ti->path, o->release);
        int jr = pull_job_init(&jobs[n], ti->key, ref, err);
        free(ref);
        if (jr < 0)
            goto out;
    }
    if (pull_all(d, jobs, n, o->progress, err) < 0)
        goto out;

    for (size_t i = 0; i < n; i++) {
        struct bundle_image *bi = &m->img[m->n++];
        snprintf(bi->role, sizeof(bi->role), "%s", jobs[i].key);
        bi->name = xstrdup(jobs[i].ref);
        snprintf(bi->digest, sizeof(bi->digest), "%s", jobs[i].digest);
        if (image_id_of(d, &jobs[i], bi->image_id, sizeof(bi->image_id), err) < 0 ||
            save_image(d, &jobs[i], dir, o->progress, &sv[i], err) < 0)
            goto out;
        /* The tag must still name the image that was saved. */
        char again[72];
        if (image_id_of(d, &jobs[i], again, sizeof(again), err) < 0)
            goto out;
        if (strcmp(again, bi->image_id) != 0) {
            tu_err_set(err, TU_ERR_REFUSED, "'%s' changed while it was saved", jobs[i].ref);
            goto out;
        }
        bi->size = sv[i].size;
        bundle_member_for(bi->role, bi->member, sizeof(bi->member));
        snprintf(bi->sha256, sizeof(bi->sha256), "%s", sv[i].hex);
    }

    tmp = xasprintf("%s.tmp.%ld", o->file, (long)getpid());
    outfd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (outfd < 0) {
        tu_err_set(err, TU_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    a = archive_out(outfd, &res->compression, err);
    if (!a)
        goto out;
    json_t *mj = bundle_manifest_json(m);
    text = json_dumps(mj, JSON_INDENT(2));
    json_decref(mj);
    char mhex[SHA256_HEX_LEN + 1];
    sha256_hex(text, strlen(text), mhex);
    if (add_bytes(a, BUNDLE_MANIFEST, text, strlen(text), err) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (add_file(a, m->img[i].member, m->img[i].role, &sv[i], o->progress, err) < 0)
            goto out;
    struct buf sums;
    buf_init(&sums, 0);
    buf_appends(&sums, mhex);
    buf_appends(&sums, "  " BUNDLE_MANIFEST "\n");
    for (size_t i = 0; i < n; i++) {
        buf_appends(&sums, m->img[i].sha256);
        buf_appends(&sums, "  ");
        buf_appends(&sums, m->img[i].member);
        buf_appends(&sums, "\n");
    }
    int sr = add_bytes(a, BUNDLE_SUMS, sums.data, sums.len, err);
    buf_free(&sums);
    if (sr < 0)
        goto out;
    if (archive_write_close(a) != ARCHIVE_OK) {
        tu_err_set(err, TU_ERR_IO, "finishing '%s': %s", tmp, archive_error_string(a));
        goto out;
    }
    if (fsync(outfd) != 0 || fstat(outfd, &st) != 0) {
        tu_err_set(err, TU_ERR_IO, "writing '%s': %s", tmp, strerror(errno));
        goto out;
    }
    res->size = (uint64_t)st.st_size;
    if (o->force) {
        if (rename(tmp, o->file) != 0) {
            tu_err_set(err, TU_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, o->file, strerror(errno));
            goto out;
        }
    } else {
        /* link() refuses a file that appeared meanwhile, where rename would replace it. */
        if (link(tmp, o->file) != 0) {
            tu_err_set(err, errno == EEXIST ? TU_ERR_REFUSED : TU_ERR_IO, "cannot create '%s': %s", o->file,
                       strerror(errno));
            goto out;
        }
        unlink(tmp);
    }
    free(tmp);
    tmp = NULL;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
out:
    if (a)
        archive_write_free(a);
    if (outfd >= 0)
        close(outfd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    for (size_t i = 0; i < BUNDLE_MAX_IMAGES; i++)
        if (sv[i].fd >= 0)
            close(sv[i].fd);
    for (size_t i = 0; i < n; i++)
        pull_job_free(&jobs[i]);
    free(text);
    free(dir);
    if (rc < 0)
        bundle_manifest_free(m);
    return rc;
}
