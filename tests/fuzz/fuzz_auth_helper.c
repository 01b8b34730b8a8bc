/* fuzz_auth_helper.c - a credential helper's `get` answer ({"Username": ..., "Secret": ...}). */
#include "fuzz.h"
#include "registry/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > AUTH_HELPER_OUTPUT_MAX)  /* auth_run_helper stops reading there */
        return 0;
    struct reg_creds creds;
    struct tu_err err;
    if (auth_parse_helper_output((const char *)data, size, "127.0.0.1:5000", &creds, &err) < 0) {
        fuzz_check_err("helper answer", &err);
        return 0;
    }
    if (!creds.serveraddress || strcmp(creds.serveraddress, "127.0.0.1:5000") != 0)
        fuzz_fail("server address not kept");
    char *hdr = auth_header_value(&creds);
    secret_free(hdr);
    reg_creds_free(&creds);
    return 0;
}
