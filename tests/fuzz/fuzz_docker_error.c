/* fuzz_docker_error.c - the daemon's error bodies ({"message": ...} or plain text) as every call reads them. */
#include "docker/client.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* The status picks the error kind: the first byte chooses it, the rest is the body. */
    static const long statuses[] = {400, 404, 409, 500};
    long status = statuses[data[0] % 4];
    struct tu_err err;
    tu_err_clear(&err);
    docker_error_from_body(&err, status, (const char *)data + 1, size - 1);
    /* The message is printed as one line and must be a C string within its field. */
    size_t n = strnlen(err.msg, sizeof(err.msg));
    if (n == sizeof(err.msg))
        fuzz_fail("error message is not terminated");
    if (n == 0)
        fuzz_fail("error message is empty");
    fuzz_check_err("daemon error", &err);
    if (err.status != status)
        fuzz_fail("status %ld recorded as %ld", status, err.status);
    return 0;
}
