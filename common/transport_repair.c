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
 * falls below its minimum again, so a strategy would end after at most as
 * many rounds as arcs; it stops at REPAIR_ROUNDS_MAX and drops what is
 * still below its minimum. The three strategies run; the better result (more
 * quantity, then less cost) is kept. No I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "common/transport_simplex.h"
#include "common/xalloc.h"

enum repair_strategy { REPAIR_FORBID, REPAIR_CONSOLIDATE, REPAIR_FORBID_LEAST };

#define REPAIR_FORCE_ROUNDS 3
/*
 * Rounds per strategy. Each costs at least one pricing pass over the
 * component's arcs; on a forum's big components a strategy can go on for
 * hundreds of rounds, each fixing a few arcs. Past the cap, what is still
 * below its minimum is dropped (set to 0): feasible, since carrying less
 * never breaks a supply, demand or capacity, and counted in the gap.
 */
#define REPAIR_ROUNDS_MAX 24

/* One strategy's working state: its own simplex problem, warm between rounds. */
struct repair {
	const struct tcomp *c;
	struct tns t;
	int64_t *pos;	 /* local arc -> arc of t, or -1 */
	int64_t *inv;	 /* arc of t -> local arc */
	int64_t *capped; /* arcs of t with a finite capacity: they can sit full */
	int64_t n_capped;
	int64_t *cand; /* this round's arcs below their minimum (local) */
	uint8_t *forbid;
	int64_t *lower, *room_s, *room_d, *pick;
};

/* After a load: the inverse of pos and the list of capped arcs. */
static void repair_index(struct repair *r)
{
	r->n_capped = 0;
	for (int64_t a = 0; a < r->c->m; a++) {
		if (r->pos[a] < 0)
			continue;
		r->inv[r->pos[a]] = a;
		if (r->t.cap[r->pos[a]] < TNS_INF)
			r->capped[r->n_capped++] = r->pos[a];
	}
}

/* The flow of local arc a: its lower bound plus what t carries on it. */
static int64_t repair_flow(const struct repair *r, int64_t a)
{
	return r->lower[a] + (r->pos[a] >= 0 ? r->t.flow[r->pos[a]] : 0);
}

/*
 * The arcs below their minimum, into r->cand; how many. Only an arc that
 * t carries something on can be: a tree arc (one above each node) or a
 * capped arc at its capacity; a forced arc carries its minimum at least.
 * O(nodes + capped arcs), not O(arcs): rounds stay cheap on big components.
 */
static int64_t repair_below(struct repair *r)
{
	const struct tcomp *c = r->c;
	int64_t n = 0;

	for (int32_t u = 0; u < r->t.n; u++) {
		int64_t e = r->t.pred[u];
		if (e < 0 || e >= r->t.m || r->t.flow[e] <= 0)
			continue;
		int64_t a = r->inv[e], f = repair_flow(r, a);
		if (f < c->min_order[c->a_offer[a]])
			r->cand[n++] = a;
	}
	for (int64_t k = 0; k < r->n_capped; k++) {
		int64_t e = r->capped[k];
		int64_t a = r->inv[e];
		if (r->t.flow[e] <= 0 || r->t.flow[e] < r->t.cap[e])
			continue; /* empty, or in the tree: counted above */
		if (repair_flow(r, a) < c->min_order[c->a_offer[a]])
			r->cand[n++] = a;
	}
	return n;
}

/*
 * Marks this round's decisions, forbidding in r->t at once: 0 when no arc
 * was below its minimum, 1 when arcs were forbidden only, 2 when some arc
 * was forced (the problem must be loaded again).
 */
static int repair_decide(struct repair *r, enum repair_strategy how, int may_force)
{
	const struct tcomp *c = r->c;
	int64_t *pick = r->pick, n = repair_below(r);
	int any = n > 0;

	for (int64_t k = 0; k < n; k++)
		pick[c->a_offer[r->cand[k]]] = -1;
	for (int64_t k = 0; k < n; k++) {
		int64_t a = r->cand[k], f = repair_flow(r, a);
		int32_t i = c->a_offer[a];
		if (pick[i] < 0 || (how == REPAIR_FORBID_LEAST ? f < repair_flow(r, pick[i])
							       : f > repair_flow(r, pick[i])))
			pick[i] = a;
	}
	for (int64_t k = 0; k < n; k++) {
		int64_t a = r->cand[k];
		int32_t i = c->a_offer[a], j = c->a_need[a];
		int64_t mo = c->min_order[i];
		if (how == REPAIR_CONSOLIDATE && may_force && pick[i] == a && mo <= r->room_s[i] &&
		    mo <= r->room_d[j] && mo <= c->a_cap[a]) {
			r->lower[a] = mo;
			r->room_s[i] -= mo;
			r->room_d[j] -= mo;
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
		       enum repair_strategy how, int64_t *flow, int64_t *quantity, tns_i128 *cost,
		       size_t *pivots, size_t *rounds)
{
	size_t m = (size_t)c->m, round = 0;
	struct repair r = {.c = c};
	int step;

	tns_copy(&r.t, t);
	r.pos = xmalloc(m * sizeof(*r.pos));
	memcpy(r.pos, pos, m * sizeof(*r.pos));
	r.inv = xmalloc(m * sizeof(*r.inv));
	r.capped = xmalloc(m * sizeof(*r.capped));
	r.cand = xmalloc(((size_t)t->n + m) * sizeof(*r.cand));
	r.forbid = xcalloc(m, sizeof(*r.forbid));
	r.lower = xcalloc(m, sizeof(*r.lower));
	r.room_s = xmalloc((size_t)c->n_offers * sizeof(*r.room_s));
	r.pick = xmalloc((size_t)c->n_offers * sizeof(*r.pick));
	r.room_d = xmalloc((size_t)c->n_needs * sizeof(*r.room_d));
	memcpy(r.room_s, c->supply, (size_t)c->n_offers * sizeof(*r.room_s));
	memcpy(r.room_d, c->demand, (size_t)c->n_needs * sizeof(*r.room_d));
	repair_index(&r);
	while (round < REPAIR_ROUNDS_MAX &&
	       (step = repair_decide(&r, how, round < REPAIR_FORCE_ROUNDS)) != 0) {
		size_t before = r.t.pivots;
		round++;
		(*rounds)++;
		if (step == 2) {
			tns_free(&r.t);
			/* forcing keeps within every room: the load cannot fail */
			(void)tcomp_load(c, r.forbid, r.lower, &r.t, r.pos);
			(void)tns_run(&r.t);
			repair_index(&r);
			before = 0;
		} else {
			(void)tns_resume(&r.t);
		}
		*pivots += r.t.pivots - before;
	}
	tcomp_read(c, &r.t, r.pos, r.lower, flow, quantity, cost);
	for (size_t a = 0; a < m; a++) {
		if (flow[a] > 0 && flow[a] < c->min_order[c->a_offer[a]]) {
			*quantity -= flow[a];
			*cost -= (tns_i128)flow[a] * c->a_cost[a];
			flow[a] = 0;
		}
	}
	tns_free(&r.t);
	free(r.pos);
	free(r.inv);
	free(r.capped);
	free(r.cand);
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

	(void)relaxed; /* t carries it */
	repair_run(c, t, pos, REPAIR_FORBID, flow, quantity, cost, pivots, rounds);
	for (int how = REPAIR_CONSOLIDATE; how <= REPAIR_FORBID_LEAST; how++) {
		repair_run(c, t, pos, (enum repair_strategy)how, other, &q2, &c2, pivots, rounds);
		if (q2 > *quantity || (q2 == *quantity && c2 < *cost)) {
			memcpy(flow, other, (size_t)c->m * sizeof(*flow));
			*quantity = q2;
			*cost = c2;
		}
	}
	free(other);
}
