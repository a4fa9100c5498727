/*
 * Unit tests for common/matching: exact prices across units, every hard
 * filter, distances and freight, totals and their rounding, overflow
 * guards, landed-cost ranking, deterministic tie-breaks and split
 * allocation in both directions (the plain plan). Hand-made cases; the
 * expected numbers are worked out in the comments. The record codec, the
 * pruned plan over rows and the explanation have their own files
 * (test_matching_record.c, test_matching_rows.c, test_matching_explain.c).
 */
#include "matching_kit.h"

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

/*
 * Reputation only breaks ties of the landed cost: the better record by
 * (kept + 1) / (ended + 2) first, an unknown owner at 1/2; equal records
 * fall through to the deadline, seq and id; a cheaper offer wins whatever
 * its owner's record. The explanation names the tie-break when it decided.
 */
static void test_reputation_breaks_ties(void **state)
{
	(void)state;
	const struct matching_rep good = {9, 10}, bad = {0, 3}, half = {1, 2}, also_half = {3, 6};
	assert_true(matching_rep_cmp(&good, &bad) < 0);
	assert_true(matching_rep_cmp(&bad, &good) > 0);
	assert_true(matching_rep_cmp(NULL, &bad) < 0);	/* 1/2 before 1/5 */
	assert_true(matching_rep_cmp(&good, NULL) < 0); /* 10/12 before 1/2 */
	assert_int_equal(matching_rep_cmp(NULL, &half), 0);
	assert_int_equal(matching_rep_cmp(&half, &also_half), 0);
	const struct matching_rep huge = {INT64_MAX / 2, INT64_MAX / 2}, worse = {0, INT64_MAX / 2};
	assert_true(matching_rep_cmp(&huge, &worse) < 0); /* no overflow */

	struct matching_listing n = need("lst_n", 100);
	/* Equal landed cost; b posted first and ends first, a has the better record. */
	struct matching_listing a = offer("lst_a", 100, 2000, 1);
	struct matching_listing b = offer("lst_b", 100, 2000, 1);
	b.seq = a.seq - 1;
	b.available_until_ms = NOW + 5 * DAY;
	a.rep = &good;
	b.rep = &bad;
	const struct matching_listing *cands[] = {&b, &a};
	struct matching_alloc out[2];
	assert_int_equal(matching_plan(&n, cands, 2, NOW, RATE, out, 2, NULL), 1);
	assert_int_equal(out[0].index, 1); /* a */
	assert_int_equal(out[0].by_reputation, 1);
	assert_int_equal(out[0].rep.kept, 9);
	assert_int_equal(out[0].runner_up.ended, 3);
	json_t *ex = matching_explain(&n, &a, &out[0], RATE);
	json_t *tb = json_object_get(ex, "tie_break");
	assert_string_equal(json_string_value(json_object_get(tb, "by")), "reputation");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(tb, "chosen"), "kept")),
			 9);
	assert_non_null(
	    strstr(json_string_value(json_object_get(ex, "why")), "better fulfilment record"));
	json_decref(ex);

	/* Equal records: the deadline decides (b), and the explanation says nothing of it. */
	a.rep = &half;
	b.rep = NULL;
	assert_int_equal(matching_plan(&n, cands, 2, NOW, RATE, out, 2, NULL), 1);
	assert_int_equal(out[0].index, 0); /* b */
	assert_int_equal(out[0].by_reputation, 0);
	ex = matching_explain(&n, &b, &out[0], RATE);
	assert_null(json_object_get(ex, "tie_break"));
	assert_null(strstr(json_string_value(json_object_get(ex, "why")), "record"));
	json_decref(ex);

	/* One VND cheaper per base unit beats any record. */
	a.rep = &bad;
	b.rep = &good;
	a.price_vnd = 1999;
	assert_int_equal(matching_plan(&n, cands, 2, NOW, RATE, out, 2, NULL), 1);
	assert_int_equal(out[0].index, 1); /* a, the cheaper */
	assert_int_equal(out[0].by_reputation, 0);

	/* The order is the same whatever the input order (determinism). */
	a.price_vnd = 2000;
	const struct matching_listing *rev[] = {&a, &b};
	assert_int_equal(matching_plan(&n, rev, 2, NOW, RATE, out, 2, NULL), 1);
	assert_int_equal(out[0].index, 1); /* b, the better record now */
	assert_int_equal(out[0].by_reputation, 1);
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
	    cmocka_unit_test(test_reputation_breaks_ties),
	    cmocka_unit_test(test_split_over_offers),
	    cmocka_unit_test(test_offer_to_needs_nearest_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
