/* api.h - the tracardi-api stand-in (mode "api") and the migration runner it shares with the worker */
#ifndef STANDIN_API_H
#define STANDIN_API_H

#include <pthread.h>
#include <jansson.h>
#include "http_client.h"
#include "http_server.h"
#include "releases.h"

struct api_ctx {
	const struct release *rel;
	struct naming nm;
	struct es_conn es;
	const char *redis_addr;
	const char *redis_password;
	const char *install_token;
	const char *fault;
	int production_default;
	char instance_id[37];
	char token_space[41];      /* per-release key space of tokens in Redis */
	pthread_mutex_t lock;
	json_t *upgrades;          /* db_versions migrated from since start, as the real API remembers */
};

int api_main(void);
int worker_main(void);

/* Sends {"detail": text}. */
void api_detail(struct http_resp *resp, int status, const char *detail);
/* Sends FastAPI's 422 for missing fields; where is "body" or "query"; names NULL-terminated. */
void api_missing(const struct api_ctx *api, struct http_resp *resp, const char *where, const char *const *names);
/* Checks the bearer token and roles; sends 401 and returns NULL when refused. Caller releases the user. */
json_t *api_auth(struct api_ctx *api, const struct http_req *req, struct http_resp *resp, const char *const *roles);
int api_production(const struct api_ctx *api, const struct http_req *req);

void api_internal_error(struct http_resp *resp, const char *why);

/* Installation (api_install.c). */
void api_install(struct api_ctx *api, const struct http_req *req, struct http_resp *resp);
/* schema_ok and admin_ok the way the real installation check computes them. */
void api_install_status(struct api_ctx *api, int *schema_ok, int *admin_ok);
/* Salted SHA-1 of a password as the stand-in stores it; out holds 41 bytes. */
void api_password_hash(const char *password, char out[41]);

/* Migration endpoints (api_migration.c). */
void api_migrations_list(struct api_ctx *api, struct http_resp *resp);
void api_migration_plan(struct api_ctx *api, const struct http_req *req, struct http_resp *resp, const char *from_db);
void api_migration_start(struct api_ctx *api, const struct http_req *req, struct http_resp *resp);
void api_standin_runs(struct api_ctx *api, struct http_resp *resp);

/*
 * Runs a migration job as the update-worker does (worker.c): copies each schema's documents,
 * keeps task progress in Elasticsearch and records the run. fault may be NULL.
 */
struct redis;
/* celery: a connection to the release's Redis for Celery's task states (0.8.x), or NULL. */
void migration_run(const struct naming *nm, json_t *job, const char *fault, struct redis *celery);
/* Redis list the release's API pushes jobs to and its worker pops from. */
const char *queue_key(const struct release *rel);

#endif
