/* b64.h - base64 in the standard and URL-safe alphabets (RFC 4648). */
#ifndef TRACUP_B64_H
#define TRACUP_B64_H

#include <stddef.h>

enum b64_alphabet { B64_STD, B64_URL };

/* Returns a NUL-terminated, padded encoding the caller frees. */
char *b64_encode(const void *data, size_t len, enum b64_alphabet alpha);
/* Decodes the standard alphabet (padding optional, no whitespace).
 * Returns the decoded bytes, NUL-terminated, that the caller frees, with the
 * length in *out_len; NULL when the input is not base64. */
char *b64_decode(const char *s, size_t len, size_t *out_len);

#endif
