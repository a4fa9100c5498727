/*
 * metrics — counters and histograms, rendered in the Prometheus text format.
 *
 * Requests are counted by route (the pattern, never the raw path, so label
 * values stay few) and status; latency goes into one histogram per route.
 * Other subsystems register gauges and counters by callback at render time.
 */
#ifndef CM_HTTP_METRICS_H
#define CM_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "server/histogram.h"

struct evbuffer;
struct metrics;
/* Appends HELP, TYPE and the samples of one unlabelled histogram. */
void metrics_histogram_render(struct evbuffer *out, const char *name, const char *help,
			      const struct metrics_histogram *h);

/* route_names[i] labels route i; index n_routes is used for "unmatched". */
struct metrics *metrics_new(const char *const *route_methods, const char *const *route_names,
			    size_t n_routes);
void metrics_free(struct metrics *m);

void metrics_observe_request(struct metrics *m, size_t route, int status, uint64_t elapsed_ns);

/* Appends the full exposition: request metrics and then extra(). */
typedef void (*metrics_extra_fn)(struct evbuffer *out, void *arg);
void metrics_render(struct metrics *m, struct evbuffer *out, metrics_extra_fn extra, void *arg);

/* Helpers for extra(): one sample with its HELP and TYPE lines. */
void metrics_put_gauge(struct evbuffer *out, const char *name, const char *help, double value);
void metrics_put_counter(struct evbuffer *out, const char *name, const char *help, uint64_t value);

#endif
