/* bundle.h - offline bundles: a release's images in one verified archive, made and loaded streaming. */
#ifndef TRACUP_BUNDLE_BUNDLE_H
#define TRACUP_BUNDLE_BUNDLE_H

#include <stdint.h>
#include <stdio.h>

#include "bundle/format.h"
#include "docker/client.h"

struct bundle_create_opts {
    const char *file;          /* where the bundle goes */
    const char *registry;      /* registry prefix the images come from */
    const char *release;       /* the release, already checked */
    const char *roles[BUNDLE_MAX_IMAGES];
    size_t nroles;
    int force;                 /* replace an existing file */
    FILE *progress;            /* progress lines (stderr), or NULL */
};

struct bundle_create_result {
    struct bundle_manifest m;
    uint64_t size;             /* bytes of the bundle file */
    const char *compression;   /* "zstd" or "xz" */
};

/* Pulls the images (pinned by digest, credentials as `pull` finds them), saves
 * each streaming to an unlinked temporary file while hashing it, and writes the
 * archive to a temporary file beside o->file, renamed at the end. On failure
 * nothing is left behind. */
int bundle_create(struct docker *d, const struct bundle_create_opts *o, struct bundle_create_result *res,
                  struct tu_err *err);

/* Pass 1: reads the whole bundle streaming and checks every member against
 * SHA256SUMS and the manifest; fills m (bundle_manifest_free it). Nothing
 * reaches the daemon. The error names the member that failed. */
int bundle_verify(const char *file, struct bundle_manifest *m, FILE *progress, struct tu_err *err);

/* What pass 2 sends of one image member (exposed for tests): reads the member
 * archive a is positioned at, hashing it, and hands send() every piece that
 * would go to the daemon; the last piece only once the member's SHA-256 and size
 * matched bi. Returns 0, or -1 (nothing more sent) when they did not, when the
 * archive cannot be read or when send() returns non-zero. */
struct archive;
int bundle_stream_member(struct archive *a, const struct bundle_image *bi, int (*send)(void *ud, const char *data,
                                                                                        size_t len),
                         void *ud, struct tu_err *err);

/* Pass 2, after bundle_verify filled m: streams each image member into
 * POST /images/load (each member is hashed again as it is sent and must match),
 * checks each image's id and tag, and records the load in the state directory
 * (*record_path, the caller frees). */
int bundle_load(struct docker *d, const char *file, FILE *progress, const struct bundle_manifest *m,
                char **record_path, struct tu_err *err);

#endif
