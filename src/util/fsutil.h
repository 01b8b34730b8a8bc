/* fsutil.h - state files: atomic writes with fsync, private directories, capped reads. */
#ifndef TRACUP_FSUTIL_H
#define TRACUP_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

/* Writes data to path through a temporary file in the same directory: write,
 * fsync, rename, fsync the directory. The file gets `mode` (e.g. 0600). */
/* write(2) until all of data is written (EINTR retried); 0, or -1 with errno. */
int fs_write_all(int fd, const void *data, size_t len);
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct tu_err *err);
/* The same, the file owned by uid:gid ((uid_t)-1 / (gid_t)-1: the writer's). */
int fs_write_atomic_as(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
                       struct tu_err *err);
/* Creates path and its parents with `mode` (e.g. 0700); existing ones are fine. */
int fs_mkdirs(const char *path, mode_t mode, struct tu_err *err);
/* Reads a whole file of at most max bytes. Returns 0; 1 when it does not exist; -1 on error. */
int fs_read_capped(const char *path, size_t max, struct buf *out, struct tu_err *err);
/* Appends one line to a file (created with mode), then fsyncs it. */
int fs_append_line(const char *path, const char *line, mode_t mode, struct tu_err *err);

#endif
