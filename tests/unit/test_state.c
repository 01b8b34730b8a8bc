/* Unit tests: release hops and tenant names, the journal, the lock, atomic state files, the secrets store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "tracardi/releases.h"
#include "tracardi/version.h"
#include "upgrade/journal.h"
#include "upgrade/lock.h"
#include "upgrade/plan.h"
#include "upgrade/secrets.h"
#include "util/fsutil.h"
#include "util/md5.h"
#include "util/xalloc.h"

static struct tversion V(const char *s)
{
    struct tversion v;
    struct tu_err e;
    assert_int_equal(tversion_parse(s, &v, &e), 0);
    return v;
}

static void test_md5(void **state)
{
    (void)state;
    char h[33];
    md5_hex("", 0, h);
    assert_string_equal(h, "d41d8cd98f00b204e9800998ecf8427e");
    md5_hex("The quick brown fox jumps over the lazy dog", 43, h);
    assert_string_equal(h, "9e107d9d372bb6826bd81d3542a419d6");
    /* 56..64 bytes take a second padding block. */
    char buf[64];
    memset(buf, 'a', sizeof(buf));
    md5_hex(buf, 56, h);
    assert_string_equal(h, "3b0c8ac703f828b04c6c197006d17218");
}

static void test_tenants(void **state)
{
    (void)state;
    /* The tenant names of each release (tests/standins/README.md, facts); a patch tag runs
     * the library of its release (0.8.0.11's code says 0.8.0, 0.8.2.1's says 0.8.2). */
    static const struct {
        const char *v, *tenant;
    } t[] = {{"0.7.4", "75120"}, {"0.8.0", "fa73a"}, {"0.8.1", "01506"}, {"0.8.2", "ffe49"},
             {"0.9.0", "8504a"}, {"1.0.0", "8504a"}, {"0.8.2-rc1", "ffe49"}, {"0.8.0.11", "fa73a"},
             {"0.8.0-rc2", "fa73a"}, {"0.8.2.1", "ffe49"}, {"0.9.0.3", "8504a"}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct tversion v = V(t[i].v);
        char out[6];
        release_tenant(&v, out);
        if (strcmp(out, t[i].tenant) != 0)
            fail_msg("tenant of %s is %s, want %s", t[i].v, out, t[i].tenant);
    }
}

static void test_hops(void **state)
{
    (void)state;
    struct hop h[MAX_HOPS];
    size_t n;
    struct tu_err e;
    struct tversion a = V("0.8.1"), b = V("0.8.2");
    assert_int_equal(release_hops(&a, &b, h, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].to.text, "0.8.2");
    assert_string_equal(h[0].from_info->db_version, "08x");
    assert_string_equal(h[0].to_info->db_version, "0820");
    assert_false(h[0].intermediate);

    /* 0.8.0 -> 0.8.2 goes through 0.8.1. */
    a = V("0.8.0");
    assert_int_equal(release_hops(&a, &b, h, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].to.text, "0.8.1");
    assert_true(h[0].intermediate);
    assert_string_equal(h[1].to.text, "0.8.2");
    assert_false(h[1].intermediate);

    /* 0.8.2 -> 1.0.0 migrates 0820 -> 09x straight into 1.0.0. */
    a = V("0.8.2");
    b = V("1.0.0");
    assert_int_equal(release_hops(&a, &b, h, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(h[0].to.text, "1.0.0");
    assert_true(h[0].to_info->needs_mysql);

    assert_false(h[0].shared);

    /* 0.9.0 -> 1.0.0 shares 09x: one hop on the same indices, nothing migrated. */
    a = V("0.9.0");
    assert_int_equal(release_hops(&a, &b, h, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_true(h[0].shared);
    assert_false(h[0].intermediate);
    assert_string_equal(h[0].to.text, "1.0.0");
    assert_ptr_equal(h[0].from_info, h[0].to_info);
    /* 0.8.2 -> 0.8.2.1, a patch tag: the same. */
    a = V("0.8.2");
    b = V("0.8.2.1");
    assert_int_equal(release_hops(&a, &b, h, &n, &e), 0);
    assert_true(h[0].shared);
    assert_string_equal(h[0].to_info->db_version, "0820");
    /* Not forward within one db_version: refused. */
    a = V("1.0.0");
    b = V("0.9.0");
    assert_int_equal(release_hops(&a, &b, h, &n, &e), -1);
    assert_int_equal(e.kind, TU_ERR_REFUSED);

    /* Backwards and unknown releases are refused. */
    a = V("0.8.2");
    b = V("0.8.1");
    assert_int_equal(release_hops(&a, &b, h, &n, &e), -1);
    a = V("0.8.1");
    b = V("2.0.0");
    assert_int_equal(release_hops(&a, &b, h, &n, &e), -1);
    assert_non_null(strstr(e.msg, "2.0.0"));
}

/* A twin of another api is named after blue's compose service, when that is a plain name. */
static void test_twin_names(void **state)
{
    (void)state;
    struct stack_container c;
    memset(&c, 0, sizeof(c));
    char svc[] = "tracardi-api-prod";
    c.service = svc;
    char *n = plan_twin_name("st", &c, 0, "0.8.1");
    assert_string_equal(n, "st-tracardi-api-prod-0.8.1");
    free(n);
    char bad[] = "x/../y";
    c.service = bad;
    n = plan_twin_name("st", &c, 0, "0.8.1");
    assert_string_equal(n, "st-tracardi-api-2-0.8.1");
    free(n);
    char same[] = "tracardi-api"; /* a scaled api service: never the api's own green name */
    c.service = same;
    n = plan_twin_name("st", &c, 1, "0.8.1");
    assert_string_equal(n, "st-tracardi-api-3-0.8.1");
    free(n);
    c.service = NULL;
    n = plan_twin_name("st", &c, 0, "0.8.1");
    assert_string_equal(n, "st-tracardi-api-2-0.8.1");
    free(n);
    n = plan_twin_key(0);
    assert_string_equal(n, "api-2");
    free(n);
}

static void test_rc_order(void **state)
{
    (void)state;
    struct tversion a = V("0.8.2-rc2"), b = V("0.8.2-rc10"), c = V("0.8.2"), d = V("0.8.2-dev");
    assert_true(tversion_cmp(&a, &b) < 0);
    assert_true(tversion_cmp(&b, &c) < 0);
    assert_true(tversion_cmp(&d, &a) < 0);
}

static void test_atomic_write(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    char *sub = xasprintf("%s/a/b", dir);
    struct tu_err e;
    assert_int_equal(fs_mkdirs(sub, 0700, &e), 0);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char *f = xasprintf("%s/state.json", sub);
    mode_t old = umask(0);
    assert_int_equal(fs_write_atomic(f, "one", 3, 0600, &e), 0);
    umask(old);
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(fs_write_atomic(f, "two!", 4, 0600, &e), 0);
    struct buf b;
    assert_int_equal(fs_read_capped(f, 100, &b, &e), 0);
    assert_string_equal(b.data, "two!");
    buf_free(&b);
    assert_int_equal(fs_read_capped(f, 2, &b, &e), -1);
    assert_int_equal(e.kind, TU_ERR_TOO_BIG);
    char *missing = xasprintf("%s/none", sub);
    assert_int_equal(fs_read_capped(missing, 100, &b, &e), 1);
    /* No temporary file is left beside it. */
    char *cmd = xasprintf("test $(ls -A '%s' | wc -l) = 1", sub);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    /* What someone plants at the old guessable temporary names is never opened: a
     * FIFO (would block the writer) and a hard link to another file (would be
     * truncated). */
    char *victim = xasprintf("%s/victim", dir);
    assert_int_equal(fs_write_atomic(victim, "keep me", 7, 0600, &e), 0);
    char *fifo = xasprintf("%s.tmp.%ld", f, (long)getpid());
    assert_int_equal(mkfifo(fifo, 0600), 0);
    alarm(20); /* a write that blocks on the FIFO fails the test instead of hanging it */
    assert_int_equal(fs_write_atomic(f, "three", 5, 0600, &e), 0);
    alarm(0);
    unlink(fifo);
    assert_int_equal(link(victim, fifo), 0);
    assert_int_equal(fs_write_atomic(f, "four", 4, 0640, &e), 0);
    assert_int_equal(fs_read_capped(victim, 100, &b, &e), 0);
    assert_string_equal(b.data, "keep me");
    buf_free(&b);
    assert_int_equal(fs_read_capped(f, 100, &b, &e), 0);
    assert_string_equal(b.data, "four");
    buf_free(&b);
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    unlink(fifo);
    free(fifo);
    free(victim);
    free(missing);
    free(f);
    free(sub);
    tt_rmtree(dir);
    free(dir);
}

/* The names in a directory, sorted, joined by spaces (the caller frees). */
static char *names_in(const char *dir)
{
    char *cmd = xasprintf("ls -A '%s' | sort | tr '\\n' ' '", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[1024] = "";
    if (!fgets(line, sizeof(line), p))
        line[0] = '\0';
    assert_int_equal(pclose(p), 0);
    free(cmd);
    return xstrdup(line);
}

/* A symbolic link at the old guessable temporary name (<file>.tmp.<pid>) is not
 * followed; a write that fails leaves the old file and no temporary file; the
 * _as variant gives the file its owner and exact mode before it takes the name. */
static void test_atomic_write_planted(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    char *f = xasprintf("%s/state.json", dir);
    char *planted = xasprintf("%s.tmp.%ld", f, (long)getpid());
    char *victim = tt_write_file(dir, "victim", "VICTIM\n", 0644);
    struct tu_err e;
    tu_err_clear(&e);
    assert_int_equal(symlink(victim, planted), 0);
    if (fs_write_atomic(f, "one", 3, 0600, &e) != 0)
        fail_msg("with a symbolic link planted: %s", e.msg);
    struct stat st;
    assert_int_equal(lstat(planted, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char *got = tt_read_file(victim);
    assert_string_equal(got, "VICTIM\n");
    free(got);
    assert_int_equal(stat(victim, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(st.st_nlink, 1);
    assert_int_equal(lstat(f, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    got = tt_read_file(f);
    assert_string_equal(got, "one");
    free(got);
    assert_int_equal(unlink(planted), 0);

    /* Failed writes: a rename onto a directory, and a write past the file size
     * limit. The old file stays, nothing else is left. */
    char *sub = xasprintf("%s/sub", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    tu_err_clear(&e);
    assert_int_equal(fs_write_atomic(sub, "x", 1, 0600, &e), -1);
    assert_int_equal(e.kind, TU_ERR_IO);
    struct rlimit saved, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 16;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    tu_err_clear(&e);
    int rc = fs_write_atomic(f, "more than sixteen bytes", 23, 0600, &e);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_int_equal(e.kind, TU_ERR_IO);
    got = tt_read_file(f);
    assert_string_equal(got, "one");
    free(got);
    char *names = names_in(dir);
    assert_string_equal(names, "state.json sub victim ");
    free(names);

    /* Owner and mode exactly as asked, whatever the umask. As root another
     * owner; otherwise the writer's own ids. */
    uid_t uid = geteuid() == 0 ? 4321 : geteuid();
    gid_t gid = geteuid() == 0 ? 4322 : getegid();
    mode_t old_mask = umask(077);
    tu_err_clear(&e);
    rc = fs_write_atomic_as(f, "two", 3, 0644, uid, gid, &e);
    umask(old_mask);
    if (rc != 0)
        fail_msg("fs_write_atomic_as: %s", e.msg);
    assert_int_equal(stat(f, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(st.st_uid, uid);
    assert_int_equal(st.st_gid, gid);
    got = tt_read_file(f);
    assert_string_equal(got, "two");
    free(got);
    names = names_in(dir);
    assert_string_equal(names, "state.json sub victim ");
    free(names);

    free(sub);
    free(victim);
    free(planted);
    free(f);
    tt_rmtree(dir);
    free(dir);
}

static void test_journal(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    char *path = xasprintf("%s/journal.json", dir);
    struct journal j;
    struct tu_err e;
    assert_int_equal(journal_load(&j, path, &e), 1);
    json_t *doc = json_pack("{s:s,s:s}", "id", "u1", "stack", "s1");
    assert_int_equal(journal_create(&j, path, doc, &e), 0);
    assert_int_equal(journal_phase_begin(&j, "pull", &e), 0);
    assert_false(journal_phase_ok(&j, "pull"));
    assert_int_equal(journal_phase_end(&j, "pull", "ok", NULL, &e), 0);
    assert_int_equal(journal_phase_begin(&j, "migrate", &e), 0);
    journal_free(&j);

    /* What a killed tracup leaves: migrate begun, not ended. */
    assert_int_equal(journal_load(&j, path, &e), 0);
    assert_string_equal(journal_phase(&j), "migrate");
    assert_string_equal(journal_state(&j), "running");
    assert_true(journal_phase_ok(&j, "pull"));
    assert_false(journal_phase_ok(&j, "migrate"));
    assert_int_equal(journal_phase_end(&j, "snapshot", "ok", NULL, &e), -1);
    journal_free(&j);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Truncated and corrupted journals are refused with a way forward. */
    static const char *const bad[] = {"{\"format\":1,\"id\":\"u1\",\"sta", "[]", "{}",
                                      "{\"format\":1,\"id\":\"u\",\"stack\":\"s\",\"phase\":\"p\",\"state\":\"odd\",\"phases\":[]}",
                                      "{\"format\":1,\"id\":\"u\",\"id\":\"v\",\"stack\":\"s\",\"phase\":\"p\",\"state\":\"running\",\"phases\":[]}",
                                      "{\"format\":2,\"id\":\"u\",\"stack\":\"s\",\"phase\":\"p\",\"state\":\"running\",\"phases\":[]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(fs_write_atomic(path, bad[i], strlen(bad[i]), 0600, &e), 0);
        tu_err_clear(&e);
        if (journal_load(&j, path, &e) != -1)
            fail_msg("journal '%s' was accepted", bad[i]);
        assert_int_equal(e.kind, TU_ERR_PROTOCOL);
        assert_non_null(strstr(e.msg, "corrupt"));
        assert_true(e.hint[0] != '\0');
    }
    free(path);
    tt_rmtree(dir);
    free(dir);
}

static void test_lock(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    char *path = xasprintf("%s/lock", dir);
    struct tu_lock a, b;
    struct tu_err e;
    char *rec = NULL;
    assert_int_equal(lock_acquire(&a, path, "upgrade --to 0.8.2", &rec, &e), 0);
    assert_null(rec);
    /* A second holder in a live process is refused with the holder's details. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct tu_lock c;
        struct tu_err ce;
        char *r = NULL;
        int rc = lock_acquire(&c, path, "upgrade --to 0.9.0", &r, &ce);
        _exit(rc == -1 && ce.kind == TU_ERR_REFUSED && strstr(ce.msg, "upgrade --to 0.8.2") &&
                      strstr(ce.msg, "pid") ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lock_release(&a);
    assert_int_equal(access(path, F_OK), -1);

    /* A lock left by a process that is gone is recovered, with a message. */
    pid = fork();
    if (pid == 0) {
        struct tu_lock c;
        struct tu_err ce;
        char *r = NULL;
        _exit(lock_acquire(&c, path, "upgrade --to 0.8.2", &r, &ce) == 0 ? 0 : 1);
    }
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(lock_acquire(&b, path, "rollback", &rec, &e), 0);
    assert_non_null(rec);
    assert_non_null(strstr(rec, "stale lock"));
    free(rec);
    lock_release(&b);

    /* An unreadable lock file is replaced. */
    assert_int_equal(fs_write_atomic(path, "garbage", 7, 0600, &e), 0);
    assert_int_equal(lock_acquire(&b, path, "rollback", &rec, &e), 0);
    assert_non_null(rec);
    free(rec);
    lock_release(&b);
    free(path);
    tt_rmtree(dir);
    free(dir);
}

/* A snapshot's inspect document as secrets_withhold leaves it, and back. */
static void test_secrets(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    json_t *ins = json_pack("{s:s,s:s,s:{s:[s,s,s,s,s]}}", "Id", "c0ffee", "Name", "/blue-api", "Config", "Env",
                            "INSTALLATION_TOKEN=tok-123", "ELASTIC_HOST=http://elastic:es-pw@es:9200",
                            "ELASTIC_HTTP_AUTH_PASSWORD=es-pw", "LOGGING_LEVEL=INFO", "NOVALUE");
    json_t *orig = json_deep_copy(ins);
    json_t *real = secrets_withhold(ins);
    assert_int_equal(json_object_size(real), 3);
    assert_string_equal(json_string_value(json_object_get(real, "INSTALLATION_TOKEN")), "tok-123");
    char *text = json_dumps(ins, JSON_COMPACT);
    assert_null(strstr(text, "tok-123"));
    assert_null(strstr(text, "es-pw"));
    assert_non_null(strstr(text, "INSTALLATION_TOKEN=***"));
    assert_non_null(strstr(text, "LOGGING_LEVEL=INFO"));
    free(text);

    char *path = secrets_path(dir, "up-1");
    struct tu_err e;
    json_t *masked = json_deep_copy(ins);
    /* Without the file nothing is restored, and the refusal names what is missing. */
    assert_int_equal(secrets_restore(masked, path, &e), -1);
    assert_int_equal(e.kind, TU_ERR_REFUSED);
    assert_non_null(strstr(e.msg, "'blue-api'"));
    assert_non_null(strstr(e.msg, "INSTALLATION_TOKEN"));
    assert_null(strstr(e.msg, "tok-123"));
    assert_true(json_equal(masked, ins));

    json_t *store = json_pack("{s:{s:O}}", "containers", "c0ffee", real);
    assert_int_equal(secrets_save(path, store, &e), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *sdir = xasprintf("%s/secrets", dir);
    assert_int_equal(stat(sdir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(secrets_restore(masked, path, &e), 0);
    assert_true(json_equal(masked, orig));

    /* Another container's values do not do. */
    json_t *other = json_deep_copy(ins);
    json_object_set_new(other, "Id", json_string("beef"));
    assert_int_equal(secrets_restore(other, path, &e), -1);
    assert_non_null(strstr(e.msg, "does not hold"));
    /* A container with no secrets needs no file. */
    assert_int_equal(secrets_remove(path, &e), 0);
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(secrets_remove(path, &e), 0);
    json_t *plain = json_pack("{s:s,s:{s:[s]}}", "Id", "d00d", "Config", "Env", "A=b");
    json_t *none = secrets_withhold(plain);
    assert_int_equal(json_object_size(none), 0);
    assert_null(json_object_get(plain, SECRETS_WITHHELD_KEY));
    assert_int_equal(secrets_restore(plain, path, &e), 0);

    json_decref(none);
    json_decref(plain);
    json_decref(other);
    json_decref(store);
    json_decref(masked);
    json_decref(real);
    json_decref(orig);
    json_decref(ins);
    free(sdir);
    free(path);
    tt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5),         cmocka_unit_test(test_tenants), cmocka_unit_test(test_hops), cmocka_unit_test(test_twin_names),
        cmocka_unit_test(test_rc_order),    cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_atomic_write_planted),
        cmocka_unit_test(test_journal),     cmocka_unit_test(test_lock),   cmocka_unit_test(test_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
