/* test_pull.c - following an image pull's JSON-lines progress stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "docker/pull.h"

static enum pull_event feed(struct pull_progress *p, const char *line)
{
    return pull_progress_line(p, line, strlen(line));
}

#define DIGEST "sha256:4f53e4b7f0a5d3c2b1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8"

static void test_realistic_stream(void **state)
{
    (void)state;
    struct pull_progress p;
    pull_progress_init(&p);
    assert_int_equal(feed(&p, "{\"status\":\"Pulling from tracardi/tracardi-api\",\"id\":\"0.8.2\"}"), PULL_EV_NONE);
    assert_int_equal(p.nlayers, 0);
    assert_int_equal(feed(&p, "{\"status\":\"Already exists\",\"progressDetail\":{},\"id\":\"aaaa11112222\"}"),
                     PULL_EV_LAYER_DONE);
    assert_int_equal(feed(&p, "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"bbbb11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(feed(&p, "{\"status\":\"Pulling fs layer\",\"progressDetail\":{},\"id\":\"cccc11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(feed(&p, "{\"status\":\"Waiting\",\"progressDetail\":{},\"id\":\"cccc11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(p.nlayers, 3);
    assert_int_equal(p.layers_done, 1);
    assert_int_equal(p.bytes_total, 0);

    assert_int_equal(feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1000,\"total\":5000},"
                              "\"progress\":\"[=>   ] 1kB/5kB\",\"id\":\"bbbb11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(p.bytes_total, 5000);
    assert_int_equal(p.bytes_done, 1000);
    assert_int_equal(feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":200,\"total\":3000},"
                              "\"id\":\"cccc11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(p.bytes_total, 8000);
    assert_int_equal(p.bytes_done, 1200);
    assert_int_equal(feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":4000,\"total\":5000},"
                              "\"id\":\"bbbb11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(p.bytes_done, 4200);
    assert_int_equal(feed(&p, "{\"status\":\"Verifying Checksum\",\"progressDetail\":{},\"id\":\"bbbb11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(feed(&p, "{\"status\":\"Download complete\",\"progressDetail\":{},\"id\":\"bbbb11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(p.bytes_done, 5200);
    assert_int_equal(feed(&p, "{\"status\":\"Extracting\",\"progressDetail\":{\"current\":32768,\"total\":5000},"
                              "\"id\":\"bbbb11112222\"}"),
                     PULL_EV_LAYER);
    /* Extracting counts do not inflate the download totals. */
    assert_int_equal(p.bytes_total, 8000);
    assert_int_equal(p.bytes_done, 5200);
    assert_int_equal(feed(&p, "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"bbbb11112222\"}"),
                     PULL_EV_LAYER_DONE);
    assert_int_equal(p.layers_done, 2);
    /* A repeated "Pull complete" is not a second completion. */
    assert_int_equal(feed(&p, "{\"status\":\"Pull complete\",\"progressDetail\":{},\"id\":\"bbbb11112222\"}"),
                     PULL_EV_LAYER);
    assert_int_equal(p.layers_done, 2);
    assert_int_equal(feed(&p, "{\"status\":\"Download complete\",\"id\":\"cccc11112222\"}"), PULL_EV_LAYER);
    assert_int_equal(feed(&p, "{\"status\":\"Pull complete\",\"id\":\"cccc11112222\"}"), PULL_EV_LAYER_DONE);
    assert_int_equal(p.layers_done, 3);
    assert_int_equal(p.bytes_done, 8000);
    assert_int_equal(p.bytes_total, 8000);

    assert_int_equal(feed(&p, "{\"status\":\"Digest: " DIGEST "\"}"), PULL_EV_DIGEST);
    assert_string_equal(p.digest, DIGEST);
    assert_int_equal(feed(&p, "{\"status\":\"Status: Downloaded newer image for tracardi/tracardi-api:0.8.2\"}"),
                     PULL_EV_STATUS);
    assert_string_equal(p.status, "Downloaded newer image for tracardi/tracardi-api:0.8.2");
    assert_int_equal(p.up_to_date, 0);
    assert_int_equal(p.failed, 0);
    assert_int_equal(p.bad_lines, 0);
    assert_int_equal(p.nlayers, 3);
}

static void test_up_to_date(void **state)
{
    (void)state;
    struct pull_progress p;
    pull_progress_init(&p);
    feed(&p, "{\"status\":\"Pulling from library/redis\",\"id\":\"7\"}");
    assert_int_equal(feed(&p, "{\"status\":\"Digest: " DIGEST "\"}"), PULL_EV_DIGEST);
    assert_int_equal(feed(&p, "{\"status\":\"Status: Image is up to date for redis:7\"}"), PULL_EV_STATUS);
    assert_int_equal(p.up_to_date, 1);
    assert_string_equal(p.status, "Image is up to date for redis:7");
    assert_int_equal(p.nlayers, 0);
}

static void test_error_detail_sets_failed(void **state)
{
    (void)state;
    struct pull_progress p;
    pull_progress_init(&p);
    feed(&p, "{\"status\":\"Pulling fs layer\",\"id\":\"bbbb11112222\"}");
    assert_int_equal(feed(&p, "{\"errorDetail\":{\"message\":\"manifest for x:9 not found: manifest unknown\"},"
                              "\"error\":\"the short form\"}"),
                     PULL_EV_ERROR);
    assert_int_equal(p.failed, 1);
    assert_string_equal(p.error, "manifest for x:9 not found: manifest unknown");

    /* Only "error", without errorDetail. */
    pull_progress_init(&p);
    assert_int_equal(feed(&p, "{\"error\":\"unauthorized: authentication required\"}"), PULL_EV_ERROR);
    assert_int_equal(p.failed, 1);
    assert_string_equal(p.error, "unauthorized: authentication required");

    /* errorDetail without a message still fails, with a generic text. */
    pull_progress_init(&p);
    assert_int_equal(feed(&p, "{\"errorDetail\":{}}"), PULL_EV_ERROR);
    assert_int_equal(p.failed, 1);
    assert_string_equal(p.error, "the pull failed");

    /* A multi-line message is kept on one line. */
    pull_progress_init(&p);
    assert_int_equal(feed(&p, "{\"errorDetail\":{\"message\":\"line1\\nline2\\r\\nline3\"}}"), PULL_EV_ERROR);
    assert_null(strchr(p.error, '\n'));
    assert_null(strchr(p.error, '\r'));
    assert_non_null(strstr(p.error, "line1"));
    assert_non_null(strstr(p.error, "line3"));

    /* A very long message is cut, not overflowed. */
    pull_progress_init(&p);
    char line[2048];
    int n = snprintf(line, sizeof(line), "{\"error\":\"");
    memset(line + n, 'e', 1500);
    snprintf(line + n + 1500, sizeof(line) - (size_t)n - 1500, "\"}");
    assert_int_equal(feed(&p, line), PULL_EV_ERROR);
    assert_int_equal(strlen(p.error), sizeof(p.error) - 1);
}

static void test_bad_lines_counted(void **state)
{
    (void)state;
    struct pull_progress p;
    pull_progress_init(&p);
    assert_int_equal(feed(&p, "not json at all"), PULL_EV_NONE);
    assert_int_equal(feed(&p, "[1,2,3]"), PULL_EV_NONE);
    assert_int_equal(feed(&p, "\"a string\""), PULL_EV_NONE);
    assert_int_equal(feed(&p, "{\"status\":"), PULL_EV_NONE);
    assert_int_equal(feed(&p, "{\"status\":\"Downloading\",\"id\":\"x\"} trailing"), PULL_EV_NONE);
    assert_int_equal(p.bad_lines, 5);
    /* A JSON object without a status is not bad, just nothing. */
    assert_int_equal(feed(&p, "{\"aux\":{\"Tag\":\"0.8.2\"}}"), PULL_EV_NONE);
    assert_int_equal(feed(&p, "{\"status\":42}"), PULL_EV_NONE);
    assert_int_equal(p.bad_lines, 5);
    assert_int_equal(p.failed, 0);
    /* The length is what counts, not a NUL. */
    assert_int_equal(pull_progress_line(&p, "{\"status\":\"Digest: x\"}garbage", 22), PULL_EV_DIGEST);
    assert_string_equal(p.digest, "x");
}

static void test_hostile_progress_values(void **state)
{
    (void)state;
    struct pull_progress p;
    pull_progress_init(&p);
    feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":-5,\"total\":-7},\"id\":\"l1\"}");
    assert_int_equal(p.bytes_done, 0);
    assert_int_equal(p.bytes_total, 0);
    feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":\"10\",\"total\":1.5},\"id\":\"l1\"}");
    assert_int_equal(p.bytes_done, 0);
    /* current past total is clamped. */
    feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":900,\"total\":100},\"id\":\"l1\"}");
    assert_int_equal(p.bytes_total, 100);
    assert_int_equal(p.bytes_done, 100);
    /* No id: not a layer event. */
    assert_int_equal(feed(&p, "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2}}"),
                     PULL_EV_NONE);
    /* An id too long for the table is ignored, not truncated into a collision. */
    char line[512];
    char id[200];
    memset(id, 'z', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    snprintf(line, sizeof(line), "{\"status\":\"Pulling fs layer\",\"id\":\"%s\"}", id);
    assert_int_equal(feed(&p, line), PULL_EV_NONE);
    assert_int_equal(p.nlayers, 1);
    /* A huge Status text is cut to fit. */
    char big[1024];
    int n = snprintf(big, sizeof(big), "{\"status\":\"Status: ");
    memset(big + n, 's', 600);
    snprintf(big + n + 600, sizeof(big) - (size_t)n - 600, "\"}");
    assert_int_equal(feed(&p, big), PULL_EV_STATUS);
    assert_int_equal(strlen(p.status), sizeof(p.status) - 1);
    /* A huge Digest text likewise. */
    n = snprintf(big, sizeof(big), "{\"status\":\"Digest: sha256:");
    memset(big + n, 'd', 300);
    snprintf(big + n + 300, sizeof(big) - (size_t)n - 300, "\"}");
    assert_int_equal(feed(&p, big), PULL_EV_DIGEST);
    assert_int_equal(strlen(p.digest), sizeof(p.digest) - 1);
}

static void test_more_layers_than_the_table(void **state)
{
    (void)state;
    struct pull_progress p;
    pull_progress_init(&p);
    char line[256];
    for (int i = 0; i < PULL_MAX_LAYERS + 50; i++) {
        snprintf(line, sizeof(line),
                 "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":10},\"id\":\"layer%04d\"}", i);
        enum pull_event ev = feed(&p, line);
        if (i < PULL_MAX_LAYERS)
            assert_int_equal(ev, PULL_EV_LAYER);
        else
            assert_int_equal(ev, PULL_EV_NONE);
    }
    assert_int_equal(p.nlayers, PULL_MAX_LAYERS);
    assert_int_equal(p.bytes_total, 10 * PULL_MAX_LAYERS);
    assert_int_equal(p.bytes_done, PULL_MAX_LAYERS);
    /* Known layers still progress once the table is full. */
    assert_int_equal(feed(&p, "{\"status\":\"Pull complete\",\"id\":\"layer0000\"}"), PULL_EV_LAYER_DONE);
    assert_int_equal(p.layers_done, 1);
    assert_int_equal(p.bytes_done, PULL_MAX_LAYERS - 1 + 10);
    assert_string_equal(p.layers[PULL_MAX_LAYERS - 1].id, "layer0255");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realistic_stream),
        cmocka_unit_test(test_up_to_date),
        cmocka_unit_test(test_error_detail_sets_failed),
        cmocka_unit_test(test_bad_lines_counted),
        cmocka_unit_test(test_hostile_progress_values),
        cmocka_unit_test(test_more_layers_than_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
