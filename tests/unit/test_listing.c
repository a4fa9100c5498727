/*
 * Unit tests for common/listing: need and offer bodies to stored documents,
 * every error at once, dates in Vietnam's time zone, PATCH, the search key
 * and the API view. Hand-made cases; expected values worked out by hand
 * (and the epoch milliseconds checked against an independent calendar).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "common/listing.h"
#include "common/textfold.h"

/* 2026-11-27T00:00:00Z: "now" in every test. */
#define NOW INT64_C(1795737600000)
/* 2026-12-01T23:59:59.999+07:00 = 2026-12-01T16:59:59.999Z */
#define DEC1_END INT64_C(1796144399999)
/* 2026-12-01T08:00:00+07:00 = 01:00Z */
#define DEC1_8AM INT64_C(1796086800000)
/* 2027-03-31T23:59:59.999+07:00 */
#define MAR31_END INT64_C(1806512399999)

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", err.text, text);
	return j;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The error fields, sorted, joined by ','. Static buffer. */
static const char *fields_of(const json_t *errors)
{
	static char buf[1024];
	const char *names[64];
	size_t n = json_array_size(errors), i;

	assert_true(n < 64);
	for (i = 0; i < n; i++) {
		names[i] = json_string_value(json_object_get(json_array_get(errors, i), "field"));
		assert_non_null(names[i]);
		assert_non_null(
		    json_string_value(json_object_get(json_array_get(errors, i), "message")));
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		strcat(buf, i ? "," : "");
		strcat(buf, names[i]);
	}
	return buf;
}

static const char *message_of(const json_t *errors, const char *field)
{
	size_t i;
	json_t *e;

	json_array_foreach((json_t *)errors, i,
			   e) if (strcmp(json_string_value(json_object_get(e, "field")), field) ==
				  0) return json_string_value(json_object_get(e, "message"));
	fail_msg("no error for %s", field);
	return NULL;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)", needle);
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = load(want_text);

	if (!json_equal((json_t *)got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_SORT_KEYS);
		fprintf(stderr, "got:  %s\nwant: %s\n", g, w);
		free(g);
		free(w);
		json_decref(want);
		fail();
	}
	json_decref(want);
}

/* Creates from text; asserts success. */
static json_t *create_ok(enum listing_kind kind, const char *text)
{
	json_t *body = load(text), *errors = NULL;
	json_t *doc = listing_from_request(kind, body, NOW, &errors);

	if (doc == NULL) {
		char *e = json_dumps(errors, 0);
		fprintf(stderr, "errors: %s\n", e);
		free(e);
		fail();
	}
	assert_null(errors);
	json_decref(body);
	return doc;
}

/* Creates from text; asserts failure with exactly these error fields (sorted,
 * comma-joined); returns the errors (caller decrefs). */
static json_t *create_bad(enum listing_kind kind, const char *text, const char *want_fields)
{
	json_t *body = load(text), *errors = NULL;
	json_t *doc = listing_from_request(kind, body, NOW, &errors);

	assert_null(doc);
	assert_non_null(errors);
	assert_string_equal(fields_of(errors), want_fields);
	json_decref(body);
	return errors;
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_int_equal(listing_kind_parse("need"), LISTING_NEED);
	assert_int_equal(listing_kind_parse("offer"), LISTING_OFFER);
	assert_int_equal(listing_kind_parse("needs"), LISTING_KIND_UNKNOWN);
	assert_int_equal(listing_kind_parse("Need"), LISTING_KIND_UNKNOWN);
	assert_int_equal(listing_kind_parse(NULL), LISTING_KIND_UNKNOWN);
	assert_string_equal(listing_kind_name(LISTING_NEED), "need");
	assert_string_equal(listing_kind_name(LISTING_OFFER), "offer");
	assert_string_equal(listing_kind_name(LISTING_KIND_UNKNOWN), "unknown");
}

static void test_need_full(void **state)
{
	(void)state;
	json_t *doc = create_ok(
	    LISTING_NEED,
	    "{\"material\": \"CLAY\", \"grade\": \"b\", \"quantity\": \"12.50\", \"unit\": \"tạ\","
	    " \"price_vnd\": 2000000, \"price_unit\": \"tấn\", \"province\": \"Hải Dương\","
	    " \"commune\": \"  Bát Tràng \", \"location\": {\"lat\": 20.975, \"lon\": 105.912},"
	    " \"needed_by\": \"2026-12-01\", \"max_distance_km\": 300,"
	    " \"accept_substitutes\": true, \"note\": \"Đất sét trắng\\nđể làm men\","
	    " \"forum\": \"dien-dan-2026\"}");

	/* Every stored member, and nothing else: canonical codes and amounts. */
	assert_json(doc, "{\"kind\": \"need\", \"material\": \"clay\", \"grade\": \"B\","
			 " \"accept_substitutes\": true,"
			 " \"quantity\": {\"amount\": \"12.5\", \"unit\": \"ta\", \"base\": 1250,"
			 "               \"base_unit\": \"kg\"},"
			 " \"price\": {\"vnd\": 2000000, \"unit\": \"tan\", \"factor\": 1000},"
			 " \"province\": \"HP\", \"province_input\": \"Hải Dương\","
			 " \"commune\": \"Bát Tràng\","
			 " \"location\": {\"lat_udeg\": 20975000, \"lon_udeg\": 105912000},"
			 " \"needed_by\": 1796144399999, \"max_distance_km\": 300,"
			 " \"note\": \"Đất sét trắng\\nđể làm men\", \"forum\": \"dien-dan-2026\","
			 " \"after_forum\": \"market\"}");
	assert_int_equal(json_integer_value(json_object_get(doc, "needed_by")), DEC1_END);
	assert_int_equal(listing_quantity_base(doc), 1250);
	assert_int_equal(listing_ends_at(doc), DEC1_END);
	assert_int_equal(listing_kind_of(doc), LISTING_NEED);
	json_decref(doc);
}

static void test_need_minimal_defaults(void **state)
{
	(void)state;
	json_t *doc = create_ok(LISTING_NEED, "{\"material\": \"silk_yarn\", \"quantity\": 10,"
					      " \"province\": \"hn\","
					      " \"needed_by\": \"2027-01-15T00:00:00+07:00\"}");

	/* Base unit by default, no grade, no maximum price, no substitutes, a
	 * lower-case code is not "input". */
	assert_json(doc, "{\"kind\": \"need\", \"material\": \"silk_yarn\","
			 " \"accept_substitutes\": false,"
			 " \"quantity\": {\"amount\": \"10\", \"unit\": \"kg\", \"base\": 10,"
			 "               \"base_unit\": \"kg\"},"
			 " \"province\": \"HN\", \"needed_by\": 1799946000000}");
	json_decref(doc);
}

static void test_offer_full(void **state)
{
	(void)state;
	json_t *doc = create_ok(
	    LISTING_OFFER,
	    "{\"material\": \"kaolin\", \"grade\": \"A\", \"quantity\": 3, \"unit\": \"tan\","
	    " \"price_vnd\": 1500000, \"province\": \"Yên Bái\","
	    " \"available_from\": \"2026-12-01T08:00:00+07:00\","
	    " \"available_until\": \"2027-03-31\", \"min_order\": \"0.5\","
	    " \"max_distance_km\": 5000, \"note\": \"Cao lanh Yên Bái\"}");

	/* price_unit defaults to the quantity's unit; min_order in it too. */
	assert_json(doc, "{\"kind\": \"offer\", \"material\": \"kaolin\", \"grade\": \"A\","
			 " \"quantity\": {\"amount\": \"3\", \"unit\": \"tan\", \"base\": 3000,"
			 "               \"base_unit\": \"kg\"},"
			 " \"price\": {\"vnd\": 1500000, \"unit\": \"tan\", \"factor\": 1000},"
			 " \"province\": \"LCI\", \"province_input\": \"Yên Bái\","
			 " \"available_from\": 1796086800000, \"available_until\": 1806512399999,"
			 " \"min_order\": {\"amount\": \"0.5\", \"unit\": \"tan\", \"base\": 500},"
			 " \"max_distance_km\": 5000, \"note\": \"Cao lanh Yên Bái\"}");
	assert_int_equal(listing_ends_at(doc), MAR31_END);
	json_decref(doc);

	/* Minimal offer: available from now, never ends. */
	doc = create_ok(LISTING_OFFER, "{\"material\": \"rattan\", \"grade\": \"C\","
				       " \"quantity\": \"250\", \"price_vnd\": 18000,"
				       " \"province\": \"HN\"}");
	assert_int_equal(json_integer_value(json_object_get(doc, "available_from")), NOW);
	assert_null(json_object_get(doc, "available_until"));
	assert_null(json_object_get(doc, "accept_substitutes"));
	assert_int_equal(listing_ends_at(doc), 0);
	assert_json(json_object_get(doc, "price"),
		    "{\"vnd\": 18000, \"unit\": \"kg\", \"factor\": 1}");
	json_decref(doc);
}

static void test_every_field_wrong(void **state)
{
	(void)state;
	/* An unknown material: the rest is still checked as far as it can be. */
	json_t *errors = create_bad(
	    LISTING_OFFER,
	    "{\"material\": \"unobtainium\", \"grade\": 5, \"quantity\": \"1,5\", \"unit\": 7,"
	    " \"price_vnd\": \"cheap\", \"price_unit\": [], \"province\": \"Atlantis\","
	    " \"commune\": 12, \"location\": {\"lat\": \"north\", \"lon\": 200},"
	    " \"available_from\": \"2026-02-30\", \"available_until\": \"soon\","
	    " \"min_order\": \"-1\", \"max_distance_km\": 0, \"note\": false,"
	    " \"forum\": \"Bad_Forum\"}",
	    "available_from,available_until,commune,forum,grade,location.lat,location.lon,"
	    "material,max_distance_km,min_order,note,price_unit,price_vnd,province,quantity,"
	    "unit");
	assert_contains(message_of(errors, "material"), "/v1/materials");
	assert_contains(message_of(errors, "quantity"), "số lượng");
	assert_contains(message_of(errors, "quantity"), "'.'");
	assert_contains(message_of(errors, "available_from"), "no such date");
	assert_contains(message_of(errors, "price_vnd"), "giá");
	json_decref(errors);

	/* A known material and every other field wrong against its scale. */
	errors = create_bad(
	    LISTING_NEED,
	    "{\"material\": \"clay\", \"grade\": \"6A\", \"quantity\": \"0\", \"unit\": \"lb\","
	    " \"price_vnd\": 0, \"price_unit\": \"m3\", \"province\": \"\","
	    " \"location\": [21, 105], \"needed_by\": \"2026-11-26\","
	    " \"accept_substitutes\": \"yes\", \"max_distance_km\": 5001,"
	    " \"forum\": \"-x\"}",
	    "accept_substitutes,forum,grade,location,max_distance_km,needed_by,price_unit,"
	    "price_vnd,province,quantity,unit");
	assert_contains(message_of(errors, "grade"), "A, B, C");
	assert_contains(message_of(errors, "unit"), "kg (kg), yen (yến), ta (tạ), tan (tấn)");
	assert_contains(message_of(errors, "needed_by"), "hạn cần: must be in the future");
	json_decref(errors);

	/* Nothing at all: each required field named. */
	json_decref(create_bad(LISTING_OFFER, "{}", "grade,material,price_vnd,province,quantity"));
	json_decref(create_bad(LISTING_NEED, "{}", "material,needed_by,province,quantity"));

	/* Not an object. */
	json_decref(create_bad(LISTING_NEED, "[1]", ""));
	json_t *body = load("{}");
	errors = NULL;
	assert_null(listing_from_request(LISTING_KIND_UNKNOWN, body, NOW, &errors));
	assert_int_equal(json_array_size(errors), 1);
	json_decref(errors);
	json_decref(body);
}

static void test_errors_are_appended(void **state)
{
	(void)state;
	/* An existing errors array is extended, not replaced. */
	json_t *errors = json_array(), *body = load("{\"material\": \"clay\", \"nope\": 1}");

	json_array_append_new(errors, json_pack("{s:s, s:s}", "field", "x", "message", "y"));
	assert_null(listing_from_request(LISTING_NEED, body, NOW, &errors));
	assert_string_equal(fields_of(errors), "needed_by,nope,province,quantity,x");
	json_decref(errors);
	json_decref(body);
}

static void test_unknown_and_other_kind_fields(void **state)
{
	(void)state;
	static const char need[] = "{\"material\": \"clay\", \"quantity\": 100, \"province\":"
				   " \"HN\", \"needed_by\": \"2026-12-01\", %s}";
	static const char offer[] = "{\"material\": \"clay\", \"grade\": \"A\", \"quantity\":"
				    " 100, \"price_vnd\": 5000, \"province\": \"HN\", %s}";
	char text[512];
	json_t *errors;

	snprintf(text, sizeof(text), need, "\"colour\": \"red\"");
	errors = create_bad(LISTING_NEED, text, "colour");
	assert_string_equal(message_of(errors, "colour"), "unknown field");
	json_decref(errors);

	snprintf(text, sizeof(text), offer, "\"needed_by\": \"2026-12-01\"");
	errors = create_bad(LISTING_OFFER, text, "needed_by");
	assert_contains(message_of(errors, "needed_by"), "only needs");
	json_decref(errors);

	snprintf(text, sizeof(text), offer, "\"accept_substitutes\": true");
	json_decref(create_bad(LISTING_OFFER, text, "accept_substitutes"));

	snprintf(text, sizeof(text), need, "\"min_order\": 5, \"available_until\": \"2027-01-01\"");
	errors = create_bad(LISTING_NEED, text, "available_until,min_order");
	assert_contains(message_of(errors, "min_order"), "only offers");
	json_decref(errors);

	/* Server-made members are not accepted from a client either. */
	snprintf(text, sizeof(text), need, "\"id\": \"n1\", \"kind\": \"offer\"");
	json_decref(create_bad(LISTING_NEED, text, "id,kind"));

	/* Unknown members inside location. */
	snprintf(text, sizeof(text), need,
		 "\"location\": {\"lat\": 21.0, \"lon\": 105.8, \"alt\": 10}");
	json_decref(create_bad(LISTING_NEED, text, "location.alt"));
	snprintf(text, sizeof(text), need, "\"location\": {\"lat\": 21.0}");
	json_decref(create_bad(LISTING_NEED, text, "location.lon"));
	snprintf(text, sizeof(text), need, "\"location\": {\"lat\": 30.0, \"lon\": 100}");
	errors = create_bad(LISTING_NEED, text, "location.lat,location.lon");
	assert_contains(message_of(errors, "location.lat"), "latitude outside Vietnam");
	assert_contains(message_of(errors, "location.lon"), "longitude outside Vietnam");
	json_decref(errors);
}

static void test_quantities(void **state)
{
	(void)state;
	static const char need[] = "{\"material\": \"%s\", \"quantity\": %s, \"unit\": \"%s\","
				   " \"province\": \"HN\", \"needed_by\": \"2026-12-01\"}";
	char text[512];
	json_t *errors, *doc;

	/* 0.0001 tấn is 0.1 kg: not a whole number of the base unit. */
	snprintf(text, sizeof(text), need, "clay", "\"0.0001\"", "tan");
	errors = create_bad(LISTING_NEED, text, "quantity");
	assert_contains(message_of(errors, "quantity"), "0.0001 tan is not a whole number of kg");
	json_decref(errors);

	/* 0.001 tấn is exactly 1 kg. */
	snprintf(text, sizeof(text), need, "clay", "\"0.001\"", "tan");
	doc = create_ok(LISTING_NEED, text);
	assert_int_equal(listing_quantity_base(doc), 1);
	json_decref(doc);

	/* A JSON real is refused, even one that looks exact: jansson has made
	 * it a double and its text is gone. The same quantity as a string or a
	 * JSON integer is fine. */
	static const char *const reals[] = {"12.5", "12.0", "1.0000000000000001", "0.1", "1e3"};
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		snprintf(text, sizeof(text), need, "clay", reals[i], "ta");
		errors = create_bad(LISTING_NEED, text, "quantity");
		assert_contains(message_of(errors, "quantity"),
				"send a quantity with a fraction as a string, e.g. \"12.5\"");
		assert_contains(message_of(errors, "quantity"), "not exact");
		json_decref(errors);
	}
	snprintf(text, sizeof(text), need, "clay", "\"12.5\"", "ta");
	doc = create_ok(LISTING_NEED, text);
	assert_int_equal(listing_quantity_base(doc), 1250);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(doc, "quantity"), "amount")), "12.5");
	json_decref(doc);
	snprintf(text, sizeof(text), need, "clay", "12", "ta");
	doc = create_ok(LISTING_NEED, text);
	assert_int_equal(listing_quantity_base(doc), 1200);
	json_decref(doc);

	/* Timber in m³, stored in dm³. */
	snprintf(text, sizeof(text), need, "timber_go_gu", "\"2.75\"", "m³");
	doc = create_ok(LISTING_NEED, text);
	assert_json(json_object_get(doc, "quantity"), "{\"amount\": \"2.75\", \"unit\": \"m3\","
						      " \"base\": 2750, \"base_unit\": \"dm3\"}");
	json_decref(doc);

	/* Zero, negative, too large, comma, not a number, a unit of another
	 * material, "tá" (a dozen) for "tạ". */
	const char *bad[][3] = {
	    {"clay", "0", "kg"},
	    {"clay", "\"-5\"", "kg"},
	    {"clay", "1000000001", "tan"},
	    {"clay", "\"1,5\"", "ta"},
	    {"clay", "true", "kg"},
	    {"clay", "\"\"", "kg"},
	    {"bamboo_tre", "\"1.5\"", "cay"},
	    {"clay", "5", "cay"},
	    {"clay", "5", "tá"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), need, bad[i][0], bad[i][1], bad[i][2]);
		json_decref(create_bad(LISTING_NEED, text, i >= 7 ? "unit" : "quantity"));
	}
}

static void test_grades(void **state)
{
	(void)state;
	static const char offer[] = "{\"material\": \"%s\", \"grade\": \"%s\", \"quantity\": 1,"
				    " \"price_vnd\": 100, \"province\": \"HN\"}";
	char text[512];
	json_t *errors, *doc;

	snprintf(text, sizeof(text), offer, "clay", "6A");
	errors = create_bad(LISTING_OFFER, text, "grade");
	assert_contains(message_of(errors, "grade"), "loại: '6A' is not a grade of clay");
	assert_contains(message_of(errors, "grade"), "A, B, C");
	json_decref(errors);

	snprintf(text, sizeof(text), offer, "silk_yarn", "6a");
	doc = create_ok(LISTING_OFFER, text);
	assert_string_equal(json_string_value(json_object_get(doc, "grade")), "6A");
	json_decref(doc);

	snprintf(text, sizeof(text), offer, "silver", "925");
	doc = create_ok(LISTING_OFFER, text);
	json_decref(doc);
	snprintf(text, sizeof(text), offer, "silver", "A");
	errors = create_bad(LISTING_OFFER, text, "grade");
	assert_contains(message_of(errors, "grade"), "999, 925");
	json_decref(errors);

	/* An offer needs a grade; a need may leave it out. */
	json_decref(create_bad(LISTING_OFFER,
			       "{\"material\": \"clay\", \"quantity\": 1, \"price_vnd\": 1,"
			       " \"province\": \"HN\"}",
			       "grade"));
}

static void test_provinces(void **state)
{
	(void)state;
	static const char need[] = "{\"material\": \"clay\", \"quantity\": 1, \"province\": \"%s\","
				   " \"needed_by\": \"2026-12-01\"}";
	char text[512];
	json_t *doc, *errors;

	snprintf(text, sizeof(text), need, "Hải Dương");
	doc = create_ok(LISTING_NEED, text);
	assert_string_equal(json_string_value(json_object_get(doc, "province")), "HP");
	assert_string_equal(json_string_value(json_object_get(doc, "province_input")), "Hải Dương");
	json_decref(doc);

	/* Decomposed input is stored NFC. */
	snprintf(text, sizeof(text), need, "Ha\xcc\x80 Ta\xcc\x82y");
	doc = create_ok(LISTING_NEED, text);
	assert_string_equal(json_string_value(json_object_get(doc, "province")), "HN");
	assert_string_equal(json_string_value(json_object_get(doc, "province_input")), "Hà Tây");
	json_decref(doc);

	snprintf(text, sizeof(text), need, "HP");
	doc = create_ok(LISTING_NEED, text);
	assert_null(json_object_get(doc, "province_input"));
	json_decref(doc);

	snprintf(text, sizeof(text), need, "Atlantis");
	errors = create_bad(LISTING_NEED, text, "province");
	assert_contains(message_of(errors, "province"), "/v1/provinces");
	json_decref(errors);
}

static void assert_time(const char *s, enum dates_edge edge, int64_t want)
{
	int64_t got = -1;
	const char *why = NULL;

	if (dates_parse(s, edge, &got, &why) != 0)
		fail_msg("%s: %s", s, why);
	if (got != want)
		fail_msg("%s: got %lld, want %lld", s, (long long)got, (long long)want);
}

static void assert_time_bad(const char *s, const char *want_why)
{
	int64_t got = -7;
	const char *why = NULL;

	if (dates_parse(s, DATES_DAY_END, &got, &why) == 0)
		fail_msg("%s accepted as %lld", s, (long long)got);
	assert_int_equal(got, -7);
	assert_contains(why, want_why);
}

static void test_time_parse(void **state)
{
	(void)state;
	char buf[DATES_BUF];

	/* A bare date is a day in Vietnam (UTC+7): its end for deadlines... */
	assert_time("2026-12-01", DATES_DAY_END, DEC1_END);
	dates_format(DEC1_END, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-01T16:59:59.999Z");
	/* ...its start (00:00 local = 17:00Z the day before) for available_from. */
	assert_time("2026-12-01", DATES_DAY_START, DEC1_END + 1 - INT64_C(86400000));
	dates_format(DEC1_END + 1 - INT64_C(86400000), buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-30T17:00:00.000Z");

	/* RFC 3339 with offsets: the same instant three ways. */
	assert_time("2026-12-01T08:00:00+07:00", DATES_DAY_END, DEC1_8AM);
	assert_time("2026-12-01T01:00:00Z", DATES_DAY_END, DEC1_8AM);
	assert_time("2026-11-30t19:30:00-05:30", DATES_DAY_END, DEC1_8AM);
	assert_time("2026-12-01T01:00:00.5z", DATES_DAY_END, DEC1_8AM + 500);
	assert_time("2026-12-01T01:00:00.123999+00:00", DATES_DAY_END, DEC1_8AM + 123);
	/* Across a year boundary. */
	assert_time("2026-12-31T23:30:00-05:30", DATES_DAY_END, INT64_C(1798779600000));
	/* Leap days, and the ends of the accepted range. */
	assert_time("2028-02-29", DATES_DAY_END, INT64_C(1835456399999));
	assert_time("2000-01-01", DATES_DAY_START, INT64_C(946659600000));
	assert_time("2100-12-31", DATES_DAY_START, INT64_C(4133869200000));

	assert_time_bad("2026-02-30", "no such date");
	assert_time_bad("2027-02-29", "no such date");
	assert_time_bad("2100-02-29", "no such date"); /* not a leap year */
	assert_time_bad("2026-13-01", "no such date");
	assert_time_bad("2026-04-31", "no such date");
	assert_time_bad("2026-00-10", "no such date");
	assert_time_bad("1999-12-31", "year");
	assert_time_bad("2101-01-01", "year");
	assert_time_bad("2026-12-01T24:00:00Z", "no such time");
	assert_time_bad("2026-12-01T08:60:00Z", "no such time");
	assert_time_bad("2026-12-01T08:00:60Z", "no such time");
	assert_time_bad("2026-12-01T08:00:00+24:00", "offset");
	const char *forms[] = {"2026-1-01",
			       "26-12-01",
			       "2026/12/01",
			       "2026-12-01T08:00",
			       "2026-12-01T08:00:00",
			       "2026-12-01 08:00:00Z",
			       "2026-12-01T08:00:00+0700",
			       "2026-12-01T08:00:00+7:00",
			       "2026-12-01T08:00:00.Z",
			       "2026-12-01T08:00:00.1234567890Z",
			       "2026-12-01Z",
			       "2026-12-01T08:00:00Zjunk",
			       " 2026-12-01",
			       "２０２６-12-01",
			       "",
			       "tomorrow"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		assert_time_bad(forms[i], "must be a date like 2026-12-01");

	dates_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	dates_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
	dates_format(INT64_C(951782400000), buf, sizeof(buf)); /* 2000-02-29 */
	assert_string_equal(buf, "2000-02-29T00:00:00.000Z");
}

static void test_request_dates(void **state)
{
	(void)state;
	static const char need[] = "{\"material\": \"clay\", \"quantity\": 1, \"province\": \"HN\","
				   " \"needed_by\": %s}";
	static const char offer[] = "{\"material\": \"clay\", \"grade\": \"A\", \"quantity\": 1,"
				    " \"price_vnd\": 100, \"province\": \"HN\", %s}";
	char text[512];
	json_t *errors, *doc;

	/* Yesterday, today's start (already past at NOW = 07:00 local), and the
	 * very instant of now: all past. Today as a date ends tonight: fine. */
	const char *past[] = {"\"2026-11-26\"", "\"2026-11-26T17:00:00Z\"",
			      "\"2026-11-27T00:00:00Z\"", "\"2026-02-30\"", "1796144399999"};
	for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
		snprintf(text, sizeof(text), need, past[i]);
		json_decref(create_bad(LISTING_NEED, text, "needed_by"));
	}
	snprintf(text, sizeof(text), need, "\"2026-11-27\"");
	doc = create_ok(LISTING_NEED, text);
	json_decref(doc);
	snprintf(text, sizeof(text), need, "\"2026-11-27T00:00:00.001Z\"");
	doc = create_ok(LISTING_NEED, text);
	json_decref(doc);

	/* Offers: until after from, and in the future. */
	snprintf(text, sizeof(text), offer,
		 "\"available_from\": \"2027-01-10\", \"available_until\": \"2027-01-05\"");
	errors = create_bad(LISTING_OFFER, text, "available_until");
	assert_contains(message_of(errors, "available_until"), "after available_from");
	json_decref(errors);
	snprintf(text, sizeof(text), offer, "\"available_until\": \"2026-11-20\"");
	errors = create_bad(LISTING_OFFER, text, "available_until");
	assert_contains(message_of(errors, "available_until"), "future");
	json_decref(errors);
	/* The same day: from its start to its end. */
	snprintf(text, sizeof(text), offer,
		 "\"available_from\": \"2027-01-10\", \"available_until\": \"2027-01-10\"");
	doc = create_ok(LISTING_OFFER, text);
	assert_int_equal(json_integer_value(json_object_get(doc, "available_until")) -
			     json_integer_value(json_object_get(doc, "available_from")),
			 INT64_C(86400000) - 1);
	json_decref(doc);
	/* available_from may lie in the past: available since then. */
	snprintf(text, sizeof(text), offer, "\"available_from\": \"2026-11-01\"");
	doc = create_ok(LISTING_OFFER, text);
	json_decref(doc);
}

static void test_min_order(void **state)
{
	(void)state;
	static const char offer[] = "{\"material\": \"clay\", \"grade\": \"A\", \"quantity\":"
				    " \"2\", \"unit\": \"tan\", \"price_vnd\": 100, \"province\":"
				    " \"HN\", \"min_order\": %s}";
	char text[512];
	json_t *errors, *doc;

	snprintf(text, sizeof(text), offer, "\"2.001\"");
	errors = create_bad(LISTING_OFFER, text, "min_order");
	assert_contains(message_of(errors, "min_order"), "must not exceed the quantity (2 tan)");
	json_decref(errors);

	snprintf(text, sizeof(text), offer, "\"2\"");
	doc = create_ok(LISTING_OFFER, text);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "min_order"), "base")), 2000);
	json_decref(doc);

	snprintf(text, sizeof(text), offer, "\"0.0005\"");
	json_decref(create_bad(LISTING_OFFER, text, "min_order"));
	snprintf(text, sizeof(text), offer, "0");
	json_decref(create_bad(LISTING_OFFER, text, "min_order"));
	/* A JSON real, even a whole one, is refused; a JSON integer is not. */
	snprintf(text, sizeof(text), offer, "1.5");
	errors = create_bad(LISTING_OFFER, text, "min_order");
	assert_contains(message_of(errors, "min_order"), "as a string");
	json_decref(errors);
	snprintf(text, sizeof(text), offer, "2.0");
	json_decref(create_bad(LISTING_OFFER, text, "min_order"));
	snprintf(text, sizeof(text), offer, "1");
	doc = create_ok(LISTING_OFFER, text);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(doc, "min_order"), "base")), 1000);
	json_decref(doc);
}

static void test_prices(void **state)
{
	(void)state;
	static const char need[] = "{\"material\": \"clay\", \"quantity\": \"5\", \"unit\": \"ta\","
				   " \"province\": \"HN\", \"needed_by\": \"2026-12-01\", %s}";
	char text[512];
	json_t *doc;

	/* A need's maximum defaults to the quantity's unit. */
	snprintf(text, sizeof(text), need, "\"price_vnd\": 250000");
	doc = create_ok(LISTING_NEED, text);
	assert_json(json_object_get(doc, "price"),
		    "{\"vnd\": 250000, \"unit\": \"ta\", \"factor\": 100}");
	json_decref(doc);

	snprintf(text, sizeof(text), need, "\"price_vnd\": 1000000000001");
	json_decref(create_bad(LISTING_NEED, text, "price_vnd"));
	snprintf(text, sizeof(text), need, "\"price_vnd\": 2500.5");
	json_decref(create_bad(LISTING_NEED, text, "price_vnd"));
	snprintf(text, sizeof(text), need, "\"price_vnd\": 1000000000000");
	doc = create_ok(LISTING_NEED, text);
	json_decref(doc);
	/* A price unit without a price. */
	snprintf(text, sizeof(text), need, "\"price_unit\": \"kg\"");
	json_decref(create_bad(LISTING_NEED, text, "price_unit"));
}

static void test_strings(void **state)
{
	(void)state;
	static const char need[] = "{\"material\": \"clay\", \"quantity\": 1, \"province\": \"HN\","
				   " \"needed_by\": \"2026-12-01\", \"%s\": \"%s\"}";
	char text[4400], big[3100];
	json_t *doc;

	memset(big, 'a', 2001);
	big[2001] = '\0';
	snprintf(text, sizeof(text), need, "note", big);
	json_decref(create_bad(LISTING_NEED, text, "note"));
	big[2000] = '\0';
	snprintf(text, sizeof(text), need, "note", big);
	doc = create_ok(LISTING_NEED, text);
	json_decref(doc);
	/* 2000 characters, not bytes: "đ" is two bytes. */
	big[0] = '\0';
	for (int i = 0; i < 1500; i++)
		strcat(big, "đ");
	snprintf(text, sizeof(text), need, "note", big);
	doc = create_ok(LISTING_NEED, text);
	json_decref(doc);

	snprintf(text, sizeof(text), need, "commune", "x\\ny");
	json_decref(create_bad(LISTING_NEED, text, "commune")); /* single line */
	memset(big, 'x', 101);
	big[101] = '\0';
	snprintf(text, sizeof(text), need, "commune", big);
	json_decref(create_bad(LISTING_NEED, text, "commune"));

	snprintf(text, sizeof(text), need, "forum", "a");
	doc = create_ok(LISTING_NEED, text);
	json_decref(doc);
	const char *bad_forums[] = {
	    "Forum", "-a", "a_b", "a b", "diễn-đàn", "a1234567890123456789012345678901234567890"};
	for (size_t i = 0; i < sizeof(bad_forums) / sizeof(bad_forums[0]); i++) {
		snprintf(text, sizeof(text), need, "forum", bad_forums[i]);
		json_decref(create_bad(LISTING_NEED, text, "forum"));
	}
	snprintf(text, sizeof(text), need, "forum", "a12345678901234567890123456789012345678-");
	doc = create_ok(LISTING_NEED, text); /* 40 characters */
	json_decref(doc);
}

/* ---- PATCH ------------------------------------------------------------ */

static json_t *stored_offer(void)
{
	json_t *doc = create_ok(
	    LISTING_OFFER,
	    "{\"material\": \"clay\", \"grade\": \"A\", \"quantity\": \"10\", \"unit\": \"tan\","
	    " \"price_vnd\": 2000000, \"province\": \"HN\", \"min_order\": \"2\","
	    " \"available_from\": \"2026-12-01\", \"available_until\": \"2027-03-31\","
	    " \"note\": \"Đất Trúc Thôn\", \"max_distance_km\": 300}");
	json_object_set_new(doc, "id", json_string("o1"));
	json_object_set_new(doc, "owner", json_string("a1"));
	json_object_set_new(doc, "created_at", json_integer(NOW - 1000));
	return doc;
}

static json_t *patch_ok(const json_t *doc, const char *text)
{
	json_t *body = load(text), *errors = NULL, *before = json_deep_copy(doc);
	json_t *out = listing_apply_patch(doc, body, NOW, &errors);

	if (out == NULL) {
		char *e = json_dumps(errors, 0);
		fprintf(stderr, "errors: %s\n", e);
		free(e);
		fail();
	}
	assert_null(errors);
	assert_true(json_equal((json_t *)doc, before)); /* the input is untouched */
	json_decref(before);
	json_decref(body);
	return out;
}

static json_t *patch_bad(const json_t *doc, const char *text, const char *want_fields)
{
	json_t *body = load(text), *errors = NULL;

	assert_null(listing_apply_patch(doc, body, NOW, &errors));
	assert_non_null(errors);
	assert_string_equal(fields_of(errors), want_fields);
	json_decref(body);
	return errors;
}

static void test_patch_allowed(void **state)
{
	(void)state;
	json_t *doc = stored_offer(), *out;

	/* A new quantity in another unit; min_order and price keep theirs. */
	out = patch_ok(doc, "{\"quantity\": \"120\", \"unit\": \"tạ\"}");
	assert_json(json_object_get(out, "quantity"), "{\"amount\": \"120\", \"unit\": \"ta\","
						      " \"base\": 12000, \"base_unit\": \"kg\"}");
	assert_json(json_object_get(out, "price"),
		    "{\"vnd\": 2000000, \"unit\": \"tan\", \"factor\": 1000}");
	assert_string_equal(json_string_value(json_object_get(out, "id")), "o1");
	assert_string_equal(json_string_value(json_object_get(out, "owner")), "a1");
	assert_int_equal(json_integer_value(json_object_get(out, "created_at")), NOW - 1000);
	assert_int_equal(listing_quantity_base(out), 12000);
	json_decref(out);

	/* Without unit: the stored unit (tấn). */
	out = patch_ok(doc, "{\"quantity\": 4}");
	assert_int_equal(listing_quantity_base(out), 4000);
	json_decref(out);

	/* Price alone keeps its unit; with a unit it takes that one. */
	out = patch_ok(doc, "{\"price_vnd\": 1900000}");
	assert_json(json_object_get(out, "price"),
		    "{\"vnd\": 1900000, \"unit\": \"tan\", \"factor\": 1000}");
	json_decref(out);
	out = patch_ok(doc, "{\"price_vnd\": 2100, \"price_unit\": \"kg\"}");
	assert_json(json_object_get(out, "price"),
		    "{\"vnd\": 2100, \"unit\": \"kg\", \"factor\": 1}");
	/* ...and a later price alone stays per kg, not per the quantity's tấn. */
	json_t *again = patch_ok(out, "{\"price_vnd\": 2200}");
	assert_json(json_object_get(again, "price"),
		    "{\"vnd\": 2200, \"unit\": \"kg\", \"factor\": 1}");
	json_decref(again);
	json_decref(out);

	/* null clears note, max_distance_km, min_order, available_until. */
	out = patch_ok(doc, "{\"note\": null, \"max_distance_km\": null, \"min_order\": null,"
			    " \"available_until\": null}");
	assert_null(json_object_get(out, "note"));
	assert_null(json_object_get(out, "max_distance_km"));
	assert_null(json_object_get(out, "min_order"));
	assert_null(json_object_get(out, "available_until"));
	assert_int_equal(listing_ends_at(out), 0);
	/* Everything else as stored. */
	assert_json(json_object_get(out, "quantity"), "{\"amount\": \"10\", \"unit\": \"tan\","
						      " \"base\": 10000, \"base_unit\": \"kg\"}");
	json_decref(out);

	/* Note, distance, dates, min_order replaced. */
	out = patch_ok(doc, "{\"note\": \"Mới\\nvề\", \"max_distance_km\": 50,"
			    " \"available_until\": \"2027-06-30T12:00:00+07:00\","
			    " \"min_order\": \"500\", \"unit\": \"kg\", \"quantity\": 9000}");
	assert_string_equal(json_string_value(json_object_get(out, "note")), "Mới\nvề");
	assert_int_equal(json_integer_value(json_object_get(out, "max_distance_km")), 50);
	assert_json(json_object_get(out, "min_order"),
		    "{\"amount\": \"500\", \"unit\": \"kg\", \"base\": 500}");
	char buf[DATES_BUF];
	dates_format(listing_ends_at(out), buf, sizeof(buf));
	assert_string_equal(buf, "2027-06-30T05:00:00.000Z");
	json_decref(out);

	/* available_from null: from now. */
	out = patch_ok(doc, "{\"available_from\": null}");
	assert_int_equal(json_integer_value(json_object_get(out, "available_from")), NOW);
	json_decref(out);
	json_decref(doc);

	/* A need: needed_by moves; its maximum price can be cleared. */
	doc = create_ok(LISTING_NEED, "{\"material\": \"rattan\", \"quantity\": 300,"
				      " \"price_vnd\": 20000, \"province\": \"HN\","
				      " \"needed_by\": \"2026-12-01\"}");
	out = patch_ok(doc, "{\"needed_by\": \"2027-03-31\", \"price_vnd\": null}");
	assert_int_equal(listing_ends_at(out), MAR31_END);
	assert_null(json_object_get(out, "price"));
	json_decref(out);
	json_decref(doc);
}

static void test_patch_refused(void **state)
{
	(void)state;
	json_t *doc = stored_offer(), *errors;

	errors = patch_bad(doc,
			   "{\"material\": \"kaolin\", \"grade\": \"B\", \"province\":"
			   " \"HP\", \"forum\": \"x\", \"kind\": \"need\", \"commune\": \"y\","
			   " \"location\": null}",
			   "commune,forum,grade,kind,location,material,province");
	assert_string_equal(message_of(errors, "material"),
			    "cannot be changed; close the listing and post a new one");
	json_decref(errors);

	errors = patch_bad(doc,
			   "{\"id\": \"o2\", \"status\": \"closed\", \"colour\": 1,"
			   " \"needed_by\": \"2027-01-01\"}",
			   "colour,id,needed_by,status");
	assert_contains(message_of(errors, "id"), "set by the server");
	assert_string_equal(message_of(errors, "colour"), "unknown field");
	assert_contains(message_of(errors, "needed_by"), "only needs");
	json_decref(errors);

	/* An empty patch, and one that is not an object. */
	errors = patch_bad(doc, "{}", "");
	assert_contains(message_of(errors, ""), "empty patch");
	json_decref(errors);
	json_decref(patch_bad(doc, "[]", ""));

	/* A unit without a quantity; a price unit without a price. */
	json_decref(patch_bad(doc, "{\"unit\": \"kg\"}", "unit"));
	json_decref(patch_bad(doc, "{\"price_unit\": \"kg\"}", "price_unit"));

	/* Same rules as creation: the new quantity under the stored minimum
	 * order, a new minimum above the stored quantity. */
	errors = patch_bad(doc, "{\"quantity\": \"1.5\"}", "quantity");
	assert_contains(message_of(errors, "quantity"), "below min_order (2 tan)");
	json_decref(errors);
	json_decref(patch_bad(doc, "{\"min_order\": \"10.5\"}", "min_order"));
	json_decref(patch_bad(doc, "{\"quantity\": null}", "quantity"));
	/* JSON reals, as on creation. */
	errors = patch_bad(doc, "{\"quantity\": 12.5, \"min_order\": 2.0}", "min_order,quantity");
	assert_contains(message_of(errors, "quantity"), "as a string");
	assert_contains(message_of(errors, "min_order"), "as a string");
	json_decref(errors);
	json_decref(patch_bad(doc, "{\"quantity\": \"0.0001\"}", "quantity"));
	json_decref(patch_bad(doc, "{\"price_vnd\": null}", "price_vnd"));
	json_decref(patch_bad(doc, "{\"price_vnd\": 0}", "price_vnd"));
	json_decref(patch_bad(doc, "{\"max_distance_km\": 9000}", "max_distance_km"));
	json_decref(patch_bad(doc, "{\"note\": 5}", "note"));
	/* Dates: until before the stored from; from after the stored until;
	 * until in the past. */
	json_decref(patch_bad(doc, "{\"available_until\": \"2026-11-30\"}", "available_until"));
	errors = patch_bad(doc, "{\"available_from\": \"2027-04-01\"}", "available_from");
	assert_contains(message_of(errors, "available_from"), "before available_until");
	json_decref(errors);
	json_decref(patch_bad(doc, "{\"available_until\": \"2026-11-01\"}", "available_until"));
	/* Several at once, all reported. */
	json_decref(patch_bad(doc, "{\"price_vnd\": -1, \"note\": 1, \"grade\": \"B\"}",
			      "grade,note,price_vnd"));
	json_decref(doc);

	/* A need: past needed_by, offer-only fields. */
	doc = create_ok(LISTING_NEED, "{\"material\": \"rattan\", \"quantity\": 300,"
				      " \"province\": \"HN\", \"needed_by\": \"2026-12-01\"}");
	json_decref(patch_bad(doc, "{\"needed_by\": \"2026-11-01\"}", "needed_by"));
	json_decref(patch_bad(doc, "{\"needed_by\": null}", "needed_by"));
	json_decref(patch_bad(doc, "{\"min_order\": 5, \"accept_substitutes\": true}",
			      "accept_substitutes,min_order"));
	json_decref(doc);
}

/* ---- search and view -------------------------------------------------- */

static void test_search_text(void **state)
{
	(void)state;
	json_t *doc =
	    create_ok(LISTING_NEED, "{\"material\": \"clay\", \"grade\": \"A\", \"quantity\": 1,"
				    " \"province\": \"Hải Dương\", \"commune\": \"Bát Tràng\","
				    " \"needed_by\": \"2026-12-01\","
				    " \"note\": \"Cần gấp,\\ngiao tại Đồng Kỵ\"}");
	char *key = listing_search_text(doc, "HTX Gốm Sứ Bát Tràng");
	char *key_no_owner = listing_search_text(doc, NULL);
	const char *finds[] = {"bat trang", "dong ky",		"dat set",
			       "clay",	    "ball clay",	"hai duong",
			       "hai phong", "can gap giao tai", "htx gom su"};

	for (size_t i = 0; i < sizeof(finds) / sizeof(finds[0]); i++)
		if (!text_contains_folded(key, finds[i]))
			fail_msg("'%s' not found in '%s'", finds[i], key);
	assert_false(text_contains_folded(key, "Bát")); /* keys are folded */
	assert_false(text_contains_folded(key, "kaolin"));
	assert_false(text_contains_folded(key_no_owner, "htx"));
	free(key);
	free(key_no_owner);
	json_decref(doc);

	/* Codes with '_' fold to words; a Vietnamese material name too. */
	doc = create_ok(LISTING_OFFER, "{\"material\": \"timber_go_gu\", \"grade\": \"B\","
				       " \"quantity\": 1, \"price_vnd\": 1, \"province\": \"BN\"}");
	key = listing_search_text(doc, "Đồng Kỵ");
	assert_true(text_contains_folded(key, "go gu"));
	assert_true(text_contains_folded(key, "timber go gu"));
	assert_true(text_contains_folded(key, "bac ninh"));
	assert_true(text_contains_folded(key, "dong ky"));
	free(key);
	json_decref(doc);
}

static void test_render(void **state)
{
	(void)state;
	json_t *doc = create_ok(
	    LISTING_NEED,
	    "{\"material\": \"clay\", \"quantity\": \"12.5\", \"unit\": \"ta\","
	    " \"price_vnd\": 2000000, \"price_unit\": \"tan\", \"province\": \"Hải Dương\","
	    " \"location\": {\"lat\": 20.975, \"lon\": 105.912}, \"needed_by\": \"2026-12-01\"}");
	json_object_set_new(doc, "id", json_string("n1"));
	json_object_set_new(doc, "created_at", json_integer(DEC1_8AM));

	json_t *view = listing_render(doc, "open", 450, 3);
	assert_string_equal(json_string_value(json_object_get(view, "status")), "open");
	assert_int_equal(json_integer_value(json_object_get(view, "version")), 3);
	assert_json(
	    json_object_get(view, "remaining"),
	    "{\"base\": 450, \"base_unit\": \"kg\", \"amount\": \"4.5\", \"unit\": \"ta\"}");
	assert_json(json_object_get(view, "allocated"),
		    "{\"base\": 800, \"amount\": \"8\", \"unit\": \"ta\"}");
	assert_json(
	    json_object_get(view, "material"),
	    "{\"code\": \"clay\", \"name\": \"Clay (ball clay)\", \"name_vi\": \"Đất sét\"}");
	assert_json(json_object_get(view, "province"),
		    "{\"code\": \"HP\", \"name\": \"Hải Phòng\"}");
	assert_string_equal(json_string_value(json_object_get(view, "needed_by")),
			    "2026-12-01T16:59:59.999Z");
	assert_string_equal(json_string_value(json_object_get(view, "created_at")),
			    "2026-12-01T01:00:00.000Z");
	assert_null(json_object_get(view, "updated_at"));
	/* Quantities and prices stay integers. */
	assert_json(json_object_get(view, "quantity"), "{\"amount\": \"12.5\", \"unit\": \"ta\","
						       " \"base\": 1250, \"base_unit\": \"kg\"}");
	assert_json(json_object_get(view, "price"),
		    "{\"vnd\": 2000000, \"unit\": \"tan\", \"factor\": 1000}");
	/* Location in degrees, micro-degrees not shown. */
	json_t *loc = json_object_get(view, "location");
	assert_int_equal(json_object_size(loc), 2);
	assert_true(json_is_real(json_object_get(loc, "lat")));
	assert_true(fabs(json_real_value(json_object_get(loc, "lat")) - 20.975) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(loc, "lon")) - 105.912) < 1e-9);
	assert_string_equal(json_string_value(json_object_get(view, "id")), "n1");
	assert_string_equal(json_string_value(json_object_get(view, "province_input")),
			    "Hải Dương");
	/* The stored document is untouched. */
	assert_true(json_is_integer(json_object_get(doc, "needed_by")));
	assert_string_equal(json_string_value(json_object_get(doc, "province")), "HP");
	json_decref(view);

	/* Fully allocated; nothing allocated; no status. */
	view = listing_render(doc, NULL, 0, 1);
	assert_null(json_object_get(view, "status"));
	assert_json(json_object_get(view, "remaining"),
		    "{\"base\": 0, \"base_unit\": \"kg\", \"amount\": \"0\", \"unit\": \"ta\"}");
	assert_json(json_object_get(view, "allocated"),
		    "{\"base\": 1250, \"amount\": \"12.5\", \"unit\": \"ta\"}");
	json_decref(view);
	view = listing_render(doc, "closed", 1250, 2);
	assert_json(json_object_get(view, "allocated"),
		    "{\"base\": 0, \"amount\": \"0\", \"unit\": \"ta\"}");
	json_decref(view);
	/* 7 kg of a quantity kept in tạ is 0.07 tạ: still exact. */
	view = listing_render(doc, "open", 7, 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(view, "remaining"), "amount")),
	    "0.07");
	json_decref(view);
	json_decref(doc);

	/* An offer's dates. */
	doc = stored_offer();
	view = listing_render(doc, "open", 10000, 1);
	assert_string_equal(json_string_value(json_object_get(view, "available_from")),
			    "2026-11-30T17:00:00.000Z");
	assert_string_equal(json_string_value(json_object_get(view, "available_until")),
			    "2027-03-31T16:59:59.999Z");
	assert_json(
	    json_object_get(view, "remaining"),
	    "{\"base\": 10000, \"base_unit\": \"kg\", \"amount\": \"10\", \"unit\": \"tan\"}");
	json_decref(view);
	json_decref(doc);
}

static void test_accessors_on_odd_docs(void **state)
{
	(void)state;
	json_t *doc = load("{}");
	char *key = listing_search_text(doc, NULL);

	assert_int_equal(listing_quantity_base(doc), -1);
	assert_int_equal(listing_ends_at(doc), 0);
	assert_int_equal(listing_kind_of(doc), LISTING_KIND_UNKNOWN);
	assert_string_equal(key, "");
	free(key);
	json_t *view = listing_render(doc, "open", 0, 1);
	assert_non_null(view);
	json_decref(view);
	json_t *body = load("{\"note\": \"x\"}"), *errors = NULL;
	assert_null(listing_apply_patch(doc, body, NOW, &errors));
	assert_int_equal(json_array_size(errors), 1);
	json_decref(errors);
	json_decref(body);
	json_decref(doc);
}

/* after_forum: only with a forum, market (the default) or close. */
static void test_after_forum(void **state)
{
	(void)state;
	const char *base = "{\"material\": \"clay\", \"quantity\": \"5\", \"unit\": \"tan\","
			   " \"province\": \"HN\", \"needed_by\": \"2026-12-01\"";
	char text[512];
	snprintf(text, sizeof(text),
		 "%s, \"forum\": \"dien-dan-2026\", \"after_forum\": \"close\"}", base);
	json_t *doc = create_ok(LISTING_NEED, text);
	assert_string_equal(json_string_value(json_object_get(doc, "after_forum")), "close");
	json_decref(doc);
	snprintf(text, sizeof(text), "%s}", base);
	doc = create_ok(LISTING_NEED, text);
	assert_null(json_object_get(doc, "after_forum")); /* no forum: nothing to say */
	json_decref(doc);
	const char *bad[] = {", \"after_forum\": \"close\"}",
			     ", \"forum\": \"dien-dan-2026\", \"after_forum\": \"keep\"}",
			     ", \"forum\": \"dien-dan-2026\", \"after_forum\": 1}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, bad[i]);
		json_decref(create_bad(LISTING_NEED, text, "after_forum"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kind_names),
	    cmocka_unit_test(test_after_forum),
	    cmocka_unit_test(test_need_full),
	    cmocka_unit_test(test_need_minimal_defaults),
	    cmocka_unit_test(test_offer_full),
	    cmocka_unit_test(test_every_field_wrong),
	    cmocka_unit_test(test_errors_are_appended),
	    cmocka_unit_test(test_unknown_and_other_kind_fields),
	    cmocka_unit_test(test_quantities),
	    cmocka_unit_test(test_grades),
	    cmocka_unit_test(test_provinces),
	    cmocka_unit_test(test_time_parse),
	    cmocka_unit_test(test_request_dates),
	    cmocka_unit_test(test_min_order),
	    cmocka_unit_test(test_prices),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_patch_allowed),
	    cmocka_unit_test(test_patch_refused),
	    cmocka_unit_test(test_search_text),
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_accessors_on_odd_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
