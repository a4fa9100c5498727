/*
 * Unit tests for common/csvout: quoting by RFC 4180, cells of every JSON
 * type, the formula guard, the column paths of nested rows, and a property:
 * random rows written and read back by a strict RFC 4180 reader are the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/csvout.h"
#include "common/xalloc.h"

struct text {
	char *s;
	size_t len, cap;
};

static void text_sink(void *arg, const char *data, size_t len)
{
	struct text *t = arg;
	if (t->len + len + 1 > t->cap) {
		t->cap = (t->len + len + 1) * 2;
		t->s = xrealloc(t->s, t->cap);
	}
	memcpy(t->s + t->len, data, len);
	t->len += len;
	t->s[t->len] = '\0';
}

static char *field_text(const char *s)
{
	struct text t = {0};
	text_sink(&t, "", 0);
	csvout_field(text_sink, &t, s, strlen(s));
	return t.s;
}

static void test_field_quoting(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", ""},
	    {"plain", "plain"},
	    {"Bát Tràng", "Bát Tràng"},
	    {"a,b", "\"a,b\""},
	    {"say \"hi\"", "\"say \"\"hi\"\"\""},
	    {"\"", "\"\"\"\""},
	    {"line\nbreak", "\"line\nbreak\""},
	    {"cr\rhere", "\"cr\rhere\""},
	    {"crlf\r\n", "\"crlf\r\n\""},
	    {" spaces kept ", " spaces kept "},
	    {"semi;colon", "semi;colon"},
	    {"'quote", "'quote"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = field_text(cases[i].in);
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("field %zu: got [%s], want [%s]", i, got, cases[i].out);
		free(got);
	}
}

static const struct csvout_column cols[] = {
    {"id", "id", "Mã, số"},	   {"name", "owner.name", NULL}, {"base", "quantity.base", NULL},
    {"lat", "location.lat", NULL}, {"flag", "flag", NULL},	 {"none", "nothing", NULL},
    {"null", "gone", NULL},	   {"list", "list", NULL},	 {"deep", "owner.name.more", NULL},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static void test_row_cells(void **state)
{
	(void)state;
	json_t *row = json_pack("{s:s, s:{s:s}, s:{s:I}, s:{s:f}, s:b, s:n, s:[s,i]}", "id",
				"lst_1", "owner", "name", "Hợp tác xã \"Gốm\", Bát Tràng",
				"quantity", "base", (json_int_t)-1200, "location", "lat", 21.0285,
				"flag", 1, "gone", "list", "a,b", 2);
	struct text t = {0};
	csvout_header(text_sink, &t, cols, NCOLS, 0);
	csvout_row(text_sink, &t, row, cols, NCOLS, 0);
	const char *want = "id,name,base,lat,flag,none,null,list,deep\r\n"
			   "lst_1,\"Hợp tác xã \"\"Gốm\"\", Bát Tràng\",-1200,21.0285,true,,,"
			   "\"[\"\"a,b\"\",2]\",\r\n";
	if (strcmp(t.s, want) != 0)
		fail_msg("got:\n%s\nwant:\n%s", t.s, want);
	free(t.s);
	t = (struct text){0};
	csvout_header(text_sink, &t, cols, 3, CSVOUT_LABELS);
	assert_string_equal(t.s, "\"Mã, số\",name,base\r\n");
	free(t.s);
	json_decref(row);
}

static void test_formula_guard(void **state)
{
	(void)state;
	static const struct csvout_column one[] = {{"v", "v", NULL}};
	static const struct {
		const char *in, *safe;
	} cases[] = {
	    {"=1+1", "'=1+1"},	       {"+84 912", "'+84 912"}, {"-x", "'-x"},
	    {"@SUM(A1)", "'@SUM(A1)"}, {"\tx", "'\tx"},		{"\rx", "\"'\rx\""},
	    {"=a,b", "\"'=a,b\""},     {"a=b", "a=b"},		{"", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *row = json_pack("{s:s}", "v", cases[i].in);
		struct text safe = {0}, raw = {0};
		csvout_row(text_sink, &safe, row, one, 1, CSVOUT_SAFE_TEXT);
		csvout_row(text_sink, &raw, row, one, 1, 0);
		char *want = xasprintf("%s\r\n", cases[i].safe);
		char *want_raw = field_text(cases[i].in);
		if (strcmp(safe.s, want) != 0)
			fail_msg("case %zu: got [%s], want [%s]", i, safe.s, want);
		assert_int_equal(strncmp(raw.s, want_raw, strlen(want_raw)), 0);
		free(want);
		free(want_raw);
		free(safe.s);
		free(raw.s);
		json_decref(row);
	}
	/* A negative number is a number, never guarded. */
	json_t *row = json_pack("{s:i}", "v", -5);
	struct text t = {0};
	csvout_row(text_sink, &t, row, one, 1, CSVOUT_SAFE_TEXT);
	assert_string_equal(t.s, "-5\r\n");
	free(t.s);
	json_decref(row);
}

static void test_paths(void **state)
{
	(void)state;
	json_t *rows = json_loads(
	    "[{\"province\":{\"code\":\"HN\",\"name\":\"Hà Nội\"},\"needs\":{\"count\":2,"
	    "\"quantity\":10},\"tags\":[1]},{\"material\":\"clay\",\"needs\":{\"count\":1,"
	    "\"value\":{\"vnd\":5}}},7]",
	    0, NULL);
	assert_non_null(rows);
	json_t *paths = csvout_paths(rows);
	char *text = json_dumps(paths, JSON_COMPACT);
	assert_string_equal(text, "[\"province.code\",\"province.name\",\"needs.count\","
				  "\"needs.quantity\",\"tags\",\"material\",\"needs.value.vnd\"]");
	free(text);
	assert_int_equal(
	    json_integer_value(csvout_lookup(json_array_get(rows, 1), "needs.value.vnd")), 5);
	assert_null(csvout_lookup(json_array_get(rows, 1), "needs.value.vnd.x"));
	assert_null(csvout_lookup(json_array_get(rows, 0), "province.nope"));
	json_decref(paths);
	json_decref(rows);
}

/* ---- the property: write, read back with a strict RFC 4180 reader, compare ---- */

/* Reads one file of records; returns the fields as an array of arrays, or NULL if not RFC 4180. */
static json_t *rfc4180_read(const char *s, size_t len)
{
	json_t *records = json_array();
	json_t *rec = json_array();
	struct text f = {0};
	size_t i = 0;
	text_sink(&f, "", 0);
	while (i < len) {
		f.len = 0;
		f.s[0] = '\0';
		if (s[i] == '"') {
			i++;
			for (;;) {
				if (i >= len)
					goto bad;
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						text_sink(&f, "\"", 1);
						i += 2;
						continue;
					}
					i++;
					break;
				}
				text_sink(&f, s + i, 1);
				i++;
			}
		} else {
			while (i < len && s[i] != ',' && s[i] != '\r') {
				if (s[i] == '"' || s[i] == '\n')
					goto bad;
				text_sink(&f, s + i, 1);
				i++;
			}
		}
		json_array_append_new(rec, json_stringn(f.s, f.len));
		if (i < len && s[i] == ',') {
			i++;
			continue;
		}
		if (i + 1 < len && s[i] == '\r' && s[i + 1] == '\n') {
			i += 2;
			json_array_append_new(records, rec);
			rec = json_array();
			continue;
		}
		goto bad;
	}
	json_decref(rec);
	free(f.s);
	return records;
bad:
	json_decref(rec);
	json_decref(records);
	free(f.s);
	return NULL;
}

static void test_round_trip_random(void **state)
{
	(void)state;
	static const char *const atoms[] = {"a", ",", "\"", "\r", "\n", "ă",
					    "Đ", " ", "'",  ";",  "x1"};
	static const struct csvout_column c3[] = {
	    {"a", "a", NULL}, {"b", "b", NULL}, {"c", "c", NULL}};
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < 500; round++) {
		json_t *rows = json_array();
		struct text t = {0};
		text_sink(&t, "", 0);
		int nrows = 1 + (int)(seed % 5);
		for (int r = 0; r < nrows; r++) {
			json_t *row = json_object();
			for (int c = 0; c < 3; c++) {
				struct text v = {0};
				text_sink(&v, "", 0);
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				int n = (int)((seed >> 33) % 8);
				for (int k = 0; k < n; k++) {
					seed =
					    seed * 6364136223846793005ULL + 1442695040888963407ULL;
					const char *a = atoms[(seed >> 33) %
							      (sizeof(atoms) / sizeof(atoms[0]))];
					text_sink(&v, a, strlen(a));
				}
				json_object_set_new(row, c3[c].path, json_stringn(v.s, v.len));
				free(v.s);
			}
			csvout_row(text_sink, &t, row, c3, 3, 0);
			json_array_append_new(rows, row);
		}
		json_t *back = rfc4180_read(t.s, t.len);
		if (back == NULL)
			fail_msg("round %d: not RFC 4180: [%s]", round, t.s);
		assert_int_equal(json_array_size(back), (size_t)nrows);
		for (int r = 0; r < nrows; r++)
			for (int c = 0; c < 3; c++) {
				const json_t *got = json_array_get(json_array_get(back, r), c);
				const json_t *want =
				    json_object_get(json_array_get(rows, r), c3[c].path);
				if (!json_equal(got, want))
					fail_msg("round %d row %d col %d: [%s] vs [%s]", round, r,
						 c, json_string_value(got),
						 json_string_value(want));
			}
		json_decref(back);
		json_decref(rows);
		free(t.s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_field_quoting),     cmocka_unit_test(test_row_cells),
	    cmocka_unit_test(test_formula_guard),     cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_round_trip_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
