/* cmd_version.c - `tracup version`: tracup, its libraries, the docker daemon. */
#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

#include "cmd/cmd.h"
#include "docker/objects.h"

enum { O_JSON };
static const struct opt_spec opts[] = {
    [O_JSON] = {"json", 0, NULL, "print one JSON object"},
    {NULL, 0, NULL, NULL},
};

static int run(struct tu_ctx *ctx, const struct cmd_opts *o)
{
    ctx->json = o->set[O_JSON];
    const char *curl_v = curl_version_info(CURLVERSION_NOW)->version;
    const char *arch_v = archive_version_string();
    if (strncmp(arch_v, "libarchive ", 11) == 0)
        arch_v += 11;

    json_t *out = json_pack("{s:s,s:{s:s,s:s,s:s}}", "tracup", TRACUP_VERSION, "libraries", "libcurl", curl_v,
                            "jansson", JANSSON_VERSION, "libarchive", arch_v);
    if (!ctx->json) {
        fprintf(ctx->out, "tracup %s\n", TRACUP_VERSION);
        fprintf(ctx->out, "libcurl %s, jansson %s, libarchive %s\n", curl_v, JANSSON_VERSION, arch_v);
    }

    struct docker d;
    int rc = cmd_docker(ctx, &d);
    if (rc != 0) {
        json_decref(out);
        return rc;
    }
    json_t *v = NULL;
    struct tu_err err;
    tu_err_clear(&err);
    if (docker_version(&d, &v, &err) < 0) {
        docker_cleanup(&d);
        json_decref(out);
        return cmd_fail(ctx, &err, TU_EXIT_DOCKER);
    }
    const char *dv = json_string_value(json_object_get(v, "Version"));
    const char *min = json_string_value(json_object_get(v, "MinAPIVersion"));
    json_object_set_new(out, "docker",
                        json_pack("{s:s?,s:s,s:s?,s:s,s:b,s:s}", "version", dv, "api_version",
                                  d.daemon_api_version, "min_api_version", min, "negotiated_api_version",
                                  d.api_version, "api_version_forced", d.api_forced, "socket",
                                  d.socket_path));
    if (ctx->json) {
        json_dumpf(out, ctx->out, JSON_COMPACT);
        fputc('\n', ctx->out);
    } else {
        fprintf(ctx->out, "docker daemon %s at %s: API %s, using %s%s\n", dv ? dv : "(unknown)", d.socket_path,
                d.daemon_api_version, d.api_version, d.api_forced ? " (DOCKER_API_VERSION)" : "");
    }
    json_decref(v);
    json_decref(out);
    docker_cleanup(&d);
    return TU_EXIT_OK;
}

const struct cmd_entry cmd_version_entry = {
    .name = "version",
    .summary = "show the versions of tracup, its libraries and the docker daemon",
    .usage = "[--json]",
    .opts = opts,
    .min_args = 0,
    .max_args = 0,
    .run = run,
};
