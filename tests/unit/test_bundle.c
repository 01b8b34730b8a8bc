/* test_bundle.c - the offline bundle's format: member names, manifest, SHA256SUMS, the load
 * stream's in-band errors, the registry-unreachable test, and pass 1 on hand-made archives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bundle/bundle.h"
#include "bundle/format.h"
#include "bundle/record.h"
#include "docker/client.h"
#include "fake_daemon.h"
#include "testutil.h"
#include "util/sha256.h"
#include "util/xalloc.h"

#define REG "127.0.0.1:5999"

/* ---------------------------------------------------------------- member names */

static void test_member_names(void **state)
{
    (void)state;
    assert_int_equal(bundle_member_kind("manifest.json"), BM_MANIFEST);
    assert_int_equal(bundle_member_kind("SHA256SUMS"), BM_SUMS);
    assert_int_equal(bundle_member_kind("images/api.tar"), BM_IMAGE);
    assert_int_equal(bundle_member_kind("images/update-worker.tar"), BM_IMAGE);
    assert_int_equal(bundle_member_kind("images/apm.tar"), BM_IMAGE);

    static const char *const unsafe[] = {
        "", "/etc/passwd", "../manifest.json", "images/../manifest.json", "images//api.tar", "./manifest.json",
        "images/api.tar/", "images\\api.tar", "images/\x01pi.tar", "images/api.tar\n", "..", ".", "images/./api.tar",
        "C:manifest.json", "images/\xc3\xa9.tar",
        "images/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tar",
    };
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
        if (bundle_member_kind(unsafe[i]) != BM_UNSAFE)
            fail_msg("'%s' should be unsafe", unsafe[i]);
    }
    assert_int_equal(bundle_member_kind(NULL), BM_UNSAFE);
    static const char *const unexpected[] = {"notes.txt", "images/bogus.tar", "images/api.tgz", "images/.tar",
                                             "images/api", "manifest.json.bak", "images", "sha256sums",
                                             "images/api/x.tar"};
    for (size_t i = 0; i < sizeof(unexpected) / sizeof(unexpected[0]); i++) {
        if (bundle_member_kind(unexpected[i]) != BM_UNEXPECTED)
            fail_msg("'%s' should be unexpected", unexpected[i]);
    }
}

/* ---------------------------------------------------------------- manifest */

static const char *role_path(const char *role)
{
    return strcmp(role, "api") == 0 ? "tracardi/tracardi-api" : strcmp(role, "gui") == 0 ? "tracardi/tracardi-gui"
         : strcmp(role, "apm") == 0 ? "tracardi/apm" : "tracardi/update-worker";
}

static json_t *good_manifest_json(void)
{
    json_t *imgs = json_array();
    static const char *const roles[] = {"api", "gui"};
    for (size_t i = 0; i < 2; i++) {
        char name[128], member[48];
        snprintf(name, sizeof(name), REG "/%s:0.8.2", role_path(roles[i]));
        bundle_member_for(roles[i], member, sizeof(member));
        json_array_append_new(
            imgs, json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s}", "role", roles[i], "name", name, "digest",
                            "sha256:1111111111111111111111111111111111111111111111111111111111111111", "image_id",
                            "sha256:2222222222222222222222222222222222222222222222222222222222222222", "size", 10,
                            "member", member, "sha256",
                            "3333333333333333333333333333333333333333333333333333333333333333"));
    }
    return json_pack("{s:i,s:s,s:s,s:s,s:s,s:o}", "format", 1, "release", "0.8.2", "registry", REG, "tracup_version",
                     "0.1.0", "created", "2026-11-22T08:00:00Z", "images", imgs);
}

static int parse_json(json_t *j, struct bundle_manifest *m, struct tu_err *err)
{
    char *text = json_dumps(j, JSON_COMPACT);
    int rc = bundle_manifest_parse(text, strlen(text), m, err);
    free(text);
    return rc;
}

static void test_manifest_good(void **state)
{
    (void)state;
    json_t *j = good_manifest_json();
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(parse_json(j, &m, &err), 0);
    assert_int_equal(m.n, 2);
    assert_string_equal(m.release, "0.8.2");
    assert_string_equal(m.registry, REG);
    assert_string_equal(m.img[1].role, "gui");
    assert_string_equal(m.img[1].name, REG "/tracardi/tracardi-gui:0.8.2");
    assert_int_equal(m.img[0].size, 10);
    /* It survives a round trip through its own JSON. */
    json_t *again = bundle_manifest_json(&m);
    assert_true(json_equal(again, j));
    json_decref(again);
    bundle_manifest_free(&m);
    json_decref(j);
}

/* Applies one change to a good manifest and expects a refusal mentioning want. */
static void expect_bad(void (*change)(json_t *), const char *want)
{
    json_t *j = good_manifest_json();
    change(j);
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    if (parse_json(j, &m, &err) == 0)
        fail_msg("a manifest that should fail (%s) was accepted", want);
    if (!strstr(err.msg, want))
        fail_msg("error '%s' does not say '%s'", err.msg, want);
    assert_int_equal(m.n, 0);
    assert_null(m.registry);
    json_decref(j);
}

static json_t *img0(json_t *j)
{
    return json_array_get(json_object_get(j, "images"), 0);
}

static void c_format2(json_t *j) { json_object_set_new(j, "format", json_integer(2)); }
static void c_noformat(json_t *j) { json_object_del(j, "format"); }
static void c_release(json_t *j) { json_object_set_new(j, "release", json_string("latest")); }
static void c_registry(json_t *j) { json_object_set_new(j, "registry", json_string("bad registry/")); }
static void c_noimages(json_t *j) { json_object_set_new(j, "images", json_array()); }
static void c_manyimages(json_t *j)
{
    json_t *a = json_object_get(j, "images");
    for (int i = 0; i < 8; i++)
        json_array_append(a, img0(j));
}
static void c_role(json_t *j) { json_object_set_new(img0(j), "role", json_string("redis")); }
static void c_name(json_t *j)
{
    json_object_set_new(img0(j), "name", json_string("127.0.0.1:5000/tracardi/tracardi-api:0.8.2"));
}
static void c_nametag(json_t *j)
{
    json_object_set_new(img0(j), "name", json_string(REG "/tracardi/tracardi-api:0.8.1"));
}
static void c_digest(json_t *j) { json_object_set_new(img0(j), "digest", json_string("sha256:abc")); }
static void c_imageid(json_t *j) { json_object_set_new(img0(j), "image_id", json_string("3333")); }
static void c_member(json_t *j) { json_object_set_new(img0(j), "member", json_string("images/gui.tar")); }
static void c_sha(json_t *j)
{
    json_object_set_new(img0(j), "sha256",
                        json_string("3333333333333333333333333333333333333333333333333333333333333333A"));
}
static void c_size0(json_t *j) { json_object_set_new(img0(j), "size", json_integer(0)); }
static void c_sizeneg(json_t *j) { json_object_set_new(img0(j), "size", json_integer(-5)); }
static void c_sizestr(json_t *j) { json_object_set_new(img0(j), "size", json_string("10")); }
static void c_sizehuge(json_t *j) { json_object_set_new(img0(j), "size", json_integer((json_int_t)1 << 40)); }
static void c_duprole(json_t *j) { json_array_set(json_object_get(j, "images"), 1, img0(j)); }
static void c_longname(json_t *j)
{
    char big[1024];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_object_set_new(img0(j), "name", json_string(big));
}
static void c_imgnotobj(json_t *j) { json_array_set_new(json_object_get(j, "images"), 0, json_string("api")); }

static void test_manifest_bad(void **state)
{
    (void)state;
    expect_bad(c_format2, "format");
    expect_bad(c_noformat, "format");
    expect_bad(c_release, "release");
    expect_bad(c_registry, "registry");
    expect_bad(c_noimages, "1 to 8 images");
    expect_bad(c_manyimages, "1 to 8 images");
    expect_bad(c_role, "unknown image role 'redis'");
    expect_bad(c_name, "is not 0.8.2's api image");
    expect_bad(c_nametag, "is not 0.8.2's api image");
    expect_bad(c_digest, "digest");
    expect_bad(c_imageid, "image_id");
    expect_bad(c_member, "member must be 'images/api.tar'");
    expect_bad(c_sha, "sha256");
    expect_bad(c_size0, "size");
    expect_bad(c_sizeneg, "size");
    expect_bad(c_sizestr, "size");
    expect_bad(c_sizehuge, "size");
    expect_bad(c_duprole, "appears twice");
    expect_bad(c_longname, "longer than");
    expect_bad(c_imgnotobj, "not an object");
}

static void test_manifest_text(void **state)
{
    (void)state;
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(bundle_manifest_parse("{", 1, &m, &err), -1);
    assert_non_null(strstr(err.msg, "not JSON"));
    assert_int_equal(bundle_manifest_parse("[]", 2, &m, &err), -1);
    assert_non_null(strstr(err.msg, "not a JSON object"));
    const char *dup = "{\"format\":1,\"format\":1}";
    assert_int_equal(bundle_manifest_parse(dup, strlen(dup), &m, &err), -1);
    assert_non_null(strstr(err.msg, "not JSON"));
    /* Past the cap: refused before parsing. */
    size_t big = BUNDLE_MANIFEST_MAX + 1;
    char *b = xmalloc(big);
    memset(b, ' ', big);
    assert_int_equal(bundle_manifest_parse(b, big, &m, &err), -1);
    assert_int_equal(err.kind, TU_ERR_TOO_BIG);
    free(b);
}

/* ---------------------------------------------------------------- SHA256SUMS */

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static int sums(const char *text, struct bundle_sums *s, struct tu_err *err)
{
    tu_err_clear(err);
    return bundle_sums_parse(text, strlen(text), s, err);
}

static void test_sums(void **state)
{
    (void)state;
    struct bundle_sums s;
    struct tu_err err;
    assert_int_equal(sums(H1 "  manifest.json\n" H2 "  images/api.tar\n", &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(bundle_sums_get(&s, "images/api.tar"), H2);
    assert_null(bundle_sums_get(&s, "images/gui.tar"));

    assert_int_equal(sums(H2 "  images/api.tar\n", &s, &err), -1);
    assert_non_null(strstr(err.msg, "does not cover 'manifest.json'"));
    assert_int_equal(sums(H1 "  manifest.json\n" H2 "  manifest.json\n", &s, &err), -1);
    assert_non_null(strstr(err.msg, "listed twice"));
    assert_int_equal(sums(H1 "  manifest.json", &s, &err), -1);
    assert_non_null(strstr(err.msg, "newline"));
    assert_int_equal(sums(H1 " manifest.json\n", &s, &err), -1);
    assert_int_equal(sums("111  manifest.json\n", &s, &err), -1);
    assert_int_equal(sums("G111111111111111111111111111111111111111111111111111111111111111  manifest.json\n", &s,
                          &err), -1);
    assert_int_equal(sums(H1 "  manifest.json\n" H2 "  ../etc/passwd\n", &s, &err), -1);
    assert_non_null(strstr(err.msg, "names no member"));
    assert_int_equal(sums(H1 "  manifest.json\n" H2 "  SHA256SUMS\n", &s, &err), -1);
    assert_int_equal(sums(H1 "  manifest.json\n\n", &s, &err), -1);
    const char nul[] = H1 "  manifest.json\n" H2 "  images/a\0i.tar\n";
    tu_err_clear(&err);
    assert_int_equal(bundle_sums_parse(nul, sizeof(nul) - 1, &s, &err), -1);
    /* More lines than a bundle has members. */
    struct buf b;
    buf_init(&b, 0);
    buf_appends(&b, H1 "  manifest.json\n");
    static const char *const roles[] = {"api", "gui", "apm", "update-worker"};
    for (int i = 0; i < 12; i++) {
        buf_appends(&b, H2 "  images/");
        buf_appends(&b, roles[i % 4]);
        buf_appends(&b, ".tar\n");
    }
    assert_int_equal(sums(b.data, &s, &err), -1);
    buf_free(&b);
    char *big = xmalloc(BUNDLE_SUMS_MAX + 2);
    memset(big, 'x', BUNDLE_SUMS_MAX + 1);
    big[BUNDLE_SUMS_MAX + 1] = '\0';
    assert_int_equal(sums(big, &s, &err), -1);
    assert_int_equal(err.kind, TU_ERR_TOO_BIG);
    free(big);
}

/* ---------------------------------------------------------------- load stream */

static int feed(struct load_result *r, const char *line)
{
    return load_result_line(r, line, strlen(line));
}

static void test_load_stream(void **state)
{
    (void)state;
    struct load_result r;
    load_result_init(&r);
    assert_int_equal(feed(&r, "{\"stream\":\"Loaded image: " REG "/tracardi/tracardi-api:0.8.2\\n\"}"), 0);
    assert_int_equal(feed(&r, "{\"stream\":\"Loaded image ID: sha256:" H1 "\\n\"}"), 0);
    assert_int_equal(feed(&r, "{\"status\":\"Loading layer\",\"progressDetail\":{\"current\":1,\"total\":2}}"), 0);
    assert_int_equal(feed(&r, "not json"), 0);
    assert_false(r.failed);
    assert_int_equal(r.nloaded, 1);
    assert_string_equal(r.loaded[0], REG "/tracardi/tracardi-api:0.8.2");
    assert_string_equal(r.loaded_id, "sha256:" H1);
    assert_int_equal(r.bad_lines, 1);

    /* 200 and then an error in the stream: a failure, with the daemon's message. */
    load_result_init(&r);
    assert_int_equal(feed(&r, "{\"errorDetail\":{\"message\":\"unexpected EOF\"},\"error\":\"unexpected EOF\"}"), -1);
    assert_true(r.failed);
    assert_string_equal(r.error, "unexpected EOF");
    load_result_init(&r);
    assert_int_equal(feed(&r, "{\"error\":\"open /var/lib/docker/tmp: no space left on device\"}"), -1);
    assert_string_equal(r.error, "open /var/lib/docker/tmp: no space left on device");
    load_result_init(&r);
    assert_int_equal(feed(&r, "{\"errorDetail\":{}}"), -1);
    assert_true(r.failed);
    assert_non_null(strstr(r.error, "without a message"));
    /* A message with control bytes comes out as one clean line. */
    load_result_init(&r);
    assert_int_equal(feed(&r, "{\"error\":\"bad\\nthing\\u001b[31m\"}"), -1);
    assert_null(strchr(r.error, '\n'));
    assert_null(strchr(r.error, '\x1b'));
    /* An over-long message is cut, not overflowed. */
    char line[2048];
    int n = snprintf(line, sizeof(line), "{\"error\":\"");
    memset(line + n, 'e', 1500);
    snprintf(line + n + 1500, sizeof(line) - (size_t)n - 1500, "\"}");
    load_result_init(&r);
    assert_int_equal(feed(&r, line), -1);
    assert_int_equal(strlen(r.error), sizeof(r.error) - 1);
}

/* ---------------------------------------------------------------- registry unreachable */

static void test_unreachable(void **state)
{
    (void)state;
    struct tu_err e;
    tu_err_set(&e, TU_ERR_HTTP, "Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused");
    assert_true(registry_unreachable(&e));
    tu_err_set(&e, TU_ERR_HTTP, "Get \"https://r.example/v2/\": dial tcp: lookup r.example: no such host");
    assert_true(registry_unreachable(&e));
    tu_err_set(&e, TU_ERR_HTTP, "Get \"http://10.0.0.9/v2/\": dial tcp 10.0.0.9:5000: connect: no route to host");
    assert_true(registry_unreachable(&e));
    tu_err_set(&e, TU_ERR_HTTP, "Get \"http://r/v2/\": net/http: request canceled (Client.Timeout) i/o timeout");
    assert_true(registry_unreachable(&e));
    /* The registry answered: not offline. */
    tu_err_set(&e, TU_ERR_HTTP, "errors: unauthorized: authentication required");
    assert_false(registry_unreachable(&e));
    tu_err_set(&e, TU_ERR_HTTP, "errors: denied: requested access to the resource is denied");
    assert_false(registry_unreachable(&e));
    tu_err_set(&e, TU_ERR_NOT_FOUND, "manifest unknown: manifest unknown");
    assert_false(registry_unreachable(&e));
    /* The daemon itself could not be reached: not the registry's absence. */
    tu_err_set(&e, TU_ERR_CONNECT, "cannot connect to the docker daemon: connection refused");
    assert_false(registry_unreachable(&e));
}

/* ---------------------------------------------------------------- pass 1 on archives */

struct member {
    const char *name;
    const char *data;
    size_t len;
    int link;         /* a symbolic link to /etc/passwd instead */
};

static char *write_archive(const char *dir, const char *file, const struct member *mem, size_t n, int zstd)
{
    char *path = xasprintf("%s/%s", dir, file);
    struct archive *a = archive_write_new();
    if (zstd)
        archive_write_add_filter_zstd(a);
    archive_write_set_format_pax_restricted(a);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, mem[i].name);
        archive_entry_set_filetype(en, mem[i].link ? AE_IFLNK : AE_IFREG);
        if (mem[i].link)
            archive_entry_set_symlink(en, "/etc/passwd");
        archive_entry_set_perm(en, 0644);
        archive_entry_set_size(en, mem[i].link ? 0 : (la_int64_t)mem[i].len);
        archive_write_header(a, en);
        if (!mem[i].link)
            archive_write_data(a, mem[i].data, mem[i].len);
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
}

struct fixture {
    char *dir;
    char *manifest;
    char *sums;
    char *api, *gui;        /* saved images: tars with docker save's manifest.json */
    size_t api_len, gui_len;
};

/* A tar as docker save writes one: a layer file, then manifest.json naming tags and config. */
static char *image_tar(const char *layer, const char *inner_manifest, size_t *len)
{
    size_t cap = 64 * 1024, used = 0;
    char *out = xmalloc(cap);
    struct archive *a = archive_write_new();
    archive_write_set_format_ustar(a);
    archive_write_set_bytes_in_last_block(a, 1);
    assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
    const char *names[] = {"0123/layer.tar", "manifest.json"}, *data[] = {layer, inner_manifest};
    for (size_t i = 0; i < 2; i++) {
        struct archive_entry *en = archive_entry_new();
        archive_entry_set_pathname(en, names[i]);
        archive_entry_set_filetype(en, AE_IFREG);
        archive_entry_set_perm(en, 0644);
        archive_entry_set_size(en, (la_int64_t)strlen(data[i]));
        assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
        archive_write_data(a, data[i], strlen(data[i]));
        archive_entry_free(en);
    }
    archive_write_close(a);
    archive_write_free(a);
    *len = used;
    return out;
}

static char *saved_image(const char *name, const char *extra_tag, const char *cfg_hex, size_t *len)
{
    char *man = extra_tag ? xasprintf("[{\"Config\":\"%s.json\",\"RepoTags\":[\"%s\",\"%s\"],\"Layers\":[]}]",
                                      cfg_hex, name, extra_tag)
                          : xasprintf("[{\"Config\":\"%s.json\",\"RepoTags\":[\"%s\"],\"Layers\":[]}]", cfg_hex,
                                      name);
    char *layer = xasprintf("the layer bytes of %s", name);
    char *t = image_tar(layer, man, len);
    free(man);
    free(layer);
    return t;
}

/* A manifest and SHA256SUMS for two small "images". */
static void fixture_init(struct fixture *f)
{
    f->dir = tt_mkdtemp();
    f->api = saved_image(REG "/tracardi/tracardi-api:0.8.2", NULL, H2, &f->api_len);
    f->gui = saved_image(REG "/tracardi/tracardi-gui:0.8.2", NULL, H2, &f->gui_len);
    struct bundle_manifest m;
    memset(&m, 0, sizeof(m));
    m.format = 1;
    snprintf(m.release, sizeof(m.release), "0.8.2");
    m.registry = xstrdup(REG);
    snprintf(m.tracup_version, sizeof(m.tracup_version), "0.1.0");
    snprintf(m.created, sizeof(m.created), "2026-11-22T08:00:00Z");
    const char *roles[] = {"api", "gui"}, *data[] = {f->api, f->gui};
    size_t lens[] = {f->api_len, f->gui_len};
    for (size_t i = 0; i < 2; i++) {
        struct bundle_image *bi = &m.img[m.n++];
        snprintf(bi->role, sizeof(bi->role), "%s", roles[i]);
        bi->name = xasprintf(REG "/%s:0.8.2", role_path(roles[i]));
        snprintf(bi->digest, sizeof(bi->digest), "sha256:" H1);
        snprintf(bi->image_id, sizeof(bi->image_id), "sha256:" H2);
        bi->size = lens[i];
        bundle_member_for(roles[i], bi->member, sizeof(bi->member));
        sha256_hex(data[i], lens[i], bi->sha256);
    }
    json_t *j = bundle_manifest_json(&m);
    f->manifest = json_dumps(j, JSON_INDENT(2));
    json_decref(j);
    char mh[65];
    sha256_hex(f->manifest, strlen(f->manifest), mh);
    f->sums = xasprintf("%s  manifest.json\n%s  images/api.tar\n%s  images/gui.tar\n", mh, m.img[0].sha256,
                        m.img[1].sha256);
    bundle_manifest_free(&m);
}

static void fixture_free(struct fixture *f)
{
    tt_rmtree(f->dir);
    free(f->dir);
    free(f->manifest);
    free(f->sums);
    free(f->api);
    free(f->gui);
}

#define M(n, s) {n, s, strlen(s), 0}

/* Verifies an archive of the members; want NULL expects success, else a message part. */
static void verify(struct fixture *f, const struct member *mem, size_t n, int zstd, const char *want)
{
    char *path = write_archive(f->dir, "b.bundle", mem, n, zstd);
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    int rc = bundle_verify(path, &m, NULL, &err);
    if (!want) {
        if (rc != 0)
            fail_msg("a good bundle was refused: %s", err.msg);
        assert_int_equal(m.n, 2);
        bundle_manifest_free(&m);
    } else {
        if (rc == 0)
            fail_msg("a bad bundle was accepted (wanted '%s')", want);
        if (!strstr(err.msg, want))
            fail_msg("error '%s' does not say '%s'", err.msg, want);
        assert_null(strchr(err.msg, '\n'));
        assert_int_equal(m.n, 0);
    }
    unlink(path);
    free(path);
}

static void test_verify(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    const char *api = f.api, *gui = f.gui;
    {
        struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", api, f.api_len, 0}, {"images/gui.tar", gui, f.gui_len, 0},
                               M("SHA256SUMS", f.sums)};
        verify(&f, mem, 4, 1, NULL);
        verify(&f, mem, 4, 0, NULL);
    }
    {   /* the members in another order are fine */
        struct member mem[] = {M("SHA256SUMS", f.sums), {"images/gui.tar", gui, f.gui_len, 0}, {"images/api.tar", api, f.api_len, 0},
                               M("manifest.json", f.manifest)};
        verify(&f, mem, 4, 1, NULL);
    }
    {   /* one byte of an image changed */
        char *bad = xmalloc(f.gui_len);
        memcpy(bad, gui, f.gui_len);
        bad[512 + 3] ^= 1; /* in the layer's bytes: the tar stays a tar */
        struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", api, f.api_len, 0},
                               {"images/gui.tar", bad, f.gui_len, 0}, M("SHA256SUMS", f.sums)};
        verify(&f, mem, 4, 1, "member 'images/gui.tar' does not match its SHA-256");
        free(bad);
    }
    {   /* what docker load would do with a member: one tag, the manifest's, and its image */
        struct fixture g;
        const char *cases[][3] = {
            {"127.0.0.1:5999/tracardi/tracardi-gui:0.8.2", "redis:7", "is not one saved image with one tag"},
            {"127.0.0.1:5999/tracardi/tracardi-api:0.8.2", NULL, "would tag '127.0.0.1:5999/tracardi/tracardi-api"},
            {"127.0.0.1:5999/tracardi/tracardi-gui:0.8.2", NULL, "holds image sha256:3333"},
        };
        for (size_t c = 0; c < 3; c++) {
            fixture_init(&g);
            /* The gui member replaced, and the manifest and sums made to match it: only
             * the look inside the saved image can tell. */
            free(g.gui);
            g.gui = saved_image(cases[c][0], cases[c][1], c == 2 ? "3333333333333333333333333333333333333333333333333333333333333333" : H2, &g.gui_len);
            char gh[65], mh[65];
            sha256_hex(g.gui, g.gui_len, gh);
            json_t *mj = json_loads(g.manifest, 0, NULL);
            json_t *img1 = json_array_get(json_object_get(mj, "images"), 1);
            json_object_set_new(img1, "sha256", json_string(gh));
            json_object_set_new(img1, "size", json_integer((json_int_t)g.gui_len));
            free(g.manifest);
            g.manifest = json_dumps(mj, JSON_INDENT(2));
            json_decref(mj);
            sha256_hex(g.manifest, strlen(g.manifest), mh);
            char ah[65];
            sha256_hex(g.api, g.api_len, ah);
            free(g.sums);
            g.sums = xasprintf("%s  manifest.json\n%s  images/api.tar\n%s  images/gui.tar\n", mh, ah, gh);
            struct member mem[] = {M("manifest.json", g.manifest), {"images/api.tar", g.api, g.api_len, 0},
                                   {"images/gui.tar", g.gui, g.gui_len, 0}, M("SHA256SUMS", g.sums)};
            verify(&g, mem, 4, 1, cases[c][2]);
            fixture_free(&g);
        }
    }
    {   /* an image member that is no tar at all */
        struct fixture g;
        fixture_init(&g);
        struct member mem[] = {M("manifest.json", g.manifest), M("images/api.tar", "plain bytes, no tar"),
                               {"images/gui.tar", g.gui, g.gui_len, 0}, M("SHA256SUMS", g.sums)};
        verify(&g, mem, 4, 1, "member 'images/api.tar' is not one saved image");
        fixture_free(&g);
    }
    {   /* the manifest changed (its sum no longer matches) */
        char *m2 = xstrdup(f.manifest);
        char *p = strstr(m2, "0.1.0");
        p[0] = '9';
        struct member mem[] = {M("manifest.json", m2), {"images/api.tar", api, f.api_len, 0}, {"images/gui.tar", gui, f.gui_len, 0},
                               M("SHA256SUMS", f.sums)};
        verify(&f, mem, 4, 1, "member 'manifest.json' does not match");
        free(m2);
    }
    {   /* duplicate member */
        struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", api, f.api_len, 0}, {"images/api.tar", api, f.api_len, 0},
                               {"images/gui.tar", gui, f.gui_len, 0}, M("SHA256SUMS", f.sums)};
        verify(&f, mem, 5, 1, "member 'images/api.tar' appears twice");
    }
    {   /* missing image */
        struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", api, f.api_len, 0}, M("SHA256SUMS", f.sums)};
        verify(&f, mem, 3, 1, "member 'images/gui.tar' is missing");
    }
    {   /* missing SHA256SUMS and missing manifest */
        struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", api, f.api_len, 0}, {"images/gui.tar", gui, f.gui_len, 0}};
        verify(&f, mem, 3, 1, "member 'SHA256SUMS' is missing");
        struct member mem2[] = {{"images/api.tar", api, f.api_len, 0}, {"images/gui.tar", gui, f.gui_len, 0}, M("SHA256SUMS", f.sums)};
        verify(&f, mem2, 3, 1, "member 'manifest.json' is missing");
    }
    {   /* an image the manifest and sums do not list */
        struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", api, f.api_len, 0}, {"images/gui.tar", gui, f.gui_len, 0},
                               {"images/apm.tar", api, f.api_len, 0}, M("SHA256SUMS", f.sums)};
        verify(&f, mem, 5, 1, "member 'images/apm.tar' is not in SHA256SUMS");
    }
    {   /* unsafe and unexpected names, a symbolic link */
        struct member mem[] = {M("manifest.json", f.manifest), M("../evil", "x")};
        verify(&f, mem, 2, 1, "unsafe member name '../evil'");
        struct member mem2[] = {M("/etc/cron.d/x", "x")};
        verify(&f, mem2, 1, 1, "unsafe member name '/etc/cron.d/x'");
        struct member mem3[] = {M("manifest.json", f.manifest), M("README", "x")};
        verify(&f, mem3, 2, 1, "unexpected member 'README'");
        struct member mem4[] = {{"images/api.tar", "", 0, 1}};
        verify(&f, mem4, 1, 1, "member 'images/api.tar' is not a regular file");
    }
    {   /* an oversized manifest is refused by its header's size */
        size_t big = BUNDLE_MANIFEST_MAX + 10;
        char *b = xmalloc(big + 1);
        memset(b, ' ', big);
        b[big] = '\0';
        struct member mem[] = {{"manifest.json", b, big, 0}};
        verify(&f, mem, 1, 1, "member 'manifest.json' is larger than");
        free(b);
    }
    {   /* a manifest that is not JSON, with sums matching it */
        const char *junk = "not json";
        char jh[65];
        sha256_hex(junk, strlen(junk), jh);
        char *s2 = xasprintf("%s  manifest.json\n", jh);
        struct member mem[] = {M("manifest.json", junk), M("SHA256SUMS", s2)};
        verify(&f, mem, 2, 1, "member 'manifest.json': manifest: not JSON");
        free(s2);
    }
    {   /* truncated: cut the compressed file */
        struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", api, f.api_len, 0}, {"images/gui.tar", gui, f.gui_len, 0},
                               M("SHA256SUMS", f.sums)};
        char *path = write_archive(f.dir, "t.bundle", mem, 4, 0);
        FILE *fp = fopen(path, "r+");
        assert_non_null(fp);
        fseek(fp, 0, SEEK_END);
        long size = ftell(fp);
        fclose(fp);
        assert_int_equal(truncate(path, 1536 + 512), 0); /* mid-way through the members */
        (void)size;
        struct bundle_manifest m;
        struct tu_err err;
        tu_err_clear(&err);
        assert_int_equal(bundle_verify(path, &m, NULL, &err), -1);
        assert_non_null(strstr(err.msg, "t.bundle"));
        unlink(path);
        free(path);
    }
    {   /* not a file at all */
        char *path = xasprintf("%s/none.bundle", f.dir);
        struct bundle_manifest m;
        struct tu_err err;
        tu_err_clear(&err);
        assert_int_equal(bundle_verify(path, &m, NULL, &err), -1);
        assert_non_null(strstr(err.msg, "cannot read bundle"));
        free(path);
    }
    fixture_free(&f);
}

/* Pass 2 reads the file pass 1 verified, or nothing: a file replaced or touched in
 * between is refused before the daemon is asked anything. */
static void test_changed_between_passes(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", f.api, f.api_len, 0},
                           {"images/gui.tar", f.gui, f.gui_len, 0}, M("SHA256SUMS", f.sums)};
    char *path = write_archive(f.dir, "c.bundle", mem, 4, 1);
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(bundle_verify(path, &m, NULL, &err), 0);
    /* Rewritten in place with the same bytes: a new modification time. */
    struct timespec later[2] = {{0, UTIME_OMIT}, {(time_t)(m.src_mtime_ns / 1000000000) + 5, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, later, 0), 0);
    struct docker d; /* never used: the refusal comes first */
    memset(&d, 0, sizeof(d));
    char *record = NULL;
    tu_err_clear(&err);
    assert_int_equal(bundle_load(&d, path, NULL, &m, &record, &err), -1);
    assert_null(record);
    assert_non_null(strstr(err.msg, "changed since it was verified"));
    /* Replaced by another file (a new inode) under the same name. */
    char *other = write_archive(f.dir, "c2.bundle", mem, 4, 1);
    assert_int_equal(rename(other, path), 0);
    tu_err_clear(&err);
    assert_int_equal(bundle_load(&d, path, NULL, &m, &record, &err), -1);
    assert_non_null(strstr(err.msg, "changed since it was verified"));
    bundle_manifest_free(&m);
    free(other);
    free(path);
    fixture_free(&f);
}

static int collect_sent(void *ud, const char *data, size_t len)
{
    return buf_append(ud, data, len) < 0;
}

/* The archive file at path, positioned at member name (the caller frees with
 * archive_read_free). */
static struct archive *open_at(const char *path, const char *name)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, path, 16384), ARCHIVE_OK);
    struct archive_entry *en;
    while (archive_read_next_header(a, &en) == ARCHIVE_OK)
        if (strcmp(archive_entry_pathname(en), name) == 0)
            return a;
    fail_msg("no member %s in %s", name, path);
    return NULL;
}

/* What pass 2 sends of a member: all of it when it is what pass 1 verified; when
 * it is not (changed in the middle of the read), everything but the last piece,
 * so that the daemon never has a whole image tar. */
static void test_stream_holds_last_piece(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    enum { LEN = 150000 };
    char *data = xmalloc(LEN);
    for (size_t i = 0; i < LEN; i++)
        data[i] = (char)(i * 7 + i / 251);
    struct member mem[] = {{"images/api.tar", data, LEN, 0}};
    char *path = write_archive(dir, "s.bundle", mem, 1, 1);
    struct bundle_image bi;
    memset(&bi, 0, sizeof(bi));
    snprintf(bi.member, sizeof(bi.member), "images/api.tar");
    bi.size = LEN;
    sha256_hex(data, LEN, bi.sha256);
    struct tu_err err;
    struct buf got;

    /* As verified: every byte goes out. */
    buf_init(&got, 0);
    struct archive *a = open_at(path, "images/api.tar");
    tu_err_clear(&err);
    assert_int_equal(bundle_stream_member(a, &bi, collect_sent, &got, &err), 0);
    assert_int_equal(got.len, LEN);
    assert_memory_equal(got.data, data, LEN);
    archive_read_free(a);
    buf_free(&got);

    /* Another SHA-256 than the bytes read: fails, and the last piece is held back. */
    char good = bi.sha256[10];
    bi.sha256[10] = good == 'a' ? 'b' : 'a';
    buf_init(&got, 0);
    a = open_at(path, "images/api.tar");
    tu_err_clear(&err);
    assert_int_equal(bundle_stream_member(a, &bi, collect_sent, &got, &err), -1);
    assert_non_null(strstr(err.msg, "changed since it was verified"));
    assert_true(got.len < LEN);
    assert_true(got.len + 64 * 1024 >= LEN); /* one piece of at most 64 KiB held back, no more */
    assert_memory_equal(got.data, data, got.len);
    archive_read_free(a);
    buf_free(&got);
    bi.sha256[10] = good;

    /* Another size: the same. */
    bi.size = LEN - 1;
    buf_init(&got, 0);
    a = open_at(path, "images/api.tar");
    tu_err_clear(&err);
    assert_int_equal(bundle_stream_member(a, &bi, collect_sent, &got, &err), -1);
    assert_true(got.len < LEN);
    archive_read_free(a);
    buf_free(&got);

    free(path);
    free(data);
    tt_rmtree(dir);
    free(dir);
}

/* Pass 2 reads a member whose bytes are not the ones pass 1 verified (here: the
 * manifest's SHA-256 no longer matches, as when the file changes in the middle of
 * the read): the load fails, and the member's last bytes never reach the daemon,
 * which therefore never holds a whole image tar. */
static void test_changed_mid_stream(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct member mem[] = {M("manifest.json", f.manifest), {"images/api.tar", f.api, f.api_len, 0},
                           {"images/gui.tar", f.gui, f.gui_len, 0}, M("SHA256SUMS", f.sums)};
    char *path = write_archive(f.dir, "mid.bundle", mem, 4, 1);
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(bundle_verify(path, &m, NULL, &err), 0);
    size_t api = m.n;
    for (size_t i = 0; i < m.n; i++)
        if (strcmp(m.img[i].member, "images/api.tar") == 0)
            api = i;
    assert_true(api < m.n);
    m.img[api].sha256[0] = m.img[api].sha256[0] == '0' ? '1' : '0';

    struct fake_daemon *fd = fake_daemon_start();
    char *host = xasprintf("unix://%s", fake_daemon_socket(fd));
    tt_env_set("DOCKER_HOST", host);
    tt_env_set("DOCKER_API_VERSION", NULL);
    char *sd = xasprintf("%s/state", f.dir);
    tt_env_set("TRACUP_STATE_DIR", sd);
    char *r = fake_http(200, "Api-Version: 1.41\r\n", "OK");
    fake_daemon_expect(fd, "GET", "/_ping", r);
    free(r);
    r = fake_http(200, "Content-Type: application/json\r\n",
                  "{\"stream\":\"Loaded image: " REG "/tracardi/tracardi-api:0.8.2\\n\"}\n");
    fake_daemon_expect(fd, "POST", "/v1.41/images/load", r);
    free(r);
    struct docker d;
    if (docker_init(&d, &err) != 0 || docker_negotiate(&d, &err) != 0)
        fail_msg("docker: %s", err.msg);
    d.stall_timeout_s = 5;
    char *record = NULL;
    tu_err_clear(&err);
    assert_int_equal(bundle_load(&d, path, NULL, &m, &record, &err), -1);
    assert_null(record);
    assert_non_null(strstr(err.msg, "member 'images/api.tar' changed since it was verified"));
    /* What the daemon got of the member: not all of it (here, below one read-ahead
     * chunk, nothing at all). curl may give up before the request's head went out:
     * then the daemon saw no load at all, which is as good. */
    for (size_t i = 0; i < fake_daemon_nrequests(fd); i++) {
        const struct fake_request *load = fake_daemon_request(fd, i);
        if (!strstr(load->target, "/images/load"))
            continue;
        assert_true(load->body_len < f.api_len);
        if (f.api_len <= 64 * 1024)
            assert_int_equal(load->body_len, 0);
    }
    /* Nothing recorded. */
    char *rec = xasprintf("%s/bundles.json", sd);
    assert_int_equal(access(rec, F_OK), -1);
    free(rec);
    docker_cleanup(&d);
    fake_daemon_stop(fd);
    tt_env_restore();
    bundle_manifest_free(&m);
    free(sd);
    free(host);
    free(path);
    fixture_free(&f);
}

/* ---------------------------------------------------------------- the record */

static void test_record(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    char *sd = xasprintf("%s/state", dir);
    tt_env_set("TRACUP_STATE_DIR", sd);
    json_t *j = good_manifest_json();
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(parse_json(j, &m, &err), 0);
    json_t *rec = NULL;
    assert_int_equal(bundle_record_find(REG, "0.8.2", &rec, &err), 1);
    assert_int_equal(bundle_record_save(&m, "2026-11-22T08:00:00Z", &err), 0);
    char *path = bundle_record_path();
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* A later bundle of the same release with only gui, of another image id: gui is
     * replaced, api stays on record. */
    bundle_manifest_free(&m);
    json_array_remove(json_object_get(j, "images"), 0);
    json_object_set_new(img0(j), "image_id",
                        json_string("sha256:4444444444444444444444444444444444444444444444444444444444444444"));
    assert_int_equal(parse_json(j, &m, &err), 0);
    assert_int_equal(bundle_record_save(&m, "2026-11-22T09:00:00Z", &err), 0);
    assert_int_equal(bundle_record_find(REG, "0.8.2", &rec, &err), 0);
    assert_string_equal(json_string_value(json_object_get(rec, "loaded_at")), "2026-11-22T09:00:00Z");
    json_t *imgs = json_object_get(rec, "images");
    assert_int_equal(json_array_size(imgs), 2);
    int saw_api = 0, saw_gui = 0;
    size_t i;
    json_t *im;
    json_array_foreach(imgs, i, im) {
        const char *role = json_string_value(json_object_get(im, "role"));
        const char *id = json_string_value(json_object_get(im, "image_id"));
        if (strcmp(role, "api") == 0)
            saw_api = strcmp(id, "sha256:" H2) == 0;
        if (strcmp(role, "gui") == 0)
            saw_gui = strcmp(id, "sha256:4444444444444444444444444444444444444444444444444444444444444444") == 0;
    }
    assert_true(saw_api && saw_gui);
    json_decref(rec);
    /* Another registry or release has no record. */
    assert_int_equal(bundle_record_find("127.0.0.1:5000", "0.8.2", &rec, &err), 1);
    assert_int_equal(bundle_record_find(REG, "0.8.1", &rec, &err), 1);
    /* A record that is not tracup's is an error, not an empty record. */
    char *junk = tt_write_file(sd, "bundles.json", "[1,2]", 0600);
    assert_int_equal(bundle_record_find(REG, "0.8.2", &rec, &err), -1);
    assert_non_null(strstr(err.msg, "is not what tracup writes"));
    assert_int_equal(bundle_record_save(&m, "2026-11-22T10:00:00Z", &err), -1);
    free(junk);
    bundle_manifest_free(&m);
    json_decref(j);
    free(path);
    tt_env_restore();
    tt_rmtree(dir);
    free(sd);
    free(dir);
}

/* Loads at the same time: every one's entry is kept (the record is changed under
 * a lock); a lock held past the wait fails clearly and changes nothing. */
static void test_record_concurrent(void **state)
{
    (void)state;
    char *dir = tt_mkdtemp();
    char *sd = xasprintf("%s/state", dir);
    tt_env_set("TRACUP_STATE_DIR", sd);
    json_t *j = good_manifest_json();
    struct bundle_manifest m;
    struct tu_err err;
    tu_err_clear(&err);
    assert_int_equal(parse_json(j, &m, &err), 0);
    enum { KIDS = 6, EACH = 5 };
    pid_t kids[KIDS];
    for (int k = 0; k < KIDS; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            int bad = 0;
            for (int n = 0; n < EACH; n++) {
                snprintf(m.release, sizeof(m.release), "0.%d.%d", k + 1, n);
                struct tu_err ce;
                tu_err_clear(&ce);
                bad |= bundle_record_save(&m, "2026-11-22T08:00:00Z", &ce) != 0;
            }
            _exit(bad);
        }
    }
    for (int k = 0; k < KIDS; k++) {
        int st = 0;
        assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    int found = 0;
    for (int k = 0; k < KIDS; k++)
        for (int n = 0; n < EACH; n++) {
            char rel[32];
            snprintf(rel, sizeof(rel), "0.%d.%d", k + 1, n);
            json_t *rec = NULL;
            found += bundle_record_find(REG, rel, &rec, &err) == 0;
            json_decref(rec);
        }
    assert_int_equal(found, KIDS * EACH);

    /* Another load holds the lock: this one waits, then gives up; the record stays. */
    char *path = bundle_record_path();
    char *lp = xasprintf("%s.lock", path);
    int fd = open(lp, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    long saved = bundle_record_lock_wait_ms;
    bundle_record_lock_wait_ms = 300;
    snprintf(m.release, sizeof(m.release), "0.9.9");
    tu_err_clear(&err);
    assert_int_equal(bundle_record_save(&m, "2026-11-22T09:00:00Z", &err), -1);
    assert_non_null(strstr(err.msg, "held by another tracup"));
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino == after.st_ino && before.st_size == after.st_size);
    json_t *rec = NULL;
    assert_int_equal(bundle_record_find(REG, "0.9.9", &rec, &err), 1);
    /* Released: the save goes through. */
    close(fd);
    assert_int_equal(bundle_record_save(&m, "2026-11-22T09:00:00Z", &err), 0);
    assert_int_equal(bundle_record_find(REG, "0.9.9", &rec, &err), 0);
    json_decref(rec);
    bundle_record_lock_wait_ms = saved;
    /* A symbolic link at the lock's name is not followed: the save fails, nothing
     * is created where it points, the record stays. */
    assert_int_equal(unlink(lp), 0);
    char *target = xasprintf("%s/elsewhere", dir);
    assert_int_equal(symlink(target, lp), 0);
    char *text = tt_read_file(path);
    snprintf(m.release, sizeof(m.release), "0.9.8");
    assert_int_equal(bundle_record_save(&m, "2026-11-22T10:00:00Z", &err), -1);
    assert_non_null(strstr(err.msg, "bundles.json.lock"));
    assert_int_equal(lstat(target, &after), -1);
    char *text2 = tt_read_file(path);
    assert_string_equal(text2, text);
    free(text);
    free(text2);
    free(target);
    free(lp);
    free(path);
    bundle_manifest_free(&m);
    json_decref(j);
    tt_env_restore();
    tt_rmtree(dir);
    free(sd);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_member_names),   cmocka_unit_test(test_manifest_good),
        cmocka_unit_test(test_manifest_bad),   cmocka_unit_test(test_manifest_text),
        cmocka_unit_test(test_sums),           cmocka_unit_test(test_load_stream),
        cmocka_unit_test(test_unreachable),    cmocka_unit_test(test_verify),
        cmocka_unit_test(test_changed_between_passes),
        cmocka_unit_test(test_changed_mid_stream),
        cmocka_unit_test(test_stream_holds_last_piece),
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_record_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
