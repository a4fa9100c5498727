/*
 * Unit tests for common/stats: the group list, months, the lower median,
 * the rounded ratio, exact sums past 64 bits, and the merging of cells
 * into rows (dimensions, null provinces, filters, a moderator's scope, a
 * participant's view) and into the /metrics counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/stats.h"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);
	assert_non_null(v);
	return v;
}

static void test_group(void **state)
{
	(void)state;
	struct stats_query q = {0};
	const char *why = NULL;
	assert_int_equal(stats_parse_group("material,month", &q, &why), 0);
	assert_int_equal(q.ngroup, 2);
	assert_int_equal(q.group[0], STATS_MATERIAL);
	assert_int_equal(q.group[1], STATS_MONTH);
	assert_int_equal(stats_parse_group("", &q, &why), 0);
	assert_int_equal(q.ngroup, 0);
	assert_int_equal(stats_parse_group(NULL, &q, &why), 0);
	assert_int_equal(stats_parse_group("province", &q, &why), -1);
	assert_int_equal(stats_parse_group("month,month", &q, &why), -1);
	assert_int_equal(stats_parse_group("month,", &q, &why), -1);
	assert_int_equal(stats_parse_group(",month", &q, &why), -1);
	assert_int_equal(
	    stats_parse_group("need_province,offer_province,material,forum,month", &q, &why), 0);
	assert_int_equal(q.ngroup, 5);
}

static void test_month(void **state)
{
	(void)state;
	assert_true(stats_month_ok("2026-12"));
	assert_true(stats_month_ok("2026-01"));
	assert_false(stats_month_ok("2026-13"));
	assert_false(stats_month_ok("2026-00"));
	assert_false(stats_month_ok("2026-1"));
	assert_false(stats_month_ok("2026/12"));
	assert_false(stats_month_ok("202a-12"));
	assert_false(stats_month_ok(NULL));
}

/* The lower median against sorting every sample out, on random distributions. */
static void test_median(void **state)
{
	(void)state;
	assert_int_equal(stats_median(NULL, 0), -1);
	struct stats_sample one[] = {{7, 0}};
	assert_int_equal(stats_median(one, 1), -1);
	struct stats_sample two[] = {{9, 1}, {3, 1}};
	assert_int_equal(stats_median(two, 2), 3);
	srand(13);
	for (int round = 0; round < 500; round++) {
		size_t n = 1 + (size_t)(rand() % 12);
		struct stats_sample s[12];
		int64_t all[12 * 5];
		size_t total = 0;
		for (size_t i = 0; i < n; i++) {
			s[i].value = rand() % 50;
			s[i].count = rand() % 5;
			for (int64_t k = 0; k < s[i].count; k++)
				all[total++] = s[i].value;
		}
		/* insertion sort of the expanded samples */
		for (size_t i = 1; i < total; i++)
			for (size_t j = i; j > 0 && all[j - 1] > all[j]; j--) {
				int64_t t = all[j];
				all[j] = all[j - 1];
				all[j - 1] = t;
			}
		int64_t want = total ? all[(total - 1) / 2] : -1;
		assert_int_equal(stats_median(s, n), want);
	}
}

static void test_ratio_and_text(void **state)
{
	(void)state;
	char buf[64];
	stats_ratio(5, 6, buf, sizeof(buf));
	assert_string_equal(buf, "0.833333");
	stats_ratio(2, 3, buf, sizeof(buf));
	assert_string_equal(buf, "0.666667");
	stats_ratio(1, 2000000, buf, sizeof(buf));
	assert_string_equal(buf, "0.000001"); /* 0.0000005 rounds half up */
	stats_ratio(3, 2, buf, sizeof(buf));
	assert_string_equal(buf, "1.500000");
	stats_ratio(0, 7, buf, sizeof(buf));
	assert_string_equal(buf, "0.000000");
	stats_i128 big = (stats_i128)INT64_MAX * 1000 + 7;
	stats_u128_text(big, buf, sizeof(buf));
	assert_string_equal(buf, "9223372036854775807007");
	stats_u128_text(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
}

#define CELLS                                                                                      \
	"[[[\"need|HN|clay|f1|2026-11\", [\"n\", \"2\", \"q\", \"5000\"]],"                        \
	"  [\"offer|BN|clay||2026-11\", [\"n\", \"1\", \"q\", \"9000\"]],"                         \
	"  [\"need|HD|kaolin||2026-12\", [\"n\", \"1\", \"q\", \"300\"]],"                         \
	"  [\"bad cell\", [\"n\", \"1\"]]],"                                                       \
	" [[\"HN|BN|clay|f1|2026-11\", [\"p_n\", \"2\", \"p_q\", \"4000\", \"c_n\", \"1\","        \
	"     \"c_q\", \"3000\", \"c_v\", \"9223372036854775807\", \"c_f\", \"120\"]],"            \
	"  [\"HN|BN|clay|f1|2026-12\", [\"c_n\", \"1\", \"c_q\", \"1000\","                        \
	"     \"c_v\", \"9223372036854775807\", \"c_f\", \"5\", \"f_n\", \"1\", \"f_q\", "         \
	"\"2000\", "                                                                               \
	"     \"f_v\", \"6\"]],"                                                                   \
	"  [\"HD|HD|kaolin||2026-12\", [\"p_n\", \"1\", \"p_q\", \"300\"]]],"                      \
	" [[\"need|HN|clay|f1|2026-11\", [\"10\", \"1\", \"4\", \"1\"]],"                          \
	"  [\"offer|BN|clay||2026-11\", [\"7\", \"1\"]]]]"

static const json_t *row_where(const json_t *rows, const char *dim, const char *value)
{
	size_t i;
	const json_t *row;
	json_array_foreach(rows, i, row)
	{
		const json_t *v = json_object_get(row, dim);
		if ((value == NULL && json_is_null(v)) ||
		    (value && json_is_string(v) && strcmp(json_string_value(v), value) == 0))
			return row;
	}
	fail_msg("no row with %s = %s", dim, value ? value : "null");
	return NULL;
}

static const char *at(const json_t *row, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(row, a), b));
}

static void test_total(void **state)
{
	(void)state;
	json_t *cells = parse(CELLS);
	struct stats_query q = {.scope = STATS_ALL};
	json_t *ans = stats_answer(&q, cells);
	const json_t *rows = json_object_get(ans, "rows");
	assert_int_equal(json_array_size(rows), 1);
	const json_t *r = json_array_get(rows, 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "needs"), "count")),
			 3);
	assert_string_equal(at(r, "needs", "quantity"), "5300");
	assert_string_equal(at(r, "offers", "quantity"), "9000");
	assert_string_equal(at(r, "proposed", "quantity"), "4300");
	assert_string_equal(at(r, "confirmed", "quantity"), "4000");
	/* two values of 2^63 - 1 add up past 64 bits, exactly */
	assert_string_equal(at(r, "confirmed", "value_vnd"), "18446744073709551614");
	assert_string_equal(at(r, "confirmed", "freight_vnd"), "125");
	assert_string_equal(at(r, "fulfilled", "quantity"), "2000");
	assert_string_equal(json_string_value(json_object_get(r, "fulfilment_rate")), "0.500000");
	/* delays 4, 7, 10: the median is 7 */
	assert_int_equal(json_integer_value(json_object_get(r, "median_seconds_to_first_proposal")),
			 7);
	const json_t *flows = json_object_get(ans, "flows");
	assert_int_equal(json_array_size(flows), 1);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(flows, 0), "confirmed_quantity")),
	    "4000");
	json_decref(ans);
	json_decref(cells);
}

static void test_grouped(void **state)
{
	(void)state;
	json_t *cells = parse(CELLS);
	struct stats_query q = {.scope = STATS_ALL};
	const char *why;
	assert_int_equal(stats_parse_group("need_province", &q, &why), 0);
	json_t *ans = stats_answer(&q, cells);
	const json_t *rows = json_object_get(ans, "rows");
	assert_int_equal(json_array_size(rows), 3);
	/* null first: the offers' row */
	assert_true(json_is_null(json_object_get(json_array_get(rows, 0), "need_province")));
	const json_t *none = row_where(rows, "need_province", NULL);
	assert_string_equal(at(none, "offers", "quantity"), "9000");
	assert_int_equal(
	    json_integer_value(json_object_get(none, "median_seconds_to_first_proposal")), 7);
	const json_t *hn = row_where(rows, "need_province", "HN");
	assert_string_equal(at(hn, "needs", "quantity"), "5000");
	assert_string_equal(at(hn, "proposed", "quantity"), "4000");
	/* delays 4 and 10: the lower median */
	assert_int_equal(
	    json_integer_value(json_object_get(hn, "median_seconds_to_first_proposal")), 4);
	const json_t *hd = row_where(rows, "need_province", "HD");
	assert_true(json_is_null(json_object_get(hd, "fulfilment_rate")));
	json_decref(ans);

	/* filters: the offers have no need province, and forum "" is no forum */
	struct stats_query f = {.scope = STATS_ALL};
	f.filter[STATS_NEED_PROVINCE] = "HN";
	ans = stats_answer(&f, cells);
	assert_string_equal(
	    at(json_array_get(json_object_get(ans, "rows"), 0), "offers", "quantity"), "0");
	assert_string_equal(
	    at(json_array_get(json_object_get(ans, "rows"), 0), "needs", "quantity"), "5000");
	json_decref(ans);
	struct stats_query g = {.scope = STATS_ALL};
	g.filter[STATS_FORUM] = "";
	g.filter[STATS_MONTH] = "2026-12";
	ans = stats_answer(&g, cells);
	const json_t *r = json_array_get(json_object_get(ans, "rows"), 0);
	assert_string_equal(at(r, "needs", "quantity"), "300");
	assert_string_equal(at(r, "proposed", "quantity"), "300");
	assert_string_equal(at(r, "confirmed", "quantity"), "0");
	json_decref(ans);
	json_decref(cells);
}

static void test_scopes(void **state)
{
	(void)state;
	json_t *cells = parse(CELLS);
	/* a moderator of HD sees HD's need and match; of forum f1, f1's */
	struct stats_query m = {
	    .scope = STATS_MODERATOR, .scope_provinces = "HD", .scope_forums = ""};
	json_t *ans = stats_answer(&m, cells);
	const json_t *r = json_array_get(json_object_get(ans, "rows"), 0);
	assert_string_equal(at(r, "needs", "quantity"), "300");
	assert_string_equal(at(r, "offers", "quantity"), "0");
	assert_string_equal(at(r, "proposed", "quantity"), "300");
	assert_string_equal(json_string_value(json_object_get(ans, "scope")), "moderator");
	json_decref(ans);
	struct stats_query f = {
	    .scope = STATS_MODERATOR, .scope_provinces = "", .scope_forums = "f1"};
	ans = stats_answer(&f, cells);
	r = json_array_get(json_object_get(ans, "rows"), 0);
	assert_string_equal(at(r, "needs", "quantity"), "5000");
	assert_string_equal(at(r, "proposed", "quantity"), "4000");
	json_decref(ans);
	/* a participant: no proposed figures, no median */
	struct stats_query o = {.scope = STATS_OWN};
	ans = stats_answer(&o, cells);
	r = json_array_get(json_object_get(ans, "rows"), 0);
	assert_true(json_is_null(json_object_get(r, "proposed")));
	assert_true(json_is_null(json_object_get(r, "median_seconds_to_first_proposal")));
	json_decref(ans);
	json_decref(cells);
}

static void test_metrics(void **state)
{
	(void)state;
	json_t *cells = parse(CELLS);
	char *text = stats_metrics_text(cells);
	assert_non_null(strstr(text, "craftmatch_listings_posted_total{kind=\"need\"} 3\n"));
	assert_non_null(strstr(text, "craftmatch_listings_posted_total{kind=\"offer\"} 1\n"));
	assert_non_null(strstr(text, "craftmatch_matches_total{status=\"proposed\"} 3\n"));
	assert_non_null(strstr(
	    text,
	    "craftmatch_matches_quantity_total{status=\"confirmed\",material=\"clay\"} 4000\n"));
	assert_non_null(strstr(text, "craftmatch_matches_value_vnd_total{status=\"confirmed\"} "
				     "18446744073709551614\n"));
	assert_non_null(strstr(text, "craftmatch_matches_freight_vnd_total 125\n"));
	free(text);
	json_decref(cells);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_group),  cmocka_unit_test(test_month),
	    cmocka_unit_test(test_median), cmocka_unit_test(test_ratio_and_text),
	    cmocka_unit_test(test_total),  cmocka_unit_test(test_grouped),
	    cmocka_unit_test(test_scopes), cmocka_unit_test(test_metrics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
