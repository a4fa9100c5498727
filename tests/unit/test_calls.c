/*
 * Unit tests for server/store/calls: the KEYS and ARGV the server and the
 * bench's loader send to the create functions are the ones the function
 * library reads. The oracle is the library itself (store/lua, embedded
 * in the binary): the highest keys[N] and args[N] each function's body uses
 * must be the call's key and argument counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/store/calls.h"

extern const char store_functions_lua[];

/* The highest N of `what[N]` in the body of the function registered as fn. */
static int lua_highest(const char *fn, const char *what)
{
	char head[128];
	snprintf(head, sizeof(head), "redis.register_function('%s'", fn);
	const char *body = strstr(store_functions_lua, head);
	if (body == NULL) { /* a write cm_as may run too (1-core.lua) */
		snprintf(head, sizeof(head), "register_write('%s'", fn);
		body = strstr(store_functions_lua, head);
	}
	if (body == NULL) {
		fail_msg("the library registers no %s", fn);
		return -1;
	}
	/* up to the next function registered, in either form */
	const char *end = strstr(body + strlen(head), "register_function");
	const char *next_write = strstr(body + strlen(head), "register_write(");
	if (end == NULL || (next_write && next_write < end))
		end = next_write;
	if (end == NULL)
		end = body + strlen(body);
	char pat[16];
	int n = snprintf(pat, sizeof(pat), "%s[", what), top = 0;
	for (const char *p = strstr(body, pat); p && p < end; p = strstr(p + n, pat)) {
		if (p > body && (p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z')))
			continue; /* another name ending in `what` */
		int i = atoi(p + n);
		if (i > top)
			top = i;
	}
	return top;
}

static void assert_matches_lua(const struct store_call *c)
{
	assert_int_equal(c->nargs, lua_highest(c->fn, "args"));
	assert_int_equal(c->nkeys, lua_highest(c->fn, "keys"));
	for (int i = 0; i < c->nkeys; i++)
		assert_non_null(c->keys[i]);
	for (int i = 0; i < c->nargs; i++)
		assert_non_null(c->args[i]);
}

static const struct store_idem idem = {"cm:idem:acc_x:abc", "fp"};
static const struct store_idem no_idem = {NULL, NULL};

static void test_account_create(void **state)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:{s:[s,s]}}", "id", "acc_1", "role", "moderator",
				"name", "Trung tâm", "scope", "provinces", "HN", "BN");
	struct store_call c;
	store_call_account_create(&c, "acc_1", doc, "acc_admin", &idem, 1700000000123, 1000);
	assert_matches_lua(&c);
	assert_string_equal(c.keys[0], "cm:account:acc_1");
	assert_string_equal(c.keys[1], KEY_ACCOUNTS);
	assert_string_equal(c.keys[2], idem.key);
	assert_string_equal(c.args[4], "HN,BN");
	assert_string_equal(c.args[6], "1700000000123");
	assert_string_equal(c.args[8], "1000");
	assert_string_equal(c.args[9], "fp");
	json_t *back = json_loads(c.args[1], 0, NULL);
	assert_true(json_equal(back, doc));
	json_decref(back);
	store_call_done(&c);

	store_call_account_create(&c, "acc_1", doc, "acc_admin", &no_idem, 1, 1);
	assert_int_equal(c.nkeys, 2); /* no idempotency key: the library reads keys[3] as nil */
	assert_string_equal(c.args[9], "");
	store_call_done(&c);
	json_decref(doc);
}

static void test_token_create(void **state)
{
	struct store_call c;
	store_call_token_create(&c, "tok_1", "acc_1", "ab12", "laptop", "acc_1", &idem, 5, 7);
	assert_matches_lua(&c);
	assert_string_equal(c.keys[0], "cm:token:ab12");
	assert_string_equal(c.keys[1], "cm:tokenid:tok_1");
	assert_string_equal(c.keys[2], "cm:account:acc_1:tokens");
	assert_string_equal(c.keys[3], "cm:account:acc_1");
	assert_string_equal(c.args[3], "laptop");
	store_call_done(&c);
}

static void test_listing_create(void **state)
{
	json_t *doc = json_pack("{s:s, s:s}", "id", "lst_1", "material", "clay");
	struct store_listing_meta m = {.kind = "need",
				       .owner = "acc_1",
				       .owner_name = "HTX",
				       .material = "clay",
				       .province = "HN",
				       .forum = "dien-dan",
				       .quantity = 1250,
				       .ends_at = 0,
				       .fold = "htx clay",
				       .engine = "1 2 3",
				       .after_forum = "close"};
	struct store_call c;
	store_call_listing_create(&c, "lst_1", doc, &m, &idem, 42, 1000000);
	assert_matches_lua(&c);
	assert_string_equal(c.keys[0], "cm:listing:lst_1");
	assert_string_equal(c.args[7], "dien-dan");
	assert_string_equal(c.args[8], "1250");
	assert_string_equal(c.args[9], "0");
	assert_string_equal(c.args[11], "42");
	assert_string_equal(c.args[12], "1000000");
	assert_string_equal(c.args[14], "1 2 3");
	assert_string_equal(c.args[15], "close");
	store_call_done(&c);

	m.after_forum = NULL;
	store_call_listing_create(&c, "lst_1", doc, &m, &no_idem, 42, 1000000);
	assert_int_equal(c.nkeys, 1);
	assert_string_equal(c.args[15], "");
	store_call_done(&c);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_account_create),
	    cmocka_unit_test(test_token_create),
	    cmocka_unit_test(test_listing_create),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
