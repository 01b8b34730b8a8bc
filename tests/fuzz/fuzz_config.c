/* fuzz_config.c - tracup.conf ("key = value" lines). */
#include "fuzz.h"
#include "util/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TU_CONFIG_MAX)  /* tu_config_load refuses bigger files */
        return 0;
    /* tu_config_load refuses text with a NUL; the parser takes a C string. */
    if (size && memchr(data, '\0', size))
        return 0;
    char *text = fuzz_cstr(data, size);
    struct tu_config cfg;
    struct tu_err err;
    memset(&cfg, 0, sizeof(cfg));
    if (tu_config_parse(&cfg, text, "/etc/tracup/tracup.conf", &err) == 0) {
        if (cfg.stall_timeout < 0 || cfg.stall_timeout > 86400 || cfg.connect_timeout < 0 ||
            cfg.connect_timeout > 86400)
            fuzz_fail("timeouts %ld and %ld", cfg.stall_timeout, cfg.connect_timeout);
        if (cfg.registry && !cfg.registry[0])
            fuzz_fail("an empty registry accepted");
    } else if (!err.msg[0]) {
        fuzz_fail("a refused config without a message");
    } else {
        fuzz_check_err("config", &err);
    }
    tu_config_free(&cfg);
    free(text);
    return 0;
}
