/*
 * health — liveness, readiness and metrics endpoints.
 */
#ifndef CM_API_HEALTH_H
#define CM_API_HEALTH_H

struct http_req;

void health_healthz(struct http_req *r); /* GET /healthz: the process answers */
void health_readyz(struct http_req *r);	 /* GET /readyz: Redis reachable, functions loaded */
void health_metrics(struct http_req *r); /* GET /metrics: Prometheus text format */

#endif
