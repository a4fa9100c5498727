/*
 * Unit tests for server/engine/index: after any sequence of puts, removals,
 * remaining changes (reported by Redis, or reserved by proposal rounds in
 * flight), new versions and failed pairs, a plan through the index (its key-ordered
 * lists and rows) makes the allocations of the full plan over the same
 * candidates, found by brute force from a plain copy of what was put.
 * The same holds for an index loaded in bulk, in any order, as at start.
 * Lookups by id stay right while the table grows and entries leave it.
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
#include "server/engine/index.h"

#define NOW INT64_C(1795737600000)
#define DAY INT64_C(86400000)
#define RATE MATCHING_FREIGHT_VND_PER_TONNE_KM
#define N_LISTINGS 300

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static const char *const mats[] = {"white_clay", "kaolin", "clay"};
static const char *const provs[] = {"HN", "HP", "QN", "BN", "NB"};

/*
 * wide: one material, three offers in four, prices spread wide and some
 * distance limits, so that a need's plan counts most offers past its bound
 * by blocks (struct matching_block), which every change must mark stale.
 */
static int wide;

static struct matching_listing random_listing(uint64_t *x, size_t i)
{
	struct matching_listing l;
	memset(&l, 0, sizeof(l));
	snprintf(l.id, sizeof(l.id), "lst_%03zu", i);
	snprintf(l.owner, sizeof(l.owner), "acc_%02u", (unsigned)(rnd(x) % 12));
	l.kind = (uint8_t)(rnd(x) % 2 ? LISTING_NEED : LISTING_OFFER);
	l.material = materials_find(mats[rnd(x) % 3]);
	l.province = provinces_find(provs[rnd(x) % 5]);
	l.grade_rank = (int8_t)(rnd(x) % 4) - 1;
	l.remaining = 1 + (int64_t)(rnd(x) % 5000);
	l.price_factor = 1;
	/* few distinct prices, and needs without a maximum: many equal keys */
	l.price_vnd = 1000 + 100 * (int64_t)(rnd(x) % 8);
	if (l.kind == LISTING_NEED) {
		l.price_vnd = rnd(x) % 3 ? 0 : l.price_vnd + 200;
		l.needed_by_ms = NOW + 30 * DAY;
		l.accept_substitutes = (uint8_t)(rnd(x) % 2);
	} else {
		l.available_from_ms = NOW - DAY;
		l.min_order_base = rnd(x) % 4 ? 0 : (int64_t)(rnd(x) % 1000);
	}
	l.has_location = rnd(x) % 3 == 0;
	l.lat_udeg = 21000000 + (int32_t)(rnd(x) % 500000);
	l.lon_udeg = 105000000 + (int32_t)(rnd(x) % 500000);
	l.seq = (int64_t)i + 1;
	l.version = 1;
	if (wide) {
		/* many owners: few blocks hold the subject's own */
		snprintf(l.owner, sizeof(l.owner), "acc_%03u", (unsigned)(rnd(x) % 500));
		l.kind = (uint8_t)(rnd(x) % 4 ? LISTING_OFFER : LISTING_NEED);
		l.material = materials_find("clay");
		l.price_vnd = 1000 + (int64_t)(rnd(x) % 3000);
		l.max_distance_km = rnd(x) % 5 ? 0 : 20 + (int32_t)(rnd(x) % 100);
		if (l.kind == LISTING_NEED) {
			l.price_vnd = rnd(x) % 2 ? 0 : l.price_vnd + 2000;
			l.needed_by_ms = NOW + 30 * DAY;
			l.available_from_ms = 0;
			l.min_order_base = 0;
			l.max_distance_km = rnd(x) % 3 ? 0 : l.max_distance_km;
		} else {
			l.available_from_ms = NOW - DAY;
			l.needed_by_ms = 0;
			l.accept_substitutes = 0;
			l.min_order_base = rnd(x) % 4 ? 0 : (int64_t)(rnd(x) % 1000);
		}
	}
	return l;
}

/* failed[s][i]: s's entry records a failed match with i, at these versions. */
struct failure {
	int64_t mine, theirs;
	unsigned char on;
};

/*
 * The candidates of a plan, by brute force: the other kind, the material or
 * a substitute either way, less those whose failure the subject's entry
 * records at both listings' present versions.
 */
static size_t candidates(const struct matching_listing *shadow, const int *present,
			 const struct failure failed[N_LISTINGS][N_LISTINGS], size_t subject,
			 const struct matching_listing **out)
{
	const struct matching_listing *s = &shadow[subject];
	size_t n = 0;
	for (size_t i = 0; i < N_LISTINGS; i++) {
		const struct matching_listing *c = &shadow[i];
		const struct failure *f = &failed[subject][i];
		if (!present[i] || c->kind == s->kind ||
		    (f->on && f->mine == s->version && f->theirs == c->version))
			continue;
		if (c->material != s->material &&
		    !materials_is_substitute(s->material, c->material) &&
		    !materials_is_substitute(c->material, s->material))
			continue;
		out[n++] = c;
	}
	return n;
}

static void index_plans_as_the_full_plan(uint64_t x)
{
	static struct matching_listing shadow[N_LISTINGS];
	static struct failure failed[N_LISTINGS][N_LISTINGS];
	static int present[N_LISTINGS];
	static int64_t known[N_LISTINGS], reserved[N_LISTINGS];
	const struct matching_listing *cands[N_LISTINGS];
	struct index *ix = index_new();
	size_t plans = 0, allocated = 0, excluded = 0;

	memset(failed, 0, sizeof(failed));
	memset(present, 0, sizeof(present));
	memset(reserved, 0, sizeof(reserved));
	for (int step = 0; step < 6000; step++) {
		size_t i = rnd(&x) % N_LISTINGS;
		unsigned op = (unsigned)(rnd(&x) % 10);
		if (op < 4 || !present[i]) {
			/* a new listing, or a changed one (price, place, kind...) */
			int64_t was = shadow[i].version;
			shadow[i] = random_listing(&x, i);
			/* read again at the same version, or a new one */
			if (present[i])
				shadow[i].version = was + (int64_t)(rnd(&x) % 2);
			/* a new version: the entry's own failures no longer hold */
			if (shadow[i].version != was)
				memset(failed[i], 0, sizeof(failed[i]));
			index_put(ix, &shadow[i]);
			/* a replaced entry keeps what rounds in flight reserve; a new one has none
			 */
			if (!present[i])
				reserved[i] = 0;
			known[i] = shadow[i].remaining;
			shadow[i].remaining = known[i] > reserved[i] ? known[i] - reserved[i] : 0;
			present[i] = 1;
		} else if (op == 4) {
			index_remove(ix, shadow[i].id);
			present[i] = 0;
			/* its own list goes; the others still name it */
			memset(failed[i], 0, sizeof(failed[i]));
		} else if (op < 7) {
			struct index_entry *e = index_get(ix, shadow[i].id);
			if (op == 5) {
				known[i] = (int64_t)(rnd(&x) % 3000);
				if (wide && rnd(&x) % 3 == 0)
					known[i] = 0; /* out of the count */
				index_set_known(ix, e, known[i]);
			} else {
				int64_t q =
				    (int64_t)(rnd(&x) % 2000) - 800; /* reserve or give back */
				reserved[i] = reserved[i] + q > 0 ? reserved[i] + q : 0;
				index_reserve(ix, e, q);
			}
			shadow[i].remaining = known[i] > reserved[i] ? known[i] - reserved[i] : 0;
			assert_int_equal(e->l.remaining, shadow[i].remaining);
		} else if (op == 7) {
			size_t j = rnd(&x) % N_LISTINGS;
			if (present[j] && j != i) {
				/* as of the versions now, or (an older event) the ones before */
				int64_t vi = shadow[i].version - (int64_t)(rnd(&x) % 4 == 0);
				int64_t vj = shadow[j].version;
				index_fail(ix, shadow[i].id, vi, shadow[j].id, vj);
				failed[i][j] = (struct failure){vi, vj, 1};
				failed[j][i] = (struct failure){vj, vi, 1};
			}
		} else {
			struct matching_alloc a[5], b[5];
			const struct matching_listing *picked[5];
			size_t n = candidates(shadow, present, failed, i, cands);
			size_t kf = matching_plan(&shadow[i], cands, n, NOW, RATE, a, 5, NULL);
			size_t ki = index_plan(ix, index_get(ix, shadow[i].id), NOW, RATE, b, 5,
					       NULL, picked);
			for (size_t c = 0; c < N_LISTINGS; c++)
				excluded += present[c] && failed[i][c].on &&
					    failed[i][c].mine == shadow[i].version &&
					    failed[i][c].theirs == shadow[c].version &&
					    shadow[c].kind != shadow[i].kind;
			assert_int_equal(kf, ki);
			for (size_t k = 0; k < kf; k++) {
				assert_string_equal(cands[a[k].index]->id, picked[k]->id);
				assert_int_equal(a[k].quantity, b[k].quantity);
				assert_int_equal(a[k].rank, b[k].rank);
				assert_int_equal(a[k].compatible, b[k].compatible);
				assert_int_equal(a[k].landed_vnd, b[k].landed_vnd);
				assert_int_equal(a[k].distance_km, b[k].distance_km);
			}
			plans++;
			allocated += kf;
		}
	}
	assert_true(plans > 500);
	assert_true(allocated > 500); /* the plans do allocate */
	/* and failed pairs were left out of them (fewer pairs of two kinds when wide) */
	assert_true(excluded > (wide ? 50u : 100u));
	index_free(ix);
}

static void test_index_plans_as_the_full_plan(void **state)
{
	(void)state;
	wide = 0;
	index_plans_as_the_full_plan(0x9E3779B97F4A7C15ull);
}

/* The same with long lists of one material: needs' plans count by blocks. */
static void test_index_plans_by_blocks_as_the_full_plan(void **state)
{
	(void)state;
	wide = 1;
	index_plans_as_the_full_plan(0x2545F4914F6CDD1Dull);
	wide = 0;
}

/* Every present listing's plan through ix equals the full plan. */
static size_t plans_match(struct index *ix, const struct matching_listing *shadow,
			  const int *present, const struct failure failed[N_LISTINGS][N_LISTINGS])
{
	const struct matching_listing *cands[N_LISTINGS];
	size_t allocated = 0;
	for (size_t i = 0; i < N_LISTINGS; i++) {
		if (!present[i])
			continue;
		struct matching_alloc a[5], b[5];
		const struct matching_listing *picked[5];
		size_t n = candidates(shadow, present, failed, i, cands);
		size_t kf = matching_plan(&shadow[i], cands, n, NOW, RATE, a, 5, NULL);
		size_t ki =
		    index_plan(ix, index_get(ix, shadow[i].id), NOW, RATE, b, 5, NULL, picked);
		assert_int_equal(kf, ki);
		for (size_t k = 0; k < kf; k++) {
			assert_string_equal(cands[a[k].index]->id, picked[k]->id);
			assert_int_equal(a[k].quantity, b[k].quantity);
			assert_int_equal(a[k].compatible, b[k].compatible);
		}
		allocated += kf;
	}
	return allocated;
}

/*
 * Loaded in bulk (index_load), in any order and with a listing seen twice
 * (a snapshot's HSCAN may return one again), the index plans as the full
 * plan does; and so it does after changes that follow the load.
 */
static void bulk_load_plans_as_the_full_plan(uint64_t x)
{
	static struct matching_listing shadow[N_LISTINGS];
	static struct failure failed[N_LISTINGS][N_LISTINGS];
	static int present[N_LISTINGS];
	size_t order[N_LISTINGS];

	memset(failed, 0, sizeof(failed));
	for (size_t i = 0; i < N_LISTINGS; i++) {
		shadow[i] = random_listing(&x, i);
		present[i] = 1;
		order[i] = i;
	}
	for (size_t i = N_LISTINGS - 1; i > 0; i--) {
		size_t j = rnd(&x) % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	struct index *ix = index_new();
	index_load(ix, 1);
	for (size_t i = 0; i < N_LISTINGS; i++) {
		index_put(ix, &shadow[order[i]]);
		if (i == N_LISTINGS / 2)
			index_put(ix, &shadow[order[0]]);
	}
	index_load(ix, 0);
	assert_int_equal(index_size(ix), N_LISTINGS);
	assert_true(plans_match(ix, shadow, present, failed) > 50);

	for (size_t i = 0; i < N_LISTINGS; i += 7) {
		shadow[i].remaining = (int64_t)(rnd(&x) % 3000);
		index_set_known(ix, index_get(ix, shadow[i].id), shadow[i].remaining);
	}
	for (size_t i = 3; i < N_LISTINGS; i += 11) {
		index_remove(ix, shadow[i].id);
		present[i] = 0;
	}
	for (size_t i = 5; i < N_LISTINGS; i += 13) {
		shadow[i] = random_listing(&x, i);
		index_put(ix, &shadow[i]);
		present[i] = 1;
	}
	assert_true(plans_match(ix, shadow, present, failed) > 50);
	index_free(ix);
}

static void test_bulk_load_plans_as_the_full_plan(void **state)
{
	(void)state;
	wide = 0;
	bulk_load_plans_as_the_full_plan(0xD1B54A32D192ED03ull);
	wide = 1; /* long lists: counted by blocks, made after the load */
	bulk_load_plans_as_the_full_plan(0xD1B54A32D192ED03ull);
	wide = 0;
}

/* Lookups by id stay right while the table grows and entries leave it. */
static void test_lookups_through_growth_and_removals(void **state)
{
	(void)state;
	enum { N = 5000 };
	uint64_t x = 0x2545F4914F6CDD1Dull;
	struct index *ix = index_new();
	char id[IDS_MAX];
	for (int i = 0; i < N; i++) {
		struct matching_listing l = random_listing(&x, 0);
		snprintf(l.id, sizeof(l.id), "lst_%020d", i);
		assert_non_null(index_put(ix, &l));
	}
	assert_int_equal(index_size(ix), N);
	for (int i = 0; i < N; i += 3) {
		snprintf(id, sizeof(id), "lst_%020d", i);
		index_remove(ix, id);
	}
	index_remove(ix, "lst_absent");
	size_t left = 0;
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "lst_%020d", i);
		struct index_entry *e = index_get(ix, id);
		if (i % 3 == 0) {
			assert_null(e);
		} else {
			assert_non_null(e);
			assert_string_equal(e->l.id, id);
			left++;
		}
	}
	assert_int_equal(index_size(ix), left);
	index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index_plans_as_the_full_plan),
	    cmocka_unit_test(test_index_plans_by_blocks_as_the_full_plan),
	    cmocka_unit_test(test_bulk_load_plans_as_the_full_plan),
	    cmocka_unit_test(test_lookups_through_growth_and_removals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
