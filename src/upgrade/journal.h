/* journal.h - the on-disk record of an upgrade, written before and after every phase. */
#ifndef TRACUP_JOURNAL_H
#define TRACUP_JOURNAL_H

#include <jansson.h>

#include "util/err.h"

#define JOURNAL_FORMAT 1
#define JOURNAL_MAX (4 * 1024 * 1024)

struct journal {
    char *path;
    json_t *doc;   /* owned */
};

/* Loads and validates a journal. Returns 0; 1 when there is none; -1 when it
 * cannot be read or is corrupt (err says which and how to proceed). */
int journal_load(struct journal *j, const char *path, struct tu_err *err);
/* Starts a journal with doc (stolen) and writes it. */
int journal_create(struct journal *j, const char *path, json_t *doc, struct tu_err *err);
/* Writes the journal atomically (0600). */
int journal_save(struct journal *j, struct tu_err *err);
void journal_free(struct journal *j);

/* Records a phase's start (and makes it the current phase), then saves. */
int journal_phase_begin(struct journal *j, const char *phase, struct tu_err *err);
/* Records a phase's end with "ok" or "failed" (and a message), then saves. */
int journal_phase_end(struct journal *j, const char *phase, const char *result, const char *message,
                      struct tu_err *err);
/* True when the phase ended "ok". */
int journal_phase_ok(const struct journal *j, const char *phase);
/* The current phase and state (borrowed). */
const char *journal_phase(const struct journal *j);
const char *journal_state(const struct journal *j);
int journal_set_state(struct journal *j, const char *state, struct tu_err *err);

/* Validates a journal document (exposed for tests and fuzzing). */
int journal_validate(json_t *doc, struct tu_err *err);

#endif
