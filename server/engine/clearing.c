/*
 * clearing — a forum's clearing (see clearing.h): its held listings read
 * from the store, allocated in one solve (common/clearing.h over
 * common/transport.h), compared with what the continuous greedy engine
 * would have done on the same listings, and proposed as one batch that
 * hands the forum to its organiser's review.
 *
 * Runs on the event loop: the solve and the greedy comparison are done in
 * one go between two store replies (see clearing.h for their cost).
 */
#include "server/engine/clearing.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clearing.h"
#include "common/fields.h"
#include "common/forum.h"
#include "common/jsonout.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/transport.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/store/forums.h"

struct clearing_job {
	struct app *app;
	char forum[FIELDS_FORUM_MAX + 1];
};

/* The batch being proposed: owns every string its proposals point at. */
struct clearing_batch {
	struct clearing_job *job;
	struct store_proposal *p;
	int64_t *landed_vnd;
	char (*ids)[IDS_MAX];
	char **docs;
	size_t n;
};

static void clearing_batch_free(struct clearing_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->docs[i]);
	free(b->docs);
	free(b->ids);
	free(b->p);
	free(b->landed_vnd);
	free(b->job);
	free(b);
}

/* Ends a job that proposes nothing: the forum goes to review all the same. */
static void clearing_reviewed(const struct store_reply *res, void *arg)
{
	struct clearing_batch *b = arg;
	if (res->status == STORE_OK) {
		const char *totals = store_field_str(res->value, SFC_TOTALS);
		log_info("clearing", "forum handed to review", "forum=%s proposals=%zu totals=%s",
			 b->job->forum, b->n, totals ? totals : "");
	} else {
		log_warn("clearing", "forum left in clearing", "forum=%s error=\"%s\"",
			 b->job->forum, res->message ? res->message : "");
	}
	clearing_batch_free(b);
}

/*
 * What the continuous engine would have allocated on the same listings:
 * each listing, in posting order, planned (matching_plan, its greedy
 * first-come rule) over the listings of the other kind posted before it,
 * with what earlier plans took already gone. Works on copies.
 */
static void clearing_greedy(const struct matching_listing *ls, size_t n, int64_t now, int64_t rate,
			    int64_t *quantity, int64_t *landed_vnd)
{
	struct matching_listing *l = xmalloc((n ? n : 1) * sizeof(*l));
	const struct matching_listing **cands = xmalloc((n ? n : 1) * sizeof(*cands));
	struct matching_alloc *out = xmalloc((n ? n : 1) * sizeof(*out));
	memcpy(l, ls, n * sizeof(*l));
	/* posting order: insertion sort by seq (the store's SMEMBERS order is none) */
	for (size_t i = 1; i < n; i++) {
		struct matching_listing x = l[i];
		size_t j = i;
		for (; j > 0 && l[j - 1].seq > x.seq; j--)
			l[j] = l[j - 1];
		l[j] = x;
	}
	*quantity = 0;
	*landed_vnd = 0;
	for (size_t i = 0; i < n; i++) {
		size_t m = 0;
		for (size_t j = 0; j < i; j++)
			cands[m++] = l[j].kind != l[i].kind ? &l[j] : NULL;
		size_t k = matching_plan(&l[i], cands, m, now, rate, out, m, NULL);
		for (size_t a = 0; a < k; a++) {
			struct matching_listing *c = (struct matching_listing *)cands[out[a].index];
			c->remaining -= out[a].quantity;
			l[i].remaining -= out[a].quantity;
			*quantity += out[a].quantity;
			*landed_vnd += out[a].landed_vnd;
		}
	}
	free(out);
	free(cands);
	free(l);
}

/* A short summary of a side for the match's stored document. */
static json_t *clearing_side(const struct matching_listing *l)
{
	return json_pack("{s:s, s:s, s:s}", "material", l->material->code, "province_code",
			 l->province->code, "listing_kind",
			 l->kind == LISTING_NEED ? "need" : "offer");
}

/* Field i of a store row, a decimal string, as a number (0 when absent). */
/* Solves the forum's listings and proposes the batch. */
static void clearing_solve(struct clearing_job *j, const json_t *rows)
{
	struct app *app = j->app;
	size_t n = json_array_size(rows), used = 0;
	struct matching_listing *ls = xcalloc(n ? n : 1, sizeof(*ls));
	const struct matching_listing **ptrs = xcalloc(n ? n : 1, sizeof(*ptrs));
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(rows, i);
		const char *rec = store_field_str(r, SFH_RECORD);
		const char *why = NULL;
		if (rec == NULL ||
		    matching_listing_decode(&ls[used], rec, store_field_int(r, SFH_REMAINING),
					    store_field_int(r, SFH_VERSION),
					    store_field_int(r, SFH_SEQ), &why) != 0) {
			log_warn("clearing", "listing left out", "forum=%s listing=%s error=\"%s\"",
				 j->forum, rec ? store_field_str(r, SFH_ID) : "",
				 why ? why : "no record");
			continue;
		}
		ptrs[used] = &ls[used];
		used++;
	}
	int64_t now = clock_now_ms(), rate = app->cfg.freight_rate;
	struct clearing c;
	const char *why = NULL;
	struct clearing_batch *b = xcalloc(1, sizeof(*b));
	b->job = j;
	const char *status = "optimal";
	if (clearing_build(&c, ptrs, used, now, rate, &why) == 0) {
		int64_t *flow = xcalloc(c.problem.n_arcs ? c.problem.n_arcs : 1, sizeof(*flow));
		struct transport_result tr;
		uint64_t t0 = clock_thread_cpu_ns();
		if (transport_solve(&c.problem, flow, &tr, &why) == 0) {
			status = transport_status_str(tr.status);
			size_t k = 0;
			for (size_t a = 0; a < c.problem.n_arcs; a++)
				k += flow[a] > 0;
			b->p = xcalloc(k ? k : 1, sizeof(*b->p));
			b->landed_vnd = xcalloc(k ? k : 1, sizeof(*b->landed_vnd));
			b->ids = xcalloc(k ? k : 1, sizeof(*b->ids));
			b->docs = xcalloc(k ? k : 1, sizeof(*b->docs));
			for (size_t a = 0; a < c.problem.n_arcs; a++) {
				struct matching_alloc al;
				if (flow[a] <= 0 || clearing_alloc(&c, a, flow[a], &al) != 0)
					continue;
				const struct matching_listing *need =
				    c.needs[c.problem.arcs[a].need];
				const struct matching_listing *offer =
				    c.offers[c.problem.arcs[a].offer];
				json_t *doc = json_pack("{s:o, s:o, s:o, s:s}", "explain",
							matching_explain(need, offer, &al, rate),
							"need", clearing_side(need), "offer",
							clearing_side(offer), "trigger", j->forum);
				size_t i = b->n++;
				ids_new("mat", b->ids[i]);
				b->docs[i] = jsonout_dumps(doc, 0, NULL);
				json_decref(doc);
				b->landed_vnd[i] = al.landed_vnd;
				b->p[i] = (struct store_proposal){
				    .match_id = b->ids[i],
				    .need_id = need->id,
				    .offer_id = offer->id,
				    .quantity = al.quantity,
				    .need_version = need->version,
				    .offer_version = offer->version,
				    .doc = b->docs[i],
				};
			}
			log_info("clearing", "solved",
				 "forum=%s listings=%zu arcs=%zu status=%s quantity=%" PRId64
				 " landed_vnd=%" PRId64 " cpu_us=%" PRIu64,
				 j->forum, used, c.problem.n_arcs, status, tr.quantity, tr.cost_vnd,
				 (clock_thread_cpu_ns() - t0) / 1000);
		} else {
			log_warn("clearing", "solve failed", "forum=%s error=\"%s\"", j->forum,
				 why ? why : "");
			status = transport_status_str(tr.status);
		}
		free(flow);
		clearing_free(&c);
	} else {
		log_warn("clearing", "build failed", "forum=%s error=\"%s\"", j->forum,
			 why ? why : "");
		status = "invalid";
	}
	/* The proposals point at the listings' ids: they are copied by the call. */
	int64_t gq = 0, gl = 0;
	clearing_greedy(ls, used, now, rate, &gq, &gl);
	struct store_clearing sc = {
	    .p = b->p,
	    .landed_vnd = b->landed_vnd,
	    .n = b->n,
	    .expires_at = now + (int64_t)app->cfg.review_timeout_s * 1000,
	    .status = status,
	    .greedy_quantity = gq,
	    .greedy_landed_vnd = gl,
	};
	store_forum_clear(app->store, j->forum, &sc, clearing_reviewed, b);
	free(ptrs);
	free(ls);
}

static void clearing_loaded(const struct store_reply *res, void *arg)
{
	struct clearing_job *j = arg;
	if (res->status != STORE_OK) {
		log_warn("clearing", "forum left in clearing", "forum=%s error=\"%s\"", j->forum,
			 res->message ? res->message : "");
		free(j);
		return;
	}
	clearing_solve(j, res->value);
}

void clearing_start(struct app *app, const char *forum_id)
{
	struct clearing_job *j = xcalloc(1, sizeof(*j));
	j->app = app;
	snprintf(j->forum, sizeof(j->forum), "%s", forum_id);
	store_forum_held(app->store, j->forum, clearing_loaded, j);
}
