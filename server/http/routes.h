/*
 * routes — the table of every HTTP route craftmatchd serves.
 *
 * One table: the router matches against it, metrics label by it, and
 * `craftmatchd --routes` prints it for the OpenAPI coverage test.
 */
#ifndef CM_HTTP_ROUTES_H
#define CM_HTTP_ROUTES_H

#include <stddef.h>

#include "server/http/router.h"

extern const struct route http_routes[];
extern const size_t http_routes_count;

#endif
