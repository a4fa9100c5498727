/*
 * dates — the dates and times of the API: "YYYY-MM-DD" days in Vietnam and
 * RFC 3339 date-times, to and from milliseconds since the epoch.
 *
 * Hand-written and strict (no locale, no strptime): exact civil-day
 * arithmetic in integers. Pure: no I/O, no clock.
 */
#ifndef CM_DATES_H
#define CM_DATES_H

#include <stddef.h>
#include <stdint.h>

#define DATES_MS_PER_DAY INT64_C(86400000)
#define DATES_YEAR_MIN 2000 /* dates outside these years are refused */
#define DATES_YEAR_MAX 2100
#define DATES_TEXT_MAX 40 /* characters of a date or date-time */
/* Vietnam's offset from UTC (ICT, UTC+7, no daylight saving), in ms. */
#define DATES_TZ_OFFSET_MS (INT64_C(7) * 3600 * 1000)
/* Buffer for dates_format(): "2026-12-01T16:59:59.999Z" + NUL. */
#define DATES_BUF 32

/* Which end of a calendar day a bare "YYYY-MM-DD" means. */
enum dates_edge { DATES_DAY_START, DATES_DAY_END };

/*
 * Parses a date ("YYYY-MM-DD", a day in Vietnam, taken at `edge`) or an RFC
 * 3339 date-time with "Z" or a numeric offset (fractions of a second beyond
 * milliseconds are truncated; no leap second) into ms since the epoch.
 * Years DATES_YEAR_MIN..MAX as written. 0, or -1 with a static English
 * *why ("no such date: …" cases included).
 */
int dates_parse(const char *s, enum dates_edge edge, int64_t *out_ms, const char **why);

/* ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at least
 * DATES_BUF bytes). */
void dates_format(int64_t ms, char *buf, size_t len);

#endif
