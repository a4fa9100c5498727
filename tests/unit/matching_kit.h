/*
 * What the unit tests of common/matching share: "now", the rate, a point in
 * Hà Nội, and hand-made listings (mk, need, offer) with the filters' verdict
 * on a pair (refusal). Included by tests/unit/test_matching*.c only.
 */
#ifndef CM_TEST_MATCHING_KIT_H
#define CM_TEST_MATCHING_KIT_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/geo.h"
#include "common/listing.h"
#include "common/matching.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/units.h"

/* 2026-11-27T00:00:00Z: "now" in every test. */
#define NOW INT64_C(1795737600000)
#define DAY INT64_C(86400000)
#define RATE MATCHING_FREIGHT_VND_PER_TONNE_KM
/* A point in Hà Nội; 0.1° of latitude north of it is 15 road km, 1° is
 * 145 (111,195 m x 1.3 = 144,553.5 m, rounded up; see test_geo). */
#define LAT0 21000000
#define LON0 105000000

static int64_t next_seq = 1;

static inline struct matching_listing mk(enum listing_kind kind, const char *id, const char *owner,
					 const char *material, int64_t remaining, int64_t price_vnd,
					 int64_t factor)
{
	struct matching_listing l;

	memset(&l, 0, sizeof(l));
	snprintf(l.id, sizeof(l.id), "%s", id);
	snprintf(l.owner, sizeof(l.owner), "%s", owner);
	l.kind = (uint8_t)kind;
	l.material = materials_find(material);
	assert_non_null(l.material);
	l.province = provinces_find("HN");
	l.grade_rank = kind == LISTING_OFFER ? 2 : -1; /* offers: grade B */
	l.remaining = remaining;
	l.price_vnd = price_vnd;
	l.price_factor = factor;
	if (kind == LISTING_NEED)
		l.needed_by_ms = NOW + 30 * DAY;
	else
		l.available_from_ms = NOW - DAY;
	l.has_location = 1;
	l.lat_udeg = LAT0;
	l.lon_udeg = LON0;
	l.seq = next_seq++;
	l.version = 1;
	return l;
}

static inline struct matching_listing need(const char *id, int64_t remaining)
{
	return mk(LISTING_NEED, id, "acc_village", "clay", remaining, 0, 1);
}

static inline struct matching_listing offer(const char *id, int64_t remaining, int64_t vnd,
					    int64_t factor)
{
	return mk(LISTING_OFFER, id, "acc_supplier", "clay", remaining, vnd, factor);
}

/* 0 for compatible, else the reason. */
static inline const char *refusal(const struct matching_listing *n,
				  const struct matching_listing *o)
{
	const char *why = NULL;

	if (matching_compatible(n, o, NOW, matching_distance_km(n, o), &why))
		return "";
	assert_non_null(why);
	return why;
}

#endif
