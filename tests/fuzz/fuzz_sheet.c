/*
 * fuzz_sheet — common/sheet: the rows of POST /v1/imports.
 *
 * Input: one byte choosing the kind (accounts, needs, offers) and the row
 * limit (1..64), then the file as sent. sheet_parse() reads it (libcsv);
 * each row's body goes through the validator of its JSON route at a fixed
 * now, as server/api/import_run.c does, and validator errors become row
 * errors (sheet_row_errors).
 *
 * Checked beyond "no crash": a sheet or refusal errors, never both or
 * neither, each refusal with a field and a message; at most the row limit;
 * rows numbered upward from 2; every row error has the row's number, a
 * message in both languages, and a column only when the kind has one for
 * its field; a row key, when read, is a C string of at most 100 characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/account.h"
#include "common/fields.h"
#include "common/listing.h"
#include "common/sheet.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_NOW_MS 1796000000000LL /* 2026-11-30 */

static void fuzz_row(struct sheet *s, struct sheet_row *row)
{
	json_t *errors = NULL, *doc;

	if (s->kind == SHEET_ACCOUNTS)
		doc = account_from_request(row->body, &errors);
	else
		doc = listing_from_request(s->kind == SHEET_NEEDS ? LISTING_NEED : LISTING_OFFER,
					   row->body, FUZZ_NOW_MS, &errors);
	fuzz_check_errors(doc, errors, 0);
	json_decref(doc);
	if (errors)
		sheet_row_errors(s, row, errors);
	size_t i;
	json_t *e;
	json_array_foreach(row->errors, i, e)
	{
		const char *field = json_string_value(json_object_get(e, "field"));
		const char *column = json_string_value(json_object_get(e, "column"));
		fuzz_check(json_integer_value(json_object_get(e, "row")) == (json_int_t)row->row,
			   "a row error with another row's number");
		fuzz_check(field != NULL, "a row error without a field");
		fuzz_check(json_string_length(json_object_get(e, "message")) > 0 &&
			       json_string_length(json_object_get(e, "message_vi")) > 0,
			   "a row error without its messages");
		if (column && strcmp(field, "row_key") && strcmp(field, "forum") && *field)
			fuzz_check(sheet_column_of(s->kind, field) != NULL &&
				       strcmp(sheet_column_of(s->kind, field), column) == 0,
				   "a row error names a column its field does not have");
	}
	if (row->key)
		fuzz_check(fields_chars(row->key) >= 1 &&
			       fields_chars(row->key) <= SHEET_ROW_KEY_MAX,
			   "a row key out of bounds");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	enum sheet_kind kind = (enum sheet_kind)(data[0] % 3);
	size_t max_rows = 1 + (size_t)(data[0] / 3) % 64;
	json_t *errors = NULL;
	struct sheet *s = sheet_parse(kind, (const char *)data + 1, size - 1, max_rows, &errors);

	fuzz_check((s == NULL) == (errors != NULL), "a sheet and refusal errors, or neither");
	if (s == NULL) {
		fuzz_check_errors(NULL, errors, 0);
		json_decref(errors);
		return 0;
	}
	fuzz_check(s->nrows <= max_rows, "more rows than the limit");
	for (size_t i = 0; i < s->nrows; i++) {
		fuzz_check(s->rows[i].row >= 2 && (i == 0 || s->rows[i].row > s->rows[i - 1].row),
			   "rows out of order");
		fuzz_row(s, &s->rows[i]);
	}
	sheet_free(s);
	return 0;
}
