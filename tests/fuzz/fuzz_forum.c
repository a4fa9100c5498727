/*
 * fuzz_forum — common/forum: POST and PATCH /v1/forums bodies.
 *
 * Input: a request body, parsed as the server parses it (json_loadb with
 * JSON_REJECT_DUPLICATES), then forum_from_request(); an accepted document
 * is then patched with the same body, as forums_patch() would.
 *
 * Checked beyond "no crash": a document or errors, never both or neither;
 * every error has a field and a message; an accepted document's id passes
 * forum_id_ok() (it becomes part of a Redis key), it has provinces, its
 * province list round-trips through forum_provinces_csv(), and its days are
 * in order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/forum.h"
#include "tests/fuzz/fuzz.h"

static void fuzz_forum_use(const json_t *doc, const json_t *body)
{
	char csv[256];
	const char *id = json_string_value(json_object_get(doc, "id"));
	fuzz_check(id && forum_id_ok(id), "accepted forum id that may not be a key");
	fuzz_check(json_array_size(json_object_get(doc, "provinces")) > 0,
		   "accepted forum without provinces");
	forum_provinces_csv(doc, csv, sizeof(csv));
	fuzz_check(strlen(csv) > 0, "provinces_csv empty");
	fuzz_check(forum_has_province(doc, json_string_value(json_array_get(
					       json_object_get(doc, "provinces"), 0))),
		   "forum_has_province() misses the first province");
	const char *opens = json_string_value(json_object_get(doc, "registration_opens"));
	const char *closes = json_string_value(json_object_get(doc, "registration_closes"));
	const char *day = json_string_value(json_object_get(doc, "forum_day"));
	fuzz_check(opens && closes && day && strcmp(opens, closes) <= 0 && strcmp(closes, day) <= 0,
		   "accepted forum days out of order");
	json_t *errors = NULL;
	json_t *next = forum_apply_patch(doc, body, &errors);
	fuzz_check_errors(next, errors, 0);
	json_decref(next);
	json_decref(errors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *body, *doc, *errors = NULL;
	json_error_t err;

	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	if (body != NULL) {
		doc = forum_from_request(body, &errors);
		fuzz_check_errors(doc, errors, 0);
		if (doc != NULL)
			fuzz_forum_use(doc, body);
		json_decref(doc);
		json_decref(errors);
		json_decref(body);
	}
	return 0;
}
