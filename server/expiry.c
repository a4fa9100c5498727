/*
 * expiry — periodic sweep of listings (cm:expiry) and of matches left
 * unanswered (cm:match_expiry); see expiry.h. One sweep at a time: listings
 * first, then matches.
 */
#include "server/expiry.h"

#include <event2/event.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/store/listings.h"
#include "server/store/matches.h"

#define EXPIRY_BATCH 500

struct expiry {
	struct app *app;
	struct event *timer;
	int busy;    /* a sweep is waiting for Redis */
	int stopped; /* expiry_stop ran while busy: the reply frees */
	uint64_t expired;
	uint64_t matches_expired;
	int listings_full; /* the listing sweep filled its batch */
};

static void expiry_schedule(struct expiry *e, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(e->timer, &tv);
}

static void expiry_matches_swept(const struct store_reply *res, void *arg)
{
	struct expiry *e = arg;
	e->busy = 0;
	if (e->stopped) {
		free(e);
		return;
	}
	int full = e->listings_full;
	if (res->status == STORE_OK && json_is_integer(res->value)) {
		json_int_t n = json_integer_value(res->value);
		e->matches_expired += (uint64_t)n;
		if (n > 0)
			log_info("expiry", "matches expired", "count=%lld", (long long)n);
		full |= n >= EXPIRY_BATCH;
	}
	/* More are due: go again at once rather than after an interval. */
	expiry_schedule(e, full ? 0 : e->app->cfg.expiry_interval_ms);
}

static void expiry_swept(const struct store_reply *res, void *arg)
{
	struct expiry *e = arg;
	if (e->stopped) {
		free(e);
		return;
	}
	e->listings_full = 0;
	if (res->status == STORE_OK && json_is_integer(res->value)) {
		json_int_t n = json_integer_value(res->value);
		e->expired += (uint64_t)n;
		if (n > 0)
			log_info("expiry", "listings expired", "count=%lld", (long long)n);
		e->listings_full = n >= EXPIRY_BATCH;
	}
	store_match_expire(e->app->store, clock_now_ms(), EXPIRY_BATCH, expiry_matches_swept, e);
}

static void expiry_tick(evutil_socket_t fd, short what, void *arg)
{
	struct expiry *e = arg;
	if (!store_ready(e->app->store)) {
		expiry_schedule(e, e->app->cfg.expiry_interval_ms);
		return;
	}
	e->busy = 1;
	store_listing_expire(e->app->store, clock_now_ms(), EXPIRY_BATCH, expiry_swept, e);
}

struct expiry *expiry_start(struct app *app)
{
	struct expiry *e = xcalloc(1, sizeof(*e));
	e->app = app;
	e->timer = evtimer_new(app->base, expiry_tick, e);
	expiry_schedule(e, app->cfg.expiry_interval_ms);
	return e;
}

void expiry_stop(struct expiry *e)
{
	if (e == NULL)
		return;
	event_free(e->timer);
	if (e->busy)
		e->stopped = 1;
	else
		free(e);
}

uint64_t expiry_count(const struct expiry *e)
{
	return e->expired;
}
