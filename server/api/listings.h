/*
 * listings (API) — /v1/needs, /v1/offers and /v1/listings.
 */
#ifndef CM_API_LISTINGS_H
#define CM_API_LISTINGS_H

struct http_req;

void listings_post_need(struct http_req *r);  /* POST /v1/needs: villages */
void listings_post_offer(struct http_req *r); /* POST /v1/offers: suppliers */
void listings_search(struct http_req *r);     /* GET /v1/listings (also /v1/needs, /v1/offers) */
void listings_search_needs(struct http_req *r);
void listings_search_offers(struct http_req *r);
void listings_get(struct http_req *r);	 /* GET /v1/listings/{id} */
void listings_patch(struct http_req *r); /* PATCH /v1/listings/{id}: the owner */
void listings_close(struct http_req *r); /* DELETE /v1/listings/{id}: owner, moderator, admin */

#endif
