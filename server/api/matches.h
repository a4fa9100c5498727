/*
 * matches (API) — /v1/matches: reading matches and moving them through
 * their life (approve, reject, accept, decline, fulfil, cancel).
 */
#ifndef CM_API_MATCHES_H
#define CM_API_MATCHES_H

#include <jansson.h>

struct http_req;

/*
 * The API view of a stored match row (fields in store_match_field order,
 * server/store/matches.h) with id id; a new reference.
 */
json_t *matches_view(const char *id, const json_t *row);

void matches_search(struct http_req *r);  /* GET /v1/matches */
void matches_get(struct http_req *r);	  /* GET /v1/matches/{id} */
void matches_approve(struct http_req *r); /* POST /v1/matches/{id}/approve */
void matches_reject(struct http_req *r);  /* POST /v1/matches/{id}/reject */
void matches_accept(struct http_req *r);  /* POST /v1/matches/{id}/accept */
void matches_decline(struct http_req *r); /* POST /v1/matches/{id}/decline */
void matches_fulfil(struct http_req *r);  /* POST /v1/matches/{id}/fulfil */
void matches_cancel(struct http_req *r);  /* POST /v1/matches/{id}/cancel */

#endif
