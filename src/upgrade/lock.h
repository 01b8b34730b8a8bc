/* lock.h - one operation per stack: a lock file naming its holder, stale locks recovered. */
#ifndef TRACUP_LOCK_H
#define TRACUP_LOCK_H

#include <stddef.h>

#include "util/err.h"

struct tu_lock {
    char *path;
    int held;
};

/* Takes the lock at path for `what` (e.g. "upgrade --to 0.8.2"). When a lock of
 * a dead process is found, it is replaced and *recovered is set to a message
 * (the caller frees). A live holder: TU_ERR_REFUSED naming pid, user, host,
 * start time and operation. */
int lock_acquire(struct tu_lock *l, const char *path, const char *what, char **recovered, struct tu_err *err);
void lock_release(struct tu_lock *l);

/* True when pid is a running process (exposed for tests). */
int lock_pid_alive(long pid);

#endif
