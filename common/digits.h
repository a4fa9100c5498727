/*
 * digits — the decimal text of an integer, written backwards from the end
 * of the caller's buffer, as snprintf's "%" PRId64 / "%" PRIu64 would write
 * it, at a tenth of its cost (~700 instructions a number). The request path
 * writes several numbers a request (the Redis commands' lengths, the
 * engine record, the create call's arguments, JSON integers).
 */
#ifndef CM_DIGITS_H
#define CM_DIGITS_H

#include <stdint.h>

/* The digits of u, ending just before end (no NUL); returns where they
 * start. 20 bytes before end hold any uint64_t. */
static inline char *digits_u64(char *end, uint64_t u)
{
	char *p = end;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	return p;
}

/* The same for a signed value, with its '-': 21 bytes hold any int64_t. */
static inline char *digits_i64(char *end, int64_t v)
{
	char *p = digits_u64(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	return p;
}

#endif
