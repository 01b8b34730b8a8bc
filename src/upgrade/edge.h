/* edge.h - the stable endpoint: rendering, reading and reloading the edge's nginx config. */
#ifndef TRACUP_UPGRADE_EDGE_H
#define TRACUP_UPGRADE_EDGE_H

#include "docker/client.h"
#include "util/err.h"

#define EDGE_CONF_DIR "/etc/nginx/conf.d"
#define EDGE_CONF_FILE "tracup-edge.conf"
#define EDGE_API_PORT 8686
#define EDGE_GUI_PORT 8787
#define EDGE_CONF_MAX (256 * 1024)

/* The template ($TRACUP_EDGE_TEMPLATE, else the one built in), rendered for the
 * given upstreams (host:port) and optional backups (the old release, or NULL).
 * The caller frees. */
int edge_render(const char *api_upstream, const char *gui_upstream, const char *api_backup, const char *gui_backup,
                char **out, struct tu_err *err);
/* Substitutes {{NAME}} placeholders (exposed for tests). The caller frees. */
char *edge_substitute(const char *tpl, const char *const *names, const char *const *values, size_t n);
/* The edge's current config file (the caller frees); NULL with err when absent. */
int edge_read(struct docker *d, const char *edge_id, char **out, struct tu_err *err);
/* Reloads the edge's nginx with `nginx -s reload` run inside it (old workers finish
 * their requests). A non-zero exit is tried again, EDGE_RELOAD_TRIES times in all,
 * EDGE_RELOAD_PAUSE_MS apart (a just-started nginx has no pid file yet); then it is
 * an error naming nginx's first line. */
#define EDGE_RELOAD_TRIES 5
#define EDGE_RELOAD_PAUSE_MS 200
int edge_reload(struct docker *d, const char *edge_id, struct tu_err *err);
/* Uploads the config and reloads nginx. */
int edge_apply(struct docker *d, const char *edge_id, const char *conf, struct tu_err *err);

#endif
