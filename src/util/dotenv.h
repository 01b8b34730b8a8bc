/* dotenv.h - reading a compose environment file and rewriting some of its variables in place. */
#ifndef TRACUP_DOTENV_H
#define TRACUP_DOTENV_H

#include <stddef.h>

#include "util/err.h"

#define DOTENV_MAX_BYTES (256 * 1024)  /* a whole file */
#define DOTENV_MAX_LINES 10000
#define DOTENV_MAX_STATEMENT (64 * 1024) /* one assignment, a multi-line quoted value included */

/* One assignment: "[export ]KEY=VALUE" or "KEY" alone. Offsets are into the text. */
struct dotenv_entry {
    char *key;
    char *value;      /* decoded; NULL for "KEY" without '=' */
    size_t vstart;    /* the raw value (quotes included) is text[vstart, vend) */
    size_t vend;
    int has_eq;
    char quote;       /* '\'', '"' or 0 */
    size_t line;      /* 1-based line the assignment starts on */
};

struct dotenv {
    char *text;       /* a copy of the file */
    size_t len;
    struct dotenv_entry *e;
    size_t n;
    const char *eol;  /* "\r\n" when the first line ends so, else "\n" (static) */
};

/* Parses the syntax docker compose accepts: blank lines, '#' comments, "export ",
 * single and double quotes (which may span lines), inline " #" comments after a
 * value. Anything else is refused with its line number; name is the file's name
 * for messages. On error out is left empty. */
int dotenv_parse(struct dotenv *out, const char *text, size_t len, const char *name, struct tu_err *err);
void dotenv_free(struct dotenv *d);
/* The value compose takes for key (its last assignment), or NULL (borrowed). */
const char *dotenv_get(const struct dotenv *d, const char *key);

struct dotenv_set {
    const char *key;
    const char *value; /* only [A-Za-z0-9@:._/+-]: written as is, quoted as the line was */
};

struct dotenv_change {
    const char *key;   /* borrowed from the sets */
    char *old;         /* decoded old value, NULL when the variable was not in the file */
    const char *value; /* borrowed from the sets */
    size_t line;       /* 0 when appended */
};

/* The text with every assignment of each set key given its new value in place
 * (the rest of the line, comments and quoting kept) and the keys the file lacks
 * appended after a line "# <comment>". Returns the new text (the caller frees),
 * its length in *len_out, and the changes in *changes (free with
 * dotenv_changes_free); *nchanges 0 means the file already says so. Returns NULL
 * only when a value is not plain (err says which). */
char *dotenv_rewrite(const struct dotenv *d, const struct dotenv_set *sets, size_t nsets, const char *comment,
                     size_t *len_out, struct dotenv_change **changes, size_t *nchanges, struct tu_err *err);
void dotenv_changes_free(struct dotenv_change *c, size_t n);

/* True when a value can be written unquoted (the set values' alphabet). */
int dotenv_value_plain(const char *v);

#endif
