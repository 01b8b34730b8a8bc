/* cmd_pull.c - `tracup pull --to VERSION`: the release's images, concurrently, pinned by digest. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "tracardi/images.h"
#include "tracardi/stack.h"
#include "tracardi/version.h"
#include "upgrade/pullset.h"
#include "util/xalloc.h"

enum { O_TO, O_REGISTRY, O_IMAGES, O_ALLOW_DEV, O_STACK, O_JSON, O_QUIET };
static const struct opt_spec opts[] = {
    [O_TO] = {"to", 0, "VERSION", "the Tracardi release to pull (required)"},
    [O_REGISTRY] = {"registry", 0, "HOST[:PORT][/PATH]", "where the images come from (default docker.io)"},
    [O_IMAGES] = {"images", 0, "LIST", "comma list of api,gui,update-worker,apm (default: api, gui and the "
                                       "workers of the running stack)"},
    [O_ALLOW_DEV] = {"allow-dev", 0, NULL, "allow a -dev release (may lose data on upgrade)"},
    [O_STACK] = {"stack", 0, "NAME", "the running stack whose workers to pull for"},
    [O_JSON] = {"json", 0, NULL, "one JSON object per event, then the result"},
    [O_QUIET] = {"quiet", 'q', NULL, "print only the result"},
    {NULL, 0, NULL, NULL},
};

struct wanted {
    const struct tracardi_image *img[16];
    size_t n;
};

static void want(struct wanted *w, const struct tracardi_image *img)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->img[i] == img)
            return;
    if (w->n < sizeof(w->img) / sizeof(w->img[0]))
        w->img[w->n++] = img;
}

/* --images: every key known and shipped by the release. */
static int images_from_list(struct tu_ctx *ctx, const char *list, const struct tversion *v, struct wanted *w)
{
    char *copy = xstrdup(list);
    int rc = 0;
    for (char *p = copy; p && rc == 0;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p) {
            rc = cmd_usage_error(ctx, "pull", "empty name in --images '%.100s'", list);
            break;
        }
        const struct tracardi_image *img = tracardi_image_by_key(p);
        if (!img) {
            rc = cmd_usage_error(ctx, "pull", "unknown image '%.40s' in --images (known: api, gui, update-worker, apm)", p);
        } else if (!tracardi_image_in_release(img, v)) {
            rc = cmd_usage_error(ctx, "pull", "Tracardi %s has no %s image (it ships from %d.%d.%d)", v->text, img->key,
                                 img->since[0], img->since[1], img->since[2]);
        } else {
            want(w, img);
        }
        p = comma ? comma + 1 : NULL;
    }
    free(copy);
    return rc;
}

/* api, gui, the update worker when the release has one (migrations need it),
 * and the workers the running stack has. */
static int images_from_stack(struct tu_ctx *ctx, struct docker *d, const char *prefix, const char *stack_name,
                             const struct tversion *v, struct wanted *w)
{
    want(w, tracardi_image_by_key("api"));
    want(w, tracardi_image_by_key("gui"));
    const struct tracardi_image *uw = tracardi_image_by_key("update-worker");
    if (tracardi_image_in_release(uw, v))
        want(w, uw);

    struct stack_list l;
    struct tu_err err;
    tu_err_clear(&err);
    if (stack_discover(d, prefix, &l, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_ERROR);
    const struct stack *s = NULL;
    for (size_t i = 0; i < l.n; i++)
        if (!stack_name || strcmp(l.s[i].name, stack_name) == 0)
            s = s ? s : &l.s[i];
    int rc = 0;
    if (stack_name && !s) {
        tu_err_set(&err, TU_ERR_USAGE, "no Tracardi stack named '%s' on this host", stack_name);
        rc = cmd_fail(ctx, &err, TU_EXIT_USAGE);
    } else if (!stack_name && l.n > 1) {
        tu_err_set(&err, TU_ERR_USAGE, "%zu Tracardi stacks on this host: say which with --stack, or choose "
                                       "images with --images", l.n);
        rc = cmd_fail(ctx, &err, TU_EXIT_USAGE);
    }
    for (size_t i = 0; rc == 0 && s && i < s->n; i++) {
        const struct stack_container *c = &s->c[i];
        if (c->role != ROLE_WORKER)
            continue;
        const struct tracardi_image *img = c->image_key ? tracardi_image_by_key(c->image_key) : NULL;
        if (!img) {
            if (!ctx->quiet)
                cmd_warn(ctx, "container '%s' runs '%s', a worker tracup does not know; not pulled", c->name, c->image);
        } else if (!tracardi_image_in_release(img, v)) {
            if (!ctx->quiet)
                cmd_warn(ctx, "Tracardi %s has no %s image; the running stack's '%s' has no counterpart", v->text,
                         img->key, c->name);
        } else {
            want(w, img);
        }
    }
    stack_list_free(&l);
    return rc;
}

static void print_result(struct tu_ctx *ctx, struct pull_job *jobs, size_t n, const char *version, int ok)
{
    if (ctx->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            const struct pull_job *j = &jobs[i];
            json_t *o = json_pack("{s:s,s:s,s:b}", "image", j->key, "ref", j->ref, "ok", j->ok);
            if (j->ok) {
                json_object_set_new(o, "digest", json_string(j->digest));
                json_object_set_new(o, "pinned", json_sprintf("%s@%s", j->repo, j->digest));
                json_object_set_new(o, "previous_digest", j->old_digest ? json_string(j->old_digest) : json_null());
                json_object_set_new(o, "tag_moved",
                                    json_boolean(j->old_digest && strcmp(j->old_digest, j->digest) != 0));
            } else {
                json_object_set_new(o, "error", json_string(j->err.msg));
            }
            json_array_append_new(arr, o);
        }
        json_t *res = json_pack("{s:s,s:s,s:b,s:o}", "event", "result", "version", version, "ok", ok, "images", arr);
        json_dumpf(res, ctx->out, JSON_COMPACT);
        fputc('\n', ctx->out);
        json_decref(res);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pull_job *j = &jobs[i];
        if (!j->ok)
            continue;
        fprintf(ctx->out, "%-14s %s@%s\n", j->key, j->repo, j->digest);
        if (j->old_digest && strcmp(j->old_digest, j->digest) != 0)
            fprintf(ctx->out, "note: tag %s of %s moved: this host had %s, the registry now has %s\n", j->tag, j->repo,
                    j->old_digest, j->digest);
    }
}

/* A next step that fits what the daemon said. */
static void hint_for(struct tu_err *e, const char *ref)
{
    const char *m = e->msg;
    if (strstr(m, "unauthorized") || strstr(m, "authentication required") || strstr(m, "no basic auth") ||
        strstr(m, "denied"))
        tu_err_hint(e, "check the registry credentials (docker login, or DOCKER_CONFIG) for '%s'", ref);
    else if (strstr(m, "manifest unknown") || strstr(m, "not found"))
        tu_err_hint(e, "is that version published in that registry? check --to and --registry");
    else if (strstr(m, "connection refused") || strstr(m, "no such host") || strstr(m, "dial tcp") ||
             strstr(m, "i/o timeout"))
        tu_err_hint(e, "is the registry up and reachable from the docker daemon?");
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    ctx->quiet = o->set[O_QUIET];
    if (!o->value[O_TO])
        return cmd_usage_error(ctx, "pull", "--to VERSION is required");
    if (o->set[O_IMAGES] && o->set[O_STACK])
        return cmd_usage_error(ctx, "pull", "--images and --stack do not go together");
    struct tu_err err;
    tu_err_clear(&err);
    struct tversion v;
    int warn_rc = 0;
    if (tversion_check_target(o->value[O_TO], o->set[O_ALLOW_DEV], &v, &warn_rc, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);
    const char *prefix = cmd_registry(ctx, o->value[O_REGISTRY]);
    if (registry_prefix_check(prefix, &err) < 0)
        return cmd_fail(ctx, &err, TU_EXIT_USAGE);
    struct wanted w = {.n = 0};
    if (o->value[O_IMAGES]) {
        int rc = images_from_list(ctx, o->value[O_IMAGES], &v, &w);
        if (rc)
            return rc;
    }
    if (warn_rc && !ctx->quiet)
        cmd_warn(ctx, "%s is a release candidate; test the upgrade on a copy of your data first", v.text);
    if (tversion_is_dev(&v) && !ctx->quiet)
        cmd_warn(ctx, "%s is a development build (--allow-dev)", v.text);

    struct docker d;
    int rc = cmd_docker(ctx, &d);
    if (rc != 0)
        return rc;
    if (!o->value[O_IMAGES]) {
        rc = images_from_stack(ctx, &d, prefix, o->value[O_STACK], &v, &w);
        if (rc) {
            docker_cleanup(&d);
            return rc;
        }
    }

    struct pull_job *jobs = xcalloc(w.n, sizeof(*jobs));
    size_t n = 0;
    for (size_t i = 0; i < w.n; i++) {
        char *ref = tracardi_image_ref(prefix, w.img[i]->path, v.text);
        int jr = pull_job_init(&jobs[n], w.img[i]->key, ref, &err);
        free(ref);
        if (jr < 0) {
            rc = cmd_fail(ctx, &err, TU_EXIT_USAGE);
            goto out;
        }
        n++;
    }

    enum progress_mode mode = ctx->json ? PROGRESS_JSON
                            : ctx->quiet ? PROGRESS_QUIET
                            : isatty(fileno(ctx->out)) ? PROGRESS_TTY : PROGRESS_PLAIN;
    struct progress_view view;
    progress_init(&view, mode, ctx->out, jobs, n);
    struct pull_observer obs = {progress_event, progress_tick, &view};
    int prc = pullset_run(&d, jobs, n, &obs, &err);
    progress_end(&view);

    int started = 0;
    for (size_t i = 0; i < n; i++)
        started |= jobs[i].started_ms != 0;
    if (prc < 0 && !started) {
        rc = cmd_fail(ctx, &err, err.kind == TU_ERR_USAGE ? TU_EXIT_USAGE : TU_EXIT_ERROR);
        goto out;
    }
    print_result(ctx, jobs, n, v.text, prc == 0);
    if (prc < 0) {
        if (tu_interrupted()) {
            fprintf(ctx->errout, "error: interrupted; images already pulled stay on the host, nothing else changed\n");
            rc = TU_EXIT_INTERRUPTED;
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (jobs[i].ok)
                continue;
            hint_for(&jobs[i].err, jobs[i].ref);
            fprintf(ctx->errout, "error: %s\n", jobs[i].err.msg);
            if (jobs[i].err.hint[0])
                fprintf(ctx->errout, "hint: %s\n", jobs[i].err.hint);
        }
        rc = TU_EXIT_ERROR;
        goto out;
    }
    rc = TU_EXIT_OK;
out:
    for (size_t i = 0; i < w.n; i++)
        pull_job_free(&jobs[i]);
    free(jobs);
    docker_cleanup(&d);
    return rc;
}

const struct cmd_entry cmd_pull_entry = {
    .name = "pull",
    .summary = "pull a Tracardi release's images concurrently and print their digests",
    .usage = "--to VERSION [--registry HOST[:PORT][/PATH]] [--images LIST] [--json|--quiet]",
    .description = "Pulls tracardi-api, tracardi-gui and the release's workers at VERSION, all at once.\n"
                   "A pull succeeds only when the daemon answered 200 and reported no error in its\n"
                   "stream. The digest printed for each image is the pin later phases use.\n"
                   "Credentials are found as the docker CLI finds them (DOCKER_CONFIG, credential\n"
                   "helpers, auths).",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
