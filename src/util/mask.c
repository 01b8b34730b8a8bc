/* mask.c - masking secrets in environment entries and URLs. */
#include "util/mask.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && toupper((unsigned char)p[i]) == needle[i])
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

int env_name_is_secret(const char *name)
{
    static const char *const words[] = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY",
                                        "APIKEY",   "CREDENTIAL", "PRIVATE_KEY", NULL};
    for (size_t i = 0; words[i]; i++)
        if (contains_ci(name, words[i]))
            return 1;
    return 0;
}

char *mask_url(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *start = scheme ? scheme + 3 : url;
    const char *auth_end = start + strcspn(start, "/?#");
    const char *at = NULL;
    for (const char *p = start; p < auth_end; p++)
        if (*p == '@')
            at = p;
    if (!at) {
        /* A password may hold an unescaped '/': "u:pa/ss@host". When the authority
         * has a ':' that is not a port, the first '@' later ends the password. */
        const char *colon = memchr(start, ':', (size_t)(auth_end - start));
        int port = colon != NULL;
        for (const char *p = colon ? colon + 1 : auth_end; p < auth_end; p++)
            port &= *p >= '0' && *p <= '9';
        const char *later = colon && !port ? strchr(auth_end, '@') : NULL;
        if (!later || later > start + strcspn(start, "?#"))
            return xstrdup(url);
        at = later;
    }
    const char *colon = memchr(start, ':', (size_t)(at - start));
    if (!colon)  /* only a user name, or a bare token: mask it all */
        return xasprintf("%.*s%s%s", (int)(start - url), url, MASK, at);
    return xasprintf("%.*s%s%s", (int)(colon + 1 - url), url, MASK, at);
}

char *mask_env_entry(const char *entry)
{
    const char *eq = strchr(entry, '=');
    if (!eq)
        return xstrdup(entry);
    char *name = xstrndup(entry, (size_t)(eq - entry));
    char *out;
    if (env_name_is_secret(name)) {
        out = xasprintf("%s=%s", name, MASK);
    } else {
        char *m = mask_url(eq + 1);
        out = xasprintf("%s=%s", name, m);
        free(m);
    }
    free(name);
    return out;
}
