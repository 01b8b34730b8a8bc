/* journal.c - crash-safe upgrade state. */
#include "upgrade/journal.h"

#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *const states[] = {"running", "done", "failed", "rolled_back", "finalizing", "finalized", "interrupted", NULL};

int journal_validate(json_t *doc, struct tu_err *err)
{
    if (!json_is_object(doc))
        return tu_err_set(err, TU_ERR_PROTOCOL, "not a JSON object");
    if (json_integer_value(json_object_get(doc, "format")) != JOURNAL_FORMAT)
        return tu_err_set(err, TU_ERR_PROTOCOL, "unknown format (expected %d)", JOURNAL_FORMAT);
    static const char *const strs[] = {"id", "stack", "phase", "state", NULL};
    for (size_t i = 0; strs[i]; i++) {
        const char *v = json_string_value(json_object_get(doc, strs[i]));
        if (!v || !*v || strlen(v) > 256)
            return tu_err_set(err, TU_ERR_PROTOCOL, "field '%s' is missing or invalid", strs[i]);
    }
    const char *st = json_string_value(json_object_get(doc, "state"));
    int known = 0;
    for (size_t i = 0; states[i]; i++)
        known |= strcmp(st, states[i]) == 0;
    if (!known)
        return tu_err_set(err, TU_ERR_PROTOCOL, "unknown state '%.40s'", st);
    json_t *ph = json_object_get(doc, "phases");
    if (!json_is_array(ph))
        return tu_err_set(err, TU_ERR_PROTOCOL, "field 'phases' is missing");
    size_t i;
    json_t *p;
    json_array_foreach(ph, i, p) {
        if (!json_is_string(json_object_get(p, "name")))
            return tu_err_set(err, TU_ERR_PROTOCOL, "phase %zu has no name", i);
    }
    return 0;
}

int journal_load(struct journal *j, const char *path, struct tu_err *err)
{
    memset(j, 0, sizeof(*j));
    struct buf b;
    int r = fs_read_capped(path, JOURNAL_MAX, &b, err);
    if (r != 0)
        return r;
    json_error_t je;
    json_t *doc = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &je);
    buf_free(&b);
    struct tu_err ve;
    tu_err_clear(&ve);
    if (!doc || journal_validate(doc, &ve) < 0) {
        tu_err_set(err, TU_ERR_PROTOCOL, "the journal '%s' is corrupt: %s", path, doc ? ve.msg : je.text);
        tu_err_hint(err, "nothing was changed; inspect the containers with 'tracup status' and "
                         "move the file aside only once you know the stack's state");
        json_decref(doc);
        return -1;
    }
    j->path = xstrdup(path);
    j->doc = doc;
    return 0;
}

int journal_save(struct journal *j, struct tu_err *err)
{
    char stamp[32];
    json_object_set_new(j->doc, "updated", json_string(time_iso_now(stamp, sizeof(stamp))));
    char *text = json_dumps(j->doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text)
        return tu_err_set(err, TU_ERR_IO, "cannot serialise the journal");
    int rc = fs_write_atomic(j->path, text, strlen(text), 0600, err);
    free(text);
    return rc;
}

int journal_create(struct journal *j, const char *path, json_t *doc, struct tu_err *err)
{
    memset(j, 0, sizeof(*j));
    j->path = xstrdup(path);
    j->doc = doc;
    json_object_set_new(doc, "format", json_integer(JOURNAL_FORMAT));
    if (!json_object_get(doc, "phases"))
        json_object_set_new(doc, "phases", json_array());
    if (!json_object_get(doc, "state"))
        json_object_set_new(doc, "state", json_string("running"));
    if (!json_object_get(doc, "phase"))
        json_object_set_new(doc, "phase", json_string("new"));
    return journal_save(j, err);
}

void journal_free(struct journal *j)
{
    if (!j)
        return;
    free(j->path);
    json_decref(j->doc);
    memset(j, 0, sizeof(*j));
}

static json_t *last_phase(const struct journal *j, const char *phase)
{
    json_t *ph = json_object_get(j->doc, "phases");
    for (size_t i = json_array_size(ph); i > 0; i--) {
        json_t *p = json_array_get(ph, i - 1);
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, phase) == 0)
            return p;
    }
    return NULL;
}

int journal_phase_begin(struct journal *j, const char *phase, struct tu_err *err)
{
    char stamp[32];
    json_array_append_new(json_object_get(j->doc, "phases"),
                          json_pack("{s:s,s:s}", "name", phase, "started", time_iso_now(stamp, sizeof(stamp))));
    json_object_set_new(j->doc, "phase", json_string(phase));
    return journal_save(j, err);
}

int journal_phase_end(struct journal *j, const char *phase, const char *result, const char *message,
                      struct tu_err *err)
{
    json_t *p = last_phase(j, phase);
    if (!p)
        return tu_err_set(err, TU_ERR_IO, "journal: phase '%s' was never started", phase);
    char stamp[32];
    json_object_set_new(p, "ended", json_string(time_iso_now(stamp, sizeof(stamp))));
    json_object_set_new(p, "result", json_string(result));
    if (message)
        json_object_set_new(p, "message", json_string(message));
    return journal_save(j, err);
}

int journal_phase_ok(const struct journal *j, const char *phase)
{
    json_t *p = last_phase(j, phase);
    const char *r = p ? json_string_value(json_object_get(p, "result")) : NULL;
    return r && strcmp(r, "ok") == 0;
}

const char *journal_phase(const struct journal *j)
{
    return json_string_value(json_object_get(j->doc, "phase"));
}

const char *journal_state(const struct journal *j)
{
    return json_string_value(json_object_get(j->doc, "state"));
}

int journal_set_state(struct journal *j, const char *state, struct tu_err *err)
{
    json_object_set_new(j->doc, "state", json_string(state));
    return journal_save(j, err);
}
