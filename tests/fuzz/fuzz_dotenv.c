/* fuzz_dotenv.c - compose env files: parse, rewrite, and the rewrite must say what it set. */
#include "fuzz.h"
#include "util/dotenv.h"

static const struct dotenv_set SETS[] = {
    {"TRACARDI_VERSION", "0.8.2"},
    {"API_DIGEST", "@sha256:1111111111111111111111111111111111111111111111111111111111111111"},
    {"GUI_DIGEST", ""},
};
#define NSETS (sizeof(SETS) / sizeof(SETS[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dotenv d;
    struct tu_err err;
    memset(&err, 0, sizeof(err));
    if (dotenv_parse(&d, (const char *)data, size, ".env", &err) != 0) {
        if (!err.msg[0])
            fuzz_fail("a refused file without a message");
        fuzz_check_err("dotenv", &err);
        return 0;
    }
    size_t len = 0, n = 0;
    struct dotenv_change *c = NULL;
    char *out = dotenv_rewrite(&d, SETS, NSETS, "pinned", &len, &c, &n, &err);
    if (!out)
        fuzz_fail("rewrite refused plain values: %s", err.msg);
    dotenv_changes_free(c, n);
    /* What was written parses, says exactly the set values, and needs no second rewrite. */
    struct dotenv d2;
    if (dotenv_parse(&d2, out, len, ".env", &err) != 0) {
        /* Appending may pass the caps of a file that was just under them. */
        if (err.kind != TU_ERR_TOO_BIG && !strstr(err.msg, "longer than"))
            fuzz_fail("the rewritten file does not parse: %s", err.msg);
    } else {
        for (size_t i = 0; i < NSETS; i++) {
            const char *v = dotenv_get(&d2, SETS[i].key);
            if (!v || strcmp(v, SETS[i].value) != 0)
                fuzz_fail("%s reads '%s' after the rewrite", SETS[i].key, v ? v : "(unset)");
        }
        size_t len2 = 0, n2 = 0;
        char *again = dotenv_rewrite(&d2, SETS, NSETS, "pinned", &len2, &c, &n2, &err);
        dotenv_changes_free(c, n2);
        if (!again || n2 != 0 || len2 != len || memcmp(again, out, len) != 0)
            fuzz_fail("a second rewrite changed %zu variables", n2);
        free(again);
        dotenv_free(&d2);
    }
    free(out);
    dotenv_free(&d);
    return 0;
}
