/*
 * Unit tests for common/jsonin: whatever it reads is what json_loadb reads
 * (equal values, keys in the same order), and whatever json_loadb refuses
 * it declines; over random JSON texts and mutations of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonin.h"

/* 1 when jsonin read the text (and agreed with jansson), 0 when it declined. */
static int check_as_jansson(const char *buf, size_t len)
{
	json_error_t err;
	json_t *want = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	json_t *got = jsonin_loadb(buf, len);
	int read = got != NULL;

	if (got != NULL) {
		if (want == NULL)
			fail_msg("jsonin read what jansson refuses (%s): %.*s", err.text, (int)len,
				 buf);
		char *a = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		char *b = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!json_equal(got, want) || strcmp(a, b) != 0)
			fail_msg("jsonin: %s\njansson: %s\ntext: %.*s", a, b, (int)len, buf);
		free(a);
		free(b);
	}
	json_decref(got);
	json_decref(want);
	return read;
}

static unsigned next(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

struct text {
	char buf[4096];
	size_t len;
};

static void put(struct text *t, const char *s)
{
	size_t n = strlen(s);
	if (t->len + n < sizeof(t->buf)) {
		memcpy(t->buf + t->len, s, n);
		t->len += n;
	}
}

static void space(struct text *t, unsigned *seed)
{
	static const char *const ws[] = {"", "", "", " ", "\n", "\t", "\r\n  ", " \x0b"};
	put(t, ws[next(seed) % (sizeof(ws) / sizeof(ws[0]))]);
}

/* Mostly valid JSON, with the odd text jansson refuses or jsonin declines. */
static void random_text(struct text *t, unsigned *seed, int depth)
{
	static const char *const strings[] = {
	    "\"\"",
	    "\"clay\"",
	    "\"Đồng Kỵ — gốm\"",
	    "\"m\xc2\xb3\"",
	    "\"emoji \xf0\x9f\x8f\xba\"",
	    "\"q \\\" b \\\\ s \\/ \\b\\f\\n\\r\\t\"",
	    "\"\\u00e9\"",
	    "\"\\ud83d\\ude00\"",
	    "\"\\u0000\"",
	    "\"\\x\"",
	    "\"tab\there\"",
	    "\"bad \xc0\xaf\"",
	    "\"sur \xed\xa0\x80\"",
	    "\"big \xf4\x90\x80\x80\"",
	    "\"cut \xe1\xbb\"",
	    "\"lone \x80\"",
	    "\"del \x7f\"",
	    "\"2027-02-20\"",
	};
	static const char *const numbers[] = {
	    "0",
	    "-0",
	    "7",
	    "-12",
	    "22025",
	    "123456789012345678",
	    "-123456789012345678",
	    "1234567890123456789",
	    "9223372036854775807",
	    "9223372036854775808",
	    "-9223372036854775809",
	    "99999999999999999999",
	    "1.5",
	    "-0.25e3",
	    "2.5E+2",
	    "21.212299999999999",
	    "105.5188",
	    "1e-7",
	    "1E400",
	    "-1e400",
	    "1e-400",
	    "01",
	    "1.",
	    "-",
	    ".5",
	    "1e",
	    "1e+",
	    "--1",
	    "0x10",
	    "1.5e3.2",
	};
	static const char *const words[] = {"true", "false", "null", "truex", "nul", "True"};
	static const char *const keys[] = {"material", "quantity", "note", "location", "lat",
					   "a",	       "",	   "k\\n", "Đ",	       "\\u0061"};
	unsigned kind = next(seed) % (depth >= 4 ? 3 : 5);

	space(t, seed);
	switch (kind) {
	case 0:
		put(t, strings[next(seed) % (sizeof(strings) / sizeof(strings[0]))]);
		break;
	case 1:
		put(t, numbers[next(seed) % (sizeof(numbers) / sizeof(numbers[0]))]);
		break;
	case 2:
		put(t, words[next(seed) % (sizeof(words) / sizeof(words[0]))]);
		break;
	case 3:
		put(t, "[");
		for (unsigned i = next(seed) % 4, first = 1; i > 0; i--, first = 0) {
			if (!first)
				put(t, ",");
			random_text(t, seed, depth + 1);
		}
		space(t, seed);
		put(t, "]");
		break;
	default:
		put(t, "{");
		for (unsigned i = next(seed) % 6, first = 1; i > 0; i--, first = 0) {
			if (!first)
				put(t, ",");
			space(t, seed);
			put(t, "\"");
			put(t, keys[next(seed) % (sizeof(keys) / sizeof(keys[0]))]);
			put(t, "\"");
			space(t, seed);
			put(t, ":");
			random_text(t, seed, depth + 1);
		}
		space(t, seed);
		put(t, "}");
	}
	space(t, seed);
}

static void test_random_texts(void **state)
{
	unsigned seed = 20261203;
	int read = 0, total = 0;

	(void)state;
	for (int i = 0; i < 60000; i++) {
		struct text t = {.len = 0};
		/* a top value of each kind, objects most */
		if (next(&seed) % 4 == 0)
			random_text(&t, &seed, 3);
		else {
			put(&t, "{");
			space(&t, &seed);
			put(&t, "\"body\":");
			random_text(&t, &seed, 0);
			put(&t, "}");
		}
		total++;
		read += check_as_jansson(t.buf, t.len);
		/* mutations: a byte changed, dropped or added, the text cut short */
		for (int m = 0; m < 3 && t.len > 0; m++) {
			size_t at = next(&seed) % t.len;
			switch (next(&seed) % 4) {
			case 0:
				t.buf[at] = (char)(next(&seed) & 0xFF);
				break;
			case 1:
				memmove(t.buf + at, t.buf + at + 1, t.len - at - 1);
				t.len--;
				break;
			case 2:
				if (t.len + 1 < sizeof(t.buf)) {
					memmove(t.buf + at + 1, t.buf + at, t.len - at);
					t.buf[at] = "{}[]\",:\\ 0-e.\x80\xc3"[next(&seed) % 16];
					t.len++;
				}
				break;
			default:
				t.len = at;
			}
			check_as_jansson(t.buf, t.len);
		}
	}
	/* it must read most of the plain texts, or it is not worth its place */
	if (read * 5 < total)
		fail_msg("jsonin read only %d of %d texts", read, total);
}

/* Bodies as the API's clients send them: all read, all as jansson reads them. */
static void test_request_bodies(void **state)
{
	static const char *const bodies[] = {
	    "{\"material\":\"shell_turbo\",\"quantity\":\"2738\",\"unit\":\"kg\",\"price_vnd\":"
	    "22025,"
	    "\"price_unit\":\"kg\",\"grade\":\"B\",\"province\":\"LCI\",\"needed_by\":\"2027-02-"
	    "20\","
	    "\"accept_substitutes\":true,\"note\":\"Thu mua vỏ ốc xà cừ số lượng lớn cho làng nghề "
	    "Hạ "
	    "Thái\"}",
	    "{\"material\":\"shell_abalone\",\"quantity\":\"2376\",\"unit\":\"kg\",\"price_vnd\":"
	    "276012,"
	    "\"location\":{\"lat\":21.212299999999999,\"lon\":105.5188},\"note\":null}",
	    "{ \"a\" : [1, 2.5, -3e2, \"x\\ny\", {\"b\": false}] }\n",
	    "[]",
	    "{}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		assert_int_equal(check_as_jansson(bodies[i], strlen(bodies[i])), 1);
	/* declined, each for jansson to answer */
	static const char *const declined[] = {
	    "",
	    "  ",
	    "\"top\"",
	    "7",
	    "{\"a\":1,\"a\":2}",
	    "{\"a\":\"\\u00e9\"}",
	    "{\"a\":1} x",
	    "{\"a\":01}",
	    "{\"a\":tru}",
	    "{\"a\":\"\t\"}",
	};
	for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++)
		assert_null(jsonin_loadb(declined[i], strlen(declined[i])));
	assert_null(jsonin_loadb(NULL, 0));
	/* not NUL-terminated: only len bytes are read */
	assert_int_equal(check_as_jansson("{\"n\":12}99", 8), 1);
	assert_int_equal(check_as_jansson("{\"n\":1.5e3}9", 11), 1);
}

/* Nesting: read to JSONIN_MAX_DEPTH, declined beyond. */
static void test_depth(void **state)
{
	char buf[2 * (JSONIN_MAX_DEPTH + 2) + 1];

	(void)state;
	for (int d = 1; d <= JSONIN_MAX_DEPTH + 1; d++) {
		memset(buf, '[', (size_t)d);
		memset(buf + d, ']', (size_t)d);
		int read = check_as_jansson(buf, (size_t)(2 * d));
		assert_int_equal(read, d <= JSONIN_MAX_DEPTH);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_bodies),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_random_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
