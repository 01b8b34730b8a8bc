/* testutil.c - temporary directories, files and environment for the unit tests. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/b64.h"
#include "util/xalloc.h"

char *tt_mkdtemp(void)
{
    const char *tmp = getenv("TMPDIR");
    char *tmpl = xasprintf("%s/tracup-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "mkdtemp %s: %s\n", tmpl, strerror(errno));
        abort();
    }
    return tmpl;
}

void tt_rmtree(const char *path)
{
    struct stat st;
    if (!path || lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    chmod(path, 0700);
    /* Entries removed while a directory is read may hide others: read again until empty. */
    for (int pass = 0; rmdir(path) != 0 && pass < 5; pass++) {
        DIR *dir = opendir(path);
        if (!dir)
            return;
        struct dirent *de;
        while ((de = readdir(dir))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char *child = xasprintf("%s/%s", path, de->d_name);
            tt_rmtree(child);
            free(child);
        }
        closedir(dir);
    }
}

char *tt_write_file(const char *dir, const char *name, const char *content, unsigned mode)
{
    char *path = xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
    size_t n = strlen(content);
    if (fwrite(content, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
    chmod(path, (mode_t)mode);
    return path;
}

char *tt_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 256, len = 0;
    char *s = xmalloc(cap);
    size_t n;
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            cap *= 2;
            s = xrealloc(s, cap);
        }
    }
    fclose(f);
    s[len] = '\0';
    return s;
}

char *tt_b64url_decode(const char *s, size_t *out_len)
{
    char *std = xstrdup(s);
    for (char *p = std; *p; p++) {
        if (*p == '+' || *p == '/') {  /* not part of the URL alphabet */
            free(std);
            return NULL;
        }
        if (*p == '-')
            *p = '+';
        else if (*p == '_')
            *p = '/';
    }
    char *out = b64_decode(std, strlen(std), out_len);
    free(std);
    return out;
}

struct saved_env {
    char *name;
    char *value; /* NULL: was unset */
};

static struct saved_env saved[32];
static size_t nsaved;

void tt_env_set(const char *name, const char *value)
{
    size_t i;
    for (i = 0; i < nsaved; i++)
        if (strcmp(saved[i].name, name) == 0)
            break;
    if (i == nsaved) {
        if (nsaved == sizeof(saved) / sizeof(saved[0]))
            abort();
        saved[nsaved].name = xstrdup(name);
        saved[nsaved].value = xstrdup(getenv(name));
        nsaved++;
    }
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

void tt_env_restore(void)
{
    for (size_t i = 0; i < nsaved; i++) {
        if (saved[i].value)
            setenv(saved[i].name, saved[i].value, 1);
        else
            unsetenv(saved[i].name);
        free(saved[i].name);
        free(saved[i].value);
    }
    nsaved = 0;
}

long tt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void tt_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
