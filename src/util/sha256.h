/* sha256.h - SHA-256 (FIPS 180-4), streaming, with a hex digest for manifests. */
#ifndef TRACUP_SHA256_H
#define TRACUP_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256 {
    uint32_t h[8];
    uint64_t bytes;        /* message length so far */
    unsigned char block[64];
    size_t fill;           /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Finishes the digest; s must be initialised again before reuse. */
void sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN]);
/* Finishes the digest as 64 lower-case hex digits and a NUL. */
void sha256_final_hex(struct sha256 *s, char out[SHA256_HEX_LEN + 1]);
/* The digest of one buffer as hex. */
void sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);
/* True when s is exactly 64 lower-case hex digits. */
int sha256_hex_valid(const char *s);

#endif
