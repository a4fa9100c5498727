/*
 * matching_row — a listing's row (the fields a plan reads, one cache line)
 * and its key, the order of the engine's lists (see matching.h). The plans
 * over rows are matching_rows.c.
 */
#include "common/matching.h"

#include <stdint.h>
#include <string.h>

#include "common/materials.h"
#include "common/provinces.h"
#include "common/matching_int.h"

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
