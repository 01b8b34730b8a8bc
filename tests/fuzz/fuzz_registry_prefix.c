/* fuzz_registry_prefix.c - --registry and the config's registry = prefix. A prefix that is accepted
 * must name Tracardi's images under it: discovery finds stacks by that very test. */
#include "fuzz.h"
#include "registry/ref.h"
#include "tracardi/images.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *prefix = fuzz_cstr(data, size);
    struct tu_err err;
    if (registry_prefix_check(prefix, &err) == 0) {
        for (size_t i = 0; i < tracardi_images_count; i++) {
            const struct tracardi_image *img = &tracardi_images[i];
            char *ref = tracardi_image_ref(prefix, img->path, "0.8.2");
            struct image_ref r;
            if (image_ref_parse(ref, &r, &err) != 0)
                fuzz_fail("prefix '%s' accepted, but '%s' does not parse: %s", prefix, ref, err.msg);
            image_ref_free(&r);
            const char *key = NULL;
            enum stack_role role = tracardi_image_role(ref, prefix, &key);
            if (role != img->role || !key || strcmp(key, img->key) != 0)
                fuzz_fail("prefix '%s' accepted, but '%s' is role %s key %s", prefix, ref, stack_role_name(role),
                          key ? key : "(none)");
            free(ref);
        }
    } else if (!err.msg[0]) {
        fuzz_fail("a refused prefix without a message");
    } else {
        fuzz_check_err("registry prefix", &err);
    }
    free(prefix);
    return 0;
}
