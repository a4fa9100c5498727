/*
 * app — the process-wide context handed to handlers and subsystems.
 *
 * One per process, built by main(); nothing in it is global. Subsystems take
 * what they need from it explicitly.
 */
#ifndef CM_APP_H
#define CM_APP_H

#include <stdint.h>

#include "server/config.h"

struct event_base;
struct store;
struct http_server;
struct metrics;
struct expiry;
struct engine;
struct callmarket;
struct hub;
struct feed;
struct auth_cache;
struct imports;
struct search;

struct app {
	struct config cfg;
	struct event_base *base;
	struct store *store;
	struct sentinel *sentinel; /* --sentinels: who names the primary, or NULL */
	struct http_server *http;
	struct metrics *metrics;
	struct expiry *expiry;
	struct engine *engine;
	struct callmarket *callmarket; /* call market mode (--call-interval > 0), or NULL */
	struct hub *hub;	       /* the push hub (roles all and push), or NULL */
	struct feed *feed;     /* the one cm:events reader: engine, push hub, search index */
	struct search *search; /* the marketplace search index (roles all and api), or NULL */
	struct auth_cache *auth_cache; /* parsed accounts by token (server/http/auth.c) */
	struct imports *imports;       /* spreadsheet imports under way (server/api/import_run.c) */
	double started_at;	       /* wall clock, seconds */
	/* /metrics' business counters (common/stats.c), when read (ms), and
	 * whether a read is in flight (server/api/health.c). */
	char *stats_metrics;
	int64_t stats_metrics_at;
	int stats_metrics_reading;
};

#endif
