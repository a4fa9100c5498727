/*
 * Unit tests for common/dates: "YYYY-MM-DD" days in Vietnam's time zone and
 * RFC 3339 date-times to epoch milliseconds and back, and what is refused.
 * Expected values worked out by hand and checked against an independent
 * calendar.
 */
#include <time.h>

#include "listing_kit.h"

static void assert_time(const char *s, enum dates_edge edge, int64_t want)
{
	int64_t got = -1;
	const char *why = NULL;

	if (dates_parse(s, edge, &got, &why) != 0)
		fail_msg("%s: %s", s, why);
	if (got != want)
		fail_msg("%s: got %lld, want %lld", s, (long long)got, (long long)want);
}

static void assert_time_bad(const char *s, const char *want_why)
{
	int64_t got = -7;
	const char *why = NULL;

	if (dates_parse(s, DATES_DAY_END, &got, &why) == 0)
		fail_msg("%s accepted as %lld", s, (long long)got);
	assert_int_equal(got, -7);
	assert_contains(why, want_why);
}

static void test_time_parse(void **state)
{
	(void)state;
	char buf[DATES_BUF];

	/* A bare date is a day in Vietnam (UTC+7): its end for deadlines... */
	assert_time("2026-12-01", DATES_DAY_END, DEC1_END);
	dates_format(DEC1_END, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-01T16:59:59.999Z");
	/* ...its start (00:00 local = 17:00Z the day before) for available_from. */
	assert_time("2026-12-01", DATES_DAY_START, DEC1_END + 1 - INT64_C(86400000));
	dates_format(DEC1_END + 1 - INT64_C(86400000), buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-30T17:00:00.000Z");

	/* RFC 3339 with offsets: the same instant three ways. */
	assert_time("2026-12-01T08:00:00+07:00", DATES_DAY_END, DEC1_8AM);
	assert_time("2026-12-01T01:00:00Z", DATES_DAY_END, DEC1_8AM);
	assert_time("2026-11-30t19:30:00-05:30", DATES_DAY_END, DEC1_8AM);
	assert_time("2026-12-01T01:00:00.5z", DATES_DAY_END, DEC1_8AM + 500);
	assert_time("2026-12-01T01:00:00.123999+00:00", DATES_DAY_END, DEC1_8AM + 123);
	/* Across a year boundary. */
	assert_time("2026-12-31T23:30:00-05:30", DATES_DAY_END, INT64_C(1798779600000));
	/* Leap days, and the ends of the accepted range. */
	assert_time("2028-02-29", DATES_DAY_END, INT64_C(1835456399999));
	assert_time("2000-01-01", DATES_DAY_START, INT64_C(946659600000));
	assert_time("2100-12-31", DATES_DAY_START, INT64_C(4133869200000));

	assert_time_bad("2026-02-30", "no such date");
	assert_time_bad("2027-02-29", "no such date");
	assert_time_bad("2100-02-29", "no such date"); /* not a leap year */
	assert_time_bad("2026-13-01", "no such date");
	assert_time_bad("2026-04-31", "no such date");
	assert_time_bad("2026-00-10", "no such date");
	assert_time_bad("1999-12-31", "year");
	assert_time_bad("2101-01-01", "year");
	assert_time_bad("2026-12-01T24:00:00Z", "no such time");
	assert_time_bad("2026-12-01T08:60:00Z", "no such time");
	assert_time_bad("2026-12-01T08:00:60Z", "no such time");
	assert_time_bad("2026-12-01T08:00:00+24:00", "offset");
	const char *forms[] = {"2026-1-01",
			       "26-12-01",
			       "2026/12/01",
			       "2026-12-01T08:00",
			       "2026-12-01T08:00:00",
			       "2026-12-01 08:00:00Z",
			       "2026-12-01T08:00:00+0700",
			       "2026-12-01T08:00:00+7:00",
			       "2026-12-01T08:00:00.Z",
			       "2026-12-01T08:00:00.1234567890Z",
			       "2026-12-01Z",
			       "2026-12-01T08:00:00Zjunk",
			       " 2026-12-01",
			       "２０２６-12-01",
			       "",
			       "tomorrow"};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		assert_time_bad(forms[i], "must be a date like 2026-12-01");

	dates_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	dates_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
	dates_format(INT64_C(951782400000), buf, sizeof(buf)); /* 2000-02-29 */
	assert_string_equal(buf, "2000-02-29T00:00:00.000Z");
}

/* dates_format against libc's own calendar (gmtime_r) over many instants,
 * from year 1 to 9999, and at the edges of days and years. */
static void test_format_oracle(void **state)
{
	(void)state;
	uint64_t x = 88172645463325252ULL;
	const int64_t lo = INT64_C(-62135596800000), hi = INT64_C(253402300799999);
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int64_t ms = lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
		if (i % 4 == 1)
			ms -= ms % 86400000 + (i % 8 == 1 ? 0 : 1); /* a midnight, or just before */
		time_t sec = (time_t)(ms / 1000 - (ms % 1000 < 0));
		int frac = (int)(ms - (int64_t)sec * 1000);
		struct tm tm;
		char want[64], got[DATES_BUF];
		gmtime_r(&sec, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, frac);
		dates_format(ms, got, sizeof(got));
		if (strcmp(got, want) != 0)
			fail_msg("%lld: got %s, want %s", (long long)ms, got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time_parse),
	    cmocka_unit_test(test_format_oracle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
