/* phases.h - the phases of an upgrade; each is safe to run again after a crash. */
#ifndef TRACUP_UPGRADE_PHASES_H
#define TRACUP_UPGRADE_PHASES_H

#include <stdint.h>

#include "upgrade/engine.h"

/* A phase returns 0 when done, -1 when failed (err set), PHASE_INTERRUPTED when
 * SIGINT/SIGTERM asked it to stop at a safe point. */
#define PHASE_INTERRUPTED (-2)

int phase_preflight(struct engine *e, size_t hop, struct tu_err *err);
int phase_pull(struct engine *e, size_t hop, struct tu_err *err);
int phase_snapshot(struct engine *e, size_t hop, struct tu_err *err);
int phase_start_green(struct engine *e, size_t hop, struct tu_err *err);
int phase_smoke(struct engine *e, size_t hop, struct tu_err *err);
int phase_install(struct engine *e, size_t hop, struct tu_err *err);
int phase_migrate(struct engine *e, size_t hop, struct tu_err *err);
int phase_remove_intermediate(struct engine *e, size_t hop, struct tu_err *err);
int phase_switch(struct engine *e, size_t hop, struct tu_err *err);
int phase_observe(struct engine *e, size_t hop, struct tu_err *err);
int phase_done(struct engine *e, size_t hop, struct tu_err *err);

/* Progress line for people (or a JSON event). */
void engine_say(struct engine *e, const char *phase, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The journal's record of hop i (borrowed). */
json_t *engine_hop(struct engine *e, size_t hop);
/* The URL this host reaches a container at by id (the caller frees), or NULL. */
char *engine_container_url(struct engine *e, const char *id, int port);
/* Saves the journal; on failure the engine stops (nothing runs without a journal). */
int engine_save(struct engine *e, struct tu_err *err);
/* Back to blue: start (or recreate) it, give it the traffic, remove green and the
 * indices no traffic reached; sets the journal's state to rolled_back. */
int engine_rollback_steps(struct engine *e, struct tu_err *err);
/* Removes the containers of hop i (logs kept in the upgrade directory). */
int engine_remove_hop(struct engine *e, size_t hop, struct tu_err *err);
/* The indices of one release (db_version and tenant) and their documents. */
int engine_release_indices(struct engine *e, const char *db, const char *tenant, json_t **names, int64_t *docs,
                           struct tu_err *err);
/* Deletes them: only for a release no traffic ever reached (a failed upgrade's). */
int engine_delete_release_indices(struct engine *e, const char *db, const char *tenant, const char *phase,
                                  const char *why, struct tu_err *err);
/* The id / name of hop's green container for key, or NULL (borrowed). */
const char *engine_green_id(struct engine *e, size_t hop, const char *key);
const char *engine_green_name(struct engine *e, size_t hop, const char *key);
struct es_conn;
/* Elasticsearch as the stack's api reaches it (names resolved to addresses). */
int engine_es_open(struct engine *e, struct es_conn *es, struct tu_err *err);
/* Waits, within the smoke timeout, for Elasticsearch's health to be yellow or green,
 * saying once that phase waits "before <before>". After a daemon restart
 * Elasticsearch boots on its own clock: a phase that writes to it (install's
 * POST /install, the migration's plan and counts) waits rather than fail half-way.
 * 0, -1 (err set) or PHASE_INTERRUPTED. */
int engine_wait_es(struct engine *e, const char *phase, const char *before, struct tu_err *err);
/* True once base/info/version answers `want` on every request for
 * PUBLIC_STABLE_MS (polled PUBLIC_STABLE_POLL_MS apart), within timeout_ms.
 * After a reload nginx's master starts the new workers, waits 100 ms and only
 * then tells the old ones to stop taking connections: for that moment, longer on
 * a busy host, a new connection may still reach the release switched away from.
 * One answer of the new version is not yet the switch. *first_ms (may be NULL)
 * is the monotonic time of the first answer of that steady run. */
#define PUBLIC_STABLE_MS 400
#define PUBLIC_STABLE_POLL_MS 50
int engine_public_answers(const char *base, const char *want, long timeout_ms, long *first_ms);
/* The URL of a port a container publishes by its HostConfig (set even while it is
 * stopped), or NULL (the caller frees). */
char *engine_port_url(json_t *inspect, int port);
/* The public URL of the api through the edge, or NULL (the caller frees). */
char *engine_public_url(struct engine *e);

#endif
