/* fuzz_mask.c - masking secrets in environment entries and URLs (ELASTIC_HOST, REDIS_HOST, ...)
 * before status, plan and the journal show them. */
#include "fuzz.h"
#include "upgrade/green.h"
#include "util/mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    (void)env_name_is_secret(s);
    free(mask_url(s));

    char *m = mask_env_entry(s);
    /* A secret variable shows only its name. */
    const char *eq = strchr(s, '=');
    if (eq) {
        char *name = strndup(s, (size_t)(eq - s));
        if (!name)
            abort();
        if (env_name_is_secret(name) && (strncmp(m, s, (size_t)(eq - s) + 1) != 0 || strcmp(m + (eq - s) + 1, MASK) != 0))
            fuzz_fail("secret '%s' shown as '%s'", name, m);
        free(name);
    } else if (strcmp(m, s) != 0) {
        fuzz_fail("'%s' without '=' changed to '%s'", s, m);
    }
    free(m);

    /* Green's REDIS_HOST: blue's URL with the host replaced. */
    free(green_redis_url(s, "stack-redis-0.8.2"));
    free(s);
    return 0;
}
