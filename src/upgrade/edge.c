/* edge.c - switching traffic at the edge without dropping requests. */
#include "upgrade/edge.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/objects.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

extern const char tracup_edge_template[];

char *edge_substitute(const char *tpl, const char *const *names, const char *const *values, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    const char *p = tpl;
    while (*p) {
        const char *open = strstr(p, "{{");
        if (!open) {
            buf_appends(&b, p);
            break;
        }
        buf_append(&b, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        size_t i = n;
        if (close)
            for (i = 0; i < n; i++)
                if (strlen(names[i]) == (size_t)(close - open - 2) && strncmp(open + 2, names[i], strlen(names[i])) == 0)
                    break;
        if (i < n) {
            buf_appends(&b, values[i]);
            p = close + 2;
        } else {
            buf_append(&b, open, 2);
            p = open + 2;
        }
    }
    return buf_detach(&b);
}

int edge_render(const char *api_upstream, const char *gui_upstream, const char *api_backup, const char *gui_backup,
                char **out, struct tu_err *err)
{
    *out = NULL;
    const char *path = getenv("TRACUP_EDGE_TEMPLATE");
    char *owned = NULL;
    const char *tpl = tracup_edge_template;
    if (path && *path) {
        struct buf b;
        int r = fs_read_capped(path, EDGE_CONF_MAX, &b, err);
        if (r != 0) {
            if (r == 1)
                tu_err_set(err, TU_ERR_USAGE, "TRACUP_EDGE_TEMPLATE '%s' does not exist", path);
            return -1;
        }
        owned = buf_detach(&b);
        tpl = owned;
    }
    char api_port[16], gui_port[16];
    snprintf(api_port, sizeof(api_port), "%d", EDGE_API_PORT);
    snprintf(gui_port, sizeof(gui_port), "%d", EDGE_GUI_PORT);
    char *ab = api_backup ? xasprintf("server %s backup;", api_backup) : xstrdup("");
    char *gb = gui_backup ? xasprintf("server %s backup;", gui_backup) : xstrdup("");
    const char *names[] = {"API_UPSTREAM", "GUI_UPSTREAM", "API_PORT", "GUI_PORT", "API_BACKUP", "GUI_BACKUP"};
    const char *values[] = {api_upstream, gui_upstream, api_port, gui_port, ab, gb};
    *out = edge_substitute(tpl, names, values, 6);
    free(ab);
    free(gb);
    free(owned);
    if (strstr(*out, "{{")) {
        tu_err_set(err, TU_ERR_USAGE, "the edge template has a placeholder tracup does not fill");
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int edge_read(struct docker *d, const char *edge_id, char **out, struct tu_err *err)
{
    *out = NULL;
    char *id = docker_escape(edge_id);
    char *file = docker_escape(EDGE_CONF_DIR "/" EDGE_CONF_FILE);
    char *path = xasprintf("/containers/%s/archive?path=%s", id, file);
    free(id);
    free(file);
    struct buf tar;
    long st = docker_call_bytes(d, "GET", path, &tar, err);
    free(path);
    if (st < 0) {
        tu_err_prefix(err, "reading the edge's %s: ", EDGE_CONF_FILE);
        return -1;
    }
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    int rc = -1;
    struct archive_entry *e;
    if (archive_read_open_memory(a, tar.data ? tar.data : "", tar.len) == ARCHIVE_OK &&
        archive_read_next_header(a, &e) == ARCHIVE_OK) {
        la_int64_t size = archive_entry_size(e);
        if (size < 0 || size > EDGE_CONF_MAX) {
            tu_err_set(err, TU_ERR_TOO_BIG, "the edge's %s is larger than %d bytes", EDGE_CONF_FILE, EDGE_CONF_MAX);
        } else {
            char *text = xmalloc((size_t)size + 1);
            la_ssize_t got = archive_read_data(a, text, (size_t)size);
            if (got == size) {
                text[size] = '\0';
                *out = text;
                rc = 0;
            } else {
                free(text);
                tu_err_set(err, TU_ERR_PROTOCOL, "the edge's %s could not be read from its archive", EDGE_CONF_FILE);
            }
        }
    } else {
        tu_err_set(err, TU_ERR_PROTOCOL, "the daemon's archive of the edge config is not a tar");
    }
    archive_read_free(a);
    buf_free(&tar);
    return rc;
}

int edge_reload(struct docker *d, const char *edge_id, struct tu_err *err)
{
    /* Not POST /kill?signal=HUP: the daemon marks a container it signalled as
     * stopped by hand, and a container with restart policy unless-stopped then
     * stays down after the next daemon restart or reboot (moby issue 41302). */
    static const char *const argv[] = {"nginx", "-s", "reload", NULL};
    int code = -1;
    char *out = NULL;
    /* An edge the daemon has just (re)started may not have written its pid file
     * yet, and nginx -s reload then exits 1: a few tries, a moment apart. */
    for (int attempt = 1;; attempt++) {
        free(out);
        out = NULL;
        if (docker_exec(d, edge_id, argv, &code, &out, err) < 0) {
            tu_err_prefix(err, "reloading the edge: ");
            return -1;
        }
        if (code == 0 || attempt >= EDGE_RELOAD_TRIES)
            break;
        time_sleep_ms(EDGE_RELOAD_PAUSE_MS);
    }
    int rc = 0;
    if (code != 0) {
        /* The first line nginx printed, cleaned for one line of error. */
        char line[300] = "";
        size_t n = 0;
        for (const char *p = out; p && *p && *p != '\n' && n + 1 < sizeof(line); p++)
            line[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        line[n] = '\0';
        rc = tu_err_set(err, TU_ERR_REFUSED,
                        "reloading the edge: 'nginx -s reload' in container '%.12s' exited %d (%d tries)%s%s", edge_id,
                        code, EDGE_RELOAD_TRIES, line[0] ? ": " : "", line);
    }
    free(out);
    return rc;
}

int edge_apply(struct docker *d, const char *edge_id, const char *conf, struct tu_err *err)
{
    if (docker_put_file(d, edge_id, EDGE_CONF_DIR, EDGE_CONF_FILE, conf, strlen(conf), 0644, err) < 0)
        return -1;
    return edge_reload(d, edge_id, err);
}
