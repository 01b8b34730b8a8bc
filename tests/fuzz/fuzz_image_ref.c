/* fuzz_image_ref.c - image references (container Config.Image, RepoDigests, --images). A parsed
 * reference printed back must parse to the same parts: normalising twice changes nothing. */
#include "fuzz.h"
#include "registry/ref.h"
#include "tracardi/images.h"

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    struct image_ref r, again;
    struct tu_err err;
    if (image_ref_parse(s, &r, &err) == 0) {
        if (!r.domain || !r.path || (r.digest && !image_digest_valid(r.digest)))
            fuzz_fail("'%s' parsed without domain or path", s);
        char *str = image_ref_string(&r);
        char *repo = image_ref_repo(&r);
        if (image_ref_parse(str, &again, &err) != 0)
            fuzz_fail("'%s' printed as '%s', which does not parse: %s", s, str, err.msg);
        if (!same(r.domain, again.domain) || !same(r.path, again.path) || !same(r.tag, again.tag) ||
            !same(r.digest, again.digest))
            fuzz_fail("'%s' printed as '%s' parses differently", s, str);
        if (!image_repo_equal(s, repo) || !image_repo_equal(repo, str))
            fuzz_fail("'%s' is not the repository '%s'", s, repo);
        const char *key = image_ref_auth_key(&r);
        if (!key || !*key)
            fuzz_fail("'%s' has no credentials key", s);
        image_ref_free(&again);
        free(str);
        free(repo);
        image_ref_free(&r);
    } else {
        static const struct image_ref zero;
        if (memcmp(&r, &zero, sizeof(r)) != 0)
            fuzz_fail("a refused reference left fields set");
        if (!err.msg[0])
            fuzz_fail("a refused reference without a message");
        fuzz_check_err("image reference", &err);
    }
    (void)image_digest_valid(s);
    const char *key = NULL;
    (void)tracardi_image_role(s, "docker.io", &key);
    (void)tracardi_image_role(s, "127.0.0.1:5000/mirror", &key);
    (void)infra_role_guess(s, NULL);
    free(s);
    return 0;
}
