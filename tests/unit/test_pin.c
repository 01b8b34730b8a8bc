/* test_pin.c - which digests tracup pin takes, and how it rewrites the env file. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "docker/client.h"
#include "fake_daemon.h"
#include "testutil.h"
#include "upgrade/pin.h"
#include "util/xalloc.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define REG "127.0.0.1:5000"

/* ---- digest selection ---- */

static void test_pick_digest(void **state)
{
    (void)state;
    json_t *img = json_loads("{\"RepoDigests\":["
                             "\"other.example/tracardi/tracardi-api@sha256:" HEX_D "\","
                             "\"" REG "/tracardi/tracardi-api@sha256:" HEX_A "\","
                             "\"" REG "/tracardi/tracardi-api@sha256:" HEX_B "\","
                             "\"" REG "/tracardi/tracardi-api@sha256:short\","
                             "17]}",
                             0, NULL);
    assert_non_null(img);
    /* The first for the repository, not another registry's. */
    assert_string_equal(pin_pick_digest(img, REG "/tracardi/tracardi-api", NULL), "sha256:" HEX_A);
    /* The one the container was created by, when the image has it. */
    assert_string_equal(pin_pick_digest(img, REG "/tracardi/tracardi-api", "sha256:" HEX_B), "sha256:" HEX_B);
    assert_string_equal(pin_pick_digest(img, REG "/tracardi/tracardi-api", "sha256:" HEX_C), "sha256:" HEX_A);
    assert_string_equal(pin_pick_digest(img, "other.example/tracardi/tracardi-api", NULL), "sha256:" HEX_D);
    /* None for this repository. */
    assert_null(pin_pick_digest(img, REG "/tracardi/tracardi-gui", NULL));
    json_decref(img);
    /* Docker Hub names normalise: "tracardi/x" is "docker.io/tracardi/x". */
    img = json_loads("{\"RepoDigests\":[\"tracardi/tracardi-gui@sha256:" HEX_C "\"]}", 0, NULL);
    assert_string_equal(pin_pick_digest(img, "docker.io/tracardi/tracardi-gui", NULL), "sha256:" HEX_C);
    json_decref(img);
    img = json_loads("{\"Id\":\"sha256:" HEX_A "\"}", 0, NULL);
    assert_null(pin_pick_digest(img, REG "/tracardi/tracardi-api", NULL));
    json_decref(img);
}

/* ---- stacks built in memory ---- */

static void add_container(struct stack *s, const char *name, enum stack_role role, const char *key, const char *image,
                          const char *tag, const char *state, const char *image_id, const char *labels)
{
    s->c = xrealloc(s->c, (s->n + 1) * sizeof(*s->c));
    struct stack_container *c = &s->c[s->n++];
    memset(c, 0, sizeof(*c));
    c->id = xasprintf("id-%s", name);
    c->name = xstrdup(name);
    c->role = role;
    c->image_key = key;
    c->image = xstrdup(image);
    c->tag = xstrdup(tag);
    c->state = xstrdup(state);
    c->image_id = xstrdup(image_id);
    char *ins = xasprintf("{\"Image\":\"%s\",\"Config\":{\"Image\":\"%s\",\"Labels\":%s}}", image_id, image,
                          labels ? labels : "{}");
    c->inspect = json_loads(ins, 0, NULL);
    assert_non_null(c->inspect);
    free(ins);
}

static struct stack_list *new_stack(const char *name)
{
    struct stack_list *l = xcalloc(1, sizeof(*l));
    l->s = xcalloc(1, sizeof(*l->s));
    l->n = 1;
    l->s[0].name = xstrdup(name);
    l->s[0].kind = xstrdup("compose");
    return l;
}

static void free_stack(struct stack_list *l)
{
    stack_list_free(l);
    free(l);
}

static void test_container_version(void **state)
{
    (void)state;
    struct stack_list *l = new_stack("s");
    add_container(&l->s[0], "a", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.1", "0.8.1", "running", "x", NULL);
    add_container(&l->s[0], "b", ROLE_API, "api", REG "/tracardi/tracardi-api@sha256:" HEX_A, NULL, "running", "x",
                  "{\"tracup.version\":\"0.8.2\"}");
    add_container(&l->s[0], "c", ROLE_API, "api", REG "/tracardi/tracardi-api@sha256:" HEX_A, NULL, "running", "x",
                  NULL);
    assert_string_equal(pin_container_version(&l->s[0].c[0]), "0.8.1");
    assert_string_equal(pin_container_version(&l->s[0].c[1]), "0.8.2");
    assert_null(pin_container_version(&l->s[0].c[2]));
    free_stack(l);
}

static void test_env_from_labels(void **state)
{
    (void)state;
    struct stack_list *l = new_stack("s");
    add_container(&l->s[0], "redis", ROLE_REDIS, NULL, "redis:7", "7", "exited", "x",
                  "{\"com.docker.compose.project.working_dir\":\"/srv/old\"}");
    char *p = pin_env_from_labels(&l->s[0]);
    assert_string_equal(p, "/srv/old/.env");
    free(p);
    /* A running container wins; its environment_file over its working_dir; the last of a list. */
    add_container(&l->s[0], "api", ROLE_API, "api", "i", "0.8.1", "running", "x",
                  "{\"com.docker.compose.project.working_dir\":\"/srv/t\","
                  "\"com.docker.compose.project.environment_file\":\"/srv/t/a.env,/srv/t/prod.env\"}");
    p = pin_env_from_labels(&l->s[0]);
    assert_string_equal(p, "/srv/t/prod.env");
    free(p);
    free_stack(l);
    /* A relative environment_file is under the working directory. */
    l = new_stack("s");
    add_container(&l->s[0], "api", ROLE_API, "api", "i", "0.8.1", "running", "x",
                  "{\"com.docker.compose.project.working_dir\":\"/srv/t\","
                  "\"com.docker.compose.project.environment_file\":\"conf/prod.env\"}");
    p = pin_env_from_labels(&l->s[0]);
    assert_string_equal(p, "/srv/t/conf/prod.env");
    free(p);
    free_stack(l);
    /* Relative or control-character paths are not taken. */
    l = new_stack("s");
    add_container(&l->s[0], "api", ROLE_API, "api", "i", "0.8.1", "running", "x",
                  "{\"com.docker.compose.project.working_dir\":\"srv\"}");
    assert_null(pin_env_from_labels(&l->s[0]));
    add_container(&l->s[0], "gui", ROLE_GUI, "gui", "i", "0.8.1", "running", "x",
                  "{\"com.docker.compose.project.working_dir\":\"/srv/\\u001b[2J\"}");
    assert_null(pin_env_from_labels(&l->s[0]));
    free_stack(l);
}

/* ---- pin_collect against a fake daemon ---- */

struct fixture {
    struct fake_daemon *fd;
    struct docker d;
};

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof(*f));
    f->fd = fake_daemon_start();
    char *host = xasprintf("unix://%s", fake_daemon_socket(f->fd));
    tt_env_set("DOCKER_HOST", host);
    free(host);
    tt_env_set("DOCKER_CONFIG", fake_daemon_dir(f->fd));
    tt_env_set("DOCKER_API_VERSION", NULL);
    char *r = fake_http(200, "Api-Version: 1.41\r\n", "OK");
    fake_daemon_expect(f->fd, "GET", "/_ping", r);
    free(r);
    struct tu_err e = {0};
    if (docker_init(&f->d, &e) != 0 || docker_negotiate(&f->d, &e) != 0)
        fail_msg("docker: %s", e.msg);
    f->d.request_timeout_s = 5;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    docker_cleanup(&f->d);
    fake_daemon_stop(f->fd);
    tt_env_restore();
    free(f);
    return 0;
}

/* The daemon answers an image inspect of sha256:<hex> with these RepoDigests. */
static void expect_image(struct fixture *f, const char *hex, const char *repo_digests)
{
    char *path = xasprintf("/v1.41/images/sha256%%3A%s/json", hex);
    char *body = xasprintf("{\"Id\":\"sha256:%s\",\"RepoDigests\":[%s]}", hex, repo_digests);
    char *r = fake_http(200, "Content-Type: application/json\r\n", body);
    fake_daemon_expect(f->fd, "GET", path, r);
    free(r);
    free(body);
    free(path);
}

static void test_collect(void **state)
{
    struct fixture *f = *state;
    struct stack_list *l = new_stack("prod");
    struct stack *s = &l->s[0];
    add_container(s, "prod_api_1", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.1@sha256:" HEX_B, "0.8.1",
                  "running", "sha256:" HEX_A, NULL);
    add_container(s, "prod_gui_1", ROLE_GUI, "gui", REG "/tracardi/tracardi-gui:0.8.1", "0.8.1", "running",
                  "sha256:" HEX_C, NULL);
    add_container(s, "prod_update-worker_1", ROLE_WORKER, "update-worker", REG "/tracardi/update-worker:0.8.1",
                  "0.8.1", "running", "sha256:" HEX_D, NULL);
    /* Stopped containers (an old release kept for rollback) and infrastructure do not count. */
    add_container(s, "old_apm", ROLE_WORKER, "apm", REG "/tracardi/apm:0.8.2", "0.8.2", "exited",
                  "sha256:" HEX_A, NULL);
    add_container(s, "prod_redis_1", ROLE_REDIS, NULL, "redis:7", "7", "running", "sha256:" HEX_A, NULL);
    expect_image(f, HEX_A, "\"" REG "/tracardi/tracardi-api@sha256:" HEX_A "\",\"" REG
                           "/tracardi/tracardi-api@sha256:" HEX_B "\"");
    expect_image(f, HEX_C, "\"" REG "/tracardi/tracardi-gui@sha256:" HEX_C "\"");
    expect_image(f, HEX_D, "\"" REG "/tracardi/update-worker@sha256:" HEX_D "\"");
    struct pin_vars v;
    struct tu_err e = {0};
    assert_int_equal(pin_collect(&f->d, REG, s, NULL, &v, &e), 0);
    assert_string_equal(v.value[PIN_VERSION], "0.8.1");
    assert_string_equal(v.value[PIN_REGISTRY], REG);
    /* The api was created by digest B: that one, not the image's first. */
    assert_string_equal(v.value[PIN_API], "@sha256:" HEX_B);
    assert_string_equal(v.value[PIN_GUI], "@sha256:" HEX_C);
    assert_string_equal(v.value[PIN_WORKER], "@sha256:" HEX_D);
    assert_string_equal(v.value[PIN_APM], "");
    pin_vars_free(&v);
    free_stack(l);
}

static void test_collect_no_repo_digest(void **state)
{
    struct fixture *f = *state;
    struct stack_list *l = new_stack("prod");
    add_container(&l->s[0], "prod_api_1", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.1", "0.8.1", "running",
                  "sha256:" HEX_A, NULL);
    /* Built here (no RepoDigests), or pushed only to another registry. */
    expect_image(f, HEX_A, "\"other.example/tracardi/tracardi-api@sha256:" HEX_A "\"");
    struct pin_vars v;
    struct tu_err e = {0};
    assert_int_equal(pin_collect(&f->d, REG, &l->s[0], NULL, &v, &e), -1);
    assert_non_null(strstr(e.msg, "the image of 'prod_api_1'"));
    assert_non_null(strstr(e.msg, "has no repository digest for '" REG "/tracardi/tracardi-api'"));
    assert_non_null(strstr(e.hint, "nothing was written"));
    assert_null(v.value[PIN_VERSION]);
    free_stack(l);
}

static void test_collect_two_releases(void **state)
{
    struct fixture *f = *state;
    struct stack_list *l = new_stack("prod");
    add_container(&l->s[0], "blue", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.1", "0.8.1", "running",
                  "sha256:" HEX_A, NULL);
    add_container(&l->s[0], "green", ROLE_API, "api", REG "/tracardi/tracardi-api@sha256:" HEX_C, NULL, "running",
                  "sha256:" HEX_C, "{\"tracup.version\":\"0.8.2\"}");
    expect_image(f, HEX_A, "\"" REG "/tracardi/tracardi-api@sha256:" HEX_A "\"");
    struct pin_vars v;
    struct tu_err e = {0};
    assert_int_equal(pin_collect(&f->d, REG, &l->s[0], NULL, &v, &e), -1);
    assert_non_null(strstr(e.msg, "runs two releases"));
    free_stack(l);
    /* Nothing running at all. */
    l = new_stack("prod");
    add_container(&l->s[0], "blue", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.1", "0.8.1", "exited",
                  "sha256:" HEX_A, NULL);
    assert_int_equal(pin_collect(&f->d, REG, &l->s[0], NULL, &v, &e), -1);
    assert_non_null(strstr(e.msg, "runs no Tracardi container"));
    free_stack(l);
}

/* After an upgrade from an offline bundle the loaded images have no RepoDigests:
 * one the bundle record names (release, image id) and whose tag still names it is
 * pinned by tag; anything else is refused as before. */
static void expect_loaded_image(struct fixture *f, const char *hex, const char *repo_tags)
{
    char *path = xasprintf("/v1.41/images/sha256%%3A%s/json", hex);
    char *body = xasprintf("{\"Id\":\"sha256:%s\",\"RepoDigests\":[],\"RepoTags\":[%s]}", hex, repo_tags);
    char *r = fake_http(200, "Content-Type: application/json\r\n", body);
    fake_daemon_expect(f->fd, "GET", path, r);
    free(r);
    free(body);
    free(path);
}

static void test_collect_from_bundle(void **state)
{
    struct fixture *f = *state;
    char *dir = tt_mkdtemp();
    tt_env_set("TRACUP_STATE_DIR", dir);
    free(tt_write_file(dir, "bundles.json",
                       "{\"format\":1,\"loads\":[{\"release\":\"0.8.2\",\"registry\":\"" REG "\",\"loaded_at\":\"t\","
                       "\"created\":\"t\",\"images\":[{\"role\":\"api\",\"name\":\"" REG "/tracardi/tracardi-api:0.8.2\","
                       "\"digest\":\"sha256:" HEX_D "\",\"image_id\":\"sha256:" HEX_A "\"}]}]}",
                       0600));
    struct stack_list *l = new_stack("prod");
    /* Green's api, created from the loaded tag; its gui was pulled. */
    add_container(&l->s[0], "green-api", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.2", "0.8.2", "running",
                  "sha256:" HEX_A, NULL);
    add_container(&l->s[0], "green-gui", ROLE_GUI, "gui", REG "/tracardi/tracardi-gui:0.8.2", "0.8.2", "running",
                  "sha256:" HEX_C, NULL);
    expect_loaded_image(f, HEX_A, "\"" REG "/tracardi/tracardi-api:0.8.2\"");
    expect_image(f, HEX_C, "\"" REG "/tracardi/tracardi-gui@sha256:" HEX_C "\"");
    struct pin_vars v;
    struct tu_err e = {0};
    if (pin_collect(&f->d, REG, &l->s[0], NULL, &v, &e) != 0)
        fail_msg("pin_collect: %s", e.msg);
    assert_string_equal(v.value[PIN_VERSION], "0.8.2");
    assert_string_equal(v.value[PIN_API], "");
    assert_string_equal(v.value[PIN_GUI], "@sha256:" HEX_C);
    assert_int_equal(v.by_tag, 1);
    pin_vars_free(&v);
    free_stack(l);

    /* Not the image the bundle loaded (another id): refused. */
    l = new_stack("prod");
    add_container(&l->s[0], "green-api", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.2", "0.8.2", "running",
                  "sha256:" HEX_B, NULL);
    expect_loaded_image(f, HEX_B, "\"" REG "/tracardi/tracardi-api:0.8.2\"");
    assert_int_equal(pin_collect(&f->d, REG, &l->s[0], NULL, &v, &e), -1);
    assert_non_null(strstr(e.msg, "has no repository digest"));
    free_stack(l);
    /* The loaded image, but its tag names another image now: compose would run that one. */
    l = new_stack("prod");
    add_container(&l->s[0], "green-api", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.2", "0.8.2", "running",
                  "sha256:" HEX_A, NULL);
    expect_loaded_image(f, HEX_A, "");
    assert_int_equal(pin_collect(&f->d, REG, &l->s[0], NULL, &v, &e), -1);
    assert_non_null(strstr(e.msg, "has no repository digest"));
    free_stack(l);
    /* The image id is on record, but for another release. */
    l = new_stack("prod");
    add_container(&l->s[0], "api", ROLE_API, "api", REG "/tracardi/tracardi-api:0.8.1", "0.8.1", "running",
                  "sha256:" HEX_A, NULL);
    expect_loaded_image(f, HEX_A, "\"" REG "/tracardi/tracardi-api:0.8.1\"");
    assert_int_equal(pin_collect(&f->d, REG, &l->s[0], NULL, &v, &e), -1);
    free_stack(l);
    tt_rmtree(dir);
    free(dir);
}

/* ---- pin_apply on real files ---- */

static void vars_for(struct pin_vars *v, const char *version, const char *api)
{
    memset(v, 0, sizeof(*v));
    v->value[PIN_VERSION] = xstrdup(version);
    v->value[PIN_REGISTRY] = xstrdup(REG);
    v->value[PIN_API] = xstrdup(api);
    v->value[PIN_GUI] = xstrdup("@sha256:" HEX_C);
    v->value[PIN_WORKER] = xstrdup("");
    v->value[PIN_APM] = xstrdup("");
}

static int count_backups(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += strstr(de->d_name, ".tracup-") != NULL && strstr(de->d_name, ".bak") != NULL;
    if (d)
        closedir(d);
    return n;
}

static unsigned mode_of(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_mode & 07777;
}

static void test_apply(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    const char *old = "# ops\nTRACARDI_VERSION=0.8.0\nCOMPOSE_PROFILES=worker\nexport API_DIGEST=\"\"\n";
    char *path = tt_write_file(dir, ".env", old, 0640);
    struct pin_vars v;
    vars_for(&v, "0.8.1", "@sha256:" HEX_A);
    struct pin_result r;
    struct tu_err e = {0};

    /* A dry run lists the changes and writes nothing. */
    assert_int_equal(pin_apply(path, &v, 1, &r, &e), 0);
    assert_int_equal(json_array_size(r.changes), 6);
    assert_null(r.backup);
    char *now = tt_read_file(path);
    assert_string_equal(now, old);
    free(now);
    assert_int_equal(count_backups(dir), 0);
    pin_result_free(&r);

    assert_int_equal(pin_apply(path, &v, 0, &r, &e), 0);
    assert_non_null(r.backup);
    assert_int_equal(r.created, 0);
    assert_int_equal(mode_of(path), 0640);
    assert_int_equal(mode_of(r.backup), 0600);
    char *bak = tt_read_file(r.backup);
    assert_string_equal(bak, old);
    free(bak);
    now = tt_read_file(path);
    assert_string_equal(now, "# ops\nTRACARDI_VERSION=0.8.1\nCOMPOSE_PROFILES=worker\nexport API_DIGEST=\"@sha256:" HEX_A
                             "\"\n# Pinned by 'tracup pin': the release this stack runs, by digest\n"
                             "TRACARDI_REGISTRY=" REG "\nGUI_DIGEST=@sha256:" HEX_C "\nWORKER_DIGEST=\nAPM_DIGEST=\n");
    free(now);
    pin_result_free(&r);

    /* Again: already pinned, no backup. */
    assert_int_equal(pin_apply(path, &v, 0, &r, &e), 0);
    assert_int_equal(json_array_size(r.changes), 0);
    assert_null(r.backup);
    assert_int_equal(count_backups(dir), 1);
    pin_result_free(&r);

    /* A broken file is refused with its line and left alone. */
    char *broken = tt_write_file(dir, "broken.env", "A=1\nB 2\n", 0600);
    assert_int_equal(pin_apply(broken, &v, 0, &r, &e), -1);
    assert_non_null(strstr(e.msg, "line 2: expected NAME=VALUE"));
    now = tt_read_file(broken);
    assert_string_equal(now, "A=1\nB 2\n");
    free(now);
    assert_int_equal(count_backups(dir), 1);
    pin_result_free(&r);

    /* A new file is created 0600. */
    char *fresh = xasprintf("%s/new.env", dir);
    assert_int_equal(pin_apply(fresh, &v, 0, &r, &e), 0);
    assert_int_equal(r.created, 1);
    assert_null(r.backup);
    assert_int_equal(mode_of(fresh), 0600);
    pin_result_free(&r);

    /* A directory that does not exist is an error. */
    char *nowhere = xasprintf("%s/no/such/.env", dir);
    assert_int_equal(pin_apply(nowhere, &v, 0, &r, &e), -1);
    assert_non_null(strstr(e.msg, "does not exist"));
    pin_result_free(&r);

    pin_vars_free(&v);
    free(nowhere);
    free(fresh);
    free(broken);
    free(path);
    tt_rmtree(dir);
    free(dir);
}

/* The env file's directory may be another user's: whatever sits at the temporary
 * name earlier versions used (<file>.tmp.<pid>) is never opened. A FIFO would
 * block the write, a hard or symbolic link would send it into another file. The
 * file keeps its mode, and its owner when root rewrites it. */
static void test_apply_planted(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    char *path = tt_write_file(dir, ".env", "TRACARDI_VERSION=0.8.0\n", 0640);
    int root = geteuid() == 0;
    if (root)
        assert_int_equal(chown(path, 4321, 4322), 0);
    char *victim = tt_write_file(dir, "victim", "VICTIM\n", 0644);
    /* The env file's real name: tt_mkdtemp's directory may sit behind a link. */
    char *real = realpath(path, NULL);
    assert_non_null(real);
    char *planted = xasprintf("%s.tmp.%ld", real, (long)getpid());
    static const char *const versions[] = {"0.8.1", "0.8.2", "0.9.0"};
    for (int kind = 0; kind < 3; kind++) {
        if (kind == 0)
            assert_int_equal(mkfifo(planted, 0666), 0);
        else if (kind == 1)
            assert_int_equal(link(victim, planted), 0);
        else
            assert_int_equal(symlink(victim, planted), 0);
        struct pin_vars v;
        vars_for(&v, versions[kind], "@sha256:" HEX_A);
        struct pin_result r;
        struct tu_err e = {0};
        alarm(20); /* a write that blocks on the FIFO fails the test instead of hanging it */
        int rc = pin_apply(path, &v, 0, &r, &e);
        alarm(0);
        if (rc != 0)
            fail_msg("pin_apply with a %s planted: %s", kind == 0 ? "FIFO" : kind == 1 ? "hard link" : "symlink",
                     e.msg);
        assert_non_null(r.backup);
        pin_result_free(&r);
        pin_vars_free(&v);
        char *now = tt_read_file(path);
        char *want = xasprintf("TRACARDI_VERSION=%s\n", versions[kind]);
        assert_non_null(strstr(now, want));
        free(want);
        free(now);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        if (root) {
            assert_int_equal(st.st_uid, 4321);
            assert_int_equal(st.st_gid, 4322);
        }
        /* What was planted is as it was, and so is the file it leads to. */
        assert_int_equal(lstat(planted, &st), 0);
        assert_true(kind == 0 ? S_ISFIFO(st.st_mode) : kind == 1 ? S_ISREG(st.st_mode) : S_ISLNK(st.st_mode));
        now = tt_read_file(victim);
        assert_string_equal(now, "VICTIM\n");
        free(now);
        assert_int_equal(stat(victim, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(st.st_nlink, kind == 1 ? 2 : 1);
        assert_int_equal(unlink(planted), 0);
        assert_int_equal(count_backups(dir), kind + 1);
    }
    free(planted);
    free(real);
    free(victim);
    free(path);
    tt_rmtree(dir);
    free(dir);
}

/* A write that fails (the file size limit lets the small backup through, not the
 * new file) leaves the old file as it was, no backup and no temporary file. */
static void test_apply_failing(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    const char *old = "TRACARDI_VERSION=0.8.0\n";
    char *path = tt_write_file(dir, ".env", old, 0640);
    struct pin_vars v;
    vars_for(&v, "0.8.2", "@sha256:" HEX_B);
    struct pin_result r;
    struct tu_err e = {0};
    struct rlimit saved, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 64;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = pin_apply(path, &v, 0, &r, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_int_equal(e.kind, TU_ERR_IO);
    if (strncmp(e.msg, "nothing was changed: ", 21) != 0)
        fail_msg("the error does not say nothing changed: %s", e.msg);
    assert_null(r.backup);
    pin_result_free(&r);
    assert_int_equal(count_backups(dir), 0);
    char *now = tt_read_file(path);
    assert_string_equal(now, old);
    free(now);
    assert_int_equal(mode_of(path), 0640);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && strcmp(de->d_name, ".env") != 0)
            fail_msg("left behind: %s", de->d_name);
    closedir(d);
    pin_vars_free(&v);
    free(path);
    tt_rmtree(dir);
    free(dir);
}

static void test_remember(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    char *out = NULL;
    struct tu_err e = {0};
    assert_int_equal(pin_remembered(dir, &out, &e), 1);
    assert_int_equal(pin_remember(dir, "prod", "/srv/prod/.env", &e), 0);
    char *rec = xasprintf("%s/pin.json", dir);
    assert_int_equal(mode_of(rec), 0600);
    assert_int_equal(pin_remembered(dir, &out, &e), 0);
    assert_string_equal(out, "/srv/prod/.env");
    free(out);
    free(tt_write_file(dir, "pin.json", "{\"env_file\":\"relative/.env\"}", 0600));
    assert_int_equal(pin_remembered(dir, &out, &e), -1);
    assert_null(out);
    free(tt_write_file(dir, "pin.json", "not json", 0600));
    assert_int_equal(pin_remembered(dir, &out, &e), -1);
    free(rec);
    tt_rmtree(dir);
    free(dir);
}

/* ---- pin_follow: never fails, says what to run ---- */

struct said {
    int n;
    char msg[1024];
};

static void say(void *ud, const char *msg)
{
    struct said *s = ud;
    s->n++;
    snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

static void test_follow_warns(void **state)
{
    struct fixture *f = *state;
    char *dir = tt_mkdtemp();
    struct said s = {0};
    /* Never pinned: nothing is said, the daemon is not asked. */
    pin_follow(&f->d, REG, "prod", dir, say, &s);
    assert_int_equal(s.n, 0);
    assert_int_equal(fake_daemon_nrequests(f->fd), 1); /* the ping */
    /* An unreadable record: a warning naming the command to run. */
    free(tt_write_file(dir, "pin.json", "{", 0600));
    pin_follow(&f->d, REG, "prod", dir, say, &s);
    assert_int_equal(s.n, 1);
    assert_non_null(strstr(s.msg, "warning: the pinned env file was not updated"));
    assert_non_null(strstr(s.msg, "run 'tracup pin --stack prod'"));
    /* The stack is gone: the file is left as it was, and the warning names it. */
    char *envf = tt_write_file(dir, ".env", "TRACARDI_VERSION=0.8.1\n", 0640);
    struct tu_err e = {0};
    assert_int_equal(pin_remember(dir, "prod", envf, &e), 0);
    char *r = fake_http(200, "Content-Type: application/json\r\n", "[]");
    fake_daemon_expect(f->fd, "GET", "/v1.41/containers/json", r);
    free(r);
    pin_follow(&f->d, REG, "prod", dir, say, &s);
    assert_int_equal(s.n, 2);
    char *want = xasprintf("warning: the pinned env file %s was not updated: stack 'prod' is not found; run "
                           "'tracup pin --stack prod'", envf);
    assert_string_equal(s.msg, want);
    char *now = tt_read_file(envf);
    assert_string_equal(now, "TRACARDI_VERSION=0.8.1\n");
    free(now);
    free(want);
    free(envf);
    tt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_digest),
        cmocka_unit_test(test_container_version),
        cmocka_unit_test(test_env_from_labels),
        cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_no_repo_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_two_releases, setup, teardown),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_apply_failing),
        cmocka_unit_test(test_apply_planted),
        cmocka_unit_test_setup_teardown(test_collect_from_bundle, setup, teardown),
        cmocka_unit_test(test_remember),
        cmocka_unit_test_setup_teardown(test_follow_warns, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
