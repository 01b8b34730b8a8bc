/* fsutil.c - durable, private state files. */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/xalloc.h"

int fs_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fsync_dir_of(const char *path)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else {
        free(dir);
        dir = xstrdup(".");
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int fs_write_atomic_as(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
                       struct tu_err *err)
{
    /* A fresh name of our own (O_EXCL, 0600): nothing planted at a guessable name
     * (a FIFO, a hard link to another file) is opened. */
    char *tmp = xasprintf("%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        tu_err_set(err, TU_ERR_IO, "cannot create a temporary file beside '%s': %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    /* The mode exactly (umask does not narrow it), the owner when one is given. */
    int bad = (uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) != 0;
    if (bad || fchmod(fd, mode) != 0 || fs_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        tu_err_set(err, TU_ERR_IO, "cannot write '%s': %s", path, strerror(e));
        free(tmp);
        return -1;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        tu_err_set(err, TU_ERR_IO, "cannot write '%s': %s", path, strerror(e));
        free(tmp);
        return -1;
    }
    free(tmp);
    fsync_dir_of(path);
    return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct tu_err *err)
{
    return fs_write_atomic_as(path, data, len, mode, (uid_t)-1, (gid_t)-1, err);
}

int fs_mkdirs(const char *path, mode_t mode, struct tu_err *err)
{
    char *p = xstrdup(path);
    size_t len = strlen(p);
    int rc = 0;
    for (size_t i = 1; i <= len && rc == 0; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            rc = tu_err_set(err, TU_ERR_IO, "cannot create directory '%s': %s", p, strerror(errno));
        } else {
            struct stat st;
            if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
                rc = tu_err_set(err, TU_ERR_IO, "'%s' is not a directory", p);
        }
        p[i] = saved;
    }
    if (rc == 0 && chmod(path, mode) != 0)
        rc = tu_err_set(err, TU_ERR_IO, "cannot set the mode of '%s': %s", path, strerror(errno));
    free(p);
    return rc;
}

int fs_read_capped(const char *path, size_t max, struct buf *out, struct tu_err *err)
{
    buf_init(out, max);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        return tu_err_set(err, TU_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
    }
    char chunk[8192];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            buf_free(out);
            return tu_err_set(err, TU_ERR_IO, "cannot read '%s': %s", path, strerror(e));
        }
        if (n == 0)
            break;
        if (buf_append(out, chunk, (size_t)n) < 0) {
            close(fd);
            buf_free(out);
            return tu_err_set(err, TU_ERR_TOO_BIG, "'%s' is larger than %zu bytes", path, max);
        }
    }
    close(fd);
    return 0;
}

int fs_append_line(const char *path, const char *line, mode_t mode, struct tu_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return tu_err_set(err, TU_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    size_t len = strlen(line);
    int rc = 0;
    if (fchmod(fd, mode) != 0 || fs_write_all(fd, line, len) != 0 || fs_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0)
        rc = tu_err_set(err, TU_ERR_IO, "cannot append to '%s': %s", path, strerror(errno));
    if (close(fd) != 0 && rc == 0)
        rc = tu_err_set(err, TU_ERR_IO, "cannot append to '%s': %s", path, strerror(errno));
    return rc;
}
