/* testutil.h - temporary directories, files and environment for the unit tests. */
#ifndef TRACUP_TESTUTIL_H
#define TRACUP_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh directory under $TMPDIR (else /tmp); the caller frees the path
 * and removes the directory with tt_rmtree. */
char *tt_mkdtemp(void);
/* Removes a directory tree (symbolic links are removed, not followed). */
void tt_rmtree(const char *path);
/* Writes dir/name with the given mode; returns the path (the caller frees). */
char *tt_write_file(const char *dir, const char *name, const char *content, unsigned mode);
/* Reads a whole file; NULL when it cannot be read (the caller frees). */
char *tt_read_file(const char *path);
/* Decodes base64url (with or without padding); NULL when invalid (the caller frees). */
char *tt_b64url_decode(const char *s, size_t *out_len);

/* Sets or unsets (value NULL) an environment variable, remembering the value it
 * had; tt_env_restore puts every remembered variable back. */
void tt_env_set(const char *name, const char *value);
void tt_env_restore(void);

/* Milliseconds on a monotonic clock. */
long tt_now_ms(void);
void tt_sleep_ms(long ms);

#endif
