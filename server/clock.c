/*
 * clock — the one place craftmatchd reads the time (see clock.h).
 */
#include "server/clock.h"

#include <stdio.h>
#include <time.h>

static uint64_t clock_read_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t clock_now_ms(void)
{
	return (int64_t)(clock_read_ns(CLOCK_REALTIME) / 1000000ull);
}

void clock_now_arg(char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)clock_now_ms());
}

const char *clock_text(int64_t ms, char buf[DATES_BUF])
{
	dates_format(ms, buf, DATES_BUF);
	return buf;
}

uint64_t clock_mono_ns(void)
{
	return clock_read_ns(CLOCK_MONOTONIC);
}

uint64_t clock_thread_cpu_ns(void)
{
	return clock_read_ns(CLOCK_THREAD_CPUTIME_ID);
}
