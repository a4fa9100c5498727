/*
 * engine — the matching loop (see engine.h).
 *
 * Start: read the persisted feed cursor (cm:engine:cursor), load every open
 * listing into the index page by page and the failed pairs
 * (cm:pairs:failed), then follow cm:events from the cursor through the
 * process's one reader of the stream (server/store/feed.h, shared with the
 * push hub). Replaying events is harmless: every proposal is checked by the
 * store.
 *
 * Events: listing.created/updated put the listing (from the record the event
 * carries) and queue it, unless it is held for a forum (held=1: it stays
 * out until the forum ends and its listing.updated brings the record);
 * listing.closed/expired/filled drop it; match events carry both listings'
 * remaining quantities, which the index takes; when quantity comes back (a
 * match ended before confirmation, or delivered less) both listings are
 * queued again. A match that failed (rejected, declined, cancelled,
 * expired) keeps its pair out of their plans until one of the two listings
 * changes (a new version); a pair whose match went through, or is still
 * live, may be planned again for what either side has left.
 *
 * In call market mode (--call-interval > 0, server/engine/callmarket.h) the
 * index is kept the same way but nothing is queued: the call market's rounds
 * allocate the whole index every interval instead.
 *
 * The queue is worked one listing at a time: plan with common/matching.h,
 * propose the allocations in one call, apply what was accepted, and queue
 * the listing again when something was refused or more may be allocated.
 */
#include "server/engine/engine.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/digits.h"
#include "common/ids.h"
#include "common/jsonout.h"
#include "common/matching.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/strcopy.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/engine/clearing.h"
#include "server/engine/index.h"
#include "server/log.h"
#include "server/store/events.h"
#include "server/store/feed.h"
#include "server/store/matches.h"
#include "server/store/reputation.h"
#include "server/store/sentinel.h"
#include "server/store/snapshot.h"

#define ENGINE_SNAPSHOT_PAGE 2000
#define ENGINE_MAX_PROPOSALS 5
/*
 * Proposal rounds in flight at once. Each waits for Redis (and its fsync);
 * one at a time capped the engine at a few hundred rounds a second, and 8
 * at 8 per Redis turn: at 1,000 crossing listings a second, with Redis's
 * turns a few ms long under load, the queue grew and a listing waited
 * 100+ ms from its event to its proposal (docs/performance.md, "Third pass
 * (issue 15)"). The quantities a round proposes are reserved in the index
 * until its answer (or its match.proposed event) comes, so the rounds after
 * it plan with what is left, as Redis, which runs them in order, will see it.
 */
#define ENGINE_MAX_ROUNDS 64
#define ENGINE_MAX_RETRIES 5
#define ENGINE_CURSOR_EVERY_MS 1000

struct engine_job {
	char id[IDS_MAX];
	long long event_ms; /* when the triggering event was appended; 0 unknown */
};

struct engine {
	struct app *app;
	struct index *ix;
	struct feed_sub *feed; /* our place in the process's cm:events feed */
	struct event *tick;
	struct engine_stats stats;
	int stopping;
	int pending; /* store calls in flight (fetches, snapshot, propose, cursor) */
	int rounds;  /* proposal rounds in flight */
	struct engine_round *round_list[ENGINE_MAX_ROUNDS];
	int started; /* cursor read and snapshot begun */
	/*
	 * With sentinels: the primary the index was built from (its epoch).
	 * A new primary may lack the last writes (local durability) or hold
	 * writes this engine never saw applied: the engine starts over from it
	 * (cursor, snapshot, feed) once its calls in flight have returned.
	 */
	uint64_t primary_epoch;
	int restarting;
	char cursor[48];
	char saved_cursor[48];
	uint64_t cursor_saved_ns;
	/* FIFO of jobs (ring) */
	struct engine_job *q;
	size_t q_head, q_len, q_cap;
};

static void engine_work(struct engine *e);

/*
 * Every store callback starts here: one call fewer in flight. Returns 1 when
 * the engine is stopping (and frees it after the last call), so the
 * callback only cleans up its own state.
 */
static int engine_returned(struct engine *e)
{
	e->pending--;
	if (!e->stopping)
		return 0;
	if (e->pending == 0)
		free(e);
	return 1;
}

/* ---- the queue ---- */

static void engine_enqueue(struct engine *e, const char *id, long long event_ms)
{
	/* A call market proposes in its rounds, never per listing. */
	if (e->app->cfg.call_interval_s > 0)
		return;
	struct index_entry *ent = index_get(e->ix, id);
	if (ent == NULL || ent->queued)
		return;
	ent->queued = 1;
	if (e->q_len == e->q_cap) {
		size_t cap = e->q_cap ? e->q_cap * 2 : 256;
		struct engine_job *q = xcalloc(cap, sizeof(*q));
		for (size_t i = 0; i < e->q_len; i++)
			q[i] = e->q[(e->q_head + i) % e->q_cap];
		free(e->q);
		e->q = q;
		e->q_cap = cap;
		e->q_head = 0;
	}
	struct engine_job *j = &e->q[(e->q_head + e->q_len) % e->q_cap];
	str_copy(j->id, sizeof(j->id), id);
	j->event_ms = event_ms;
	e->q_len++;
	e->stats.queued = e->q_len;
}

static int engine_dequeue(struct engine *e, struct engine_job *out)
{
	if (e->q_len == 0)
		return 0;
	*out = e->q[e->q_head];
	e->q_head = (e->q_head + 1) % e->q_cap;
	e->q_len--;
	e->stats.queued = e->q_len;
	return 1;
}

/* ---- loading listings into the index ---- */

/* Puts a listing from its engine record; returns the entry or NULL. */
static struct index_entry *engine_put(struct engine *e, const char *stored, int64_t remaining,
				      int64_t version, int64_t seq)
{
	struct matching_listing l;
	const char *why = "no engine record";
	int rc = -1;
	if (stored && strncmp(stored, "m1 ", 3) == 0)
		rc = matching_listing_decode(&l, stored, remaining, version, seq, &why);
	if (rc < 0) {
		log_warn("engine", "listing skipped", "reason=\"%s\"", why ? why : "unreadable");
		return NULL;
	}
	struct index_entry *ent = index_put(e->ix, &l);
	e->stats.listings = index_size(e->ix);
	return ent;
}

struct engine_fetch {
	struct engine *e;
	char id[IDS_MAX];
	long long event_ms;
};

static void engine_fetched(const struct store_reply *res, void *arg)
{
	struct engine_fetch *f = arg;
	struct engine *e = f->e;
	if (engine_returned(e)) {
		free(f);
		return;
	}
	if (res->status == STORE_OK) {
		const json_t *v = res->value;
		const char *status = store_field_str(v, SEL_STATUS);
		if (!json_is_array(v) || status == NULL || strcmp(status, "open") != 0) {
			index_remove(e->ix, f->id);
			e->stats.listings = index_size(e->ix);
		} else if (engine_put(
			       e, store_field_str(v, SEL_RECORD), store_field_int(v, SEL_REMAINING),
			       store_field_int(v, SEL_VERSION), store_field_int(v, SEL_SEQ))) {
			engine_enqueue(e, f->id, f->event_ms);
		}
	} else if (res->status == STORE_UNAVAILABLE) {
		log_warn("engine", "listing fetch failed", "listing=%s error=\"%s\"", f->id,
			 res->message ? res->message : "");
	}
	free(f);
	engine_work(e);
}

static void engine_fetch(struct engine *e, const char *id, long long event_ms)
{
	if (!ids_valid("lst", id))
		return;
	struct engine_fetch *f = xcalloc(1, sizeof(*f));
	f->e = e;
	f->event_ms = event_ms;
	str_copy(f->id, sizeof(f->id), id);
	e->pending++;
	store_engine_listing(e->app->store, id, engine_fetched, f);
}

/* ---- the feed ---- */

/*
 * listing.created/updated: the event carries the engine record and seq
 * (store/lua, listing_event), so the listing goes into the index as of
 * the event, with no read; an event without them (appended before they were
 * carried) makes the engine fetch the listing instead.
 */
static void engine_listing_event(struct engine *e, const struct events_entry *x, long long ms)
{
	const char *id = events_field(x, "listing");
	const char *rec = events_field(x, "_eng");
	const char *seq = events_field(x, "_seq");
	if (strcmp(events_field(x, "held"), "1") == 0) {
		/* held for its forum: out of continuous matching until the forum ends */
		index_remove(e->ix, id);
		e->stats.listings = index_size(e->ix);
		return;
	}
	if (strncmp(rec, "m1 ", 3) != 0 || *seq == '\0' || !ids_valid("lst", id)) {
		engine_fetch(e, id, ms);
		return;
	}
	if (engine_put(e, rec, digits_strtoll(events_field(x, "remaining")),
		       digits_strtoll(events_field(x, "version")), digits_strtoll(seq)))
		engine_enqueue(e, id, ms);
}

static void engine_set_remaining(struct engine *e, const char *id, const char *value)
{
	struct index_entry *ent = index_get(e->ix, id);
	if (ent == NULL || value == NULL || *value == '\0')
		return;
	index_set_known(e->ix, ent, digits_strtoll(value));
}

/* Events after which quantity returns to both listings. */
static int engine_releases(const char *type)
{
	static const char *const kinds[] = {"match.rejected", "match.declined",	 "match.cancelled",
					    "match.expired",  "match.fulfilled", NULL};
	for (const char *const *k = kinds; *k; k++)
		if (strcmp(*k, type) == 0)
			return 1;
	return 0;
}

static void engine_requeue(struct engine *e, const char *id, long long event_ms)
{
	struct index_entry *ent = index_get(e->ix, id);
	if (ent == NULL || ent->l.remaining <= 0)
		return;
	ent->retries = 0;
	engine_enqueue(e, id, event_ms);
}

static void engine_release_match(struct engine *e, const char *match_id);

/* A match event's '_rep': "ACCOUNT KEPT ENDED ..." of the records it changed. */
static void engine_reputation(struct engine *e, const char *text)
{
	char owner[IDS_MAX];
	long long kept, ended;
	int used;
	while (text && sscanf(text, " %31s %lld %lld%n", owner, &kept, &ended, &used) == 3) {
		index_rep_set(e->ix, owner, kept, ended);
		text += used;
	}
}

static void engine_on_events(const struct events_entry *ev, size_t n, void *arg)
{
	struct engine *e = arg;
	for (size_t i = 0; i < n; i++) {
		const struct events_entry *x = &ev[i];
		long long ms = events_id_ms(x->id);
		e->stats.events++;
		if (strcmp(x->type, "listing.created") == 0 ||
		    strcmp(x->type, "listing.updated") == 0) {
			engine_listing_event(e, x, ms);
		} else if (strcmp(x->type, "listing.closed") == 0 ||
			   strcmp(x->type, "listing.expired") == 0 ||
			   strcmp(x->type, "listing.filled") == 0) {
			index_remove(e->ix, events_field(x, "listing"));
			e->stats.listings = index_size(e->ix);
		} else if (strncmp(x->type, "match.", 6) == 0) {
			const char *need = events_field(x, "need"),
				   *offer = events_field(x, "offer");
			if (strcmp(x->type, "match.proposed") == 0)
				engine_release_match(
				    e, events_field(x, "match")); /* ours, in flight */
			engine_set_remaining(e, need, events_field(x, "need_remaining"));
			engine_set_remaining(e, offer, events_field(x, "offer_remaining"));
			engine_reputation(e, events_field(x, "_rep"));
			/* The match failed: its pair waits for a change of either side. */
			if (strcmp(events_field(x, "_failed"), "1") == 0)
				index_fail(e->ix, need,
					   digits_strtoll(events_field(x, "_need_version")), offer,
					   digits_strtoll(events_field(x, "_offer_version")));
			if (engine_releases(x->type)) {
				/*
				 * Quantity came back: match both again (a failed pair is
				 * excluded until a side changes). Queued even when the
				 * index already showed the quantity (read from a snapshot
				 * while replaying).
				 */
				engine_requeue(e, need, ms);
				engine_requeue(e, offer, ms);
			}
		}
	}
	snprintf(e->cursor, sizeof(e->cursor), "%s", ev[n - 1].id);
	engine_work(e);
}

/* ---- proposing ---- */

struct engine_round {
	struct engine *e;
	char subject[IDS_MAX];
	long long event_ms;
	size_t n;
	struct store_proposal p[ENGINE_MAX_PROPOSALS];
	char ids[ENGINE_MAX_PROPOSALS][IDS_MAX];
	char need[ENGINE_MAX_PROPOSALS][IDS_MAX];
	char offer[ENGINE_MAX_PROPOSALS][IDS_MAX];
	char *docs[ENGINE_MAX_PROPOSALS];
	int released[ENGINE_MAX_PROPOSALS]; /* its reservation was given back */
	int full;			    /* the plan filled every slot: more may be allocated */
};

/* Reserves (sign 1) or gives back (sign -1) proposal i's quantity on both sides. */
static void engine_hold(struct engine *e, struct engine_round *rd, size_t i, int sign)
{
	int64_t q = sign * rd->p[i].quantity;
	struct index_entry *ne = index_get(e->ix, rd->need[i]);
	struct index_entry *oe = index_get(e->ix, rd->offer[i]);
	if (ne)
		index_reserve(e->ix, ne, q);
	if (oe)
		index_reserve(e->ix, oe, q);
	e->stats.reserved += 2 * q;
}

/* Gives back proposal i's reservation, once. */
static void engine_release(struct engine *e, struct engine_round *rd, size_t i)
{
	if (rd->released[i])
		return;
	rd->released[i] = 1;
	engine_hold(e, rd, i, -1);
}

/*
 * match.proposed of a round still in flight: its event can come before the
 * answer, and then says what remains with this proposal counted, so its
 * reservation goes now rather than count twice.
 */
static void engine_release_match(struct engine *e, const char *match_id)
{
	for (int r = 0; r < e->rounds; r++) {
		struct engine_round *rd = e->round_list[r];
		for (size_t i = 0; i < rd->n; i++)
			if (strcmp(rd->ids[i], match_id) == 0) {
				engine_release(e, rd, i);
				return;
			}
	}
}

static void engine_round_free(struct engine_round *rd)
{
	for (size_t i = 0; i < rd->n; i++)
		free(rd->docs[i]);
	free(rd);
}

static void engine_proposed(const struct store_reply *res, void *arg)
{
	struct engine_round *rd = arg;
	struct engine *e = rd->e;
	for (int r = 0; r < e->rounds; r++)
		if (e->round_list[r] == rd) {
			e->round_list[r] = e->round_list[--e->rounds];
			e->stats.rounds = (uint64_t)e->rounds;
			break;
		}
	if (engine_returned(e)) {
		engine_round_free(rd);
		return;
	}
	for (size_t i = 0; i < rd->n; i++)
		engine_release(e, rd, i);
	struct index_entry *subj = index_get(e->ix, rd->subject);
	size_t ok = 0, refused = 0;
	if (res->status == STORE_OK && json_is_array(res->value)) {
		for (size_t i = 0; i < rd->n; i++) {
			const json_t *one = json_array_get(res->value, i);
			const char *r = store_field_str(one, SPF_OUTCOME);
			if (r && strcmp(r, "ok") == 0) {
				ok++;
				/*
				 * The function says what remains on both sides; the
				 * match.proposed event says the same, whichever comes first.
				 */
				struct index_entry *ne = index_get(e->ix, rd->need[i]);
				struct index_entry *oe = index_get(e->ix, rd->offer[i]);
				if (ne)
					index_set_known(e->ix, ne,
							store_field_int(one, SPF_NEED_REMAINING));
				if (oe)
					index_set_known(e->ix, oe,
							store_field_int(one, SPF_OFFER_REMAINING));
			} else {
				refused++;
				log_debug("engine", "proposal refused",
					  "need=%s offer=%s reason=\"%s\"", rd->need[i],
					  rd->offer[i], r ? r : "");
			}
		}
	} else {
		/* A deadline missed, the link lost, a write not confirmed by a replica:
		 * counted as refused, and as unknown, since Redis may have made them. */
		refused = rd->n;
		e->stats.unknown += rd->n;
		log_warn("engine", "propose failed", "listing=%s error=\"%s\"", rd->subject,
			 res->message ? res->message : "");
	}
	e->stats.proposed += ok;
	e->stats.refused += refused;
	if (ok && rd->event_ms > 0) {
		long long now_ms = (long long)clock_now_ms();
		uint64_t lat =
		    now_ms > rd->event_ms ? (uint64_t)(now_ms - rd->event_ms) * 1000000ull : 0;
		metrics_histogram_observe(&e->stats.latency, lat);
		log_info("engine", "proposed",
			 "listing=%s proposals=%zu refused=%zu event_to_proposal_ms=%lld",
			 rd->subject, ok, refused, now_ms - rd->event_ms);
	}
	if (subj) {
		subj->in_round = 0;
		if (subj->again) {
			subj->again = 0;
			engine_enqueue(e, rd->subject, rd->event_ms);
		} else if (subj->l.remaining > 0 && (refused || rd->full) &&
			   subj->retries < ENGINE_MAX_RETRIES) {
			subj->retries++;
			engine_enqueue(e, rd->subject, rd->event_ms);
		}
	}
	engine_round_free(rd);
	engine_work(e);
}

/* A short summary of a side for the match's stored document. */
static json_t *engine_side(const struct matching_listing *l)
{
	return json_pack("{s:s, s:s, s:s}", "material", l->material->code, "province_code",
			 l->province->code, "listing_kind",
			 l->kind == LISTING_NEED ? "need" : "offer");
}

/* Plans the subject and sends its proposals, if it has any. */
static void engine_match_one(struct engine *e, const struct engine_job *job)
{
	struct index_entry *subj = index_get(e->ix, job->id);
	if (subj == NULL || subj->l.remaining <= 0)
		return;
	const struct matching_listing *picked[ENGINE_MAX_PROPOSALS];
	struct matching_alloc allocs[ENGINE_MAX_PROPOSALS];
	size_t considered = 0;
	int64_t now = clock_now_ms();
	uint64_t t0 = clock_thread_cpu_ns();
	size_t k = index_plan(e->ix, subj, now, e->app->cfg.freight_rate, allocs,
			      ENGINE_MAX_PROPOSALS, &considered, picked);
	metrics_histogram_observe(&e->stats.plan, clock_thread_cpu_ns() - t0);
	e->stats.runs++;
	if (k == 0)
		return;
	struct engine_round *rd = xcalloc(1, sizeof(*rd));
	rd->e = e;
	rd->event_ms = job->event_ms;
	rd->full = k == ENGINE_MAX_PROPOSALS;
	snprintf(rd->subject, sizeof(rd->subject), "%s", subj->l.id);
	for (size_t i = 0; i < k; i++) {
		const struct matching_listing *c = picked[i];
		const struct matching_listing *need = subj->l.kind == LISTING_NEED ? &subj->l : c;
		const struct matching_listing *offer = subj->l.kind == LISTING_NEED ? c : &subj->l;
		ids_new("mat", rd->ids[i]);
		snprintf(rd->need[i], IDS_MAX, "%s", need->id);
		snprintf(rd->offer[i], IDS_MAX, "%s", offer->id);
		json_t *doc = json_pack(
		    "{s:o, s:o, s:o, s:s}", "explain",
		    matching_explain(need, offer, &allocs[i], e->app->cfg.freight_rate), "need",
		    engine_side(need), "offer", engine_side(offer), "trigger", subj->l.id);
		rd->docs[i] = jsonout_dumps(doc, 0, NULL);
		json_decref(doc);
		rd->p[i] = (struct store_proposal){
		    .match_id = rd->ids[i],
		    .need_id = rd->need[i],
		    .offer_id = rd->offer[i],
		    .quantity = allocs[i].quantity,
		    .need_version = need->version,
		    .offer_version = offer->version,
		    .doc = rd->docs[i],
		};
	}
	rd->n = k;
	/* What this round proposes is not there for the rounds planned after it. */
	for (size_t i = 0; i < k; i++)
		engine_hold(e, rd, i, 1);
	subj->in_round = 1;
	e->round_list[e->rounds++] = rd;
	e->stats.rounds = (uint64_t)e->rounds;
	e->pending++;
	int64_t expires = now + (int64_t)e->app->cfg.review_timeout_s * 1000;
	store_match_propose(e->app->store, rd->p, rd->n, expires, engine_proposed, rd);
}

static void engine_cursor_saved(const struct store_reply *res, void *arg)
{
	engine_returned(arg);
}

static void engine_save_cursor(struct engine *e)
{
	uint64_t now = clock_mono_ns();
	if (strcmp(e->cursor, e->saved_cursor) == 0 ||
	    now - e->cursor_saved_ns < ENGINE_CURSOR_EVERY_MS * 1000000ull)
		return;
	e->cursor_saved_ns = now;
	snprintf(e->saved_cursor, sizeof(e->saved_cursor), "%s", e->cursor);
	e->pending++;
	store_engine_cursor_save(e->app->store, e->cursor, engine_cursor_saved, e);
}

/*
 * Works the queue until ENGINE_MAX_ROUNDS proposal rounds are in flight or
 * nothing is left. A listing already in a round is matched again after it.
 */
static void engine_work(struct engine *e)
{
	if (e->stopping || !e->stats.ready)
		return;
	struct engine_job job;
	while (e->rounds < ENGINE_MAX_ROUNDS && engine_dequeue(e, &job)) {
		struct index_entry *ent = index_get(e->ix, job.id);
		if (ent == NULL)
			continue;
		ent->queued = 0;
		if (ent->in_round) {
			ent->again = 1;
			continue;
		}
		engine_match_one(e, &job);
	}
	/* Idle with every fetched listing matched: the feed position is done. */
	if (e->pending == 0)
		engine_save_cursor(e);
}

/* ---- start-up ---- */

static void engine_pairs_page(const struct store_reply *res, void *arg);
static void engine_reps_next(struct engine *e, const char *cursor);
static void engine_reps_page(const struct store_reply *res, void *arg);

static void engine_pairs_next(struct engine *e, const char *cursor)
{
	e->pending++;
	store_engine_failed_pairs(e->app->store, cursor, ENGINE_SNAPSHOT_PAGE, engine_pairs_page,
				  e);
}

static void engine_snapshot_row(void *arg, const struct snapshot_row *row)
{
	struct engine *e = arg;
	if (!e->stopping)
		engine_put(e, row->record, row->remaining, row->version, row->seq);
}

static void engine_snapshot_done(void *arg, int ok)
{
	struct engine *e = arg;
	if (engine_returned(e))
		return;
	if (e->restarting)
		return; /* a new primary: the tick starts over */
	index_load(e->ix, 0);
	if (!ok) {
		log_warn("engine", "snapshot failed, retrying", "%s", "");
		e->started = 0; /* the tick starts over */
		return;
	}
	engine_pairs_next(e, "0");
}

static void engine_pairs_page(const struct store_reply *res, void *arg)
{
	struct engine *e = arg;
	if (engine_returned(e))
		return;
	if (e->restarting)
		return; /* a new primary: the tick starts over */
	if (res->status != STORE_OK) {
		log_warn("engine", "pairs page failed, retrying", "error=\"%s\"",
			 res->message ? res->message : "");
		e->started = 0;
		return;
	}
	/* "need|offer", "NEED_VERSION OFFER_VERSION", ... */
	const json_t *flat = store_field(res->value, STORE_PAGE_ROWS);
	for (size_t i = 0; i + 1 < json_array_size(flat); i += 2) {
		const char *p = json_string_value(json_array_get(flat, i));
		const char *v = json_string_value(json_array_get(flat, i + 1));
		const char *bar = p ? strchr(p, '|') : NULL;
		if (bar == NULL || bar - p >= IDS_MAX || v == NULL)
			continue;
		char need[IDS_MAX], *end;
		snprintf(need, sizeof(need), "%.*s", (int)(bar - p), p);
		long long nv = strtoll(v, &end, 10);
		index_fail(e->ix, need, nv, bar + 1, strtoll(end, NULL, 10));
	}
	const char *next = store_field_str(res->value, STORE_PAGE_NEXT);
	if (next && strcmp(next, "0") != 0) {
		engine_pairs_next(e, next);
		return;
	}
	engine_reps_next(e, "0");
}

static void engine_reps_next(struct engine *e, const char *cursor)
{
	e->pending++;
	store_engine_reputation(e->app->store, cursor, ENGINE_SNAPSHOT_PAGE, engine_reps_page, e);
}

/* A page of the owners' reputations; after the last one the feed starts. */
static void engine_reps_page(const struct store_reply *res, void *arg)
{
	struct engine *e = arg;
	if (engine_returned(e))
		return;
	if (e->restarting)
		return; /* a new primary: the tick starts over */
	if (res->status != STORE_OK) {
		log_warn("engine", "reputation page failed, retrying", "error=\"%s\"",
			 res->message ? res->message : "");
		e->started = 0;
		return;
	}
	/* account, "KEPT ENDED", ... */
	const json_t *flat = store_field(res->value, STORE_PAGE_ROWS);
	for (size_t i = 0; i + 1 < json_array_size(flat); i += 2) {
		const char *owner = json_string_value(json_array_get(flat, i));
		const char *v = json_string_value(json_array_get(flat, i + 1));
		long long kept, ended;
		if (owner && strlen(owner) < IDS_MAX && v &&
		    sscanf(v, "%lld %lld", &kept, &ended) == 2)
			index_rep_set(e->ix, owner, kept, ended);
	}
	const char *next = store_field_str(res->value, STORE_PAGE_NEXT);
	if (next && strcmp(next, "0") != 0) {
		engine_reps_next(e, next);
		return;
	}
	log_info("engine", "index built", "listings=%zu feed_from=%s", index_size(e->ix),
		 e->cursor);
	feed_unsubscribe(e->feed);
	e->feed = feed_subscribe(e->app->feed, e->cursor, engine_on_events, e);
	e->stats.ready = 1;
}

static void engine_cursor_read(const struct store_reply *res, void *arg)
{
	struct engine *e = arg;
	if (engine_returned(e))
		return;
	if (e->restarting)
		return; /* a new primary: the tick starts over */
	if (res->status != STORE_OK) {
		e->started = 0;
		return;
	}
	const char *c = json_string_value(res->value);
	snprintf(e->cursor, sizeof(e->cursor), "%s", c && *c ? c : "0-0");
	snprintf(e->saved_cursor, sizeof(e->saved_cursor), "%s", e->cursor);
	e->pending++;
	index_load(e->ix, 1);
	snapshot_run(e->app->store, ENGINE_SNAPSHOT_PAGE, engine_snapshot_row, engine_snapshot_done,
		     e);
}

/* The primary changed since the index was built: stop, and start over when idle. */
static void engine_check_primary(struct engine *e)
{
	struct sentinel *sn = e->app->sentinel;
	if (sn == NULL || !e->started || sentinel_epoch(sn) == e->primary_epoch)
		return;
	if (!e->restarting) {
		log_warn("engine", "the Redis primary changed: rebuilding the index from it",
			 "cursor=%s", e->cursor);
		e->restarting = 1;
		e->stats.ready = 0;
		feed_unsubscribe(e->feed);
		e->feed = NULL;
		e->q_len = e->q_head = 0;
		e->stats.queued = 0;
		e->stats.restarts++;
		/* a forum the old primary sent to clearing is cleared from the new one */
		clearing_resume(e->app);
	}
	if (e->pending == 0) {
		e->restarting = 0;
		e->started = 0;
	}
}

static void engine_tick(evutil_socket_t fd, short what, void *arg)
{
	struct engine *e = arg;
	engine_check_primary(e);
	if (!e->started && store_ready(e->app->store)) {
		e->started = 1;
		e->primary_epoch = e->app->sentinel ? sentinel_epoch(e->app->sentinel) : 0;
		index_free(e->ix);
		e->ix = index_new();
		e->pending++;
		store_engine_cursor_get(e->app->store, engine_cursor_read, e);
	}
	engine_work(e);
}

struct engine *engine_start(struct app *app)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	e->app = app;
	e->ix = index_new();
	e->tick = event_new(app->base, -1, EV_PERSIST, engine_tick, e);
	struct timeval every = {0, 100000};
	event_add(e->tick, &every);
	return e;
}

void engine_stop(struct engine *e)
{
	if (e == NULL)
		return;
	e->stopping = 1;
	event_free(e->tick);
	feed_unsubscribe(e->feed);
	/*
	 * Store calls still in flight end (with REDIS_DOWN) when the store is
	 * freed, after this: their callbacks see e->stopping and must find e
	 * alive, so the last of them frees it (engine_returned).
	 */
	index_free(e->ix);
	e->ix = NULL;
	free(e->q);
	e->q = NULL;
	if (e->pending == 0)
		free(e);
}

const struct engine_stats *engine_stats(const struct engine *e)
{
	return &e->stats;
}

struct index *engine_index(struct engine *e)
{
	return e->ix;
}
