/*
 * fuzz_listing — common/listing: POST and PATCH bodies of needs and offers.
 *
 * Input: a request body, parsed as the server parses it (json_loadb with
 * JSON_REJECT_DUPLICATES). It goes to listing_from_request() as a need and
 * as an offer, and to listing_apply_patch() against a valid stored need and
 * a valid stored offer, all at a fixed "now". Every document that comes
 * back is rendered (listing_render) and given its search key, as the
 * server does before storing and replying.
 *
 * Checked beyond "no crash": a document or errors, never both or neither;
 * every error has a field and a message; a created document has the kind
 * asked for and a quantity; a patch keeps the kind and material.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/listing.h"
#include "common/units.h"
#include "tests/fuzz/fuzz.h"

/* 2026-11-27T00:00:00Z, as in tests/unit/listing_kit.h. */
#define FUZZ_NOW INT64_C(1795737600000)

static const char fuzz_stored_need[] =
    "{\"material\": \"clay\", \"grade\": \"B\", \"quantity\": \"12.5\", \"unit\": \"ta\","
    " \"price_vnd\": 2000000, \"price_unit\": \"tan\", \"province\": \"Hải Dương\","
    " \"commune\": \"Bát Tràng\", \"location\": {\"lat\": 20.975, \"lon\": 105.912},"
    " \"needed_by\": \"2026-12-01\", \"max_distance_km\": 300, \"accept_substitutes\": true,"
    " \"note\": \"Đất sét trắng\", \"forum\": \"dien-dan-2026\"}";
static const char fuzz_stored_offer[] =
    "{\"material\": \"kaolin\", \"grade\": \"A\", \"quantity\": 3, \"unit\": \"tan\","
    " \"price_vnd\": 1500000, \"province\": \"Yên Bái\", \"available_from\": \"2026-11-28\","
    " \"available_until\": \"2027-03-31\", \"min_order\": \"0.5\", \"max_distance_km\": 500,"
    " \"note\": \"Cao lanh Yên Bái\"}";

/* A stored document as the server keeps it: created, then id, owner and
 * timestamps added. New reference; aborts when the fixture is refused. */
static json_t *fuzz_listing_stored(enum listing_kind kind, const char *text)
{
	json_t *body = json_loads(text, JSON_REJECT_DUPLICATES, NULL), *errors = NULL;
	json_t *doc = listing_from_request(kind, body, FUZZ_NOW, &errors);

	fuzz_check(doc != NULL && errors == NULL, "the stored listing fixture is refused");
	json_object_set_new(doc, "id", json_string("L0000000000000001"));
	json_object_set_new(doc, "owner", json_string("A0000000000000001"));
	json_object_set_new(doc, "created_at", json_integer(FUZZ_NOW - 1000));
	json_object_set_new(doc, "updated_at", json_integer(FUZZ_NOW - 1000));
	json_decref(body);
	return doc;
}

/* What the server does with an accepted document before it answers. */
static void fuzz_listing_use(const json_t *doc)
{
	int64_t base = listing_quantity_base(doc);
	json_t *view;
	char *key;

	fuzz_check(base >= 1 && base <= UNITS_MAX_BASE,
		   "accepted listing without a valid quantity");
	view = listing_render(doc, "open", base / 2, 1);
	fuzz_check(json_is_object(view), "listing_render() returned no object");
	json_decref(view);
	key = listing_search_text(doc, "Hợp tác xã Bát Tràng");
	fuzz_check(key != NULL, "listing_search_text() returned NULL");
	free(key);
	(void)listing_ends_at(doc);
}

static void fuzz_listing_create(enum listing_kind kind, const json_t *body)
{
	json_t *errors = NULL;
	json_t *doc = listing_from_request(kind, body, FUZZ_NOW, &errors);

	fuzz_check_errors(doc, errors, 0);
	if (doc != NULL) {
		fuzz_check(listing_kind_of(doc) == kind, "created listing of the wrong kind");
		fuzz_listing_use(doc);
	}
	json_decref(doc);
	json_decref(errors);
}

static void fuzz_listing_patch(const json_t *stored, const json_t *body)
{
	json_t *errors = NULL;
	json_t *doc = listing_apply_patch(stored, body, FUZZ_NOW, &errors);

	fuzz_check_errors(doc, errors, 0);
	if (doc != NULL) {
		fuzz_check(listing_kind_of(doc) == listing_kind_of(stored),
			   "a patch changed the kind");
		fuzz_check(json_equal(json_object_get(doc, "material"),
				      json_object_get(stored, "material")),
			   "a patch changed the material");
		fuzz_listing_use(doc);
	}
	json_decref(doc);
	json_decref(errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Built once, never changed: every input sees the same stored pair.
	 * Still reachable at exit, so LeakSanitizer does not count them. */
	static json_t *need, *offer;
	json_error_t err;
	json_t *body;

	if (need == NULL) {
		need = fuzz_listing_stored(LISTING_NEED, fuzz_stored_need);
		offer = fuzz_listing_stored(LISTING_OFFER, fuzz_stored_offer);
	}
	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	if (body == NULL)
		return 0;

	fuzz_listing_create(LISTING_NEED, body);
	fuzz_listing_create(LISTING_OFFER, body);
	fuzz_listing_create(LISTING_KIND_UNKNOWN, body);
	fuzz_listing_patch(need, body);
	fuzz_listing_patch(offer, body);

	json_decref(body);
	return 0;
}
