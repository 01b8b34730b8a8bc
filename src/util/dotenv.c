/* dotenv.c - a compose environment file: parse it as compose does, rewrite some values in place. */
#include "util/dotenv.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/xalloc.h"

struct pstate {
    const char *t;
    size_t len;
    size_t pos;
    size_t line;
    const char *name;
    struct tu_err *err;
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static int key_first(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int key_char(char c)
{
    return key_first(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int fail(struct pstate *p, size_t line, const char *what)
{
    tu_err_set(p->err, TU_ERR_USAGE, "cannot read '%.200s' line %zu: %s", p->name, line, what);
    tu_err_hint(p->err, "fix that line (docker compose cannot read it either); nothing was changed");
    return -1;
}

/* At the end of a line: the end of the text, "\n" or "\r\n". */
static int at_eol(const struct pstate *p, size_t i)
{
    return i >= p->len || p->t[i] == '\n' || (p->t[i] == '\r' && i + 1 < p->len && p->t[i + 1] == '\n');
}

/* The index of the end of the line from i (its '\n', a '\r' before it, or len);
 * refuses control characters other than tab. */
static int line_end(struct pstate *p, size_t i, size_t *out)
{
    while (!at_eol(p, i)) {
        unsigned char c = (unsigned char)p->t[i];
        if (c == '\r')
            return fail(p, p->line, "a carriage return that does not end the line");
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(p, p->line, "a control character");
        i++;
    }
    *out = i;
    return 0;
}

/* Steps over the end of line at pos (if any). */
static void eat_eol(struct pstate *p)
{
    if (p->pos < p->len && p->t[p->pos] == '\r')
        p->pos++;
    if (p->pos < p->len && p->t[p->pos] == '\n') {
        p->pos++;
        p->line++;
    }
}

/* A quoted value from the quote at pos; leaves pos after the closing quote. */
static int parse_quoted(struct pstate *p, struct dotenv_entry *e, size_t start_line)
{
    char q = p->t[p->pos];
    e->quote = q;
    e->vstart = p->pos++;
    struct buf b;
    buf_init(&b, 0);
    for (;;) {
        if (p->pos >= p->len) {
            buf_free(&b);
            return fail(p, start_line, q == '"' ? "unterminated double quote" : "unterminated single quote");
        }
        char c = p->t[p->pos];
        if (c == q)
            break;
        if (c == '\\' && p->pos + 1 < p->len) {
            char n = p->t[p->pos + 1];
            char out = 0;
            if (q == '\'') {
                if (n == '\'' || n == '\\')
                    out = n;
            } else {
                out = n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n == '"' || n == '\\' || n == '\'' ? n : 0;
            }
            if (out) {
                buf_append(&b, &out, 1);
                p->pos += 2;
                continue;
            }
        }
        unsigned char uc = (unsigned char)c;
        if (c == '\n') {
            p->line++;
        } else if (c == '\r') {
            if (p->pos + 1 >= p->len || p->t[p->pos + 1] != '\n') {
                buf_free(&b);
                return fail(p, p->line, "a carriage return that does not end the line");
            }
        } else if ((uc < 0x20 && c != '\t') || uc == 0x7f) {
            buf_free(&b);
            return fail(p, p->line, "a control character");
        }
        buf_append(&b, &c, 1);
        p->pos++;
    }
    p->pos++;
    e->vend = p->pos;
    e->value = b.data ? buf_detach(&b) : xstrdup("");
    buf_free(&b);
    /* Only blanks and a comment may follow. */
    while (p->pos < p->len && is_ws(p->t[p->pos]))
        p->pos++;
    if (p->pos < p->len && p->t[p->pos] == '#') {
        size_t end;
        if (line_end(p, p->pos, &end) < 0)
            return -1;
        p->pos = end;
    }
    if (!at_eol(p, p->pos))
        return fail(p, p->line, "unexpected text after the closing quote");
    return 0;
}

/* An unquoted value from pos (blanks after '=' skipped): up to the end of the line
 * or a '#' after a blank, trailing blanks dropped, no escapes. */
static int parse_unquoted(struct pstate *p, struct dotenv_entry *e)
{
    size_t end;
    if (line_end(p, p->pos, &end) < 0)
        return -1;
    size_t vs = p->pos, ve = end;
    for (size_t i = vs + 1; i < end; i++)
        if (p->t[i] == '#' && is_ws(p->t[i - 1])) {
            ve = i;
            break;
        }
    while (ve > vs && is_ws(p->t[ve - 1]))
        ve--;
    e->vstart = vs;
    e->vend = ve;
    e->value = xstrndup(p->t + vs, ve - vs);
    p->pos = end;
    return 0;
}

static int parse_statement(struct pstate *p, struct dotenv *d)
{
    size_t start = p->pos, start_line = p->line;
    if (p->len - p->pos >= 7 && memcmp(p->t + p->pos, "export", 6) == 0 && is_ws(p->t[p->pos + 6])) {
        p->pos += 6;
        while (p->pos < p->len && is_ws(p->t[p->pos]))
            p->pos++;
    }
    if (p->pos >= p->len || !key_first(p->t[p->pos]))
        return fail(p, start_line, "expected NAME=VALUE");
    size_t ks = p->pos;
    while (p->pos < p->len && key_char(p->t[p->pos]))
        p->pos++;
    if (p->pos - ks > 256)
        return fail(p, start_line, "the variable name is longer than 256 characters");
    struct dotenv_entry e;
    memset(&e, 0, sizeof(e));
    e.line = start_line;
    size_t key_end = p->pos;
    while (p->pos < p->len && is_ws(p->t[p->pos]))
        p->pos++;
    if (at_eol(p, p->pos)) {
        /* "KEY" alone: compose takes it from the environment. */
        e.vstart = e.vend = key_end;
    } else if (p->t[p->pos] != '=') {
        return fail(p, start_line, "expected NAME=VALUE (no '=' after the name)");
    } else {
        e.has_eq = 1;
        p->pos++;
        while (p->pos < p->len && is_ws(p->t[p->pos]))
            p->pos++;
        int rc = p->pos < p->len && (p->t[p->pos] == '"' || p->t[p->pos] == '\'') ? parse_quoted(p, &e, start_line)
                                                                                  : parse_unquoted(p, &e);
        if (rc < 0) {
            free(e.value);
            return -1;
        }
    }
    if (p->pos - start > DOTENV_MAX_STATEMENT) {
        free(e.value);
        return fail(p, start_line, "the assignment is longer than 64 KiB");
    }
    e.key = xstrndup(p->t + ks, key_end - ks);
    d->e = xrealloc(d->e, (d->n + 1) * sizeof(*d->e));
    d->e[d->n++] = e;
    return 0;
}

int dotenv_parse(struct dotenv *out, const char *text, size_t len, const char *name, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    out->eol = "\n";
    struct pstate p = {text, len, 0, 1, name, err};
    if (len > DOTENV_MAX_BYTES) {
        tu_err_set(err, TU_ERR_TOO_BIG, "'%.200s' is larger than %d bytes", name, DOTENV_MAX_BYTES);
        tu_err_hint(err, "is it really a compose environment file? nothing was changed");
        return -1;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            return fail(&p, lines, "a NUL byte");
        if (text[i] == '\n')
            lines++;
    }
    if (lines > DOTENV_MAX_LINES + 1 || (lines > DOTENV_MAX_LINES && len && text[len - 1] != '\n')) {
        tu_err_set(err, TU_ERR_TOO_BIG, "'%.200s' has more than %d lines", name, DOTENV_MAX_LINES);
        tu_err_hint(err, "is it really a compose environment file? nothing was changed");
        return -1;
    }
    const char *nl = memchr(text, '\n', len);
    if (nl && nl > text && nl[-1] == '\r')
        out->eol = "\r\n";
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3; /* a UTF-8 byte order mark, as compose skips it */
    while (p.pos < len) {
        while (p.pos < len && is_ws(text[p.pos]))
            p.pos++;
        if (at_eol(&p, p.pos)) {
            eat_eol(&p);
            continue;
        }
        if (text[p.pos] == '#') {
            size_t end;
            if (line_end(&p, p.pos, &end) < 0)
                goto bad;
            p.pos = end;
        } else if (parse_statement(&p, out) < 0) {
            goto bad;
        }
        eat_eol(&p);
    }
    out->text = xmalloc(len + 1);
    memcpy(out->text, text, len);
    out->text[len] = '\0';
    out->len = len;
    return 0;
bad:
    dotenv_free(out);
    out->eol = "\n";
    return -1;
}

void dotenv_free(struct dotenv *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->e[i].key);
        free(d->e[i].value);
    }
    free(d->e);
    free(d->text);
    memset(d, 0, sizeof(*d));
}

const char *dotenv_get(const struct dotenv *d, const char *key)
{
    for (size_t i = d->n; i-- > 0;)
        if (strcmp(d->e[i].key, key) == 0)
            return d->e[i].value;
    return NULL;
}

int dotenv_value_plain(const char *v)
{
    if (!v || strlen(v) > 1024)
        return 0;
    for (const char *c = v; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || strchr("@:._/+-", *c)))
            return 0;
    return 1;
}

static void add_change(struct dotenv_change **c, size_t *n, const struct dotenv_set *s, const char *old, size_t line)
{
    *c = xrealloc(*c, (*n + 1) * sizeof(**c));
    (*c)[*n] = (struct dotenv_change){s->key, xstrdup(old), s->value, line};
    (*n)++;
}

char *dotenv_rewrite(const struct dotenv *d, const struct dotenv_set *sets, size_t nsets, const char *comment,
                     size_t *len_out, struct dotenv_change **changes, size_t *nchanges, struct tu_err *err)
{
    *changes = NULL;
    *nchanges = 0;
    *len_out = 0;
    for (size_t k = 0; k < nsets; k++)
        if (!dotenv_value_plain(sets[k].value)) {
            tu_err_set(err, TU_ERR_USAGE, "value of '%s' cannot be written to an environment file", sets[k].key);
            return NULL;
        }
    unsigned char *seen = xcalloc(nsets ? nsets : 1, 1);
    struct buf b;
    buf_init(&b, 0);
    buf_append(&b, "", 0);
    size_t pos = 0;
    for (size_t i = 0; i < d->n; i++) {
        const struct dotenv_entry *e = &d->e[i];
        const struct dotenv_set *s = NULL;
        for (size_t k = 0; k < nsets && !s; k++)
            if (strcmp(sets[k].key, e->key) == 0) {
                s = &sets[k];
                seen[k] = 1;
            }
        if (!s || (e->has_eq && strcmp(e->value, s->value) == 0))
            continue;
        buf_append(&b, d->text + pos, e->vstart - pos);
        if (!e->has_eq)
            buf_appends(&b, "=");
        /* An empty value before a comment needs quotes, or the comment becomes the value. */
        char q = e->quote;
        if (!q && !*s->value && e->vend < d->len && d->text[e->vend] != '\n' && d->text[e->vend] != '\r')
            q = '"';
        if (q)
            buf_append(&b, &q, 1);
        buf_appends(&b, s->value);
        if (q)
            buf_append(&b, &q, 1);
        pos = e->vend;
        add_change(changes, nchanges, s, e->has_eq ? e->value : NULL, e->line);
    }
    buf_append(&b, d->text + pos, d->len - pos);
    int header = 0;
    for (size_t k = 0; k < nsets; k++) {
        if (seen[k])
            continue;
        if (!header) {
            if (b.len && b.data[b.len - 1] != '\n')
                buf_appends(&b, d->eol);
            buf_appends(&b, "# ");
            buf_appends(&b, comment);
            buf_appends(&b, d->eol);
            header = 1;
        }
        buf_appends(&b, sets[k].key);
        buf_appends(&b, "=");
        buf_appends(&b, sets[k].value);
        buf_appends(&b, d->eol);
        add_change(changes, nchanges, &sets[k], NULL, 0);
    }
    free(seen);
    *len_out = b.len;
    return buf_detach(&b);
}

void dotenv_changes_free(struct dotenv_change *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++)
        free(c[i].old);
    free(c);
}
