/* fuzz_docker_api_version.c - API versions from /_ping's Api-Version header and DOCKER_API_VERSION. */
#include "docker/client.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *rest;
    size_t rest_len;
    char *a = fuzz_split(data, size, &rest, &rest_len);
    char *b = fuzz_cstr(rest, rest_len);

    int self = docker_api_cmp(a, a);
    if (self != 0 && self != -2)
        fuzz_fail("'%s' does not compare equal to itself (%d)", a, self);
    int lo = docker_api_cmp(a, DOCKER_API_MIN), hi = docker_api_cmp(a, DOCKER_API_MAX);
    if ((self == -2) != (lo == -2) || (self == -2) != (hi == -2))
        fuzz_fail("'%s' is malformed only sometimes", a);
    /* Negotiation takes min(daemon, MAX) when the daemon is at least MIN. */
    if (self == 0 && lo >= 0 && hi > 0 && docker_api_cmp(DOCKER_API_MAX, a) >= 0)
        fuzz_fail("'%s' is above MAX one way and not the other", a);

    int ab = docker_api_cmp(a, b), ba = docker_api_cmp(b, a);
    if ((ab == -2) != (ba == -2) || (ab != -2 && ab != -ba))
        fuzz_fail("'%s' and '%s' compare %d and %d", a, b, ab, ba);

    free(a);
    free(b);
    return 0;
}
