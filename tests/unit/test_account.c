/*
 * Unit tests for common/account: account_may_manage(), the one rule of who
 * acts on an account that is not its own (registers it, issues, lists and
 * revokes its tokens, sees its contact details), and the "forum" an account
 * is registered for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/account.h"

#define FORUM "dien-dan-cung-cau-2026"

static json_t *account(const char *json)
{
	json_error_t err;
	json_t *doc = json_loads(json, 0, &err);

	assert_non_null(doc);
	return doc;
}

/* Whether caller manages subject; a refusal always says why. */
static int manages(const json_t *caller, const json_t *subject)
{
	const char *why = NULL;
	int ok = account_may_manage(caller, subject, &why);

	if (!ok)
		assert_non_null(why);
	return ok;
}

static void test_who_manages_whom(void **state)
{
	json_t *admin = account("{\"id\":\"acc_a\",\"role\":\"admin\"}");
	json_t *mod_hn = account("{\"id\":\"acc_m1\",\"role\":\"moderator\","
				 "\"scope\":{\"provinces\":[\"HN\"],\"forums\":[]}}");
	json_t *mod_forum = account("{\"id\":\"acc_m2\",\"role\":\"moderator\","
				    "\"scope\":{\"provinces\":[],\"forums\":[\"" FORUM "\"]}}");
	json_t *village_hn =
	    account("{\"id\":\"acc_v1\",\"role\":\"village\",\"province\":\"HN\"}");
	json_t *supplier_nb =
	    account("{\"id\":\"acc_s1\",\"role\":\"supplier\",\"province\":\"NB\"}");
	json_t *village_forum = account("{\"id\":\"acc_v2\",\"role\":\"village\","
					"\"province\":\"NB\",\"forum\":\"" FORUM "\"}");
	json_t *village_other_forum = account("{\"id\":\"acc_v3\",\"role\":\"village\","
					      "\"province\":\"NB\",\"forum\":\"khac\"}");
	json_t *mod_in_hn =
	    account("{\"id\":\"acc_m3\",\"role\":\"moderator\",\"province\":\"HN\","
		    "\"scope\":{\"provinces\":[\"HN\"],\"forums\":[\"" FORUM "\"]}}");
	const json_t *everyone[] = {admin,	 mod_hn,	mod_forum,	     village_hn,
				    supplier_nb, village_forum, village_other_forum, mod_in_hn};

	(void)state;
	/* admins: every account */
	for (size_t i = 0; i < sizeof(everyone) / sizeof(everyone[0]); i++)
		assert_true(manages(admin, everyone[i]));
	/* a province's moderator: villages and suppliers of its province */
	assert_true(manages(mod_hn, village_hn));
	assert_false(manages(mod_hn, supplier_nb));
	assert_false(manages(mod_hn, village_forum));
	/* a forum's moderator: those registered for its forum, in any province; no one else */
	assert_true(manages(mod_forum, village_forum));
	assert_false(manages(mod_forum, village_hn));
	assert_false(manages(mod_forum, supplier_nb));
	assert_false(manages(mod_forum, village_other_forum));
	/* no moderator manages a moderator or an admin, itself included */
	assert_false(manages(mod_hn, mod_in_hn));
	assert_false(manages(mod_in_hn, mod_in_hn));
	assert_false(manages(mod_hn, admin));
	/* villages and suppliers manage no one, not even their like */
	assert_false(manages(village_hn, village_hn));
	assert_false(manages(supplier_nb, village_hn));
	assert_false(manages(village_forum, village_forum));

	/* contact details: one's own, or an account one manages */
	assert_true(account_sees_contact(village_hn, village_hn));
	assert_true(account_sees_contact(mod_in_hn, mod_in_hn));
	assert_true(account_sees_contact(mod_forum, village_forum));
	assert_false(account_sees_contact(mod_forum, village_hn));
	assert_false(account_sees_contact(mod_hn, mod_in_hn));
	assert_false(account_sees_contact(village_hn, village_forum));

	for (size_t i = 0; i < sizeof(everyone) / sizeof(everyone[0]); i++)
		json_decref((json_t *)everyone[i]);
}

static void test_forum_on_request(void **state)
{
	json_t *errors = NULL;
	json_t *body = account("{\"role\":\"village\",\"name\":\"HTX\",\"province\":\"Ninh Bình\","
			       "\"forum\":\"" FORUM "\"}");
	json_t *doc = account_from_request(body, &errors);

	(void)state;
	assert_non_null(doc);
	assert_null(errors);
	assert_string_equal(json_string_value(json_object_get(doc, "forum")), FORUM);
	json_decref(doc);
	json_decref(body);

	/* moderators and admins register for no forum; a forum id is a slug */
	const char *bad[] = {
	    "{\"role\":\"moderator\",\"name\":\"KC\",\"forum\":\"" FORUM "\","
	    "\"scope\":{\"forums\":[\"" FORUM "\"]}}",
	    "{\"role\":\"admin\",\"name\":\"QT\",\"forum\":\"" FORUM "\"}",
	    "{\"role\":\"village\",\"name\":\"HTX\",\"province\":\"HN\","
	    "\"forum\":\"Diễn đàn\"}",
	    "{\"role\":\"supplier\",\"name\":\"CS\",\"province\":\"HN\",\"forum\":3}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errors = NULL;
		body = account(bad[i]);
		doc = account_from_request(body, &errors);
		assert_null(doc);
		assert_int_equal(json_array_size(errors), 1);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(errors, 0), "field")),
		    "forum");
		json_decref(errors);
		json_decref(body);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_who_manages_whom),
	    cmocka_unit_test(test_forum_on_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
