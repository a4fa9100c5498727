/*
 * matches (store) — proposals and the life of a match in Redis.
 *
 * Proposing lowers both listings' remaining quantity in the same function
 * that checks it (invariant 3); every later step is one function that checks
 * the state it leaves and writes the event with the change (invariant 4).
 */
#ifndef CM_STORE_MATCHES_H
#define CM_STORE_MATCHES_H

#include <jansson.h>
#include <stdint.h>

#include "server/store/accounts.h"
#include "server/store/store.h"

struct store_proposal {
	const char *match_id, *need_id, *offer_id;
	int64_t quantity;
	int64_t need_version, offer_version;
	const char *doc; /* JSON text: the explanation */
};

/* The fields of each proposal's answer: ["ok", need remaining, offer remaining] or [reason]. */
enum store_proposed_field { SPF_OUTCOME, SPF_NEED_REMAINING, SPF_OFFER_REMAINING };

/* value: per proposal, enum store_proposed_field */
void store_match_propose(struct store *s, const struct store_proposal *p, size_t n,
			 int64_t expires_at, store_cb cb, void *arg);

/* Field order of store_match_get / store_match_search rows (after the id in search rows). */
enum store_match_field {
	SMF_DOC,
	SMF_NEED,
	SMF_OFFER,
	SMF_NEED_OWNER,
	SMF_OFFER_OWNER,
	SMF_NEED_PROVINCE,
	SMF_OFFER_PROVINCE,
	SMF_NEED_FORUM,
	SMF_OFFER_FORUM,
	SMF_MATERIAL,
	SMF_QUANTITY,
	SMF_STATE,
	SMF_VERSION,
	SMF_CREATED_AT,
	SMF_UPDATED_AT,
	SMF_APPROVED_AT,
	SMF_REVIEWED_BY,
	SMF_REASON,
	SMF_NEED_ACCEPTED,
	SMF_OFFER_ACCEPTED,
	SMF_DELIVERED,
	SMF_EXPIRES_AT,
	SMF_BY,
	SMF_COUNT
};

/* value: array in enum store_match_field order, or null */
void store_match_get(struct store *s, const char *id, store_cb cb, void *arg);

/*
 * value: [new state, version]. action: approve, reject, accept, decline,
 * fulfil, cancel. side: "need"/"offer" for parties, "" otherwise. note:
 * reason, or the delivered quantity for fulfil. expires_at: new deadline
 * (approve). expected_version 0 = any.
 */
void store_match_act(struct store *s, const char *id, const char *action, const char *actor,
		     const char *side, const char *note, int64_t expires_at,
		     int64_t expected_version, const struct store_idem *idem, store_cb cb,
		     void *arg);

/* value: number expired */
void store_match_expire(struct store *s, int64_t now_ms, int batch, store_cb cb, void *arg);

enum store_match_mode { STORE_MATCH_ALL, STORE_MATCH_PARTY, STORE_MATCH_SCOPE };

struct store_match_query {
	enum store_match_mode mode;
	const char *party;					   /* account id for PARTY mode */
	const char *scope_provinces, *scope_forums;		   /* csv, SCOPE mode */
	const char *state, *listing, *material, *province, *forum; /* validated; NULL any */
	const char *cursor;
	int limit;
};

/* value: [next cursor or "", [[id, fields...], ...]] */
void store_match_search(struct store *s, const struct store_match_query *q, store_cb cb, void *arg);

/*
 * A page of the failed pairs (store/lua, cm:pairs:failed).
 * value: [next HSCAN cursor ("0" at the end),
 *         ["need|offer", "NEED_VERSION OFFER_VERSION", ...]]
 * (enum store_page_field: STORE_PAGE_NEXT, STORE_PAGE_ROWS)
 */
void store_engine_failed_pairs(struct store *s, const char *cursor, int count, store_cb cb,
			       void *arg);
/* The engine's feed position: the last event id fully matched. value: the id, or null. */
void store_engine_cursor_get(struct store *s, store_cb cb, void *arg);
/* Saves the feed position; it only moves forward, so a slower engine never sends it back. */
void store_engine_cursor_save(struct store *s, const char *cursor, store_cb cb, void *arg);

/*
 * The call market's turn (cm:engine:callmarket): one engine node at a time
 * runs its rounds. claim takes or renews the turn for node for ttl_ms;
 * done keeps it hold_ms more after a round. value: 1 when node holds it, 0
 * when another node does.
 */
void store_callmarket_claim(struct store *s, const char *node, long long ttl_ms, store_cb cb,
			    void *arg);
void store_callmarket_done(struct store *s, const char *node, long long hold_ms, store_cb cb,
			   void *arg);

/* The fields of store_engine_listing's answer. */
enum store_engine_listing_field {
	SEL_RECORD, /* matching_listing_encode() of the listing */
	SEL_REMAINING,
	SEL_VERSION,
	SEL_SEQ,
	SEL_STATUS
};
/* value: enum store_engine_listing_field, or null */
void store_engine_listing(struct store *s, const char *id, store_cb cb, void *arg);

#endif
