/*
 * histogram — the shared buckets and one observation (see histogram.h).
 */
#include "server/histogram.h"

/* From 25 µs: the engine's plans (target: 100 µs) are read off the same buckets. */
const double metrics_buckets[METRICS_BUCKETS] = {0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001,
						 0.0025,   0.005,   0.01,   0.025,   0.05,   0.1,
						 0.25,	   0.5,	    1,	    2.5};

void metrics_histogram_observe(struct metrics_histogram *h, uint64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / 1e9;
	size_t b = 0;
	while (b < METRICS_BUCKETS && secs > metrics_buckets[b])
		b++;
	h->bucket[b]++;
	h->count++;
	h->sum_ns += elapsed_ns;
}
