/*
 * expiry — periodic sweep of listings (cm:expiry), of matches left
 * unanswered (cm:match_expiry) and of open forums whose registration has
 * closed by date (cm:forums:closing); see expiry.h. One sweep at a time:
 * listings, then matches, then forums.
 */
#include "server/expiry.h"

#include <event2/event.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "common/fields.h"
#include "common/forum.h"
#include "server/clock.h"
#include "server/engine/clearing.h"
#include "server/log.h"
#include "server/store/forums.h"
#include "server/store/listings.h"
#include "server/store/matches.h"

#define EXPIRY_BATCH 500
#define EXPIRY_FORUMS 50 /* forums taken to clearing per sweep at most */

struct expiry {
	struct app *app;
	struct event *timer;
	int busy;    /* a sweep is waiting for Redis */
	int stopped; /* expiry_stop ran while busy: the reply frees */
	uint64_t expired;
	uint64_t matches_expired;
	int listings_full; /* the listing sweep filled its batch */
	int more;	   /* a sweep filled its batch: go again at once */
	size_t closing;	   /* forum transitions still waiting for Redis */
	uint64_t forums_closed;
};

struct expiry_forum {
	struct expiry *e;
	char id[FIELDS_FORUM_MAX + 1];
};

static void expiry_schedule(struct expiry *e, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(e->timer, &tv);
}

/* The sweep is over: the next one, at once when more are due. */
static void expiry_done(struct expiry *e)
{
	e->busy = 0;
	if (e->stopped) {
		free(e);
		return;
	}
	expiry_schedule(e, e->more ? 0 : e->app->cfg.expiry_interval_ms);
}

/*
 * A forum whose registration closed by date went to clearing as if its
 * organiser had closed registration; a refusal is another process (or the
 * organiser) having done it first.
 */
static void expiry_forum_closed(const struct store_reply *res, void *arg)
{
	struct expiry_forum *f = arg;
	struct expiry *e = f->e;
	if (res->status == STORE_OK) {
		e->forums_closed++;
		log_info("expiry", "forum registration closed by date", "forum=%s", f->id);
		if (!e->stopped)
			clearing_start(e->app, f->id);
	} else if (res->status == STORE_UNCONFIRMED) {
		/* applied on the primary, not yet on a replica: cleared if it stands */
		if (!e->stopped)
			clearing_resume(e->app);
	} else if (res->status != STORE_REFUSED && res->status != STORE_CONFLICT) {
		log_warn("expiry", "forum registration not closed", "forum=%s error=\"%s\"", f->id,
			 res->message ? res->message : "");
	}
	free(f);
	if (--e->closing == 0)
		expiry_done(e);
}

static void expiry_forums_due(const struct store_reply *res, void *arg)
{
	struct expiry *e = arg;
	size_t n = res->status == STORE_OK ? json_array_size(res->value) : 0;
	if (e->stopped || n == 0) {
		expiry_done(e);
		return;
	}
	e->more |= n >= EXPIRY_FORUMS;
	const struct forum_transition *t = forum_transition_find("close-registration");
	/* one more than the calls, so none can end the sweep before all are sent */
	e->closing = 1;
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_array_get(res->value, i));
		if (id == NULL || !forum_id_ok(id))
			continue; /* never written so: only checked ids become keys */
		struct expiry_forum *f = xcalloc(1, sizeof(*f));
		f->e = e;
		snprintf(f->id, sizeof(f->id), "%s", id);
		e->closing++;
		store_forum_transition(e->app->store, f->id, t, "system", "", NULL,
				       expiry_forum_closed, f);
	}
	if (--e->closing == 0)
		expiry_done(e);
}

static void expiry_matches_swept(const struct store_reply *res, void *arg)
{
	struct expiry *e = arg;
	if (e->stopped) {
		expiry_done(e);
		return;
	}
	e->more = e->listings_full;
	if (res->status == STORE_OK && json_is_integer(res->value)) {
		json_int_t n = json_integer_value(res->value);
		e->matches_expired += (uint64_t)n;
		if (n > 0)
			log_info("expiry", "matches expired", "count=%lld", (long long)n);
		e->more |= n >= EXPIRY_BATCH;
	}
	store_forum_due(e->app->store, clock_now_ms(), EXPIRY_FORUMS, expiry_forums_due, e);
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
