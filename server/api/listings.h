/*
 * listings (API) — /v1/needs, /v1/offers and /v1/listings.
 */
#ifndef CM_API_LISTINGS_H
#define CM_API_LISTINGS_H

#include <jansson.h>

#include "server/store/store.h"

struct http_req;
struct store_idem;

void listings_post_need(struct http_req *r);  /* POST /v1/needs: villages */
void listings_post_offer(struct http_req *r); /* POST /v1/offers: suppliers */
void listings_search(struct http_req *r);     /* GET /v1/listings (also /v1/needs, /v1/offers) */
void listings_search_needs(struct http_req *r);
void listings_search_offers(struct http_req *r);
void listings_get(struct http_req *r);	 /* GET /v1/listings/{id} */
void listings_patch(struct http_req *r); /* PATCH /v1/listings/{id}: the owner */
void listings_close(struct http_req *r); /* DELETE /v1/listings/{id}: owner, moderator, admin */

/*
 * Writes a new listing for owner (an account document): doc, made by
 * listing_from_request with its forum id checked (borrowed), gets a new id
 * and the owner; the search text and the engine record are made of it; cb
 * gets cm_listing_create's reply (server/store/listings.h). Also the rows of
 * an import (server/api/import_run.c).
 */
void listings_write_new(struct store *s, json_t *doc, const json_t *owner,
			const struct store_idem *idem, store_cb cb, void *arg);

#endif
