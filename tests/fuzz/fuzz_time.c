/*
 * fuzz_time — common/listing's date parser: "YYYY-MM-DD" and RFC 3339
 * date-times, as sent in needed_by, available_from and available_until.
 *
 * Input: the text, as a C string (cut at the first NUL, as jansson strings
 * with a NUL never reach the parser), parsed at both ends of the day.
 *
 * Checked beyond "no crash": both edges agree on whether the text is a
 * time; the start of a day is not after its end (and a date-time is one
 * instant); a refusal has a reason; the time is within the accepted years
 * (give or take the zone); dates_format() of it parses back to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/listing.h"
#include "tests/fuzz/fuzz.h"

/* 2000-01-01T00:00:00Z - 1 day and 2101-01-01T00:00:00Z + 1 day, in ms. */
#define FUZZ_TIME_MIN (INT64_C(946684800000) - INT64_C(86400000))
#define FUZZ_TIME_MAX (INT64_C(4133980800000) + INT64_C(86400000))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	char buf[DATES_BUF];
	const char *why_start = NULL, *why_end = NULL, *why = NULL;
	int64_t start = -1, end = -1, back = -1;
	int r_start = dates_parse(s, DATES_DAY_START, &start, &why_start);
	int r_end = dates_parse(s, DATES_DAY_END, &end, &why_end);

	fuzz_check(r_start == r_end, "the day's edges disagree on whether it is a time");
	if (r_start != 0) {
		fuzz_check(why_start != NULL && why_end != NULL, "refused without a reason");
		free(s);
		return 0;
	}
	fuzz_check(start <= end, "the start of a day is after its end");
	fuzz_check(strlen(s) == 10 || start == end, "a date-time depends on the edge");
	fuzz_check(strlen(s) != 10 || end - start == INT64_C(86400000) - 1,
		   "a day is not 24 hours long");
	fuzz_check(start >= FUZZ_TIME_MIN && end <= FUZZ_TIME_MAX, "a time outside the years");

	/* The formatted instant is an RFC 3339 UTC time: the same ms back, or
	 * refused only when UTC falls outside the accepted years. */
	dates_format(start, buf, sizeof(buf));
	if (dates_parse(buf, DATES_DAY_START, &back, &why) == 0)
		fuzz_check(back == start, "dates_format() does not parse back");
	dates_parse(NULL, DATES_DAY_END, &back, &why);
	fuzz_check(why != NULL, "NULL refused without a reason");
	free(s);
	return 0;
}
