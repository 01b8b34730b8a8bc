/* fuzz_auth_config.c - docker's config.json (auths, credHelpers, credsStore) as auth_find reads it. */
#include "fuzz.h"
#include "registry/auth.h"
#include "registry/ref.h"

static void check_plan(const struct auth_plan *plan)
{
    if (!memchr(plan->helper, '\0', sizeof(plan->helper)))
        fuzz_fail("helper name is not terminated");
    /* The helper becomes part of a program name run from PATH. */
    if (strchr(plan->helper, '/') || plan->helper[0] == '.')
        fuzz_fail("helper name '%s' could escape PATH", plan->helper);
    if (plan->helper[0] && reg_creds_present(&plan->creds))
        fuzz_fail("both a helper and stored credentials");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > AUTH_CONFIG_MAX)  /* auth_find refuses bigger files */
        return 0;
    static const char *const keys[] = {DOCKER_HUB_AUTH_KEY, "127.0.0.1:5000", "registry.example.com:5001"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct auth_plan plan;
        struct tu_err err;
        if (auth_plan_from_config((const char *)data, size, keys[i], &plan, &err) < 0) {
            fuzz_check_err("docker config", &err);
            continue;
        }
        check_plan(&plan);
        /* What a pull sends: the X-Registry-Auth value. */
        char *hdr = auth_header_value(&plan.creds);
        if (reg_creds_present(&plan.creds) != (hdr != NULL))
            fuzz_fail("header present %d, credentials present %d", hdr != NULL, reg_creds_present(&plan.creds));
        secret_free(hdr);
        reg_creds_free(&plan.creds);
    }
    return 0;
}
