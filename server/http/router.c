/*
 * router — segment-by-segment matching of paths against patterns (see router.h).
 */
#include "server/http/router.h"

#include <string.h>

/* Matches one pattern; fills params when it does. Returns 1 on a match. */
static int router_match_pattern(const char *pattern, const char *path, struct route_params *params)
{
	params->n = 0;
	const char *pp = pattern, *sp = path;
	for (;;) {
		if (*pp != '/' || *sp != '/')
			return *pp == '\0' && (*sp == '\0' || (sp[0] == '/' && sp[1] == '\0'));
		pp++;
		sp++;
		size_t pl = strcspn(pp, "/");
		size_t sl = strcspn(sp, "/");
		if (pl >= 2 && pp[0] == '{' && pp[pl - 1] == '}') {
			if (sl == 0 || params->n >= ROUTER_MAX_PARAMS)
				return 0;
			params->p[params->n].name = pp + 1;
			params->p[params->n].name_len = pl - 2;
			params->p[params->n].value = sp;
			params->p[params->n].value_len = sl;
			params->n++;
		} else if (pl != sl || memcmp(pp, sp, pl) != 0) {
			return 0;
		}
		pp += pl;
		sp += sl;
	}
}

enum router_result router_match(const struct route *table, size_t n, const char *method,
				const char *path, size_t *index, struct route_params *params,
				char *allow, size_t allowlen)
{
	int path_seen = 0;
	size_t used = 0;
	if (allowlen)
		allow[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct route_params tmp;
		if (!router_match_pattern(table[i].pattern, path, &tmp))
			continue;
		if (strcmp(table[i].method, method) == 0) {
			*index = i;
			*params = tmp;
			return ROUTER_FOUND;
		}
		path_seen = 1;
		size_t ml = strlen(table[i].method);
		if (strstr(allow, table[i].method) == NULL && used + ml + 3 < allowlen) {
			if (used) {
				memcpy(allow + used, ", ", 2);
				used += 2;
			}
			memcpy(allow + used, table[i].method, ml + 1);
			used += ml;
		}
	}
	return path_seen ? ROUTER_BAD_METHOD : ROUTER_NOT_FOUND;
}
