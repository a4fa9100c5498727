/*
 * matching_record — the compact candidate of a listing: built from a stored
 * document, and the one-line record the engine's index keeps (encode and
 * decode). See matching.h.
 */
#include "common/matching.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digits.h"
#include "common/geo.h"
#include "common/ids.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/units.h"
#include "common/matching_int.h"

/* ---- from a stored document ------------------------------------------- */

/* doc[key] as an integer in lo..hi: 1 set, 0 absent or null, -1 bad. */
static int matching_int(const json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -1;
	*out = json_integer_value(v);
	return 1;
}

/* A string member that fits buf[IDS_MAX]; 0 or -1. */
static int matching_id(const json_t *doc, const char *key, char out[IDS_MAX])
{
	const char *s = json_string_value(json_object_get(doc, key));

	if (s == NULL || s[0] == '\0' || strlen(s) >= IDS_MAX)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int matching_fail(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

int matching_listing_from_doc(struct matching_listing *out, const json_t *doc, int64_t remaining,
			      int64_t version, int64_t seq, const char **why)
{
	const char *grade;
	json_t *price, *loc;
	int64_t v = 0, lat, lon;
	enum listing_kind kind = listing_kind_of(doc);

	memset(out, 0, sizeof(*out));
	out->grade_rank = -1;
	out->price_factor = 1;
	out->remaining = remaining;
	out->version = version;
	out->seq = seq;
	if (!json_is_object(doc) || kind == LISTING_KIND_UNKNOWN)
		return matching_fail(why, "not a need or an offer");
	out->kind = (uint8_t)kind;
	if (matching_id(doc, "id", out->id) != 0)
		return matching_fail(why, "missing id");
	if (matching_id(doc, "owner", out->owner) != 0)
		return matching_fail(why, "missing owner");
	if (remaining < 0 || remaining > UNITS_MAX_BASE)
		return matching_fail(why, "remaining out of range");

	out->material = materials_find(json_string_value(json_object_get(doc, "material")));
	if (out->material == NULL)
		return matching_fail(why, "unknown material");
	grade = json_string_value(json_object_get(doc, "grade"));
	if (grade != NULL) {
		int rank = materials_grade_rank(out->material, grade);
		if (rank < 0)
			return matching_fail(why, "grade not on the material's scale");
		out->grade_rank = (int8_t)rank;
	} else if (json_object_get(doc, "grade") != NULL) {
		return matching_fail(why, "grade not on the material's scale");
	}
	if (kind == LISTING_NEED)
		out->accept_substitutes = json_is_true(json_object_get(doc, "accept_substitutes"));

	price = json_object_get(doc, "price");
	if (price != NULL) {
		if (matching_int(price, "vnd", LISTING_PRICE_MIN, LISTING_PRICE_MAX,
				 &out->price_vnd) != 1 ||
		    matching_int(price, "factor", 1, MATERIALS_FACTOR_MAX, &out->price_factor) != 1)
			return matching_fail(why, "bad price");
	} else if (kind == LISTING_OFFER) {
		return matching_fail(why, "offer without a price");
	}

	out->province = provinces_find(json_string_value(json_object_get(doc, "province")));
	if (out->province == NULL)
		return matching_fail(why, "unknown province");
	loc = json_object_get(doc, "location");
	if (loc != NULL) {
		if (matching_int(loc, "lat_udeg", INT32_MIN, INT32_MAX, &lat) != 1 ||
		    matching_int(loc, "lon_udeg", INT32_MIN, INT32_MAX, &lon) != 1 ||
		    geo_check((int32_t)lat, (int32_t)lon, NULL) != 0)
			return matching_fail(why, "bad location");
		out->lat_udeg = (int32_t)lat;
		out->lon_udeg = (int32_t)lon;
		out->has_location = 1;
	}

	if (kind == LISTING_NEED) {
		if (matching_int(doc, "needed_by", 0, INT64_MAX, &out->needed_by_ms) != 1)
			return matching_fail(why, "need without needed_by");
	} else {
		if (matching_int(doc, "available_from", 0, INT64_MAX, &out->available_from_ms) <
			0 ||
		    matching_int(doc, "available_until", 1, INT64_MAX, &out->available_until_ms) <
			0)
			return matching_fail(why, "bad availability dates");
		if (matching_int(json_object_get(doc, "min_order"), "base", 1, UNITS_MAX_BASE,
				 &out->min_order_base) < 0)
			return matching_fail(why, "bad min_order");
	}
	if (matching_int(doc, "max_distance_km", LISTING_DISTANCE_MIN_KM, LISTING_DISTANCE_MAX_KM,
			 &v) < 0)
		return matching_fail(why, "bad max_distance_km");
	out->max_distance_km = (int32_t)v; /* 0 when absent */
	return 0;
}

/* Appends a word (and a space before it unless first) at *o; 0, or -1 when it does not fit. */
static int matching_put(char *buf, size_t len, size_t *o, const char *w, size_t n)
{
	size_t sp = *o > 0;
	if (*o + sp + n >= len)
		return -1;
	if (sp)
		buf[(*o)++] = ' ';
	memcpy(buf + *o, w, n);
	*o += n;
	return 0;
}

/* The decimal digits of v (snprintf's "%" PRId64, at a tenth of its cost). */
static int matching_put_int(char *buf, size_t len, size_t *o, int64_t v)
{
	char d[24], *end = d + sizeof(d), *p = digits_i64(end, v);
	return matching_put(buf, len, o, p, (size_t)(end - p));
}

int matching_listing_encode(const struct matching_listing *l, char *buf, size_t len)
{
	if (l->material == NULL || l->province == NULL)
		return -1;
	/*
	 * "m1 KIND MATERIAL PROVINCE GRADE SUBST PRICE FACTOR NEEDED_BY FROM UNTIL
	 * MIN_ORDER MAX_KM HAS_LOC LAT LON ID OWNER", written by hand: a POST
	 * encodes one, and snprintf spent ~6,000 instructions on it.
	 */
	const int64_t nums[] = {(int64_t)l->kind,
				0, /* material */
				0, /* province */
				l->grade_rank,
				l->accept_substitutes,
				l->price_vnd,
				l->price_factor,
				l->needed_by_ms,
				l->available_from_ms,
				l->available_until_ms,
				l->min_order_base,
				l->max_distance_km,
				l->has_location,
				l->lat_udeg,
				l->lon_udeg};
	size_t o = 0;
	if (matching_put(buf, len, &o, "m1", 2) != 0)
		return -1;
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		int rc;
		if (i == 1)
			rc = matching_put(buf, len, &o, l->material->code,
					  strlen(l->material->code));
		else if (i == 2)
			rc = matching_put(buf, len, &o, l->province->code,
					  strlen(l->province->code));
		else
			rc = matching_put_int(buf, len, &o, nums[i]);
		if (rc != 0)
			return -1;
	}
	if (matching_put(buf, len, &o, l->id, strlen(l->id)) != 0 ||
	    matching_put(buf, len, &o, l->owner, strlen(l->owner)) != 0)
		return -1;
	buf[o] = '\0';
	return 0;
}

/*
 * The engine's start-up decodes a million records: words and numbers are
 * scanned by hand (strcspn, strtoll and errno cost several times more).
 */

/* The next space-separated word of *p: *w and *n; 0, or -1 when none. */
static int matching_next(const char **p, const char **w, size_t *n)
{
	const char *s = *p, *e;
	while (*s == ' ')
		s++;
	for (e = s; *e && *e != ' '; e++)
		;
	if (e == s)
		return -1;
	*w = s;
	*n = (size_t)(e - s);
	*p = e;
	return 0;
}

/* The next word of *p into buf; 0, or -1 when none fits. */
static int matching_word(const char **p, char *buf, size_t len)
{
	const char *w;
	size_t n;
	if (matching_next(p, &w, &n) < 0 || n >= len)
		return -1;
	memcpy(buf, w, n);
	buf[n] = '\0';
	return 0;
}

/* The next word of *p as a decimal integer in [min, max]; 0, or -1. */
static int matching_number(const char **p, int64_t min, int64_t max, int64_t *out)
{
	const char *w;
	size_t n, i = 0;
	if (matching_next(p, &w, &n) < 0)
		return -1;
	int neg = w[0] == '-';
	if (neg || w[0] == '+')
		i = 1;
	if (i == n || n - i > 19)
		return -1;
	uint64_t v = 0; /* 19 digits never overflow it */
	for (; i < n; i++) {
		unsigned d = (unsigned)(unsigned char)w[i] - '0';
		if (d > 9)
			return -1;
		v = v * 10 + d;
	}
	if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
		return -1;
	int64_t x = neg ? (int64_t)(0 - v) : (int64_t)v;
	if (x < min || x > max)
		return -1;
	*out = x;
	return 0;
}

int matching_listing_decode(struct matching_listing *out, const char *text, int64_t remaining,
			    int64_t version, int64_t seq, const char **why)
{
	const char *p = text;
	char w[IDS_MAX];
	int64_t kind, grade, subst, has_loc, lat, lon, max_km;
	memset(out, 0, sizeof(*out));
	if (matching_word(&p, w, sizeof(w)) < 0 || strcmp(w, "m1") != 0)
		return matching_fail(why, "not an engine record");
	if (matching_number(&p, LISTING_NEED, LISTING_OFFER, &kind) < 0 ||
	    matching_word(&p, w, sizeof(w)) < 0 || (out->material = materials_find(w)) == NULL ||
	    matching_word(&p, w, sizeof(w)) < 0 || (out->province = provinces_find(w)) == NULL ||
	    matching_number(&p, -1, INT8_MAX, &grade) < 0 ||
	    matching_number(&p, 0, 1, &subst) < 0 ||
	    matching_number(&p, 0, LISTING_PRICE_MAX, &out->price_vnd) < 0 ||
	    matching_number(&p, 1, MATERIALS_FACTOR_MAX, &out->price_factor) < 0 ||
	    matching_number(&p, 0, INT64_MAX, &out->needed_by_ms) < 0 ||
	    matching_number(&p, 0, INT64_MAX, &out->available_from_ms) < 0 ||
	    matching_number(&p, 0, INT64_MAX, &out->available_until_ms) < 0 ||
	    matching_number(&p, 0, UNITS_MAX_BASE, &out->min_order_base) < 0 ||
	    matching_number(&p, 0, LISTING_DISTANCE_MAX_KM, &max_km) < 0 ||
	    matching_number(&p, 0, 1, &has_loc) < 0 ||
	    matching_number(&p, INT32_MIN, INT32_MAX, &lat) < 0 ||
	    matching_number(&p, INT32_MIN, INT32_MAX, &lon) < 0 ||
	    matching_word(&p, out->id, sizeof(out->id)) < 0 ||
	    matching_word(&p, out->owner, sizeof(out->owner)) < 0 || *p != '\0')
		return matching_fail(why, "malformed engine record");
	if (remaining < 0 || remaining > UNITS_MAX_BASE)
		return matching_fail(why, "remaining out of range");
	out->kind = (uint8_t)kind;
	out->grade_rank = (int8_t)grade;
	out->accept_substitutes = (uint8_t)subst;
	out->max_distance_km = (int32_t)max_km;
	out->has_location = (uint8_t)has_loc;
	out->lat_udeg = (int32_t)lat;
	out->lon_udeg = (int32_t)lon;
	out->remaining = remaining;
	out->version = version;
	out->seq = seq;
	return 0;
}
