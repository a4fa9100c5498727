/*
 * api — what every resource handler shares: mapping store outcomes to
 * problems, role checks, Idempotency-Key handling, timestamps.
 */
#ifndef CM_API_H
#define CM_API_H

#include <jansson.h>
#include <stdint.h>

#include "common/account.h"
#include "common/ids.h"
#include "server/store/accounts.h"

struct http_req;

/* Answers a failed store call with the fitting problem (404, 409, 503, ...). */
void api_reply_store_error(struct http_req *r, const struct store_reply *res);

/*
 * The one store write of a ROUTE_ONE_TRIP route's handler, made as
 * API_WRITE(r, store_listing_create(...)): when the request runs on the
 * account last seen for its credential (r->as, server/http/auth.c), the
 * write carries the credential and cm_as checks it in the same call.
 */
void api_as_begin(struct http_req *r);
void api_as_end(struct http_req *r);
#define API_WRITE(r, call)                                                                         \
	do {                                                                                       \
		api_as_begin(r);                                                                   \
		call;                                                                              \
		api_as_end(r);                                                                     \
	} while (0)

/* The caller's role (the request has passed authentication). */
enum account_role api_role(const struct http_req *r);
const char *api_account_id(const struct http_req *r);

/*
 * Answers 403 "only admins and moderators <what>" and returns 1 when the
 * caller is neither an admin nor a moderator; returns 0 otherwise.
 */
int api_refuse_unless_staff(struct http_req *r, const char *what);

/*
 * The request's Idempotency-Key, as a Redis key scoped to the caller, with
 * a fingerprint of the method, path and body. Returns 0 (idem filled,
 * idem->key NULL when the header is absent), or -1 after answering 400 for
 * a malformed key.
 */
struct api_idem {
	struct store_idem idem;
	char key[STORE_IDEM_KEY_MAX];
	char fingerprint[IDS_TOKEN_HASH_HEX];
};
int api_idempotency(struct http_req *r, struct api_idem *out);

/*
 * 1 when an If-Match header value (a list of entity-tags, or "*") matches
 * etag by strong comparison (RFC 9110 13.1.1): weak tags never match.
 */
int api_if_match(const char *header, const char *etag);

/*
 * A page of search results as the API answers it: {"items": [...],
 * "next_cursor": "…" | null}, from a store reply [next cursor or "",
 * [[id, fields...], ...]]. view(id, fields) returns a new reference or NULL
 * (the row is skipped). Returns a new reference.
 */
typedef json_t *(*api_view_fn)(const char *id, const json_t *fields);
json_t *api_page(const json_t *reply, api_view_fn view);

/*
 * Checks the cursor and limit query values of a list request (either may be
 * NULL): a cursor is the next_cursor of an earlier page, a limit 1..max.
 * Sets *limit when given; appends errors.
 */
void api_page_params(const char *cursor, const char *limit_text, int max, int *limit,
		     json_t **errors);

/*
 * Query filters naming reference data: the material's code or the
 * province's code (old province names accepted) for text, or NULL with an
 * error appended when text names none. text NULL: NULL, no error.
 */
const char *api_filter_material(const char *text, json_t **errors);
const char *api_filter_province(const char *text, json_t **errors);

/*
 * The free-text query q of a search: text (owned, freed here) checked (at
 * most max characters of valid UTF-8) and folded as the search keys are
 * (text_fold_key: word order kept, so the whole phrase is searched for).
 * Returns the folded text (owned by the caller), or NULL with an error
 * appended. text NULL: NULL, no error.
 */
char *api_query_text(char *text, int max, json_t **errors);

/*
 * Refuses a query string that is malformed, or names a parameter not in
 * allowed (NULL-terminated) or one twice: answers 400 naming it ("unknown or
 * repeated <noun>; use <allowed, in order>") and returns 1. Returns 0 when
 * the query is fine.
 */
int api_query_refused(struct http_req *r, const char *const *allowed, const char *noun);

/* Answers 400 with a validation problem listing errors (stolen). */
void api_reply_invalid(struct http_req *r, json_t *errors);

#endif
