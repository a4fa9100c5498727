/*
 * calls (store) — the KEYS and ARGV of the Redis functions that create
 * accounts, tokens and listings, built without any I/O.
 *
 * The store's wrappers (accounts.c, listings.c) send them with store_fcall;
 * the bench's bulk loader (scripts/bench.d/data.c) pipelines the very same
 * calls over a blocking hiredis connection. One definition, so what the
 * loader writes is what the server writes. Nothing here needs libevent or
 * hiredis.
 */
#ifndef CM_STORE_CALLS_H
#define CM_STORE_CALLS_H

#include <jansson.h>
#include <stdint.h>

#include "server/store/keys.h"

/* Idempotency of a POST: the Redis key for it and the request's fingerprint. */
struct store_idem {
	const char *key; /* NULL when the request carried no Idempotency-Key */
	const char *fingerprint;
};

/* What the listing indexes and the search need besides the document. */
struct store_listing_meta {
	const char *kind;  /* "need" | "offer" */
	const char *owner; /* account id */
	const char *owner_name;
	const char *material;	 /* code */
	const char *province;	 /* code */
	const char *forum;	 /* "" when none */
	int64_t quantity;	 /* base units */
	int64_t ends_at;	 /* ms, 0 = never */
	const char *fold;	 /* folded search text */
	const char *engine;	 /* matching_listing_encode() of the listing */
	const char *after_forum; /* "market" | "close"; NULL or "" without a forum */
};

#define STORE_CALL_KEYS 5
#define STORE_CALL_ARGS 16

/*
 * One FCALL: fn, keys[nkeys], args[nargs]. The pointers lead into the
 * caller's strings and into the call's own storage below, so a call lives as
 * long as its inputs; store_call_done() frees the document text.
 */
struct store_call {
	const char *fn;
	int nkeys, nargs;
	const char *keys[STORE_CALL_KEYS];
	const char *args[STORE_CALL_ARGS];
	char key[STORE_CALL_KEYS][KEYS_MAX];
	char num[4][24];
	char scope[2][2048]; /* a moderator's provinces and forums, comma-joined */
	char *text;	     /* the document's JSON text */
	char fold[1024];     /* an account's name folded for search */
};

/* cm_account_create of doc (with id, created_at and created_by set) by account `by`. */
void store_call_account_create(struct store_call *c, const char *id, const json_t *doc,
			       const char *by, const struct store_idem *idem, int64_t now_ms,
			       long events_maxlen);

/* An account's name folded for search (common/textfold.h) into buf; "" without one. */
const char *store_account_fold(const json_t *doc, char *buf, size_t len);

/* cm_token_create of token id (SHA-256 hex `hash` of its secret) for account, by `by`. */
void store_call_token_create(struct store_call *c, const char *id, const char *account,
			     const char *hash, const char *name, const char *by,
			     const struct store_idem *idem, int64_t now_ms, long events_maxlen);

/* cm_listing_create of doc (with id and owner set), described by m. */
void store_call_listing_create(struct store_call *c, const char *id, const json_t *doc,
			       const struct store_listing_meta *m, const struct store_idem *idem,
			       int64_t now_ms, long events_maxlen);

void store_call_done(struct store_call *c);

#endif
