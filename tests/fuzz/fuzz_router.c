/*
 * fuzz_router — server/http/router against the real route table (routes.c).
 *
 * Input: "METHOD PATH" ("GET /v1/listings/L1"); without a space the whole
 * input is the path and the method is GET. The path is passed raw, still
 * %-encoded, as evhttp_uri_get_path() hands it to http_dispatch(); HEAD is
 * looked up as GET, as there. Cut at the first NUL, like any C string.
 *
 * Checked beyond "no crash": a route found has the method asked for and
 * its parameters point into the path, one non-empty segment each; a path
 * served with other methods names them in allow, NUL-terminated within
 * allowlen, also when allow is too small for all of them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/http/router.h"
#include "server/api/routes.h"
#include "tests/fuzz/fuzz.h"

static void fuzz_router_match(const char *method, const char *path, size_t allowlen)
{
	char allow[128];
	struct route_params params;
	size_t idx = (size_t)-1, plen = strlen(path);
	enum router_result r;

	memset(&params, 0, sizeof(params));
	r = router_match(api_routes, api_routes_count, method, path, &idx, &params, allow,
			 allowlen);
	if (r == ROUTER_FOUND) {
		fuzz_check(idx < api_routes_count, "route index out of the table");
		fuzz_check(strcmp(api_routes[idx].method, method) == 0, "route of another method");
		fuzz_check(params.n >= 0 && params.n <= ROUTER_MAX_PARAMS, "too many parameters");
		for (int i = 0; i < params.n; i++) {
			const char *v = params.p[i].value;
			size_t vl = params.p[i].value_len;

			fuzz_check(v >= path && v + vl <= path + plen,
				   "parameter outside the path");
			fuzz_check(vl > 0 && memchr(v, '/', vl) == NULL,
				   "parameter is not one non-empty segment");
			fuzz_check(params.p[i].name != NULL && params.p[i].name_len > 0,
				   "parameter without a name");
		}
		return;
	}
	fuzz_check(r == ROUTER_NOT_FOUND || r == ROUTER_BAD_METHOD, "unknown router result");
	fuzz_check(memchr(allow, '\0', allowlen) != NULL, "allow not terminated within allowlen");
	if (r == ROUTER_BAD_METHOD && allowlen >= sizeof(allow))
		fuzz_check(allow[0] != '\0', "405 without an allowed method");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *method, *path;
	const char *lookup;

	fuzz_split(data, size, ' ', &method, &path);
	if (path == NULL) {
		path = method;
		method = NULL;
	}
	lookup = method == NULL || strcmp(method, "HEAD") == 0 ? "GET" : method;

	fuzz_router_match(lookup, path, 128); /* what http_dispatch() passes */
	fuzz_router_match(lookup, path, 9);   /* "GET, POST" does not fit */
	fuzz_router_match(lookup, path, 1);

	free(method);
	free(path);
	return 0;
}
