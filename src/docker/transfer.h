/* transfer.h - large bodies to and from the daemon, streamed (image save and load). */
#ifndef TRACUP_DOCKER_TRANSFER_H
#define TRACUP_DOCKER_TRANSFER_H

#include <stddef.h>
#include <sys/types.h>

#include "docker/client.h"
#include "util/jsonl.h"

/* Takes the next chunk of a 2xx body; return 0 to go on, non-zero to stop (an error). */
typedef int (*docker_sink_fn)(void *ud, const char *data, size_t len);
/* Fills up to cap bytes of a request body; returns the count, 0 at the end, -1 on an
 * error (the transfer is aborted). */
typedef ssize_t (*docker_source_fn)(void *ud, char *buf, size_t cap);

/* GET path, handing the body to sink as it arrives (never held whole). Returns
 * the status on 2xx; -1 with err otherwise (the daemon's message, a transport
 * failure, d->interrupted, or the sink's stop as TU_ERR_IO unless the sink set
 * err itself through its own state). Silence is a stall (TU_ERR_TIMEOUT) after
 * first_byte_timeout_s while the daemon prepares its answer, after
 * stall_timeout_s while bytes go out or once the answer has started. */
long docker_download(struct docker *d, const char *path, docker_sink_fn sink, void *ud, struct tu_err *err);

/* POST path with a chunked body read from source, feeding the JSON-lines answer
 * to on_line. Returns the status on 2xx; -1 with err otherwise. A 2xx answer
 * may still carry an error in its stream: on_line has to look. */
long docker_upload(struct docker *d, const char *path, const char *content_type, docker_source_fn source,
                   void *source_ud, jsonl_line_fn on_line, void *line_ud, struct tu_err *err);

#endif
