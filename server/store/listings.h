/*
 * listings (store) — needs and offers in Redis.
 *
 * Every create, update, close and expiry is one function call that writes
 * the listing, its indexes and its event on cm:events together.
 */
#ifndef CM_STORE_LISTINGS_H
#define CM_STORE_LISTINGS_H

#include <jansson.h>
#include <stdint.h>

#include "server/store/accounts.h"
#include "server/store/calls.h" /* struct store_listing_meta */
#include "server/store/store.h"

/*
 * The fields of a stored listing's row (store_listing_get; in
 * store_listing_search after the id; in store_listing_create the row).
 */
enum store_listing_field {
	SLF_DOC,	/* the document text */
	SLF_STATUS,	/* "open" | "closed" | "expired" | "filled" */
	SLF_REMAINING,	/* base units not yet allocated */
	SLF_VERSION,	/* bumped by every write; the ETag */
	SLF_OWNER_NAME, /* the owner account's name, "" when unknown */
	SLF_CREATED_AT, /* ms */
	SLF_UPDATED_AT, /* ms */
	SLF_COUNT
};
/*
 * After the row of an update or a close: the id of the last event the write
 * appended to cm:events (a search index has applied the write once it has
 * applied that event: server/search/search.h). A create's answer carries it
 * as STORE_CREATED_EVENT ("" for a replay).
 */
#define SLF_EVENT SLF_COUNT
#define STORE_CREATED_EVENT (STORE_CREATED_ROW + 1)

/*
 * value: ["created"|"replay", id, row] (enum store_created_field; the row in
 * enum store_listing_field order; a created row's SLF_DOC is "": the document
 * is the one sent, not sent back). With a forum (checked by forum_id_ok): INVALID when there is no
 * such forum, REFUSED when it is not open; the listing is then held for it.
 */
void store_listing_create(struct store *s, const char *id, const json_t *doc,
			  const struct store_listing_meta *m, const struct store_idem *idem,
			  store_cb cb, void *arg);

/* value: the row in enum store_listing_field order, or null */
void store_listing_get(struct store *s, const char *id, store_cb cb, void *arg);

/*
 * value: the row as written, in enum store_listing_field order; NOT_FOUND
 * (absent or not the caller's), REFUSED (not open, below allocated),
 * CONFLICT (version)
 */
void store_listing_update(struct store *s, const char *id, const char *caller,
			  int64_t expected_version, const json_t *doc, int64_t quantity,
			  int64_t ends_at, const char *fold, const char *engine, store_cb cb,
			  void *arg);

/* value: the row as written, in enum store_listing_field order; REFUSED when not open */
void store_listing_close(struct store *s, const char *id, const char *caller, store_cb cb,
			 void *arg);

/* value: number expired */
void store_listing_expire(struct store *s, int64_t now_ms, int batch, store_cb cb, void *arg);

/*
 * The Redis search: the API nodes answer open listings without an owner
 * filter from memory (server/search/), and this the rest.
 */
struct store_listing_query {
	const char *kind, *material, *province, *owner, *status; /* validated; NULL = any */
	const char *forum;					 /* NULL = any */
	const char *text;					 /* folded; NULL = any */
	const char *cursor;					 /* NULL = first page */
	int limit;
};

/* value: a page (enum store_page_field): [next cursor or "", [[id, row...], ...]], each row
 * after its id in enum store_listing_field order */
void store_listing_search(struct store *s, const struct store_listing_query *q, store_cb cb,
			  void *arg);

#endif
