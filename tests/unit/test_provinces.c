/*
 * Unit tests for common/provinces: the 34 units, the map from the 63 old
 * ones, lookups, JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/geo.h"
#include "common/provinces.h"
#include "common/textfold.h"

/* The 63 pre-2025 units and their unit today, written out independently of
 * the table (Resolution 202/2025/QH15). */
/* clang-format off */
static const struct {
	const char *old;
	const char *now;
} old63[] = {
	{"Hà Nội", "HN"},        {"Hải Phòng", "HP"},      {"Hải Dương", "HP"},
	{"Quảng Ninh", "QN"},    {"Lạng Sơn", "LS"},       {"Cao Bằng", "CB"},
	{"Điện Biên", "DB"},     {"Lai Châu", "LC"},       {"Sơn La", "SL"},
	{"Tuyên Quang", "TQ"},   {"Hà Giang", "TQ"},       {"Lào Cai", "LCI"},
	{"Yên Bái", "LCI"},      {"Thái Nguyên", "TN"},    {"Bắc Kạn", "TN"},
	{"Phú Thọ", "PT"},       {"Vĩnh Phúc", "PT"},      {"Hòa Bình", "PT"},
	{"Bắc Ninh", "BN"},      {"Bắc Giang", "BN"},      {"Hưng Yên", "HY"},
	{"Thái Bình", "HY"},     {"Ninh Bình", "NB"},      {"Hà Nam", "NB"},
	{"Nam Định", "NB"},      {"Thanh Hóa", "TH"},      {"Nghệ An", "NA"},
	{"Hà Tĩnh", "HT"},       {"Quảng Bình", "QT"},     {"Quảng Trị", "QT"},
	{"Thừa Thiên Huế", "HUE"}, {"Đà Nẵng", "DN"},      {"Quảng Nam", "DN"},
	{"Quảng Ngãi", "QNI"},   {"Kon Tum", "QNI"},       {"Gia Lai", "GL"},
	{"Bình Định", "GL"},     {"Khánh Hòa", "KH"},      {"Ninh Thuận", "KH"},
	{"Lâm Đồng", "LD"},      {"Đắk Nông", "LD"},       {"Bình Thuận", "LD"},
	{"Đắk Lắk", "DL"},       {"Phú Yên", "DL"},        {"Hồ Chí Minh", "HCM"},
	{"Bình Dương", "HCM"},   {"Bà Rịa–Vũng Tàu", "HCM"}, {"Đồng Nai", "DNI"},
	{"Bình Phước", "DNI"},   {"Tây Ninh", "TNH"},      {"Long An", "TNH"},
	{"Cần Thơ", "CT"},       {"Sóc Trăng", "CT"},      {"Hậu Giang", "CT"},
	{"Vĩnh Long", "VL"},     {"Bến Tre", "VL"},        {"Trà Vinh", "VL"},
	{"Đồng Tháp", "DT"},     {"Tiền Giang", "DT"},     {"Cà Mau", "CM"},
	{"Bạc Liêu", "CM"},      {"An Giang", "AG"},       {"Kiên Giang", "AG"},
};
/* clang-format on */

#define N_OLD (sizeof(old63) / sizeof(old63[0]))

static void assert_finds(const char *query, const char *code)
{
	const struct province *p = provinces_find(query);

	if (code == NULL) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	assert_string_equal(p->code, code);
}

static void test_table_shape(void **state)
{
	size_t per_region[PROVINCE_REGION_COUNT] = {0};
	size_t cities = 0;

	(void)state;
	assert_int_equal(provinces_count(), 34);
	assert_null(provinces_at(34));
	for (size_t i = 0; i < provinces_count(); i++) {
		const struct province *p = provinces_at(i);
		size_t len = strlen(p->code);
		char *nfc = text_nfc(p->name, strlen(p->name));

		assert_true(len >= 2 && len <= 3);
		for (size_t j = 0; j < len; j++)
			assert_true(p->code[j] >= 'A' && p->code[j] <= 'Z');
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(provinces_at(j)->code, p->code);
		assert_non_null(nfc);
		assert_string_equal(nfc, p->name);
		free(nfc);
		assert_true((unsigned)p->region < PROVINCE_REGION_COUNT);
		per_region[p->region]++;
		cities += p->kind == PROVINCE_KIND_CITY;
		assert_int_equal(geo_check(p->lat_udeg, p->lon_udeg, NULL), 0);
		assert_non_null(p->seat);
	}
	assert_int_equal(per_region[PROVINCE_NORTH], 15);
	assert_int_equal(per_region[PROVINCE_NORTH_CENTRAL], 5);
	assert_int_equal(per_region[PROVINCE_CENTRAL], 3);
	assert_int_equal(per_region[PROVINCE_CENTRAL_HIGHLANDS], 3);
	assert_int_equal(per_region[PROVINCE_SOUTH], 8);
	/* Hà Nội, Hải Phòng, Huế, Đà Nẵng, Hồ Chí Minh, Cần Thơ. */
	assert_int_equal(cities, 6);
	assert_string_equal(provinces_region_str(PROVINCE_NORTH), "north");
	assert_string_equal(provinces_region_str(PROVINCE_CENTRAL_HIGHLANDS), "central_highlands");
	assert_string_equal(provinces_kind_str(PROVINCE_KIND_CITY), "city");
}

static void test_old_63_map_once_each(void **state)
{
	size_t total = 0;

	(void)state;
	assert_int_equal(N_OLD, 63);
	/* Each old unit appears in exactly one unit's `formerly`, and the list
	 * here and the table agree. */
	for (size_t i = 0; i < N_OLD; i++) {
		size_t seen = 0;
		for (size_t u = 0; u < provinces_count(); u++) {
			const struct province *p = provinces_at(u);
			for (size_t j = 0; j < PROVINCES_FORMERLY_MAX && p->formerly[j]; j++) {
				if (strcmp(p->formerly[j], old63[i].old) == 0) {
					seen++;
					assert_string_equal(p->code, old63[i].now);
				}
			}
		}
		assert_int_equal(seen, 1);
		assert_finds(old63[i].old, old63[i].now);
	}
	for (size_t u = 0; u < provinces_count(); u++) {
		const struct province *p = provinces_at(u);
		assert_non_null(p->formerly[0]); /* every unit has a past */
		for (size_t j = 0; j < PROVINCES_FORMERLY_MAX && p->formerly[j]; j++)
			total++;
	}
	assert_int_equal(total, 63);
}

static void test_every_name_finds_its_unit(void **state)
{
	(void)state;
	/* A name shared by two units would find the first one: this catches
	 * any clash between codes, names, former names and aliases. */
	for (size_t u = 0; u < provinces_count(); u++) {
		const struct province *p = provinces_at(u);
		assert_ptr_equal(provinces_find(p->code), p);
		assert_ptr_equal(provinces_find(p->name), p);
		for (size_t j = 0; j < PROVINCES_FORMERLY_MAX && p->formerly[j]; j++)
			assert_ptr_equal(provinces_find(p->formerly[j]), p);
		for (size_t j = 0; j < PROVINCES_ALIASES_MAX && p->aliases[j]; j++)
			assert_ptr_equal(provinces_find(p->aliases[j]), p);
	}
}

static void test_named_examples(void **state)
{
	(void)state;
	assert_finds("Hà Tây", "HN");
	assert_finds("ha tay", "HN");
	assert_finds("HA TAY", "HN");
	assert_finds("Yên Bái", "LCI");
	assert_finds("Yen Bai", "LCI");
	assert_finds("Hải Dương", "HP");
	assert_finds("hai duong", "HP");
	assert_finds("Nam Định", "NB");
	assert_finds("nam dinh", "NB");
	assert_finds("Bắc Kạn", "TN");
	assert_finds("Bac Can", "TN");
	assert_finds("Vĩnh Phúc", "PT");
	assert_finds("Hoà Bình", "PT"); /* old-style tone mark */
	assert_finds("Thái Bình", "HY");
	assert_finds("Hà Giang", "TQ");
	assert_finds("Bắc Giang", "BN");
	assert_finds("Quảng Bình", "QT");
	assert_finds("Kon Tum", "QNI");
	assert_finds("Bình Định", "GL");
	assert_finds("Bình Dương", "HCM");
	assert_finds("Long An", "TNH");
}

static void test_lookup_forms(void **state)
{
	(void)state;
	assert_finds("HN", "HN");
	assert_finds("hn", "HN");
	assert_finds(" hn ", "HN");
	assert_finds("Hà Nội", "HN");
	assert_finds("HÀ NỘI", "HN");
	assert_finds("ha noi", "HN");
	assert_finds("Hanoi", "HN");
	assert_finds("Thành phố Hà Nội", "HN");
	assert_finds("TP. Hồ Chí Minh", "HCM");
	assert_finds("TP.HCM", "HCM");
	assert_finds("TPHCM", "HCM");
	assert_finds("Ho Chi Minh City", "HCM");
	assert_finds("Sài Gòn", "HCM");
	assert_finds("Bà Rịa - Vũng Tàu", "HCM");
	assert_finds("Tỉnh Nam Định", "NB");
	assert_finds("Thừa Thiên - Huế", "HUE");
	assert_finds("Huế", "HUE");
	assert_finds("hue", "HUE");
	assert_finds("Lào Cai", "LCI");
	assert_finds("Lai Châu", "LC");
	assert_finds("Quảng Ngãi", "QNI");
	assert_finds("Quảng Ninh", "QN");
	assert_finds("Tây Ninh", "TNH");
	assert_finds("Đồng Nai", "DNI");
	assert_finds("dong nai", "DNI");
	assert_finds("Daklak", "DL");
	assert_finds("Lam Dong Province", "LD");
	/* Decomposed input. */
	assert_finds("Ha\xcc\x80 Ta\xcc\x82y", "HN");

	assert_finds(NULL, NULL);
	assert_finds("", NULL);
	assert_finds("   ", NULL);
	assert_finds("Atlantis", NULL);
	assert_finds("Hà", NULL);
	assert_finds("tp", NULL);
	assert_finds("Thành phố", NULL);
	assert_finds("\xff", NULL);
	assert_finds("HN\xc0\xaf", NULL);
}

static void test_json(void **state)
{
	json_t *j = provinces_to_json(), *list, *hn, *hp, *formerly;
	char *dump;
	int found = 0;

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "version")), PROVINCES_VERSION);
	list = json_object_get(j, "provinces");
	assert_int_equal(json_array_size(list), 34);
	hn = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(hn, "code")), "HN");
	assert_string_equal(json_string_value(json_object_get(hn, "name")), "Hà Nội");
	assert_string_equal(json_string_value(json_object_get(hn, "region")), "north");
	assert_string_equal(json_string_value(json_object_get(hn, "kind")), "city");
	assert_true(json_is_real(json_object_get(json_object_get(hn, "centre"), "lat")));
	assert_float_equal(json_real_value(json_object_get(json_object_get(hn, "centre"), "lat")),
			   21.028, 1e-9);
	assert_float_equal(json_real_value(json_object_get(json_object_get(hn, "centre"), "lon")),
			   105.854, 1e-9);
	assert_string_equal(json_string_value(json_array_get(json_object_get(hn, "aliases"), 0)),
			    "Hà Tây");
	hp = json_array_get(list, 1);
	formerly = json_object_get(hp, "formerly");
	for (size_t i = 0; i < json_array_size(formerly); i++)
		found |= strcmp(json_string_value(json_array_get(formerly, i)), "Hải Dương") == 0;
	assert_true(found);

	dump = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
	assert_non_null(dump);
	assert_non_null(strstr(dump, "\"lat\":21.028,"));
	free(dump);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_shape),
	    cmocka_unit_test(test_old_63_map_once_each),
	    cmocka_unit_test(test_every_name_finds_its_unit),
	    cmocka_unit_test(test_named_examples),
	    cmocka_unit_test(test_lookup_forms),
	    cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
