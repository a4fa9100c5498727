/*
 * geo — haversine distance, road estimate and coordinate checks (see geo.h).
 * No I/O.
 */
#include "common/geo.h"

#include <math.h>
#include <stddef.h>

#include "common/provinces.h"

#define GEO_PI 3.14159265358979323846

static double geo_rad(int32_t udeg)
{
	return (double)udeg / 1e6 * (GEO_PI / 180.0);
}

int64_t geo_distance_m(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2)
{
	double phi1 = geo_rad(lat1), phi2 = geo_rad(lat2);
	double sdphi = sin((phi2 - phi1) / 2.0);
	double sdlam = sin((geo_rad(lon2) - geo_rad(lon1)) / 2.0);
	double h = sdphi * sdphi + cos(phi1) * cos(phi2) * sdlam * sdlam;

	if (lat1 == lat2 && lon1 == lon2)
		return 0;
	/* Rounding can push h a hair outside [0, 1] for antipodal points. */
	if (h > 1.0)
		h = 1.0;
	if (h < 0.0)
		h = 0.0;
	return (int64_t)llround(2.0 * GEO_EARTH_RADIUS_M * asin(sqrt(h)));
}

int64_t geo_road_km(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2)
{
	int64_t m = geo_distance_m(lat1, lon1, lat2, lon2);
	const int64_t den = (int64_t)GEO_ROAD_DEN * 1000;

	/* Half the Earth's circumference x 13 fits int64 many times over. */
	return (m * GEO_ROAD_NUM + den - 1) / den;
}

int64_t geo_province_distance_km(const struct province *a, const struct province *b)
{
	if (a == NULL || b == NULL || a == b)
		return 0;
	return geo_road_km(a->lat_udeg, a->lon_udeg, b->lat_udeg, b->lon_udeg);
}

int geo_check(int32_t lat_udeg, int32_t lon_udeg, const char **why)
{
	const char *reason = NULL;

	if (lat_udeg < GEO_LAT_MIN_UDEG || lat_udeg > GEO_LAT_MAX_UDEG)
		reason = "latitude outside Vietnam (8–24° N)";
	else if (lon_udeg < GEO_LON_MIN_UDEG || lon_udeg > GEO_LON_MAX_UDEG)
		reason = "longitude outside Vietnam (102–110° E)";
	if (why != NULL)
		*why = reason;
	return reason == NULL ? 0 : -1;
}

int geo_udeg_from_degrees(double deg, int32_t *out)
{
	if (!isfinite(deg) || deg < -180.0 || deg > 180.0)
		return -1;
	*out = (int32_t)lround(deg * 1e6);
	return 0;
}
