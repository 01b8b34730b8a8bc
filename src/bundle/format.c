/* format.c - member names, manifest and SHA256SUMS of an offline bundle, and the load stream. */
#include "bundle/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/ref.h"
#include "tracardi/images.h"
#include "tracardi/version.h"
#include "util/xalloc.h"

enum bundle_member bundle_member_kind(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || name[0] == '/' || name[n - 1] == '/')
        return BM_UNSAFE;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c >= 0x7f || c == '\\' || c == ':')
            return BM_UNSAFE;
    }
    /* "..", "." and empty path components; a member never names a directory. */
    for (const char *p = name; p;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return BM_UNSAFE;
        p = slash ? slash + 1 : NULL;
    }
    if (strcmp(name, BUNDLE_MANIFEST) == 0)
        return BM_MANIFEST;
    if (strcmp(name, BUNDLE_SUMS) == 0)
        return BM_SUMS;
    if (strncmp(name, "images/", 7) == 0 && n > 11 && strcmp(name + n - 4, ".tar") == 0) {
        char role[32];
        size_t rl = n - 11;
        if (rl < sizeof(role)) {
            memcpy(role, name + 7, rl);
            role[rl] = '\0';
            if (tracardi_image_by_key(role))
                return BM_IMAGE;
        }
    }
    return BM_UNEXPECTED;
}

void bundle_member_for(const char *role, char *out, size_t len)
{
    snprintf(out, len, "images/%s.tar", role);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Copies a string member of at most cap-1 bytes; refuses a missing or longer one. */
static int get_str(json_t *o, const char *k, char *out, size_t cap, const char *where, struct tu_err *err)
{
    const char *s = jstr(o, k);
    if (!s)
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: %s has no string '%s'", where, k);
    if (strlen(s) >= cap)
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: %s '%s' is longer than %zu bytes", where, k, cap - 1);
    snprintf(out, cap, "%s", s);
    return 0;
}

static int parse_image(json_t *j, const struct bundle_manifest *m, struct bundle_image *bi, struct tu_err *err)
{
    if (!json_is_object(j))
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: an image entry is not an object");
    if (get_str(j, "role", bi->role, sizeof(bi->role), "image", err) < 0)
        return -1;
    const struct tracardi_image *ti = tracardi_image_by_key(bi->role);
    if (!ti)
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: unknown image role '%s'", bi->role);
    const char *where = bi->role;
    char name[512], member[48];
    if (get_str(j, "name", name, sizeof(name), where, err) < 0 ||
        get_str(j, "digest", bi->digest, sizeof(bi->digest), where, err) < 0 ||
        get_str(j, "image_id", bi->image_id, sizeof(bi->image_id), where, err) < 0 ||
        get_str(j, "member", bi->member, sizeof(bi->member), where, err) < 0 ||
        get_str(j, "sha256", bi->sha256, sizeof(bi->sha256), where, err) < 0)
        return -1;
    char *want = tracardi_image_ref(m->registry, ti->path, m->release);
    int same = strcmp(want, name) == 0;
    free(want);
    if (!same)
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: image '%s' is not %s's %s image under '%s'", name,
                          m->release, bi->role, m->registry);
    bi->name = xstrdup(name);
    if (!image_digest_valid(bi->digest))
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: %s's digest is not sha256:<64 hex>", where);
    if (!image_digest_valid(bi->image_id))
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: %s's image_id is not sha256:<64 hex>", where);
    bundle_member_for(bi->role, member, sizeof(member));
    if (strcmp(member, bi->member) != 0)
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: %s's member must be '%s'", where, member);
    if (!sha256_hex_valid(bi->sha256))
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: %s's sha256 is not 64 lower-case hex digits", where);
    json_t *sz = json_object_get(j, "size");
    if (!json_is_integer(sz) || json_integer_value(sz) <= 0 || (uint64_t)json_integer_value(sz) > BUNDLE_IMAGE_MAX)
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: %s's size is not a positive number of bytes up to %llu",
                          where, (unsigned long long)BUNDLE_IMAGE_MAX);
    bi->size = (uint64_t)json_integer_value(sz);
    return 0;
}

int bundle_manifest_parse(const char *data, size_t len, struct bundle_manifest *m, struct tu_err *err)
{
    memset(m, 0, sizeof(*m));
    if (len > BUNDLE_MANIFEST_MAX)
        return tu_err_set(err, TU_ERR_TOO_BIG, "manifest: larger than %d bytes", BUNDLE_MANIFEST_MAX);
    json_error_t je;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return tu_err_set(err, TU_ERR_PROTOCOL, "manifest: not JSON: %s (line %d)", je.text, je.line);
    int rc = -1;
    if (!json_is_object(j)) {
        tu_err_set(err, TU_ERR_PROTOCOL, "manifest: not a JSON object");
        goto out;
    }
    json_t *fmt = json_object_get(j, "format");
    if (!json_is_integer(fmt) || json_integer_value(fmt) != BUNDLE_FORMAT) {
        tu_err_set(err, TU_ERR_UNSUPPORTED, "manifest: bundle format %s, this tracup reads format %d",
                   json_is_integer(fmt) ? "of another version" : "missing", BUNDLE_FORMAT);
        goto out;
    }
    m->format = BUNDLE_FORMAT;
    char reg[256];
    if (get_str(j, "release", m->release, sizeof(m->release), "bundle", err) < 0 ||
        get_str(j, "registry", reg, sizeof(reg), "bundle", err) < 0 ||
        get_str(j, "tracup_version", m->tracup_version, sizeof(m->tracup_version), "bundle", err) < 0 ||
        get_str(j, "created", m->created, sizeof(m->created), "bundle", err) < 0)
        goto out;
    struct tversion v;
    struct tu_err ve;
    if (tversion_parse(m->release, &v, &ve) < 0) {
        tu_err_set(err, TU_ERR_PROTOCOL, "manifest: release '%s' is not a version", m->release);
        goto out;
    }
    if (registry_prefix_check(reg, &ve) < 0) {
        tu_err_set(err, TU_ERR_PROTOCOL, "manifest: registry '%s' is not a registry prefix", reg);
        goto out;
    }
    m->registry = xstrdup(reg);
    json_t *imgs = json_object_get(j, "images");
    if (!json_is_array(imgs) || json_array_size(imgs) == 0 || json_array_size(imgs) > BUNDLE_MAX_IMAGES) {
        tu_err_set(err, TU_ERR_PROTOCOL, "manifest: 'images' must list 1 to %d images", BUNDLE_MAX_IMAGES);
        goto out;
    }
    size_t i;
    json_t *im;
    json_array_foreach(imgs, i, im) {
        if (parse_image(im, m, &m->img[m->n], err) < 0) {
            free(m->img[m->n].name);
            m->img[m->n].name = NULL;
            goto out;
        }
        for (size_t k = 0; k < m->n; k++)
            if (strcmp(m->img[k].role, m->img[m->n].role) == 0) {
                tu_err_set(err, TU_ERR_PROTOCOL, "manifest: image role '%s' appears twice", m->img[k].role);
                m->n++;
                goto out;
            }
        m->n++;
    }
    rc = 0;
out:
    json_decref(j);
    if (rc < 0)
        bundle_manifest_free(m);
    return rc;
}

json_t *bundle_manifest_json(const struct bundle_manifest *m)
{
    json_t *imgs = json_array();
    for (size_t i = 0; i < m->n; i++) {
        const struct bundle_image *b = &m->img[i];
        json_array_append_new(imgs, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "role", b->role, "name", b->name,
                                              "digest", b->digest, "image_id", b->image_id, "size",
                                              (json_int_t)b->size, "member", b->member, "sha256", b->sha256));
    }
    return json_pack("{s:i,s:s,s:s,s:s,s:s,s:o}", "format", m->format, "release", m->release, "registry",
                     m->registry ? m->registry : "", "tracup_version", m->tracup_version, "created", m->created,
                     "images", imgs);
}

void bundle_manifest_free(struct bundle_manifest *m)
{
    if (!m)
        return;
    free(m->registry);
    for (size_t i = 0; i < m->n; i++)
        free(m->img[i].name);
    memset(m, 0, sizeof(*m));
}

int bundle_sums_parse(const char *data, size_t len, struct bundle_sums *s, struct tu_err *err)
{
    memset(s, 0, sizeof(*s));
    if (len > BUNDLE_SUMS_MAX)
        return tu_err_set(err, TU_ERR_TOO_BIG, "SHA256SUMS: larger than %d bytes", BUNDLE_SUMS_MAX);
    const char *p = data, *end = data + len;
    int line = 0;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return tu_err_set(err, TU_ERR_PROTOCOL, "SHA256SUMS: line %d does not end in a newline", line);
        size_t ll = (size_t)(nl - p);
        if (ll < SHA256_HEX_LEN + 3 || p[SHA256_HEX_LEN] != ' ' || p[SHA256_HEX_LEN + 1] != ' ' ||
            ll - SHA256_HEX_LEN - 2 >= sizeof(s->name[0]))
            return tu_err_set(err, TU_ERR_PROTOCOL, "SHA256SUMS: line %d is not '<sha256>  <member>'", line);
        if (s->n >= sizeof(s->name) / sizeof(s->name[0]))
            return tu_err_set(err, TU_ERR_PROTOCOL, "SHA256SUMS: more than %zu lines",
                              sizeof(s->name) / sizeof(s->name[0]));
        char hex[SHA256_HEX_LEN + 1], name[48];
        memcpy(hex, p, SHA256_HEX_LEN);
        hex[SHA256_HEX_LEN] = '\0';
        size_t nl_len = ll - SHA256_HEX_LEN - 2;
        memcpy(name, p + SHA256_HEX_LEN + 2, nl_len);
        name[nl_len] = '\0';
        if (memchr(name, '\0', nl_len))
            return tu_err_set(err, TU_ERR_PROTOCOL, "SHA256SUMS: line %d has a NUL byte", line);
        if (!sha256_hex_valid(hex))
            return tu_err_set(err, TU_ERR_PROTOCOL, "SHA256SUMS: line %d has no valid sha256", line);
        enum bundle_member k = bundle_member_kind(name);
        if (k != BM_MANIFEST && k != BM_IMAGE)
            return tu_err_set(err, TU_ERR_PROTOCOL, "SHA256SUMS: line %d names no member of a bundle", line);
        if (bundle_sums_get(s, name))
            return tu_err_set(err, TU_ERR_PROTOCOL, "SHA256SUMS: member '%s' is listed twice", name);
        snprintf(s->hex[s->n], sizeof(s->hex[0]), "%s", hex);
        snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
        s->n++;
        p = nl + 1;
    }
    if (!bundle_sums_get(s, BUNDLE_MANIFEST))
        return tu_err_set(err, TU_ERR_PROTOCOL, "SHA256SUMS: does not cover '%s'", BUNDLE_MANIFEST);
    return 0;
}

const char *bundle_sums_get(const struct bundle_sums *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0)
            return s->hex[i];
    return NULL;
}

void load_result_init(struct load_result *r)
{
    memset(r, 0, sizeof(*r));
}

/* Copies at most cap-1 bytes (cutting is intended) and makes them one clean line. */
static void copy_clean(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    tu_text_clean(dst, cap);
}

int load_result_line(struct load_result *r, const char *line, size_t len)
{
    json_t *j = json_loadb(line, len, 0, NULL);
    if (!json_is_object(j)) {
        r->bad_lines++;
        json_decref(j);
        return 0;
    }
    const char *msg = jstr(json_object_get(j, "errorDetail"), "message");
    if (!msg)
        msg = jstr(j, "error");
    if (msg || json_object_get(j, "errorDetail") || json_object_get(j, "error")) {
        r->failed = 1;
        copy_clean(r->error, sizeof(r->error), msg && *msg ? msg : "the daemon reported an error without a message");
        json_decref(j);
        return -1;
    }
    const char *st = jstr(j, "stream");
    if (st) {
        static const char tagged[] = "Loaded image: ", byid[] = "Loaded image ID: ";
        char text[300];
        copy_clean(text, sizeof(text), st);
        size_t n = strlen(text);
        while (n && (text[n - 1] == ' ' || text[n - 1] == '\n'))
            text[--n] = '\0';
        if (strncmp(text, tagged, sizeof(tagged) - 1) == 0 && r->nloaded < BUNDLE_MAX_IMAGES)
            copy_clean(r->loaded[r->nloaded++], sizeof(r->loaded[0]), text + sizeof(tagged) - 1);
        else if (strncmp(text, byid, sizeof(byid) - 1) == 0)
            copy_clean(r->loaded_id, sizeof(r->loaded_id), text + sizeof(byid) - 1);
    }
    json_decref(j);
    return 0;
}
