/*
 * Unit tests for server/push/filter: who receives a forum's events — its
 * organiser, moderators whose scope holds the forum or one of its
 * provinces, the accounts registered for it once it is out of draft,
 * admins — and nobody else; and the forum event types as filters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "server/push/filter.h"

#define FORUM "dien-dan-ha-noi-2026"

static json_t *account(const char *json)
{
	json_t *doc = json_loads(json, 0, NULL);
	assert_non_null(doc);
	return doc;
}

static struct events_entry forum_event(const char *type, const char *state)
{
	struct events_entry e = {.id = "1-0", .type = type, .n = 5};
	static const char *names[] = {"forum", "state", "organiser", "provinces", "version"};
	e.values[0] = FORUM;
	e.values[1] = state;
	e.values[2] = "acc_org";
	e.values[3] = "HN,BN";
	e.values[4] = "1";
	for (size_t i = 0; i < 5; i++)
		e.names[i] = names[i];
	return e;
}

static void test_forum_event_receivers(void **state)
{
	(void)state;
	static const struct {
		const char *who;
		int created, opened; /* forum.created (draft), forum.open */
	} table[] = {
	    {"{\"id\":\"acc_admin\",\"role\":\"admin\"}", 1, 1},
	    {"{\"id\":\"acc_org\",\"role\":\"moderator\",\"scope\":{\"provinces\":[\"NB\"]}}", 1,
	     1},
	    {"{\"id\":\"acc_m1\",\"role\":\"moderator\",\"scope\":{\"provinces\":[\"BN\"]}}", 1, 1},
	    {"{\"id\":\"acc_m2\",\"role\":\"moderator\",\"scope\":{\"forums\":[\"" FORUM "\"]}}", 1,
	     1},
	    {"{\"id\":\"acc_m3\",\"role\":\"moderator\",\"scope\":{\"provinces\":[\"NB\"],"
	     "\"forums\":[\"khac\"]}}",
	     0, 0},
	    {"{\"id\":\"acc_v1\",\"role\":\"village\",\"province\":\"CB\",\"forum\":\"" FORUM "\"}",
	     0, 1},
	    {"{\"id\":\"acc_v2\",\"role\":\"village\",\"province\":\"HN\"}", 0, 0},
	    {"{\"id\":\"acc_s1\",\"role\":\"supplier\",\"province\":\"HN\",\"forum\":\"khac\"}", 0,
	     0},
	};
	struct events_entry created = forum_event("forum.created", "draft");
	struct events_entry opened = forum_event("forum.open", "open");
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		json_t *viewer = account(table[i].who);
		assert_int_equal(filter_visible(viewer, &created), table[i].created);
		assert_int_equal(filter_visible(viewer, &opened), table[i].opened);
		json_decref(viewer);
	}
}

static void test_forum_types(void **state)
{
	(void)state;
	uint32_t mask;
	char bad[32];
	const char *types[] = {"forum.created", "forum.updated", "forum.open",	   "forum.clearing",
			       "forum.review",	"forum.closed",	 "forum.cancelled"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		assert_int_equal(filter_parse_types(types[i], &mask, bad, sizeof(bad)), 0);
	assert_int_equal(filter_parse_types("forum.opened", &mask, bad, sizeof(bad)), -1);
	assert_string_equal(bad, "forum.opened");
	assert_true(filter_types_count <= 32); /* one bit each in a uint32_t mask */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forum_event_receivers),
	    cmocka_unit_test(test_forum_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
