/*
 * Unit tests for the parsing under --sentinels: the list, the replies of
 * SENTINEL get-master-addr-by-name (server/store/sentinel.c) and ROLE
 * (server/store/redis.c), and +switch-master messages. Replies are built by hiredis' own reader
 * from RESP bytes, as they arrive from a sentinel or a Redis, so the parser sees real replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "server/store/redis.h"
#include "server/store/sentinel.h"

/* The reply hiredis reads from resp (one whole reply); free with freeReplyObject. */
static redisReply *reply_of(const char *resp)
{
	redisReader *rd = redisReaderCreate();
	assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
	void *out = NULL;
	assert_int_equal(redisReaderGetReply(rd, &out), REDIS_OK);
	assert_non_null(out);
	redisReaderFree(rd);
	return out;
}

static void test_list(void **state)
{
	struct sentinel_addr a[SENTINEL_MAX];
	const char *why = NULL;
	assert_int_equal(sentinel_parse_list("127.0.0.1:26379,s2:26380,s3.example:1", a, 3, &why),
			 3);
	assert_string_equal(a[0].host, "127.0.0.1");
	assert_int_equal(a[0].port, 26379);
	assert_string_equal(a[1].host, "s2");
	assert_int_equal(a[1].port, 26380);
	assert_string_equal(a[2].host, "s3.example");
	assert_int_equal(a[2].port, 1);
	assert_int_equal(sentinel_parse_list("h:65535,", a, 3, &why), 1); /* a trailing comma */
	assert_int_equal(a[0].port, 65535);

	const char *bad[] = {
	    "",	    "h",	"h:",	":26379",	  "h:0", "h:65536", "h:12x",
	    "h:-1", "a:1,,b:2", "h:1 ", "a:1,b:2,c:3,d:4"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(sentinel_parse_list(bad[i], a, 3, &why), -1);
		assert_non_null(why);
	}
	char longhost[SENTINEL_HOST_MAX + 8];
	memset(longhost, 'h', SENTINEL_HOST_MAX);
	strcpy(longhost + SENTINEL_HOST_MAX, ":1");
	assert_int_equal(sentinel_parse_list(longhost, a, 3, &why), -1);
}

static void test_master_reply(void **state)
{
	struct sentinel_addr a;
	redisReply *r = reply_of("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n");
	assert_int_equal(sentinel_parse_master(r, &a), 0);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 6380);
	freeReplyObject(r);

	/* nil (the name is not monitored), an error, wrong shapes, a bad port */
	const char *bad[] = {
	    "$-1\r\n",
	    "*-1\r\n",
	    "-IDONTKNOW No such master with that name\r\n",
	    "*1\r\n$9\r\n127.0.0.1\r\n",
	    "*3\r\n$1\r\nh\r\n$1\r\n1\r\n$1\r\n2\r\n",
	    "*2\r\n$1\r\nh\r\n$5\r\n65536\r\n",
	    "*2\r\n$1\r\nh\r\n$2\r\n1x\r\n",
	    "*2\r\n$0\r\n\r\n$4\r\n6379\r\n",
	    "*2\r\n:1\r\n$4\r\n6379\r\n",
	    "*2\r\n$1\r\nh\r\n:6379\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = reply_of(bad[i]);
		assert_int_equal(sentinel_parse_master(r, &a), -1);
		freeReplyObject(r);
	}
	assert_int_equal(sentinel_parse_master(NULL, &a), -1);
}

static void test_role(void **state)
{
	const char *role;
	/* a primary with one replica, as Redis 7 answers ROLE */
	redisReply *r = reply_of("*3\r\n$6\r\nmaster\r\n:3129659\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n"
				 "$4\r\n9001\r\n$7\r\n3129242\r\n");
	assert_int_equal(redis_parse_role(r, &role), 1);
	assert_string_equal(role, "master");
	freeReplyObject(r);
	/* a replica: not the primary, and the role is named for the log */
	r = reply_of("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:9000\r\n$9\r\nconnected\r\n"
		     ":3167038\r\n");
	assert_int_equal(redis_parse_role(r, &role), 0);
	assert_string_equal(role, "slave");
	freeReplyObject(r);
	r = reply_of("*2\r\n$8\r\nsentinel\r\n*0\r\n");
	assert_int_equal(redis_parse_role(r, &role), 0);
	freeReplyObject(r);
	r = reply_of("*1\r\n$7\r\nmasters\r\n"); /* not a prefix match */
	assert_int_equal(redis_parse_role(r, &role), 0);
	freeReplyObject(r);
	r = reply_of("-NOAUTH Authentication required.\r\n");
	assert_int_equal(redis_parse_role(r, &role), -1);
	freeReplyObject(r);
	r = reply_of("*0\r\n");
	assert_int_equal(redis_parse_role(r, &role), -1);
	freeReplyObject(r);
}

static void test_switch(void **state)
{
	struct sentinel_addr a;
	assert_int_equal(
	    sentinel_parse_switch("craftmatch 127.0.0.1 6379 127.0.0.1 6380", "craftmatch", &a), 0);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 6380);
	assert_int_equal(
	    sentinel_parse_switch("craftmatch 10.0.0.1 6379 redis-replica 7000", "craftmatch", &a),
	    0);
	assert_string_equal(a.host, "redis-replica");
	assert_int_equal(a.port, 7000);
	/* another master's switch, a prefix of the name, short or long messages, bad ports */
	const char *bad[] = {"other 127.0.0.1 6379 127.0.0.1 6380",
			     "craftmatch2 127.0.0.1 6379 127.0.0.1 6380",
			     "craft 127.0.0.1 6379 127.0.0.1 6380",
			     "craftmatch 127.0.0.1 6379 127.0.0.1",
			     "craftmatch 127.0.0.1 6379 127.0.0.1 6380 extra",
			     "craftmatch 127.0.0.1 6379 127.0.0.1 0",
			     "craftmatch 127.0.0.1 6379 127.0.0.1 70000",
			     "",
			     "craftmatch"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sentinel_parse_switch(bad[i], "craftmatch", &a), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_master_reply),
	    cmocka_unit_test(test_role),
	    cmocka_unit_test(test_switch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
