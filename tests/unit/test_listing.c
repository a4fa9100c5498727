/*
 * Unit tests for common/listing.c: need and offer bodies to stored
 * documents, every error at once, the kind's dates checked against "now".
 * Hand-made cases; expected values worked out by hand (and the epoch
 * milliseconds checked against an independent calendar). PATCH and the
 * stored document read back are in test_listing_stored.c, the date parser
 * in test_dates.c.
 */
#include "listing_kit.h"

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
	    cmocka_unit_test(test_request_dates),
	    cmocka_unit_test(test_min_order),
	    cmocka_unit_test(test_prices),
	    cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
