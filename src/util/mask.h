/* mask.h - keeping secrets out of what tracup prints or records. */
#ifndef TRACUP_MASK_H
#define TRACUP_MASK_H

#define MASK "***"

/* True for environment variables whose value is a secret. */
int env_name_is_secret(const char *name);
/* A URL with any password in its userinfo replaced by MASK (the caller frees). */
char *mask_url(const char *url);
/* "NAME=value" with the value masked when the name is secret (the caller frees). */
char *mask_env_entry(const char *entry);

#endif
