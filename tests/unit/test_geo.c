/*
 * Unit tests for common/geo: haversine distance, road estimate, province
 * distances, coordinate checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>

#include <cmocka.h>

#include "common/geo.h"
#include "common/provinces.h"

static const struct province *find(const char *code)
{
	const struct province *p = provinces_find(code);

	assert_non_null(p);
	return p;
}

static int64_t centre_m(const struct province *a, const struct province *b)
{
	return geo_distance_m(a->lat_udeg, a->lon_udeg, b->lat_udeg, b->lon_udeg);
}

static void test_known_distances(void **state)
{
	(void)state;
	/* One degree of latitude on a sphere of the mean radius: R x pi / 180. */
	assert_int_equal(geo_distance_m(0, 0, 1000000, 0), 111195);
	assert_int_equal(geo_distance_m(21000000, 105000000, 22000000, 105000000), 111195);
	/* Half the circumference, antipodes. */
	assert_int_equal(geo_distance_m(0, 0, 0, 180000000), 20015114);
	/* One degree of longitude at 60° N is half of one at the equator. */
	assert_true(llabs(geo_distance_m(60000000, 0, 60000000, 1000000) - 55597) <= 1);
}

static void test_hanoi_haiphong(void **state)
{
	const struct province *hn = find("HN"), *hp = find("HP");
	int64_t m = centre_m(hn, hp), km = geo_province_distance_km(hn, hp);

	(void)state;
	/* The centres are about 88 km apart as the crow flies. */
	assert_true(m > 80000 && m < 100000);
	assert_int_equal(km, (m * 13 + 9999) / 10000);
	assert_true(km > 104 && km < 130);
	/* Hà Nội to Hồ Chí Minh City: ~1,140 km straight, ~1,480 by road. */
	km = geo_province_distance_km(hn, find("HCM"));
	assert_true(km > 1400 && km < 1600);
}

static void test_symmetric_and_zero(void **state)
{
	(void)state;
	for (size_t i = 0; i < provinces_count(); i++) {
		const struct province *a = provinces_at(i);

		assert_int_equal(centre_m(a, a), 0);
		assert_int_equal(geo_province_distance_km(a, a), 0);
		for (size_t j = 0; j < provinces_count(); j++) {
			const struct province *b = provinces_at(j);

			assert_int_equal(centre_m(a, b), centre_m(b, a));
			assert_int_equal(geo_province_distance_km(a, b),
					 geo_province_distance_km(b, a));
			if (a != b) {
				assert_true(geo_province_distance_km(a, b) > 0);
				/* Nothing in Vietnam is 2,500 km from anything. */
				assert_true(geo_province_distance_km(a, b) < 2500);
			}
		}
	}
	assert_int_equal(geo_province_distance_km(NULL, find("HN")), 0);
}

static void test_road_rounding(void **state)
{
	(void)state;
	assert_int_equal(geo_road_km(21000000, 105000000, 21000000, 105000000), 0);
	/* ~11 m apart: 14.5 m of road, billed as 1 km. */
	assert_int_equal(geo_road_km(21000000, 105000000, 21000100, 105000000), 1);
	/* 111195 m x 1.3 = 144553.5 m -> 145 km. */
	assert_int_equal(geo_road_km(0, 0, 1000000, 0), 145);
}

static void test_check(void **state)
{
	const char *why = NULL;
	int32_t u = 0;

	(void)state;
	assert_int_equal(geo_check(21028000, 105854000, &why), 0);
	assert_null(why);
	assert_int_equal(geo_check(GEO_LAT_MIN_UDEG, GEO_LON_MIN_UDEG, NULL), 0);
	assert_int_equal(geo_check(GEO_LAT_MAX_UDEG, GEO_LON_MAX_UDEG, NULL), 0);
	assert_int_equal(geo_check(0, 0, &why), -1);
	assert_string_equal(why, "latitude outside Vietnam (8–24° N)");
	assert_int_equal(geo_check(21000000, 100000000, &why), -1);
	assert_string_equal(why, "longitude outside Vietnam (102–110° E)");
	assert_int_equal(geo_check(GEO_LAT_MAX_UDEG + 1, 105000000, NULL), -1);
	/* Swapped lat/lon, a common client mistake. */
	assert_int_equal(geo_check(105854000, 21028000, NULL), -1);

	assert_int_equal(geo_udeg_from_degrees(21.028, &u), 0);
	assert_int_equal(u, 21028000);
	assert_int_equal(geo_udeg_from_degrees(-105.8540004, &u), 0);
	assert_int_equal(u, -105854000);
	assert_int_equal(geo_udeg_from_degrees(NAN, &u), -1);
	assert_int_equal(geo_udeg_from_degrees(INFINITY, &u), -1);
	assert_int_equal(geo_udeg_from_degrees(180.5, &u), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_distances),
	    cmocka_unit_test(test_hanoi_haiphong),
	    cmocka_unit_test(test_symmetric_and_zero),
	    cmocka_unit_test(test_road_rounding),
	    cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
