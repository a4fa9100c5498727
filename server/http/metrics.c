/*
 * metrics — request counters, latency histograms, Prometheus text (see metrics.h).
 */
#include "server/http/metrics.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define N_BUCKETS METRICS_BUCKETS

/* Status codes are few; keep a short list per route. */
#define MAX_STATUSES 12

struct metrics_route {
	int statuses[MAX_STATUSES];
	uint64_t counts[MAX_STATUSES];
	int n_statuses;
	struct metrics_histogram h;
};

struct metrics {
	const char *const *methods;
	const char *const *names;
	size_t n;
	struct metrics_route *routes; /* n + 1 */
};

struct metrics *metrics_new(const char *const *route_methods, const char *const *route_names,
			    size_t n_routes)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	m->methods = route_methods;
	m->names = route_names;
	m->n = n_routes;
	m->routes = xcalloc(n_routes + 1, sizeof(*m->routes));
	return m;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	free(m->routes);
	free(m);
}

void metrics_observe_request(struct metrics *m, size_t route, int status, uint64_t elapsed_ns)
{
	if (route > m->n)
		route = m->n;
	struct metrics_route *r = &m->routes[route];
	int i;
	for (i = 0; i < r->n_statuses; i++)
		if (r->statuses[i] == status)
			break;
	if (i == r->n_statuses) {
		if (r->n_statuses == MAX_STATUSES)
			i = MAX_STATUSES - 1; /* fold rare extras into the last slot */
		else
			r->statuses[r->n_statuses++] = status;
	}
	r->counts[i]++;
	metrics_histogram_observe(&r->h, elapsed_ns);
}

/* Samples of one histogram; labels is "" or `key="v",...` with a trailing comma. */
static void metrics_histogram_samples(struct evbuffer *out, const char *name, const char *labels,
				      const struct metrics_histogram *h)
{
	uint64_t cum = 0;
	for (size_t b = 0; b <= N_BUCKETS; b++) {
		cum += h->bucket[b];
		if (b < N_BUCKETS)
			evbuffer_add_printf(out, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels,
					    metrics_buckets[b], (unsigned long long)cum);
		else
			evbuffer_add_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
					    (unsigned long long)cum);
	}
	size_t ll = strlen(labels);
	/* _sum and _count take the labels without the trailing comma. */
	evbuffer_add_printf(out, "%s_sum%s%.*s%s %.9f\n%s_count%s%.*s%s %llu\n", name,
			    ll ? "{" : "", (int)(ll ? ll - 1 : 0), labels, ll ? "}" : "",
			    (double)h->sum_ns / 1e9, name, ll ? "{" : "", (int)(ll ? ll - 1 : 0),
			    labels, ll ? "}" : "", (unsigned long long)h->count);
}

void metrics_histogram_render(struct evbuffer *out, const char *name, const char *help,
			      const struct metrics_histogram *h)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	metrics_histogram_samples(out, name, "", h);
}

static void metrics_labels(struct metrics *m, size_t i, const char **method, const char **name)
{
	*method = i < m->n ? m->methods[i] : "";
	*name = i < m->n ? m->names[i] : "unmatched";
}

void metrics_render(struct metrics *m, struct evbuffer *out, metrics_extra_fn extra, void *arg)
{
	evbuffer_add_printf(out,
			    "# HELP craftmatch_http_requests_total HTTP requests answered, by "
			    "route and status.\n# TYPE craftmatch_http_requests_total counter\n");
	for (size_t i = 0; i <= m->n; i++) {
		const char *method, *name;
		metrics_labels(m, i, &method, &name);
		for (int s = 0; s < m->routes[i].n_statuses; s++)
			evbuffer_add_printf(
			    out,
			    "craftmatch_http_requests_total{method=\"%s\",route=\"%s\","
			    "status=\"%d\"} %llu\n",
			    method, name, m->routes[i].statuses[s],
			    (unsigned long long)m->routes[i].counts[s]);
	}
	evbuffer_add_printf(out,
			    "# HELP craftmatch_http_request_duration_seconds Time from request "
			    "dispatch to the reply, by route.\n"
			    "# TYPE craftmatch_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= m->n; i++) {
		struct metrics_route *r = &m->routes[i];
		if (r->h.count == 0)
			continue;
		const char *method, *name;
		metrics_labels(m, i, &method, &name);
		char labels[256];
		snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\",", method, name);
		metrics_histogram_samples(out, "craftmatch_http_request_duration_seconds", labels,
					  &r->h);
	}
	if (extra)
		extra(out, arg);
}

void metrics_put_gauge(struct evbuffer *out, const char *name, const char *help, double value)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name,
			    name, value);
}

void metrics_put_counter(struct evbuffer *out, const char *name, const char *help, uint64_t value)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name,
			    name, (unsigned long long)value);
}
