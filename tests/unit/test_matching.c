/*
 * Unit tests for common/matching: candidates from stored documents, exact
 * prices across units, distances and freight, totals and their rounding,
 * every hard filter, landed-cost ranking, deterministic tie-breaks, split
 * allocation in both directions, overflow guards and the explanation.
 * Hand-made cases; the expected numbers are worked out in the comments.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/geo.h"
#include "common/listing.h"
#include "common/matching.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/units.h"

/* 2026-11-27T00:00:00Z: "now" in every test. */
#define NOW INT64_C(1795737600000)
#define DAY INT64_C(86400000)
#define RATE MATCHING_FREIGHT_VND_PER_TONNE_KM
/* A point in Hà Nội; 0.1° of latitude north of it is 15 road km, 1° is
 * 145 (111,195 m x 1.3 = 144,553.5 m, rounded up; see test_geo). */
#define LAT0 21000000
#define LON0 105000000

static int64_t next_seq = 1;

static struct matching_listing mk(enum listing_kind kind, const char *id, const char *owner,
				  const char *material, int64_t remaining, int64_t price_vnd,
				  int64_t factor)
{
	struct matching_listing l;

	memset(&l, 0, sizeof(l));
	snprintf(l.id, sizeof(l.id), "%s", id);
	snprintf(l.owner, sizeof(l.owner), "%s", owner);
	l.kind = (uint8_t)kind;
	l.material = materials_find(material);
	assert_non_null(l.material);
	l.province = provinces_find("HN");
	l.grade_rank = kind == LISTING_OFFER ? 2 : -1; /* offers: grade B */
	l.remaining = remaining;
	l.price_vnd = price_vnd;
	l.price_factor = factor;
	if (kind == LISTING_NEED)
		l.needed_by_ms = NOW + 30 * DAY;
	else
		l.available_from_ms = NOW - DAY;
	l.has_location = 1;
	l.lat_udeg = LAT0;
	l.lon_udeg = LON0;
	l.seq = next_seq++;
	l.version = 1;
	return l;
}

static struct matching_listing need(const char *id, int64_t remaining)
{
	return mk(LISTING_NEED, id, "acc_village", "clay", remaining, 0, 1);
}

static struct matching_listing offer(const char *id, int64_t remaining, int64_t vnd, int64_t factor)
{
	return mk(LISTING_OFFER, id, "acc_supplier", "clay", remaining, vnd, factor);
}

/* 0 for compatible, else the reason. */
static const char *refusal(const struct matching_listing *n, const struct matching_listing *o)
{
	const char *why = NULL;

	if (matching_compatible(n, o, NOW, matching_distance_km(n, o), &why))
		return "";
	assert_non_null(why);
	return why;
}

/* ---- prices ----------------------------------------------------------- */

static void test_price_micro_exact(void **state)
{
	(void)state;
	/* 2,000,000 VND per tấn = 200,000 per tạ = 20,000 per yến = 2,000 per kg. */
	struct matching_listing tan = offer("lst_t", 100, 2000000, 1000);
	struct matching_listing ta = offer("lst_ta", 100, 200000, 100);
	struct matching_listing yen = offer("lst_y", 100, 20000, 10);
	struct matching_listing kg = offer("lst_k", 100, 2000, 1);

	assert_int_equal(matching_price_micro(&tan), INT64_C(2000000000));
	assert_int_equal(matching_price_micro(&ta), INT64_C(2000000000));
	assert_int_equal(matching_price_micro(&yen), INT64_C(2000000000));
	assert_int_equal(matching_price_micro(&kg), INT64_C(2000000000));
	/* 1 VND per 10^6 g of silver: exactly 1 micro-VND per gram. */
	struct matching_listing ag = mk(LISTING_OFFER, "lst_ag", "acc_s", "silver", 5, 1, 1000000);
	assert_int_equal(matching_price_micro(&ag), 1);
	/* A factor that does not divide 10^6 is floored: 10e6 / 3. */
	kg.price_vnd = 10;
	kg.price_factor = 3;
	assert_int_equal(matching_price_micro(&kg), 3333333);
	/* No price. */
	kg.price_vnd = 0;
	assert_int_equal(matching_price_micro(&kg), -1);
	/* The dearest price there is: 10^12 VND per kg = 10^18 micro. */
	kg.price_vnd = LISTING_PRICE_MAX;
	kg.price_factor = 1;
	assert_int_equal(matching_price_micro(&kg), INT64_C(1000000000000000000));
	/* (10^12 + 1) per tấn is 10^9 + 0.001 per kg: exactly 10^15 + 1000 micro. */
	tan.price_vnd = LISTING_PRICE_MAX + 1;
	assert_int_equal(matching_price_micro(&tan), INT64_C(1000000000001000));
}

static void test_max_price_across_units(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o = offer("lst_o", 1000, 2000000, 1000); /* 2,000/kg */

	/* A maximum of 2,000 per kg takes 2,000,000 per tấn: equal passes. */
	n.price_vnd = 2000;
	n.price_factor = 1;
	assert_string_equal(refusal(&n, &o), "");
	/* 200,000 per tạ is the same price. */
	n.price_vnd = 200000;
	n.price_factor = 100;
	assert_string_equal(refusal(&n, &o), "");
	/* 1,999,999 per tấn is 0.001 VND/kg less: refused, exactly. */
	n.price_vnd = 1999999;
	n.price_factor = 1000;
	assert_string_equal(refusal(&n, &o), "price above the need's maximum");
	/* 1,999 per kg against 2,000,000 per tấn. */
	n.price_vnd = 1999;
	n.price_factor = 1;
	assert_string_equal(refusal(&n, &o), "price above the need's maximum");
	/* A maximum of 10^9 per kg against (10^12 + 1) per tấn: above by 0.001. */
	n.price_vnd = 1000000000;
	o.price_vnd = LISTING_PRICE_MAX + 1;
	assert_string_equal(refusal(&n, &o), "price above the need's maximum");
	o.price_vnd = LISTING_PRICE_MAX;
	assert_string_equal(refusal(&n, &o), "");
	/* No maximum: any price. */
	n.price_vnd = 0;
	o.price_vnd = LISTING_PRICE_MAX;
	o.price_factor = 1;
	assert_string_equal(refusal(&n, &o), "");
}

/* ---- every hard filter ------------------------------------------------ */

static void test_filter_material_and_substitutes(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o = offer("lst_o", 1000, 2000, 1);

	assert_string_equal(refusal(&n, &o), "");
	/* kaolin for clay: not the same, not a substitute either. */
	o.material = materials_find("kaolin");
	assert_string_equal(refusal(&n, &o), "different material");
	n.accept_substitutes = 1;
	assert_string_equal(refusal(&n, &o), "not an accepted substitute");

	/* kaolin for white clay: a substitute, only when the need accepts it. */
	n.material = materials_find("white_clay");
	n.accept_substitutes = 0;
	assert_string_equal(refusal(&n, &o), "different material");
	n.accept_substitutes = 1;
	assert_string_equal(refusal(&n, &o), "");

	/* Buffalo horn may fill a need for cattle horn, not the reverse. */
	n.material = materials_find("cattle_horn");
	o.material = materials_find("buffalo_horn");
	assert_string_equal(refusal(&n, &o), "");
	n.material = materials_find("buffalo_horn");
	o.material = materials_find("cattle_horn");
	assert_string_equal(refusal(&n, &o), "not an accepted substitute");
}

static void test_filter_grade(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o = offer("lst_o", 1000, 2000, 1);

	/* Ranks on A > B > C: A = 3, B = 2, C = 1. */
	n.grade_rank = 2; /* at least B */
	o.grade_rank = 1;
	assert_string_equal(refusal(&n, &o), "grade below the need's minimum");
	o.grade_rank = 2;
	assert_string_equal(refusal(&n, &o), "");
	o.grade_rank = 3;
	assert_string_equal(refusal(&n, &o), "");
	/* An offer without a grade fails any minimum, passes none. */
	o.grade_rank = -1;
	assert_string_equal(refusal(&n, &o), "grade below the need's minimum");
	n.grade_rank = -1;
	assert_string_equal(refusal(&n, &o), "");

	/* Across a substitute: "A" of white clay is "A" of kaolin. */
	n.material = materials_find("white_clay");
	n.accept_substitutes = 1;
	o.material = materials_find("kaolin");
	n.grade_rank = 3;
	o.grade_rank = 2;
	assert_string_equal(refusal(&n, &o), "grade below the need's minimum");
	o.grade_rank = 3;
	assert_string_equal(refusal(&n, &o), "");

	/* Silk yarn's scale: 6A (rank 6) > … > A (rank 1). */
	n = mk(LISTING_NEED, "lst_s", "acc_v", "silk_yarn", 10, 0, 1);
	o = mk(LISTING_OFFER, "lst_t", "acc_s", "silk_yarn", 10, 1500000, 1);
	n.grade_rank = (int8_t)materials_grade_rank(n.material, "4A");
	o.grade_rank = (int8_t)materials_grade_rank(o.material, "3A");
	assert_string_equal(refusal(&n, &o), "grade below the need's minimum");
	o.grade_rank = (int8_t)materials_grade_rank(o.material, "5A");
	assert_string_equal(refusal(&n, &o), "");
}

/*
 * A substitute on another grade scale. No pair in today's table has one, so
 * a made-up material: grades {"3A", "B"}, and silk yarn may fill it.
 */
static const char *const fake_grades[] = {"3A", "B"};
static const struct material_unit fake_units[] = {{"kg", "kg", 1}};
/* clang-format off */
static const struct material fake = {
    "fake_fibre", "Fake fibre", "Sợi giả", MATERIAL_FIBRE, fake_units, 1, fake_grades, 2, 1000,
    {"silk_yarn"}};
/* clang-format on */

static void test_filter_grade_across_scales(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 10);
	struct matching_listing o =
	    mk(LISTING_OFFER, "lst_o", "acc_s", "silk_yarn", 10, 1500000, 1);

	n.material = &fake;
	n.accept_substitutes = 1;
	/* "3A" is rank 2 of 2 on the need's scale but rank 3 of 6 on silk's:
	 * the minimum is compared by name, so 2A (silk rank 2) is below it. */
	n.grade_rank = 2;
	o.grade_rank = (int8_t)materials_grade_rank(o.material, "2A");
	assert_string_equal(refusal(&n, &o), "grade below the need's minimum");
	o.grade_rank = (int8_t)materials_grade_rank(o.material, "3A");
	assert_string_equal(refusal(&n, &o), "");
	o.grade_rank = (int8_t)materials_grade_rank(o.material, "6A");
	assert_string_equal(refusal(&n, &o), "");
	/* "B" is not on silk's scale: not comparable, the filter does not apply. */
	n.grade_rank = 1;
	o.grade_rank = (int8_t)materials_grade_rank(o.material, "A");
	assert_string_equal(refusal(&n, &o), "");
	/* A rank the need's scale does not have cannot be checked: refused. */
	n.grade_rank = 3;
	assert_string_equal(refusal(&n, &o), "grade below the need's minimum");
}

static void test_filter_dates(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o = offer("lst_o", 1000, 2000, 1);

	n.needed_by_ms = NOW;
	assert_string_equal(refusal(&n, &o), "the need's deadline has passed");
	n.needed_by_ms = NOW + 1;
	assert_string_equal(refusal(&n, &o), "");

	o.available_until_ms = NOW;
	assert_string_equal(refusal(&n, &o), "the offer is no longer available");
	o.available_until_ms = NOW + 1;
	assert_string_equal(refusal(&n, &o), "");
	o.available_until_ms = 0; /* open-ended */
	assert_string_equal(refusal(&n, &o), "");

	/* Stock arriving after the deadline is of no use; on the day, it is. */
	n.needed_by_ms = NOW + 10 * DAY;
	o.available_from_ms = NOW + 10 * DAY + 1;
	assert_string_equal(refusal(&n, &o), "available only after the need's deadline");
	o.available_from_ms = NOW + 10 * DAY;
	assert_string_equal(refusal(&n, &o), "");
}

static void test_filter_distance_both_sides(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o = offer("lst_o", 1000, 2000, 1);

	o.lat_udeg = LAT0 + 1000000; /* 145 km */
	assert_int_equal(matching_distance_km(&n, &o), 145);
	n.max_distance_km = 144;
	assert_string_equal(refusal(&n, &o), "beyond the need's maximum distance");
	n.max_distance_km = 145;
	assert_string_equal(refusal(&n, &o), "");
	o.max_distance_km = 144;
	assert_string_equal(refusal(&n, &o), "beyond the offer's maximum distance");
	o.max_distance_km = 145;
	assert_string_equal(refusal(&n, &o), "");
	n.max_distance_km = 0;
	o.max_distance_km = 0;
	assert_string_equal(refusal(&n, &o), "");
}

static void test_filter_quantities_owner_kind(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o = offer("lst_o", 1000, 2000, 1);

	/* Minimum order: the offer's own remaining must reach it… */
	o.min_order_base = 500;
	o.remaining = 400;
	assert_string_equal(refusal(&n, &o), "the offer's remaining is below its minimum order");
	/* …and so must what the need still wants. */
	o.remaining = 1000;
	n.remaining = 300;
	assert_string_equal(refusal(&n, &o),
			    "the need's remaining is below the offer's minimum order");
	n.remaining = 500;
	assert_string_equal(refusal(&n, &o), "");

	n.remaining = 0;
	assert_string_equal(refusal(&n, &o), "the need has nothing remaining");
	n.remaining = 500;
	o.remaining = 0;
	o.min_order_base = 0;
	assert_string_equal(refusal(&n, &o), "the offer has nothing remaining");
	o.remaining = 1000;

	/* A supplier that also posts needs is not matched with itself. */
	snprintf(o.owner, sizeof(o.owner), "%s", n.owner);
	assert_string_equal(refusal(&n, &o), "same owner");
	snprintf(o.owner, sizeof(o.owner), "acc_supplier");

	/* Arguments the wrong way round, or two offers. */
	assert_string_equal(refusal(&o, &n), "not a need and an offer");
	assert_string_equal(refusal(&o, &o), "not a need and an offer");
	assert_int_equal(matching_compatible(NULL, &o, NOW, 0, NULL), 0);
	assert_int_equal(matching_compatible(&n, &o, NOW, 0, NULL), 1);
}

/* ---- distances, freight, totals ---------------------------------------- */

static void test_distance_bases(void **state)
{
	(void)state;
	const struct province *hn = provinces_find("HN"), *hp = provinces_find("HP");
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o = offer("lst_o", 1000, 2000, 1);
	enum matching_distance_from from;

	/* Both points given. */
	o.lat_udeg = LAT0 + 100000;
	assert_int_equal(matching_distance(&n, &o, &from), 15);
	assert_int_equal(from, MATCHING_FROM_COORDINATES);
	assert_string_equal(matching_distance_from_str(from), "coordinates");
	/* The same point: 0 km, no floor (the parties said where they are). */
	o.lat_udeg = LAT0;
	assert_int_equal(matching_distance(&n, &o, &from), 0);

	/* The offer has no point: it stands at Hải Phòng's centre. */
	o.has_location = 0;
	o.province = hp;
	int64_t want = geo_road_km(LAT0, LON0, hp->lat_udeg, hp->lon_udeg);
	assert_int_equal(matching_distance(&n, &o, &from), want);
	/* one side's own point and the other's centre, said as such */
	assert_int_equal(from, MATCHING_FROM_MIXED);
	assert_string_equal(matching_distance_from_str(from), "coordinates and a province centre");
	assert_int_equal(matching_distance(&o, &n, &from), want); /* symmetric */
	assert_int_equal(from, MATCHING_FROM_MIXED);

	/* Neither has a point: centre to centre, as geo computes it. */
	n.has_location = 0;
	assert_int_equal(matching_distance(&n, &o, &from), geo_province_distance_km(hn, hp));
	assert_true(geo_province_distance_km(hn, hp) > MATCHING_INTRA_PROVINCE_KM);
	assert_int_equal(from, MATCHING_FROM_PROVINCE_CENTRES);
	assert_string_equal(matching_distance_from_str(from), "province centres");

	/* Both in Hà Nội without points: the intra-province minimum, not 0. */
	o.province = hn;
	assert_int_equal(matching_distance(&n, &o, &from), MATCHING_INTRA_PROVINCE_KM);
	assert_int_equal(from, MATCHING_FROM_INTRA_PROVINCE);
	assert_string_equal(matching_distance_from_str(from), "intra-province minimum");

	/* One point at the very centre, the other unknown within the province. */
	n.has_location = 1;
	n.lat_udeg = hn->lat_udeg;
	n.lon_udeg = hn->lon_udeg;
	assert_int_equal(matching_distance(&n, &o, &from), MATCHING_INTRA_PROVINCE_KM);
	assert_int_equal(from, MATCHING_FROM_INTRA_PROVINCE);
	/* A point in the same province far from its centre keeps its distance. */
	n.lat_udeg = hn->lat_udeg + 400000; /* 0.4° north: about 58 km */
	int64_t far = geo_road_km(n.lat_udeg, n.lon_udeg, hn->lat_udeg, hn->lon_udeg);
	assert_true(far > MATCHING_INTRA_PROVINCE_KM);
	assert_int_equal(matching_distance(&n, &o, &from), far);
	assert_int_equal(from, MATCHING_FROM_MIXED);
}

static void test_freight_and_totals(void **state)
{
	(void)state;
	const struct material *clay = materials_find("clay"), *gu = materials_find("timber_go_gu");
	struct matching_listing o = offer("lst_o", 5000, 2000000, 1000); /* 2,000 VND/kg */
	int64_t goods, freight, landed;

	/* 145 km x 1000 g x 3000 VND/t-km = 435,000,000 micro = 435 VND per kg. */
	assert_int_equal(matching_freight_micro(clay, 145, 3000), INT64_C(435000000));
	/* Gụ timber, 850 g per dm3: 145 x 850 x 3000 = 369,750,000 micro per dm3. */
	assert_int_equal(matching_freight_micro(gu, 145, 3000), INT64_C(369750000));
	assert_int_equal(matching_freight_micro(clay, 0, 3000), 0);
	assert_int_equal(matching_freight_micro(clay, -1, 3000), -1);
	assert_int_equal(matching_freight_micro(clay, 1, -1), -1);

	/* 12.5 tạ of clay at 2,000,000 per tấn, 145 km: goods 2,500,000,
	 * freight 1250 x 435 = 543,750, landed 3,043,750. */
	assert_int_equal(matching_totals(&o, 1250, 145, 3000, &goods, &freight, &landed), 0);
	assert_int_equal(goods, 2500000);
	assert_int_equal(freight, 543750);
	assert_int_equal(landed, 3043750);

	/* Half up: 1 VND per tạ; 50 kg is 0.5 VND -> 1, 49 kg 0.49 -> 0,
	 * 150 kg 1.5 -> 2. */
	o.price_vnd = 1;
	o.price_factor = 100;
	matching_totals(&o, 50, 0, 3000, &goods, &freight, &landed);
	assert_int_equal(goods, 1);
	assert_int_equal(freight, 0);
	matching_totals(&o, 49, 0, 3000, &goods, NULL, NULL);
	assert_int_equal(goods, 0);
	matching_totals(&o, 150, 0, 3000, &goods, NULL, NULL);
	assert_int_equal(goods, 2);
	/* Freight at 1 km and 1 VND/t-km is 1000 micro per kg: 500 kg is
	 * 0.5 VND -> 1; 499 kg 0.499 -> 0. */
	matching_totals(&o, 500, 1, 1, &goods, &freight, &landed);
	assert_int_equal(freight, 1);
	assert_int_equal(landed, goods + freight);
	matching_totals(&o, 499, 1, 1, NULL, &freight, NULL);
	assert_int_equal(freight, 0);
}

static void test_overflow_guards(void **state)
{
	(void)state;
	const struct material *clay = materials_find("clay");
	struct matching_listing o = offer("lst_o", UNITS_MAX_BASE, LISTING_PRICE_MAX, 1);
	struct matching_listing n = need("lst_n", UNITS_MAX_BASE);
	struct matching_alloc out[4];
	int64_t goods = -7, freight = -7, landed = -7;
	size_t considered = 0;

	/* 10^6 kg at 10^12 VND is exactly the cap; one kg more is refused and
	 * leaves the outputs alone. */
	assert_int_equal(matching_totals(&o, 1000000, 0, 0, &goods, &freight, &landed), 0);
	assert_int_equal(goods, MATCHING_TOTAL_VND_MAX);
	assert_int_equal(matching_totals(&o, 1000001, 0, 0, &goods, &freight, &landed), -1);
	assert_int_equal(goods, MATCHING_TOTAL_VND_MAX);
	/* 10^12 kg x 10^12 VND = 10^24 VND: an __int128 product, refused. */
	assert_int_equal(matching_totals(&o, UNITS_MAX_BASE, 0, 0, NULL, NULL, NULL), -1);
	/* Goods and freight each under the cap, their sum over it: 5 x 10^17
	 * VND of goods; freight 6 x 10^8 km x 1000 g x 10^6 VND/t-km = 6 x 10^17
	 * micro per kg, x 10^6 kg = 6 x 10^17 VND. */
	o.price_vnd = 500000000000;
	assert_int_equal(matching_totals(&o, 1000000, 0, 0, &goods, NULL, NULL), 0);
	assert_int_equal(goods, INT64_C(500000000000000000));
	assert_int_equal(
	    matching_totals(&o, 1000000, 600000000, MATCHING_RATE_MAX, NULL, &freight, NULL), -1);
	assert_int_equal(
	    matching_totals(&o, 1000000, 500000000, MATCHING_RATE_MAX, NULL, &freight, &landed), 0);
	assert_int_equal(freight, INT64_C(500000000000000000));
	assert_int_equal(landed, MATCHING_TOTAL_VND_MAX);
	/* Goods at the cap exactly: any freight passes it. */
	o.price_vnd = LISTING_PRICE_MAX;
	assert_int_equal(matching_totals(&o, 1000000, 1, 1, NULL, NULL, NULL), -1);
	/* Out-of-range inputs. */
	assert_int_equal(matching_totals(&o, -1, 0, 0, NULL, NULL, NULL), -1);
	assert_int_equal(matching_totals(&o, UNITS_MAX_BASE + 1, 0, 0, NULL, NULL, NULL), -1);
	assert_int_equal(matching_totals(&o, 1, -1, 0, NULL, NULL, NULL), -1);
	assert_int_equal(matching_totals(&o, 1, 0, MATCHING_RATE_MAX + 1, NULL, NULL, NULL), -1);
	/* Freight per unit past int64: refused, not wrapped. */
	assert_int_equal(matching_freight_micro(clay, INT64_MAX, 1), -1);
	assert_int_equal(matching_freight_micro(clay, INT64_MAX, INT64_MAX), -1);
	assert_int_equal(matching_freight_micro(clay, INT64_C(1) << 40, INT64_C(1) << 40), -1);
	assert_int_equal(matching_freight_micro(clay, INT64_C(1) << 20, INT64_C(1) << 20),
			 INT64_C(1000) << 40);

	/* The plan skips an allocation whose totals would pass the cap. */
	const struct matching_listing *cands[] = {&o};
	assert_int_equal(matching_plan(&n, cands, 1, NOW, RATE, out, 4, &considered), 0);
	assert_int_equal(considered, 1);
	/* Within the cap it is made: 10^6 kg. */
	n.remaining = 1000000;
	assert_int_equal(matching_plan(&n, cands, 1, NOW, 0, out, 4, NULL), 1);
	assert_int_equal(out[0].quantity, 1000000);
	assert_int_equal(out[0].landed_vnd, MATCHING_TOTAL_VND_MAX);
	/* A rate outside 0..MATCHING_RATE_MAX plans nothing. */
	assert_int_equal(matching_plan(&n, cands, 1, NOW, -1, out, 4, NULL), 0);
	assert_int_equal(matching_plan(&n, cands, 1, NOW, MATCHING_RATE_MAX + 1, out, 4, NULL), 0);
}

/* ---- ranking and allocation ------------------------------------------- */

static void test_freight_beats_cheaper_price(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 1000);
	/* Cheap but 145 km away: 1,500 + 435 = 1,935 VND/kg landed. */
	struct matching_listing far = offer("lst_far", 1000, 1500000, 1000);
	/* Dearer but 15 km away: 1,800 + 45 = 1,845 VND/kg landed. */
	struct matching_listing near = offer("lst_near", 1000, 1800, 1);
	const struct matching_listing *cands[] = {&far, &near};
	struct matching_alloc out[2];
	size_t considered = 0;

	far.lat_udeg = LAT0 + 1000000;
	near.lat_udeg = LAT0 + 100000;
	assert_int_equal(matching_plan(&n, cands, 2, NOW, RATE, out, 2, &considered), 1);
	assert_int_equal(considered, 2);
	assert_int_equal(out[0].index, 1);
	assert_int_equal(out[0].quantity, 1000);
	assert_int_equal(out[0].distance_km, 15);
	assert_int_equal(out[0].price_micro, INT64_C(1800000000));
	assert_int_equal(out[0].freight_micro, INT64_C(45000000));
	assert_int_equal(out[0].landed_micro, INT64_C(1845000000));
	assert_int_equal(out[0].goods_vnd, 1800000);
	assert_int_equal(out[0].freight_vnd, 45000);
	assert_int_equal(out[0].landed_vnd, 1845000);
	assert_int_equal(out[0].rank, 1);
	assert_int_equal(out[0].compatible, 2);

	/* Without freight the cheaper price wins: it is the freight that decided. */
	assert_int_equal(matching_plan(&n, cands, 2, NOW, 0, out, 2, NULL), 1);
	assert_int_equal(out[0].index, 0);
	assert_int_equal(out[0].landed_micro, INT64_C(1500000000));

	/* Both are used when the need is larger than the nearer stock. */
	n.remaining = 1500;
	assert_int_equal(matching_plan(&n, cands, 2, NOW, RATE, out, 2, NULL), 2);
	assert_int_equal(out[0].index, 1);
	assert_int_equal(out[0].quantity, 1000);
	assert_int_equal(out[1].index, 0);
	assert_int_equal(out[1].quantity, 500);
	assert_int_equal(out[1].rank, 2);
	assert_int_equal(out[1].landed_vnd, 500 * 1935);
}

/* The ids of a plan's allocations, joined by ',' into buf. */
static void plan_ids(const struct matching_listing *subject,
		     const struct matching_listing *const *cands, size_t n, char *buf, size_t len)
{
	struct matching_alloc out[8];
	size_t k = matching_plan(subject, cands, n, NOW, RATE, out, 8, NULL);

	buf[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		size_t off = strlen(buf);
		snprintf(buf + off, len - off, "%s%s", i ? "," : "", cands[out[i].index]->id);
	}
}

static void test_tie_breaks(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 10000);
	/* Same price, same place: landed costs tie. */
	struct matching_listing a = offer("lst_a", 100, 2000, 1);
	struct matching_listing b = offer("lst_b", 100, 2000, 1);
	struct matching_listing c = offer("lst_c", 100, 2000, 1);
	struct matching_listing d = offer("lst_d", 100, 2000, 1);
	struct matching_listing e = offer("lst_e", 100, 2000, 1);
	char buf[128], again[128];

	/* 1. earlier available_until first, open-ended last. */
	a.available_until_ms = 0;
	b.available_until_ms = NOW + 10 * DAY;
	c.available_until_ms = NOW + 5 * DAY;
	/* 2. then earlier posting: d and e share c's deadline; e posted first. */
	d.available_until_ms = NOW + 10 * DAY;
	e.available_until_ms = NOW + 10 * DAY;
	e.seq = b.seq - 1;
	d.seq = b.seq + 100;
	const struct matching_listing *cands[] = {&a, &b, &c, &d, &e};
	plan_ids(&n, cands, 5, buf, sizeof(buf));
	assert_string_equal(buf, "lst_c,lst_e,lst_b,lst_d,lst_a");
	/* Any order of the input gives the same plan. */
	const struct matching_listing *shuffled[] = {&d, &a, &e, &c, &b};
	plan_ids(&n, shuffled, 5, again, sizeof(again));
	assert_string_equal(again, buf);

	/* 3. then the id, when posting order ties too. */
	b.seq = d.seq;
	plan_ids(&n, cands, 5, buf, sizeof(buf));
	assert_string_equal(buf, "lst_c,lst_e,lst_b,lst_d,lst_a");
	const struct matching_listing *reversed[] = {&e, &d, &c, &b, &a};
	plan_ids(&n, reversed, 5, again, sizeof(again));
	assert_string_equal(again, buf);

	/* An offer as subject: needs at one distance, earlier needed_by first,
	 * then earlier posting. */
	struct matching_listing o = offer("lst_o", 10000, 2000, 1);
	struct matching_listing n1 = need("lst_n1", 100), n2 = need("lst_n2", 100),
				n3 = need("lst_n3", 100);
	n1.needed_by_ms = NOW + 20 * DAY;
	n2.needed_by_ms = NOW + 7 * DAY;
	n3.needed_by_ms = NOW + 20 * DAY;
	n3.seq = n1.seq - 1;
	const struct matching_listing *needs[] = {&n1, &n2, &n3};
	plan_ids(&o, needs, 3, buf, sizeof(buf));
	assert_string_equal(buf, "lst_n2,lst_n3,lst_n1");
	const struct matching_listing *needs_rev[] = {&n3, &n2, &n1};
	plan_ids(&o, needs_rev, 3, again, sizeof(again));
	assert_string_equal(again, buf);
}

static void test_split_over_offers(void **state)
{
	(void)state;
	/* 1000 kg wanted; offers by landed cost (all at the need's point). */
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o1 = offer("lst_1", 300, 1000, 1);  /* cheapest, 300 */
	struct matching_listing o2 = offer("lst_2", 800, 1100, 1);  /* min order 800 */
	struct matching_listing o3 = offer("lst_3", 400, 1200, 1);  /* min order 100 */
	struct matching_listing o4 = offer("lst_4", 1000, 1300, 1); /* no minimum */
	struct matching_listing o5 = offer("lst_5", 1000, 1400, 1); /* never reached */
	struct matching_listing cheap_bad = offer("lst_x", 1000, 1, 1);
	const struct matching_listing *cands[] = {&o4, NULL, &o2, &cheap_bad, &o1, &o5, &o3};
	struct matching_alloc out[8];
	size_t considered = 0;

	o2.min_order_base = 800;
	o3.min_order_base = 100;
	/* The cheapest of all is the village's own listing: never allocated. */
	snprintf(cheap_bad.owner, sizeof(cheap_bad.owner), "%s", n.owner);

	size_t k = matching_plan(&n, cands, 7, NOW, RATE, out, 8, &considered);
	assert_int_equal(considered, 7);
	/* o1 300 (left 700); o2 skipped: 700 < its 800 minimum; o3 400 (left
	 * 300); o4 300. */
	assert_int_equal(k, 3);
	assert_int_equal(out[0].index, 4);
	assert_int_equal(out[0].quantity, 300);
	assert_int_equal(out[0].rank, 1);
	assert_int_equal(out[1].index, 6);
	assert_int_equal(out[1].quantity, 400);
	assert_int_equal(out[1].rank, 3);
	assert_int_equal(out[2].index, 0);
	assert_int_equal(out[2].quantity, 300);
	assert_int_equal(out[2].rank, 4);
	int64_t total = 0;
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(out[i].compatible, 5);
		assert_true(out[i].quantity <= cands[out[i].index]->remaining);
		assert_true(out[i].quantity >= cands[out[i].index]->min_order_base);
		assert_true(
		    matching_compatible(&n, cands[out[i].index], NOW, out[i].distance_km, NULL));
		total += out[i].quantity;
	}
	assert_int_equal(total, n.remaining);

	/* max_out bounds the plan. */
	assert_int_equal(matching_plan(&n, cands, 7, NOW, RATE, out, 2, NULL), 2);
	assert_int_equal(matching_plan(&n, cands, 7, NOW, RATE, out, 0, NULL), 0);

	/* A small need takes part of the cheapest offer only. */
	n.remaining = 200;
	assert_int_equal(matching_plan(&n, cands, 7, NOW, RATE, out, 8, NULL), 1);
	assert_int_equal(out[0].index, 4);
	assert_int_equal(out[0].quantity, 200);

	/* Nothing to plan when every candidate is refused. */
	n.remaining = 1000;
	n.needed_by_ms = NOW;
	assert_int_equal(matching_plan(&n, cands, 7, NOW, RATE, out, 8, &considered), 0);
	assert_int_equal(considered, 7);
}

static void test_offer_to_needs_nearest_first(void **state)
{
	(void)state;
	/* 1000 kg at (21.0, 105.0); four needs to its north. */
	struct matching_listing o = offer("lst_o", 1000, 2000, 1);
	struct matching_listing n30 = need("lst_n30", 400);  /* 0.3°: 44 km */
	struct matching_listing n10 = need("lst_n10", 400);  /* 0.1°: 15 km */
	struct matching_listing n20 = need("lst_n20", 400);  /* 0.2°: 29 km */
	struct matching_listing far = need("lst_far", 1000); /* 1°: 145 km */
	const struct matching_listing *cands[] = {&far, &n30, &n10, &n20};
	struct matching_alloc out[4];

	n30.lat_udeg = LAT0 + 300000;
	n10.lat_udeg = LAT0 + 100000;
	n20.lat_udeg = LAT0 + 200000;
	far.lat_udeg = LAT0 + 1000000;
	assert_int_equal(matching_plan(&o, cands, 4, NOW, RATE, out, 4, NULL), 3);
	assert_int_equal(out[0].index, 2);
	assert_int_equal(out[0].quantity, 400);
	assert_int_equal(out[0].distance_km, 15);
	assert_int_equal(out[1].index, 3);
	assert_int_equal(out[1].quantity, 400);
	assert_int_equal(out[1].distance_km, 29);
	assert_int_equal(out[2].index, 1);
	assert_int_equal(out[2].quantity, 200); /* what the offer has left */
	assert_int_equal(out[2].distance_km, 44);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].price_micro, INT64_C(2000000000));
		assert_int_equal(out[i].freight_micro, out[i].distance_km * 1000 * RATE);
		assert_int_equal(out[i].compatible, 4);
		assert_int_equal(out[i].rank, (size_t)i + 1);
		assert_int_equal(out[i].cand_kind, LISTING_NEED);
	}

	/* With a 300 kg minimum order the 200 kg rest cannot be placed: the
	 * third and fourth needs are skipped, 200 kg stay open. */
	o.min_order_base = 300;
	assert_int_equal(matching_plan(&o, cands, 4, NOW, RATE, out, 4, NULL), 2);
	assert_int_equal(out[0].index, 2);
	assert_int_equal(out[1].index, 3);

	/* A need beyond the offer's delivery limit is not served. */
	o.min_order_base = 0;
	o.max_distance_km = 20;
	assert_int_equal(matching_plan(&o, cands, 4, NOW, RATE, out, 4, NULL), 1);
	assert_int_equal(out[0].index, 2);
	assert_int_equal(out[0].quantity, 400);
	assert_int_equal(out[0].compatible, 1);
}

/* ---- from a stored document -------------------------------------------- */

static json_t *stored(enum listing_kind kind, const char *body_text, const char *id,
		      const char *owner)
{
	json_error_t err;
	json_t *body = json_loads(body_text, JSON_REJECT_DUPLICATES, &err);
	json_t *errors = NULL;

	if (body == NULL)
		fail_msg("bad test JSON: %s", err.text);
	json_t *doc = listing_from_request(kind, body, NOW, &errors);
	if (doc == NULL) {
		char *dump = json_dumps(errors, 0);
		fail_msg("listing refused: %s", dump);
	}
	json_decref(body);
	json_object_set_new(doc, "id", json_string(id));
	json_object_set_new(doc, "owner", json_string(owner));
	return doc;
}

static void test_from_doc(void **state)
{
	(void)state;
	struct matching_listing l;
	const char *why = NULL;
	json_t *nd = stored(LISTING_NEED,
			    "{\"material\": \"clay\", \"grade\": \"B\", \"quantity\": \"12.5\","
			    " \"unit\": \"ta\", \"price_vnd\": 2000000, \"price_unit\": \"tan\","
			    " \"province\": \"Hà Tây\", \"location\": {\"lat\": 20.975, \"lon\":"
			    " 105.912}, \"needed_by\": \"2026-12-31\", \"max_distance_km\": 300,"
			    " \"accept_substitutes\": true}",
			    "lst_0000000000000000000N", "acc_0000000000000000000V");
	json_t *od = stored(LISTING_OFFER,
			    "{\"material\": \"kaolin\", \"grade\": \"a\", \"quantity\": \"5\","
			    " \"unit\": \"tan\", \"price_vnd\": 1800, \"price_unit\": \"kg\","
			    " \"province\": \"HP\", \"available_until\": \"2027-03-31\","
			    " \"min_order\": \"0.5\"}",
			    "lst_0000000000000000000O", "acc_0000000000000000000S");

	assert_int_equal(matching_listing_from_doc(&l, nd, 1000, 3, 42, &why), 0);
	assert_int_equal(l.kind, LISTING_NEED);
	assert_string_equal(l.id, "lst_0000000000000000000N");
	assert_string_equal(l.owner, "acc_0000000000000000000V");
	assert_ptr_equal(l.material, materials_find("clay"));
	assert_int_equal(l.grade_rank, 2);
	assert_int_equal(l.accept_substitutes, 1);
	assert_int_equal(l.remaining, 1000);
	assert_int_equal(l.version, 3);
	assert_int_equal(l.seq, 42);
	assert_int_equal(l.price_vnd, 2000000);
	assert_int_equal(l.price_factor, 1000);
	assert_ptr_equal(l.province, provinces_find("HN"));
	assert_int_equal(l.has_location, 1);
	assert_int_equal(l.lat_udeg, 20975000);
	assert_int_equal(l.lon_udeg, 105912000);
	/* 2026-12-31T23:59:59.999+07:00 */
	assert_int_equal(l.needed_by_ms, INT64_C(1798736399999));
	assert_int_equal(l.max_distance_km, 300);
	assert_int_equal(l.min_order_base, 0);

	struct matching_listing n = l;
	assert_int_equal(matching_listing_from_doc(&l, od, 5000, 1, 43, &why), 0);
	assert_int_equal(l.kind, LISTING_OFFER);
	assert_ptr_equal(l.material, materials_find("kaolin"));
	assert_int_equal(l.grade_rank, 3);
	assert_int_equal(l.accept_substitutes, 0);
	assert_int_equal(l.price_vnd, 1800);
	assert_int_equal(l.price_factor, 1);
	assert_ptr_equal(l.province, provinces_find("HP"));
	assert_int_equal(l.has_location, 0);
	assert_int_equal(l.available_from_ms, NOW);
	assert_int_equal(l.available_until_ms, INT64_C(1806512399999));
	assert_int_equal(l.min_order_base, 500);
	assert_int_equal(l.max_distance_km, 0);
	/* A need for clay does not take kaolin, even accepting substitutes. */
	assert_string_equal(refusal(&n, &l), "not an accepted substitute");

	/* A need without a maximum price. */
	json_object_del(nd, "price");
	assert_int_equal(matching_listing_from_doc(&l, nd, 1000, 3, 42, &why), 0);
	assert_int_equal(l.price_vnd, 0);
	assert_int_equal(l.price_factor, 1);

	/* Refusals. */
	json_t *bad = json_deep_copy(od);
	json_object_del(bad, "price");
	assert_int_equal(matching_listing_from_doc(&l, bad, 5000, 1, 1, &why), -1);
	assert_string_equal(why, "offer without a price");
	json_decref(bad);
	bad = json_deep_copy(od);
	json_object_set_new(bad, "grade", json_string("Z"));
	assert_int_equal(matching_listing_from_doc(&l, bad, 5000, 1, 1, &why), -1);
	assert_string_equal(why, "grade not on the material's scale");
	json_object_set_new(bad, "material", json_string("plutonium"));
	assert_int_equal(matching_listing_from_doc(&l, bad, 5000, 1, 1, &why), -1);
	assert_string_equal(why, "unknown material");
	json_object_set_new(bad, "owner", json_string("acc_0123456789012345678901234567890"));
	assert_int_equal(matching_listing_from_doc(&l, bad, 5000, 1, 1, &why), -1);
	assert_string_equal(why, "missing owner");
	json_object_del(bad, "id");
	assert_int_equal(matching_listing_from_doc(&l, bad, 5000, 1, 1, &why), -1);
	assert_string_equal(why, "missing id");
	json_object_set_new(bad, "kind", json_string("barter"));
	assert_int_equal(matching_listing_from_doc(&l, bad, 5000, 1, 1, &why), -1);
	assert_string_equal(why, "not a need or an offer");
	json_decref(bad);
	assert_int_equal(matching_listing_from_doc(&l, od, -1, 1, 1, &why), -1);
	assert_string_equal(why, "remaining out of range");
	bad = json_deep_copy(nd);
	json_object_del(bad, "needed_by");
	assert_int_equal(matching_listing_from_doc(&l, bad, 5, 1, 1, &why), -1);
	assert_string_equal(why, "need without needed_by");
	json_object_set_new(bad, "needed_by", json_integer(NOW));
	json_object_set_new(
	    bad, "location",
	    json_pack("{s:i, s:i}", "lat_udeg", 48000000, "lon_udeg", 2000000)); /* Paris */
	assert_int_equal(matching_listing_from_doc(&l, bad, 5, 1, 1, &why), -1);
	assert_string_equal(why, "bad location");
	json_object_del(bad, "location");
	json_object_set_new(bad, "province", json_string("XX"));
	assert_int_equal(matching_listing_from_doc(&l, bad, 5, 1, 1, &why), -1);
	assert_string_equal(why, "unknown province");
	json_decref(bad);

	json_decref(nd);
	json_decref(od);
}

static void test_listing_is_compact(void **state)
{
	(void)state;
	/* A million of them in memory: two ids, two pointers, nine int64s
	 * and 16 bytes of small fields. */
	assert_true(sizeof(struct matching_listing) <= 168);
}

/* ---- explanation ------------------------------------------------------ */

/* The engine record carries everything a plan reads, exactly. */
static void test_record_round_trip(void **state)
{
	(void)state;
	struct matching_listing a = need("lst_need", 1250),
				b = offer("lst_offer", 8000, 1500000, 1000);
	a.accept_substitutes = 1;
	a.grade_rank = 1;
	a.max_distance_km = 300;
	a.price_vnd = 2000000;
	a.price_factor = 1000;
	b.min_order_base = 500;
	b.available_until_ms = NOW + 9 * DAY;
	b.has_location = 0;
	b.lat_udeg = 0;
	b.lon_udeg = 0;
	b.province = provinces_find("HP");
	const struct matching_listing *all[] = {&a, &b};
	for (size_t i = 0; i < 2; i++) {
		char rec[MATCHING_RECORD_MAX];
		struct matching_listing back;
		const char *why = NULL;
		assert_int_equal(matching_listing_encode(all[i], rec, sizeof(rec)), 0);
		assert_int_equal(matching_listing_decode(&back, rec, all[i]->remaining,
							 all[i]->version, all[i]->seq, &why),
				 0);
		assert_memory_equal(&back, all[i], sizeof(back));
	}
	/* Too small a buffer, and damaged records, are refused. */
	char tiny[16], rec[MATCHING_RECORD_MAX];
	struct matching_listing back;
	const char *why = NULL;
	assert_int_equal(matching_listing_encode(&a, tiny, sizeof(tiny)), -1);
	assert_int_equal(matching_listing_encode(&a, rec, sizeof(rec)), 0);
	rec[strlen(rec) - 1] = '\0';
	strcat(rec, " extra");
	assert_int_equal(matching_listing_decode(&back, rec, 1, 1, 1, &why), -1);
	assert_int_equal(matching_listing_decode(&back, "m1 0 nosuch HN", 1, 1, 1, &why), -1);
	assert_int_equal(matching_listing_decode(&back, "", 1, 1, 1, &why), -1);
	/* A number damaged in each way the scanner must refuse. */
	static const char *const numbers[] = {
	    "-", "+", "1x", "x1", "2", "99999999999999999999", "9223372036854775808", "1-"};
	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		snprintf(rec, sizeof(rec), "m1 %s clay HN -1 0 0 1 0 0 0 0 0 0 0 0 lst_x acc_y",
			 numbers[i]);
		assert_int_equal(matching_listing_decode(&back, rec, 1, 1, 1, &why), -1);
	}
	/* The smallest and largest int32 coordinates, and a '+', are read. */
	assert_int_equal(matching_listing_decode(&back,
						 "m1 +0 clay HN -1 0 0 1 0 0 0 0 0 1 -2147483648 "
						 "2147483647 lst_x acc_y",
						 1, 1, 1, &why),
			 0);
	assert_int_equal(back.lat_udeg, INT32_MIN);
	assert_int_equal(back.lon_udeg, INT32_MAX);
	assert_string_equal(back.owner, "acc_y");
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A run's order (matching_row_key): offers ascending, needs descending. */
static int by_key(const void *pa, const void *pb)
{
	const struct matching_listing *a = *(const struct matching_listing *const *)pa;
	const struct matching_listing *b = *(const struct matching_listing *const *)pb;
	int64_t x = matching_row_key(a), y = matching_row_key(b);
	int c = (x > y) - (x < y);
	return a->kind == LISTING_OFFER ? c : -c;
}

static const char *const world_provs[] = {"HN", "HP", "QN", "BN", "NB", "TH", "LCI", "PT"};

/* A random listing of kind and material for the worlds below. */
static struct matching_listing world_listing(uint64_t *x, enum listing_kind kind, const char *id,
					     const char *material)
{
	static const char *const owners[] = {"acc_a", "acc_b", "acc_c", "acc_d", "acc_e",
					     "acc_f", "acc_g", "acc_h", "acc_i", "acc_j"};
	/* same-owner pairs happen; prices per kg or per tonne, so keys tie */
	int64_t factor = xorshift(x) % 2 ? 1 : 1000;
	struct matching_listing l =
	    mk(kind, id, owners[xorshift(x) % 10], material,
	       xorshift(x) % 25 == 0 ? 0 : 100 + (int64_t)(xorshift(x) % 20000),
	       (500 + (int64_t)(xorshift(x) % 3000)) * factor, factor);
	l.province = provinces_find(world_provs[xorshift(x) % 8]);
	l.has_location = xorshift(x) % 3 == 0;
	l.lat_udeg = LAT0 + (int32_t)(xorshift(x) % 2000000) - 1000000;
	l.lon_udeg = LON0 + (int32_t)(xorshift(x) % 2000000) - 1000000;
	l.grade_rank = (int8_t)(xorshift(x) % 5) - 1;
	l.max_distance_km = xorshift(x) % 5 == 0 ? 20 + (int32_t)(xorshift(x) % 300) : 0;
	l.seq = (int64_t)(xorshift(x) % 50); /* ties reach the id */
	if (kind == LISTING_OFFER) {
		l.min_order_base = xorshift(x) % 4 == 0 ? (int64_t)(xorshift(x) % 5000) : 0;
		l.available_until_ms =
		    xorshift(x) % 3 == 0 ? NOW + (int64_t)(xorshift(x) % 3) * 20 * DAY - DAY : 0;
		l.available_from_ms = NOW - DAY + (int64_t)(xorshift(x) % 3) * 20 * DAY;
	} else {
		if (xorshift(x) % 3 == 0)
			l.price_vnd = 0; /* no maximum */
		l.accept_substitutes = xorshift(x) % 2;
		l.needed_by_ms = NOW + (int64_t)(xorshift(x) % 4) * 20 * DAY - DAY;
	}
	return l;
}

static void assert_same_allocs(const struct matching_alloc *a, const struct matching_alloc *b,
			       size_t k)
{
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(a[i].index, b[i].index);
		assert_int_equal(a[i].quantity, b[i].quantity);
		assert_int_equal(a[i].distance_km, b[i].distance_km);
		assert_int_equal(a[i].price_micro, b[i].price_micro);
		assert_int_equal(a[i].freight_micro, b[i].freight_micro);
		assert_int_equal(a[i].landed_micro, b[i].landed_micro);
		assert_int_equal(a[i].goods_vnd, b[i].goods_vnd);
		assert_int_equal(a[i].freight_vnd, b[i].freight_vnd);
		assert_int_equal(a[i].landed_vnd, b[i].landed_vnd);
		assert_int_equal(a[i].rank, b[i].rank);
		assert_int_equal(a[i].compatible, b[i].compatible);
		assert_int_equal(a[i].cand_kind, b[i].cand_kind);
		assert_int_equal(a[i].distance_from, b[i].distance_from);
	}
}

/*
 * A plan over rows makes exactly the allocations of the full plan over the
 * same candidates (every field, the count of compatible ones included, so
 * every explanation is the same), over many random worlds (seeded,
 * reproducible): needs and offers as the subject, one run or a material, its
 * substitute and a material that is none in up to three, skipped rows, same owners, coordinates or
 * province centres, distance limits, minimum orders, grades, prices that
 * tie once floored, dates. The worlds are checked to exercise each fast
 * path: the bound, the stop at the price, allocations past the bound's
 * ranks (the plan again without it).
 */
static void test_plan_runs_same_allocations(void **state)
{
	(void)state;
	uint64_t x = 0x2545F4914F6CDD1Dull;
	int pruned[2] = {0, 0}, stopped = 0, merged = 0, deep = 0;
	for (int world = 0; world < 1200; world++) {
		enum listing_kind skind = world % 2 ? LISTING_OFFER : LISTING_NEED;
		enum listing_kind ckind = skind == LISTING_NEED ? LISTING_OFFER : LISTING_NEED;
		/* the third is no substitute: the plan must refuse it all the same */
		size_t n_runs = 1 + xorshift(&x) % 3, n = 0;
		static const char *const mats[] = {"white_clay", "kaolin", "clay"};
		struct matching_listing *ls[3];
		const struct matching_listing **cands[3];
		struct matching_row *rows[3];
		struct matching_run runs[3];
		const struct matching_listing **all;
		char id[32];

		for (size_t r = 0; r < n_runs; r++) {
			size_t m =
			    xorshift(&x) % 2 ? 1 + xorshift(&x) % 400 : 1 + xorshift(&x) % 40;
			ls[r] = calloc(m, sizeof(*ls[r]));
			cands[r] = calloc(m, sizeof(*cands[r]));
			rows[r] = calloc(m, sizeof(*rows[r]));
			for (size_t i = 0; i < m; i++) {
				snprintf(id, sizeof(id), "lst_%zu_%zu", r, i);
				ls[r][i] = world_listing(&x, ckind, id, mats[r]);
				if (world % 5 == 0) /* many small ones: deep allocations */
					ls[r][i].remaining /= 40;
				if (world % 7 == 3) {
					/* on one meridian: the latitude bound is tight */
					ls[r][i].lon_udeg = LON0;
					ls[r][i].has_location = xorshift(&x) % 4 != 0;
				}
				cands[r][i] = &ls[r][i];
			}
			qsort(cands[r], m, sizeof(*cands[r]), by_key);
			for (size_t i = 0; i < m; i++) {
				matching_row_fill(&rows[r][i], cands[r][i]);
				if (xorshift(&x) % 30 == 0)
					rows[r][i].flags |= MATCHING_ROW_SKIP;
			}
			runs[r] = (struct matching_run){cands[r], rows[r], m};
			n += m;
		}
		all = calloc(n, sizeof(*all));
		n = 0;
		for (size_t r = 0; r < n_runs; r++)
			for (size_t i = 0; i < runs[r].n; i++, n++)
				all[n] = rows[r][i].flags & MATCHING_ROW_SKIP ? NULL : cands[r][i];

		struct matching_listing subj = world_listing(&x, skind, "lst_subject", mats[0]);
		if (world % 7 == 3) {
			subj.lon_udeg = LON0;
			subj.has_location = 1;
		}
		subj.remaining = 1 + (int64_t)(xorshift(&x) % 60000);
		if (skind == LISTING_OFFER)
			subj.price_vnd =
			    (1500 + (int64_t)(xorshift(&x) % 2000)) * subj.price_factor;
		else if (xorshift(&x) % 2)
			subj.price_vnd = 0;
		size_t max_out = xorshift(&x) % 3 == 0 ? 40 : 5;
		if (world % 3 == 2) {
			/*
			 * Exactly as many ranks as the bound vouches for, each
			 * candidate taken whole: a bound that pruned one of them
			 * would show here, not be planned again.
			 */
			max_out = MATCHING_PRUNE_KEEP;
			subj.remaining = UNITS_MAX_BASE;
		}
		struct matching_alloc full[40], fast[40];
		size_t considered = 0;
		size_t kf = matching_plan(&subj, all, n, NOW, RATE, full, max_out, NULL);
		size_t kp =
		    matching_plan_runs(&subj, runs, n_runs, NOW, RATE, fast, max_out, &considered);
		assert_int_equal(kf, kp);
		assert_same_allocs(full, fast, kf);

		/* what the world exercised */
		if (kf > 0 && considered < full[0].compatible)
			pruned[skind == LISTING_OFFER] = 1;
		if (kf > 0 && full[kf - 1].rank > MATCHING_PRUNE_KEEP)
			deep = 1; /* past the bound's ranks: planned again */
		for (size_t i = 0; n_runs >= 2 && i < kf; i++)
			merged |= full[i].index >= runs[0].n; /* from a later run */
		if (skind == LISTING_OFFER && kf > 0) {
			/* needs whose maximum is below the offer's price: the scan stops */
			for (size_t i = 0; i < runs[0].n; i++)
				if (matching_row_key(cands[0][i]) < matching_price_micro(&subj))
					stopped = 1;
		}
		free(all);
		for (size_t r = 0; r < n_runs; r++) {
			free(ls[r]);
			free(cands[r]);
			free(rows[r]);
		}
	}
	/* the worlds do exercise every fast path */
	assert_true(pruned[0]);
	assert_true(pruned[1]);
	assert_true(stopped);
	assert_true(merged);
	assert_true(deep);
}

/* A row is what the plan reads of its listing, and keys order the runs. */
static void test_rows(void **state)
{
	(void)state;
	struct matching_listing o = offer("lst_o", 5000, 2000000, 1000);
	struct matching_listing n = need("lst_n", 100);
	struct matching_row r;

	o.available_until_ms = 0;
	matching_row_fill(&r, &o);
	assert_int_equal(r.key, matching_price_micro(&o));
	assert_int_equal(r.key, 2000000000);
	assert_int_equal(r.until_ms, INT64_MAX); /* open-ended */
	assert_int_equal(r.from_ms, o.available_from_ms);
	assert_int_equal(r.remaining, 5000);
	assert_int_equal(r.lat_udeg, LAT0);
	o.has_location = 0;
	matching_row_fill(&r, &o);
	assert_int_equal(r.lat_udeg, provinces_find("HN")->lat_udeg);
	assert_int_equal(matching_row_key(&n), INT64_MAX); /* no maximum */
	n.price_vnd = 1500;
	n.price_factor = 1000;
	assert_int_equal(matching_row_key(&n), 1500000);
	n.price_factor = 7; /* floored */
	assert_int_equal(matching_row_key(&n), 214285714);

	/*
	 * Keys equal once floored, prices not: 1 VND per 3 kg is 333,333.33
	 * micro-VND per kg, above a maximum of 333,333 VND per tonne. The runs
	 * plan asks the listings, as the full plan does, both ways round.
	 */
	struct matching_listing o3 = offer("lst_o3", 5000, 1, 3);
	struct matching_listing n3 = need("lst_n3", 100);
	n3.price_vnd = 333333;
	n3.price_factor = 1000000;
	assert_int_equal(matching_row_key(&o3), matching_row_key(&n3));
	const struct matching_listing *oc[] = {&o3}, *nc[] = {&n3};
	struct matching_row orow, nrow;
	matching_row_fill(&orow, &o3);
	matching_row_fill(&nrow, &n3);
	struct matching_run orun = {oc, &orow, 1}, nrun = {nc, &nrow, 1};
	struct matching_alloc out[1];
	assert_int_equal(matching_plan(&n3, oc, 1, NOW, RATE, out, 1, NULL), 0);
	assert_int_equal(matching_plan_runs(&n3, &orun, 1, NOW, RATE, out, 1, NULL), 0);
	assert_int_equal(matching_plan(&o3, nc, 1, NOW, RATE, out, 1, NULL), 0);
	assert_int_equal(matching_plan_runs(&o3, &nrun, 1, NOW, RATE, out, 1, NULL), 0);
	n3.price_vnd = 333334; /* now above the offer's price: both plan it */
	matching_row_fill(&nrow, &n3);
	assert_int_equal(matching_plan_runs(&o3, &nrun, 1, NOW, RATE, out, 1, NULL), 1);
	assert_int_equal(matching_plan_runs(&n3, &orun, 1, NOW, RATE, out, 1, NULL), 1);
}

static void test_explain(void **state)
{
	(void)state;
	struct matching_listing n = need("lst_n", 1250);
	struct matching_listing o = offer("lst_o", 5000, 2000000, 1000);
	struct matching_listing o2 = offer("lst_o2", 5000, 2500000, 1000);
	const struct matching_listing *cands[] = {&o2, &o};
	struct matching_alloc out[2];

	o.lat_udeg = LAT0 + 1000000;  /* 145 km: 2,000 + 435 = 2,435 per kg */
	o2.lat_udeg = LAT0 + 1000000; /* 2,500 + 435 = 2,935 per kg */
	assert_int_equal(matching_plan(&n, cands, 2, NOW, RATE, out, 2, NULL), 1);
	json_t *e = matching_explain(&n, &o, &out[0], RATE);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "need")), "lst_n");
	assert_string_equal(json_string_value(json_object_get(e, "offer")), "lst_o");
	assert_string_equal(json_string_value(json_object_get(e, "material")), "clay");
	assert_string_equal(json_string_value(json_object_get(e, "base_unit")), "kg");
	assert_int_equal(json_integer_value(json_object_get(e, "quantity_base")), 1250);
	json_t *up = json_object_get(e, "unit_price");
	assert_int_equal(json_integer_value(json_object_get(up, "vnd")), 2000000);
	assert_string_equal(json_string_value(json_object_get(up, "unit")), "tan");
	assert_int_equal(json_integer_value(json_object_get(up, "per_base_micro_vnd")), 2000000000);
	assert_int_equal(json_integer_value(json_object_get(e, "distance_km")), 145);
	assert_string_equal(json_string_value(json_object_get(e, "distance_from")), "coordinates");
	json_t *lb = json_object_get(e, "location_basis");
	assert_string_equal(json_string_value(json_object_get(lb, "need")), "coordinates");
	assert_string_equal(json_string_value(json_object_get(lb, "offer")), "coordinates");
	json_t *fr = json_object_get(e, "freight");
	assert_int_equal(json_integer_value(json_object_get(fr, "rate_vnd_per_tonne_km")), 3000);
	assert_int_equal(json_integer_value(json_object_get(fr, "mass_g_per_base_unit")), 1000);
	assert_int_equal(json_integer_value(json_object_get(fr, "per_base_micro_vnd")), 435000000);
	assert_int_equal(json_integer_value(json_object_get(fr, "total_vnd")), 543750);
	assert_int_equal(json_integer_value(json_object_get(e, "goods_total_vnd")), 2500000);
	json_t *ld = json_object_get(e, "landed");
	assert_int_equal(json_integer_value(json_object_get(ld, "per_base_micro_vnd")), 2435000000);
	assert_int_equal(json_integer_value(json_object_get(ld, "total_vnd")), 3043750);
	assert_int_equal(json_integer_value(json_object_get(e, "rank")), 1);
	assert_int_equal(json_integer_value(json_object_get(e, "candidates")), 2);
	assert_true(json_is_false(json_object_get(e, "substitute")));
	assert_null(json_object_get(e, "need_material"));
	assert_string_equal(json_string_value(json_object_get(e, "why")),
			    "cheapest landed cost among 2 compatible offers");
	json_decref(e);

	/* A substitute, without coordinates in one province, second in rank. */
	n.material = materials_find("white_clay");
	n.accept_substitutes = 1;
	n.remaining = 6000;
	n.has_location = 0;
	o.material = materials_find("kaolin");
	o2.material = o.material;
	o.has_location = 0;
	o2.has_location = 0;
	o2.price_vnd = 1000000; /* now the cheaper one, and only 5000 of it */
	assert_int_equal(matching_plan(&n, cands, 2, NOW, RATE, out, 2, NULL), 2);
	assert_int_equal(out[1].index, 1);
	assert_int_equal(out[1].quantity, 1000);
	e = matching_explain(&n, &o, &out[1], RATE);
	assert_int_equal(json_integer_value(json_object_get(e, "distance_km")),
			 MATCHING_INTRA_PROVINCE_KM);
	assert_string_equal(json_string_value(json_object_get(e, "distance_from")),
			    "intra-province minimum");
	json_t *basis = json_object_get(e, "location_basis");
	assert_string_equal(json_string_value(json_object_get(basis, "need")), "province centre");
	assert_string_equal(json_string_value(json_object_get(basis, "offer")), "province centre");
	assert_true(json_is_true(json_object_get(e, "substitute")));
	assert_string_equal(json_string_value(json_object_get(e, "need_material")), "white_clay");
	assert_string_equal(json_string_value(json_object_get(e, "material")), "kaolin");
	assert_int_equal(json_integer_value(json_object_get(e, "rank")), 2);
	/* 30 km x 1000 g x 3000 = 90 VND per kg; 1000 kg: 90,000 + 2,000,000. */
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(e, "freight"), "total_vnd")), 90000);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(e, "landed"), "total_vnd")),
	    2090000);
	const char *why = json_string_value(json_object_get(e, "why"));
	assert_non_null(strstr(why, "2nd cheapest landed cost among 2 compatible offers"));
	assert_non_null(strstr(why, "a substitute the need accepts"));
	json_decref(e);

	/* From the offer's side the order is by freight. */
	struct matching_listing on = need("lst_m", 100);
	const struct matching_listing *needs[] = {&on};
	o = offer("lst_o", 5000, 2000000, 1000);
	assert_int_equal(matching_plan(&o, needs, 1, NOW, RATE, out, 1, NULL), 1);
	e = matching_explain(&on, &o, &out[0], RATE);
	assert_string_equal(json_string_value(json_object_get(e, "why")),
			    "nearest (lowest freight) among 1 compatible need");
	json_decref(e);
}

/*
 * Road km written here apart from common/geo.c: haversine on the IUGG mean
 * radius, rounded to the metre, x 13/10 rounded up to the next km.
 */
static int64_t road_km_here(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2)
{
	const double rad = 3.14159265358979323846 / 180e6;
	double p1 = lat1 * rad, p2 = lat2 * rad;
	double sp = sin((p2 - p1) / 2), sl = sin((double)(lon2 - lon1) * rad / 2);
	double h = sp * sp + cos(p1) * cos(p2) * sl * sl;
	int64_t m = llround(2 * 6371008.8 * asin(sqrt(h)));
	return (m * 13 + 9999) / 10000;
}

/*
 * One side's own point and the other's province centre: the distance is
 * measured between those two, and the explanation says so for each side
 * (a need at Bát Tràng, an offer known only by its province, Hải Phòng),
 * whichever side gave the point.
 */
static void test_explain_says_each_sides_basis(void **state)
{
	(void)state;
	const struct province *hn = provinces_find("HN"), *hp = provinces_find("HP");
	struct matching_listing n = need("lst_n", 1000);
	struct matching_listing o = offer("lst_o", 5000, 2000000, 1000);
	const struct matching_listing *cands[] = {&o};
	struct matching_alloc out[1];
	static const char *const basis[2] = {"province centre", "coordinates"};

	for (int point_on_need = 1; point_on_need >= 0; point_on_need--) {
		struct matching_listing *p = point_on_need ? &n : &o, *c = point_on_need ? &o : &n;
		p->has_location = 1;
		p->lat_udeg = 20975500; /* Bát Tràng */
		p->lon_udeg = 105911600;
		p->province = hn;
		c->has_location = 0;
		c->province = hp;
		int64_t want = road_km_here(p->lat_udeg, p->lon_udeg, hp->lat_udeg, hp->lon_udeg);
		int64_t centres =
		    road_km_here(hn->lat_udeg, hn->lon_udeg, hp->lat_udeg, hp->lon_udeg);
		assert_true(want != centres);
		assert_int_equal(matching_plan(&n, cands, 1, NOW, RATE, out, 1, NULL), 1);
		json_t *e = matching_explain(&n, &o, &out[0], RATE);
		assert_int_equal(json_integer_value(json_object_get(e, "distance_km")), want);
		assert_string_equal(json_string_value(json_object_get(e, "distance_from")),
				    "coordinates and a province centre");
		json_t *lb = json_object_get(e, "location_basis");
		assert_int_equal(json_object_size(lb), 2);
		assert_string_equal(json_string_value(json_object_get(lb, "need")),
				    basis[n.has_location]);
		assert_string_equal(json_string_value(json_object_get(lb, "offer")),
				    basis[o.has_location]);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "freight"),
								    "per_base_micro_vnd")),
				 want * 1000 * RATE);
		json_decref(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_price_micro_exact),
	    cmocka_unit_test(test_max_price_across_units),
	    cmocka_unit_test(test_filter_material_and_substitutes),
	    cmocka_unit_test(test_filter_grade),
	    cmocka_unit_test(test_filter_grade_across_scales),
	    cmocka_unit_test(test_filter_dates),
	    cmocka_unit_test(test_filter_distance_both_sides),
	    cmocka_unit_test(test_filter_quantities_owner_kind),
	    cmocka_unit_test(test_distance_bases),
	    cmocka_unit_test(test_freight_and_totals),
	    cmocka_unit_test(test_overflow_guards),
	    cmocka_unit_test(test_freight_beats_cheaper_price),
	    cmocka_unit_test(test_tie_breaks),
	    cmocka_unit_test(test_split_over_offers),
	    cmocka_unit_test(test_offer_to_needs_nearest_first),
	    cmocka_unit_test(test_from_doc),
	    cmocka_unit_test(test_listing_is_compact),
	    cmocka_unit_test(test_record_round_trip),
	    cmocka_unit_test(test_plan_runs_same_allocations),
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test(test_explain_says_each_sides_basis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
