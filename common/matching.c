/*
 * matching — candidates, exact landed costs, hard filters, the greedy split
 * allocation and its explanation (see matching.h). No I/O, no clock, no
 * floating point: products that can pass int64 go through __int128 and are
 * checked before they are narrowed.
 */
#include "common/matching.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "common/geo.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/units.h"
#include "common/xalloc.h"

__extension__ typedef __int128 matching_i128;

static const char *const matching_from_names[] = {
    [MATCHING_FROM_COORDINATES] = "coordinates",
    [MATCHING_FROM_PROVINCE_CENTRES] = "province centres",
    [MATCHING_FROM_INTRA_PROVINCE] = "intra-province minimum",
    [MATCHING_FROM_MIXED] = "coordinates and a province centre",
};

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

int matching_listing_encode(const struct matching_listing *l, char *buf, size_t len)
{
	if (l->material == NULL || l->province == NULL)
		return -1;
	int n = snprintf(buf, len,
			 "m1 %u %s %s %d %u %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
			 " %" PRId64 " %" PRId64 " %" PRId32 " %u %" PRId32 " %" PRId32 " %s %s",
			 (unsigned)l->kind, l->material->code, l->province->code,
			 (int)l->grade_rank, (unsigned)l->accept_substitutes, l->price_vnd,
			 l->price_factor, l->needed_by_ms, l->available_from_ms,
			 l->available_until_ms, l->min_order_base, l->max_distance_km,
			 (unsigned)l->has_location, l->lat_udeg, l->lon_udeg, l->id, l->owner);
	return n > 0 && (size_t)n < len ? 0 : -1;
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

/* ---- costs ------------------------------------------------------------ */

int64_t matching_price_micro(const struct matching_listing *offer)
{
	if (offer->price_vnd <= 0 || offer->price_factor < 1)
		return -1;
	matching_i128 micro =
	    (matching_i128)offer->price_vnd * MATCHING_MICRO / offer->price_factor;
	return micro > INT64_MAX ? -1 : (int64_t)micro;
}

/*
 * Road km between every two province centres, computed once: most listings
 * give no coordinates, and the trigonometry would otherwise run for every
 * candidate of every plan.
 */
#define MATCHING_MAX_PROVINCES 64
static int64_t matching_centre_km[MATCHING_MAX_PROVINCES][MATCHING_MAX_PROVINCES];
static once_flag matching_centres_once = ONCE_FLAG_INIT;

static void matching_centres_build(void)
{
	size_t n = provinces_count();
	for (size_t i = 0; i < n && i < MATCHING_MAX_PROVINCES; i++)
		for (size_t j = 0; j < n && j < MATCHING_MAX_PROVINCES; j++) {
			const struct province *a = provinces_at(i), *b = provinces_at(j);
			matching_centre_km[i][j] =
			    geo_road_km(a->lat_udeg, a->lon_udeg, b->lat_udeg, b->lon_udeg);
		}
}

/* The table's index of p, or -1 when p is not in the provinces table. */
static long matching_province_index(const struct province *p)
{
	const struct province *first = provinces_at(0);
	size_t n = provinces_count();
	if (p == NULL || first == NULL || p < first || p >= first + n || n > MATCHING_MAX_PROVINCES)
		return -1;
	return (long)(p - first);
}

int64_t matching_distance(const struct matching_listing *a, const struct matching_listing *b,
			  enum matching_distance_from *from)
{
	enum matching_distance_from basis = MATCHING_FROM_COORDINATES;
	int32_t alat, alon, blat, blon;
	int64_t km;

	if (a->has_location && b->has_location) {
		km = geo_road_km(a->lat_udeg, a->lon_udeg, b->lat_udeg, b->lon_udeg);
	} else if ((!a->has_location && a->province == NULL) ||
		   (!b->has_location && b->province == NULL)) {
		km = 0; /* unknown place: nothing to measure; the floor below */
		basis = MATCHING_FROM_PROVINCE_CENTRES;
	} else if (!a->has_location && !b->has_location &&
		   matching_province_index(a->province) >= 0 &&
		   matching_province_index(b->province) >= 0) {
		call_once(&matching_centres_once, matching_centres_build);
		km = matching_centre_km[matching_province_index(a->province)]
				       [matching_province_index(b->province)];
		basis = MATCHING_FROM_PROVINCE_CENTRES;
	} else {
		alat = a->has_location ? a->lat_udeg : a->province->lat_udeg;
		alon = a->has_location ? a->lon_udeg : a->province->lon_udeg;
		blat = b->has_location ? b->lat_udeg : b->province->lat_udeg;
		blon = b->has_location ? b->lon_udeg : b->province->lon_udeg;
		km = geo_road_km(alat, alon, blat, blon);
		basis = a->has_location || b->has_location ? MATCHING_FROM_MIXED
							   : MATCHING_FROM_PROVINCE_CENTRES;
	}
	if (basis != MATCHING_FROM_COORDINATES && a->province == b->province &&
	    km < MATCHING_INTRA_PROVINCE_KM) {
		km = MATCHING_INTRA_PROVINCE_KM;
		basis = MATCHING_FROM_INTRA_PROVINCE;
	}
	if (from)
		*from = basis;
	return km;
}

int64_t matching_distance_km(const struct matching_listing *a, const struct matching_listing *b)
{
	return matching_distance(a, b, NULL);
}

const char *matching_distance_from_str(enum matching_distance_from from)
{
	return (unsigned)from <= MATCHING_FROM_MIXED ? matching_from_names[from] : "unknown";
}

int64_t matching_freight_micro(const struct material *m, int64_t distance_km, int64_t rate)
{
	if (m == NULL || m->mass_g < 0 || distance_km < 0 || rate < 0)
		return -1;
	/* Each product of two int64 values fits __int128; check in between. */
	matching_i128 f = (matching_i128)distance_km * m->mass_g;
	if (f > INT64_MAX)
		return -1;
	f *= rate;
	return f > INT64_MAX ? -1 : (int64_t)f;
}

/* num / den rounded half up, num >= 0, den > 0. */
static matching_i128 matching_div_half_up(matching_i128 num, matching_i128 den)
{
	return (2 * num + den) / (2 * den);
}

int matching_totals(const struct matching_listing *offer, int64_t q, int64_t distance_km,
		    int64_t rate, int64_t *goods_vnd, int64_t *freight_vnd, int64_t *landed_vnd)
{
	const matching_i128 cap = MATCHING_TOTAL_VND_MAX;
	matching_i128 goods, freight;
	int64_t per;

	if (q < 0 || q > UNITS_MAX_BASE || offer->price_vnd <= 0 ||
	    offer->price_vnd > LISTING_PRICE_MAX || offer->price_factor < 1 ||
	    rate > MATCHING_RATE_MAX)
		return -1;
	per = matching_freight_micro(offer->material, distance_km, rate);
	if (per < 0)
		return -1;
	/* q < 2^40 and price_vnd, per < 2^63: both products fit __int128. */
	goods = matching_div_half_up((matching_i128)q * offer->price_vnd, offer->price_factor);
	freight = matching_div_half_up((matching_i128)q * per, MATCHING_MICRO);
	if (goods > cap || freight > cap || goods + freight > cap)
		return -1;
	if (goods_vnd)
		*goods_vnd = (int64_t)goods;
	if (freight_vnd)
		*freight_vnd = (int64_t)freight;
	if (landed_vnd)
		*landed_vnd = (int64_t)(goods + freight);
	return 0;
}

/* ---- hard filters ----------------------------------------------------- */

/* The grade filter: 1 passes, 0 refuses (see the header on substitutes). */
static int matching_grade_ok(const struct matching_listing *need,
			     const struct matching_listing *offer)
{
	const struct material *nm = need->material;
	int min;

	if (need->grade_rank < 0)
		return 1; /* no minimum */
	if (offer->material == nm) {
		min = need->grade_rank;
	} else {
		if (need->grade_rank == 0 || (size_t)need->grade_rank > nm->n_grades)
			return 0; /* not a rank of the need's scale: cannot tell */
		min = materials_grade_rank(offer->material,
					   nm->grades[nm->n_grades - (size_t)need->grade_rank]);
		if (min < 0)
			return 1; /* scales not comparable: the filter does not apply */
	}
	return offer->grade_rank >= min;
}

static int matching_refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return 0;
}

/*
 * Every hard filter but distance, in the documented order: the part that
 * needs no trigonometry, so a plan runs it first and measures distance only
 * for the candidates that pass.
 */
static int matching_compatible_here(const struct matching_listing *need,
				    const struct matching_listing *offer, int64_t now_ms,
				    const char **why)
{
	if (need == NULL || offer == NULL || need->kind != LISTING_NEED ||
	    offer->kind != LISTING_OFFER)
		return matching_refuse(why, "not a need and an offer");
	if (strcmp(need->owner, offer->owner) == 0)
		return matching_refuse(why, "same owner");
	if (need->remaining <= 0)
		return matching_refuse(why, "the need has nothing remaining");
	if (offer->remaining <= 0)
		return matching_refuse(why, "the offer has nothing remaining");
	if (offer->remaining < offer->min_order_base)
		return matching_refuse(why, "the offer's remaining is below its minimum order");
	if (need->remaining < offer->min_order_base)
		return matching_refuse(why,
				       "the need's remaining is below the offer's minimum order");
	if (need->material == NULL || offer->material == NULL ||
	    (need->material != offer->material && !need->accept_substitutes))
		return matching_refuse(why, "different material");
	if (need->material != offer->material &&
	    !materials_is_substitute(need->material, offer->material))
		return matching_refuse(why, "not an accepted substitute");
	if (!matching_grade_ok(need, offer))
		return matching_refuse(why, "grade below the need's minimum");
	if (need->price_vnd > 0 && (offer->price_factor < 1 || need->price_factor < 1 ||
				    (matching_i128)offer->price_vnd * need->price_factor >
					(matching_i128)need->price_vnd * offer->price_factor))
		return matching_refuse(why, "price above the need's maximum");
	if (need->needed_by_ms <= now_ms)
		return matching_refuse(why, "the need's deadline has passed");
	if (offer->available_until_ms != 0 && offer->available_until_ms <= now_ms)
		return matching_refuse(why, "the offer is no longer available");
	if (offer->available_from_ms > need->needed_by_ms)
		return matching_refuse(why, "available only after the need's deadline");
	return 1;
}

/* The distance filters: each side's maximum distance, when it has one. */
static int matching_compatible_apart(const struct matching_listing *need,
				     const struct matching_listing *offer, int64_t distance_km,
				     const char **why)
{
	if (need->max_distance_km > 0 && distance_km > need->max_distance_km)
		return matching_refuse(why, "beyond the need's maximum distance");
	if (offer->max_distance_km > 0 && distance_km > offer->max_distance_km)
		return matching_refuse(why, "beyond the offer's maximum distance");
	return 1;
}

int matching_compatible(const struct matching_listing *need, const struct matching_listing *offer,
			int64_t now_ms, int64_t distance_km, const char **why)
{
	return matching_compatible_here(need, offer, now_ms, why) &&
	       matching_compatible_apart(need, offer, distance_km, why);
}

/* ---- ranking and allocation ------------------------------------------- */

/* A compatible candidate with its sort keys; cand is the listing. */
struct matching_entry {
	int64_t landed_micro;
	int64_t deadline; /* tie-break 2: INT64_MAX for an open-ended offer */
	const struct matching_listing *cand;
	size_t index;
	int64_t distance_km;
	int64_t price_micro;
	int64_t freight_micro;
	enum matching_distance_from from;
};

static int matching_cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

static int matching_entry_cmp(const struct matching_entry *a, const struct matching_entry *b)
{
	int c;

	if ((c = matching_cmp_i64(a->landed_micro, b->landed_micro)) != 0)
		return c;
	if ((c = matching_cmp_i64(a->deadline, b->deadline)) != 0)
		return c;
	/* Ties past the cost and deadline are rare: only they read the listings. */
	if ((c = matching_cmp_i64(a->cand->seq, b->cand->seq)) != 0)
		return c;
	if ((c = strcmp(a->cand->id, b->cand->id)) != 0)
		return c;
	return (a->index > b->index) - (a->index < b->index);
}

/* A binary min-heap of entries under matching_entry_cmp. */
static void matching_sift_down(struct matching_entry *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && matching_entry_cmp(&h[l], &h[m]) < 0)
			m = l;
		if (r < n && matching_entry_cmp(&h[r], &h[m]) < 0)
			m = r;
		if (m == i)
			return;
		struct matching_entry t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void matching_heapify(struct matching_entry *h, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		matching_sift_down(h, n, i);
}

/* Removes and returns the least entry; *n must be > 0. */
static struct matching_entry matching_heap_pop(struct matching_entry *h, size_t *n)
{
	struct matching_entry top = h[0];
	h[0] = h[--*n];
	matching_sift_down(h, *n, 0);
	return top;
}

/* The costs of an entry from its price and distance; 0 when they do not fit. */
static int matching_entry_cost(struct matching_entry *e, const struct material *offer_material,
			       int64_t price_micro, int64_t km, int64_t rate)
{
	e->price_micro = price_micro;
	e->freight_micro = matching_freight_micro(offer_material, km, rate);
	if (e->price_micro < 0 || e->freight_micro < 0 ||
	    (matching_i128)e->price_micro + e->freight_micro > INT64_MAX)
		return 0;
	e->landed_micro = e->price_micro + e->freight_micro;
	e->distance_km = km;
	return 1;
}

/*
 * The entry of one candidate against the subject, or 0 when the pair is
 * incompatible or its per-unit cost does not fit.
 */
static int matching_entry_make(const struct matching_listing *subject,
			       const struct matching_listing *cand, size_t index, int64_t now_ms,
			       int64_t rate, struct matching_entry *e)
{
	int subject_need = subject->kind == LISTING_NEED;
	const struct matching_listing *need = subject_need ? subject : cand;
	const struct matching_listing *offer = subject_need ? cand : subject;
	enum matching_distance_from from;

	if (!matching_compatible_here(need, offer, now_ms, NULL))
		return 0;
	int64_t km = matching_distance(need, offer, &from);
	if (!matching_compatible_apart(need, offer, km, NULL))
		return 0;
	if (!matching_entry_cost(e, offer->material, matching_price_micro(offer), km, rate))
		return 0;
	if (subject_need)
		e->deadline = offer->available_until_ms ? offer->available_until_ms : INT64_MAX;
	else
		e->deadline = need->needed_by_ms;
	e->cand = cand;
	e->index = index;
	e->from = from;
	return 1;
}

static void matching_entry_push(struct matching_entry **entries, size_t *count, size_t *cap,
				const struct matching_entry *e)
{
	if (*count == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*entries = xrealloc(*entries, *cap * sizeof(**entries));
	}
	(*entries)[(*count)++] = *e;
}

/*
 * The greedy allocation over the ranked entries (a heap of count of them;
 * compatible is the number of compatible candidates, which may be more when
 * some were only counted). When ranked is below that number, entries past
 * rank ranked cannot be vouched for: *redo says the allocation reached them.
 */
static size_t matching_allocate(const struct matching_listing *subject,
				struct matching_entry *entries, size_t count, size_t compatible,
				size_t ranked, int64_t rate, struct matching_alloc *out,
				size_t max_out, int *redo)
{
	size_t written = 0, heap_n = count;
	int64_t left = subject->remaining;

	*redo = 0;
	/*
	 * Only the cheapest few are ever used: a heap hands them out in order
	 * (O(n) to build, O(log n) each) instead of sorting all n.
	 */
	matching_heapify(entries, count);
	for (size_t r = 0; r < count && left > 0 && written < max_out; r++) {
		if (r >= ranked) {
			*redo = 1;
			break;
		}
		struct matching_entry top = matching_heap_pop(entries, &heap_n);
		const struct matching_entry *e = &top;
		const struct matching_listing *cand = e->cand;
		const struct matching_listing *offer =
		    subject->kind == LISTING_OFFER ? subject : cand;
		int64_t q = left < cand->remaining ? left : cand->remaining;
		struct matching_alloc *a = &out[written];

		if (offer->min_order_base > q)
			continue; /* below the offer's minimum order */
		if (matching_totals(offer, q, e->distance_km, rate, &a->goods_vnd, &a->freight_vnd,
				    &a->landed_vnd) != 0)
			continue;
		a->index = e->index;
		a->quantity = q;
		a->distance_km = e->distance_km;
		a->price_micro = e->price_micro;
		a->freight_micro = e->freight_micro;
		a->landed_micro = e->landed_micro;
		a->rank = r + 1;
		a->compatible = compatible;
		a->cand_kind = subject->kind == LISTING_NEED ? LISTING_OFFER : LISTING_NEED;
		a->distance_from = (uint8_t)e->from;
		written++;
		left -= q;
	}
	return written;
}

size_t matching_plan(const struct matching_listing *subject,
		     const struct matching_listing *const *cands, size_t n, int64_t now_ms,
		     int64_t rate, struct matching_alloc *out, size_t max_out, size_t *considered)
{
	struct matching_entry *entries = NULL;
	size_t count = 0, cap = 0, written;
	int redo;

	if (considered)
		*considered = n;
	if (subject == NULL || (subject->kind != LISTING_NEED && subject->kind != LISTING_OFFER) ||
	    rate < 0 || rate > MATCHING_RATE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct matching_entry e;
		if (cands[i] != NULL && matching_entry_make(subject, cands[i], i, now_ms, rate, &e))
			matching_entry_push(&entries, &count, &cap, &e);
	}
	written =
	    matching_allocate(subject, entries, count, count, count, rate, out, max_out, &redo);
	free(entries);
	return written;
}

/* ---- plans over rows ---------------------------------------------------- */

int64_t matching_row_key(const struct matching_listing *l)
{
	if (l->kind == LISTING_OFFER)
		return matching_price_micro(l);
	if (l->price_vnd <= 0)
		return INT64_MAX; /* no maximum */
	if (l->price_factor < 1)
		return -1; /* refuses every price (matching_compatible) */
	matching_i128 micro = (matching_i128)l->price_vnd * MATCHING_MICRO / l->price_factor;
	return micro > INT64_MAX ? INT64_MAX : (int64_t)micro;
}

static uint32_t matching_owner_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The materials table's index of m, or MATCHING_ROW_NONE. */
static unsigned matching_material_index(const struct material *m)
{
	const struct material *first = materials_at(0);
	size_t n = materials_count();
	if (m == NULL || first == NULL || m < first || m >= first + n || n >= MATCHING_ROW_NONE)
		return MATCHING_ROW_NONE;
	return (unsigned)(m - first);
}

void matching_row_fill(struct matching_row *r, const struct matching_listing *l)
{
	long p = matching_province_index(l->province);

	memset(r, 0, sizeof(*r));
	r->key = matching_row_key(l);
	r->remaining = l->remaining;
	r->min_order_base = l->kind == LISTING_OFFER ? l->min_order_base : 0;
	if (l->kind == LISTING_OFFER) {
		r->from_ms = l->available_from_ms;
		r->until_ms = l->available_until_ms ? l->available_until_ms : INT64_MAX;
	} else {
		r->from_ms = l->needed_by_ms;
		r->until_ms = INT64_MAX;
	}
	r->owner_hash = matching_owner_hash(l->owner);
	r->max_distance_km = l->max_distance_km;
	r->province = p < 0 || p >= MATCHING_ROW_NONE ? MATCHING_ROW_NONE : (uint8_t)p;
	if (l->has_location && (l->lat_udeg < -90000000 || l->lat_udeg > 90000000 ||
				l->lon_udeg < -180000000 || l->lon_udeg > 180000000))
		r->province = MATCHING_ROW_NONE; /* no bound holds: planned from the listing */
	r->has_location = l->has_location;
	if (l->has_location) {
		r->lat_udeg = l->lat_udeg;
		r->lon_udeg = l->lon_udeg;
	} else if (l->province) {
		r->lat_udeg = l->province->lat_udeg;
		r->lon_udeg = l->province->lon_udeg;
	}
	r->material = (uint8_t)matching_material_index(l->material);
	r->grade_rank = l->grade_rank;
	r->accept_substitutes = l->accept_substitutes;
	if (r->province != MATCHING_ROW_NONE && r->material != MATCHING_ROW_NONE &&
	    (l->kind != LISTING_OFFER || r->key >= 0))
		r->flags |= MATCHING_ROW_PLAIN;
	if (r->max_distance_km > 0)
		r->flags |= MATCHING_ROW_LIMIT;
	matching_row_set_remaining(r, l->remaining);
}

void matching_row_set_remaining(struct matching_row *r, int64_t remaining)
{
	r->remaining = remaining;
	r->flags &= (uint8_t)~MATCHING_ROW_OPEN;
	if (remaining > 0 && remaining >= r->min_order_base)
		r->flags |= MATCHING_ROW_OPEN;
}

/*
 * geo_road_km() of any two points on Earth: half the circumference (pi x R
 * = 20,015 km) x 13/10, rounded up. Every distance of a plan is at most
 * this, so a freight rate per km that fits below INT64_MAX / this never
 * overflows, and a price below INT64_MAX less that freight always fits.
 */
#define MATCHING_KM_ANY INT64_C(26100)

/* Grade ranks whose substitute answers a plan keeps (larger ones are asked). */
#define MATCHING_GRADES_MAX 16

/* What a plan over rows knows of its subject, worked out once. */
struct matching_subj {
	const struct matching_listing *l;
	int need; /* the subject is a need: the rows are offers */
	struct matching_row row;
	int64_t price_micro; /* an offer subject's price per base unit */
	int64_t now_ms, rate;
	int64_t limit; /* the subject's maximum distance, 0 none */
	/*
	 * Per offer material (the subject's own when it is the offer):
	 * mat_state 0 not worked out, 1 refused, 2 accepted; the least grade
	 * (INT8_MIN: no grade filter); freight per km (mass x rate, -1 when it
	 * may not fit: those are costed by matching_freight_micro()); the
	 * highest price whose landed cost fits whatever the distance.
	 */
	uint8_t mat_state[MATCHING_ROW_NONE];
	int8_t mat_min_grade[MATCHING_ROW_NONE];
	int64_t mat_per_km[MATCHING_ROW_NONE];
	int64_t mat_fits[MATCHING_ROW_NONE];
	const struct material *mat[MATCHING_ROW_NONE];
	/*
	 * An offer subject: for a need of material m with minimum grade g
	 * (< MATCHING_GRADES_MAX), whether the offer passes matching_grade_ok;
	 * 0 not worked out, 1 no, 2 yes. (mat_state[m] is then 2 when the
	 * offer's material substitutes for m.)
	 */
	uint8_t sub_grade[MATCHING_ROW_NONE][MATCHING_GRADES_MAX];
	/* a subject without coordinates: matching_row_km() to each province's centre */
	int64_t centre_km[MATCHING_MAX_PROVINCES];
};

enum { MATCHING_ROW_NO, MATCHING_ROW_YES, MATCHING_ROW_ASK };

/* matching_grade_ok() of offer for a need of material nm and grade rank g. */
static int matching_sub_grade_ok(const struct matching_listing *offer, const struct material *nm,
				 int g)
{
	struct matching_listing need = {.material = nm, .grade_rank = (int8_t)g};
	return matching_grade_ok(&need, offer);
}

/* Freight per km and the fitting price for offer material m at the plan's rate. */
static void matching_subj_costs(struct matching_subj *s, unsigned m)
{
	const struct material *om = materials_at(m);
	s->mat[m] = om;
	s->mat_per_km[m] = -1;
	s->mat_fits[m] = -1;
	if (om->mass_g < 0 || om->mass_g > INT64_MAX / MATCHING_KM_ANY ||
	    (s->rate > 0 && om->mass_g > INT64_MAX / MATCHING_KM_ANY / s->rate))
		return;
	s->mat_per_km[m] = om->mass_g * s->rate;
	s->mat_fits[m] = INT64_MAX - s->mat_per_km[m] * MATCHING_KM_ANY;
}

/* Offer material m against a need subject: the material and grade filters. */
static void matching_subj_material(struct matching_subj *s, unsigned m)
{
	const struct matching_listing *need = s->l;
	const struct material *nm = need->material, *om = materials_at(m);
	int min = need->grade_rank < 0 ? INT8_MIN : need->grade_rank;

	s->mat_state[m] = 1;
	matching_subj_costs(s, m);
	if (om != nm) {
		if (!need->accept_substitutes || !materials_is_substitute(nm, om))
			return;
		if (need->grade_rank >= 0) {
			/* as matching_grade_ok() across scales */
			if (need->grade_rank == 0 || (size_t)need->grade_rank > nm->n_grades)
				return;
			min = materials_grade_rank(
			    om, nm->grades[nm->n_grades - (size_t)need->grade_rank]);
			if (min < 0)
				min = INT8_MIN;
		}
	}
	s->mat_min_grade[m] = (int8_t)min;
	s->mat_state[m] = 2;
}

/*
 * The filters of matching_compatible_here() that a row answers: NO, YES, or
 * ASK when only the listings can tell (the same owner hash, a price equal
 * to the bound, a substitute need's grade), decided by the caller.
 */
static inline int matching_row_here(struct matching_subj *s, const struct matching_row *r)
{
	const struct matching_listing *l = s->l;

	if (r->owner_hash == s->row.owner_hash || !(r->flags & MATCHING_ROW_PLAIN))
		return MATCHING_ROW_ASK;
	if (r->remaining <= 0)
		return MATCHING_ROW_NO;
	if (s->need) {
		if (r->remaining < r->min_order_base || l->remaining < r->min_order_base)
			return MATCHING_ROW_NO;
		if (s->mat_state[r->material] == 0)
			matching_subj_material(s, r->material);
		if (s->mat_state[r->material] != 2 || r->grade_rank < s->mat_min_grade[r->material])
			return MATCHING_ROW_NO;
		if (r->key < 0 || r->key > s->row.key)
			return MATCHING_ROW_NO; /* no price, or above the maximum */
		if (r->key == s->row.key)
			return MATCHING_ROW_ASK; /* equal once floored: the exact test decides */
		if (r->until_ms <= s->now_ms || r->from_ms > l->needed_by_ms)
			return MATCHING_ROW_NO;
		return MATCHING_ROW_YES;
	}
	if (r->remaining < l->min_order_base)
		return MATCHING_ROW_NO;
	if (r->material != s->row.material) {
		/* a need of another material that takes the subject as a substitute */
		if (!r->accept_substitutes || s->mat_state[r->material] != 2)
			return MATCHING_ROW_NO;
		if (r->grade_rank >= MATCHING_GRADES_MAX)
			return MATCHING_ROW_ASK;
		if (r->grade_rank >= 0) {
			uint8_t *g = &s->sub_grade[r->material][r->grade_rank];
			if (*g == 0)
				*g = matching_sub_grade_ok(l, materials_at(r->material),
							   r->grade_rank)
					 ? 2
					 : 1;
			if (*g != 2)
				return MATCHING_ROW_NO;
		}
	} else if (r->grade_rank >= 0 && l->grade_rank < r->grade_rank) {
		return MATCHING_ROW_NO;
	}
	if (r->key < s->price_micro)
		return MATCHING_ROW_NO;
	if (r->key == s->price_micro)
		return MATCHING_ROW_ASK;
	if (r->from_ms <= s->now_ms || l->available_from_ms > r->from_ms)
		return MATCHING_ROW_NO;
	return MATCHING_ROW_YES;
}

/* matching_distance() of the subject and a row whose province is known. */
static inline int64_t matching_row_km(const struct matching_subj *s, const struct matching_row *r,
				      enum matching_distance_from *from)
{
	const struct matching_row *n = s->need ? &s->row : r, *o = s->need ? r : &s->row;
	int64_t km;

	if (n->has_location && o->has_location) {
		*from = MATCHING_FROM_COORDINATES;
		return geo_road_km(n->lat_udeg, n->lon_udeg, o->lat_udeg, o->lon_udeg);
	}
	if (!n->has_location && !o->has_location) {
		km = matching_centre_km[n->province][o->province]; /* built by the plan */
		*from = MATCHING_FROM_PROVINCE_CENTRES;
	} else {
		km = geo_road_km(n->lat_udeg, n->lon_udeg, o->lat_udeg, o->lon_udeg);
		*from = MATCHING_FROM_MIXED;
	}
	if (n->province == o->province && km < MATCHING_INTRA_PROVINCE_KM) {
		km = MATCHING_INTRA_PROVINCE_KM;
		*from = MATCHING_FROM_INTRA_PROVINCE;
	}
	return km;
}

/*
 * Bounds of matching_row_km() without trigonometry: a great circle is at
 * least as long as its change of latitude, and no longer than a path along
 * a meridian then a parallel (R x (|dlat| + |dlon|)). Metres per
 * micro-degree along a meridian: R x pi / 180 / 10^6 = 0.1111950802; the
 * bounds round down and up from it and allow 2 m for the haversine's own
 * rounding. When neither side has coordinates the table is exact.
 */
static inline void matching_row_km_bounds(const struct matching_subj *s,
					  const struct matching_row *r, int64_t *lo, int64_t *hi)
{
	enum matching_distance_from from;
	int64_t dlat, dlon, m;

	if (!s->row.has_location && !r->has_location) {
		*lo = *hi = matching_row_km(s, r, &from);
		return;
	}
	dlat = (int64_t)s->row.lat_udeg - r->lat_udeg;
	dlon = (int64_t)s->row.lon_udeg - r->lon_udeg;
	dlat = dlat < 0 ? -dlat : dlat;
	dlon = dlon < 0 ? -dlon : dlon;
	if (dlon > INT64_C(180000000))
		dlon = INT64_C(360000000) - dlon;
	m = dlat * 111195 / 1000000 - 2;
	*lo = m > 0 ? m * GEO_ROAD_NUM / (GEO_ROAD_DEN * 1000) : 0;
	m = (dlat + dlon) * 111196 / 1000000 + 2;
	*hi = (m * GEO_ROAD_NUM + GEO_ROAD_DEN * 1000 - 1) / (GEO_ROAD_DEN * 1000);
	if (!(s->row.has_location && r->has_location) && s->row.province == r->province) {
		*lo = *lo < MATCHING_INTRA_PROVINCE_KM ? MATCHING_INTRA_PROVINCE_KM : *lo;
		*hi = *hi < MATCHING_INTRA_PROVINCE_KM ? MATCHING_INTRA_PROVINCE_KM : *hi;
	}
}

/* The lower bound alone, the centres' distance from a per-plan table. */
static inline int64_t matching_row_km_lo(const struct matching_subj *s,
					 const struct matching_row *r)
{
	if (!s->row.has_location && !r->has_location)
		return s->centre_km[r->province];
	int64_t dlat = (int64_t)s->row.lat_udeg - r->lat_udeg;
	dlat = dlat < 0 ? -dlat : dlat;
	int64_t m = dlat * 111195 / 1000000 - 2;
	int64_t lo = m > 0 ? m * GEO_ROAD_NUM / (GEO_ROAD_DEN * 1000) : 0;
	if (!(s->row.has_location && r->has_location) && s->row.province == r->province &&
	    lo < MATCHING_INTRA_PROVINCE_KM)
		lo = MATCHING_INTRA_PROVINCE_KM;
	return lo;
}

/*
 * The bound: the MATCHING_PRUNE_KEEP least (landed cost, deadline) pairs
 * seen, a max-heap whose top is the last of them. A candidate whose pair
 * (with its landed cost bounded from below) comes after the top ranks
 * after all of them, whatever its seq and id.
 */
struct matching_best {
	int64_t landed, deadline;
};

static int matching_best_after(int64_t landed, int64_t deadline, const struct matching_best *b)
{
	return landed > b->landed || (landed == b->landed && deadline > b->deadline);
}

static void matching_best_sift(struct matching_best *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && matching_best_after(h[l].landed, h[l].deadline, &h[m]))
			m = l;
		if (r < n && matching_best_after(h[r].landed, h[r].deadline, &h[m]))
			m = r;
		if (m == i)
			return;
		struct matching_best t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void matching_best_add(struct matching_best *best, size_t *best_n, int64_t landed,
			      int64_t deadline)
{
	if (*best_n < MATCHING_PRUNE_KEEP) {
		best[*best_n].landed = landed;
		best[(*best_n)++].deadline = deadline;
		if (*best_n == MATCHING_PRUNE_KEEP)
			for (size_t k = *best_n / 2; k-- > 0;)
				matching_best_sift(best, *best_n, k);
	} else if (matching_best_after(best[0].landed, best[0].deadline,
				       &(struct matching_best){landed, deadline})) {
		best[0].landed = landed;
		best[0].deadline = deadline;
		matching_best_sift(best, *best_n, 0);
	}
}

/* The plain plan of the runs' concatenation (skipped rows as NULL). */
static size_t matching_plan_concat(const struct matching_listing *subject,
				   const struct matching_run *runs, size_t n_runs, int64_t now_ms,
				   int64_t rate, struct matching_alloc *out, size_t max_out,
				   size_t *considered)
{
	size_t n = 0, k = 0;
	for (size_t r = 0; r < n_runs; r++)
		n += runs[r].n;
	const struct matching_listing **all = xmalloc((n ? n : 1) * sizeof(*all));
	for (size_t r = 0; r < n_runs; r++)
		for (size_t i = 0; i < runs[r].n; i++)
			all[k++] =
			    runs[r].rows[i].flags & MATCHING_ROW_SKIP ? NULL : runs[r].cands[i];
	k = matching_plan(subject, all, n, now_ms, rate, out, max_out, considered);
	free(all);
	return k;
}

/* A pass's state: the entries costed, the compatible counted, the bound. */
struct matching_pass {
	struct matching_entry *entries;
	size_t count, cap, compatible;
	struct matching_best best[MATCHING_PRUNE_KEEP];
	size_t best_n;
	int bound;
};

/* A compatible candidate costed in full. */
static void matching_pass_push(struct matching_pass *p, const struct matching_entry *e)
{
	p->compatible++;
	matching_entry_push(&p->entries, &p->count, &p->cap, e);
	if (p->bound)
		matching_best_add(p->best, &p->best_n, e->landed_micro, e->deadline);
}

/*
 * A candidate that passes every filter but the distance limits, and whose
 * price is in m's reach: counted when compatible, and costed in full unless
 * the bound shows it cannot rank among the best.
 */
static void matching_pass_yes(struct matching_subj *s, struct matching_pass *p,
			      const struct matching_row *r, const struct matching_listing *cand,
			      size_t index)
{
	const struct matching_listing *need = s->need ? s->l : cand;
	const struct matching_listing *offer = s->need ? cand : s->l;
	struct matching_entry e;
	unsigned m = s->need ? r->material : s->row.material;
	int64_t price = s->need ? r->key : s->price_micro;
	int64_t per_km = s->mat_per_km[m];
	int64_t deadline = s->need ? r->until_ms : r->from_ms;
	int64_t limit = s->limit;

	if (r->max_distance_km > 0 && (limit == 0 || r->max_distance_km < limit))
		limit = r->max_distance_km;
	if (p->bound && p->best_n == MATCHING_PRUNE_KEEP && per_km >= 0) {
		int64_t lo, hi;
		matching_row_km_bounds(s, r, &lo, &hi);
		/* per_km x any km fits; price + that may not */
		matching_i128 lb = (matching_i128)price + lo * per_km;
		if (lb > INT64_MAX || matching_best_after((int64_t)lb, deadline, &p->best[0])) {
			/*
			 * Cannot rank among the best kept: counted when it is
			 * compatible and its cost fits, as matching_plan() would.
			 */
			if (limit > 0 && lo > limit)
				return;
			if ((limit > 0 && hi > limit) || price > s->mat_fits[m]) {
				enum matching_distance_from from;
				int64_t km = matching_row_km(s, r, &from);
				if ((limit > 0 && km > limit) ||
				    (matching_i128)price + km * per_km > INT64_MAX)
					return;
			}
			p->compatible++;
			return;
		}
	}
	int64_t km = matching_row_km(s, r, &e.from);
	if (!matching_compatible_apart(need, offer, km, NULL) ||
	    !matching_entry_cost(&e, s->mat[m], price, km, s->rate))
		return;
	e.deadline = deadline;
	e.cand = cand;
	e.index = index;
	matching_pass_push(p, &e);
}

/* One candidate that the quick filters did not settle. */
static void matching_pass_row(struct matching_subj *s, struct matching_pass *p,
			      const struct matching_row *r, const struct matching_listing *cand,
			      size_t index)
{
	struct matching_entry e;
	int ok = matching_row_here(s, r);

	if (ok == MATCHING_ROW_YES) {
		matching_pass_yes(s, p, r, cand, index);
	} else if (ok == MATCHING_ROW_ASK) {
		/* the listings decide, as matching_plan() does */
		if (matching_entry_make(s->l, cand, index, s->now_ms, s->rate, &e))
			matching_pass_push(p, &e);
	}
}

/*
 * The filters of the common case, from the row alone: YES when every
 * filter but the distance limits passes and the landed cost fits whatever
 * the distance, NO when one refuses, ASK for the rest (a material not yet
 * worked out, an owner hash or a price equal to the subject's, a
 * substitute, an unknown place), which matching_pass_row() settles.
 */
static inline int matching_row_quick(const struct matching_subj *s, const struct matching_row *r)
{
	unsigned m = r->material;

	if (s->need) {
		if (!(r->flags & MATCHING_ROW_PLAIN) || r->key == s->row.key ||
		    r->owner_hash == s->row.owner_hash || s->mat_state[m] != 2 ||
		    r->key > s->mat_fits[m])
			return s->mat_state[m] == 1 && (r->flags & MATCHING_ROW_PLAIN)
				   ? MATCHING_ROW_NO
				   : MATCHING_ROW_ASK;
		return (r->flags & MATCHING_ROW_OPEN) & (r->key >= 0) &
			       (s->l->remaining >= r->min_order_base) &
			       (r->grade_rank >= s->mat_min_grade[m]) & (r->until_ms > s->now_ms) &
			       (r->from_ms <= s->l->needed_by_ms)
			   ? MATCHING_ROW_YES
			   : MATCHING_ROW_NO;
	}
	if (!(r->flags & MATCHING_ROW_PLAIN) || r->key == s->price_micro ||
	    r->owner_hash == s->row.owner_hash || m != s->row.material ||
	    s->price_micro > s->mat_fits[m])
		return MATCHING_ROW_ASK;
	return (r->flags & MATCHING_ROW_OPEN) & (r->key > s->price_micro) &
		       (r->remaining >= s->l->min_order_base) &
		       ((r->grade_rank < 0) | (s->l->grade_rank >= r->grade_rank)) &
		       (r->from_ms > s->now_ms) & (s->l->available_from_ms <= r->from_ms)
		   ? MATCHING_ROW_YES
		   : MATCHING_ROW_NO;
}

/* matching_pass_count() of one row that is not of the common case. */
static void matching_count_row(struct matching_subj *s, struct matching_pass *p,
			       const struct matching_row *r, const struct matching_listing *cand,
			       size_t index)
{
	int ok = matching_row_quick(s, r);
	if (ok == MATCHING_ROW_NO)
		return;
	if (ok == MATCHING_ROW_YES) {
		int64_t limit = s->limit;
		if (r->max_distance_km > 0 && (limit == 0 || r->max_distance_km < limit))
			limit = r->max_distance_km;
		if (limit == 0) {
			p->compatible++;
			return;
		}
		int64_t lo, hi;
		matching_row_km_bounds(s, r, &lo, &hi);
		if (lo > limit)
			return;
		if (hi <= limit) {
			p->compatible++;
			return;
		}
	}
	if (cand != NULL)
		matching_pass_row(s, p, r, cand, index);
}

/*
 * The rest of a run of offers for a need subject once the bound is full and
 * every price ahead is above it: none of them can rank among the best, so
 * only the compatible are counted. The common case (the run's material,
 * worked out; open; a price under the maximum that surely fits; no
 * distance limit on either side; an owner hash not the subject's) is
 * counted from five fields of the row, on locals the loop keeps in
 * registers; any other row goes through matching_count_row().
 */
static void matching_pass_count(struct matching_subj *s, struct matching_pass *p,
				const struct matching_run *run, size_t i, size_t base)
{
	const struct matching_row *rows = run->rows;
	const int64_t need_key = s->row.key;
	const int64_t now = s->now_ms, needed_by = s->l->needed_by_ms, left = s->l->remaining;
	const uint32_t owner = s->row.owner_hash;
	const unsigned m = i < run->n ? rows[i].material : MATCHING_ROW_NONE;
	const uint8_t want = MATCHING_ROW_OPEN | MATCHING_ROW_PLAIN;
	const uint8_t mask = want | MATCHING_ROW_LIMIT | MATCHING_ROW_SKIP;
	int64_t stop = 0; /* no common case */
	int8_t min_grade = 0;
	size_t counted = 0;

	if (m != MATCHING_ROW_NONE && s->mat_state[m] == 2 && s->limit == 0) {
		stop = need_key < s->mat_fits[m] ? need_key : s->mat_fits[m];
		min_grade = s->mat_min_grade[m];
	}
	for (; i < run->n; i++) {
		const struct matching_row *r = &rows[i];
		if ((r->flags & mask) == want && r->key < stop && r->material == m &&
		    r->owner_hash != owner) {
			counted += (left >= r->min_order_base) & (r->grade_rank >= min_grade) &
				   (r->until_ms > now) & (r->from_ms <= needed_by);
			continue;
		}
		if (r->key > need_key)
			break; /* above the maximum, and every one after it */
		if (!(r->flags & MATCHING_ROW_SKIP))
			matching_count_row(s, p, r, run->cands[i], base + i);
	}
	p->compatible += counted;
}

/*
 * One pass of matching_plan_runs(). Each run is read in its order; with
 * bound, the MATCHING_PRUNE_KEEP best seen in every run so far bound the
 * rest, and a need's run whose prices alone pass the bound is only counted.
 */
static size_t matching_plan_pass(struct matching_subj *s, const struct matching_run *runs,
				 size_t n_runs, struct matching_alloc *out, size_t max_out,
				 size_t *considered, int bound, int *redo)
{
	struct matching_pass p = {.bound = bound};
	size_t base = 0, written;
	/* a rows's flags say whether it has a limit; the subject's is known */
	const int subject_open = bound && s->limit == 0;

	for (size_t k = 0; k < n_runs; base += runs[k++].n) {
		const struct matching_run *run = &runs[k];
		for (size_t i = 0; i < run->n; i++) {
			const struct matching_row *r = &run->rows[i];
			/* The run's order: no row after this one passes the price filter. */
			if (s->need ? r->key > s->row.key : r->key < s->price_micro)
				break;
			if (s->need && bound && p.best_n == MATCHING_PRUNE_KEEP &&
			    r->key > p.best[0].landed) {
				matching_pass_count(s, &p, run, i, base);
				break;
			}
			if ((r->flags & MATCHING_ROW_SKIP) || run->cands[i] == NULL)
				continue;
			int ok = matching_row_quick(s, r);
			if (ok == MATCHING_ROW_NO)
				continue;
			if (ok == MATCHING_ROW_YES && subject_open &&
			    !(r->flags & MATCHING_ROW_LIMIT) && p.best_n == MATCHING_PRUNE_KEEP) {
				/*
				 * matching_pass_yes()'s bound, inline for the common
				 * case: a quick YES means the freight per km is known
				 * and price + any freight fits.
				 */
				unsigned m = s->need ? r->material : s->row.material;
				int64_t price = s->need ? r->key : s->price_micro;
				int64_t deadline = s->need ? r->until_ms : r->from_ms;
				int64_t lb = price + matching_row_km_lo(s, r) * s->mat_per_km[m];
				if (matching_best_after(lb, deadline, &p.best[0])) {
					p.compatible++;
					continue;
				}
			}
			if (ok == MATCHING_ROW_YES)
				matching_pass_yes(s, &p, r, run->cands[i], base + i);
			else
				matching_pass_row(s, &p, r, run->cands[i], base + i);
		}
	}
	if (considered)
		*considered = p.count;
	written = matching_allocate(s->l, p.entries, p.count, p.compatible,
				    p.count < p.compatible ? MATCHING_PRUNE_KEEP : p.count, s->rate,
				    out, max_out, redo);
	free(p.entries);
	return written;
}

size_t matching_plan_runs(const struct matching_listing *subject, const struct matching_run *runs,
			  size_t n_runs, int64_t now_ms, int64_t rate, struct matching_alloc *out,
			  size_t max_out, size_t *considered)
{
	struct matching_subj s;
	int redo = 0;
	size_t k;

	if (considered)
		*considered = 0;
	if (subject == NULL || (subject->kind != LISTING_NEED && subject->kind != LISTING_OFFER) ||
	    rate < 0 || rate > MATCHING_RATE_MAX)
		return 0;
	memset(&s, 0, sizeof(s));
	s.l = subject;
	s.need = subject->kind == LISTING_NEED;
	s.now_ms = now_ms;
	s.rate = rate;
	matching_row_fill(&s.row, subject);
	s.price_micro = s.need ? 0 : matching_price_micro(subject);
	s.limit = subject->max_distance_km;
	/*
	 * What the rows cannot stand for is planned plainly: an unknown place
	 * or material, a price that refuses everything.
	 */
	if (s.row.province == MATCHING_ROW_NONE || s.row.material == MATCHING_ROW_NONE ||
	    (!s.need && s.price_micro < 0) ||
	    (s.need && subject->price_vnd > 0 && subject->price_factor < 1))
		return matching_plan_concat(subject, runs, n_runs, now_ms, rate, out, max_out,
					    considered);
	/* Filters of the subject alone: when one refuses, nothing is compatible. */
	if (subject->remaining <= 0)
		return 0;
	if (s.need ? subject->needed_by_ms <= now_ms
		   : (subject->remaining < subject->min_order_base ||
		      (subject->available_until_ms != 0 && subject->available_until_ms <= now_ms)))
		return 0;
	call_once(&matching_centres_once, matching_centres_build);
	if (!s.need) {
		matching_subj_costs(&s, s.row.material);
		for (size_t m = 0; m < materials_count() && m < MATCHING_ROW_NONE; m++)
			s.mat_state[m] =
			    materials_is_substitute(materials_at(m), subject->material) ? 2 : 1;
	}
	for (size_t q = 0; q < provinces_count() && q < MATCHING_MAX_PROVINCES; q++) {
		int64_t km = s.need ? matching_centre_km[s.row.province][q]
				    : matching_centre_km[q][s.row.province];
		if (q == s.row.province && km < MATCHING_INTRA_PROVINCE_KM)
			km = MATCHING_INTRA_PROVINCE_KM;
		s.centre_km[q] = km;
	}
	k = matching_plan_pass(&s, runs, n_runs, out, max_out, considered, 1, &redo);
	if (redo)
		k = matching_plan_pass(&s, runs, n_runs, out, max_out, considered, 0, &redo);
	return k;
}

/* ---- explanation ------------------------------------------------------ */

/* The code of m's unit with this factor ("tan" for 1000 of kg), or NULL. */
static const char *matching_unit_code(const struct material *m, int64_t factor)
{
	for (size_t i = 0; m && i < m->n_units; i++)
		if (m->units[i].factor == factor)
			return m->units[i].code;
	return NULL;
}

static const char *matching_ordinal_suffix(size_t k)
{
	if (k % 100 >= 11 && k % 100 <= 13)
		return "th";
	switch (k % 10) {
	case 1:
		return "st";
	case 2:
		return "nd";
	case 3:
		return "rd";
	default:
		return "th";
	}
}

/* The point a side's distance is measured from (explain's "location_basis"). */
static const char *matching_location_basis(const struct matching_listing *l)
{
	return l->has_location ? "coordinates" : "province centre";
}

json_t *matching_explain(const struct matching_listing *need, const struct matching_listing *offer,
			 const struct matching_alloc *a, int64_t rate)
{
	const struct material *m = offer->material;
	const char *unit = matching_unit_code(m, offer->price_factor);
	int substitute = need->material != offer->material;
	int offers = a->cand_kind == LISTING_OFFER;
	const char *what = offers ? "offer" : "need";
	char why[256], place[48];
	json_t *o;

	/* An offer has one price for every need: its order is by freight. */
	const char *order = offers ? "cheapest landed cost" : "nearest (lowest freight)";
	if (a->rank == 1)
		snprintf(place, sizeof(place), "%s", order);
	else
		snprintf(place, sizeof(place), "%zu%s %s", a->rank,
			 matching_ordinal_suffix(a->rank), order);
	snprintf(why, sizeof(why), "%s among %zu compatible %s%s%s%s", place, a->compatible, what,
		 a->compatible == 1 ? "" : "s",
		 a->rank > 1 ? (offers ? "; the need is split, cheaper offers were used first "
					 "or could not meet their minimum order"
				       : "; the offer is split, nearer needs were served first "
					 "or were below its minimum order")
			     : "",
		 substitute ? "; a substitute the need accepts" : "");

	o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "need", need->id, "offer", offer->id, "material",
		      m ? m->code : "", "base_unit", m ? materials_base_unit(m) : "",
		      "quantity_base", (json_int_t)a->quantity);
	json_object_set_new(o, "unit_price",
			    json_pack("{s:I, s:s, s:I}", "vnd", (json_int_t)offer->price_vnd,
				      "unit", unit ? unit : "", "per_base_micro_vnd",
				      (json_int_t)a->price_micro));
	json_object_set_new(o, "distance_km", json_integer(a->distance_km));
	json_object_set_new(
	    o, "distance_from",
	    json_string(matching_distance_from_str((enum matching_distance_from)a->distance_from)));
	json_object_set_new(o, "location_basis",
			    json_pack("{s:s, s:s}", "need", matching_location_basis(need), "offer",
				      matching_location_basis(offer)));
	json_object_set_new(
	    o, "freight",
	    json_pack("{s:I, s:I, s:I, s:I}", "rate_vnd_per_tonne_km", (json_int_t)rate,
		      "mass_g_per_base_unit", (json_int_t)(m ? m->mass_g : 0), "per_base_micro_vnd",
		      (json_int_t)a->freight_micro, "total_vnd", (json_int_t)a->freight_vnd));
	json_object_set_new(o, "goods_total_vnd", json_integer(a->goods_vnd));
	json_object_set_new(o, "landed",
			    json_pack("{s:I, s:I}", "per_base_micro_vnd",
				      (json_int_t)a->landed_micro, "total_vnd",
				      (json_int_t)a->landed_vnd));
	json_object_set_new(o, "rank", json_integer((json_int_t)a->rank));
	json_object_set_new(o, "candidates", json_integer((json_int_t)a->compatible));
	json_object_set_new(o, "substitute", json_boolean(substitute));
	if (substitute && need->material)
		json_object_set_new(o, "need_material", json_string(need->material->code));
	json_object_set_new(o, "why", json_string(why));
	return o;
}
