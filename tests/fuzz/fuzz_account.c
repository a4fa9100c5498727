/*
 * fuzz_account — common/account: POST /v1/accounts bodies.
 *
 * Input: a request body, parsed as the server parses it (json_loadb with
 * JSON_REJECT_DUPLICATES), then account_from_request(). An accepted
 * document goes through what accounts_create() does next: the rule of who
 * manages it (an admin, a moderator of a province and a forum, a moderator
 * of a forum only), and the rendering with and without contact details.
 *
 * Checked beyond "no crash": a document or errors, never both or neither;
 * every error has a field and a message; an accepted document has a role; a
 * forums-only moderator manages only accounts registered for its forum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/account.h"
#include "tests/fuzz/fuzz.h"

static void fuzz_account_use(const json_t *doc, const json_t *admin, const json_t *moderator,
			     const json_t *forum_moderator)
{
	const char *why = NULL, *forum = json_string_value(json_object_get(doc, "forum"));
	json_t *view;

	fuzz_check(account_role_of(doc) != ACCOUNT_ROLE_UNKNOWN, "accepted account without a role");
	fuzz_check(account_may_manage(admin, doc, &why) == 1, "an admin may not manage an account");
	if (account_may_manage(moderator, doc, &why) == 0)
		fuzz_check(why != NULL, "account_may_manage() refused without a reason");
	if (account_may_manage(forum_moderator, doc, &why) == 1)
		fuzz_check(forum && strcmp(forum, "dien-dan-2026") == 0,
			   "a forums-only moderator manages an account outside its forum");
	(void)account_covers(doc, "HN", "dien-dan-2026");
	(void)account_sees_contact(moderator, doc);
	view = account_render(doc, 1);
	fuzz_check(json_is_object(view), "account_render() returned no object");
	json_decref(view);
	view = account_render(doc, 0);
	fuzz_check(json_object_get(view, "contact") == NULL, "contact rendered without leave");
	json_decref(view);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *admin = json_pack("{s:s, s:s}", "id", "A1", "role", "admin");
	json_t *moderator =
	    json_pack("{s:s, s:s, s:{s:[s], s:[s]}}", "id", "A2", "role", "moderator", "scope",
		      "provinces", "HN", "forums", "dien-dan-2026");
	json_t *forum_moderator =
	    json_pack("{s:s, s:s, s:{s:[], s:[s]}}", "id", "A3", "role", "moderator", "scope",
		      "provinces", "forums", "dien-dan-2026");
	json_t *body, *doc, *errors = NULL;
	json_error_t err;

	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	if (body != NULL) {
		doc = account_from_request(body, &errors);
		fuzz_check_errors(doc, errors, 0);
		if (doc != NULL)
			fuzz_account_use(doc, admin, moderator, forum_moderator);
		json_decref(doc);
		json_decref(errors);
		json_decref(body);
	}
	json_decref(admin);
	json_decref(moderator);
	json_decref(forum_moderator);
	return 0;
}
