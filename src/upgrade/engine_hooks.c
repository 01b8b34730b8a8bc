/* engine_hooks.c - running the operator hooks from the engine, rollback and finalize, and journaling each run. */
#include "upgrade/engine_hooks.h"

#include <string.h>

#include "cmd/cmd.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int journal_hook_reached(const struct journal *j, enum hook_point p)
{
    return json_object_get(json_object_get(j->doc, "hook_points"), hook_point_name(p)) != NULL;
}

int journal_hooks_run(const struct hooks *h, struct journal *j, enum hook_point p, const char *result, int veto,
                      json_t *runs, struct tu_err *err)
{
    json_t *doc = j->doc;
    struct hook_facts f = {
        .stack = jstr(doc, "stack"),
        .from = jstr(json_object_get(doc, "from"), "version"),
        .to = jstr(doc, "to"),
        .phase = jstr(doc, "phase"),
        .public_url = jstr(doc, "public_url"),
        .upgrade_id = jstr(doc, "id"),
        .switch_mode = jstr(doc, "switch"),
        .result = result,
    };
    json_t *mine = json_array();
    int rc = hooks_run(h, p, &f, veto, mine, err);
    json_t *all = json_object_get(doc, "hooks");
    if (!json_is_array(all)) {
        all = json_array();
        json_object_set_new(doc, "hooks", all);
    }
    json_array_extend(all, mine);
    if (runs)
        json_array_extend(runs, mine);
    json_decref(mine);
    /* A point cut short by an interruption is not reached: a resume runs it again. */
    if (!(h && h->interrupted && h->interrupted())) {
        json_t *points = json_object_get(doc, "hook_points");
        if (!json_is_object(points)) {
            points = json_object();
            json_object_set_new(doc, "hook_points", points);
        }
        json_object_set_new(points, hook_point_name(p), json_string(rc == 0 ? "ok" : veto ? "vetoed" : "failed"));
    }
    struct tu_err se;
    if (journal_save(j, &se) < 0 && h && h->errout)
        fprintf(h->errout, "warning: cannot record the %s hooks in the journal: %s\n", hook_point_name(p), se.msg);
    return rc;
}

int engine_hooks_open(struct engine *e, int resume, struct tu_err *err)
{
    const char *dir = e->o->hooks_dir;
    int explicit = dir != NULL;
    long timeout = e->o->hook_timeout_s;
    json_t *rec = json_object_get(e->j.doc, "opts");
    if (resume && !dir)
        dir = jstr(rec, "hooks_dir");
    if (resume && timeout <= 0)
        timeout = (long)json_integer_value(json_object_get(rec, "hook_timeout_s"));
    if (hooks_open(&e->hooks, dir, explicit, timeout, NULL, err) < 0)
        return -1;
    e->hooks.interrupted = tu_interrupted;
    if (!e->hook_runs)
        e->hook_runs = json_array();
    return 0;
}

int engine_hook(struct engine *e, enum hook_point p, const char *result, int veto, struct tu_err *err)
{
    return journal_hooks_run(&e->hooks, &e->j, p, result, veto, e->hook_runs, err);
}
