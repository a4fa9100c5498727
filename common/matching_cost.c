/*
 * matching_cost — prices, distances, freight and the exact totals of one
 * allocation (see matching.h on the units). No floating point for money:
 * products that can pass int64 go through __int128 and are checked before
 * they are narrowed.
 */
#include "common/matching.h"

#include <stdint.h>
#include <threads.h>

#include "common/geo.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/units.h"
#include "common/matching_int.h"

static const char *const matching_from_names[] = {
    [MATCHING_FROM_COORDINATES] = "coordinates",
    [MATCHING_FROM_PROVINCE_CENTRES] = "province centres",
    [MATCHING_FROM_INTRA_PROVINCE] = "intra-province minimum",
    [MATCHING_FROM_MIXED] = "coordinates and a province centre",
};
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
int64_t matching_centre_km[MATCHING_MAX_PROVINCES][MATCHING_MAX_PROVINCES];
once_flag matching_centres_once = ONCE_FLAG_INIT;

void matching_centres_build(void)
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
long matching_province_index(const struct province *p)
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
