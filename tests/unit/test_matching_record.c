/*
 * Unit tests for common/matching_record.c: the candidate built from a stored
 * document and the engine's one-line record, encoded and decoded.
 */
#include "matching_kit.h"
#include <inttypes.h>
#include <stdio.h>

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
	/* A million of them in memory: two ids, three pointers (material,
	 * province, the owner's reputation), nine int64s and 16 bytes of
	 * small fields. */
	assert_true(sizeof(struct matching_listing) <= 176);
}

/* The record is the text snprintf wrote before it was written by hand, and fits as it did. */
static void test_record_text(void **state)
{
	(void)state;
	struct matching_listing a = need("lst_need", 1250),
				b = offer("lst_offer", 8000, 1500000, 1000);
	a.grade_rank = -1;
	a.price_vnd = INT64_MAX;
	a.needed_by_ms = INT64_MIN;
	a.lat_udeg = INT32_MIN;
	a.lon_udeg = -1;
	a.has_location = 1;
	b.grade_rank = 3;
	b.max_distance_km = INT32_MAX;
	b.min_order_base = 0;
	const struct matching_listing *all[] = {&a, &b};
	for (size_t i = 0; i < 2; i++) {
		const struct matching_listing *l = all[i];
		char want[MATCHING_RECORD_MAX], got[MATCHING_RECORD_MAX];
		int n = snprintf(
		    want, sizeof(want),
		    "m1 %u %s %s %d %u %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
		    " %" PRId64 " %" PRId32 " %u %" PRId32 " %" PRId32 " %s %s",
		    (unsigned)l->kind, l->material->code, l->province->code, (int)l->grade_rank,
		    (unsigned)l->accept_substitutes, l->price_vnd, l->price_factor, l->needed_by_ms,
		    l->available_from_ms, l->available_until_ms, l->min_order_base,
		    l->max_distance_km, (unsigned)l->has_location, l->lat_udeg, l->lon_udeg, l->id,
		    l->owner);
		assert_true(n > 0 && (size_t)n < sizeof(want));
		assert_int_equal(matching_listing_encode(l, got, sizeof(got)), 0);
		assert_string_equal(got, want);
		/* every size: refused exactly when the text and its NUL do not fit */
		for (size_t len = 0; len <= (size_t)n + 2; len++)
			assert_int_equal(matching_listing_encode(l, got, len),
					 len > (size_t)n ? 0 : -1);
	}
}

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_doc),
	    cmocka_unit_test(test_listing_is_compact),
	    cmocka_unit_test(test_record_text),
	    cmocka_unit_test(test_record_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
