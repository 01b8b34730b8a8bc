/* config.c - parsing tracup.conf. */
#include "util/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int parse_seconds(const char *v, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < 1 || n > 86400)
        return -1;
    *out = n;
    return 0;
}

int tu_config_parse(struct tu_config *cfg, const char *text, const char *path, struct tu_err *err)
{
    char *copy = xstrdup(text);
    char *line = copy;
    int lineno = 0, rc = 0;
    while (line && rc == 0) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *s = trim(line);
        line = next;
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = tu_err_set(err, TU_ERR_USAGE, "%s:%d: expected 'key = value'", path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (strcmp(key, "registry") == 0) {
            if (!*val) {
                rc = tu_err_set(err, TU_ERR_USAGE, "%s:%d: registry needs a value", path, lineno);
                break;
            }
            free(cfg->registry);
            cfg->registry = xstrdup(val);
        } else if (strcmp(key, "stall_timeout") == 0) {
            if (parse_seconds(val, &cfg->stall_timeout) < 0)
                rc = tu_err_set(err, TU_ERR_USAGE, "%s:%d: stall_timeout must be 1 to 86400 seconds", path,
                                lineno);
        } else if (strcmp(key, "first_byte_timeout") == 0) {
            if (parse_seconds(val, &cfg->first_byte_timeout) < 0)
                rc = tu_err_set(err, TU_ERR_USAGE, "%s:%d: first_byte_timeout must be 1 to 86400 seconds", path,
                                lineno);
        } else if (strcmp(key, "connect_timeout") == 0) {
            if (parse_seconds(val, &cfg->connect_timeout) < 0)
                rc = tu_err_set(err, TU_ERR_USAGE, "%s:%d: connect_timeout must be 1 to 86400 seconds", path,
                                lineno);
        } else if (strcmp(key, "hooks_dir") == 0) {
            if (val[0] != '/' || strlen(val) > 1024) {
                rc = tu_err_set(err, TU_ERR_USAGE, "%s:%d: hooks_dir must be an absolute path", path, lineno);
                break;
            }
            free(cfg->hooks_dir);
            cfg->hooks_dir = xstrdup(val);
        } else if (strcmp(key, "hook_timeout") == 0) {
            if (parse_seconds(val, &cfg->hook_timeout) < 0 || cfg->hook_timeout > 3600)
                rc = tu_err_set(err, TU_ERR_USAGE, "%s:%d: hook_timeout must be 1 to 3600 seconds", path, lineno);
        } else {
            rc = tu_err_set(err, TU_ERR_USAGE, "%s:%d: unknown key '%.40s'", path, lineno, key);
        }
    }
    free(copy);
    return rc;
}

int tu_config_load(struct tu_config *cfg, struct tu_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    const char *env = getenv("TRACUP_CONFIG");
    const char *path = env && *env ? env : TU_CONFIG_DEFAULT;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT && !(env && *env))
            return 0;
        return tu_err_set(err, TU_ERR_USAGE, "cannot read config '%s': %s", path, strerror(errno));
    }
    struct buf b;
    buf_init(&b, TU_CONFIG_MAX);
    char chunk[4096];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&b, chunk, n) < 0) {
            rc = tu_err_set(err, TU_ERR_USAGE, "config '%s' is larger than %d bytes", path, TU_CONFIG_MAX);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = tu_err_set(err, TU_ERR_USAGE, "cannot read config '%s': %s", path, strerror(errno));
    fclose(f);
    if (rc == 0 && b.len && memchr(b.data, '\0', b.len))
        rc = tu_err_set(err, TU_ERR_USAGE, "config '%s' is not a text file", path);
    if (rc == 0)
        rc = tu_config_parse(cfg, b.data ? b.data : "", path, err);
    buf_free(&b);
    if (rc == 0)
        cfg->path = xstrdup(path);
    else
        tu_config_free(cfg);
    return rc;
}

void tu_config_free(struct tu_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->path);
    free(cfg->registry);
    free(cfg->hooks_dir);
    memset(cfg, 0, sizeof(*cfg));
}
