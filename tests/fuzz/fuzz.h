/*
 * fuzz — what every harness in tests/fuzz/ shares: the libFuzzer entry
 * point, C strings cut from the input, and the checks that turn a broken
 * contract into a crash the fuzzer keeps.
 *
 * A harness never prints while an input is fine: a check that fails writes
 * one line to stderr and aborts, so libFuzzer (or driver.c) reports the
 * input with a stack. Everything a harness allocates it frees before it
 * returns: LeakSanitizer runs at exit of every replay and fuzzing run.
 */
#ifndef CM_TESTS_FUZZ_H
#define CM_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Called once per input by libFuzzer or by driver.c. Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with `what` when cond is false: a broken contract is a finding. */
static inline void fuzz_check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz: contract broken: %s\n", what);
		abort();
	}
}

/* A new NUL-terminated copy of data[0..size) (stops at the first NUL when
 * used as a C string, like every string reaching the server). Caller frees. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	fuzz_check(s != NULL, "out of memory");
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Splits data at the first `sep`: *head is the part before it, *rest what
 * follows (NULL when sep does not occur). Both are new C strings; the caller
 * frees them.
 */
static inline void fuzz_split(const uint8_t *data, size_t size, uint8_t sep, char **head,
			      char **rest)
{
	const uint8_t *p = size ? memchr(data, sep, size) : NULL;

	if (p == NULL) {
		*head = fuzz_cstr(data, size);
		*rest = NULL;
		return;
	}
	*head = fuzz_cstr(data, (size_t)(p - data));
	*rest = fuzz_cstr(p + 1, size - (size_t)(p - data) - 1);
}

/*
 * The contract of every validator in common/ (listing_from_request,
 * listing_apply_patch, account_from_request): a result and no new errors,
 * or no result and at least one new error; each error an object with a
 * string "field" and a non-empty string "message".
 */
static inline void fuzz_check_errors(const json_t *result, const json_t *errors, size_t before)
{
	size_t n = json_array_size(errors), i;
	json_t *e;

	if (result != NULL) {
		fuzz_check(n == before, "a result came back with errors");
		return;
	}
	fuzz_check(json_is_array(errors), "no result and no error array");
	fuzz_check(n > before, "no result and no new error");
	json_array_foreach((json_t *)errors, i, e)
	{
		const char *message = json_string_value(json_object_get(e, "message"));

		fuzz_check(json_is_object(e), "an error that is not an object");
		fuzz_check(json_is_string(json_object_get(e, "field")),
			   "an error without a string \"field\"");
		fuzz_check(message != NULL && message[0] != '\0', "an error without a \"message\"");
	}
}

#endif
