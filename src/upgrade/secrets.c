/* secrets.c - blue's secret environment values, kept out of the upgrade directory.
 *
 * The snapshot in upgrades/<id>/ holds blue's containers with their secret values
 * masked; the real values live in secrets/<id>.json beside it, 0600 in a 0700
 * directory, until no rollback can need them (a completed rollback, finalize). */
#include "upgrade/secrets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/fsutil.h"
#include "util/mask.h"
#include "util/xalloc.h"

#define SECRETS_FILE_MAX (1024 * 1024)

char *secrets_path(const char *stack_dir, const char *upgrade_id)
{
    return xasprintf("%s/secrets/%s.json", stack_dir, upgrade_id);
}

static json_t *config_env(json_t *inspect)
{
    return json_object_get(json_object_get(inspect, "Config"), "Env");
}

json_t *secrets_withhold(json_t *inspect)
{
    json_t *real = json_object();
    json_t *names = json_array();
    json_t *env = config_env(inspect);
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v) {
        const char *entry = json_string_value(v);
        const char *eq = entry ? strchr(entry, '=') : NULL;
        if (!eq)
            continue;
        /* Whatever tracup masks when it prints an environment is a secret here too. */
        char *masked = mask_env_entry(entry);
        if (strcmp(masked, entry) != 0) {
            char *name = xstrndup(entry, (size_t)(eq - entry));
            json_object_set_new(real, name, json_string(eq + 1));
            json_array_append_new(names, json_string(name));
            free(name);
            json_array_set_new(env, i, json_string(masked)); /* entry is freed here */
        }
        free(masked);
    }
    if (json_array_size(names) > 0)
        json_object_set_new(inspect, SECRETS_WITHHELD_KEY, names);
    else
        json_decref(names);
    return real;
}

int secrets_save(const char *path, json_t *store, struct tu_err *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
    int rc = fs_mkdirs(dir, 0700, err);
    free(dir);
    if (rc < 0)
        return -1;
    char *text = json_dumps(store, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text)
        return tu_err_set(err, TU_ERR_IO, "cannot encode the secrets for '%s'", path);
    rc = fs_write_atomic(path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

/* Returns 0 with *out set, 1 when there is no file, -1 on error. The error never
 * quotes the file: a parser's message would show a piece of a secret. */
static int secrets_load(const char *path, json_t **out, struct tu_err *err)
{
    *out = NULL;
    struct buf b;
    int r = fs_read_capped(path, SECRETS_FILE_MAX, &b, err);
    if (r != 0)
        return r;
    json_error_t je;
    json_t *doc = json_loadb(b.data ? b.data : "", b.len, 0, &je);
    buf_free(&b);
    if (!json_is_object(json_object_get(doc, "containers"))) {
        json_decref(doc);
        return tu_err_set(err, TU_ERR_PROTOCOL, "the secrets file '%s' is corrupt", path);
    }
    *out = doc;
    return 0;
}

static const char *container_name(json_t *inspect)
{
    const char *n = json_string_value(json_object_get(inspect, "Name"));
    if (n && n[0] == '/')
        n++;
    return n ? n : "?";
}

/* The names in `names` that vals has no string for, comma separated (the caller frees). */
static char *missing_names(json_t *names, json_t *vals)
{
    struct buf b;
    buf_init(&b, 200);
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        const char *name = json_string_value(n);
        if (name && json_is_string(json_object_get(vals, name)))
            continue;
        if ((b.len && buf_appends(&b, ", ") < 0) || buf_appends(&b, name ? name : "?") < 0)
            break;
    }
    return buf_detach(&b); /* always NUL-terminated */
}

static void put_back(json_t *inspect, json_t *vals)
{
    json_t *env = config_env(inspect);
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v) {
        const char *entry = json_string_value(v);
        const char *eq = entry ? strchr(entry, '=') : NULL;
        if (!eq)
            continue;
        char *name = xstrndup(entry, (size_t)(eq - entry));
        const char *real = json_string_value(json_object_get(vals, name));
        if (real) {
            char *full = xasprintf("%s=%s", name, real);
            json_array_set_new(env, i, json_string(full));
            free(full);
        }
        free(name);
    }
    json_object_del(inspect, SECRETS_WITHHELD_KEY);
}

int secrets_restore(json_t *inspect, const char *path, struct tu_err *err)
{
    json_t *names = json_object_get(inspect, SECRETS_WITHHELD_KEY);
    if (json_array_size(names) == 0)
        return 0;
    json_t *store = NULL;
    int r = secrets_load(path, &store, err);
    if (r < 0)
        return -1;
    const char *id = json_string_value(json_object_get(inspect, "Id"));
    json_t *vals = json_object_get(json_object_get(store, "containers"), id ? id : "");
    char *missing = missing_names(names, vals);
    int rc = 0;
    if (*missing) {
        rc = tu_err_set(err, TU_ERR_REFUSED, "cannot recreate blue's container '%s' without its secret environment "
                                             "(%s): the secrets file '%s' %s", container_name(inspect), missing, path,
                        r == 1 ? "is gone" : "does not hold it");
        tu_err_hint(err, "put the secrets file back and run 'tracup rollback' again, or recreate the container "
                         "yourself; blue was not started without its secrets");
    } else {
        put_back(inspect, vals);
    }
    free(missing);
    json_decref(store);
    return rc;
}

int secrets_remove(const char *path, struct tu_err *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return tu_err_set(err, TU_ERR_IO, "cannot delete the secrets file '%s': %s", path, strerror(errno));
    return 0;
}
