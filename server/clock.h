/*
 * clock — the one place craftmatchd reads the time.
 *
 * Wall-clock time (ms since the epoch) stamps what is written and shown:
 * created_at, expiry, log lines. The monotonic clock measures durations
 * (request latency, deadlines in metrics). The thread's CPU clock measures
 * the engine's own work. Nothing else in the daemon calls clock_gettime or
 * gettimeofday; see docs/decisions.md for why the reads are not cached.
 */
#ifndef CRAFTMATCH_CLOCK_H
#define CRAFTMATCH_CLOCK_H

#include <stdint.h>

#include "common/dates.h"

/* Wall-clock time in ms since the epoch. */
int64_t clock_now_ms(void);

/* clock_now_ms() as a decimal string, for a Redis function's argument. */
void clock_now_arg(char buf[24]);

/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" in buf (dates_format);
 * returns buf, so it can stand inside a call. */
const char *clock_text(int64_t ms, char buf[DATES_BUF]);

/* Monotonic time in ns: only differences mean anything. */
uint64_t clock_mono_ns(void);

/* CPU time the calling thread has used, in ns. */
uint64_t clock_thread_cpu_ns(void);

#endif
