/*
 * craftmatchd — the craftmatch server: HTTP API, matching engine and push
 * hub in one event loop (roles can be split across processes; see --role).
 *
 * main() builds the app context, wires the subsystems and runs the loop
 * until SIGTERM/SIGINT, then drains in-flight requests and frees everything.
 */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "common/xalloc.h"
#include "server/admin.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/config.h"
#include "server/engine/callmarket.h"
#include "server/engine/clearing.h"
#include "server/engine/engine.h"
#include "server/expiry.h"
#include "server/http/auth.h"
#include "server/http/metrics.h"
#include "server/api/import_run.h"
#include "server/api/routes.h"
#include "server/http/server.h"
#include "server/log.h"
#include "server/push/hub.h"
#include "server/search/search.h"
#include "server/store/feed.h"
#include "server/store/sentinel.h"
#include "server/store/store.h"
#include "server/web/static.h"

#ifdef CRAFTMATCH_JEMALLOC
/*
 * jemalloc's settings, read when it starts (MALLOC_CONF in the environment
 * still overrides them). A burst of connections (10,000 subscribers
 * reconnecting after a restart) frees its requests' memory at once; by
 * default jemalloc returns such pages over 10 s and only while the process
 * keeps allocating, so an idle hub kept them. A background thread returns
 * them on its own, within about a second (docs/performance.md, "Fifth pass
 * (issue 15): hub").
 */
const char *malloc_conf = "background_thread:true,dirty_decay_ms:1000";
#endif

struct main_state {
	struct app *app;
	struct event *sigterm, *sigint, *grace;
	int stopping;
};

static void main_exit_now(evutil_socket_t fd, short what, void *arg)
{
	struct main_state *m = arg;
	log_warn("main", "grace period over, exiting with requests in flight", "inflight=%llu",
		 (unsigned long long)http_server_stats(m->app->http)->requests_inflight);
	event_base_loopexit(m->app->base, NULL);
}

static void main_drained(void *arg)
{
	struct main_state *m = arg;
	log_info("main", "drained, exiting", "%s", "");
	event_base_loopexit(m->app->base, NULL);
}

static void main_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct main_state *m = arg;
	if (m->stopping) {
		log_warn("main", "second signal, exiting now", "signal=%d", (int)sig);
		event_base_loopexit(m->app->base, NULL);
		return;
	}
	m->stopping = 1;
	log_info("main", "stopping: no new connections, finishing requests", "signal=%d grace_s=%d",
		 (int)sig, m->app->cfg.shutdown_grace_s);
	struct timeval grace = {m->app->cfg.shutdown_grace_s, 0};
	evtimer_add(m->grace, &grace);
	hub_drain(m->app->hub); /* open event streams end; their clients reconnect elsewhere */
	http_server_drain(m->app->http, main_drained, m);
}

/* libevent's own warnings become log lines like every other. */
static void main_libevent_log(int severity, const char *msg)
{
	enum log_level level = severity == EVENT_LOG_DEBUG  ? LOG_DEBUG
			       : severity == EVENT_LOG_MSG  ? LOG_INFO
			       : severity == EVENT_LOG_WARN ? LOG_WARN
							    : LOG_ERROR;
	char q[512];
	log_write(level, "libevent", "message", "text=%s", log_quote(q, sizeof(q), msg));
}

static void main_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct app app;
	memset(&app, 0, sizeof(app));
	char err[256];
	if (config_load(&app.cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "craftmatchd: %s\n", err);
		return 2;
	}
	if (app.cfg.show_help) {
		config_usage(stdout);
		return 0;
	}
	if (app.cfg.show_version) {
		printf("craftmatchd %s\n", CRAFTMATCH_VERSION);
		return 0;
	}
	if (app.cfg.show_routes) {
		for (size_t i = 0; i < api_routes_count; i++)
			printf("%s %s\n", api_routes[i].method, api_routes[i].pattern);
		return 0;
	}
	log_setup(app.cfg.log_level, app.cfg.log_format);
	static_resolve_root(&app.cfg);
	event_set_log_callback(main_libevent_log);
	signal(SIGPIPE, SIG_IGN);
	main_raise_fd_limit();

	app.started_at = (double)clock_now_ms() / 1e3;
	app.base = event_base_new();

	const char **methods = xcalloc(api_routes_count, sizeof(*methods));
	const char **names = xcalloc(api_routes_count, sizeof(*names));
	for (size_t i = 0; i < api_routes_count; i++) {
		methods[i] = api_routes[i].method;
		names[i] = api_routes[i].pattern;
	}
	app.metrics = metrics_new(methods, names, api_routes_count);

	int rc = 1;
	struct main_state m = {.app = &app};
	const struct redis_locator *via = NULL; /* --sentinels: they name the primary */
	if (app.cfg.sentinels[0]) {
		const char *why;
		app.sentinel = sentinel_new(app.base, app.cfg.sentinels, app.cfg.sentinel_master,
					    app.cfg.redis_timeout_ms, &why);
		if (app.sentinel == NULL) {
			fprintf(stderr, "craftmatchd: --sentinels: %s\n", why);
			goto done;
		}
		via = sentinel_locator(app.sentinel);
	}
	app.store = store_new(app.base, app.cfg.redis_url, via, app.cfg.redis_timeout_ms);
	if (app.store == NULL) {
		fprintf(stderr, "craftmatchd: --redis-url: cannot parse '%s'\n", app.cfg.redis_url);
		goto done;
	}
	app.store->events_maxlen = app.cfg.events_maxlen;
	if (app.cfg.durability_replicated) {
		app.store->durability_replicas = app.cfg.durability_replicas;
		app.store->durability_timeout_ms = app.cfg.durability_timeout_ms;
	}
	if (app.cfg.create_admin[0]) {
		rc = admin_create(&app, app.cfg.create_admin);
		goto done;
	}
	app.imports = imports_new(&app);
	app.http = http_server_new(&app, api_routes, api_routes_count, static_unrouted);
	if (app.http == NULL)
		goto done;

	app.expiry = expiry_start(&app);
	/* One cm:events reader for the engine, the push hub and whatever else follows the stream.
	 */
	app.feed = feed_new(app.base, app.cfg.redis_url, via, app.cfg.redis_timeout_ms);
	if (app.cfg.role == ROLE_ALL || app.cfg.role == ROLE_ENGINE)
		app.engine = engine_start(&app);
	if (app.engine && app.cfg.call_interval_s > 0)
		app.callmarket = callmarket_start(&app, app.engine);
	/* forums a stopped daemon left in clearing are cleared now */
	if (app.cfg.role == ROLE_ALL || app.cfg.role == ROLE_ENGINE)
		clearing_resume(&app);
	if (app.cfg.role == ROLE_ALL || app.cfg.role == ROLE_PUSH)
		app.hub = hub_start(&app);
	if (app.cfg.role == ROLE_ALL || app.cfg.role == ROLE_API)
		app.search = search_start(&app);
	m.sigterm = evsignal_new(app.base, SIGTERM, main_on_signal, &m);
	m.sigint = evsignal_new(app.base, SIGINT, main_on_signal, &m);
	m.grace = evtimer_new(app.base, main_exit_now, &m);
	evsignal_add(m.sigterm, NULL);
	evsignal_add(m.sigint, NULL);

	log_info("main", "listening", "bind=%s port=%d role=%s version=%s redis=%s", app.cfg.bind,
		 http_server_port(app.http), config_role_name(app.cfg.role), CRAFTMATCH_VERSION,
		 app.cfg.redis_url[0] ? "configured" : "none");
	char qroot[1100];
	log_info("main", "serving the web app", "web_root=%s",
		 log_quote(qroot, sizeof(qroot), app.cfg.web_root));
	event_base_dispatch(app.base);
	rc = 0;
	log_info("main", "stopped", "rc=%d", rc);

done:
	expiry_stop(app.expiry);
	callmarket_stop(
	    app.callmarket); /* joins its worker; its calls in flight end on their own */
	engine_stop(app.engine);
	search_stop(app.search); /* searches still waiting get 503 */
	clearing_stop(&app);
	imports_stop(app.imports); /* no new batch; dry runs still waiting get 503 */
	/* Store first: its pending callbacks may still answer requests. */
	store_free(app.store);
	imports_free(app.imports); /* after the store: its callbacks reach the imports */
	hub_stop(
	    app.hub); /* after the store (its callbacks), before the server (its connections) */
	feed_free(app.feed); /* after its consumers: the engine, the hub and the search index */
	sentinel_free(app.sentinel); /* after every link that follows it */
	http_server_free(app.http);
	if (m.sigterm)
		event_free(m.sigterm);
	if (m.sigint)
		event_free(m.sigint);
	if (m.grace)
		event_free(m.grace);
	metrics_free(app.metrics);
	free(app.stats_metrics);
	auth_cache_free(&app);
	free(methods);
	free(names);
	event_base_free(app.base);
	libevent_global_shutdown();
	return rc;
}
