/* cmd_complete.c - `tracup __complete`: what the shell completion scripts ask the binary (hidden). */
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "docker/objects.h"
#include "tracardi/releases.h"
#include "tracardi/version.h"

/* The daemon is asked only when it answers at once: completion must not hang a shell. */
#define COMPLETE_CONNECT_MS 250
#define COMPLETE_REQUEST_S 1
#define COMPLETE_MAX_BODY (4u * 1024 * 1024)
#define COMPLETE_MAX_VERSIONS 256

static const struct opt_spec opts[] = {
    {NULL, 0, NULL, NULL},
};

static void print_option(FILE *f, char shrt, const char *name, const char *arg, const char *help)
{
    if (shrt)
        fprintf(f, "-%c\t%s\t%s\n", shrt, arg ? arg : "", help);
    else
        fprintf(f, "--%s\t%s\t%s\n", name, arg ? arg : "", help);
}

static int list_options(struct tu_ctx *ctx, const char *name)
{
    const struct cmd_entry *c = cmd_find(name);
    if (!c)
        return cmd_usage_error(ctx, "__complete", "unknown command '%.60s'", name);
    for (size_t i = 0; c->opts && c->opts[i].name; i++) {
        const struct opt_spec *o = &c->opts[i];
        print_option(ctx->out, 0, o->name, o->arg, o->help);
        if (o->short_name)
            print_option(ctx->out, o->short_name, o->name, o->arg, o->help);
    }
    print_option(ctx->out, 0, "help", NULL, "show this help");
    print_option(ctx->out, 'h', "help", NULL, "show this help");
    return TU_EXIT_OK;
}

struct vlist {
    struct tversion v[COMPLETE_MAX_VERSIONS];
    size_t n;
};

static void vlist_add(struct vlist *l, const char *s)
{
    struct tversion v;
    struct tu_err err;
    if (l->n == COMPLETE_MAX_VERSIONS || tversion_parse(s, &v, &err) < 0)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].text, v.text) == 0)
            return;
    l->v[l->n++] = v;
}

static int vcmp(const void *a, const void *b)
{
    return tversion_cmp(a, b);
}

/* The tag of "[HOST[:PORT]/][PATH/]tracardi/tracardi-api:TAG", or NULL. */
static const char *api_tag(const char *ref)
{
    static const char repo[] = "tracardi/tracardi-api";
    const char *colon = strrchr(ref, ':');
    if (!colon || strchr(colon, '/'))
        return NULL;
    size_t rlen = (size_t)(colon - ref), n = sizeof(repo) - 1;
    if (rlen < n || memcmp(colon - n, repo, n) != 0)
        return NULL;
    if (rlen > n && colon[-(long)n - 1] != '/')
        return NULL;
    return colon + 1;
}

/* Adds the tags of tracardi-api images on this host; silent when the daemon does not answer. */
static void host_versions(struct vlist *l)
{
    struct docker d;
    struct tu_err err;
    tu_err_clear(&err);
    if (docker_init(&d, &err) < 0)
        return;
    d.connect_timeout_ms = COMPLETE_CONNECT_MS;
    d.request_timeout_s = COMPLETE_REQUEST_S;
    d.max_body = COMPLETE_MAX_BODY;
    json_t *images = NULL;
    if (docker_image_list(&d, &images, &err) == 0) {
        size_t i, j;
        json_t *img, *tag;
        json_array_foreach(images, i, img) {
            json_array_foreach(json_object_get(img, "RepoTags"), j, tag) {
                const char *s = json_string_value(tag);
                const char *t = s ? api_tag(s) : NULL;
                if (t)
                    vlist_add(l, t);
            }
        }
    }
    json_decref(images);
    docker_cleanup(&d);
}

static int list_versions(struct tu_ctx *ctx)
{
    struct vlist *l = calloc(1, sizeof(*l));
    if (!l)
        return TU_EXIT_ERROR;
    for (size_t i = 0; release_chain_version(i); i++)
        vlist_add(l, release_chain_version(i));
    host_versions(l);
    qsort(l->v, l->n, sizeof(l->v[0]), vcmp);
    for (size_t i = 0; i < l->n; i++)
        fprintf(ctx->out, "%s\n", l->v[i].text);
    free(l);
    return TU_EXIT_OK;
}

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    const char *what = o->args[0];
    if (strcmp(what, "commands") == 0 && o->nargs == 1) {
        const struct cmd_entry *const *t = cmd_table();
        for (size_t i = 0; t[i]; i++)
            if (!t[i]->hidden)
                fprintf(ctx->out, "%s\t%s\n", t[i]->name, t[i]->summary);
        return TU_EXIT_OK;
    }
    if (strcmp(what, "options") == 0 && o->nargs == 2)
        return list_options(ctx, o->args[1]);
    if (strcmp(what, "args") == 0 && o->nargs == 2) {
        const struct cmd_entry *c = cmd_find(o->args[1]);
        if (!c)
            return cmd_usage_error(ctx, "__complete", "unknown command '%.60s'", o->args[1]);
        fprintf(ctx->out, "%d\n", c->max_args);
        return TU_EXIT_OK;
    }
    if (strcmp(what, "versions") == 0 && o->nargs == 1)
        return list_versions(ctx);
    return cmd_usage_error(ctx, "__complete", "unknown completion query '%.60s'", what);
}

const struct cmd_entry cmd_complete_entry = {
    .name = "__complete",
    .summary = "answer the shell completion scripts (not for people)",
    .usage = "commands | options COMMAND | args COMMAND | versions",
    .description = "commands: NAME<TAB>SUMMARY for each command. options COMMAND: OPTION<TAB>ARG<TAB>HELP\n"
                   "for each of its options (ARG empty for a flag). args COMMAND: how many arguments it\n"
                   "takes (-1: any). versions: the releases tracup knows and the tags of tracardi-api\n"
                   "images on this host, when the docker daemon answers within a second; never a registry.",
    .opts = opts,
    .min_args = 1,
    .max_args = 2,
    .run = run,
    .hidden = 1,
};
