/*
 * router — matching a method and path against the route table.
 *
 * Pure: no I/O. Patterns are literal segments and {name} parameters,
 * e.g. "/v1/listings/{id}". The table itself lives in server/api/routes.c.
 */
#ifndef CM_HTTP_ROUTER_H
#define CM_HTTP_ROUTER_H

#include <stddef.h>

struct http_req;

typedef void (*route_handler)(struct http_req *r);

struct route {
	const char *method;
	const char *pattern;
	route_handler handler;
	unsigned flags; /* ROUTE_* */
};

#define ROUTE_PUBLIC 0x1 /* no bearer token needed */
#define ROUTE_STREAM 0x2 /* long-lived response (SSE) */
/*
 * A write whose one store write carries the credential (api_as, store_as):
 * it may run on the account last seen for its credential, one Redis round
 * trip instead of two (auth.c). Its handler must make no other write.
 */
#define ROUTE_ONE_TRIP 0x4

#define ROUTER_MAX_PARAMS 4
#define ROUTER_MAX_SEGMENTS 16

struct route_params {
	int n;
	struct {
		const char *name; /* points into the pattern; length name_len */
		size_t name_len;
		const char *value; /* points into the path; length value_len (still %-encoded) */
		size_t value_len;
	} p[ROUTER_MAX_PARAMS];
};

enum router_result { ROUTER_FOUND, ROUTER_NOT_FOUND, ROUTER_BAD_METHOD };

/*
 * Finds the route for method + path. On ROUTER_FOUND sets *index and params;
 * on ROUTER_BAD_METHOD writes the methods the path does serve into allow
 * ("GET, POST").
 */
enum router_result router_match(const struct route *table, size_t n, const char *method,
				const char *path, size_t *index, struct route_params *params,
				char *allow, size_t allowlen);

#endif
