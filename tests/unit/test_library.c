/*
 * Unit tests for the function library's version (server/store/lua/ (every .lua file)
 * as embedded in craftmatchd): the recorded LIBRARY_HASH is the SHA-256 of
 * the text without its LIBRARY_VERSION and LIBRARY_HASH lines, so a change
 * to the library without a new version fails here; the version craftmatchd
 * believes it loads is the one in the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "server/store/library.h"

extern const char store_functions_lua[];
extern const size_t store_functions_lua_len;

#define VERSION_LINE "local LIBRARY_VERSION = "
#define HASH_LINE "local LIBRARY_HASH = '"
#define SERVES_LINE "local LIBRARY_SERVES_FROM = "

/* The rest of the line that starts with prefix, or NULL. */
static const char *library_line(const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = store_functions_lua; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, prefix, n) == 0)
			return p + n;
	return NULL;
}

/* SHA-256 (hex) of the text without its version and hash lines. */
static void content_hash(char hex[crypto_hash_sha256_BYTES * 2 + 1])
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	const char *p = store_functions_lua, *end = p + store_functions_lua_len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		if (strncmp(p, VERSION_LINE, strlen(VERSION_LINE)) != 0 &&
		    strncmp(p, HASH_LINE, strlen(HASH_LINE)) != 0)
			crypto_hash_sha256_update(&st, (const unsigned char *)p,
						  (size_t)(next - p));
		p = next;
	}
	unsigned char out[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&st, out);
	sodium_bin2hex(hex, crypto_hash_sha256_BYTES * 2 + 1, out, sizeof(out));
}

static void test_hash_matches_content(void **state)
{
	char hex[crypto_hash_sha256_BYTES * 2 + 1];
	content_hash(hex);
	const char *recorded = library_line(HASH_LINE);
	assert_non_null(recorded);
	if (strncmp(recorded, hex, strlen(hex)) != 0 || recorded[strlen(hex)] != '\'') {
		fail_msg("the library (server/store/lua) changed without a new version: raise "
			 "LIBRARY_VERSION to %ld (and LIBRARY_SERVES_FROM too if older craftmatchd "
			 "can no longer call it) and set LIBRARY_HASH = '%s'",
			 library_version() + 1, hex);
	}
}

static void test_version_is_the_texts(void **state)
{
	const char *v = library_line(VERSION_LINE);
	const char *from = library_line(SERVES_LINE);
	assert_non_null(v);
	assert_non_null(from);
	assert_int_equal(strtol(v, NULL, 10), library_version());
	assert_true(library_version() >= 1);
	/* A library serves its own version and maybe older ones, never newer. */
	assert_in_range(strtol(from, NULL, 10), 1, library_version());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hash_matches_content),
	    cmocka_unit_test(test_version_is_the_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
