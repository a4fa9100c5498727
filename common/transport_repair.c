/*
 * transport_repair — minimum orders on one component (see transport.h).
 *
 * An offer's minimum order makes each of its arcs carry 0 or at least the
 * minimum: an integer program. The repair starts from the solve without
 * minimums (the relaxation, whose result bounds the integer optimum) and,
 * while some arc carries more than 0 but less than its minimum, decides
 * those arcs and solves the component again:
 *
 *   forbid       every arc below its minimum is forbidden (carries 0);
 *   consolidate  per offer, the arc below its minimum with the largest
 *                flow is forced up to the minimum (a lower bound) when the
 *                offer, the need and the arc still have room for it, and
 *                the offer's other arcs below their minimum are forbidden;
 *   forbid least per offer, only the arc below its minimum with the
 *                smallest flow is forbidden: more rounds, and the rest of
 *                the offer's flow may move to where it reaches the minimum.
 *
 * Each round forbids or forces at least one arc, and a forced arc never
 * falls below its minimum again, so a strategy ends after at most as many
 * rounds as arcs (in practice one to three). Both strategies run; the
 * better result (more quantity, then less cost) is kept. No I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "common/transport_simplex.h"
#include "common/xalloc.h"

enum repair_strategy { REPAIR_FORBID, REPAIR_CONSOLIDATE, REPAIR_FORBID_LEAST };

/* Marks this round's decisions; 1 when some arc was below its minimum. */
static int repair_decide(const struct tcomp *c, const int64_t *flow, enum repair_strategy how,
			 uint8_t *forbid, int64_t *lower, int64_t *room_s, int64_t *room_d,
			 int64_t *pick)
{
	int any = 0;

	for (int32_t i = 0; i < c->n_offers; i++) {
		room_s[i] = c->supply[i];
		pick[i] = -1;
	}
	for (int32_t j = 0; j < c->n_needs; j++)
		room_d[j] = c->demand[j];
	for (int64_t a = 0; a < c->m; a++) {
		room_s[c->a_offer[a]] -= lower[a];
		room_d[c->a_need[a]] -= lower[a];
	}
	for (int64_t a = 0; a < c->m; a++) {
		int32_t i = c->a_offer[a];
		if (flow[a] <= 0 || flow[a] >= c->min_order[i])
			continue;
		any = 1;
		if (pick[i] < 0 || (how == REPAIR_FORBID_LEAST ? flow[a] < flow[pick[i]]
							      : flow[a] > flow[pick[i]]))
			pick[i] = a;
	}
	for (int64_t a = 0; a < c->m; a++) {
		int32_t i = c->a_offer[a], j = c->a_need[a];
		int64_t mo = c->min_order[i];
		if (flow[a] <= 0 || flow[a] >= mo)
			continue;
		if (how == REPAIR_CONSOLIDATE && pick[i] == a && mo <= room_s[i] &&
		    mo <= room_d[j] && mo <= c->a_cap[a]) {
			lower[a] = mo;
			room_s[i] -= mo;
			room_d[j] -= mo;
		} else if (how != REPAIR_FORBID_LEAST || pick[i] == a) {
			forbid[a] = 1;
		}
	}
	return any;
}

/* One strategy from the relaxed flow: flow, *quantity, *cost. */
static void repair_run(const struct tcomp *c, const int64_t *relaxed, enum repair_strategy how,
		       int64_t *flow, int64_t *quantity, tns_i128 *cost, size_t *pivots,
		       size_t *rounds)
{
	size_t m = (size_t)c->m;
	uint8_t *forbid = xcalloc(m, sizeof(*forbid));
	int64_t *lower = xcalloc(m, sizeof(*lower));
	int64_t *room_s = xmalloc((size_t)c->n_offers * sizeof(*room_s));
	int64_t *pick = xmalloc((size_t)c->n_offers * sizeof(*pick));
	int64_t *room_d = xmalloc((size_t)c->n_needs * sizeof(*room_d));

	memcpy(flow, relaxed, m * sizeof(*flow));
	while (repair_decide(c, flow, how, forbid, lower, room_s, room_d, pick)) {
		(*rounds)++;
		if (tcomp_solve(c, forbid, lower, flow, quantity, cost, pivots) != 0) {
			/* cannot happen: forcing keeps within every room; be safe */
			memset(lower, 0, m * sizeof(*lower));
			for (size_t a = 0; a < m; a++)
				forbid[a] = 1;
			(void)tcomp_solve(c, forbid, lower, flow, quantity, cost, pivots);
		}
	}
	*quantity = 0;
	*cost = 0;
	for (size_t a = 0; a < m; a++) {
		*quantity += flow[a];
		*cost += (tns_i128)flow[a] * c->a_cost[a];
	}
	free(forbid);
	free(lower);
	free(room_s);
	free(pick);
	free(room_d);
}

void tcomp_repair(const struct tcomp *c, const int64_t *relaxed, int64_t *flow,
		  int64_t *quantity, tns_i128 *cost, size_t *pivots, size_t *rounds)
{
	int64_t q2, *other = xmalloc((size_t)c->m * sizeof(*other));
	tns_i128 c2;

	repair_run(c, relaxed, REPAIR_FORBID, flow, quantity, cost, pivots, rounds);
	for (int how = REPAIR_CONSOLIDATE; how <= REPAIR_FORBID_LEAST; how++) {
		repair_run(c, relaxed, (enum repair_strategy)how, other, &q2, &c2, pivots, rounds);
		if (q2 > *quantity || (q2 == *quantity && c2 < *cost)) {
			memcpy(flow, other, (size_t)c->m * sizeof(*flow));
			*quantity = q2;
			*cost = c2;
		}
	}
	free(other);
}
