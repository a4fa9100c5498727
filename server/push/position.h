/*
 * position — cm:events entry ids ("<ms>-<seq>") as positions in the stream:
 * parsed strictly and compared as the pair of numbers Redis orders them by.
 *
 * A client hands a position back (Last-Event-ID, last_event_id=): it is
 * checked here before it is ever sent to Redis. Pure: no I/O.
 */
#ifndef CM_PUSH_POSITION_H
#define CM_PUSH_POSITION_H

#include <stdint.h>

#define POSITION_MAX 48 /* buffer size for the text of a position, with NUL */

struct position {
	uint64_t ms, seq;
};

/*
 * Parses "<ms>-<seq>": decimal digits only, no sign, no leading zero, each
 * part at most 2^64 - 1. Returns 0, or -1 when s is not such an id.
 */
int position_parse(const char *s, struct position *out);

/* <0, 0 or >0 as a is before, at or after b. */
int position_cmp(const struct position *a, const struct position *b);

/* The text of p ("<ms>-<seq>", as parsed) into buf of POSITION_MAX bytes; returns buf. */
char *position_format(const struct position *p, char *buf);

#endif
