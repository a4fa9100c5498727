/*
 * routes — the table of every HTTP route craftmatchd serves.
 *
 * One table: the router matches against it, metrics label by it, and
 * `craftmatchd --routes` prints it for the OpenAPI coverage test. It lives
 * with the handlers it names; main hands it to the HTTP server.
 */
#ifndef CM_API_ROUTES_H
#define CM_API_ROUTES_H

#include <stddef.h>

#include "server/http/router.h"

extern const struct route api_routes[];
extern const size_t api_routes_count;

#endif
