/*
 * Unit tests for common/jsonout: its text is json_dumps's, byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/jsonout.h"

static void assert_as_jansson(const json_t *v, size_t flags)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | flags);
	size_t len = 0;
	char *got = jsonout_dumps(v, flags, &len);

	assert_non_null(want);
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("jsonout: %s\njansson: %s", got, want);
	assert_int_equal(len, strlen(want));
	free(want);
	free(got);
}

static void test_scalars_and_escapes(void **state)
{
	static const char *const strings[] = {
	    "",
	    "plain",
	    "Bát Tràng — gốm sứ",
	    "quote \" and \\ backslash",
	    "slash / stays",
	    "tab\tnew\nline\rcr\bbs\fff",
	    "\x01\x02\x1f\x7f",
	    "ends with escape\n",
	    "\xe2\x80\xa8 line separator",
	    "emoji \xf0\x9f\x8f\xba",
	};
	static const json_int_t ints[] = {0, 1, -1, 42, INT64_MAX, INT64_MIN, 1000000000000};
	static const double reals[] = {0.0, 1.5, -20.975, 105.8542, 1e300, 21.0, 1e-7};

	(void)state;
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		json_t *s = json_string(strings[i]);
		assert_non_null(s);
		assert_as_jansson(s, 0);
		json_decref(s);
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		json_t *n = json_integer(ints[i]);
		assert_as_jansson(n, 0);
		json_decref(n);
	}
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		json_t *r = json_real(reals[i]);
		assert_as_jansson(r, 0);
		assert_as_jansson(r, JSON_REAL_PRECISION(15));
		json_decref(r);
	}
	json_t *t = json_pack("[b, b, n, {}, []]", 1, 0);
	assert_as_jansson(t, 0);
	json_decref(t);
	/* NUL inside a string (json_stringn): escaped as jansson does. */
	t = json_stringn("a\0b", 3);
	assert_as_jansson(t, 0);
	json_decref(t);
}

static unsigned next(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

static json_t *random_value(unsigned *seed, int depth)
{
	static const char *const words[] = {
	    "clay", "Đồng Kỵ", "\"q\"", "a\\b", "x\ny", "\t", "", "m³", "lst_0123456789abcdefghij",
	};
	unsigned kind = next(seed) % (depth > 3 ? 5 : 7);
	const char *w = words[next(seed) % (sizeof(words) / sizeof(words[0]))];

	switch (kind) {
	case 0:
		return json_string(w);
	case 1:
		return json_integer((json_int_t)next(seed) * (next(seed) % 2 ? 1 : -1000003));
	case 2:
		return json_real((double)next(seed) / 7.0);
	case 3:
		return next(seed) % 2 ? json_true() : json_false();
	case 4:
		return json_null();
	case 5: {
		json_t *a = json_array();
		for (unsigned i = next(seed) % 5; i > 0; i--)
			json_array_append_new(a, random_value(seed, depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		char key[48];
		for (unsigned i = next(seed) % 6; i > 0; i--) {
			snprintf(key, sizeof(key), "%s%u", w, next(seed) % 4);
			json_object_set_new(o, key, random_value(seed, depth + 1));
		}
		/* deleting and adding again moves a key: the order must follow */
		if (json_object_size(o) > 1) {
			json_object_del(o, json_object_iter_key(json_object_iter(o)));
			json_object_set_new(o, "again", json_integer(1));
		}
		return o;
	}
	}
}

static void test_random_trees(void **state)
{
	unsigned seed = 20261127;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		json_t *v = random_value(&seed, 0);
		assert_as_jansson(v, 0);
		assert_as_jansson(v, JSON_REAL_PRECISION(15));
		json_decref(v);
	}
	assert_null(jsonout_dumps(NULL, 0, NULL));
}

/*
 * Strings of every length to 40 with the bytes a string escapes (and their
 * neighbours, and a two-byte letter) at every place, so that each lands in
 * each byte of the eight the writer tests at once: as jansson writes them.
 */
static void test_escapes_at_every_place(void **state)
{
	static const char *const parts[] = {"a", "\"", "\\",   "\x01", "\x1f",	   " ", "!", "#",
					    "[", "]",  "\x7f", "\n",   "\xc3\xa1", "~", "\t"};
	const size_t n_parts = sizeof(parts) / sizeof(parts[0]);
	unsigned seed = 20261203;
	char buf[128];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len = 0, want = next(&seed) % 41;
		/* mostly plain text, with one or a few bytes to escape */
		unsigned odd = next(&seed) % 4;
		while (len < want) {
			const char *p = next(&seed) % 8 < odd ? parts[next(&seed) % n_parts] : "b";
			size_t pl = strlen(p);
			memcpy(buf + len, p, pl);
			len += pl;
		}
		json_t *v = json_stringn(buf, len);
		assert_non_null(v);
		assert_as_jansson(v, 0);
		json_decref(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars_and_escapes),
	    cmocka_unit_test(test_escapes_at_every_place),
	    cmocka_unit_test(test_random_trees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
