/*
 * What the unit tests of common/listing and common/dates share: "now" and
 * the instants worked out by hand, JSON from text (load), the error list
 * read back (fields_of, message_of), and a listing created from a request
 * body that must succeed (create_ok) or fail on exactly these fields
 * (create_bad). Included by tests/unit/test_listing*.c and test_dates.c only.
 */
#ifndef CM_TEST_LISTING_KIT_H
#define CM_TEST_LISTING_KIT_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/dates.h"
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

static inline json_t *load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", err.text, text);
	return j;
}

static inline int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The error fields, sorted, joined by ','. Static buffer. */
static inline const char *fields_of(const json_t *errors)
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

static inline const char *message_of(const json_t *errors, const char *field)
{
	size_t i;
	json_t *e;

	json_array_foreach((json_t *)errors, i,
			   e) if (strcmp(json_string_value(json_object_get(e, "field")), field) ==
				  0) return json_string_value(json_object_get(e, "message"));
	fail_msg("no error for %s", field);
	return NULL;
}

static inline void assert_contains(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("'%s' does not contain '%s'", hay ? hay : "(null)", needle);
}

static inline void assert_json(const json_t *got, const char *want_text)
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
static inline json_t *create_ok(enum listing_kind kind, const char *text)
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
static inline json_t *create_bad(enum listing_kind kind, const char *text, const char *want_fields)
{
	json_t *body = load(text), *errors = NULL;
	json_t *doc = listing_from_request(kind, body, NOW, &errors);

	assert_null(doc);
	assert_non_null(errors);
	assert_string_equal(fields_of(errors), want_fields);
	json_decref(body);
	return errors;
}

#endif
