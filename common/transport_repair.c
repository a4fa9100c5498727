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
 * A round that only forbids changes only costs (a forbidden arc costs more
 * than leaving its unit unmet, transport_simplex.h), so the simplex goes on
 * from the tree it had (warm): a round costs a few pivots, not a solve. A
 * round that forces rebuilds the problem with the new lower bounds and
 * solves it from the start; consolidate forces in its first
 * REPAIR_FORCE_ROUNDS rounds only and forbids after that.
 *
 * Each round forbids or forces at least one arc, and a forced arc never
 * falls below its minimum again, so a strategy ends after at most as many
 * rounds as arcs. The three strategies run; the better result (more
 * quantity, then less cost) is kept. No I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "common/transport_simplex.h"
#include "common/xalloc.h"

enum repair_strategy { REPAIR_FORBID, REPAIR_CONSOLIDATE, REPAIR_FORBID_LEAST };

#define REPAIR_FORCE_ROUNDS 8

/* One strategy's working state: its own simplex problem, warm between rounds. */
struct repair {
	const struct tcomp *c;
	struct tns t;
	int64_t *pos;
	uint8_t *forbid;
	int64_t *lower, *room_s, *room_d, *pick;
};

/*
 * Marks this round's decisions, forbidding in r->t at once: 0 when no arc
 * was below its minimum, 1 when arcs were forbidden only, 2 when some arc
 * was forced (the problem must be loaded again).
 */
static int repair_decide(struct repair *r, const int64_t *flow, enum repair_strategy how,
			 int may_force)
{
	const struct tcomp *c = r->c;
	int64_t *room_s = r->room_s, *room_d = r->room_d, *pick = r->pick;
	int any = 0;

	for (int32_t i = 0; i < c->n_offers; i++) {
		room_s[i] = c->supply[i];
		pick[i] = -1;
	}
	for (int32_t j = 0; j < c->n_needs; j++)
		room_d[j] = c->demand[j];
	for (int64_t a = 0; a < c->m; a++) {
		room_s[c->a_offer[a]] -= r->lower[a];
		room_d[c->a_need[a]] -= r->lower[a];
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
		if (how == REPAIR_CONSOLIDATE && may_force && pick[i] == a && mo <= room_s[i] &&
		    mo <= room_d[j] && mo <= c->a_cap[a]) {
			r->lower[a] = mo;
			room_s[i] -= mo;
			room_d[j] -= mo;
			any = 2;
		} else if (how != REPAIR_FORBID_LEAST || pick[i] == a) {
			r->forbid[a] = 1;
			if (r->pos[a] >= 0)
				tns_forbid(&r->t, r->pos[a]);
		}
	}
	return any;
}

/* One strategy from the relaxation t: flow, *quantity, *cost. */
static void repair_run(const struct tcomp *c, const struct tns *t, const int64_t *pos,
		       const int64_t *relaxed, enum repair_strategy how, int64_t *flow,
		       int64_t *quantity, tns_i128 *cost, size_t *pivots, size_t *rounds)
{
	size_t m = (size_t)c->m, round = 0;
	struct repair r = {.c = c};
	int step;

	tns_copy(&r.t, t);
	r.pos = xmalloc(m * sizeof(*r.pos));
	memcpy(r.pos, pos, m * sizeof(*r.pos));
	r.forbid = xcalloc(m, sizeof(*r.forbid));
	r.lower = xcalloc(m, sizeof(*r.lower));
	r.room_s = xmalloc((size_t)c->n_offers * sizeof(*r.room_s));
	r.pick = xmalloc((size_t)c->n_offers * sizeof(*r.pick));
	r.room_d = xmalloc((size_t)c->n_needs * sizeof(*r.room_d));
	memcpy(flow, relaxed, m * sizeof(*flow));
	while ((step = repair_decide(&r, flow, how, round < REPAIR_FORCE_ROUNDS)) != 0) {
		size_t before = r.t.pivots;
		round++;
		(*rounds)++;
		if (step == 2) {
			tns_free(&r.t);
			/* forcing keeps within every room: the load cannot fail */
			(void)tcomp_load(c, r.forbid, r.lower, &r.t, r.pos);
			(void)tns_run(&r.t);
			before = 0;
		} else {
			(void)tns_resume(&r.t);
		}
		*pivots += r.t.pivots - before;
		tcomp_read(c, &r.t, r.pos, r.lower, flow, quantity, cost);
	}
	tcomp_read(c, &r.t, r.pos, r.lower, flow, quantity, cost);
	tns_free(&r.t);
	free(r.pos);
	free(r.forbid);
	free(r.lower);
	free(r.room_s);
	free(r.pick);
	free(r.room_d);
}

void tcomp_repair(const struct tcomp *c, const struct tns *t, const int64_t *pos,
		  const int64_t *relaxed, int64_t *flow, int64_t *quantity, tns_i128 *cost,
		  size_t *pivots, size_t *rounds)
{
	int64_t q2, *other = xmalloc((size_t)c->m * sizeof(*other));
	tns_i128 c2;

	repair_run(c, t, pos, relaxed, REPAIR_FORBID, flow, quantity, cost, pivots, rounds);
	for (int how = REPAIR_CONSOLIDATE; how <= REPAIR_FORBID_LEAST; how++) {
		repair_run(c, t, pos, relaxed, (enum repair_strategy)how, other, &q2, &c2, pivots,
			   rounds);
		if (q2 > *quantity || (q2 == *quantity && c2 < *cost)) {
			memcpy(flow, other, (size_t)c->m * sizeof(*flow));
			*quantity = q2;
			*cost = c2;
		}
	}
	free(other);
}
