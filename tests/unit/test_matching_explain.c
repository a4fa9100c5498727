/*
 * Unit tests for common/matching_explain.c: what the explanation of an
 * allocation says, and each side's distance basis against road km worked
 * out here apart from common/geo.c.
 */
#include "matching_kit.h"

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
	    cmocka_unit_test(test_explain),
	    cmocka_unit_test(test_explain_says_each_sides_basis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
