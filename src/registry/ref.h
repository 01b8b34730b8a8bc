/* ref.h - container image references: [domain/]path[:tag][@digest]. */
#ifndef TRACUP_REF_H
#define TRACUP_REF_H

#include "util/err.h"

#define DOCKER_HUB_DOMAIN "docker.io"
#define DOCKER_HUB_AUTH_KEY "https://index.docker.io/v1/"

struct image_ref {
    char *domain;  /* "docker.io" when the reference names none */
    char *path;    /* "tracardi/tracardi-api"; "library/x" for a bare Docker Hub name */
    char *tag;     /* NULL when none */
    char *digest;  /* "sha256:<64 hex>" or NULL */
};

/* Parses and normalises a reference; on error fills err and leaves out zeroed. */
int image_ref_parse(const char *s, struct image_ref *out, struct tu_err *err);
void image_ref_free(struct image_ref *r);

/* "domain/path" (the caller frees). */
char *image_ref_repo(const struct image_ref *r);
/* The name as given to the daemon: "domain/path[:tag][@digest]" (the caller frees). */
char *image_ref_string(const struct image_ref *r);
/* The key under which the docker CLI stores credentials (borrowed). */
const char *image_ref_auth_key(const struct image_ref *r);
/* True when two repositories are the same once normalised. */
int image_repo_equal(const char *a, const char *b);
/* Validates "sha256:<64 hex>". */
int image_digest_valid(const char *d);

#endif
