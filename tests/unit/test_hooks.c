/* Unit tests: operator hooks - where they are found, what they get, how they are run, stopped and shown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "upgrade/engine_hooks.h"
#include "upgrade/hooks.h"
#include "util/config.h"
#include "util/xalloc.h"

struct fx {
    char *dir;      /* the hooks directory */
    char *scratch;  /* where hooks write what they saw */
    FILE *errout;   /* what tracup would show on stderr */
};

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    char *root = tt_mkdtemp();
    f->dir = xasprintf("%s/hooks", root);
    f->scratch = root;
    mkdir(f->dir, 0755);
    f->errout = tmpfile();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tt_env_restore();
    tt_rmtree(f->scratch);
    free(f->scratch);
    free(f->dir);
    fclose(f->errout);
    free(f);
    return 0;
}

/* Writes a hook (a shell script) at dir/name with mode; name may hold "point.d/x". */
static void hook(struct fx *f, const char *name, unsigned mode, const char *body)
{
    const char *slash = strchr(name, '/');
    if (slash) {
        char *d = xasprintf("%s/%.*s", f->dir, (int)(slash - name), name);
        mkdir(d, 0755);
        free(d);
    }
    char *text = xasprintf("#!/bin/sh\n%s\n", body);
    char *path = tt_write_file(f->dir, name, text, mode);
    chmod(path, mode); /* whatever the umask */
    free(path);
    free(text);
}

static char *shown(struct fx *f)
{
    fflush(f->errout);
    long n = ftell(f->errout);
    char *s = xcalloc((size_t)n + 1, 1);
    rewind(f->errout);
    size_t got = fread(s, 1, (size_t)n, f->errout);
    s[got] = '\0';
    return s;
}

static void open_ok(struct fx *f, struct hooks *h)
{
    struct tu_err e;
    tu_err_clear(&e);
    int rc = hooks_open(h, f->dir, 1, 0, f->errout, &e);
    if (rc != 0)
        fail_msg("hooks_open: %s", e.msg);
    h->timeout_ms = 5000;
    h->grace_ms = 300;
}

static const struct hook_facts facts = {
    .stack = "shop", .from = "0.8.1", .to = "0.8.2", .phase = "preflight",
    .public_url = "http://127.0.0.1:8686", .upgrade_id = "20261122T080000Z-0.8.1-0.8.2", .switch_mode = "edge",
};

static int alive(pid_t pid)
{
    if (kill(pid, 0) != 0)
        return 0;
    /* A zombie waiting for init to reap it is not running. */
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    char *st = tt_read_file(path);
    const char *rp = st ? strrchr(st, ')') : NULL;
    int run = rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
    free(st);
    return run;
}

static pid_t read_pid(const char *path)
{
    char *s = tt_read_file(path);
    long v = s ? strtol(s, NULL, 10) : 0;
    free(s);
    return (pid_t)v;
}

/* ---------------------------------------------------------------- tests */

static void test_env_exact_no_secrets(void **state)
{
    struct fx *f = *state;
    tt_env_set("TRACUP_ADMIN_PASSWORD", "s3cret-admin");
    tt_env_set("DOCKER_CONFIG", "/root/.docker-secret");
    tt_env_set("ELASTIC_HTTP_AUTH_PASSWORD", "s3cret-es");
    tt_env_set("INSTALLATION_TOKEN", "s3cret-token");
    tt_env_set("TRACUP_REGISTRY_PASSWORD", "s3cret-reg");
    tt_env_set("LANG", "C.UTF-8");
    tt_env_set("TZ", "UTC");
    tt_env_set("LC_ALL", NULL);
    tt_env_set("HOME", "/home/op");
    tt_env_set("PATH", "/usr/bin:/bin");
    /* The shell's own first environment, before it adds PWD and the like. */
    char *body = xasprintf("tr '\\0' '\\n' </proc/$$/environ | LC_ALL=C sort >'%s/env'; printf '%%s\\n' \"$#\" >'%s/argc'",
                           f->scratch, f->scratch);
    hook(f, "post-upgrade", 0755, body);
    free(body);
    struct hooks h;
    open_ok(f, &h);
    struct hook_facts pf = facts;
    pf.result = "done";
    pf.phase = "done";
    struct tu_err e;
    json_t *runs = json_array();
    assert_int_equal(hooks_run(&h, HOOK_POST_UPGRADE, &pf, 0, runs, &e), 0);
    char *p = xasprintf("%s/env", f->scratch);
    char *env = tt_read_file(p);
    free(p);
    assert_non_null(env);
    assert_string_equal(env, "HOME=/home/op\n"
                             "LANG=C.UTF-8\n"
                             "PATH=/usr/bin:/bin\n"
                             "TRACUP_FROM=0.8.1\n"
                             "TRACUP_HOOK=post-upgrade\n"
                             "TRACUP_PHASE=done\n"
                             "TRACUP_PUBLIC_URL=http://127.0.0.1:8686\n"
                             "TRACUP_RESULT=done\n"
                             "TRACUP_STACK=shop\n"
                             "TRACUP_SWITCH=edge\n"
                             "TRACUP_TO=0.8.2\n"
                             "TRACUP_UPGRADE_ID=20261122T080000Z-0.8.1-0.8.2\n"
                             "TZ=UTC\n");
    assert_null(strstr(env, "s3cret"));
    free(env);
    p = xasprintf("%s/argc", f->scratch);
    char *argc = tt_read_file(p);
    free(p);
    assert_string_equal(argc, "0\n"); /* argv is the hook's path alone */
    free(argc);
    /* The record: no output, no environment. */
    assert_int_equal(json_array_size(runs), 1);
    json_t *r = json_array_get(runs, 0);
    assert_string_equal(json_string_value(json_object_get(r, "hook")), "post-upgrade");
    assert_string_equal(json_string_value(json_object_get(r, "status")), "ok");
    assert_int_equal(json_integer_value(json_object_get(r, "exit_code")), 0);
    assert_true(json_is_real(json_object_get(r, "duration_s")));
    json_decref(runs);
    hooks_close(&h);
}

static void test_order_single_and_dir(void **state)
{
    struct fx *f = *state;
    char *log = xasprintf("%s/order", f->scratch);
    char *b = NULL;
#define APPEND(name, path)                                                                                          \
    b = xasprintf("echo %s >>'%s'; read x && echo stdin-had-data >>'%s'; exit 0", name, log, log);                 \
    hook(f, path, 0755, b);                                                                                         \
    free(b)
    APPEND("single", "pre-upgrade");
    APPEND("20-b", "pre-upgrade.d/20-b");
    APPEND("10-a", "pre-upgrade.d/10-a");
    APPEND("9-c", "pre-upgrade.d/9-c");
    APPEND("backup", "pre-upgrade.d/10-a~");
    APPEND("hidden", "pre-upgrade.d/.10-a.swp");
    APPEND("dpkg", "pre-upgrade.d/10-a.dpkg-old");
    APPEND("other-point", "post-switch.d/10-x");
#undef APPEND
    struct hooks h;
    open_ok(f, &h);
    struct tu_err e;
    json_t *runs = json_array();
    assert_int_equal(hooks_run(&h, HOOK_PRE_UPGRADE, &facts, 1, runs, &e), 0);
    char *got = tt_read_file(log);
    assert_string_equal(got, "single\n10-a\n20-b\n9-c\n");
    free(got);
    assert_int_equal(json_array_size(runs), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "name")), "10-a");
    json_decref(runs);
    char *s = shown(f);
    assert_null(strstr(s, "warning")); /* editor and package files: no fuss */
    free(s);
    hooks_close(&h);
    free(log);
}

static void test_warnings_not_executable_and_unknown(void **state)
{
    struct fx *f = *state;
    hook(f, "post-switch", 0644, "exit 0");
    hook(f, "pre-upgade", 0755, "exit 0");
    struct hooks h;
    open_ok(f, &h);
    char *s = shown(f);
    assert_non_null(strstr(s, "post-switch' is not executable"));
    assert_non_null(strstr(s, "'pre-upgade' in the hooks directory"));
    free(s);
    struct tu_err e;
    json_t *runs = json_array();
    assert_int_equal(hooks_run(&h, HOOK_POST_SWITCH, &facts, 0, runs, &e), 0);
    assert_int_equal(json_array_size(runs), 0);
    json_decref(runs);
    hooks_close(&h);
}

static void expect_refused(struct fx *f, const char *needle)
{
    struct hooks h;
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(hooks_open(&h, f->dir, 1, 0, f->errout, &e), -1);
    assert_int_equal(e.kind, TU_ERR_REFUSED);
    if (!strstr(e.msg, needle))
        fail_msg("'%s' does not say '%s'", e.msg, needle);
    hooks_close(&h);
}

static void test_unsafe_refused(void **state)
{
    struct fx *f = *state;
    hook(f, "pre-rollback.d/10-x", 0777, "exit 0");
    expect_refused(f, "writable by everyone");
    char *p = xasprintf("%s/pre-rollback.d/10-x", f->dir);
    chmod(p, 0755);
    char *d = xasprintf("%s/pre-rollback.d", f->dir);
    chmod(d, 0775);
    expect_refused(f, "writable by its group");
    chmod(d, 0755);
    chmod(f->dir, 0757);
    expect_refused(f, "writable by everyone");
    chmod(f->dir, 0755);
    /* Another user's hook, when the test may give it away. */
    if (geteuid() == 0 && chown(p, 65534, 65534) == 0) {
        expect_refused(f, "owned by uid 65534");
        assert_int_equal(chown(p, 0, 0), 0);
    }
    /* A parent anyone may change (not sticky), as a shared directory would be. */
    chmod(f->scratch, 0777);
    expect_refused(f, "which another user can change");
    chmod(f->scratch, 0700);
    struct hooks h;
    open_ok(f, &h);
    hooks_close(&h);
    /* Unsafe at run time too (changed after the open): the hook does not run. */
    open_ok(f, &h);
    chmod(p, 0777);
    struct tu_err e;
    assert_int_equal(hooks_run(&h, HOOK_PRE_ROLLBACK, &facts, 1, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "writable by everyone"));
    hooks_close(&h);
    free(d);
    free(p);
}

/* A hook that is a link (or lives in a linked .d directory) runs only when the file
 * it leads to sits in directories nobody else can change; the file itself runs. */
static void test_linked_hook(void **state)
{
    struct fx *f = *state;
    char *shared = xasprintf("%s/shared", f->scratch);
    mkdir(shared, 0755);
    char *mark = xasprintf("%s/ran", f->scratch);
    char *body = xasprintf("#!/bin/sh\necho \"$0\" > '%s'\n", mark);
    char *target = tt_write_file(shared, "hook", body, 0755);
    chmod(target, 0755);
    char *link = xasprintf("%s/pre-upgrade", f->dir);
    assert_int_equal(symlink(target, link), 0);
    /* The target's directory anyone may change: someone could swap the file. */
    chmod(shared, 0777);
    expect_refused(f, "which another user can change");
    /* Sticky (like /tmp): nobody renames what is not theirs. */
    chmod(shared, 01777);
    struct hooks h;
    open_ok(f, &h);
    hooks_close(&h);
    chmod(shared, 0755);
    open_ok(f, &h);
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(hooks_run(&h, HOOK_PRE_UPGRADE, &facts, 1, NULL, &e), 0);
    char *ran = tt_read_file(mark);
    assert_non_null(ran);
    /* What ran is the checked file, not the link. */
    assert_non_null(strstr(ran, "/shared/hook"));
    free(ran);
    /* Made unsafe after the open: the run refuses. */
    chmod(shared, 0777);
    assert_int_equal(hooks_run(&h, HOOK_PRE_UPGRADE, &facts, 1, NULL, &e), -1);
    assert_non_null(strstr(e.msg, "which another user can change"));
    hooks_close(&h);
    chmod(shared, 0755);
    unlink(link);
    /* A linked .d directory that is itself safe, inside one anyone may change. */
    char *sub = xasprintf("%s/sub", shared);
    mkdir(sub, 0755);
    chmod(sub, 0755);
    char *x = tt_write_file(sub, "10-x", body, 0755);
    chmod(x, 0755);
    char *d = xasprintf("%s/post-upgrade.d", f->dir);
    assert_int_equal(symlink(sub, d), 0);
    chmod(shared, 0757);
    expect_refused(f, "which another user can change");
    chmod(shared, 0755);
    open_ok(f, &h);
    hooks_close(&h);
    free(x);
    free(sub);
    free(d);
    free(link);
    free(target);
    free(body);
    free(mark);
    free(shared);
}

static void test_absent_dir(void **state)
{
    struct fx *f = *state;
    char *none = xasprintf("%s/none", f->scratch);
    struct hooks h;
    struct tu_err e;
    assert_int_equal(hooks_open(&h, none, 0, 0, f->errout, &e), 0); /* the default: no hooks, silently */
    assert_null(h.dir);
    assert_int_equal(hooks_run(&h, HOOK_PRE_UPGRADE, &facts, 1, NULL, &e), 0);
    hooks_close(&h);
    assert_int_equal(hooks_open(&h, none, 1, 0, f->errout, &e), -1); /* named: must exist */
    assert_non_null(strstr(e.msg, "cannot read the hooks directory"));
    hooks_close(&h);
    free(none);
    char *s = shown(f);
    assert_string_equal(s, "");
    free(s);
}

static void test_exit_codes(void **state)
{
    struct fx *f = *state;
    char *log = xasprintf("%s/ran", f->scratch);
    char *b = xasprintf("echo a >>'%s'; exit 3", log);
    hook(f, "pre-finalize.d/10-a", 0755, b);
    free(b);
    b = xasprintf("echo b >>'%s'; kill -USR1 $$", log);
    hook(f, "pre-finalize.d/20-b", 0755, b);
    free(b);
    struct hooks h;
    open_ok(f, &h);
    struct tu_err e;
    json_t *runs = json_array();
    /* A pre hook: the first failure ends it. */
    assert_int_equal(hooks_run(&h, HOOK_PRE_FINALIZE, &facts, 1, runs, &e), 1);
    assert_string_equal(e.msg, "pre-finalize hook '10-a' exited 3");
    char *got = tt_read_file(log);
    assert_string_equal(got, "a\n");
    free(got);
    assert_int_equal(json_array_size(runs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "status")), "exited");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "exit_code")), 3);
    /* As a post hook: every hook runs, each failure a warning. */
    json_array_clear(runs);
    assert_int_equal(hooks_run(&h, HOOK_PRE_FINALIZE, &facts, 0, runs, &e), 1);
    assert_int_equal(json_array_size(runs), 2);
    json_t *r2 = json_array_get(runs, 1);
    assert_string_equal(json_string_value(json_object_get(r2, "status")), "signal");
    assert_int_equal(json_integer_value(json_object_get(r2, "signal")), SIGUSR1);
    char *s = shown(f);
    assert_non_null(strstr(s, "warning: pre-finalize hook '10-a' exited 3"));
    assert_non_null(strstr(s, "warning: pre-finalize hook '20-b' was killed by signal"));
    free(s);
    json_decref(runs);
    hooks_close(&h);
    free(log);
}

static void test_timeout_kills_group(void **state)
{
    struct fx *f = *state;
    char *pidf = xasprintf("%s/child", f->scratch);
    /* Ignores SIGTERM (and so does its child): only SIGKILL to the group ends them. */
    char *b = xasprintf("trap '' TERM; sleep 30 & echo $! >'%s'; echo started; sleep 30; echo never", pidf);
    hook(f, "pre-upgrade", 0755, b);
    free(b);
    struct hooks h;
    open_ok(f, &h);
    h.timeout_ms = 600;
    h.grace_ms = 400;
    struct tu_err e;
    json_t *runs = json_array();
    long t0 = tt_now_ms();
    assert_int_equal(hooks_run(&h, HOOK_PRE_UPGRADE, &facts, 1, runs, &e), 1);
    long took = tt_now_ms() - t0;
    if (took > 2500)
        fail_msg("the hook ran %ld ms past a 600 ms timeout and 400 ms grace", took);
    assert_int_equal(e.kind, TU_ERR_TIMEOUT);
    assert_non_null(strstr(e.msg, "pre-upgrade hook 'pre-upgrade' did not finish within"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "status")), "timeout");
    pid_t child = read_pid(pidf);
    assert_true(child > 0);
    for (int i = 0; i < 40 && alive(child); i++)
        tt_sleep_ms(50);
    assert_false(alive(child));
    char *s = shown(f);
    assert_non_null(strstr(s, "hook pre-upgrade: started\n"));
    assert_null(strstr(s, "never"));
    free(s);
    json_decref(runs);
    hooks_close(&h);
    free(pidf);
}

static void test_left_behind_killed(void **state)
{
    struct fx *f = *state;
    char *pidf = xasprintf("%s/bg", f->scratch);
    char *b = xasprintf("sleep 30 >/dev/null 2>&1 & echo $! >'%s'; exit 0", pidf);
    hook(f, "post-rollback", 0755, b);
    free(b);
    struct hooks h;
    open_ok(f, &h);
    struct tu_err e;
    json_t *runs = json_array();
    long t0 = tt_now_ms();
    assert_int_equal(hooks_run(&h, HOOK_POST_ROLLBACK, &facts, 0, runs, &e), 0);
    assert_true(tt_now_ms() - t0 < 2500);
    pid_t bg = read_pid(pidf);
    for (int i = 0; i < 40 && alive(bg); i++)
        tt_sleep_ms(50);
    assert_false(alive(bg));
    assert_true(json_is_true(json_object_get(json_array_get(runs, 0), "left_behind_killed")));
    char *s = shown(f);
    assert_non_null(strstr(s, "left processes running"));
    free(s);
    json_decref(runs);
    hooks_close(&h);
    free(pidf);
}

static void test_output_lines(void **state)
{
    struct fx *f = *state;
    hook(f, "post-switch.d/10-say", 0755,
         "echo hello; echo 'to stderr' >&2; printf 'bad \\377\\376 bytes\\r\\n'; printf 'nul\\000byte\\n';"
         "head -c 1000 /dev/zero | tr '\\0' x; echo; printf 'last line without newline'");
    struct hooks h;
    open_ok(f, &h);
    struct tu_err e;
    assert_int_equal(hooks_run(&h, HOOK_POST_SWITCH, &facts, 0, NULL, &e), 0);
    char *s = shown(f);
    char *x400 = xcalloc(401, 1);
    memset(x400, 'x', 400);
    char *long_line = xasprintf("hook post-switch/10-say: %s [600 more bytes cut]\n", x400);
    assert_non_null(strstr(s, "hook post-switch/10-say: hello\n"));
    assert_non_null(strstr(s, "hook post-switch/10-say: to stderr\n"));
    assert_non_null(strstr(s, "hook post-switch/10-say: bad \\xff\\xfe bytes\n"));
    assert_non_null(strstr(s, "hook post-switch/10-say: nul?byte\n"));
    assert_non_null(strstr(s, long_line));
    assert_non_null(strstr(s, "hook post-switch/10-say: last line without newline\n"));
    free(long_line);
    free(x400);
    free(s);
    hooks_close(&h);
}

static void test_exec_failure(void **state)
{
    struct fx *f = *state;
    /* Valgrind cannot go on after an execve that fails: its child dies before it reports. */
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload")) {
        skip();
        return;
    }
    char *path = tt_write_file(f->dir, "pre-rollback", "#!/nonexistent/interpreter\n", 0755);
    chmod(path, 0755);
    free(path);
    struct hooks h;
    open_ok(f, &h);
    struct tu_err e;
    json_t *runs = json_array();
    assert_int_equal(hooks_run(&h, HOOK_PRE_ROLLBACK, &facts, 1, runs, &e), 1);
    assert_string_equal(e.msg, "pre-rollback hook 'pre-rollback' could not be run: No such file or directory");
    assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 0), "status")), "exec_failed");
    json_decref(runs);
    hooks_close(&h);
}

/* The facts come from the journal; every run and the point reached go into it. */
static void test_journal_facts_and_record(void **state)
{
    struct fx *f = *state;
    char *body = xasprintf("echo \"$TRACUP_STACK $TRACUP_FROM $TRACUP_TO $TRACUP_PHASE $TRACUP_SWITCH $TRACUP_PUBLIC_URL "
                           "$TRACUP_UPGRADE_ID $TRACUP_RESULT\" >'%s/facts'; exit 2",
                           f->scratch);
    hook(f, "post-switch", 0755, body);
    free(body);
    struct hooks h;
    open_ok(f, &h);
    char *jpath = xasprintf("%s/journal.json", f->scratch);
    json_t *doc = json_pack("{s:s,s:s,s:{s:s},s:s,s:s,s:s}", "id", "u-1", "stack", "shop", "from", "version", "0.8.1",
                            "to", "0.8.2", "switch", "ports", "public_url", "http://127.0.0.1:9");
    struct journal j;
    struct tu_err e;
    assert_int_equal(journal_create(&j, jpath, doc, &e), 0);
    assert_int_equal(journal_phase_begin(&j, "switch", &e), 0);
    assert_false(journal_hook_reached(&j, HOOK_POST_SWITCH));
    json_t *runs = json_array();
    assert_int_equal(journal_hooks_run(&h, &j, HOOK_POST_SWITCH, "switched", 0, runs, &e), 1);
    char *fp = xasprintf("%s/facts", f->scratch);
    char *facts_seen = tt_read_file(fp);
    assert_string_equal(facts_seen, "shop 0.8.1 0.8.2 switch ports http://127.0.0.1:9 u-1 switched\n");
    free(facts_seen);
    free(fp);
    assert_int_equal(json_array_size(runs), 1);
    journal_free(&j);
    /* On disk: the run (its status, never its output) and the point. */
    assert_int_equal(journal_load(&j, jpath, &e), 0);
    assert_true(journal_hook_reached(&j, HOOK_POST_SWITCH));
    assert_false(journal_hook_reached(&j, HOOK_PRE_UPGRADE));
    json_t *r = json_array_get(json_object_get(j.doc, "hooks"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "exited");
    assert_int_equal(json_integer_value(json_object_get(r, "exit_code")), 2);
    assert_string_equal(json_string_value(json_object_get(r, "phase")), "switch");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j.doc, "hook_points"), "post-switch")),
                        "failed");
    journal_free(&j);
    json_decref(runs);
    free(jpath);
    hooks_close(&h);
}

/* A relative --hooks-dir works, though hooks run in "/". */
static void test_relative_dir(void **state)
{
    struct fx *f = *state;
    char *b = xasprintf("echo ran >'%s/rel'", f->scratch);
    hook(f, "pre-finalize", 0755, b);
    free(b);
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f->scratch), 0);
    struct hooks h;
    struct tu_err e;
    int rc = hooks_open(&h, "hooks", 1, 0, f->errout, &e);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    assert_true(h.dir[0] == '/');
    assert_int_equal(hooks_run(&h, HOOK_PRE_FINALIZE, &facts, 1, NULL, &e), 0);
    char *p = xasprintf("%s/rel", f->scratch);
    char *got = tt_read_file(p);
    assert_string_equal(got, "ran\n");
    free(got);
    free(p);
    hooks_close(&h);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct tu_config c;
    memset(&c, 0, sizeof(c));
    struct tu_err e;
    assert_int_equal(tu_config_parse(&c, "hooks_dir = /srv/hooks\nhook_timeout = 120\n", "t.conf", &e), 0);
    assert_string_equal(c.hooks_dir, "/srv/hooks");
    assert_int_equal(c.hook_timeout, 120);
    tu_config_free(&c);
    assert_int_equal(tu_config_parse(&c, "hooks_dir = hooks\n", "t.conf", &e), -1);
    assert_string_equal(e.msg, "t.conf:1: hooks_dir must be an absolute path");
    tu_config_free(&c);
    assert_int_equal(tu_config_parse(&c, "hook_timeout = 3601\n", "t.conf", &e), -1);
    assert_string_equal(e.msg, "t.conf:1: hook_timeout must be 1 to 3600 seconds");
    tu_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_env_exact_no_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_linked_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_single_and_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warnings_not_executable_and_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_kills_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_left_behind_killed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_facts_and_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_dir, setup, teardown),
        cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
