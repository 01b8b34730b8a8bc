/* main.c - tracup's entry point; everything else lives in libtracup. */
#include <curl/curl.h>

#include "cmd/cmd.h"

int main(int argc, char **argv)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return TU_EXIT_ERROR;
    int rc = cmd_main(argc, argv);
    curl_global_cleanup();
    return rc;
}
