/*
 * Unit tests for common/digits.h: the text is snprintf's, the numbers read
 * back are strtoll's and strtoull's, over edge cases and random texts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/digits.h"

static unsigned next(unsigned *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

static void test_i64_as_snprintf(void **state)
{
	static const int64_t edges[] = {0, 1, -1, 9, 10, -10, INT64_MAX, INT64_MIN, 1000000000000};
	char want[32], buf[24];
	unsigned seed = 7;

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 100000; i++) {
		int64_t v = i < sizeof(edges) / sizeof(edges[0])
				? edges[i]
				: (int64_t)(((uint64_t)next(&seed) << 48) ^
					    ((uint64_t)next(&seed) << 24) ^ next(&seed)) >>
				      (next(&seed) % 64);
		snprintf(want, sizeof(want), "%" PRId64, v);
		char *end = buf + sizeof(buf), *p = digits_i64(end, v);
		assert_int_equal((size_t)(end - p), strlen(want));
		assert_memory_equal(p, want, strlen(want));
	}
}

static void test_strtoll_as_libc(void **state)
{
	static const char *const edges[] = {
	    "",
	    "0",
	    "-0",
	    "7",
	    "-7",
	    "123456789012345678",
	    "-123456789012345678",
	    "1234567890123456789",
	    "-9223372036854775808",
	    "9223372036854775808",
	    " 5",
	    "+5",
	    "-",
	    "--1",
	    "12abc",
	    "1-2",
	    "000123",
	    "-000",
	    "99999999999999999999999",
	};
	char buf[32];
	unsigned seed = 20261203;

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		assert_true(digits_strtoll(edges[i]) == strtoll(edges[i], NULL, 10));
	for (int i = 0; i < 200000; i++) {
		size_t len = next(&seed) % 22;
		for (size_t j = 0; j < len; j++)
			buf[j] = "0123456789-+ x"[next(&seed) % 14];
		buf[len] = '\0';
		if (digits_strtoll(buf) != strtoll(buf, NULL, 10))
			fail_msg("digits_strtoll(\"%s\") = %lld, strtoll gives %lld", buf,
				 digits_strtoll(buf), strtoll(buf, NULL, 10));
	}
}

static void test_strtoull_as_libc(void **state)
{
	static const char *const edges[] = {
	    "",
	    "0",
	    "7",
	    "-7",
	    " 5",
	    "+5",
	    "12-3",
	    "1234567890123456789",
	    "9999999999999999999",
	    "18446744073709551615",
	    "18446744073709551616",
	    "99999999999999999999999",
	    "0000000000000000000001",
	    "x1",
	};
	char buf[32];
	unsigned seed = 20261204;

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 200000; i++) {
		const char *s = buf;
		if (i < sizeof(edges) / sizeof(edges[0])) {
			s = edges[i];
		} else {
			size_t len = next(&seed) % 26;
			for (size_t j = 0; j < len; j++)
				buf[j] = "0123456789-+ x"[next(&seed) % 14];
			buf[len] = '\0';
		}
		const char *end;
		char *want_end;
		unsigned long long got = digits_strtoull(s, &end),
				   want = strtoull(s, &want_end, 10);
		if (got != want || end != want_end)
			fail_msg(
			    "digits_strtoull(\"%s\") = %llu ending at %td, strtoull gives %llu "
			    "ending at %td",
			    s, got, end - s, want, want_end - s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_i64_as_snprintf),
	    cmocka_unit_test(test_strtoll_as_libc),
	    cmocka_unit_test(test_strtoull_as_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
