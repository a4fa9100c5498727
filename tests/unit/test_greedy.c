/*
 * Unit tests for server/engine/greedy: the clearing's comparison with first
 * come, first served, planned through an engine index, gives the same
 * totals (base units and landed VND) as the way it was first written and
 * is kept here as the oracle: each listing, in posting order, planned with
 * matching_plan over every listing posted before it. On random forums with
 * ties in price, equal owners, substitutes, minimum orders, needs without
 * a maximum, coordinates or province centres, listings out of seq order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/matching.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "server/engine/greedy.h"

#define NOW INT64_C(1795737600000)
#define DAY INT64_C(86400000)
#define RATE MATCHING_FREIGHT_VND_PER_TONNE_KM

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static const char *const mats[] = {"white_clay", "kaolin", "clay", "feldspar"};
static const char *const provs[] = {"HN", "HP", "QN", "BN", "NB", "LC"};

static struct matching_listing random_listing(uint64_t *x, size_t i, size_t n)
{
	struct matching_listing l;
	memset(&l, 0, sizeof(l));
	snprintf(l.id, sizeof(l.id), "lst_%05zu", i);
	snprintf(l.owner, sizeof(l.owner), "acc_%02u", (unsigned)(rnd(x) % 15));
	l.kind = (uint8_t)(rnd(x) % 2 ? LISTING_NEED : LISTING_OFFER);
	l.material = materials_find(mats[rnd(x) % 4]);
	l.province = provinces_find(provs[rnd(x) % 6]);
	l.grade_rank = (int8_t)(rnd(x) % 4) - 1;
	l.remaining = rnd(x) % 20 == 0 ? 0 : 1 + (int64_t)(rnd(x) % 5000);
	l.price_factor = rnd(x) % 2 ? 1 : 1000;
	l.price_vnd = (1000 + 100 * (int64_t)(rnd(x) % 8)) * l.price_factor;
	if (l.kind == LISTING_NEED) {
		l.price_vnd = rnd(x) % 3 ? 0 : l.price_vnd + 200;
		l.needed_by_ms = NOW + (int64_t)(1 + rnd(x) % 30) * DAY;
		l.accept_substitutes = (uint8_t)(rnd(x) % 2);
		l.max_distance_km = rnd(x) % 4 ? 0 : (int32_t)(20 + rnd(x) % 300);
	} else {
		l.available_from_ms = NOW - DAY + (int64_t)(rnd(x) % 40) * DAY;
		l.available_until_ms = rnd(x) % 3 ? 0 : NOW + (int64_t)(rnd(x) % 60) * DAY;
		l.min_order_base = rnd(x) % 4 ? 0 : (int64_t)(rnd(x) % 1000);
	}
	l.has_location = rnd(x) % 3 == 0;
	l.lat_udeg = 20500000 + (int32_t)(rnd(x) % 1500000);
	l.lon_udeg = 105000000 + (int32_t)(rnd(x) % 1500000);
	/* posting order unrelated to the array's */
	l.seq = (int64_t)((i * 7919) % n) + 1;
	l.version = 1;
	return l;
}

/* The oracle: the comparison as it was first written (quadratic). */
static void greedy_full(const struct matching_listing *ls, size_t n, int64_t now, int64_t rate,
			int64_t *quantity, int64_t *landed_vnd)
{
	struct matching_listing *l = malloc((n ? n : 1) * sizeof(*l));
	const struct matching_listing **cands = malloc((n ? n : 1) * sizeof(*cands));
	struct matching_alloc *out = malloc((n ? n : 1) * sizeof(*out));
	memcpy(l, ls, n * sizeof(*l));
	for (size_t i = 1; i < n; i++) {
		struct matching_listing x = l[i];
		size_t j = i;
		for (; j > 0 && l[j - 1].seq > x.seq; j--)
			l[j] = l[j - 1];
		l[j] = x;
	}
	*quantity = 0;
	*landed_vnd = 0;
	for (size_t i = 0; i < n; i++) {
		size_t m = 0;
		for (size_t j = 0; j < i; j++)
			cands[m++] = l[j].kind != l[i].kind ? &l[j] : NULL;
		size_t k = matching_plan(&l[i], cands, m, now, rate, out, m, NULL);
		for (size_t a = 0; a < k; a++) {
			struct matching_listing *c = (struct matching_listing *)cands[out[a].index];
			c->remaining -= out[a].quantity;
			l[i].remaining -= out[a].quantity;
			*quantity += out[a].quantity;
			*landed_vnd += out[a].landed_vnd;
		}
	}
	free(out);
	free(cands);
	free(l);
}

static void test_same_totals_as_the_full_plan(void **state)
{
	(void)state;
	uint64_t x = 0x9e3779b97f4a7c15u;
	size_t matched_forums = 0;
	for (int forum = 0; forum < 40; forum++) {
		size_t n = 1 + (size_t)(rnd(&x) % 600);
		struct matching_listing *ls = calloc(n, sizeof(*ls));
		for (size_t i = 0; i < n; i++)
			ls[i] = random_listing(&x, i, n);
		struct matching_listing *copy = malloc(n * sizeof(*copy));
		memcpy(copy, ls, n * sizeof(*copy));
		int64_t q1, v1, q2, v2;
		greedy_full(ls, n, NOW, RATE, &q1, &v1);
		greedy_totals(ls, n, NOW, RATE, &q2, &v2);
		assert_int_equal(q2, q1);
		assert_int_equal(v2, v1);
		/* the input is borrowed, not changed */
		assert_memory_equal(ls, copy, n * sizeof(*copy));
		matched_forums += q1 > 0;
		free(copy);
		free(ls);
	}
	/* the forums are not all trivial */
	assert_true(matched_forums > 30);
}

static void test_empty_forum(void **state)
{
	(void)state;
	int64_t q = -1, v = -1;
	greedy_totals(NULL, 0, NOW, RATE, &q, &v);
	assert_int_equal(q, 0);
	assert_int_equal(v, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_totals_as_the_full_plan),
	    cmocka_unit_test(test_empty_forum),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
