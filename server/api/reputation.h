/*
 * reputation (API) — an account's record of keeping its word:
 * GET /v1/accounts/{id}/reputation, and the "reputation" object that match
 * views carry (docs/api.md, "Reputation").
 *
 * Who sees it: the account itself, every moderator and admin on the
 * route; on a match view, moderators of the match and admins both parties'
 * and a party the other party's from approval on
 * (match_reputation_sides, common/match.c).
 */
#ifndef CM_API_REPUTATION_H
#define CM_API_REPUTATION_H

#include <jansson.h>
#include <stddef.h>

#include "common/match.h"
#include "server/store/store.h"

struct http_req;

/* GET /v1/accounts/{id}/reputation */
void accounts_reputation(struct http_req *r);

/*
 * The document of account's counts (a row of store_reputation_get): a new
 * object {account_id, confirmed, fulfilled, declined, cancelled, expired,
 * quantity_fulfilled, quantity_delivered, delivered_share: {numerator,
 * denominator}, fulfilment_rate: {numerator, denominator}}.
 */
json_t *reputation_render(const char *account, const json_t *counts);

/*
 * Runs once reputation_attach has set what it could; failed is the store's
 * answer when the read failed (the views are then as they were), else NULL.
 */
typedef void (*reputation_done)(struct http_req *r, void *arg, const struct store_reply *failed);

/*
 * Sets views[i]'s "reputation" ({"need", "offer": reputation_render()},
 * only the sides r's caller may see, absent when none) for the match with
 * facts f[i], in one read of the store, then calls done. views and f are
 * borrowed until done runs (f's strings are copied at once). n <=
 * STORE_REP_MAX / 2.
 */
void reputation_attach(struct http_req *r, json_t *const *views, const struct match_facts *f,
		       size_t n, reputation_done done, void *arg);

#endif
