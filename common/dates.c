/*
 * dates — parsing and formatting dates (see dates.h).
 */
#include "common/dates.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil; exact for every year). */
static int64_t dates_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse: civil_from_days. */
static void dates_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int dates_days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/* Exactly n ASCII digits at s; stops at the NUL, never reads past it. */
static int dates_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int dates_parse(const char *s, enum dates_edge edge, int64_t *out_ms, const char **why)
{
	static const char form[] = "must be a date like 2026-12-01 or a date-time with a zone "
				   "like 2026-12-01T08:00:00+07:00";
	int y, mo, d, h, mi, sec, ms = 0, off_min = 0;
	size_t len = s ? strlen(s) : 0;
	const char *p;

	if (len < 10 || len > DATES_TEXT_MAX || dates_digits(s, 4, &y) || s[4] != '-' ||
	    dates_digits(s + 5, 2, &mo) || s[7] != '-' || dates_digits(s + 8, 2, &d))
		goto bad_form;
	if (y < DATES_YEAR_MIN || y > DATES_YEAR_MAX) {
		*why = "the year must be from 2000 to 2100";
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > dates_days_in_month(y, mo)) {
		*why = "no such date";
		return -1;
	}
	int64_t days = dates_days_from_civil(y, mo, d);
	if (len == 10) {
		/* A calendar day in Vietnam: [00:00, 24:00) at UTC+7. */
		if (edge == DATES_DAY_START)
			*out_ms = days * DATES_MS_PER_DAY - DATES_TZ_OFFSET_MS;
		else
			*out_ms = (days + 1) * DATES_MS_PER_DAY - 1 - DATES_TZ_OFFSET_MS;
		return 0;
	}

	/* RFC 3339 date-time: full-date "T" HH:MM:SS [.frac] ("Z" / ±HH:MM). */
	p = s + 10;
	if ((*p != 'T' && *p != 't') || dates_digits(p + 1, 2, &h) || p[3] != ':' ||
	    dates_digits(p + 4, 2, &mi) || p[6] != ':' || dates_digits(p + 7, 2, &sec))
		goto bad_form;
	p += 9;
	if (*p == '.') {
		int n = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 3) /* milliseconds; finer digits are truncated */
				ms = ms * 10 + (*p - '0');
		if (n == 0 || n > 9)
			goto bad_form;
		for (; n < 3; n++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (dates_digits(p + 1, 2, &oh) || p[3] != ':' || dates_digits(p + 4, 2, &om))
			goto bad_form;
		if (oh > 23 || om > 59) {
			*why = "no such UTC offset";
			return -1;
		}
		off_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		goto bad_form;
	}
	if (*p != '\0')
		goto bad_form;
	if (h > 23 || mi > 59 || sec > 59) {
		*why = "no such time of day";
		return -1;
	}
	*out_ms = days * DATES_MS_PER_DAY + ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms -
		  (int64_t)off_min * 60000;
	return 0;

bad_form:
	*why = form;
	return -1;
}

void dates_format(int64_t ms, char *buf, size_t len)
{
	int64_t days = ms / DATES_MS_PER_DAY, rem, y;
	int m, d;

	if (ms % DATES_MS_PER_DAY < 0)
		days--;
	rem = ms - days * DATES_MS_PER_DAY;
	dates_civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999 || len < DATES_BUF) {
		snprintf(buf, len, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d,
			 (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
			 (int)(rem % 1000));
		return;
	}
	/* The usual years by hand: every answer formats a few dates, and
	 * snprintf cost about 3,400 instructions each (callgrind). */
	int f[] = {(int)y / 100,
		   (int)y % 100,
		   m,
		   d,
		   (int)(rem / 3600000),
		   (int)(rem / 60000 % 60),
		   (int)(rem / 1000 % 60)};
	static const char sep[] = {0, 0, '-', '-', 'T', ':', ':'};
	char *o = buf;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (sep[i])
			*o++ = sep[i];
		*o++ = (char)('0' + f[i] / 10);
		*o++ = (char)('0' + f[i] % 10);
	}
	int ms3 = (int)(rem % 1000);
	*o++ = '.';
	*o++ = (char)('0' + ms3 / 100);
	*o++ = (char)('0' + ms3 / 10 % 10);
	*o++ = (char)('0' + ms3 % 10);
	*o++ = 'Z';
	*o = '\0';
}
