/* format.h - the offline bundle's format: member names, manifest, SHA256SUMS, load stream. */
#ifndef TRACUP_BUNDLE_FORMAT_H
#define TRACUP_BUNDLE_FORMAT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/sha256.h"

#define BUNDLE_FORMAT 1
#define BUNDLE_MANIFEST "manifest.json"
#define BUNDLE_SUMS "SHA256SUMS"
#define BUNDLE_MANIFEST_MAX (64 * 1024)     /* bytes */
#define BUNDLE_SUMS_MAX (8 * 1024)          /* bytes */
#define BUNDLE_IMAGE_MAX ((uint64_t)64 << 30) /* one image member, bytes */
#define BUNDLE_MAX_IMAGES 8

struct bundle_image {
    char role[24];                 /* "api", "gui", "update-worker", "apm" */
    char *name;                    /* "<prefix>/tracardi/tracardi-api:0.8.2" */
    char digest[72];               /* the registry's manifest digest, "sha256:…" */
    char image_id[72];             /* the config digest, "sha256:…" */
    uint64_t size;                 /* bytes of the member */
    char member[48];               /* "images/<role>.tar" */
    char sha256[SHA256_HEX_LEN + 1];
};

struct bundle_manifest {
    int format;
    char release[48];
    char *registry;
    char tracup_version[48];
    char created[32];
    struct bundle_image img[BUNDLE_MAX_IMAGES];
    size_t n;
    /* The file as pass 1 read it: pass 2 refuses a file that changed since. */
    uint64_t src_dev, src_ino, src_size;
    int64_t src_mtime_ns, src_ctime_ns;
};

/* What a member name is. */
enum bundle_member {
    BM_UNSAFE = -1,       /* absolute, "..", control bytes, backslash, too long, … */
    BM_UNEXPECTED = 0,    /* a safe name this format does not have */
    BM_MANIFEST,
    BM_SUMS,
    BM_IMAGE,             /* images/<role>.tar with a known role */
};
enum bundle_member bundle_member_kind(const char *name);
/* "images/<role>.tar" into out (at least 48 bytes). */
void bundle_member_for(const char *role, char *out, size_t len);

/* Parses and validates a manifest; every field is checked (known roles, names
 * under the registry at the release, digests, member names, no duplicates). */
int bundle_manifest_parse(const char *data, size_t len, struct bundle_manifest *m, struct tu_err *err);
/* The manifest as JSON (the caller's). */
json_t *bundle_manifest_json(const struct bundle_manifest *m);
void bundle_manifest_free(struct bundle_manifest *m);

/* SHA256SUMS: "<64 hex>  <member>\n" lines, as sha256sum writes them. */
struct bundle_sums {
    char name[BUNDLE_MAX_IMAGES + 1][48];
    char hex[BUNDLE_MAX_IMAGES + 1][SHA256_HEX_LEN + 1];
    size_t n;
};
int bundle_sums_parse(const char *data, size_t len, struct bundle_sums *s, struct tu_err *err);
/* The hex sum recorded for name, or NULL (borrowed). */
const char *bundle_sums_get(const struct bundle_sums *s, const char *name);

/* The answer of POST /images/load, one JSON line at a time. The daemon answers
 * 200 and then reports failures in the stream ("error", "errorDetail"). */
struct load_result {
    int failed;
    char error[512];
    char loaded[BUNDLE_MAX_IMAGES][256];  /* "Loaded image: NAME" */
    size_t nloaded;
    char loaded_id[80];                   /* "Loaded image ID: sha256:…" (untagged loads) */
    int bad_lines;
};
void load_result_init(struct load_result *r);
/* Applies one line; returns 0, or -1 when it reported an error. */
int load_result_line(struct load_result *r, const char *line, size_t len);

#endif
