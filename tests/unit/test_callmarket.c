/*
 * Unit tests: server/engine/callplan — a call market round over a snapshot.
 *
 * Properties over random books (materials with substitutes, several
 * provinces and points, price ceilings, grades, dates, distance limits,
 * minimum orders, same-owner pairs, zero quantities):
 *   - no over-allocation: per listing, the sum of its allocations is at most
 *     its remaining; each allocation is > 0, of a need and an offer that
 *     matching_compatible() passes, and respects the offer's minimum order;
 *   - against the continuous engine's greedy on the same book (each listing
 *     in posting order planned with matching_plan() over the listings of the
 *     other kind posted before it, what earlier plans took gone): when the
 *     round is proven optimal it matches more, or the same quantity at no
 *     more landed cost (exact, in micro-VND);
 *   - the price screen loses nothing: the round's quantity and cost equal
 *     those of the same book solved without it (clearing_build over every
 *     listing);
 *   - excluded pairs (failed, neither side changed) are never allocated.
 * And the kaolin case by hand, the screen by hand, and
 * clearing_build's price scan against the all-pairs build it replaced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/clearing.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/xalloc.h"
#include "server/engine/callplan.h"

#define NOW INT64_C(1795737600000)
#define DAY INT64_C(86400000)
#define RATE INT64_C(3000)

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static const char *const provs[] = {"HN", "HP", "QN", "BN", "NB", "TH", "LCI", "PT"};
static const char *const mats[] = {"kaolin", "white_clay", "clay", "sedge"};

static struct matching_listing random_listing(uint64_t *x, size_t i, int min_orders)
{
	static const char *const owners[] = {"acc_a", "acc_b", "acc_c", "acc_d", "acc_e", "acc_f"};
	struct matching_listing l;
	memset(&l, 0, sizeof(l));
	l.kind = (uint8_t)(xorshift(x) % 2 ? LISTING_NEED : LISTING_OFFER);
	snprintf(l.id, sizeof(l.id), "lst_%04zu", i);
	snprintf(l.owner, sizeof(l.owner), "%s", owners[xorshift(x) % 6]);
	l.material = materials_find(mats[xorshift(x) % 4]);
	l.province = provinces_find(provs[xorshift(x) % 8]);
	l.remaining = xorshift(x) % 15 == 0 ? 0 : 1000 * (1 + (int64_t)(xorshift(x) % 60));
	l.price_factor = 1000;
	l.price_vnd = 1000000 + 100000 * (int64_t)(xorshift(x) % 20);
	l.grade_rank = (int8_t)(xorshift(x) % 4) - 1;
	l.has_location = xorshift(x) % 3 == 0;
	l.lat_udeg = 21000000 + (int32_t)(xorshift(x) % 2000000) - 1000000;
	l.lon_udeg = 105500000 + (int32_t)(xorshift(x) % 2000000) - 1000000;
	l.max_distance_km = xorshift(x) % 4 == 0 ? 30 + (int32_t)(xorshift(x) % 200) : 0;
	l.seq = (int64_t)i + 1;
	l.version = 1 + (int64_t)(xorshift(x) % 3);
	if (l.kind == LISTING_OFFER) {
		l.available_from_ms = NOW - DAY + (int64_t)(xorshift(x) % 4 == 0) * 40 * DAY;
		l.available_until_ms = xorshift(x) % 4 == 0 ? NOW + 60 * DAY : 0;
		if (min_orders && xorshift(x) % 3 == 0)
			l.min_order_base = 1000 * (1 + (int64_t)(xorshift(x) % 20));
	} else {
		if (xorshift(x) % 3 == 0)
			l.price_vnd = 0; /* no maximum */
		else
			l.price_vnd += 400000; /* most cross */
		l.accept_substitutes = xorshift(x) % 2;
		l.needed_by_ms = NOW + (int64_t)(1 + xorshift(x) % 3) * 20 * DAY;
	}
	return l;
}

/* The continuous engine's allocation of the book, as it would come in posting order. */
static void greedy(const struct matching_listing *ls, size_t n, int64_t *quantity,
		   __int128 *cost_micro)
{
	struct matching_listing *l = xmalloc(n * sizeof(*l));
	const struct matching_listing **cands = xmalloc(n * sizeof(*cands));
	struct matching_alloc *out = xmalloc(n * sizeof(*out));
	memcpy(l, ls, n * sizeof(*l)); /* in seq order already */
	*quantity = 0;
	*cost_micro = 0;
	for (size_t i = 0; i < n; i++) {
		size_t m = 0;
		for (size_t j = 0; j < i; j++)
			cands[m++] = l[j].kind != l[i].kind ? &l[j] : NULL;
		size_t k = matching_plan(&l[i], cands, m, NOW, RATE, out, m, NULL);
		for (size_t a = 0; a < k; a++) {
			struct matching_listing *c = (struct matching_listing *)cands[out[a].index];
			c->remaining -= out[a].quantity;
			l[i].remaining -= out[a].quantity;
			*quantity += out[a].quantity;
			*cost_micro += (__int128)out[a].quantity * out[a].landed_micro;
		}
	}
	free(out);
	free(cands);
	free(l);
}

/* Checks a round's allocations against the book; returns their exact cost. */
static __int128 check_round(const struct matching_listing *ls, size_t n, const struct callplan *p,
			    const char *const *excluded, size_t n_excluded)
{
	int64_t *used = xcalloc(n, sizeof(*used));
	__int128 cost = 0;
	int64_t q = 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct callplan_alloc *al = &p->allocs[i];
		const struct matching_listing *need = &ls[al->need], *offer = &ls[al->offer];
		assert_true(al->need < n && al->offer < n);
		assert_int_equal(need->kind, LISTING_NEED);
		assert_int_equal(offer->kind, LISTING_OFFER);
		assert_true(al->a.quantity > 0);
		assert_true(al->a.quantity >= offer->min_order_base);
		assert_true(
		    matching_compatible(need, offer, NOW, matching_distance_km(need, offer), NULL));
		char pair[2 * IDS_MAX + 2];
		snprintf(pair, sizeof(pair), "%s|%s", need->id, offer->id);
		for (size_t e = 0; e < n_excluded; e++)
			assert_string_not_equal(pair, excluded[e]);
		used[al->need] += al->a.quantity;
		used[al->offer] += al->a.quantity;
		q += al->a.quantity;
		cost += (__int128)al->a.quantity * al->a.landed_micro;
	}
	for (size_t i = 0; i < n; i++)
		assert_true(used[i] <= ls[i].remaining);
	assert_int_equal(q, p->quantity);
	assert_int_equal(q, p->tr.quantity);
	free(used);
	return cost;
}

static void test_random_books(void **state)
{
	(void)state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t optimal = 0, more = 0, cheaper = 0;
	for (int round = 0; round < 400; round++) {
		size_t n = 2 + xorshift(&x) % 40;
		int min_orders = round % 4 == 3;
		struct matching_listing *ls = xcalloc(n, sizeof(*ls));
		for (size_t i = 0; i < n; i++)
			ls[i] = random_listing(&x, i, min_orders);
		struct callplan_input in = {.listings = ls, .n = n, .now_ms = NOW, .rate = RATE};
		struct callplan p;
		const char *why = NULL;
		assert_int_equal(callplan_run(&in, &p, &why), 0);
		__int128 cost = check_round(ls, n, &p, NULL, 0);

		/* the screen loses nothing: the same book solved whole */
		const struct matching_listing **ptrs = xcalloc(n, sizeof(*ptrs));
		for (size_t i = 0; i < n; i++)
			ptrs[i] = &ls[i];
		struct clearing c;
		assert_int_equal(clearing_build(&c, ptrs, n, NOW, RATE, &why), 0);
		int64_t *flow = xcalloc(c.problem.n_arcs + 1, sizeof(*flow));
		struct transport_result tr;
		assert_int_equal(transport_solve(&c.problem, flow, &tr, &why), 0);
		assert_int_equal(tr.bound_quantity, p.tr.bound_quantity);
		assert_int_equal(tr.bound_cost, p.tr.bound_cost);
		if (!min_orders) {
			assert_int_equal(p.tr.status, TRANSPORT_OPTIMAL);
			assert_int_equal(tr.cost, p.tr.cost);
			assert_true(cost == (__int128)p.tr.cost);
		}
		free(flow);
		clearing_free(&c);
		free(ptrs);

		/* against first come, first served */
		int64_t gq;
		__int128 gcost;
		greedy(ls, n, &gq, &gcost);
		if (p.tr.status == TRANSPORT_OPTIMAL) {
			optimal++;
			assert_true(p.quantity >= gq);
			if (p.quantity == gq)
				assert_true(cost <= gcost);
			more += p.quantity > gq;
			cheaper += p.quantity == gq && cost < gcost;
		}
		callplan_free(&p);
		free(ls);
	}
	/* the books are not all trivial: the call market did better on some */
	assert_true(optimal >= 300);
	assert_true(more > 0);
	assert_true(cheaper > 0);
	printf("# %zu optimal rounds: %zu matched more than greedy, %zu the same for less\n",
	       optimal, more, cheaper);
}

static void test_excluded_pairs(void **state)
{
	(void)state;
	uint64_t x = 12345;
	for (int round = 0; round < 200; round++) {
		size_t n = 2 + xorshift(&x) % 30;
		struct matching_listing *ls = xcalloc(n, sizeof(*ls));
		for (size_t i = 0; i < n; i++)
			ls[i] = random_listing(&x, i, 0);
		/* plan once, then exclude some of the pairs it chose */
		struct callplan_input in = {.listings = ls, .n = n, .now_ms = NOW, .rate = RATE};
		struct callplan p;
		assert_int_equal(callplan_run(&in, &p, NULL), 0);
		char **ex = xcalloc(p.n + 1, sizeof(*ex));
		size_t k = 0;
		for (size_t i = 0; i < p.n; i++)
			if (xorshift(&x) % 2) {
				ex[k] = xmalloc(2 * IDS_MAX + 2);
				snprintf(ex[k++], 2 * IDS_MAX + 2, "%s|%s", ls[p.allocs[i].need].id,
					 ls[p.allocs[i].offer].id);
			}
		/* sorted by strcmp, as the engine passes them */
		for (size_t i = 1; i < k; i++)
			for (size_t j = i; j > 0 && strcmp(ex[j - 1], ex[j]) > 0; j--) {
				char *t = ex[j];
				ex[j] = ex[j - 1];
				ex[j - 1] = t;
			}
		in.excluded = (const char *const *)ex;
		in.n_excluded = k;
		struct callplan q;
		assert_int_equal(callplan_run(&in, &q, NULL), 0);
		check_round(ls, n, &q, (const char *const *)ex, k);
		callplan_free(&q);
		callplan_free(&p);
		for (size_t i = 0; i < k; i++)
			free(ex[i]);
		free(ex);
		free(ls);
	}
}

/*
 * clearing_build's price scan (each need stops at the first offer above its
 * maximum) builds the same arcs in the same order as every need against
 * every offer of each material it takes, which is what it did before.
 */
static void test_clearing_scan_same_arcs(void **state)
{
	(void)state;
	uint64_t x = 777;
	for (int round = 0; round < 300; round++) {
		size_t n = 2 + xorshift(&x) % 50;
		struct matching_listing *ls = xcalloc(n, sizeof(*ls));
		const struct matching_listing **ptrs = xcalloc(n, sizeof(*ptrs));
		for (size_t i = 0; i < n; i++) {
			ls[i] = random_listing(&x, i, round % 2);
			if (xorshift(&x) % 5 == 0) /* prices per kg: keys floor differently */
				ls[i].price_factor = 1;
			ptrs[i] = &ls[i];
		}
		struct clearing c;
		assert_int_equal(clearing_build(&c, ptrs, n, NOW, RATE, NULL), 0);
		size_t a = 0;
		for (size_t j = 0; j < c.problem.n_needs; j++) {
			const struct matching_listing *need = c.needs[j];
			for (size_t m = 0; m < materials_count(); m++) {
				const struct material *mat = materials_at(m);
				if (mat != need->material &&
				    !(need->accept_substitutes &&
				      materials_is_substitute(need->material, mat)))
					continue;
				for (size_t i = 0; i < c.problem.n_offers; i++) {
					const struct matching_listing *offer = c.offers[i];
					int64_t km = matching_distance_km(need, offer);
					if (offer->material != mat ||
					    !matching_compatible(need, offer, NOW, km, NULL))
						continue;
					assert_true(a < c.problem.n_arcs);
					assert_int_equal(c.arcs[a].need, j);
					assert_int_equal(c.arcs[a].offer, i);
					assert_int_equal(c.distance_km[a], km);
					a++;
				}
			}
		}
		assert_int_equal(a, c.problem.n_arcs);
		clearing_free(&c);
		free(ptrs);
		free(ls);
	}
}

/* The case: a 40 t need, a dearer offer posted before a cheaper one. */
static void test_kaolin(void **state)
{
	(void)state;
	struct matching_listing l[3];
	memset(l, 0, sizeof(l));
	for (int i = 0; i < 3; i++) {
		l[i].material = materials_find("kaolin");
		l[i].province = provinces_find(i == 0 ? "HN" : "HP");
		l[i].remaining = 40000;
		l[i].price_factor = 1000;
		l[i].grade_rank = -1;
		l[i].seq = i + 1;
		l[i].version = 1;
		l[i].kind = (uint8_t)(i == 0 ? LISTING_NEED : LISTING_OFFER);
		snprintf(l[i].id, sizeof(l[i].id), "lst_%d", i);
		snprintf(l[i].owner, sizeof(l[i].owner), "acc_%d", i);
		l[i].available_from_ms = i ? NOW - DAY : 0;
	}
	l[0].needed_by_ms = NOW + 30 * DAY;
	l[1].price_vnd = 2300000;
	l[2].price_vnd = 2100000;
	struct callplan_input in = {.listings = l, .n = 3, .now_ms = NOW, .rate = RATE};
	struct callplan p;
	assert_int_equal(callplan_run(&in, &p, NULL), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.allocs[0].need, 0);
	assert_int_equal(p.allocs[0].offer, 2);
	assert_int_equal(p.allocs[0].a.quantity, 40000);
	assert_int_equal(p.screened, 3);
	int64_t gq;
	__int128 gcost;
	greedy(l, 3, &gq, &gcost);
	assert_int_equal(gq, 40000);
	/* greedy took the dearer one: 200,000 VND/t more on 40 t */
	assert_true(gcost - (__int128)p.allocs[0].a.quantity * p.allocs[0].a.landed_micro ==
		    (__int128)40 * 200000 * 1000000);
	callplan_free(&p);
}

/* The screen leaves out an offer above every ceiling and a need below every price. */
static void test_screen(void **state)
{
	(void)state;
	struct matching_listing l[4];
	memset(l, 0, sizeof(l));
	for (int i = 0; i < 4; i++) {
		l[i].material = materials_find("clay");
		l[i].province = provinces_find("HN");
		l[i].remaining = 1000;
		l[i].price_factor = 1000;
		l[i].grade_rank = -1;
		l[i].seq = i + 1;
		l[i].version = 1;
		l[i].kind = (uint8_t)(i < 2 ? LISTING_NEED : LISTING_OFFER);
		snprintf(l[i].id, sizeof(l[i].id), "lst_%d", i);
		snprintf(l[i].owner, sizeof(l[i].owner), "acc_%d", i);
		l[i].needed_by_ms = i < 2 ? NOW + DAY : 0;
	}
	l[0].price_vnd = 2000000; /* crosses offer 2 */
	l[1].price_vnd = 500000;  /* below every offer */
	l[2].price_vnd = 1000000;
	l[3].price_vnd = 3000000; /* above every need */
	struct callplan_input in = {.listings = l, .n = 4, .now_ms = NOW, .rate = RATE};
	struct callplan p;
	assert_int_equal(callplan_run(&in, &p, NULL), 0);
	assert_int_equal(p.screened, 2);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.allocs[0].need, 0);
	assert_int_equal(p.allocs[0].offer, 2);
	callplan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kaolin),	   cmocka_unit_test(test_clearing_scan_same_arcs),
	    cmocka_unit_test(test_screen),	   cmocka_unit_test(test_random_books),
	    cmocka_unit_test(test_excluded_pairs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
