/* config.h - tracup's configuration file: "key = value" lines. */
#ifndef TRACUP_CONFIG_H
#define TRACUP_CONFIG_H

#include "util/err.h"

#define TU_CONFIG_DEFAULT "/etc/tracup/tracup.conf"
#define TU_CONFIG_MAX (64 * 1024)

struct tu_config {
    char *path;           /* the file read, or NULL */
    char *registry;       /* image prefix, or NULL */
    long stall_timeout;   /* seconds; 0 = default */
    long first_byte_timeout; /* seconds; 0 = default */
    long connect_timeout; /* seconds; 0 = default */
    char *hooks_dir;      /* operator hooks (an absolute path), or NULL */
    long hook_timeout;    /* seconds per hook; 0 = default */
};

/* Reads $TRACUP_CONFIG, else the default path when it exists. A file named by
 * TRACUP_CONFIG must exist. Unknown keys and bad values are errors with the line. */
int tu_config_load(struct tu_config *cfg, struct tu_err *err);
/* Parses config text (for tests). */
int tu_config_parse(struct tu_config *cfg, const char *text, const char *path, struct tu_err *err);
void tu_config_free(struct tu_config *cfg);

#endif
