/*
 * histogram — a latency histogram with the buckets every craftmatch
 * histogram shares: counted where the work is done (the engine, the HTTP
 * server), rendered in the Prometheus format by server/http/metrics.c.
 * Below every role, so a role that observes durations needs nothing of http.
 */
#ifndef CM_HISTOGRAM_H
#define CM_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_BUCKETS 16
struct metrics_histogram {
	uint64_t bucket[METRICS_BUCKETS + 1]; /* the last is +Inf */
	uint64_t count;
	uint64_t sum_ns;
};

/* Upper bounds in seconds of buckets 0..METRICS_BUCKETS-1; the last is +Inf. */
extern const double metrics_buckets[METRICS_BUCKETS];

void metrics_histogram_observe(struct metrics_histogram *h, uint64_t elapsed_ns);

#endif
