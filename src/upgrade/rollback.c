/* rollback.c - going back to blue: removing green, recreating blue from the snapshot, restoring traffic. */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "docker/objects.h"
#include "tracardi/api.h"
#include "tracardi/images.h"
#include "tracardi/releases.h"
#include "upgrade/edge.h"
#include "upgrade/phases.h"
#include "upgrade/secrets.h"
#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define SNAPSHOT_MEMBER_MAX (4 * 1024 * 1024)

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---------------------------------------------------------------- removing green */

int engine_remove_hop(struct engine *e, size_t hop, struct tu_err *err)
{
    json_t *list = json_object_get(engine_hop(e, hop), "containers");
    char *logdir = xasprintf("%s/logs", e->upgrade_dir);
    fs_mkdirs(logdir, 0700, err);
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(list, i, c) {
        const char *id = jstr(c, "id");
        const char *name = jstr(c, "name");
        if (!id) {
            /* Created under this name just before a crash, perhaps. */
            json_t *ins = NULL;
            struct tu_err e2;
            if (name && docker_container_inspect(e->u->d, name, &ins, &e2) == 0) {
                const char *up = jstr(json_object_get(json_object_get(ins, "Config"), "Labels"), "tracup.upgrade");
                if (up && strcmp(up, jstr(e->j.doc, "id")) == 0)
                    json_object_set_new(c, "id", json_string(jstr(ins, "Id")));
                json_decref(ins);
            }
            id = jstr(c, "id");
            if (!id)
                continue;
        }
        char *logs = NULL;
        struct tu_err le;
        if (docker_container_logs(e->u->d, id, 2000, &logs, &le) == 0) {
            char *path = xasprintf("%s/%s.log", logdir, name ? name : id);
            fs_write_atomic(path, logs, strlen(logs), 0600, &le);
            free(path);
            free(logs);
        }
        if (docker_container_remove(e->u->d, id, 1, err) < 0)
            rc = -1;
        else
            json_object_set_new(c, "removed", json_true());
    }
    free(logdir);
    if (engine_save(e, err) < 0)
        rc = -1;
    return rc;
}

/* ---------------------------------------------------------------- blue */

/* Recreates a container from its inspect document in the snapshot. */
static int recreate_one(struct engine *e, const char *id, struct tu_err *err);
static int recreate_from_snapshot(struct engine *e, const char *id_in, struct tu_err *err)
{
    /* id_in may point into the journal, which the recreation rewrites. */
    char *id = xstrdup(id_in);
    int rc = recreate_one(e, id, err);
    free(id);
    return rc;
}

/* The inspect document of blue's container `id` in the snapshot (*out is the caller's). */
static int snapshot_find(const char *path, const char *id, json_t **out, struct tu_err *err)
{
    *out = NULL;
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, 16384) != ARCHIVE_OK) {
        tu_err_set(err, TU_ERR_IO, "cannot read snapshot '%s': %s", path, archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    struct archive_entry *en;
    while (!*out && archive_read_next_header(a, &en) == ARCHIVE_OK) {
        la_int64_t size = archive_entry_size(en);
        if (strncmp(archive_entry_pathname(en), "containers/", 11) != 0 || size <= 0 || size > SNAPSHOT_MEMBER_MAX)
            continue;
        char *text = xmalloc((size_t)size);
        if (archive_read_data(a, text, (size_t)size) == size) {
            json_t *ins = json_loadb(text, (size_t)size, 0, NULL);
            if (jstr(ins, "Id") && strcmp(jstr(ins, "Id"), id) == 0)
                *out = ins;
            else
                json_decref(ins);
        }
        free(text);
    }
    archive_read_free(a);
    if (!*out)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "blue's container %.12s is not in the snapshot", id);
    return 0;
}

/* The first of a container's networks (the create call joins only one), or NULL. */
static const char *first_network(json_t *nets)
{
    void *it = json_object_iter(nets);
    return it ? json_object_iter_key(it) : NULL;
}

/* The create body for a snapshot's inspect document (the caller's reference). */
static json_t *recreate_body(struct engine *e, json_t *found)
{
    json_t *body = json_deep_copy(json_object_get(found, "Config"));
    /* The exact image blue ran, by name while the name still means it. */
    int moved = 0;
    char *image = docker_recreate_image(e->u->d, found, &moved);
    json_object_set_new(body, "Image", json_string(image));
    free(image);
    if (moved) {
        json_t *labels = json_object_get(body, "Labels");
        if (!json_is_object(labels)) {
            labels = json_object();
            json_object_set_new(body, "Labels", labels);
        }
        const char *cfg_image = jstr(json_object_get(found, "Config"), "Image");
        enum stack_role role = tracardi_image_role(cfg_image, e->u->prefix, NULL);
        if (role == ROLE_OTHER)
            role = infra_role_guess(cfg_image, NULL);
        json_object_set_new(labels, "tracup.role", json_string(stack_role_name(role)));
        json_object_set_new(labels, "tracup.upgrade", json_string(jstr(e->j.doc, "id")));
    }
    json_object_set(body, "HostConfig", json_object_get(found, "HostConfig"));
    json_t *nets = json_object_get(json_object_get(found, "NetworkSettings"), "Networks");
    const char *first = first_network(nets);
    json_t *al = json_object_get(json_object_get(nets, first ? first : ""), "Aliases");
    if (first)
        json_object_set_new(body, "NetworkingConfig", json_pack("{s:{s:{s:O}}}", "EndpointsConfig", first, "Aliases",
                                                                al ? al : json_array()));
    return body;
}

/* Joins the recreated container to blue's other networks and points the journal at it. */
static int recreated(struct engine *e, json_t *found, const char *id, const char *newid, struct tu_err *err)
{
    json_t *nets = json_object_get(json_object_get(found, "NetworkSettings"), "Networks");
    const char *first = first_network(nets);
    const char *k;
    json_t *nv;
    json_object_foreach(nets, k, nv) {
        if (first && strcmp(k, first) == 0)
            continue;
        const char *aliases[16];
        size_t na = 0, i;
        json_t *av;
        json_array_foreach(json_object_get(nv, "Aliases"), i, av) if (na < 15) aliases[na++] = json_string_value(av);
        aliases[na] = NULL;
        docker_network_connect(e->u->d, k, newid, aliases, err);
    }
    json_t *blue = json_object_get(e->j.doc, "blue");
    json_t *rel = json_object_get(blue, "release");
    size_t i;
    json_t *v;
    json_array_foreach(rel, i, v) if (strcmp(json_string_value(v), id) == 0) json_array_set_new(rel, i, json_string(newid));
    if (jstr(blue, "api") && strcmp(jstr(blue, "api"), id) == 0)
        json_object_set_new(blue, "api", json_string(newid));
    const char *name = jstr(found, "Name");
    engine_say(e, "rollback", "recreated %s from the snapshot", name ? name + (name[0] == '/') : id);
    return engine_save(e, err);
}

static int recreate_one(struct engine *e, const char *id, struct tu_err *err)
{
    const char *path = jstr(e->j.doc, "snapshot");
    if (!path)
        return tu_err_set(err, TU_ERR_NOT_FOUND, "blue's container %.12s is gone and there is no snapshot", id);
    json_t *found = NULL;
    if (snapshot_find(path, id, &found, err) < 0)
        return -1;
    /* The snapshot holds secret values masked: blue never starts with the masks. */
    char *spath = secrets_path(e->u->stack_dir, jstr(e->j.doc, "id"));
    int rc = secrets_restore(found, spath, err);
    free(spath);
    if (rc == 0) {
        const char *name = jstr(found, "Name");
        json_t *body = recreate_body(e, found);
        char *newid = NULL;
        rc = docker_container_create(e->u->d, name ? name + (name[0] == '/') : NULL, body, &newid, err);
        if (rc == 0)
            rc = recreated(e, found, id, newid, err);
        free(newid);
        json_decref(body);
    }
    json_decref(found);
    return rc;
}

/* Starts blue's containers; with only, just those among it (the ones standing by). */
static int start_blue(struct engine *e, json_t *only, struct tu_err *err)
{
    json_t *rel = json_object_get(json_object_get(e->j.doc, "blue"), "release");
    for (size_t i = 0; i < json_array_size(rel); i++) {
        const char *id = json_string_value(json_array_get(rel, i));
        size_t k;
        json_t *s;
        int listed = 0;
        json_array_foreach(only, k, s) listed |= json_equal(s, json_array_get(rel, i));
        if (only && !listed)
            continue;
        json_t *ins = NULL;
        if (docker_container_inspect(e->u->d, id, &ins, err) < 0) {
            if (err->kind != TU_ERR_NOT_FOUND || recreate_from_snapshot(e, id, err) < 0)
                return -1;
            id = json_string_value(json_array_get(rel, i));
        } else {
            json_decref(ins);
        }
        if (docker_container_start(e->u->d, id, err) < 0)
            return -1;
    }
    return 0;
}

static int wait_blue_answers(struct engine *e, long timeout_ms, struct tu_err *err)
{
    const char *api = jstr(json_object_get(e->j.doc, "blue"), "api");
    const char *ver = jstr(json_object_get(e->j.doc, "from"), "version");
    long deadline = time_mono_ms() + timeout_ms;
    for (;;) {
        char *url = api ? engine_container_url(e, api, 80) : NULL;
        if (url) {
            struct tapi a;
            tapi_init(&a, url, 3000);
            json_t *det = NULL;
            struct tu_err ce;
            int ok = tapi_details(&a, &det, &ce) == 0 && jstr(det, "version") && strcmp(jstr(det, "version"), ver) == 0;
            json_decref(det);
            tapi_free(&a);
            free(url);
            if (ok)
                return 0;
        }
        if (time_mono_ms() > deadline)
            return tu_err_set(err, TU_ERR_TIMEOUT, "blue's api did not answer %s within %ld s", ver, timeout_ms / 1000);
        time_sleep_ms(250);
    }
}


/* A completed rollback needs blue's secret values no more: no later step can
 * recreate blue from this upgrade's snapshot. */
static void forget_secrets(struct engine *e)
{
    char *path = secrets_path(e->u->stack_dir, jstr(e->j.doc, "id"));
    struct tu_err se;
    if (secrets_remove(path, &se) < 0)
        engine_say(e, "rollback", "warning: %s: delete it yourself", se.msg);
    free(path);
}

/* Deletes the indices a failed attempt created. Blue serves already, so a failure
 * here (Elasticsearch down) does not stop the rollback: it waits a bounded time,
 * then says what is left and journals it; plan refuses to migrate into them. */
static void delete_failed_indices(struct engine *e, json_t *hj, const char *tenant, const char *whose)
{
    const char *db = jstr(hj, "to_db_version");
    struct tu_err de;
    tu_err_clear(&de);
    long until = time_mono_ms() + 30000;
    for (int attempt = 0; attempt == 0 || time_mono_ms() < until; attempt++) {
        if (engine_delete_release_indices(e, db, tenant, "rollback", whose, &de) == 0)
            return;
        if (attempt == 0)
            engine_say(e, "rollback", "cannot delete the indices of %s yet (%s); trying again for 30 s", jstr(hj, "to"),
                       de.msg);
        if (tu_interrupted())
            break;
        time_sleep_ms(5000);
    }
    engine_say(e, "rollback", "the indices of %s stay (%s.%s.*, %s): delete them before upgrading again; 'tracup "
                              "plan' refuses to migrate into them", jstr(hj, "to"), db, tenant, de.msg);
    json_t *left = json_object_get(e->j.doc, "leftover_indices");
    if (!left) {
        left = json_array();
        json_object_set_new(e->j.doc, "leftover_indices", left);
    }
    json_array_append_new(left, json_pack("{s:s,s:s}", "db_version", db, "tenant", tenant));
}

/* Back to blue: start it, give it the traffic, remove green. */
int engine_rollback_steps(struct engine *e, struct tu_err *err)
{
    json_t *blue = json_object_get(e->j.doc, "blue");
    const char *ver = jstr(json_object_get(e->j.doc, "from"), "version");
    json_object_set_new(e->j.doc, "rolling_back", json_true());
    if (engine_save(e, err) < 0)
        return -1;
    const char *mode = jstr(e->j.doc, "switch");
    int ports = mode && strcmp(mode, "ports") == 0;
    size_t nh = json_array_size(json_object_get(e->j.doc, "hops"));
    /* Green holds blue's published ports: it must go first. */
    if (ports && json_is_true(json_object_get(e->j.doc, "switched")))
        for (size_t h = 0; h < nh; h++)
            if (engine_remove_hop(e, h, err) < 0)
                return -1;
    long t_blue = time_mono_ms();
    /* Blue standing by serves at once: its workers start once the traffic is back. */
    json_t *standby = json_is_true(json_object_get(e->j.doc, "blue_standby")) &&
                              json_is_true(json_object_get(e->j.doc, "blue_stopped"))
                          ? json_object_get(blue, "standby")
                          : NULL;
    if (start_blue(e, standby, err) < 0 || wait_blue_answers(e, 180000, err) < 0)
        return -1;
    /* A blue part recreated from the snapshot is not in the stack as first listed. */
    if (!e->u->api && upctx_refresh(e->u, json_object_get(json_object_get(e->j.doc, "blue"), "release"), err) < 0)
        return -1;
    if (json_is_true(json_object_get(e->j.doc, "switched"))) {
        const char *conf = jstr(blue, "edge_conf");
        if (conf && e->u->edge) {
            long t0 = time_mono_ms();
            if (edge_apply(e->u->d, e->u->edge->id, conf, err) < 0)
                return -1;
            char *pub = engine_public_url(e);
            long t1 = 0;
            int ok = pub && engine_public_answers(pub, ver, 15000, &t1);
            if (!ok) {
                tu_err_set(err, TU_ERR_REFUSED, "the edge does not answer %s after restoring blue's config", ver);
                free(pub);
                return -1;
            }
            engine_say(e, "rollback", "the edge serves %s again at %s (%ld ms after the reload)", ver, pub, t1 - t0);
            free(pub);
        } else if (ports) {
            char *pub = engine_public_url(e);
            long t1 = 0;
            int ok = pub && engine_public_answers(pub, ver, 30000, &t1);
            if (!ok) {
                tu_err_set(err, TU_ERR_REFUSED, "%s does not answer %s after blue got its ports back", pub ? pub : "?",
                           ver);
                free(pub);
                return -1;
            }
            engine_say(e, "rollback", "blue serves %s at %s again (%ld ms)", ver, pub, t1 - t_blue);
            free(pub);
        } else {
            engine_say(e, "rollback", "traffic was switched by the operator's proxy: point it back at blue");
        }
        json_object_set_new(e->j.doc, "switched", json_false());
        if (engine_save(e, err) < 0)
            return -1;
    }
    if (standby && start_blue(e, NULL, err) < 0)
        return -1;
    for (size_t h = 0; h < nh; h++)
        if (engine_remove_hop(e, h, err) < 0)
            return -1;
    /* Indices no traffic ever reached hold only the failed migration's copies: a
     * retry must not migrate into them (that duplicates documents, tracardi #565). */
    int reached = json_is_true(json_object_get(e->j.doc, "ever_switched"));
    /* A downgrade ran on indices that were there before it, a release of blue's
     * db_version on blue's own: they are never deleted. */
    int shared = json_is_true(json_object_get(e->j.doc, "shared_data"));
    if (shared)
        engine_say(e, "rollback", "%s ran on %s's own indices: nothing is deleted%s", jstr(e->j.doc, "to"), ver,
                   reached ? "; what it wrote while it served stays in them" : "");
    for (size_t h = 0; h < nh && !shared && !json_is_true(json_object_get(e->j.doc, "downgrade")); h++) {
        json_t *hj = engine_hop(e, h);
        struct tversion v;
        struct tu_err ve;
        char tenant[6];
        if (tversion_parse(jstr(hj, "to"), &v, &ve) < 0)
            continue;
        release_tenant(&v, tenant);
        if (reached && h + 1 == nh) {
            long long written = upgrade_written_since_switch(e->u, e->j.doc);
            if (written != 0) {
                engine_say(e, "rollback", "the indices of %s stay (%s.%s.*): %s; delete them before upgrading "
                                          "again", jstr(hj, "to"), jstr(hj, "to_db_version"), tenant,
                           written > 0 ? "they hold what it wrote while it served"
                                       : "what it wrote while it served cannot be told");
                continue;
            }
            /* Traffic reached it but it wrote nothing: the indices hold copies only. */
        }
        delete_failed_indices(e, hj, tenant,
                              reached ? "the rolled-back release created" : "the failed upgrade created");
    }
    json_object_set_new(e->j.doc, "blue_stopped", json_false());
    engine_say(e, "rollback", "blue (%s) serves; the new release's containers are removed (logs in %s/logs)", ver,
               e->upgrade_dir);
    if (journal_set_state(&e->j, "rolled_back", err) < 0)
        return -1;
    forget_secrets(e);
    return 0;
}

