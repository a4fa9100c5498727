/*
 * callplan — one round of the call market as pure computation: the open
 * listings of a snapshot allocated in one solve, the most quantity that can
 * be matched and, among the allocations of that quantity, the least total
 * landed cost (common/clearing.h over common/transport.h, the forum
 * clearing's solver), honouring every filter the continuous engine honours
 * (matching_compatible()) and, besides, the engine's rule on failed pairs.
 *
 * No I/O, no clock, no shared state: server/engine/callmarket.c runs it on
 * a worker thread over a copy of the engine's index.
 *
 * Before the pairs are built, a price screen drops the listings that cannot
 * trade with anyone in the snapshot: an offer asking more per base unit
 * than every need of a material that would take it is willing to pay at
 * most, a need whose maximum is below every offer it would take. The
 * screen compares matching_row_key()s (floored micro-VND per base unit:
 * floor(a) > floor(b) implies a > b) and a pair's landed cost is never
 * below its price, so it drops no listing that has a compatible pair; what
 * it saves is the pair checks of a book where most listings do not cross
 * (the bench's background), which would otherwise cost seconds per round.
 */
#ifndef CM_CALLPLAN_H
#define CM_CALLPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "common/matching.h"
#include "common/transport.h"

struct callplan_input {
	const struct matching_listing *listings; /* remaining = what may be allocated */
	size_t n;
	/*
	 * Pairs left out, each "NEED_ID|OFFER_ID", sorted by strcmp: their
	 * last match failed and neither listing has changed since (the
	 * functions would refuse them, round after round).
	 */
	const char *const *excluded;
	size_t n_excluded;
	int64_t now_ms;
	int64_t rate; /* freight, VND per tonne-km */
};

/* One allocation of a round: listings[need] x listings[offer]. */
struct callplan_alloc {
	size_t need, offer;
	struct matching_alloc a; /* clearing_alloc(): quantity, costs, totals, distance */
};

struct callplan {
	struct callplan_alloc *allocs; /* n of them, in arc order */
	size_t n;
	size_t screened;	      /* listings left by the price screen */
	size_t arcs;		      /* feasible pairs solved over */
	int64_t quantity, landed_vnd; /* sums over allocs (landed: matching_totals) */
	struct transport_result tr;   /* the solver's report */
};

/*
 * Plans a round. 0 with *out filled (free with callplan_free), or -1 with
 * a static *why (the rate out of range, the problem out of the solver's
 * bounds) and *out empty. Allocates with xmalloc (aborts on exhaustion).
 */
int callplan_run(const struct callplan_input *in, struct callplan *out, const char **why);
void callplan_free(struct callplan *p);

#endif
