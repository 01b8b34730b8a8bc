/* pin.c - the running release's version, registry and digests into the compose env file. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "upgrade/pin.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle/record.h"
#include "docker/objects.h"
#include "registry/ref.h"
#include "tracardi/images.h"
#include "upgrade/upctx.h"
#include "util/buf.h"
#include "util/dotenv.h"
#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

#define PIN_RECORD_MAX (64 * 1024)
#define PIN_PATH_MAX 4096

const char *const pin_var_names[PIN_NVARS] = {
    [PIN_VERSION] = "TRACARDI_VERSION", [PIN_REGISTRY] = "TRACARDI_REGISTRY", [PIN_API] = "API_DIGEST",
    [PIN_GUI] = "GUI_DIGEST",           [PIN_WORKER] = "WORKER_DIGEST",       [PIN_APM] = "APM_DIGEST",
};

/* The variable of an image key ("api", "update-worker", …), or -1. */
static int var_of_key(const char *key)
{
    static const struct {
        const char *key;
        int var;
    } map[] = {{"api", PIN_API}, {"gui", PIN_GUI}, {"update-worker", PIN_WORKER}, {"apm", PIN_APM}};
    for (size_t i = 0; key && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].key, key) == 0)
            return map[i].var;
    return -1;
}

void pin_vars_free(struct pin_vars *v)
{
    for (int i = 0; i < PIN_NVARS; i++) {
        free(v->value[i]);
        v->value[i] = NULL;
    }
}

const char *pin_pick_digest(json_t *image, const char *repo, const char *ref_digest)
{
    const char *first = NULL;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(image, "RepoDigests"), i, v) {
        const char *s = json_string_value(v);
        const char *at = s ? strrchr(s, '@') : NULL;
        if (!at || !image_digest_valid(at + 1))
            continue;
        char *name = xstrndup(s, (size_t)(at - s));
        int same = image_repo_equal(name, repo);
        free(name);
        if (!same)
            continue;
        if (ref_digest && strcmp(at + 1, ref_digest) == 0)
            return at + 1;
        if (!first)
            first = at + 1;
    }
    return first;
}

const char *pin_container_version(const struct stack_container *c)
{
    if (c->tag)
        return c->tag;
    return json_string_value(
        json_object_get(json_object_get(json_object_get(c->inspect, "Config"), "Labels"), "tracup.version"));
}

static int release_role(enum stack_role r)
{
    return r == ROLE_API || r == ROLE_GUI || r == ROLE_WORKER;
}

/* The digest one container's image has for its repository under prefix. */
/* True when the bundle record of release under prefix holds image id. */
static int loaded_from_bundle(const char *prefix, const char *release, const char *id)
{
    json_t *rec = NULL;
    struct tu_err e;
    int hit = 0;
    if (release && id && bundle_record_find(prefix, release, &rec, &e) == 0) {
        size_t i;
        json_t *im;
        json_array_foreach(json_object_get(rec, "images"), i, im) {
            const char *rid = json_string_value(json_object_get(im, "image_id"));
            hit |= rid && strcmp(rid, id) == 0;
        }
    }
    json_decref(rec);
    return hit;
}

/* True when the inspected image carries the tag repo:tag. */
static int has_tag(json_t *img, const char *repo, const char *tag)
{
    if (!tag)
        return 0;
    char *want = xasprintf("%s:%s", repo, tag);
    int hit = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(img, "RepoTags"), i, t) {
        const char *v = json_string_value(t);
        hit |= v && strcmp(v, want) == 0;
    }
    free(want);
    return hit;
}

static int container_digest(struct docker *d, const char *prefix, const struct stack_container *c, char **out,
                            int *by_tag, struct tu_err *err)
{
    const struct tracardi_image *ti = tracardi_image_by_key(c->image_key);
    char *repo = xasprintf("%s/%s", prefix, ti->path);
    struct image_ref r;
    struct tu_err e;
    char *ref_digest = NULL;
    if (c->image && image_ref_parse(c->image, &r, &e) == 0) {
        ref_digest = xstrdup(r.digest);
        image_ref_free(&r);
    }
    const char *id = json_string_value(json_object_get(c->inspect, "Image"));
    if (!id)
        id = c->image_id;
    json_t *img = NULL;
    int rc = -1;
    if (!id || docker_image_inspect(d, id, &img, err) < 0) {
        if (!id)
            tu_err_set(err, TU_ERR_PROTOCOL, "container '%s' names no image", c->name);
        tu_err_prefix(err, "reading the image of '%s': ", c->name);
        goto out;
    }
    const char *dg = pin_pick_digest(img, repo, ref_digest);
    /* Loaded from a bundle: no registry digest, and a repo@digest reference would
     * send compose to a registry the host may not reach. Pinned by its tag, so
     * only while the tag still names this very image. */
    if (!dg && loaded_from_bundle(prefix, pin_container_version(c), json_string_value(json_object_get(img, "Id"))) &&
        has_tag(img, repo, pin_container_version(c))) {
        *out = xstrdup("");
        *by_tag = 1;
        rc = 0;
        goto out;
    }
    if (!dg) {
        tu_err_set(err, TU_ERR_NOT_FOUND, "the image of '%s' ('%s') has no repository digest for '%s'", c->name,
                   c->image ? c->image : "?", repo);
        tu_err_hint(err, "it was built or loaded here, not pulled: push it to the registry and pull it (or let "
                         "'tracup upgrade' pull it); nothing was written");
        goto out;
    }
    *out = xasprintf("@%s", dg);
    rc = 0;
out:
    json_decref(img);
    free(ref_digest);
    free(repo);
    return rc;
}

int pin_collect(struct docker *d, const char *prefix, const struct stack *s, json_t *skip, struct pin_vars *out,
                struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    const struct stack_container *first = NULL; /* the container the version came from */
    for (size_t i = 0; i < s->n; i++) {
        const struct stack_container *c = &s->c[i];
        if (!release_role(c->role) || !c->state || strcmp(c->state, "running") != 0)
            continue;
        size_t k;
        json_t *id;
        int skipped = 0;
        json_array_foreach(skip, k, id) skipped |= json_is_string(id) && strcmp(json_string_value(id), c->id) == 0;
        if (skipped)
            continue; /* blue standing by after an upgrade: not the live release */
        int var = var_of_key(c->image_key);
        if (var < 0) {
            tu_err_set(err, TU_ERR_REFUSED, "container '%s' runs '%s', which is not an image the compose file "
                                            "names under '%s/tracardi/'", c->name, c->image ? c->image : "?", prefix);
            tu_err_hint(err, "pass --registry when the images come from a mirror; nothing was written");
            goto fail;
        }
        const char *ver = pin_container_version(c);
        if (!ver || !dotenv_value_plain(ver) || strlen(ver) > 128) {
            tu_err_set(err, TU_ERR_REFUSED, "cannot tell which release container '%s' runs (image '%s')", c->name,
                       c->image ? c->image : "?");
            tu_err_hint(err, "nothing was written");
            goto fail;
        }
        if (!out->value[PIN_VERSION]) {
            out->value[PIN_VERSION] = xstrdup(ver);
            first = c;
        } else if (strcmp(out->value[PIN_VERSION], ver) != 0) {
            tu_err_set(err, TU_ERR_REFUSED, "stack '%s' runs two releases: '%s' runs %s, '%s' runs %s", s->name,
                       first->name, out->value[PIN_VERSION], c->name, ver);
            tu_err_hint(err, "an upgrade may be under way: pin once it is done or rolled back; nothing was written");
            goto fail;
        }
        char *dg = NULL;
        if (container_digest(d, prefix, c, &dg, &out->by_tag, err) < 0)
            goto fail;
        if (out->value[var] && strcmp(out->value[var], dg) != 0) {
            tu_err_set(err, TU_ERR_REFUSED, "stack '%s' runs two different '%s' images (%s and %s)", s->name,
                       c->image_key, out->value[var][0] ? out->value[var] + 1 : "one by tag",
                       dg[0] ? dg + 1 : "one by tag");
            tu_err_hint(err, "an upgrade may be under way: pin once it is done or rolled back; nothing was written");
            free(dg);
            goto fail;
        }
        free(out->value[var]);
        out->value[var] = dg;
    }
    if (!out->value[PIN_VERSION]) {
        tu_err_set(err, TU_ERR_NOT_FOUND, "stack '%s' runs no Tracardi container (api, gui or worker)", s->name);
        tu_err_hint(err, "start the stack first; nothing was written");
        goto fail;
    }
    out->value[PIN_REGISTRY] = xstrdup(prefix);
    for (int i = 0; i < PIN_NVARS; i++)
        if (!out->value[i])
            out->value[i] = xstrdup("");
    return 0;
fail:
    pin_vars_free(out);
    return -1;
}

static int path_ok(const char *p)
{
    if (!p || p[0] != '/' || strlen(p) > PIN_PATH_MAX)
        return 0;
    for (const unsigned char *c = (const unsigned char *)p; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return 0;
    return 1;
}

char *pin_env_from_labels(const struct stack *s)
{
    /* The running containers first: they are the ones compose made last. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->n; i++) {
            const struct stack_container *c = &s->c[i];
            int running = c->state && strcmp(c->state, "running") == 0;
            if (pass == 0 && !running)
                continue;
            json_t *lab = json_object_get(json_object_get(c->inspect, "Config"), "Labels");
            const char *ef = json_string_value(json_object_get(lab, "com.docker.compose.project.environment_file"));
            const char *wd = json_string_value(json_object_get(lab, "com.docker.compose.project.working_dir"));
            /* compose v2 lists several files separated by commas: the last one wins there too. */
            if (ef && *ef) {
                const char *comma = strrchr(ef, ',');
                if (comma)
                    ef = comma + 1;
                if (path_ok(ef))
                    return xstrdup(ef);
                /* A relative one is relative to the project's directory. */
                if (*ef && wd && path_ok(wd)) {
                    char *p = xasprintf("%s/%s", wd, ef);
                    if (path_ok(p))
                        return p;
                    free(p);
                }
            }
            if (wd && path_ok(wd))
                return xasprintf("%s/.env", strcmp(wd, "/") == 0 ? "" : wd);
        }
    return NULL;
}

int pin_remembered(const char *stack_dir, char **out, struct tu_err *err)
{
    *out = NULL;
    char *path = xasprintf("%s/pin.json", stack_dir);
    struct buf b;
    int r = fs_read_capped(path, PIN_RECORD_MAX, &b, err);
    if (r != 0) {
        free(path);
        return r;
    }
    json_error_t je;
    json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &je);
    buf_free(&b);
    const char *ef = json_string_value(json_object_get(j, "env_file"));
    int rc = 0;
    if (!path_ok(ef)) {
        rc = tu_err_set(err, TU_ERR_PROTOCOL, "'%s' does not name an env file", path);
        tu_err_hint(err, "run 'tracup pin --env-file PATH' to record it again");
    } else {
        *out = xstrdup(ef);
    }
    json_decref(j);
    free(path);
    return rc;
}

int pin_remember(const char *stack_dir, const char *stack, const char *env_file, struct tu_err *err)
{
    char stamp[32];
    json_t *j = json_pack("{s:s,s:s,s:s}", "stack", stack, "env_file", env_file, "pinned_at",
                          time_iso_now(stamp, sizeof(stamp)));
    char *text = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    char *path = xasprintf("%s/pin.json", stack_dir);
    int rc = fs_write_atomic(path, text, strlen(text), 0600, err);
    free(path);
    free(text);
    return rc;
}

void pin_result_free(struct pin_result *r)
{
    free(r->env_file);
    free(r->backup);
    json_decref(r->changes);
    memset(r, 0, sizeof(*r));
}

/* The real file behind path (links resolved) when it exists; path itself when
 * it does not but its directory does. */
static char *resolve_env_file(const char *path, int *exists, struct tu_err *err)
{
    char real[PATH_MAX];
    *exists = 0;
    if (realpath(path, real)) {
        struct stat st;
        if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
            tu_err_set(err, TU_ERR_USAGE, "'%s' is not a regular file", path);
            return NULL;
        }
        *exists = 1;
        return xstrdup(real);
    }
    if (errno != ENOENT) {
        tu_err_set(err, TU_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat lst;
    if (lstat(path, &lst) == 0) {
        tu_err_set(err, TU_ERR_USAGE, "'%s' is a symbolic link to nothing", path);
        return NULL;
    }
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = '\0';
    else if (slash)
        slash[1] = '\0';
    struct stat dst;
    int ok = stat(slash ? dir : ".", &dst) == 0 && S_ISDIR(dst.st_mode);
    free(dir);
    if (!ok) {
        tu_err_set(err, TU_ERR_USAGE, "the directory of '%s' does not exist", path);
        tu_err_hint(err, "pass --env-file with the compose project's environment file");
        return NULL;
    }
    return xstrdup(path);
}

/* "<file>.tracup-<UTC stamp>.bak", with a counter when that exists already. */
static char *backup_path(const char *file)
{
    char stamp[32];
    time_compact_now(stamp, sizeof(stamp));
    for (int i = 0; i < 100; i++) {
        char *p = i ? xasprintf("%s.tracup-%s-%d.bak", file, stamp, i) : xasprintf("%s.tracup-%s.bak", file, stamp);
        struct stat st;
        if (lstat(p, &st) != 0 && errno == ENOENT)
            return p;
        free(p);
    }
    return NULL;
}

int pin_apply(const char *env_file, const struct pin_vars *v, int dry_run, struct pin_result *r,
              struct tu_err *err)
{
    memset(r, 0, sizeof(*r));
    int exists = 0;
    r->env_file = resolve_env_file(env_file, &exists, err);
    if (!r->env_file)
        return -1;
    struct buf old;
    buf_init(&old, DOTENV_MAX_BYTES);
    struct stat st;
    memset(&st, 0, sizeof(st));
    if (exists) {
        if (stat(r->env_file, &st) != 0)
            return tu_err_set(err, TU_ERR_IO, "cannot read '%s': %s", r->env_file, strerror(errno));
        int rd = fs_read_capped(r->env_file, DOTENV_MAX_BYTES, &old, err);
        if (rd < 0) {
            if (err->kind == TU_ERR_TOO_BIG)
                tu_err_hint(err, "is it really a compose environment file? nothing was changed");
            return -1;
        }
    }
    r->created = !exists;
    struct dotenv d;
    if (dotenv_parse(&d, old.data ? old.data : "", old.len, r->env_file, err) < 0) {
        buf_free(&old);
        return -1;
    }
    struct dotenv_set sets[PIN_NVARS];
    for (int i = 0; i < PIN_NVARS; i++)
        sets[i] = (struct dotenv_set){pin_var_names[i], v->value[i]};
    size_t nlen = 0, nch = 0;
    struct dotenv_change *ch = NULL;
    char *text = dotenv_rewrite(&d, sets, PIN_NVARS, "Pinned by 'tracup pin': the release this stack runs, by digest",
                                &nlen, &ch, &nch, err);
    dotenv_free(&d);
    int rc = -1;
    if (!text)
        goto out;
    r->changes = json_array();
    for (size_t i = 0; i < nch; i++)
        json_array_append_new(r->changes, json_pack("{s:s,s:s?,s:s,s:I}", "name", ch[i].key, "old", ch[i].old, "new",
                                                    ch[i].value, "line", (json_int_t)ch[i].line));
    if (nch == 0 || dry_run) {
        rc = 0;
        goto out;
    }
    if (exists) {
        r->backup = backup_path(r->env_file);
        if (!r->backup) {
            tu_err_set(err, TU_ERR_IO, "no free name for a backup of '%s'", r->env_file);
            goto out;
        }
        if (fs_write_atomic(r->backup, old.data ? old.data : "", old.len, 0600, err) < 0) {
            tu_err_prefix(err, "keeping a backup, nothing was changed: ");
            goto out;
        }
    }
    /* The file keeps its owner when root rewrites someone else's. */
    int own = exists && geteuid() == 0 && (st.st_uid != 0 || st.st_gid != 0);
    if (fs_write_atomic_as(r->env_file, text, nlen, exists ? (st.st_mode & 07777) : 0600,
                           own ? st.st_uid : (uid_t)-1, own ? st.st_gid : (gid_t)-1, err) < 0) {
        /* Nothing changed: no backup of a change that did not happen. */
        tu_err_prefix(err, "nothing was changed: ");
        if (r->backup) {
            unlink(r->backup);
            free(r->backup);
            r->backup = NULL;
        }
        goto out;
    }
    rc = 0;
out:
    dotenv_changes_free(ch, nch);
    free(text);
    buf_free(&old);
    return rc;
}

/* A short description of the pinned release for one line of output. */
static char *describe(const struct pin_vars *v)
{
    int n = 0;
    for (int i = PIN_API; i <= PIN_APM; i++)
        n += v->value[i][0] != '\0';
    return xasprintf("Tracardi %s, %d image digest%s%s", v->value[PIN_VERSION], n, n == 1 ? "" : "s",
                     v->by_tag ? " (images loaded from a bundle are pinned by their tag)" : "");
}

void pin_follow(struct docker *d, const char *prefix, const char *stack, const char *stack_dir,
                void (*say)(void *ud, const char *msg), void *ud)
{
    struct tu_err err;
    tu_err_clear(&err);
    char *env_file = NULL;
    int r = pin_remembered(stack_dir, &env_file, &err);
    if (r == 1)
        return; /* never pinned: nothing to follow */
    struct stack_list l;
    memset(&l, 0, sizeof(l));
    struct pin_vars v;
    memset(&v, 0, sizeof(v));
    struct pin_result res;
    memset(&res, 0, sizeof(res));
    char *msg = NULL;
    if (r < 0)
        goto warn;
    if (stack_discover(d, prefix, &l, &err) < 0)
        goto warn;
    const struct stack *s = NULL;
    for (size_t i = 0; i < l.n && !s; i++)
        if (strcmp(l.s[i].name, stack) == 0)
            s = &l.s[i];
    if (!s) {
        tu_err_set(&err, TU_ERR_NOT_FOUND, "stack '%s' is not found", stack);
        goto warn;
    }
    json_t *skip = upctx_standby_ids(stack_dir);
    r = pin_collect(d, prefix, s, skip, &v, &err);
    json_decref(skip);
    if (r < 0 || pin_apply(env_file, &v, 0, &res, &err) < 0)
        goto warn;
    char *what = describe(&v);
    if (json_array_size(res.changes) == 0)
        msg = xasprintf("%s already pins %s", res.env_file, what);
    else
        msg = xasprintf("%s now pins %s%s%s", res.env_file, what, res.backup ? "; the old file is kept as " : "",
                        res.backup ? res.backup : "");
    free(what);
    say(ud, msg);
    goto out;
warn:
    msg = xasprintf("warning: the pinned env file%s%s was not updated: %s; run 'tracup pin --stack %s'",
                    env_file ? " " : "", env_file ? env_file : "", err.msg, stack);
    say(ud, msg);
out:
    free(msg);
    pin_result_free(&res);
    pin_vars_free(&v);
    stack_list_free(&l);
    free(env_file);
}
