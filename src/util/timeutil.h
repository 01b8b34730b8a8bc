/* timeutil.h - wall-clock stamps for journals and history, monotonic milliseconds for waits. */
#ifndef TRACUP_TIMEUTIL_H
#define TRACUP_TIMEUTIL_H

#include <stddef.h>

/* "2026-11-22T02:03:04Z" into buf (at least 21 bytes). */
const char *time_iso_now(char *buf, size_t len);
/* "20261122T020304Z" into buf (at least 17 bytes), for ids and file names. */
const char *time_compact_now(char *buf, size_t len);
long time_mono_ms(void);
/* Sleeps ms milliseconds (a signal may cut it short: callers check their flags). */
void time_sleep_ms(long ms);

#endif
