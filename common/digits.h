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

/*
 * strtoull(s, end, 10), by hand for up to 19 digits (stream ids: the feed
 * compares them several times a batch, strtoull cost ~200 instructions a
 * number), strtoull for anything else (no digit, a sign, white space, more
 * digits than surely fit). *end as strtoull sets it.
 */
static inline unsigned long long digits_strtoull(const char *s, const char **end)
{
	unsigned long long v = 0;
	const char *p = s;
	while (*p >= '0' && *p <= '9' && p - s < 19)
		v = v * 10 + (unsigned)(*p++ - '0');
	if (p == s || (*p >= '0' && *p <= '9')) {
		char *e;
		v = strtoull(s, &e, 10);
		p = e;
	}
	*end = p;
	return v;
}

#endif
