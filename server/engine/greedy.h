/*
 * greedy — what the continuous engine would have allocated on a forum's
 * listings, for the clearing's comparison ("optimal clearing matched N
 * more / saved X ₫").
 *
 * Each listing, in posting order (seq), is planned by the engine's own
 * greedy first-come rule over the listings of the other kind posted before
 * it, with what earlier plans took already gone. The plans go through an
 * engine index (server/engine/index.h: per-material lists in price order,
 * matching_plan_runs over their rows), so a plan stops where prices go out
 * of reach and costs only the candidates that can rank, instead of costing
 * every earlier listing (matching_plan over all of them: quadratic, seconds
 * at 10,000 listings). The totals are the same as that full plan's
 * (tests/unit/test_greedy.c holds the two against each other).
 *
 * Pure: no I/O, no clock, no shared state (its own index), so the clearing
 * runs it on its worker thread.
 */
#ifndef CM_ENGINE_GREEDY_H
#define CM_ENGINE_GREEDY_H

#include <stddef.h>
#include <stdint.h>

#include "common/matching.h"

/*
 * Totals of the greedy allocation of ls[0..n) (borrowed, unchanged): base
 * units matched and landed VND (the sum of each allocation's landed_vnd).
 */
void greedy_totals(const struct matching_listing *ls, size_t n, int64_t now_ms, int64_t rate,
		   int64_t *quantity, int64_t *landed_vnd);

#endif
