/*
 * stats (API) — GET /v1/stats: the counters the state changes keep,
 * grouped and filtered within the caller's scope (docs/api.md, Statistics).
 */
#ifndef CM_API_STATS_H
#define CM_API_STATS_H

struct http_req;

void stats_get(struct http_req *r);

#endif
