/*
 * Unit tests for common/forum: the forum id, the checks of a POST and a
 * PATCH body (every field, the order of the dates, codes resolved against
 * the reference tables) and the table of state transitions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/forum.h"

#define GOOD                                                                                           \
	"{\"id\":\"dien-dan-ha-noi-2026\",\"name\":\"Diễn đàn kết nối cung cầu Hà Nội\"," \
	"\"provinces\":[\"HN\",\"Bắc Ninh\"],\"venue\":\"Trung tâm Khuyến công Hà Nội\","     \
	"\"registration_opens\":\"2026-12-01\",\"registration_closes\":\"2026-12-10\","                \
	"\"forum_day\":\"2026-12-12\",\"materials\":[\"clay\",\"kaolin\"]"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);
	assert_non_null(v);
	return v;
}

/* The fields named by errors, in order, joined by spaces. */
static void error_fields(const json_t *errors, char *buf, size_t len)
{
	size_t i, o = 0;
	json_t *e;
	buf[0] = '\0';
	json_array_foreach(errors, i, e)
	{
		int n = snprintf(buf + o, len - o, "%s%s", o ? " " : "",
				 json_string_value(json_object_get(e, "field")));
		o += (size_t)n;
	}
}

static void test_forum_ids(void **state)
{
	(void)state;
	const char *good[] = {"abc", "dien-dan-2026", "a1-b2", "0000",
			      "a234567890123456789012345678901234567890"};
	const char *bad[] = {"",	 "ab",	     "-abc",
			     "abc-",	 "a--b",     "Abc",
			     "dien dan", "diễn-đàn", "a2345678901234567890123456789012345678901",
			     "a_b",	 "a/b",	     "a:b"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(forum_id_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(forum_id_ok(bad[i]));
	assert_false(forum_id_ok(NULL));
}

static void test_forum_from_request(void **state)
{
	(void)state;
	json_t *errors = NULL, *body = parse(GOOD "}");
	json_t *doc = forum_from_request(body, &errors);
	assert_non_null(doc);
	assert_null(errors);
	/* province names resolve to codes; organiser stays out unless given */
	char csv[64];
	assert_string_equal(forum_provinces_csv(doc, csv, sizeof(csv)), "HN,BN");
	assert_true(forum_has_province(doc, "BN"));
	assert_false(forum_has_province(doc, "NB"));
	assert_null(json_object_get(doc, "organiser"));
	assert_int_equal(json_array_size(json_object_get(doc, "materials")), 2);
	assert_string_equal(json_string_value(json_object_get(doc, "forum_day")), "2026-12-12");
	json_decref(doc);
	json_decref(body);

	/* materials may be left out: none in focus */
	body = parse("{\"id\":\"abc\",\"name\":\"D\",\"provinces\":[\"NB\"],\"venue\":\"V\","
		     "\"registration_opens\":\"2026-12-01\",\"registration_closes\":\"2026-12-01\","
		     "\"forum_day\":\"2026-12-01\",\"organiser\":\"acc_x\"}");
	doc = forum_from_request(body, &errors);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "materials")), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "organiser")), "acc_x");
	json_decref(doc);
	json_decref(body);
}

/* Each bad body is refused, naming exactly the fields listed. */
static void test_forum_refused(void **state)
{
	(void)state;
	static const struct {
		const char *body, *fields;
	} cases[] = {
	    {"{}", "id name venue provinces registration_opens registration_closes forum_day"},
	    {GOOD ",\"colour\":\"red\"}", "colour"},
	    {GOOD ",\"id\":\"Diễn đàn\"}", "id"},
	    {"{\"id\":\"ab\",\"name\":\"D\",\"provinces\":[\"HN\"],\"venue\":\"V\","
	     "\"registration_opens\":\"2026-12-01\",\"registration_closes\":\"2026-12-02\","
	     "\"forum_day\":\"2026-12-03\"}",
	     "id"},
	    {"{\"id\":\"abc\",\"name\":\"D\",\"provinces\":[\"Atlantis\",\"HN\",\"HN\"],"
	     "\"venue\":\"V\",\"registration_opens\":\"2026-12-01\","
	     "\"registration_closes\":\"2026-12-02\",\"forum_day\":\"2026-12-03\","
	     "\"materials\":[\"gold\"]}",
	     "provinces provinces materials"},
	    {"{\"id\":\"abc\",\"name\":\"D\",\"provinces\":[],\"venue\":\"V\","
	     "\"registration_opens\":\"2026-12-01\",\"registration_closes\":\"2026-12-02\","
	     "\"forum_day\":\"2026-12-03\"}",
	     "provinces"},
	    /* dates out of order: closes before opens, forum day before closing */
	    {"{\"id\":\"abc\",\"name\":\"D\",\"provinces\":[\"HN\"],\"venue\":\"V\","
	     "\"registration_opens\":\"2026-12-05\",\"registration_closes\":\"2026-12-02\","
	     "\"forum_day\":\"2026-12-01\"}",
	     "registration_closes forum_day"},
	    {"{\"id\":\"abc\",\"name\":\"D\",\"provinces\":[\"HN\"],\"venue\":\"V\","
	     "\"registration_opens\":\"2026-02-30\",\"registration_closes\":\"2026-12-02T25:00:"
	     "00Z\","
	     "\"forum_day\":7,\"organiser\":\"me\"}",
	     "organiser registration_opens registration_closes forum_day"},
	    {"[1]", ""},
	};
	char got[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *errors = NULL, *body = parse(cases[i].body);
		json_t *doc = forum_from_request(body, &errors);
		assert_null(doc);
		assert_non_null(errors);
		error_fields(errors, got, sizeof(got));
		assert_string_equal(got, cases[i].fields);
		json_decref(errors);
		json_decref(body);
	}
}

/* When registration closes by itself: the end of its day in Vietnam, or the date-time given. */
static void test_forum_closes_at(void **state)
{
	(void)state;
	json_t *errors = NULL, *body = parse(GOOD "}");
	json_t *doc = forum_from_request(body, &errors);
	json_decref(body);
	assert_non_null(doc);
	int64_t ms = 0;
	assert_int_equal(forum_closes_at(doc, &ms), 0);
	assert_int_equal(ms, INT64_C(1796922000000)); /* 2026-12-11T00:00:00+07:00 */

	body = parse("{\"registration_closes\":\"2026-12-09T08:30:00+07:00\"}");
	json_t *next = forum_apply_patch(doc, body, &errors);
	json_decref(body);
	assert_non_null(next);
	assert_int_equal(forum_closes_at(next, &ms), 0);
	assert_int_equal(ms, INT64_C(1796779800000)); /* 2026-12-09T01:30:00Z */
	json_decref(next);

	/* a moment on the forum's day is fine; on the day after, or at the very
	 * start of registration, it is not */
	const char *cases[][2] = {
	    {"{\"registration_closes\":\"2026-12-12T16:59:59.999Z\"}", ""},
	    {"{\"registration_closes\":\"2026-12-12T17:00:00.001Z\"}", "forum_day"},
	    {"{\"registration_closes\":\"2026-11-30T17:00:00Z\"}", "registration_closes"},
	    {"{\"registration_closes\":\"2026-12-09 08:30\"}", "registration_closes"},
	    {"{\"forum_day\":\"2026-12-12T08:00:00Z\"}", "forum_day"},
	};
	char got[128];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errors = NULL;
		body = parse(cases[i][0]);
		next = forum_apply_patch(doc, body, &errors);
		error_fields(errors, got, sizeof(got));
		assert_string_equal(got, cases[i][1]);
		assert_true((next != NULL) == (cases[i][1][0] == '\0'));
		json_decref(next);
		json_decref(errors);
		json_decref(body);
	}
	json_t *none = json_object();
	assert_int_equal(forum_closes_at(none, &ms), -1);
	json_decref(none);
	json_decref(doc);
}

static void test_forum_patch(void **state)
{
	(void)state;
	json_t *errors = NULL, *body = parse(GOOD "}");
	json_t *doc = forum_from_request(body, &errors);
	json_decref(body);
	assert_non_null(doc);

	body = parse("{\"venue\":\"Cung Văn hóa\",\"forum_day\":\"2026-12-20\"}");
	json_t *next = forum_apply_patch(doc, body, &errors);
	assert_non_null(next);
	assert_string_equal(json_string_value(json_object_get(next, "venue")), "Cung Văn hóa");
	assert_string_equal(json_string_value(json_object_get(next, "name")),
			    "Diễn đàn kết nối cung cầu Hà Nội");
	json_decref(next);
	json_decref(body);

	/* the id and the organiser are not changed by PATCH; the merged dates keep their order */
	const char *bad[][2] = {
	    {"{\"id\":\"other\"}", "id"},
	    {"{\"organiser\":\"acc_y\"}", "organiser"},
	    {"{\"registration_closes\":\"2026-12-31\"}", "forum_day"},
	    {"{\"name\":\"\"}", "name"},
	    {"{}", ""},
	};
	char got[128];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errors = NULL;
		body = parse(bad[i][0]);
		assert_null(forum_apply_patch(doc, body, &errors));
		error_fields(errors, got, sizeof(got));
		assert_string_equal(got, bad[i][1]);
		json_decref(errors);
		json_decref(body);
	}
	json_decref(doc);
}

static void test_forum_transitions(void **state)
{
	(void)state;
	const struct forum_transition *t = forum_transition_find("open");
	assert_non_null(t);
	assert_string_equal(t->from, "draft");
	assert_string_equal(t->to, "open");
	t = forum_transition_find("close-registration");
	assert_string_equal(t->from, "open");
	assert_string_equal(t->to, "clearing");
	t = forum_transition_find("close");
	assert_string_equal(t->from, "review");
	assert_string_equal(t->to, "closed");
	t = forum_transition_find("cancel");
	assert_string_equal(t->to, "cancelled");
	assert_null(strstr(t->from, "closed"));
	assert_null(forum_transition_find("cleared")); /* the clearing's, not a route */
	assert_null(forum_transition_find("reopen"));
	assert_null(forum_transition_find(NULL));
	assert_string_equal(forum_cleared.from, "clearing");
	assert_string_equal(forum_cleared.to, "review");
	/* every state named anywhere is a state */
	const char *names[] = {"open", "close-registration", "close", "cancel"};
	for (size_t i = 0; i < 4; i++)
		assert_true(forum_state_ok(forum_transition_find(names[i])->to));
	assert_false(forum_state_ok("reviewing"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forum_ids),	      cmocka_unit_test(test_forum_from_request),
	    cmocka_unit_test(test_forum_refused),     cmocka_unit_test(test_forum_patch),
	    cmocka_unit_test(test_forum_transitions), cmocka_unit_test(test_forum_closes_at),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
