/*
 * engine — continuous matching: every new or changed listing is matched at
 * once against the open listings on the other side, cheapest landed cost
 * first, and the allocations are proposed to Redis; or, with
 * --call-interval N > 0, only the index, over which the call market
 * (server/engine/callmarket.h, started beside the engine) runs its rounds.
 *
 * Runs in roles "all" and "engine". Any number of engines may run against
 * one Redis: each proposal is checked and written by one atomic function
 * (cm_match_propose), which refuses what another engine took first.
 */
#ifndef CM_ENGINE_H
#define CM_ENGINE_H

#include <stdint.h>

#include "server/histogram.h"

struct app;
struct engine;

struct engine_stats {
	uint64_t listings; /* open listings in the index */
	uint64_t queued;   /* listings waiting to be matched */
	uint64_t rounds;   /* proposal rounds in flight */
	int64_t reserved;  /* quantity (both sides, base units) those rounds hold in the index */
	uint64_t runs;	   /* matching runs made */
	uint64_t proposed; /* proposals Redis accepted */
	uint64_t refused;  /* proposals Redis refused (taken first, changed) */
	uint64_t unknown;  /* of those, in calls that failed: Redis may have made them */
	uint64_t events;   /* cm:events entries applied */
	int ready;	   /* the index is built and the feed is live */
	uint64_t restarts; /* index rebuilt because the Redis primary changed (sentinels) */
	struct metrics_histogram latency; /* listing's event → its proposals written */
	struct metrics_histogram plan;	  /* CPU time of one matching plan */
};

struct index;

struct engine *engine_start(struct app *app);
void engine_stop(struct engine *e);
const struct engine_stats *engine_stats(const struct engine *e);
/* The engine's index (replaced when the engine starts over: ask each time). */
struct index *engine_index(struct engine *e);

#endif
