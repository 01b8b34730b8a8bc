/* fuzz_journal.c - loading an upgrade journal from disk, as status, resume and rollback do.
 * Each input is written to a file in a private temporary directory, loaded, and removed. */
#include <unistd.h>

#include "fuzz.h"
#include "upgrade/journal.h"

static char dir[4096];
static char path[4200];

static void cleanup(void)
{
    unlink(path);
    rmdir(dir);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof(dir), "%s/tracup-fuzz-journal-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
    snprintf(path, sizeof(path), "%s/journal.json", dir);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    if (size > JOURNAL_MAX)  /* journal_load refuses bigger files before parsing */
        return 0;
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }

    struct journal j;
    struct tu_err err;
    int r = journal_load(&j, path, &err);
    if (r == 0) {
        /* What resume and status read from a valid journal. */
        const char *phase = journal_phase(&j), *state = journal_state(&j);
        if (!phase || !state)
            fuzz_fail("a valid journal without phase or state");
        (void)journal_phase_ok(&j, phase);
        (void)journal_phase_ok(&j, "migrate:0.8.2");
        (void)journal_phase_ok(&j, "switch");
        if (journal_validate(j.doc, &err) != 0)
            fuzz_fail("a loaded journal does not validate again");
        journal_free(&j);
    } else if (r != -1) {
        fuzz_fail("journal_load returned %d for an existing file", r);
    } else if (!err.msg[0]) {
        fuzz_fail("a refused journal without a message");
    } else {
        fuzz_check_err("journal", &err);
    }
    unlink(path);
    return 0;
}
