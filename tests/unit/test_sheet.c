/*
 * Unit tests for common/sheet: reading a registration sheet (CSV, libcsv)
 * into the request bodies of the JSON routes, and refusing what is not one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/account.h"
#include "common/listing.h"
#include "common/sheet.h"

#define NOW_MS 1796000000000LL /* 2026-11-30, before the template's dates */

static struct sheet *parse(enum sheet_kind kind, const char *text, size_t max_rows)
{
	json_t *errors = NULL;
	struct sheet *s = sheet_parse(kind, text, strlen(text), max_rows, &errors);
	if (s == NULL) {
		char *e = json_dumps(errors, 0);
		print_error("refused: %s\n", e);
		free(e);
		json_decref(errors);
	}
	assert_non_null(s);
	return s;
}

/* The field of the first refusal error, or NULL when the file was read. */
static char *refusal(enum sheet_kind kind, const char *text, size_t len, size_t max_rows)
{
	json_t *errors = NULL;
	struct sheet *s = sheet_parse(kind, text, len, max_rows, &errors);
	if (s) {
		sheet_free(s);
		return NULL;
	}
	assert_true(json_array_size(errors) > 0);
	char *f = strdup(json_string_value(json_object_get(json_array_get(errors, 0), "field")));
	json_decref(errors);
	return f;
}

static void assert_body(const struct sheet_row *row, const char *json)
{
	json_t *want = json_loads(json, 0, NULL);
	assert_non_null(want);
	if (!json_equal(row->body, want)) {
		char *got = json_dumps(row->body, JSON_SORT_KEYS);
		print_error("row %zu: %s\n  want %s\n", row->row, got, json);
		free(got);
		fail();
	}
	json_decref(want);
}

static void test_template_is_a_valid_sheet(void **state)
{
	for (int k = SHEET_ACCOUNTS; k <= SHEET_OFFERS; k++) {
		size_t len;
		char *text = sheet_template((enum sheet_kind)k, &len);
		assert_memory_equal(text, "\xEF\xBB\xBF", 3);
		assert_int_equal(strlen(text), len);
		struct sheet *s = parse((enum sheet_kind)k, text, 10);
		assert_int_equal(s->nrows, 1);
		assert_int_equal(s->rows[0].row, 2);
		assert_non_null(s->rows[0].key);
		assert_null(s->rows[0].errors);
		json_t *errors = NULL, *doc;
		if (k == SHEET_ACCOUNTS)
			doc = account_from_request(s->rows[0].body, &errors);
		else
			doc = listing_from_request(k == SHEET_NEEDS ? LISTING_NEED : LISTING_OFFER,
						   s->rows[0].body, NOW_MS, &errors);
		assert_null(errors);
		assert_non_null(doc);
		json_decref(doc);
		sheet_free(s);
		free(text);
	}
}

static void test_cells_become_the_json_bodies(void **state)
{
	/* headers folded (accents, case, punctuation) or JSON names; quoting; a
	 * semicolon sheet; Vietnamese numbers, yes/no and roles */
	struct sheet *s =
	    parse(SHEET_NEEDS,
		  "khoa dong;VẬT LIỆU;quantity;Đơn giá (vnd);Nhận vật liệu thay "
		  "thế;Vĩ độ;Ghi chú;province;Cần trước ngày\n"
		  "n1;kaolin;12,5;2.400.000;có;20,9755;\"một; hai \"\"ba\"\"\nbốn\";;\n"
		  "n2;clay;1000;1,200,000;không;x;;;\n",
		  10);
	assert_int_equal(s->nrows, 2);
	assert_string_equal(s->rows[0].key, "n1");
	assert_body(&s->rows[0],
		    "{\"material\": \"kaolin\", \"quantity\": \"12.5\", \"price_vnd\": "
		    "2400000, \"accept_substitutes\": true, \"location\": {\"lat\": "
		    "20.9755}, \"note\": \"một; hai \\\"ba\\\"\\nbốn\"}");
	assert_int_equal(s->rows[1].row, 3); /* a line break in a quoted cell is no new row */
	assert_body(&s->rows[1], "{\"material\": \"clay\", \"quantity\": \"1000\", \"price_vnd\": "
				 "1200000, \"accept_substitutes\": false, \"location\": {\"lat\": "
				 "\"x\"}}");
	sheet_free(s);

	s = parse(SHEET_ACCOUNTS,
		  "\xEF\xBB\xBFKhóa dòng,Vai trò,Tên,Điện thoại,Phạm vi tỉnh\r\n"
		  "a1,Làng nghề,Làng A,0912,\r\n"
		  ",,,,\r\n"
		  "a2,điều phối viên,Trung tâm,,\"HN; NB\"\r\n",
		  10);
	assert_int_equal(s->nrows, 2); /* the empty row is skipped, and counted */
	assert_body(
	    &s->rows[0],
	    "{\"role\": \"village\", \"name\": \"Làng A\", \"contact\": {\"phone\": \"0912\"}}");
	assert_int_equal(s->rows[1].row, 4);
	assert_body(&s->rows[1], "{\"role\": \"moderator\", \"name\": \"Trung tâm\", \"scope\": "
				 "{\"provinces\": [\"HN\", \"NB\"]}}");
	sheet_free(s);
}

static void test_row_errors(void **state)
{
	struct sheet *s = parse(SHEET_ACCOUNTS,
				"Khóa dòng,Vai trò,Tên,\n"
				"k1,village,A,\n"
				",village,B\n"
				"k1,village,C\n"
				"k3,village,D,extra\n",
				10);
	assert_int_equal(s->nrows, 4);
	assert_null(s->rows[0].errors);
	const char *want[][2] = {{"Khóa dòng", "row_key"}, {"Khóa dòng", "row_key"}, {NULL, ""}};
	for (size_t i = 1; i < 4; i++) {
		json_t *e = json_array_get(s->rows[i].errors, 0);
		assert_non_null(e);
		assert_int_equal(json_integer_value(json_object_get(e, "row")), i + 2);
		const char *col = json_string_value(json_object_get(e, "column"));
		if (want[i - 1][0])
			assert_string_equal(col, want[i - 1][0]);
		else
			assert_null(col);
		assert_string_equal(json_string_value(json_object_get(e, "field")), want[i - 1][1]);
		assert_true(json_string_length(json_object_get(e, "message_vi")) > 0);
	}
	assert_non_null(strstr(
	    json_string_value(json_object_get(json_array_get(s->rows[2].errors, 0), "message")),
	    "row 2"));
	/* validator errors name their column */
	json_t *errors = NULL;
	json_t *bad = json_pack("{s:s}", "role", "x");
	assert_null(account_from_request(bad, &errors));
	json_decref(bad);
	sheet_row_errors(s, &s->rows[0], errors);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(s->rows[0].errors, 0), "column")),
	    "Vai trò");
	assert_string_equal(sheet_column_of(SHEET_ACCOUNTS, "contact.phone"), "Điện thoại");
	assert_string_equal(sheet_column_of(SHEET_NEEDS, "location"), "Vĩ độ");
	assert_null(sheet_column_of(SHEET_NEEDS, "contact.phone"));
	sheet_free(s);
}

static void test_files_refused_whole(void **state)
{
	static const struct {
		const char *text;
		const char *field;
	} cases[] = {
	    {"", "file"},
	    {"\xEF\xBB\xBF", "file"},
	    {"Kh\xf3"
	     "a d\xf2"
	     "ng,T\xea"
	     "n\n",
	     "file"},						    /* Latin-1 */
	    {"Khóa dòng,Vai trò,Tên,Màu\nk,village,A,đỏ\n", "Màu"}, /* unknown */
	    {"Khóa dòng,Vai trò,Tên,Tên\n", "Tên"},		    /* twice */
	    {"Khóa dòng,Tên\n", "Vai trò"},			    /* missing */
	    {"Khóa dòng,Vai trò,Tên\n\"k1,village,A\n", "file"},    /* unclosed quote */
	    {"Khóa dòng,Vai trò,Tên\nk\"1,village,A\n", "file"},    /* a stray quote */
	    {"Khóa dòng,Vai trò,Tên\nk1,village,A\nk2,village,B\nk3,village,C\n", "file"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *f = refusal(SHEET_ACCOUNTS, cases[i].text, strlen(cases[i].text), 2);
		if (f == NULL || strcmp(f, cases[i].field) != 0) {
			print_error("case %zu: refused at %s, want %s\n", i, f ? f : "(read)",
				    cases[i].field);
			fail();
		}
		free(f);
	}
	/* a NUL byte is not text */
	char *f = refusal(SHEET_ACCOUNTS, "Khóa dòng,Vai trò,Tên\nk\0,v,A\n", 28, 10);
	assert_string_equal(f, "file");
	free(f);
	/* a needs column is unknown in an accounts sheet */
	const char *needs_col = "Khóa dòng,Vai trò,Tên,Vật liệu\n";
	f = refusal(SHEET_ACCOUNTS, needs_col, strlen(needs_col), 10);
	assert_string_equal(f, "Vật liệu");
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template_is_a_valid_sheet),
	    cmocka_unit_test(test_cells_become_the_json_bodies),
	    cmocka_unit_test(test_row_errors),
	    cmocka_unit_test(test_files_refused_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
