/* lock.c - the per-stack lock file. */
#include "upgrade/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define LOCK_MAX 4096

int lock_pid_alive(long pid)
{
    if (pid <= 0 || pid > 0x3fffffff)
        return 0;
    if (kill((pid_t)pid, 0) == 0 || errno == EPERM) {
        /* A zombie is dead for our purposes. */
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            return 1;
        int alive = 1;
        if (fgets(line, sizeof(line), f)) {
            char *rp = strrchr(line, ')');
            if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
                alive = 0;
        }
        fclose(f);
        return alive;
    }
    return 0;
}

static int try_create(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int ok = n == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        unlink(path);
        errno = EIO;
        return -1;
    }
    return 0;
}

int lock_acquire(struct tu_lock *l, const char *path, const char *what, char **recovered, struct tu_err *err)
{
    memset(l, 0, sizeof(*l));
    *recovered = NULL;
    char host[128] = "?", stamp[32];
    gethostname(host, sizeof(host) - 1);
    const char *user = getenv("SUDO_USER");
    if (!user || !*user)
        user = getenv("USER");
    if (!user || !*user) {
        struct passwd *pw = getpwuid(getuid());
        user = pw ? pw->pw_name : NULL;
    }
    json_t *me = json_pack("{s:I,s:s,s:s,s:s,s:s}", "pid", (json_int_t)getpid(), "user", user ? user : "?",
                           "host", host, "started", time_iso_now(stamp, sizeof(stamp)), "operation", what);
    char *text = json_dumps(me, JSON_COMPACT);
    json_decref(me);

    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (try_create(path, text) == 0) {
            l->path = xstrdup(path);
            l->held = 1;
            rc = 0;
            break;
        }
        if (errno != EEXIST) {
            tu_err_set(err, TU_ERR_IO, "cannot create lock '%s': %s", path, strerror(errno));
            break;
        }
        struct buf b;
        struct tu_err re;
        int r = fs_read_capped(path, LOCK_MAX, &b, &re);
        if (r == 1)
            continue; /* released meanwhile */
        json_t *j = r == 0 ? json_loadb(b.data ? b.data : "", b.len, 0, NULL) : NULL;
        if (r == 0)
            buf_free(&b);
        json_int_t pid = json_integer_value(json_object_get(j, "pid"));
        const char *hu = json_string_value(json_object_get(j, "user"));
        const char *hh = json_string_value(json_object_get(j, "host"));
        const char *hs = json_string_value(json_object_get(j, "started"));
        const char *ho = json_string_value(json_object_get(j, "operation"));
        int same_host = hh && strcmp(hh, host) == 0;
        if (j && pid > 0 && (!same_host || lock_pid_alive((long)pid))) {
            tu_err_set(err, TU_ERR_REFUSED,
                       "another tracup holds this stack: '%s' by pid %lld (user %s on %s, since %s)",
                       ho ? ho : "?", (long long)pid, hu ? hu : "?", hh ? hh : "?", hs ? hs : "?");
            tu_err_hint(err, "wait for it to finish; if that process is gone for good, remove '%s'", path);
            json_decref(j);
            break;
        }
        if (attempt == 0) {
            if (j && pid > 0)
                *recovered = xasprintf("recovered a stale lock of pid %lld ('%s' since %s), which is no longer running",
                                       (long long)pid, ho ? ho : "?", hs ? hs : "?");
            else
                *recovered = xasprintf("replaced an unreadable lock file '%s'", path);
            unlink(path);
        }
        json_decref(j);
    }
    if (rc < 0 && err->kind == TU_ERR_NONE)
        tu_err_set(err, TU_ERR_REFUSED, "cannot take lock '%s': another tracup took it at the same moment", path);
    if (rc < 0) {
        free(*recovered);
        *recovered = NULL;
    }
    free(text);
    return rc;
}

void lock_release(struct tu_lock *l)
{
    if (!l)
        return;
    if (l->held && l->path)
        unlink(l->path);
    free(l->path);
    memset(l, 0, sizeof(*l));
}
