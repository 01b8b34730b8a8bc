/* hash.h - MD5 and SHA-1 as hex, for Tracardi's tenant names, plan ids and token keys */
#ifndef STANDIN_HASH_H
#define STANDIN_HASH_H

#include <stddef.h>

/* out must hold 33 bytes. */
void md5_hex(const void *data, size_t len, char *out);
/* out must hold 41 bytes. */
void sha1_hex(const void *data, size_t len, char *out);

#endif
