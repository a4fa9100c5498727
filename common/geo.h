/*
 * geo — distances for freight: great-circle distance between two points
 * given in integer micro-degrees, the road distance estimated from it, and
 * the check that a coordinate pair lies in Vietnam. No I/O.
 *
 * Road factor 13/10: goods between craft villages travel by road, and roads
 * are longer than the straight line. Detour (circuity) factors measured for
 * road networks are typically 1.2–1.4; Vietnam's north is mountainous west of
 * the Red River Delta and the delta itself is cut by rivers crossed at a few
 * bridges, so the middle value 1.3 is used. Integer ratio so the freight
 * arithmetic after it stays exact. A listing's own coordinates, when given,
 * make the estimate better; the factor stays the same.
 *
 * Doubles are used inside the haversine only; results are whole metres or
 * whole kilometres (int64), which is what freight pricing multiplies.
 */
#ifndef CM_GEO_H
#define CM_GEO_H

#include <stdint.h>

struct province;

/* Mean Earth radius (IUGG R1), metres. */
#define GEO_EARTH_RADIUS_M 6371008.8
/* Road distance = straight distance x GEO_ROAD_NUM / GEO_ROAD_DEN. */
#define GEO_ROAD_NUM 13
#define GEO_ROAD_DEN 10

/* Vietnam's mainland and near-shore islands, micro-degrees, inclusive:
 * 8°N..24°N, 102°E..110°E (the offshore archipelagos are outside on purpose:
 * no craft supplier ships from there). */
#define GEO_LAT_MIN_UDEG 8000000
#define GEO_LAT_MAX_UDEG 24000000
#define GEO_LON_MIN_UDEG 102000000
#define GEO_LON_MAX_UDEG 110000000

/*
 * Great-circle (haversine) distance in metres, rounded to the nearest metre.
 * Any valid WGS84 micro-degree coordinates (lat ±90e6, lon ±180e6).
 * Symmetric, and 0 for the same point.
 */
int64_t geo_distance_m(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2);

/*
 * Estimated road distance in whole kilometres: geo_distance_m x 13/10,
 * rounded UP to the next kilometre (freight is charged per started km: a
 * 1 m trip counts as 1 km; the same point, or points under half a metre
 * apart, are 0).
 */
int64_t geo_road_km(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2);

/*
 * geo_road_km between the two units' administrative centres. 0 when a == b
 * (two parties in one unit without coordinates: freight is not estimated)
 * or when either is NULL.
 */
int64_t geo_province_distance_km(const struct province *a, const struct province *b);

/*
 * 0 when (lat, lon) lies in the box above, -1 otherwise with *why set to a
 * static English reason ("latitude outside Vietnam (8–24° N)"). why may be
 * NULL.
 */
int geo_check(int32_t lat_udeg, int32_t lon_udeg, const char **why);

/*
 * Degrees (as parsed from JSON) to micro-degrees, rounded to nearest.
 * 0, or -1 when deg is not finite or outside ±180.
 */
int geo_udeg_from_degrees(double deg, int32_t *out);

#endif
