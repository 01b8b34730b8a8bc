/* record.c - the record of loaded bundles in the state directory, and the offline pin. */
#include "bundle/record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "docker/objects.h"
#include "registry/ref.h"
#include "upgrade/upctx.h"
#include "util/fsutil.h"
#include "util/timeutil.h"
#include "util/xalloc.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

char *bundle_record_path(void)
{
    return xasprintf("%s/%s", upctx_state_root(), BUNDLE_RECORD_NAME);
}

static int load_doc(const char *path, json_t **out, struct tu_err *err)
{
    struct buf b;
    buf_init(&b, 0);
    *out = NULL;
    int r = fs_read_capped(path, BUNDLE_RECORD_MAX, &b, err);
    if (r != 0) {
        buf_free(&b);
        return r;
    }
    json_error_t je;
    json_t *j = json_loadb(b.data ? b.data : "", b.len, 0, &je);
    buf_free(&b);
    if (!json_is_object(j) || !json_is_array(json_object_get(j, "loads"))) {
        json_decref(j);
        tu_err_set(err, TU_ERR_PROTOCOL, "bundle record '%s' is not what tracup writes", path);
        tu_err_hint(err, "move it away; 'tracup bundle load' writes it again");
        return -1;
    }
    *out = j;
    return 0;
}

long bundle_record_lock_wait_ms = 30000;

/* An exclusive flock on <path>.lock, waited for up to bundle_record_lock_wait_ms.
 * Returns the descriptor (closing it releases the lock), or -1. */
static int lock_record(const char *path, struct tu_err *err)
{
    char *lp = xasprintf("%s.lock", path);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        tu_err_set(err, TU_ERR_IO, "cannot open '%s': %s", lp, strerror(errno));
        free(lp);
        return -1;
    }
    long deadline = time_mono_ms() + bundle_record_lock_wait_ms;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            tu_err_set(err, TU_ERR_IO, "cannot lock '%s': %s", lp, strerror(errno));
            goto fail;
        }
        if (time_mono_ms() >= deadline) {
            tu_err_set(err, TU_ERR_REFUSED, "'%s' is held by another tracup (waited %ld s)", lp,
                       (bundle_record_lock_wait_ms + 999) / 1000);
            tu_err_hint(err, "let the other 'tracup bundle load' finish, then load this bundle again");
            goto fail;
        }
        time_sleep_ms(50);
    }
    free(lp);
    return fd;
fail:
    close(fd);
    free(lp);
    return -1;
}

int bundle_record_save(const struct bundle_manifest *m, const char *loaded_at, struct tu_err *err)
{
    if (fs_mkdirs(upctx_state_root(), 0700, err) < 0) {
        tu_err_hint(err, "set TRACUP_STATE_DIR to a writable directory");
        return -1;
    }
    char *path = bundle_record_path();
    /* Read, change and rename under the lock: two loads at once keep both entries. */
    int lock = lock_record(path, err);
    if (lock < 0) {
        free(path);
        return -1;
    }
    json_t *doc = NULL;
    int r = load_doc(path, &doc, err);
    if (r < 0) {
        close(lock);
        free(path);
        return -1;
    }
    if (r == 1)
        doc = json_pack("{s:i,s:[]}", "format", 1, "loads");
    json_t *loads = json_object_get(doc, "loads");
    json_t *imgs = json_array();
    for (size_t i = 0; i < m->n; i++)
        json_array_append_new(imgs, json_pack("{s:s,s:s,s:s,s:s}", "role", m->img[i].role, "name", m->img[i].name,
                                              "digest", m->img[i].digest, "image_id", m->img[i].image_id));
    /* One entry per release and registry: the newest load of a role wins; roles an
     * earlier bundle of the release loaded and this one has not stay on record. */
    for (size_t i = json_array_size(loads); i-- > 0;) {
        json_t *l = json_array_get(loads, i);
        const char *rel = jstr(l, "release"), *reg = jstr(l, "registry");
        if (!rel || !reg || strcmp(rel, m->release) != 0 || strcmp(reg, m->registry) != 0)
            continue;
        size_t k;
        json_t *old;
        json_array_foreach(json_object_get(l, "images"), k, old) {
            const char *role = jstr(old, "role");
            int newer = 0;
            for (size_t n = 0; role && n < m->n; n++)
                newer |= strcmp(m->img[n].role, role) == 0;
            if (role && !newer && json_array_size(imgs) < BUNDLE_MAX_IMAGES)
                json_array_append(imgs, old);
        }
        json_array_remove(loads, i);
    }
    while (json_array_size(loads) >= 32)
        json_array_remove(loads, 0);
    json_array_append_new(loads, json_pack("{s:s,s:s,s:s,s:s,s:o}", "release", m->release, "registry", m->registry,
                                           "loaded_at", loaded_at, "created", m->created, "images", imgs));
    char *text = json_dumps(doc, JSON_INDENT(2));
    json_decref(doc);
    size_t len = strlen(text);
    text = xrealloc(text, len + 2);
    text[len++] = '\n';
    text[len] = '\0';
    r = fs_write_atomic(path, text, len, 0600, err);
    close(lock);
    free(text);
    free(path);
    return r;
}

int bundle_record_find(const char *registry, const char *release, json_t **out, struct tu_err *err)
{
    *out = NULL;
    char *path = bundle_record_path();
    json_t *doc = NULL;
    int r = load_doc(path, &doc, err);
    free(path);
    if (r != 0)
        return r;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(doc, "loads"), i, l) {
        const char *rel = jstr(l, "release"), *reg = jstr(l, "registry");
        if (rel && reg && strcmp(rel, release) == 0 && strcmp(reg, registry) == 0) {
            *out = json_incref(l);
            break;
        }
    }
    json_decref(doc);
    return *out ? 0 : 1;
}

int registry_unreachable(const struct tu_err *e)
{
    /* The daemon answered (an HTTP error); its message says why the registry did not. */
    if (e->kind != TU_ERR_HTTP && e->kind != TU_ERR_NOT_FOUND)
        return 0;
    const char *m = e->msg;
    if (strstr(m, "unauthorized") || strstr(m, "denied") || strstr(m, "authentication required") ||
        strstr(m, "manifest unknown") || strstr(m, "name unknown"))
        return 0;
    return strstr(m, "connection refused") || strstr(m, "no route to host") || strstr(m, "network is unreachable") ||
           strstr(m, "no such host") || strstr(m, "i/o timeout") || strstr(m, "connection reset by peer");
}

/* The record's image for role, when that image is on this host under its tag with its id. */
static json_t *present_image(struct docker *d, json_t *rec, const char *role)
{
    size_t i;
    json_t *im;
    json_array_foreach(json_object_get(rec, "images"), i, im) {
        const char *r = jstr(im, "role"), *name = jstr(im, "name"), *id = jstr(im, "image_id");
        if (!r || !name || !id || strcmp(r, role) != 0)
            continue;
        if (!image_digest_valid(id) || !image_digest_valid(jstr(im, "digest")))
            return NULL;
        json_t *ins = NULL;
        struct tu_err e;
        if (docker_image_inspect(d, name, &ins, &e) < 0)
            return NULL;
        const char *have = jstr(ins, "Id");
        int same = have && strcmp(have, id) == 0;
        json_decref(ins);
        return same ? im : NULL;
    }
    return NULL;
}

int offline_image(struct docker *d, const char *registry, const char *release, const char *role, char **digest,
                  char **image_id, json_t **rec, const char **loaded_at)
{
    struct tu_err e;
    *digest = *image_id = NULL;
    if (!*rec && bundle_record_find(registry, release, rec, &e) != 0)
        return 1;
    json_t *im = present_image(d, *rec, role);
    if (!im)
        return 1;
    *digest = xstrdup(jstr(im, "digest"));
    *image_id = xstrdup(jstr(im, "image_id"));
    *loaded_at = jstr(*rec, "loaded_at");
    return 0;
}

char *offline_pin(struct docker *d, json_t *im, struct tu_err *err)
{
    const char *id = jstr(im, "image_id"), *ref = jstr(im, "ref");
    if (!id)
        return xasprintf("%s@%s", jstr(im, "repo"), jstr(im, "digest"));
    json_t *ins = NULL;
    if (!ref || docker_image_inspect(d, ref, &ins, err) < 0) {
        tu_err_prefix(err, "the image loaded from the bundle is gone: ");
        return NULL;
    }
    const char *have = jstr(ins, "Id");
    int same = have && strcmp(have, id) == 0;
    if (!same)
        tu_err_set(err, TU_ERR_REFUSED, "'%s' is image %.19s now, not %.19s that the bundle loaded", ref,
                   have ? have : "?", id);
    json_decref(ins);
    return same ? xstrdup(ref) : NULL;
}

int offline_check_container(struct docker *d, json_t *im, const char *container, struct tu_err *err)
{
    const char *id = jstr(im, "image_id");
    if (!id)
        return 0;
    json_t *ins = NULL;
    if (docker_container_inspect(d, container, &ins, err) < 0)
        return -1;
    const char *have = jstr(ins, "Image");
    int same = have && strcmp(have, id) == 0;
    if (!same)
        tu_err_set(err, TU_ERR_REFUSED, "'%s' runs image %.19s, not %.19s that the bundle loaded", container,
                   have ? have : "?", id);
    json_decref(ins);
    return same ? 0 : -1;
}
