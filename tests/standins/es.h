/* es.h - the Elasticsearch 7.13.2 stand-in (mode "es") */
#ifndef STANDIN_ES_H
#define STANDIN_ES_H

#include "es_store.h"
#include "http_server.h"

struct es_ctx {
	struct es_store st;
	char *basic_auth;   /* expected "Basic …" value, NULL when security is off */
};

int es_main(void);

/* Handlers in es_ops.c; called with the store lock held. */
void es_doc_route(struct es_ctx *es, const struct http_req *req, struct http_resp *resp,
		  const char *index, const char *op, const char *id);
void es_search(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *expr, int count_only);
void es_bulk(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *default_index);
void es_reindex(struct es_ctx *es, const struct http_req *req, struct http_resp *resp);
void es_tasks_list(struct es_ctx *es, const struct http_req *req, struct http_resp *resp);
void es_task_cancel(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *task_id);
void es_task_get(struct es_ctx *es, const struct http_req *req, struct http_resp *resp, const char *task_id);

/* Sends an error body built by es_error (released). */
void es_send_error(struct http_resp *resp, json_t *err);
/* Parses the request body as JSON; NULL and a parse error sent when invalid. */
json_t *es_body_json(const struct http_req *req, struct http_resp *resp, int required);

#endif
