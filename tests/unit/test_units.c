/*
 * Unit tests for common/units: exact decimal -> base-unit conversion, the
 * formatter, and the JSON quantity rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/materials.h"
#include "common/units.h"

static const struct material *find(const char *code)
{
	const struct material *m = materials_find(code);

	assert_non_null(m);
	return m;
}

static void assert_base(const char *mat, const char *text, const char *unit, int64_t want)
{
	int64_t out = -7;
	const char *why = NULL;

	if (units_to_base(find(mat), text, unit, &out, &why) != 0)
		fail_msg("%s %s of %s: %s", text, unit ? unit : "(base)", mat, why);
	assert_int_equal(out, want);
}

static void assert_refused(const char *mat, const char *text, const char *unit,
			   const char *want_why)
{
	int64_t out = -7;
	const char *why = NULL;

	if (units_to_base(find(mat), text, unit, &out, &why) != -1)
		fail_msg("'%s' %s of %s accepted as %lld", text, unit, mat, (long long)out);
	assert_int_equal(out, -7); /* untouched */
	assert_non_null(why);
	if (want_why != NULL)
		assert_string_equal(why, want_why);
}

static void test_exact_conversions(void **state)
{
	(void)state;
	assert_base("clay", "12.5", "ta", 1250);
	assert_base("clay", "12.500", "ta", 1250);
	assert_base("clay", "0.001", "tan", 1);
	assert_base("clay", "0.25", "tan", 250);
	assert_base("clay", "1000", "kg", 1000);
	assert_base("clay", "1000", NULL, 1000);
	assert_base("clay", "007", "kg", 7);
	assert_base("clay", "3", "yen", 30);
	assert_base("clay", "0.1", "yen", 1);
	assert_base("clay", "12.5", "tạ", 1250);
	assert_base("clay", "2", "Tấn", 2000);
	assert_base("clay", "2", "TAN", 2000);
	assert_base("timber_go_gu", "1.5", "m3", 1500);
	assert_base("timber_go_gu", "0.125", "m³", 125);
	assert_base("bamboo_luong", "120", "cay", 120);
	assert_base("silver", "1.234", "kg", 1234);
	/* The cap itself is allowed. */
	assert_base("clay", "1000000000", "tan", UNITS_MAX_BASE);
	assert_base("clay", "1000000000000", "kg", UNITS_MAX_BASE);
}

static void test_refusals(void **state)
{
	(void)state;
	assert_refused("clay", "0.0001", "tan", "not a whole number of kg");
	assert_refused("clay", "12.555", "ta", "not a whole number of kg");
	assert_refused("clay", "0.5", "kg", "not a whole number of kg");
	assert_refused("timber_go_gu", "0.0005", "m3", "not a whole number of dm3");
	assert_refused("bamboo_tre", "1.5", "cay", "not a whole number of cay");

	assert_refused("clay", "1000000001", "tan", "too large: at most 1000000000000 kg");
	assert_refused("clay", "1000000000001", "kg", "too large: at most 1000000000000 kg");
	assert_refused("clay", "99999999999999999999999999999999999999999999999999", "tan",
		       "too large: at most 1000000000000 kg");
	assert_refused("clay",
		       "1000000000000000000000000000000000000000000000000000000000000000000000",
		       "kg", "too long");

	assert_refused("clay", "", "kg", "missing quantity");
	assert_refused("clay", NULL, "kg", "missing quantity");
	assert_refused("clay", "-5", "kg", "must be positive");
	assert_refused("clay", "-0.5", "tan", "must be positive");
	assert_refused("clay", "0", "kg", "must be positive");
	assert_refused("clay", "0.000", "tan", "must be positive");
	assert_refused("clay", "1,5", "tan",
		       "use '.' as the decimal point and no thousands separators");
	assert_refused("clay", "1.000,5", "kg",
		       "use '.' as the decimal point and no thousands separators");
	assert_refused("clay", "1e3", "kg", "write the quantity without an exponent");

	static const char *const garbage[] = {
	    "abc",  "12a",  "1.2.3", ".5",	     "5.",  " 12", "12 ", "+5", "-", "--5",
	    "-abc", "0x10", "1 000", "\xef\xbc\x91", "NaN", "inf", "1/2", "e5", ".",
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++)
		assert_refused("clay", garbage[i], "kg", "not a decimal number");
}

static void test_unknown_units(void **state)
{
	(void)state;
	assert_refused("clay", "1", "lb", "unknown unit 'lb' for clay; accepted: kg, yen, ta, tan");
	assert_refused("clay", "1", "tá", "unknown unit 'tá' for clay; accepted: kg, yen, ta, tan");
	assert_refused("clay", "1", "m3", "unknown unit 'm3' for clay; accepted: kg, yen, ta, tan");
	assert_refused("timber_go_gu", "1", "kg",
		       "unknown unit 'kg' for timber_go_gu; accepted: dm3, m3");
	/* Hostile unit text is not echoed. */
	assert_refused("clay", "1", "\x1b[31m",
		       "unknown unit for clay; accepted: kg, yen, ta, tan");
	assert_refused("clay", "1", "\xff", "unknown unit for clay; accepted: kg, yen, ta, tan");
	assert_refused("clay", "1", "it's", "unknown unit for clay; accepted: kg, yen, ta, tan");
	assert_refused("clay", "1", "averyveryverylongunitname",
		       "unknown unit for clay; accepted: kg, yen, ta, tan");
	assert_refused("clay", "1", "", "unknown unit for clay; accepted: kg, yen, ta, tan");
}

static void test_scale_any_factor(void **state)
{
	int64_t out = 0;
	const char *why = NULL;

	(void)state;
	assert_int_equal(units_scale_decimal("1", 3, &out, &why), 0);
	assert_int_equal(out, 3);
	assert_int_equal(units_scale_decimal("0.5", 3, &out, &why), -1);
	assert_string_equal(why, "not a whole number of the base unit");
	/* 2^-19 x 2^19: nineteen decimals, still exact. */
	assert_int_equal(units_scale_decimal("0.0000019073486328125", 524288, &out, &why), 0);
	assert_int_equal(out, 1);
	assert_int_equal(units_scale_decimal("0.00000190734863281", 524288, &out, &why), -1);
	assert_int_equal(units_scale_decimal("1", 0, &out, &why), -1);
	assert_int_equal(units_scale_decimal("1", UNITS_FACTOR_MAX + 1, &out, &why), -1);
	assert_int_equal(units_scale_decimal("1000", UNITS_FACTOR_MAX, &out, &why), 0);
	assert_int_equal(out, 1000 * UNITS_FACTOR_MAX);
	assert_int_equal(units_scale_decimal("1001", UNITS_FACTOR_MAX, &out, &why), -1);
	assert_string_equal(why, "too large");
}

static void assert_format(int64_t base, int64_t factor, const char *want)
{
	char buf[UNITS_TEXT_MAX];

	if (want == NULL) {
		assert_int_equal(units_format(base, factor, buf, sizeof(buf)), -1);
		return;
	}
	assert_int_equal(units_format(base, factor, buf, sizeof(buf)), 0);
	assert_string_equal(buf, want);
}

static void test_format(void **state)
{
	char small[4];

	(void)state;
	assert_format(1250, 100, "12.5");
	assert_format(1, 1000, "0.001");
	assert_format(1000, 1000, "1");
	assert_format(0, 10, "0");
	assert_format(1234567, 1000, "1234.567");
	assert_format(1, 524288, "0.0000019073486328125");
	assert_format(INT64_MAX, 1, "9223372036854775807");
	assert_format(1, 3, NULL);
	assert_format(-1, 1, NULL);
	assert_format(1, 0, NULL);
	assert_int_equal(units_format(12345, 1, small, sizeof(small)), -1);
	assert_int_equal(units_format(1, 1000, small, sizeof(small)), -1);
	assert_int_equal(units_format(125, 100, small, sizeof(small)), -1); /* "1.25" */
	assert_int_equal(units_format(12, 10, small, sizeof(small)), 0);
	assert_string_equal(small, "1.2");
}

static void test_format_round_trip(void **state)
{
	static const int64_t factors[] = {1, 10, 100, 1000, 8, 125, 1000000};
	uint64_t x = 88172645463325252u;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		char buf[UNITS_TEXT_MAX];
		int64_t factor = factors[i % 7], back = 0, v;
		const char *why;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (int64_t)(x % (uint64_t)UNITS_MAX_BASE) + 1;
		assert_int_equal(units_format(v, factor, buf, sizeof(buf)), 0);
		if (units_scale_decimal(buf, factor, &back, &why) != 0)
			fail_msg("%s x %lld: %s", buf, (long long)factor, why);
		assert_int_equal(back, v);
	}
}

static void test_from_base(void **state)
{
	char buf[UNITS_TEXT_MAX];
	const char *why = NULL;

	(void)state;
	assert_int_equal(units_from_base(find("clay"), 1250, "ta", buf, sizeof(buf), &why), 0);
	assert_string_equal(buf, "12.5");
	assert_int_equal(units_from_base(find("clay"), 1250, "tấn", buf, sizeof(buf), &why), 0);
	assert_string_equal(buf, "1.25");
	assert_int_equal(units_from_base(find("clay"), 1250, NULL, buf, sizeof(buf), &why), 0);
	assert_string_equal(buf, "1250");
	assert_int_equal(units_from_base(find("timber_go_gu"), 1500, "m3", buf, sizeof(buf), &why),
			 0);
	assert_string_equal(buf, "1.5");
	assert_int_equal(units_from_base(find("clay"), 1, "lb", buf, sizeof(buf), &why), -1);
	assert_string_equal(why, "unknown unit 'lb' for clay; accepted: kg, yen, ta, tan");
	assert_int_equal(units_from_base(find("clay"), -1, "kg", buf, sizeof(buf), &why), -1);
	assert_int_equal(units_from_base(find("clay"), 1, "tan", buf, 3, &why), -1);
	assert_string_equal(why, "buffer too small");
	assert_int_equal(units_from_base(NULL, 1, "kg", buf, sizeof(buf), &why), -1);
}

/* The reason for a JSON real, spelled out: clients see this text. */
#define REAL_WHY                                                                                   \
	"send a quantity with a fraction as a string, e.g. \"12.5\" (JSON numbers with a "         \
	"fraction are not exact)"

static void assert_json_text(json_t *v, const char *want, const char *want_why)
{
	char buf[UNITS_TEXT_MAX];
	const char *why = NULL;

	if (want != NULL) {
		if (units_json_text(v, buf, sizeof(buf), &why) != 0)
			fail_msg("%s", why);
		assert_string_equal(buf, want);
	} else {
		assert_int_equal(units_json_text(v, buf, sizeof(buf), &why), -1);
		assert_string_equal(why, want_why);
	}
	json_decref(v);
}

static void test_json_text(void **state)
{
	(void)state;
	assert_json_text(json_string("12.5"), "12.5", NULL);
	assert_json_text(json_string("1,5"), "1,5", NULL); /* checked later */
	assert_json_text(json_integer(1000), "1000", NULL);
	assert_json_text(json_integer(-3), "-3", NULL);
	assert_json_text(json_integer(12), "12", NULL);
	assert_json_text(json_string("0.30000000000000004"), "0.30000000000000004", NULL);
	/* Reals are refused, even exact-looking ones: their text is gone. */
	assert_json_text(json_real(12.5), NULL, REAL_WHY);
	assert_json_text(json_real(12.0), NULL, REAL_WHY);
	assert_json_text(json_real(0.1), NULL, REAL_WHY);
	assert_json_text(json_real(0.001), NULL, REAL_WHY);
	assert_json_text(json_real(1e14), NULL, REAL_WHY);
	assert_json_text(json_real(1e15), NULL, REAL_WHY);
	assert_json_text(json_real(-2.5), NULL, REAL_WHY);
	assert_json_text(json_real(0.30000000000000004), NULL, REAL_WHY);
	assert_json_text(json_true(), NULL, "must be a decimal string or a JSON integer");
	assert_json_text(json_null(), NULL, "must be a decimal string or a JSON integer");
	assert_json_text(json_object(), NULL, "must be a decimal string or a JSON integer");
	assert_json_text(json_stringn("1\0002", 3), NULL, "not a decimal number");
	assert_json_text(
	    json_string("1000000000000000000000000000000000000000000000000000000000000000000"),
	    NULL, "too long");
	assert_json_text(NULL, NULL, "missing quantity");
}

static void test_json_to_base(void **state)
{
	json_error_t err;
	json_t *body =
	    json_loads("{\"a\": \"12.5\", \"b\": \"0.001\", \"c\": 3, \"d\": \"0.1\", "
		       "\"r\": 12.5, \"s\": 1.0000000000000001, \"t\": 12.0, \"u\": 1e3}",
		       0, &err);
	int64_t out = 0;
	const char *why = NULL;

	(void)state;
	assert_non_null(body);
	assert_int_equal(
	    units_json_to_base(find("clay"), json_object_get(body, "a"), "ta", &out, &why), 0);
	assert_int_equal(out, 1250);
	assert_int_equal(
	    units_json_to_base(find("clay"), json_object_get(body, "b"), "tan", &out, &why), 0);
	assert_int_equal(out, 1);
	assert_int_equal(
	    units_json_to_base(find("clay"), json_object_get(body, "c"), "tan", &out, &why), 0);
	assert_int_equal(out, 3000);
	assert_int_equal(
	    units_json_to_base(find("clay"), json_object_get(body, "d"), "tan", &out, &why), 0);
	assert_int_equal(out, 100);
	assert_int_equal(
	    units_json_to_base(find("clay"), json_object_get(body, "d"), "kg", &out, &why), -1);
	assert_string_equal(why, "not a whole number of kg");
	assert_int_equal(
	    units_json_to_base(find("clay"), json_object_get(body, "zz"), "kg", &out, &why), -1);
	assert_string_equal(why, "missing quantity");
	/* Reals as parsed from JSON text, with or without a fraction. */
	for (const char *k = "rstu"; *k != '\0'; k++) {
		char key[2] = {*k, '\0'};

		out = -7;
		why = NULL;
		assert_int_equal(
		    units_json_to_base(find("clay"), json_object_get(body, key), "kg", &out, &why),
		    -1);
		assert_string_equal(why, REAL_WHY);
		assert_int_equal(out, -7);
	}
	json_decref(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_conversions),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_unknown_units),
	    cmocka_unit_test(test_scale_any_factor),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_from_base),
	    cmocka_unit_test(test_json_text),
	    cmocka_unit_test(test_json_to_base),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
