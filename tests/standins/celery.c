/* celery.c - Celery's Redis result backend, as the 0.8.x worker writes it and the api reads it */
#include "celery.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define META_PREFIX "celery-task-meta-"
#define EXPIRES "86400"

int celery_meta_set(struct redis *r, const char *id, const char *status, json_t *result)
{
	char done[32] = "";
	if (strcmp(status, "SUCCESS") == 0 || strcmp(status, "FAILURE") == 0)
		iso_time(done, sizeof done);
	json_t *meta = json_pack("{s:s, s:O?, s:n, s:[], s:s?, s:s}", "status", status, "result", result,
				 "traceback", "children", "date_done", done[0] ? done : NULL, "task_id", id);
	char *text = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	char *key = xasprintf(META_PREFIX "%s", id);
	struct redis_reply rep;
	const char *set[] = { "SET", key, text, "EX", EXPIRES };
	int rc = redis_cmd(r, &rep, 5, set);
	if (rc == 0 && rep.type != R_STATUS)
		rc = -1;
	redis_reply_free(&rep);
	free(key);
	free(text);
	return rc;
}

static const char *known_state(const char *s)
{
	static const char *const states[] = { "PENDING", "PROGRESS", "SUCCESS", "FAILURE", "REVOKED", NULL };
	for (size_t i = 0; s && states[i]; i++)
		if (strcmp(s, states[i]) == 0)
			return states[i];
	return "PENDING";
}

int celery_meta_get(struct redis *r, const char *id, const char **status, json_t **result)
{
	*status = "PENDING";
	*result = NULL;
	char *key = xasprintf(META_PREFIX "%s", id);
	struct redis_reply rep;
	const char *get[] = { "GET", key };
	int rc = redis_cmd(r, &rep, 2, get);
	free(key);
	if (rc == 0 && rep.type == R_BULK) {
		json_t *meta = json_loadb(rep.str, rep.len, 0, NULL);
		*status = known_state(json_string_value(json_object_get(meta, "status")));
		json_t *res = json_object_get(meta, "result");
		if (res && !json_is_null(res))
			*result = json_incref(res);
		json_decref(meta);
	} else if (rc == 0 && rep.type != R_NIL) {
		rc = -1;
	}
	redis_reply_free(&rep);
	return rc;
}
