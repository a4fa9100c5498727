/*
 * Unit tests for common/transport (min-cost maximum flow, minimum-order
 * repair) and common/clearing (a forum's listings as a transport problem
 * under matching.h's filters). Hand-made cases whose answers are worked out
 * in the comments; the random comparisons with LEMON and GLPK are in
 * tests/oracle/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/clearing.h"
#include "common/listing.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/transport.h"

#define ARC(o, n, c)                                                                               \
	{                                                                                          \
		.offer = (o), .need = (n), .cost = (c), .cap = 0                                   \
	}

static struct transport_result solve(const int64_t *s, size_t ns, const int64_t *d, size_t nd,
				     const struct transport_arc *arcs, size_t na,
				     const int64_t *min_order, int64_t *flow)
{
	struct transport_problem p = {ns, nd, na, s, d, min_order, arcs};
	struct transport_result r;
	const char *why = NULL;

	assert_int_equal(transport_solve(&p, flow, &r, &why), 0);
	return r;
}

static void test_empty(void **state)
{
	int64_t flow[1];
	struct transport_result r = solve(NULL, 0, NULL, 0, NULL, 0, NULL, flow);

	assert_int_equal(r.status, TRANSPORT_OPTIMAL);
	assert_int_equal(r.quantity, 0);
	assert_int_equal(r.cost, 0);
	assert_int_equal(r.components, 0);
}

/* The kaolin: a 40 t need, Trúc Thôn at 2,418 VND/kg landed and
 * Đông Triều at 2,224 VND/kg: all 40,000 kg from Đông Triều. */
static void test_cheapest_wins(void **state)
{
	const int64_t s[] = {100000, 60000}, d[] = {40000};
	const struct transport_arc a[] = {ARC(0, 0, 2418000000), ARC(1, 0, 2224000000)};
	int64_t flow[2];
	struct transport_result r = solve(s, 2, d, 1, a, 2, NULL, flow);

	assert_int_equal(r.status, TRANSPORT_OPTIMAL);
	assert_int_equal(flow[0], 0);
	assert_int_equal(flow[1], 40000);
	assert_int_equal(r.quantity, 40000);
	assert_int_equal(r.cost, INT64_C(40000) * 2224000000);
}

/*
 * Quantity comes before cost. A reaches X (cost 0) and Y (cost 10); B
 * reaches only X (cost 100). The cheapest single match is A->X (0), but
 * two units can be matched, A->Y + B->X, at 110: that is the answer.
 */
static void test_quantity_before_cost(void **state)
{
	const int64_t s[] = {1, 1}, d[] = {1, 1};
	const struct transport_arc a[] = {ARC(0, 0, 0), ARC(0, 1, 10), ARC(1, 0, 100)};
	int64_t flow[3];
	struct transport_result r = solve(s, 2, d, 2, a, 3, NULL, flow);

	assert_int_equal(r.quantity, 2);
	assert_int_equal(r.cost, 110);
	assert_int_equal(flow[0], 0);
	assert_int_equal(flow[1], 1);
	assert_int_equal(flow[2], 1);
}

/* Splits, capacities, zero quantities and two components. */
static void test_split_and_capacity(void **state)
{
	/* offers 0 (50) and 1 (0: nothing); needs 0 (30), 1 (30), 2 (10, alone with offer 2) */
	const int64_t s[] = {50, 0, 20}, d[] = {30, 30, 10};
	struct transport_arc a[] = {ARC(0, 0, 5), ARC(0, 1, 7), ARC(1, 1, 1), ARC(2, 2, 3)};
	int64_t flow[4];

	a[0].cap = 25; /* at most 25 on the cheap arc: 25 + 25 */
	struct transport_result r = solve(s, 3, d, 3, a, 4, NULL, flow);
	assert_int_equal(flow[0], 25);
	assert_int_equal(flow[1], 25);
	assert_int_equal(flow[2], 0);
	assert_int_equal(flow[3], 10);
	assert_int_equal(r.quantity, 60);
	assert_int_equal(r.cost, 25 * 5 + 25 * 7 + 10 * 3);
	assert_int_equal(r.components, 2);
}

/* Equal costs everywhere: any split, the same totals. */
static void test_ties(void **state)
{
	const int64_t s[] = {4, 4, 4}, d[] = {3, 3, 3, 3};
	struct transport_arc a[12];
	int64_t flow[12];
	size_t n = 0;

	for (uint32_t i = 0; i < 3; i++)
		for (uint32_t j = 0; j < 4; j++)
			a[n++] = (struct transport_arc)ARC(i, j, 9);
	struct transport_result r = solve(s, 3, d, 4, a, n, NULL, flow);
	assert_int_equal(r.quantity, 12);
	assert_int_equal(r.cost, 108);
}

/*
 * The largest cost per base unit still adds up exactly; two units pass
 * INT64_MAX, so cost is -1 and cost_vnd carries the total: 2 x (2^63 - 1)
 * / 10^6 = 18,446,744,073,709.551614, rounded to ...710. A total whose VND
 * does not fit either is refused.
 */
static void test_cost_bounds(void **state)
{
	const int64_t s[] = {TRANSPORT_QUANTITY_MAX}, d[] = {TRANSPORT_QUANTITY_MAX}, d1[] = {1};
	const int64_t d2[] = {2};
	const struct transport_arc a[] = {ARC(0, 0, INT64_MAX)};
	int64_t flow[1];
	struct transport_problem p = {1, 1, 1, s, d, NULL, a};
	struct transport_result r;
	const char *why = NULL;

	r = solve(s, 1, d1, 1, a, 1, NULL, flow);
	assert_int_equal(r.cost, INT64_MAX);
	assert_int_equal(r.cost_vnd, INT64_C(9223372036855));
	r = solve(s, 1, d2, 1, a, 1, NULL, flow);
	assert_int_equal(r.cost, -1);
	assert_int_equal(r.bound_cost, -1);
	assert_int_equal(r.cost_vnd, INT64_C(18446744073710));
	assert_int_equal(r.bound_cost_vnd, INT64_C(18446744073710));
	/* 10^12 x (2^63 - 1) / 10^6 = 9.2 x 10^24 VND: refused */
	assert_int_equal(transport_solve(&p, flow, &r, &why), -1);
	assert_int_equal(r.status, TRANSPORT_ERANGE);
	assert_string_equal(why, "total cost out of range");
}

static void test_invalid(void **state)
{
	const int64_t s[] = {5}, d[] = {5}, big[] = {TRANSPORT_QUANTITY_MAX + 1};
	struct transport_arc a[] = {ARC(0, 1, 1)};
	int64_t flow[1];
	struct transport_result r;
	const char *why = NULL;
	struct transport_problem p = {1, 1, 1, s, d, NULL, a};

	assert_int_equal(transport_solve(&p, flow, &r, &why), -1);
	assert_int_equal(r.status, TRANSPORT_EINVAL);
	assert_string_equal(why, "arc end out of range");
	a[0].need = 0;
	a[0].cost = -1;
	assert_int_equal(transport_solve(&p, flow, &r, &why), -1);
	assert_string_equal(why, "negative cost or capacity");
	a[0].cost = 1;
	p.supply = big;
	assert_int_equal(transport_solve(&p, flow, &r, &why), -1);
	assert_string_equal(why, "supply out of range");
	assert_string_equal(transport_status_str(TRANSPORT_FEASIBLE), "feasible");
}

/* Each arc 0 or at least its offer's minimum. */
static void assert_min_orders(const int64_t *mo, const struct transport_arc *a, size_t n,
			      const int64_t *flow)
{
	for (size_t k = 0; k < n; k++)
		assert_true(flow[k] == 0 || flow[k] >= mo[a[k].offer]);
}

/*
 * Minimum orders. Offer A has 10 with a minimum of 6; needs X and Y want 5
 * each: no arc of A can carry 6, so nothing is matched, and that is proven
 * (the arcs are unusable before any solve).
 */
static void test_min_order_unusable(void **state)
{
	const int64_t s[] = {10}, d[] = {5, 5}, mo[] = {6};
	const struct transport_arc a[] = {ARC(0, 0, 1), ARC(0, 1, 1)};
	int64_t flow[2];
	struct transport_result r = solve(s, 1, d, 2, a, 2, mo, flow);

	assert_int_equal(r.quantity, 0);
	assert_int_equal(r.status, TRANSPORT_OPTIMAL);
}

/*
 * A (10, minimum 5) and B (3, no minimum) for X (6) and Y (6); A->X and
 * A->Y cost 1, B->X 20, B->Y 10. Without the minimum: A->X 6, A->Y 4,
 * B->Y 2, 12 units for 30, but A->Y 4 is below A's minimum. The integer
 * optimum: A->X 5, A->Y 5, B->X 1, B->Y 1, 12 units for 40. The repair
 * reaches it, and since 40 is above the bound (30) it says "feasible" with
 * the bound beside it: it cannot prove more.
 */
static void test_min_order_repair(void **state)
{
	const int64_t s[] = {10, 3}, d[] = {6, 6}, mo[] = {5, 0};
	const struct transport_arc a[] = {ARC(0, 0, 1), ARC(0, 1, 1), ARC(1, 0, 20), ARC(1, 1, 10)};
	int64_t flow[4];
	struct transport_result r = solve(s, 2, d, 2, a, 4, mo, flow);

	assert_min_orders(mo, a, 4, flow);
	assert_int_equal(r.bound_quantity, 12);
	assert_int_equal(r.bound_cost, 30);
	assert_int_equal(r.quantity, 12);
	assert_int_equal(r.cost, 40);
	assert_int_equal(r.status, TRANSPORT_FEASIBLE);
	assert_true(r.rounds > 0);
}

/* ---- clearing: listings to arcs ---------------------------------------- */

#define NOW INT64_C(1795737600000)
#define DAY INT64_C(86400000)

static struct matching_listing mk(enum listing_kind kind, const char *id, const char *owner,
				  const char *material, const char *province, int64_t remaining,
				  int64_t vnd_per_tan)
{
	struct matching_listing l;

	memset(&l, 0, sizeof(l));
	snprintf(l.id, sizeof(l.id), "%s", id);
	snprintf(l.owner, sizeof(l.owner), "%s", owner);
	l.kind = (uint8_t)kind;
	l.material = materials_find(material);
	l.province = provinces_find(province);
	assert_non_null(l.material);
	assert_non_null(l.province);
	l.grade_rank = -1;
	l.remaining = remaining;
	l.price_vnd = vnd_per_tan;
	l.price_factor = 1000;
	if (kind == LISTING_NEED)
		l.needed_by_ms = NOW + 30 * DAY;
	else
		l.available_from_ms = NOW - DAY;
	return l;
}

/*
 * One kaolin need (40 t, substitutes accepted, at most 2.6 M/t) in Hà Nội;
 * offers: kaolin dear, kaolin cheap, white clay (a substitute the need
 * accepts), clay (not a substitute), kaolin above the ceiling, and kaolin
 * from the need's own owner. Arcs: the first three only.
 */
static void test_clearing_filters(void **state)
{
	struct matching_listing l[] = {
	    mk(LISTING_NEED, "n1", "v1", "kaolin", "HN", 40000, 2600000),
	    mk(LISTING_OFFER, "o1", "s1", "kaolin", "HN", 30000, 2400000),
	    mk(LISTING_OFFER, "o2", "s2", "kaolin", "HN", 30000, 2200000),
	    mk(LISTING_OFFER, "o3", "s3", "white_clay", "HN", 30000, 2300000),
	    mk(LISTING_OFFER, "o4", "s4", "clay", "HN", 30000, 1000000),
	    mk(LISTING_OFFER, "o5", "s5", "kaolin", "HN", 30000, 2700000),
	    mk(LISTING_OFFER, "o6", "v1", "kaolin", "HN", 30000, 1000000),
	};
	const struct matching_listing *ptr[7];
	struct clearing c;
	const char *why = NULL;

	l[0].accept_substitutes = 1;
	for (size_t k = 0; k < 7; k++)
		ptr[k] = &l[k];
	assert_int_equal(clearing_build(&c, ptr, 7, NOW, MATCHING_FREIGHT_VND_PER_TONNE_KM, &why),
			 0);
	assert_int_equal(c.problem.n_needs, 1);
	assert_int_equal(c.problem.n_offers, 6);
	assert_int_equal(c.problem.n_arcs, 3);
	for (size_t a = 0; a < 3; a++) {
		const struct matching_listing *o = c.offers[c.arcs[a].offer];
		/* landed = price + 30 km (intra-province floor) x 1000 g x 3000 */
		int64_t freight = matching_freight_micro(o->material, 30, 3000);
		assert_int_equal(c.arcs[a].cost, matching_price_micro(o) + freight);
		assert_true(strcmp(o->id, "o1") == 0 || strcmp(o->id, "o2") == 0 ||
			    strcmp(o->id, "o3") == 0);
	}

	/* optimal: o2's 30 t (cheapest) then o3's 10 t (next) */
	int64_t flow[3];
	struct transport_result r;
	assert_int_equal(transport_solve(&c.problem, flow, &r, &why), 0);
	assert_int_equal(r.quantity, 40000);
	for (size_t a = 0; a < 3; a++) {
		const char *id = c.offers[c.arcs[a].offer]->id;
		int64_t want = strcmp(id, "o2") == 0 ? 30000 : strcmp(id, "o3") == 0 ? 10000 : 0;
		assert_int_equal(flow[a], want);
		if (flow[a] > 0) {
			struct matching_alloc al;
			assert_int_equal(clearing_alloc(&c, a, flow[a], &al), 0);
			assert_int_equal(al.quantity, flow[a]);
			assert_int_equal(al.landed_micro, c.arcs[a].cost);
			assert_int_equal(al.distance_km, 30);
			assert_int_equal(al.compatible, 3);
		}
	}
	clearing_free(&c);
	assert_int_equal(clearing_build(&c, ptr, 7, NOW, MATCHING_RATE_MAX + 1, &why), -1);
	assert_string_equal(why, "freight rate out of range");
}

/* An offer's minimum order reaches the problem, and a need smaller than it gets no arc. */
static void test_clearing_min_order(void **state)
{
	struct matching_listing l[] = {
	    mk(LISTING_NEED, "n1", "v1", "clay", "HN", 3000, 0),
	    mk(LISTING_NEED, "n2", "v2", "clay", "HN", 8000, 0),
	    mk(LISTING_OFFER, "o1", "s1", "clay", "HN", 10000, 1000000),
	};
	const struct matching_listing *ptr[3] = {&l[0], &l[1], &l[2]};
	struct clearing c;

	l[2].min_order_base = 5000;
	assert_int_equal(clearing_build(&c, ptr, 3, NOW, 3000, NULL), 0);
	assert_int_equal(c.problem.n_arcs, 1);
	assert_int_equal(c.min_order[0], 5000);
	assert_string_equal(c.needs[c.arcs[0].need]->id, "n2");
	clearing_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_cheapest_wins),
	    cmocka_unit_test(test_quantity_before_cost),
	    cmocka_unit_test(test_split_and_capacity),
	    cmocka_unit_test(test_ties),
	    cmocka_unit_test(test_cost_bounds),
	    cmocka_unit_test(test_invalid),
	    cmocka_unit_test(test_min_order_unusable),
	    cmocka_unit_test(test_min_order_repair),
	    cmocka_unit_test(test_clearing_filters),
	    cmocka_unit_test(test_clearing_min_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
