/*
 * transport — the transportation problem of a forum's clearing, solved
 * exactly: offers (supplies) and needs (demands) in whole base units, the
 * feasible pairs as arcs offer -> need with an integer cost per base unit
 * (micro-VND of landed cost) and an optional capacity. The objective is
 * lexicographic: the LARGEST total quantity that can be matched, and among
 * the allocations that match it, the LEAST total cost (min-cost maximum
 * flow). The caller decides which pairs are feasible (clearing.h
 * builds them with matching.h's filters); this file knows nothing of
 * listings.
 *
 * How: the problem falls apart into connected components (materials rarely
 * connect), and each is solved by a primal network simplex whose costs are
 * pairs (unmet demand, cost) compared lexicographically, so the maximum
 * quantity comes first without a big-M constant (transport_simplex.h). A
 * result without minimum orders is optimal, and proven so: the simplex
 * stops only when no arc has a negative reduced cost.
 *
 * Minimum orders (an offer's minimum per match) make the problem integer
 * (every arc carries 0 or at least the minimum). They are handled by a
 * repair (transport_repair.c): solve without them; when every arc already
 * respects them the result is optimal; otherwise, per component, arcs below
 * their minimum are forbidden or forced up to it and the component solved
 * again, until none is left below (at most 24 rounds per strategy; what is
 * still below then is dropped to 0); three such strategies run and the best
 * result is kept. The relaxation bounds the integer optimum, so a repaired
 * result equal to it is proven optimal; any other is TRANSPORT_FEASIBLE and
 * the result carries the bound, so the gap is known.
 *
 * Bounds (checked; -1 and TRANSPORT_ERANGE beyond them):
 *   quantities      0..TRANSPORT_QUANTITY_MAX each, and their sums on each
 *                   side fit int64
 *   costs           0..INT64_MAX per base unit (potentials are __int128:
 *                   no size of problem can overflow them; int64 when a
 *                   component's costs make that exact, for speed)
 *   nodes, arcs     offers + needs <= TRANSPORT_NODES_MAX, arcs <=
 *                   TRANSPORT_ARCS_MAX (the tree stores 32-bit ids)
 *   total cost      computed exactly in __int128, reported twice: cost,
 *                   exact, when it fits int64 (9.2 x 10^18 micro-VND =
 *                   9.2 x 10^12 VND of landed cost; -1 beyond, never
 *                   wrapped), and cost_vnd, the total / 10^6 rounded half
 *                   up (whole VND), which must fit int64 (else ERANGE).
 *                   A 10,000-listing forum of the bench already passes
 *                   the first: callers use cost_vnd for totals.
 *
 * No I/O, no clock, no floating point on quantities or money.
 */
#ifndef CM_TRANSPORT_H
#define CM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define TRANSPORT_QUANTITY_MAX INT64_C(1000000000000) /* = UNITS_MAX_BASE */
#define TRANSPORT_NODES_MAX (INT32_MAX / 2)
#define TRANSPORT_ARCS_MAX (INT32_MAX / 2)

enum transport_status {
	TRANSPORT_OPTIMAL,  /* proven optimal (always, without minimum orders) */
	TRANSPORT_FEASIBLE, /* minimum orders repaired: feasible, maybe not optimal */
	TRANSPORT_EINVAL,   /* an index, quantity or cost out of range */
	TRANSPORT_ERANGE,   /* a sum or the total cost would not fit int64 */
};

/* One feasible pair. */
struct transport_arc {
	uint32_t offer; /* index into supply[] */
	uint32_t need;	/* index into demand[] */
	int64_t cost;	/* per base unit, >= 0 (landed micro-VND) */
	int64_t cap;	/* most this pair may carry; 0 = no limit of its own */
};

struct transport_problem {
	size_t n_offers, n_needs, n_arcs;
	const int64_t *supply;	  /* n_offers */
	const int64_t *demand;	  /* n_needs */
	const int64_t *min_order; /* n_offers, 0 = none; or NULL: no minimums */
	const struct transport_arc *arcs;
};

struct transport_result {
	enum transport_status status;
	int64_t quantity; /* matched, base units */
	int64_t cost;	  /* sum of flow x cost, exact; -1 when above INT64_MAX */
	int64_t cost_vnd; /* sum of flow x cost / 10^6, rounded half up */
	/*
	 * The solve without minimum orders: its quantity is the most any
	 * allocation can match, and when quantity equals it, its cost is the
	 * least any allocation of that quantity can cost. Equal to quantity
	 * and cost when the result is optimal without any repair. bound_cost
	 * and bound_cost_vnd as cost and cost_vnd.
	 */
	int64_t bound_quantity, bound_cost, bound_cost_vnd;
	size_t components; /* with at least one arc */
	size_t pivots;	   /* simplex pivots, every solve of every component */
	size_t rounds;	   /* repair solves beyond the first (0 without a repair) */
};

/*
 * Solves p. flow (n_arcs entries, the caller's) receives each arc's flow.
 * Returns 0 with r->status TRANSPORT_OPTIMAL or TRANSPORT_FEASIBLE, or -1
 * with r->status TRANSPORT_EINVAL / TRANSPORT_ERANGE and *why (may be NULL)
 * a static English reason; flow is then unspecified. Allocates working
 * memory (xmalloc: aborts on exhaustion) and frees it before returning.
 */
int transport_solve(const struct transport_problem *p, int64_t *flow, struct transport_result *r,
		    const char **why);

/* "optimal", "feasible", "invalid", "out of range". Static storage. */
const char *transport_status_str(enum transport_status s);

#endif
