/* celery.h - Celery's Redis result backend, as the 0.8.x worker writes it and the api reads it */
#ifndef STANDIN_CELERY_H
#define STANDIN_CELERY_H

#include <jansson.h>
#include "redis.h"

/*
 * Stores a task's state under "celery-task-meta-<id>" (Celery's key prefix), for a day
 * (Celery's default result_expires). result may be NULL (stored as null); it is borrowed.
 * Returns 0 or -1.
 */
int celery_meta_set(struct redis *r, const char *id, const char *status, json_t *result);
/*
 * Reads a task's state: *status is PENDING (and *result NULL) for an unknown id, as Celery
 * answers. *status points into a static string; *result is the caller's. Returns 0 or -1.
 */
int celery_meta_get(struct redis *r, const char *id, const char **status, json_t **result);

#endif
