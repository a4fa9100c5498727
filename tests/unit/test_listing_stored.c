/*
 * Unit tests for a stored listing: PATCH applied to it (common/listing.c)
 * and the document read back (common/listing_doc.c): its search key, the
 * API view and the accessors on odd documents. Creation is in
 * test_listing.c.
 */
#include "listing_kit.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_patch_allowed),	  cmocka_unit_test(test_patch_refused),
	    cmocka_unit_test(test_search_text),		  cmocka_unit_test(test_render),
	    cmocka_unit_test(test_accessors_on_odd_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
