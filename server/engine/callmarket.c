/*
 * callmarket — the engine's call market rounds (see callmarket.h).
 *
 * The loop never waits for a solve: the copy of the index is made on the
 * loop (a pass over the index; its cost is in craftmatch_callmarket_copy_
 * seconds), the screen, pairs, solve and match documents on one worker
 * thread that owns the copy, which wakes the loop through a pipe when it is
 * done. Only the loop touches the index, the store and the stats; the
 * worker touches only its round's copy and output, and the round is not
 * looked at by the loop until the worker has been joined.
 */
#include "server/engine/callmarket.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ids.h"
#include "common/jsonout.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/engine/callplan.h"
#include "server/engine/engine.h"
#include "server/engine/index.h"
#include "server/log.h"
#include "server/store/matches.h"

/* Proposals per cm_match_propose call: one call stays a few ms of Redis. */
#define CALLMARKET_CHUNK 64
/* Calls of a round in flight at once. */
#define CALLMARKET_WINDOW 4
/* A round's turn lasts at most this many intervals (a node that died mid-round). */
#define CALLMARKET_TURN_INTERVALS 10
#define CALLMARKET_TURN_MIN_MS 60000

struct callmarket_round {
	struct callmarket *cm;
	/* the copy (the worker's input) */
	struct matching_listing *ls;
	size_t n, cap;
	char **excluded;
	size_t n_excluded, cap_excluded;
	int64_t now_ms, rate;
	uint64_t started_ns; /* clock_mono_ns() at the copy */
	uint64_t copy_ns;    /* the copy's time on the loop */
	/* the worker's output */
	struct callplan plan;
	int plan_rc;
	const char *why;
	char **docs; /* per allocation: the match's document */
	uint64_t cpu_ns;
	/* proposing */
	char (*ids)[IDS_MAX];
	struct store_proposal *p;
	size_t sent, ok, refused;
	int inflight; /* chunks sent and not answered */
};

struct callmarket_chunk {
	struct callmarket_round *r;
	size_t from, n;
};

struct callmarket {
	struct app *app;
	struct engine *engine;
	struct event *tick;
	struct event *wake;
	int pipe_fd[2];
	pthread_t thread;
	int thread_live;
	struct callmarket_round *round; /* the round under way, or NULL */
	int claiming;			/* cm_callmarket_claim in flight */
	int pending;			/* store calls in flight */
	int stopping;
	char node[IDS_MAX]; /* this node's id for the turn */
	struct callmarket_stats stats;
};

static void callmarket_round_free(struct callmarket_round *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_excluded; i++)
		free(r->excluded[i]);
	free(r->excluded);
	if (r->docs)
		for (size_t i = 0; i < r->plan.n; i++)
			free(r->docs[i]);
	free(r->docs);
	free(r->ids);
	free(r->p);
	callplan_free(&r->plan);
	free(r->ls);
	free(r);
}

/*
 * Every store callback starts here: one call fewer in flight. Returns 1
 * when stopping (and frees cm after the last call): the callback then only
 * cleans up its own state.
 */
static int callmarket_returned(struct callmarket *cm)
{
	cm->pending--;
	if (!cm->stopping)
		return 0;
	if (cm->pending == 0)
		free(cm);
	return 1;
}

/* ---- the copy ---- */

struct callmarket_copy {
	struct callmarket_round *r;
	struct index *ix;
};

static void callmarket_copy_one(struct index_entry *e, void *arg)
{
	struct callmarket_copy *cp = arg;
	struct callmarket_round *r = cp->r;
	if (e->l.remaining > 0) {
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 256;
			r->ls = xrealloc(r->ls, r->cap * sizeof(*r->ls));
		}
		r->ls[r->n++] = e->l;
	}
	if (e->l.kind != LISTING_NEED)
		return;
	/* The pairs the engine leaves out: failed, and neither side changed since. */
	for (unsigned i = 0; i < e->n_failed; i++) {
		const struct index_failed *f = &e->failed[i];
		const struct index_entry *o = index_get(cp->ix, f->other);
		if (o == NULL || o->l.kind != LISTING_OFFER || f->mine != e->l.version ||
		    f->theirs != o->l.version)
			continue;
		if (r->n_excluded == r->cap_excluded) {
			r->cap_excluded = r->cap_excluded ? r->cap_excluded * 2 : 16;
			r->excluded = xrealloc(r->excluded, r->cap_excluded * sizeof(*r->excluded));
		}
		char *pair = xmalloc(2 * IDS_MAX + 2);
		snprintf(pair, 2 * IDS_MAX + 2, "%s|%s", e->l.id, o->l.id);
		r->excluded[r->n_excluded++] = pair;
	}
}

static int callmarket_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the worker ---- */

/* A short summary of a side for the match's stored document. */
static json_t *callmarket_side(const struct matching_listing *l)
{
	return json_pack("{s:s, s:s, s:s}", "material", l->material->code, "province_code",
			 l->province->code, "listing_kind",
			 l->kind == LISTING_NEED ? "need" : "offer");
}

static void *callmarket_worker(void *arg)
{
	struct callmarket_round *r = arg;
	uint64_t t0 = clock_thread_cpu_ns();
	struct callplan_input in = {
	    .listings = r->ls,
	    .n = r->n,
	    .excluded = (const char *const *)r->excluded,
	    .n_excluded = r->n_excluded,
	    .now_ms = r->now_ms,
	    .rate = r->rate,
	};
	r->plan_rc = callplan_run(&in, &r->plan, &r->why);
	if (r->plan_rc == 0) {
		r->docs = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*r->docs));
		for (size_t i = 0; i < r->plan.n; i++) {
			const struct callplan_alloc *al = &r->plan.allocs[i];
			const struct matching_listing *need = &r->ls[al->need],
						      *offer = &r->ls[al->offer];
			json_t *doc = json_pack("{s:o, s:o, s:o, s:s}", "explain",
						matching_explain(need, offer, &al->a, r->rate),
						"need", callmarket_side(need), "offer",
						callmarket_side(offer), "trigger", "call_market");
			r->docs[i] = jsonout_dumps(doc, 0, NULL);
			json_decref(doc);
		}
	}
	r->cpu_ns = clock_thread_cpu_ns() - t0;
	char b = 1;
	while (write(r->cm->pipe_fd[1], &b, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* ---- proposing ---- */

static void callmarket_send(struct callmarket_round *r);

static void callmarket_done_answered(const struct store_reply *res, void *arg)
{
	(void)res;
	callmarket_returned(arg);
}

/* The round is over: stats, the log line, the turn kept for the interval. */
static void callmarket_round_end(struct callmarket *cm)
{
	struct callmarket_round *r = cm->round;
	cm->round = NULL;
	cm->stats.rounds++;
	cm->stats.last_listings = r->n;
	cm->stats.last_screened = r->plan.screened;
	cm->stats.last_arcs = r->plan.arcs;
	cm->stats.last_proposals = r->ok;
	metrics_histogram_observe(&cm->stats.round, clock_mono_ns() - r->started_ns);
	if (r->plan_rc == 0)
		log_info("callmarket", "round",
			 "listings=%zu screened=%zu arcs=%zu status=%s quantity=%" PRId64
			 " landed_vnd=%" PRId64 " proposed=%zu refused=%zu copy_ms=%.1f "
			 "solve_cpu_ms=%.1f round_ms=%.1f",
			 r->n, r->plan.screened, r->plan.arcs,
			 transport_status_str(r->plan.tr.status), r->plan.quantity,
			 r->plan.landed_vnd, r->ok, r->refused, (double)r->copy_ns / 1e6,
			 (double)r->cpu_ns / 1e6, (double)(clock_mono_ns() - r->started_ns) / 1e6);
	else
		log_warn("callmarket", "round not solved", "listings=%zu error=\"%s\"", r->n,
			 r->why ? r->why : "");
	callmarket_round_free(r);
	cm->pending++;
	store_callmarket_done(cm->app->store, cm->node,
			      (long long)cm->app->cfg.call_interval_s * 1000,
			      callmarket_done_answered, cm);
}

static void callmarket_proposed(const struct store_reply *res, void *arg)
{
	struct callmarket_chunk *ch = arg;
	struct callmarket_round *r = ch->r;
	struct callmarket *cm = r->cm;
	r->inflight--;
	if (cm->stopping) {
		free(ch);
		if (r->inflight == 0)
			callmarket_round_free(r);
		callmarket_returned(cm);
		return;
	}
	callmarket_returned(cm);
	struct index *ix = engine_index(cm->engine);
	for (size_t i = 0; i < ch->n; i++) {
		const struct store_proposal *p = &r->p[ch->from + i];
		const json_t *one = res->status == STORE_OK ? json_array_get(res->value, i) : NULL;
		const char *s = store_field_str(one, SPF_OUTCOME);
		if (s == NULL || strcmp(s, "ok") != 0) {
			r->refused++;
			log_debug("callmarket", "proposal refused",
				  "need=%s offer=%s reason=\"%s\"", p->need_id, p->offer_id,
				  s ? s : (res->message ? res->message : ""));
			continue;
		}
		r->ok++;
		/* What remains on both sides; the match.proposed event says the same. */
		struct index_entry *ne = ix ? index_get(ix, p->need_id) : NULL;
		struct index_entry *oe = ix ? index_get(ix, p->offer_id) : NULL;
		if (ne)
			index_set_known(ix, ne, store_field_int(one, SPF_NEED_REMAINING));
		if (oe)
			index_set_known(ix, oe, store_field_int(one, SPF_OFFER_REMAINING));
	}
	free(ch);
	callmarket_send(r);
}

/* Sends the round's next chunks, up to the window; ends the round after the last answer. */
static void callmarket_send(struct callmarket_round *r)
{
	struct callmarket *cm = r->cm;
	size_t total = r->plan_rc == 0 ? r->plan.n : 0;
	int64_t expires = clock_now_ms() + (int64_t)cm->app->cfg.review_timeout_s * 1000;
	while (r->inflight < CALLMARKET_WINDOW && r->sent < total) {
		struct callmarket_chunk *ch = xcalloc(1, sizeof(*ch));
		ch->r = r;
		ch->from = r->sent;
		ch->n = total - r->sent < CALLMARKET_CHUNK ? total - r->sent : CALLMARKET_CHUNK;
		r->sent += ch->n;
		r->inflight++;
		cm->pending++;
		store_match_propose(cm->app->store, &r->p[ch->from], ch->n, expires,
				    callmarket_proposed, ch);
	}
	if (r->inflight == 0 && r->sent == total) {
		cm->stats.proposed += r->ok;
		cm->stats.refused += r->refused;
		callmarket_round_end(cm);
	}
}

/* The worker is done: join it, then propose what it planned. */
static void callmarket_woken(evutil_socket_t fd, short what, void *arg)
{
	struct callmarket *cm = arg;
	char buf[16];
	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (!cm->thread_live)
		return;
	pthread_join(cm->thread, NULL);
	cm->thread_live = 0;
	struct callmarket_round *r = cm->round;
	metrics_histogram_observe(&cm->stats.solve, r->cpu_ns);
	if (r->plan_rc == 0) {
		r->ids = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*r->ids));
		r->p = xcalloc(r->plan.n ? r->plan.n : 1, sizeof(*r->p));
		for (size_t i = 0; i < r->plan.n; i++) {
			const struct callplan_alloc *al = &r->plan.allocs[i];
			const struct matching_listing *need = &r->ls[al->need],
						      *offer = &r->ls[al->offer];
			ids_new("mat", r->ids[i]);
			r->p[i] = (struct store_proposal){
			    .match_id = r->ids[i],
			    .need_id = need->id,
			    .offer_id = offer->id,
			    .quantity = al->a.quantity,
			    .need_version = need->version,
			    .offer_version = offer->version,
			    .doc = r->docs[i],
			};
		}
	}
	callmarket_send(r);
}

/* ---- the tick ---- */

static void callmarket_begin(struct callmarket *cm)
{
	struct index *ix = engine_index(cm->engine);
	struct callmarket_round *r = xcalloc(1, sizeof(*r));
	r->cm = cm;
	r->started_ns = clock_mono_ns();
	r->now_ms = clock_now_ms();
	r->rate = cm->app->cfg.freight_rate;
	struct callmarket_copy cp = {r, ix};
	if (ix) {
		r->cap = index_size(ix) + 1; /* one allocation, no growing copies */
		r->ls = xmalloc(r->cap * sizeof(*r->ls));
		index_each(ix, callmarket_copy_one, &cp);
	}
	if (r->n_excluded > 1)
		qsort(r->excluded, r->n_excluded, sizeof(*r->excluded), callmarket_strcmp);
	r->copy_ns = clock_mono_ns() - r->started_ns;
	metrics_histogram_observe(&cm->stats.copy, r->copy_ns);
	cm->round = r;
	if (pthread_create(&cm->thread, NULL, callmarket_worker, r) != 0) {
		log_warn("callmarket", "no worker thread, round skipped", "error=\"%s\"",
			 strerror(errno));
		cm->round = NULL;
		callmarket_round_free(r);
		return;
	}
	cm->thread_live = 1;
}

static void callmarket_claimed(const struct store_reply *res, void *arg)
{
	struct callmarket *cm = arg;
	cm->claiming = 0;
	if (callmarket_returned(cm))
		return;
	if (res->status == STORE_OK && json_integer_value(res->value) == 1 &&
	    engine_stats(cm->engine)->ready)
		callmarket_begin(cm);
	else
		cm->stats.skipped++;
}

static void callmarket_tick(evutil_socket_t fd, short what, void *arg)
{
	struct callmarket *cm = arg;
	(void)fd;
	(void)what;
	if (cm->round || cm->claiming || !engine_stats(cm->engine)->ready ||
	    !store_ready(cm->app->store)) {
		cm->stats.skipped++;
		return;
	}
	long long ttl = (long long)cm->app->cfg.call_interval_s * 1000 * CALLMARKET_TURN_INTERVALS;
	cm->claiming = 1;
	cm->pending++;
	store_callmarket_claim(cm->app->store, cm->node,
			       ttl > CALLMARKET_TURN_MIN_MS ? ttl
							    : (long long)CALLMARKET_TURN_MIN_MS,
			       callmarket_claimed, cm);
}

struct callmarket *callmarket_start(struct app *app, struct engine *e)
{
	struct callmarket *cm = xcalloc(1, sizeof(*cm));
	cm->app = app;
	cm->engine = e;
	ids_new("node", cm->node);
	if (pipe(cm->pipe_fd) != 0)
		abort(); /* out of descriptors at start: nothing sensible to do */
	for (int i = 0; i < 2; i++)
		fcntl(cm->pipe_fd[i], F_SETFL, fcntl(cm->pipe_fd[i], F_GETFL) | O_NONBLOCK);
	cm->wake = event_new(app->base, cm->pipe_fd[0], EV_READ | EV_PERSIST, callmarket_woken, cm);
	event_add(cm->wake, NULL);
	cm->tick = event_new(app->base, -1, EV_PERSIST, callmarket_tick, cm);
	struct timeval every = {app->cfg.call_interval_s, 0};
	event_add(cm->tick, &every);
	log_info("callmarket", "call market", "interval_s=%d node=%s", app->cfg.call_interval_s,
		 cm->node);
	return cm;
}

void callmarket_stop(struct callmarket *cm)
{
	if (cm == NULL)
		return;
	cm->stopping = 1;
	event_free(cm->tick);
	event_free(cm->wake);
	if (cm->thread_live) {
		pthread_join(cm->thread, NULL);
		cm->thread_live = 0;
	}
	close(cm->pipe_fd[0]);
	close(cm->pipe_fd[1]);
	/* A round with chunks in flight is freed by the last of them. */
	if (cm->round && cm->round->inflight == 0)
		callmarket_round_free(cm->round);
	cm->round = NULL;
	if (cm->pending == 0)
		free(cm);
}

const struct callmarket_stats *callmarket_stats(const struct callmarket *cm)
{
	return &cm->stats;
}
