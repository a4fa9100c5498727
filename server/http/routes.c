/*
 * routes — the route table (see routes.h). Order matters only among
 * patterns that could match the same path: literal segments first.
 */
#include "server/http/routes.h"

#include "server/api/health.h"

const struct route http_routes[] = {
	{"GET", "/healthz", health_healthz, ROUTE_PUBLIC},
	{"GET", "/readyz", health_readyz, ROUTE_PUBLIC},
	{"GET", "/metrics", health_metrics, ROUTE_PUBLIC},
};

const size_t http_routes_count = sizeof(http_routes) / sizeof(http_routes[0]);
