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
#include <stdlib.h>

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

/*
 * strtoll(s, NULL, 10), by hand for what the server writes itself (an
 * optional '-' and up to 18 digits: the numbers of its events and Redis
 * rows), strtoll for anything else. strtoll cost ~230 instructions a
 * number; the read-back of a POST's own event parses a dozen.
 */
static inline long long digits_strtoll(const char *s)
{
	const char *p = s + (*s == '-');
	long long v = 0;
	int n = 0;
	while (p[n] >= '0' && p[n] <= '9' && n < 18)
		v = v * 10 + (p[n++] - '0');
	if (n == 0 || (p[n] >= '0' && p[n] <= '9'))
		return strtoll(s, NULL, 10);
	return *s == '-' ? -v : v;
}

#endif
