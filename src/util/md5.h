/* md5.h - MD5, only to derive Tracardi's tenant names (not for security). */
#ifndef TRACUP_MD5_H
#define TRACUP_MD5_H

#include <stddef.h>

/* Writes the 32 hex digits and a NUL into out. */
void md5_hex(const void *data, size_t len, char out[33]);

#endif
