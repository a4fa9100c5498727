/*
 * callmarket — the engine as a call market (--call-interval N > 0): instead
 * of matching each new or changed listing at once, first come first served,
 * every N seconds the open listings of the engine's index are allocated in
 * one solve (server/engine/callplan.h: the most quantity, then the least
 * landed cost) and proposed through cm_match_propose, as the continuous
 * engine proposes.
 *
 * A round: take the turn (cm_callmarket_claim: one engine node runs the
 * rounds at a time), copy the index (its open listings, held forum
 * listings already left out, and the failed pairs that still hold), solve
 * on a worker thread, propose in chunks, apply the answers to the index and
 * keep the turn for the interval (cm_callmarket_done). A proposal whose
 * listing changed after the copy is refused by the function and its
 * quantity waits for the next round. A tick that finds the previous round
 * still running, the engine not ready or another node's turn skips.
 */
#ifndef CM_CALLMARKET_H
#define CM_CALLMARKET_H

#include <stdint.h>

#include "server/http/metrics.h"

struct app;
struct engine;
struct callmarket;

struct callmarket_stats {
	uint64_t rounds;	 /* rounds run to their end */
	uint64_t skipped;	 /* ticks that ran no round (busy, not ready, not our turn) */
	uint64_t proposed;	 /* proposals Redis accepted */
	uint64_t refused;	 /* proposals Redis refused (listing changed since the copy) */
	uint64_t last_listings;	 /* open listings copied by the last round */
	uint64_t last_screened;	 /* of them, left by the price screen */
	uint64_t last_arcs;	 /* feasible pairs it solved over */
	uint64_t last_proposals; /* proposals it made (accepted) */
	struct metrics_histogram round; /* wall time: the copy to the last answer */
	struct metrics_histogram solve; /* worker CPU time: screen, pairs, solve, documents */
	struct metrics_histogram copy;	/* event-loop time of the copy of the index */
};

/* Starts the rounds of engine e (which owns the index). */
struct callmarket *callmarket_start(struct app *app, struct engine *e);
/* Stops: waits for a solve in progress to end (the loop is not running then). */
void callmarket_stop(struct callmarket *cm);
const struct callmarket_stats *callmarket_stats(const struct callmarket *cm);

#endif
