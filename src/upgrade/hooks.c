/* hooks.c - finding, checking and running operator hooks: own process group, clean environment, bounded time. */
/* realpath and the sticky bit are X/Open, not base POSIX. */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include "upgrade/hooks.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/timeutil.h"
#include "util/xalloc.h"

#define HOOK_ENV_VALUE_MAX 4096
#define HOOK_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_FD_CLOSE_MAX 65536
#define HOOK_EXIT_WAIT_MS 1000    /* output still open after the hook exited: its children hold it */

static const char *const point_names[HOOK_NPOINTS] = {
    [HOOK_PRE_UPGRADE] = "pre-upgrade",   [HOOK_POST_SWITCH] = "post-switch",
    [HOOK_POST_UPGRADE] = "post-upgrade", [HOOK_PRE_ROLLBACK] = "pre-rollback",
    [HOOK_POST_ROLLBACK] = "post-rollback", [HOOK_PRE_FINALIZE] = "pre-finalize",
};

const char *hook_point_name(enum hook_point p)
{
    return (unsigned)p < HOOK_NPOINTS ? point_names[p] : "?";
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int hooks_ignored_name(const char *name)
{
    static const char *const suffixes[] = {"~", ".bak", ".orig", ".rej", ".swp", ".rpmnew", ".rpmsave", ".rpmorig", NULL};
    if (!name[0] || name[0] == '.' || name[0] == '#' || strstr(name, ".dpkg-") || strstr(name, ".ucf-"))
        return 1;
    for (size_t i = 0; suffixes[i]; i++)
        if (ends_with(name, suffixes[i]))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- who may change a hook */

static int foreign_owner(const struct stat *st)
{
    return st->st_uid != 0 && st->st_uid != geteuid();
}

int hooks_check_owner(const char *path, struct tu_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return tu_err_set(err, TU_ERR_IO, "cannot read hook '%s': %s", path, strerror(errno));
    const char *what = S_ISDIR(st.st_mode) ? "hooks directory" : "hook";
    if (foreign_owner(&st)) {
        tu_err_set(err, TU_ERR_REFUSED, "%s '%s' is owned by uid %lu, neither root nor tracup's user: refusing "
                                        "to run hooks with tracup's privileges", what, path, (unsigned long)st.st_uid);
        tu_err_hint(err, "chown root '%s'", path);
        return -1;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        tu_err_set(err, TU_ERR_REFUSED, "%s '%s' is writable by %s: refusing to run hooks with tracup's privileges",
                   what, path, st.st_mode & S_IWOTH ? "everyone" : "its group");
        tu_err_hint(err, "chmod go-w '%s'", path);
        return -1;
    }
    return 0;
}

/* The directories above the hooks directory (what: "hooks directory"), or above
 * the file a hook resolves to (what: "hook"): another user who can rename an entry
 * of one can put hooks of their own in its place. A sticky directory (like /tmp)
 * lets nobody rename what is not theirs. */
static int check_ancestors(const char *dir, const char *what, struct tu_err *err)
{
    char *real = realpath(dir, NULL);
    if (!real)
        return tu_err_set(err, TU_ERR_IO, "cannot resolve the %s '%s': %s", what, dir, strerror(errno));
    int rc = 0;
    for (char *slash = strrchr(real, '/'); slash && rc == 0; slash = strrchr(real, '/')) {
        if (slash == real)
            slash[1] = '\0';
        else
            *slash = '\0';
        struct stat st;
        if (stat(real, &st) != 0) {
            rc = tu_err_set(err, TU_ERR_IO, "cannot read '%s': %s", real, strerror(errno));
        } else if (foreign_owner(&st) || ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))) {
            rc = tu_err_set(err, TU_ERR_REFUSED, "the %s '%s' is inside '%s', which another user can change: "
                                                 "refusing to run hooks with tracup's privileges", what, dir, real);
            tu_err_hint(err, "keep hooks in a directory only root (or tracup's user) can write, such as %s",
                        HOOKS_DIR_DEFAULT);
        }
        if (strcmp(real, "/") == 0)
            break;
    }
    free(real);
    return rc;
}

/* ---------------------------------------------------------------- finding a point's hooks */

struct hook_entry {
    char *path;
    char *name;   /* "pre-upgrade" or the file's name in pre-upgrade.d/ */
    char *label;  /* "pre-upgrade" or "pre-upgrade/10-check" */
};

struct hook_list {
    struct hook_entry e[HOOKS_PER_POINT_MAX + 1];
    size_t n;
};

static void list_free(struct hook_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->e[i].path);
        free(l->e[i].name);
        free(l->e[i].label);
    }
    l->n = 0;
}

static void warn(const struct hooks *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(const struct hooks *h, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tu_text_clean(msg, sizeof(msg));
    fprintf(h->errout, "warning: %s\n", msg);
    fflush(h->errout);
}

/* Adds path when it is an executable file tracup may run. Returns 0 (added or
 * skipped) or -1 when it is not safe (err). */
static int consider(const struct hooks *h, struct hook_list *l, const char *path, const char *name, const char *label,
                    int warn_skipped, struct tu_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (warn_skipped)
            warn(h, "hook '%s' cannot be read (%s): it does not run", path, strerror(errno));
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        if (warn_skipped)
            warn(h, "hook '%s' is not a file: it does not run", path);
        return 0;
    }
    if (hooks_check_owner(path, err) < 0)
        return -1;
    /* A symbolic link (the hook, or its .d directory) leads out of the checked
     * directory: the file it leads to must be as safe as one inside it, and it
     * is that file that runs, so the link cannot be turned elsewhere between the
     * check and the run. */
    char *real = realpath(path, NULL);
    if (!real)
        return tu_err_set(err, TU_ERR_IO, "cannot resolve hook '%s': %s", path, strerror(errno));
    if (strcmp(real, path) != 0 && check_ancestors(real, "hook", err) < 0) {
        tu_err_prefix(err, "hook '%s' is a link: ", path);
        free(real);
        return -1;
    }
    if (access(real, X_OK) != 0 || !(st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH))) {
        if (warn_skipped)
            warn(h, "hook '%s' is not executable: it does not run (chmod +x to run it)", path);
        free(real);
        return 0;
    }
    if (l->n >= HOOKS_PER_POINT_MAX) {
        free(real);
        return tu_err_set(err, TU_ERR_USAGE, "more than %d hooks for one point in '%s'", HOOKS_PER_POINT_MAX,
                          h->dir);
    }
    l->e[l->n].path = real;
    l->e[l->n].name = xstrdup(name);
    l->e[l->n].label = xstrdup(label);
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hooks of point p in the order they run. Returns 0 or -1 (err). */
static int list_point(const struct hooks *h, enum hook_point p, int warn_skipped, struct hook_list *l,
                      struct tu_err *err)
{
    l->n = 0;
    if (!h->dir)
        return 0;
    const char *pn = hook_point_name(p);
    char *single = xasprintf("%s/%s", h->dir, pn);
    struct stat st;
    int rc = 0;
    if (lstat(single, &st) == 0)
        rc = consider(h, l, single, pn, pn, warn_skipped, err);
    free(single);
    char *dpath = xasprintf("%s/%s.d", h->dir, pn);
    DIR *dp = rc == 0 && stat(dpath, &st) == 0 && S_ISDIR(st.st_mode) ? opendir(dpath) : NULL;
    if (dp && hooks_check_owner(dpath, err) < 0)
        rc = -1;
    char *names[HOOKS_PER_POINT_MAX * 4];
    size_t nn = 0;
    struct dirent *de;
    while (rc == 0 && dp && (de = readdir(dp))) {
        if (hooks_ignored_name(de->d_name))
            continue;
        if (nn == sizeof(names) / sizeof(names[0])) {
            rc = tu_err_set(err, TU_ERR_USAGE, "too many files in '%s'", dpath);
            break;
        }
        names[nn++] = xstrdup(de->d_name);
    }
    if (dp)
        closedir(dp);
    /* Lexical order, byte by byte, whatever the locale: 10-a before 20-b. */
    qsort(names, nn, sizeof(names[0]), cmp_str);
    for (size_t i = 0; i < nn; i++) {
        if (rc == 0) {
            char *path = xasprintf("%s/%s", dpath, names[i]);
            char *label = xasprintf("%s/%s", pn, names[i]);
            rc = consider(h, l, path, names[i], label, warn_skipped, err);
            free(label);
            free(path);
        }
        free(names[i]);
    }
    free(dpath);
    if (rc < 0)
        list_free(l);
    return rc;
}

/* ---------------------------------------------------------------- opening */

static int is_point_entry(const char *name)
{
    for (int p = 0; p < HOOK_NPOINTS; p++) {
        size_t n = strlen(point_names[p]);
        if (strncmp(name, point_names[p], n) == 0 && (name[n] == '\0' || strcmp(name + n, ".d") == 0))
            return 1;
    }
    return 0;
}

int hooks_open(struct hooks *h, const char *dir, int explicit, long timeout_s, FILE *errout, struct tu_err *err)
{
    memset(h, 0, sizeof(*h));
    h->errout = errout ? errout : stderr;
    h->grace_ms = HOOK_KILL_GRACE_MS;
    if (timeout_s <= 0)
        timeout_s = HOOK_TIMEOUT_DEFAULT_S;
    if (timeout_s > HOOK_TIMEOUT_MAX_S)
        timeout_s = HOOK_TIMEOUT_MAX_S;
    h->timeout_ms = timeout_s * 1000;
    if (!dir || !*dir)
        dir = HOOKS_DIR_DEFAULT;
    if (strlen(dir) > 1024)
        return tu_err_set(err, TU_ERR_USAGE, "the hooks directory name is longer than 1024 bytes");
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT && !explicit)
            return 0; /* no hooks installed */
        tu_err_set(err, TU_ERR_USAGE, "cannot read the hooks directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return tu_err_set(err, TU_ERR_USAGE, "the hooks directory '%s' is not a directory", dir);
    if (hooks_check_owner(dir, err) < 0 || check_ancestors(dir, "hooks directory", err) < 0)
        return -1;
    /* Absolute: a hook runs in "/", and resume may run from another directory. */
    h->dir = realpath(dir, NULL);
    if (!h->dir)
        return tu_err_set(err, TU_ERR_IO, "cannot resolve the hooks directory '%s': %s", dir, strerror(errno));
    /* Everything is looked at before anything runs: an unsafe post-upgrade hook
     * refuses the upgrade now, not once it is done. */
    for (int p = 0; p < HOOK_NPOINTS; p++) {
        struct hook_list l;
        if (list_point(h, (enum hook_point)p, 1, &l, err) < 0) {
            hooks_close(h);
            return -1;
        }
        list_free(&l);
    }
    DIR *dp = opendir(dir);
    struct dirent *de;
    while (dp && (de = readdir(dp)))
        if (!hooks_ignored_name(de->d_name) && !is_point_entry(de->d_name))
            warn(h, "'%s' in the hooks directory '%s' is not a hook point (pre-upgrade, post-switch, post-upgrade, "
                    "pre-rollback, post-rollback, pre-finalize, or NAME.d/): it does not run", de->d_name, dir);
    if (dp)
        closedir(dp);
    return 0;
}

void hooks_close(struct hooks *h)
{
    if (!h)
        return;
    free(h->dir);
    h->dir = NULL;
}

/* ---------------------------------------------------------------- the environment */

static void env_add(char **env, size_t *n, size_t cap, const char *k, const char *v)
{
    if (!v || *n + 1 >= cap || strlen(v) > HOOK_ENV_VALUE_MAX)
        return;
    env[(*n)++] = xasprintf("%s=%s", k, v);
}

/* Built from nothing: what a program needs to run, and the facts. Nothing of
 * tracup's own environment passes but PATH, HOME and the locale and time zone:
 * never a password, a token or a docker config. */
static char **build_env(enum hook_point p, const struct hook_facts *f)
{
    size_t cap = 24, n = 0;
    char **env = xcalloc(cap, sizeof(char *));
    const char *path = getenv("PATH");
    env_add(env, &n, cap, "PATH", path && *path ? path : HOOK_DEFAULT_PATH);
    const char *home = getenv("HOME");
    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(geteuid());
        home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : "/";
    }
    env_add(env, &n, cap, "HOME", home);
    static const char *const keep[] = {"LANG", "LC_ALL", "TZ", NULL};
    for (size_t i = 0; keep[i]; i++)
        env_add(env, &n, cap, keep[i], getenv(keep[i]));
    env_add(env, &n, cap, "TRACUP_HOOK", hook_point_name(p));
    env_add(env, &n, cap, "TRACUP_STACK", f->stack);
    env_add(env, &n, cap, "TRACUP_FROM", f->from);
    env_add(env, &n, cap, "TRACUP_TO", f->to);
    env_add(env, &n, cap, "TRACUP_PHASE", f->phase);
    env_add(env, &n, cap, "TRACUP_PUBLIC_URL", f->public_url);
    env_add(env, &n, cap, "TRACUP_UPGRADE_ID", f->upgrade_id);
    env_add(env, &n, cap, "TRACUP_SWITCH", f->switch_mode);
    env_add(env, &n, cap, "TRACUP_RESULT", f->result);
    env[n] = NULL;
    return env;
}

static void env_free(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* ---------------------------------------------------------------- one run */

enum hook_status { HS_OK, HS_EXIT, HS_SIGNAL, HS_TIMEOUT, HS_EXEC, HS_INTERRUPTED };

struct hook_result {
    enum hook_status status;
    int code;          /* exit code, signal, or errno of the exec */
    long duration_ms;
    int left_behind;   /* processes of its group outlived it and were killed */
};

struct out_lines {
    const struct hooks *h;
    const char *label;
    char line[HOOK_LINE_MAX + 1];
    size_t len;
    size_t cut;        /* bytes of the current line not shown */
    size_t lines;
};

static void emit_line(struct out_lines *o)
{
    if (o->lines == HOOK_LINES_MAX)
        fprintf(o->h->errout, "hook %s: (more output not shown)\n", o->label);
    if (o->lines++ >= HOOK_LINES_MAX) {
        o->len = o->cut = 0;
        return;
    }
    while (o->len && o->line[o->len - 1] == '\r')
        o->len--;
    char clean[1024];
    size_t n = 0;
    for (size_t i = 0; i < o->len && n + 1 < sizeof(clean); i++)
        clean[n++] = o->line[i] ? o->line[i] : '?';
    clean[n] = '\0';
    tu_text_clean(clean, sizeof(clean));
    if (o->cut)
        fprintf(o->h->errout, "hook %s: %s [%zu more bytes cut]\n", o->label, clean, o->cut);
    else
        fprintf(o->h->errout, "hook %s: %s\n", o->label, clean);
    fflush(o->h->errout);
    o->len = o->cut = 0;
}

static void feed(struct out_lines *o, const char *data, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n')
            emit_line(o);
        else if (o->len < HOOK_LINE_MAX)
            o->line[o->len++] = data[i];
        else
            o->cut++;
    }
}

/* Closes every descriptor above stderr but keep: a hook must not hold the
 * lock, the daemon's socket or a pipe of another hook. */
static void close_from_3(int keep)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > HOOK_FD_CLOSE_MAX)
        max = HOOK_FD_CLOSE_MAX;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

/* In the child after fork: nothing that allocates. */
static void child(const char *path, char *const *env, int devnull, int out_w, int exec_w)
{
    setpgid(0, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGCHLD, SIGALRM};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(out_w, 2) < 0 || chdir("/") != 0) {
        int e = errno;
        ssize_t w = write(exec_w, &e, sizeof(e));
        (void)w;
        _exit(127);
    }
    /* dup2 onto the same descriptor keeps close-on-exec: clear it. */
    for (int fd = 0; fd < 3; fd++)
        fcntl(fd, F_SETFD, 0);
    close_from_3(exec_w);
    char *argv[2];
    argv[0] = (char *)(uintptr_t)path; /* execve's prototype, not a write */
    argv[1] = NULL;
    execve(path, argv, env);
    int e = errno;
    ssize_t w = write(exec_w, &e, sizeof(e));
    (void)w;
    _exit(127);
}

static int set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    return fl < 0 ? -1 : fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* True once the hook (pid) exited; it stays a zombie (not reaped) so its process
 * group id cannot be taken by another process while we may still signal it. */
static int leader_exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == ECHILD;
    return si.si_pid == pid;
}

static int run_one(const struct hooks *h, const struct hook_entry *he, char *const *env, struct hook_result *r)
{
    memset(r, 0, sizeof(*r));
    long t0 = time_mono_ms();
    int out[2] = {-1, -1}, ex[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || pipe(out) != 0 || pipe(ex) != 0 || set_cloexec(out[0]) < 0 || set_cloexec(out[1]) < 0 ||
        set_cloexec(ex[0]) < 0 || set_cloexec(ex[1]) < 0) {
        r->status = HS_EXEC;
        r->code = errno;
        goto fail;
    }
    fflush(h->errout);
    pid_t pid = fork();
    if (pid < 0) {
        r->status = HS_EXEC;
        r->code = errno;
        goto fail;
    }
    if (pid == 0)
        child(he->path, env, devnull, out[1], ex[1]);
    setpgid(pid, pid); /* also here: no signal may miss the group for a race */
    close(out[1]);
    close(ex[1]);
    close(devnull);
    out[1] = ex[1] = devnull = -1;
    int exec_errno = 0;
    ssize_t got;
    do
        got = read(ex[0], &exec_errno, sizeof(exec_errno));
    while (got < 0 && errno == EINTR);
    close(ex[0]);
    ex[0] = -1;

    struct out_lines ol;
    memset(&ol, 0, sizeof(ol));
    ol.h = h;
    ol.label = he->label;
    long deadline = t0 + h->timeout_ms, exited_at = 0, term_at = 0, kill_at = 0;
    int eof = 0, exited = 0, stopped = 0;
    for (;;) {
        long now = time_mono_ms();
        if (!exited && leader_exited(pid)) {
            exited = 1;
            exited_at = now;
        }
        if (exited && (eof || now - exited_at > HOOK_EXIT_WAIT_MS))
            break;
        if (!term_at && !exited && (now >= deadline || (h->interrupted && h->interrupted()))) {
            stopped = now >= deadline ? HS_TIMEOUT : HS_INTERRUPTED;
            kill(-pid, SIGTERM);
            term_at = now;
        }
        if (term_at && !kill_at && now - term_at >= h->grace_ms) {
            kill(-pid, SIGKILL);
            kill_at = now;
        }
        if (kill_at && now - kill_at > 5000)
            break; /* not even SIGKILL ended it (a process stuck in the kernel) */
        struct pollfd pf = {.fd = eof ? -1 : out[0], .events = POLLIN};
        int pr = poll(&pf, 1, 50);
        if (pr > 0 && !eof) {
            char chunk[4096];
            ssize_t n = read(out[0], chunk, sizeof(chunk));
            if (n > 0)
                feed(&ol, chunk, (size_t)n);
            else if (n == 0 || (errno != EINTR && errno != EAGAIN))
                eof = 1;
        }
    }
    if (ol.len || ol.cut)
        emit_line(&ol);
    int status = 0;
    pid_t w = 0;
    for (int i = 0; i < 100 && (w = waitpid(pid, &status, WNOHANG)) == 0; i++)
        time_sleep_ms(50);
    /* What the hook left running in its group goes with it (the group's id stays
     * taken while any member lives, so this reaches no one else). */
    if (kill(-pid, 0) == 0) {
        r->left_behind = !stopped;
        kill(-pid, SIGKILL);
    }
    r->duration_ms = time_mono_ms() - t0;
    if (got == (ssize_t)sizeof(exec_errno)) {
        r->status = HS_EXEC;
        r->code = exec_errno;
    } else if (stopped) {
        r->status = (enum hook_status)stopped;
    } else if (w != pid) {
        r->status = HS_SIGNAL;
        r->code = SIGKILL;
    } else if (WIFEXITED(status)) {
        r->status = WEXITSTATUS(status) == 0 ? HS_OK : HS_EXIT;
        r->code = WEXITSTATUS(status);
    } else {
        r->status = HS_SIGNAL;
        r->code = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    close(out[0]);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (ex[i] >= 0)
            close(ex[i]);
    }
    if (devnull >= 0)
        close(devnull);
    r->duration_ms = time_mono_ms() - t0;
    return 0;
}

static void describe(const struct hooks *h, const struct hook_result *r, char *buf, size_t cap)
{
    switch (r->status) {
    case HS_OK: snprintf(buf, cap, "exited 0"); break;
    case HS_EXIT: snprintf(buf, cap, "exited %d", r->code); break;
    case HS_SIGNAL: snprintf(buf, cap, "was killed by signal %d (%s)", r->code, strsignal(r->code)); break;
    case HS_TIMEOUT:
        snprintf(buf, cap, "did not finish within %ld s and was killed", h->timeout_ms / 1000);
        break;
    case HS_EXEC: snprintf(buf, cap, "could not be run: %s", strerror(r->code)); break;
    case HS_INTERRUPTED: snprintf(buf, cap, "was stopped: tracup was interrupted"); break;
    }
}

static json_t *record(enum hook_point p, const struct hook_entry *he, const struct hook_result *r, const char *phase)
{
    static const char *const names[] = {"ok", "exited", "signal", "timeout", "exec_failed", "interrupted"};
    json_t *j = json_pack("{s:s,s:s,s:s,s:f}", "hook", hook_point_name(p), "name", he->name, "status",
                          names[r->status], "duration_s", (double)r->duration_ms / 1000.0);
    if (r->status == HS_OK || r->status == HS_EXIT)
        json_object_set_new(j, "exit_code", json_integer(r->code));
    if (r->status == HS_SIGNAL)
        json_object_set_new(j, "signal", json_integer(r->code));
    if (phase)
        json_object_set_new(j, "phase", json_string(phase));
    if (r->left_behind)
        json_object_set_new(j, "left_behind_killed", json_true());
    return j;
}

int hooks_run(const struct hooks *h, enum hook_point p, const struct hook_facts *f, int stop_at_failure, json_t *runs,
              struct tu_err *err)
{
    if (!h || !h->dir)
        return 0;
    struct hook_list l;
    if (list_point(h, p, 0, &l, err) < 0) {
        tu_err_prefix(err, "%s hooks: ", hook_point_name(p));
        return -1;
    }
    int rc = 0;
    char **env = l.n ? build_env(p, f) : NULL;
    for (size_t i = 0; i < l.n; i++) {
        struct hook_result r;
        run_one(h, &l.e[i], env, &r);
        if (runs)
            json_array_append_new(runs, record(p, &l.e[i], &r, f->phase));
        char how[160];
        describe(h, &r, how, sizeof(how));
        if (r.left_behind)
            warn(h, "%s hook '%s' left processes running: they were killed", hook_point_name(p), l.e[i].name);
        if (r.status == HS_OK)
            continue;
        if (rc == 0)
            tu_err_set(err, r.status == HS_TIMEOUT ? TU_ERR_TIMEOUT : TU_ERR_REFUSED, "%s hook '%s' %s",
                       hook_point_name(p), l.e[i].name, how);
        rc = 1;
        if (stop_at_failure)
            break;
        warn(h, "%s hook '%s' %s", hook_point_name(p), l.e[i].name, how);
    }
    env_free(env);
    list_free(&l);
    return rc;
}
