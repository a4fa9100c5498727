/*
 * health — /healthz, /readyz and /metrics (see health.h).
 *
 * /readyz answers at once with the store's reason when it is not ready;
 * when it is, it asks Redis (FCALL_RO cm_version) rather than trusting a
 * flag, so it also notices a flushed or replaced function library.
 */
#include "server/api/health.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/stats.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/engine/callmarket.h"
#include "server/engine/engine.h"
#include "server/http/metrics.h"
#include "server/http/request.h"
#include "server/http/server.h"
#include "server/push/hub.h"
#include "server/search/search.h"
#include "server/store/feed.h"
#include "server/store/sentinel.h"
#include "server/store/stats.h"
#include "server/store/store.h"

void health_healthz(struct http_req *r)
{
	json_t *b = json_pack("{s:s, s:s, s:s, s:f}", "status", "ok", "version", CRAFTMATCH_VERSION,
			      "role", config_role_name(r->app->cfg.role), "uptime_seconds",
			      (double)clock_now_ms() / 1e3 - r->app->started_at);
	http_reply_json(r, 200, b);
}

static void health_ready_reply(int ready, const char *why, void *arg)
{
	struct http_req *r = arg;
	if (!ready) {
		http_reply_unavailable(r, why);
		return;
	}
	char version[24];
	snprintf(version, sizeof(version), "%ld", library_loaded_version(r->app->store->library));
	http_reply_json(
	    r, 200,
	    json_pack("{s:s, s:s, s:s}", "status", "ready", "redis", "ok", "functions", version));
}

void health_readyz(struct http_req *r)
{
	/* Not ready: the store knows why (refused, loading, another library...). */
	if (!store_ready(r->app->store)) {
		http_reply_unavailable(r, store_why(r->app->store));
		return;
	}
	/* An API node serves searches once its index is loaded and current. */
	if (r->app->search && !search_ready(r->app->search)) {
		http_reply_unavailable(r, "the search index is loading");
		return;
	}
	store_probe(r->app->store, health_ready_reply, r);
}

static void health_metrics_extra(struct evbuffer *out, void *arg)
{
	struct app *app = arg;
	const struct http_server_stats *hs = http_server_stats(app->http);
	const struct redis_stats *rs = redis_stats(app->store->link);
	metrics_put_gauge(out, "craftmatch_http_connections_open", "Client connections open now.",
			  (double)hs->connections_open);
	metrics_put_counter(out, "craftmatch_http_connections_total",
			    "Client connections accepted since start.", hs->connections_total);
	metrics_put_counter(out, "craftmatch_http_connection_cap_pauses_total",
			    "Times the connection cap paused accepting.", hs->connections_paused);
	metrics_put_gauge(out, "craftmatch_http_requests_inflight", "Requests being answered now.",
			  (double)hs->requests_inflight);
	metrics_put_counter(out, "craftmatch_http_request_timeouts_total",
			    "Requests not received within the request timeout (408).",
			    hs->request_timeouts);
	metrics_put_counter(out, "craftmatch_http_oversize_rejected_total",
			    "Requests refused for oversize headers or body (431, 413).",
			    hs->rejected_oversize);
	metrics_put_gauge(out, "craftmatch_redis_up", "1 when the store's Redis link is ready.",
			  store_ready(app->store) ? 1 : 0);
	metrics_put_counter(out, "craftmatch_redis_reconnects_total",
			    "Successful reconnections to Redis after a lost link.", rs->reconnects);
	metrics_put_counter(out, "craftmatch_redis_disconnects_total", "Redis links lost.",
			    rs->disconnects);
	metrics_put_counter(out, "craftmatch_redis_refused_total",
			    "Redis links dropped before they became usable (refused, closed).",
			    rs->refusals);
	metrics_put_counter(out, "craftmatch_redis_timeouts_total",
			    "Redis calls that missed their deadline.", rs->timeouts);
	metrics_put_counter(out, "craftmatch_redis_commands_total", "Redis calls issued.",
			    rs->commands);
	metrics_put_gauge(out, "craftmatch_redis_pending", "Redis calls awaiting a reply.",
			  (double)rs->pending);
	metrics_put_counter(out, "craftmatch_redis_function_loads_total",
			    "Times the function library was loaded into Redis.",
			    library_loads(app->store->library));
	if (app->sentinel) {
		const struct sentinel_stats *ss = sentinel_stats(app->sentinel);
		metrics_put_counter(out, "craftmatch_sentinel_discoveries_total",
				    "Rounds of SENTINEL get-master-addr-by-name asked.",
				    ss->discoveries);
		metrics_put_counter(out, "craftmatch_sentinel_switches_total",
				    "+switch-master messages followed.", ss->switches);
		metrics_put_counter(
		    out, "craftmatch_sentinel_primary_changes_total",
		    "Times the Redis primary's address changed (the first discovery "
		    "counts).",
		    ss->changes);
	}
	if (app->feed) {
		const struct feed_stats *fs = feed_stats(app->feed);
		metrics_put_gauge(out, "craftmatch_feed_consumers",
				  "Consumers of the process's one cm:events reader (engine, push "
				  "hub, search index).",
				  (double)fs->consumers);
		metrics_put_counter(out, "craftmatch_feed_batches_total",
				    "Batches of cm:events entries the shared live read handed out.",
				    fs->batches);
		metrics_put_counter(out, "craftmatch_feed_catchup_pages_total",
				    "Pages read for consumers behind the live read.",
				    fs->catchup_pages);
	}
	if (app->engine) {
		const struct engine_stats *es = engine_stats(app->engine);
		metrics_put_gauge(out, "craftmatch_engine_ready",
				  "1 when the engine's index is built and its feed is live.",
				  es->ready);
		metrics_put_counter(out, "craftmatch_engine_primary_restarts_total",
				    "Times the engine rebuilt its index because the Redis primary "
				    "changed (--sentinels).",
				    es->restarts);
		metrics_put_gauge(out, "craftmatch_engine_listings",
				  "Open listings in the engine's index.", (double)es->listings);
		metrics_put_gauge(out, "craftmatch_engine_queue", "Listings waiting to be matched.",
				  (double)es->queued);
		metrics_put_gauge(out, "craftmatch_engine_rounds_in_flight",
				  "Proposal rounds sent to Redis and not answered yet.",
				  (double)es->rounds);
		metrics_put_gauge(out, "craftmatch_engine_reserved_base_units",
				  "Quantity those rounds hold back from planning (both sides).",
				  (double)es->reserved);
		metrics_put_counter(out, "craftmatch_engine_runs_total", "Matching runs made.",
				    es->runs);
		metrics_put_counter(out, "craftmatch_engine_proposals_total",
				    "Proposals written to Redis.", es->proposed);
		metrics_put_counter(out, "craftmatch_engine_refused_total",
				    "Proposals Redis refused (stock taken first, listing changed).",
				    es->refused);
		metrics_put_counter(out, "craftmatch_engine_unknown_total",
				    "Of the refused, proposals whose call failed (deadline, lost "
				    "link, unconfirmed write): Redis may have made them.",
				    es->unknown);
		metrics_put_counter(out, "craftmatch_engine_events_total",
				    "cm:events entries the engine applied.", es->events);
		metrics_histogram_render(out, "craftmatch_engine_event_to_proposal_seconds",
					 "From a listing's event to its proposals being written.",
					 &es->latency);
		metrics_histogram_render(out, "craftmatch_engine_plan_cpu_seconds",
					 "CPU time of one matching plan.", &es->plan);
	}
	if (app->search) {
		const struct search_stats *ss = search_stats(app->search);
		metrics_put_gauge(
		    out, "craftmatch_search_ready",
		    "1 when the search index is loaded and has caught up with the stream.",
		    ss->ready);
		metrics_put_gauge(out, "craftmatch_search_listings",
				  "Open listings in the search index.", (double)ss->listings);
		metrics_put_gauge(out, "craftmatch_search_bytes",
				  "Memory the search index holds (listings, texts, lists).",
				  (double)ss->bytes);
		metrics_put_gauge(out, "craftmatch_search_load_seconds",
				  "How long the last load of the index took, to caught up.",
				  ss->load_seconds);
		metrics_put_counter(out, "craftmatch_search_events_total",
				    "cm:events entries the search index applied.", ss->events);
		metrics_put_counter(out, "craftmatch_search_searches_total",
				    "Searches answered from the index.", ss->searches);
		metrics_put_counter(
		    out, "craftmatch_search_waits_total",
		    "Searches that waited for the index to apply the caller's write.", ss->waits);
		metrics_put_counter(out, "craftmatch_search_wait_timeouts_total",
				    "Of them, those answered 503 after the bounded wait.",
				    ss->wait_timeouts);
	}
	const struct callmarket_stats *cs =
	    app->callmarket ? callmarket_stats(app->callmarket) : NULL;
	if (cs) {
		metrics_put_counter(out, "craftmatch_callmarket_rounds_total",
				    "Call market rounds run to their end.", cs->rounds);
		metrics_put_counter(
		    out, "craftmatch_callmarket_skipped_total",
		    "Call market ticks that ran no round (the last one still running, "
		    "the engine not ready, or another node's turn).",
		    cs->skipped);
		metrics_put_counter(out, "craftmatch_callmarket_proposals_total",
				    "Proposals of call market rounds written to Redis.",
				    cs->proposed);
		metrics_put_counter(
		    out, "craftmatch_callmarket_refused_total",
		    "Proposals of call market rounds Redis refused (a listing changed "
		    "after the round's copy).",
		    cs->refused);
		metrics_put_gauge(out, "craftmatch_callmarket_last_round_listings",
				  "Open listings the last round copied from the index.",
				  (double)cs->last_listings);
		metrics_put_gauge(out, "craftmatch_callmarket_last_round_screened",
				  "Of them, the listings the price screen left for the solve.",
				  (double)cs->last_screened);
		metrics_put_gauge(out, "craftmatch_callmarket_last_round_arcs",
				  "Feasible pairs the last round solved over.",
				  (double)cs->last_arcs);
		metrics_put_gauge(out, "craftmatch_callmarket_last_round_proposals",
				  "Proposals the last round wrote.", (double)cs->last_proposals);
		metrics_histogram_render(out, "craftmatch_callmarket_round_seconds",
					 "A round from its copy of the index to the last answer.",
					 &cs->round);
		metrics_histogram_render(
		    out, "craftmatch_callmarket_solve_cpu_seconds",
		    "Worker CPU time of a round: screen, pairs, solve, documents.", &cs->solve);
		metrics_histogram_render(out, "craftmatch_callmarket_copy_seconds",
					 "Event-loop time of a round's copy of the index.",
					 &cs->copy);
	}
	if (app->hub) {
		const struct hub_stats *ps = hub_stats(app->hub);
		metrics_put_gauge(
		    out, "craftmatch_events_hub_live",
		    "1 once the push hub reads cm:events (new streams start at once).", ps->live);
		metrics_put_gauge(out, "craftmatch_events_subscribers",
				  "Open /v1/events streams on this process.",
				  (double)ps->subscribers);
		metrics_put_counter(
		    out, "craftmatch_events_delivered_total",
		    "Events written to /v1/events subscribers (one per subscriber).",
		    ps->delivered);
		metrics_put_counter(
		    out, "craftmatch_events_dropped_slow_total",
		    "Subscribers dropped for leaving more than --events-buffer-bytes "
		    "unread.",
		    ps->dropped_slow);
		metrics_put_counter(out, "craftmatch_events_resets_total",
				    "reset events sent: a resume point older than the events kept.",
				    ps->resets);
		metrics_put_counter(out, "craftmatch_events_catchup_pages_total",
				    "Pages of cm:events read for subscribers catching up.",
				    ps->pages);
	}
	metrics_put_gauge(out, "craftmatch_process_start_time_seconds",
			  "Start time of the process since the Unix epoch.", app->started_at);
	if (app->stats_metrics)
		evbuffer_add(out, app->stats_metrics, strlen(app->stats_metrics));
}

/* The business counters are read again when older than this (ms). */
#define HEALTH_STATS_FRESH_MS 2000

static void health_metrics_send(struct http_req *r)
{
	struct evbuffer *out = evbuffer_new();
	metrics_render(r->app->metrics, out, health_metrics_extra, r->app);
	http_reply_buffer(r, 200, "text/plain; version=0.0.4; charset=utf-8", out);
	evbuffer_free(out);
}

/* Only the cache: no request waits for this read, and at shutdown the
 * store fails it (not OK) before anything it would touch is freed. */
static void health_stats_read(const struct store_reply *res, void *arg)
{
	struct app *app = arg;
	app->stats_metrics_reading = 0;
	if (res->status == STORE_OK) {
		free(app->stats_metrics);
		app->stats_metrics = stats_metrics_text(res->value);
		app->stats_metrics_at = clock_now_ms();
	}
}

/*
 * /metrics never waits on Redis (a scrape must answer while Redis is slow
 * or away): it shows the business counters of the last read, and starts a
 * new read in the background when that one is older than
 * HEALTH_STATS_FRESH_MS (one at a time).
 */
void health_metrics(struct http_req *r)
{
	struct app *app = r->app;
	if (!app->stats_metrics_reading && store_ready(app->store) &&
	    (app->stats_metrics == NULL ||
	     clock_now_ms() - app->stats_metrics_at >= HEALTH_STATS_FRESH_MS)) {
		app->stats_metrics_reading = 1;
		store_stats_read(app->store, NULL, 0, health_stats_read, app);
	}
	health_metrics_send(r);
}
