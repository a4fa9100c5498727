/*
 * request — one HTTP request as handlers see it, and every way to answer it.
 *
 * A handler receives a struct http_req and must answer it exactly once with
 * one of the http_reply_* functions, now or from a later callback. Answering
 * sends the response, logs the request line, counts it in the metrics and
 * frees the http_req: do not touch it afterwards.
 */
#ifndef CM_HTTP_REQUEST_H
#define CM_HTTP_REQUEST_H

#include <jansson.h>
#include <stdint.h>

#include "server/http/router.h"

struct app;
struct http_req;
struct evhttp_request;
struct evbuffer;
struct evkeyvalq;
struct store_as;

/*
 * What the code that made a request (server.c) is told of its answer, so
 * that answering needs nothing above this file: whether the answer must
 * close the connection (the server is draining), and that the request is
 * over (logged, counted, freed).
 */
struct http_req_owner {
	int (*closing)(const struct http_req *r);
	void (*done)(struct http_req *r, int status);
};

struct http_req {
	const struct http_req_owner *owner;
	struct evhttp_request *ev;
	struct app *app;
	const struct route *route; /* NULL when unmatched */
	size_t route_index;
	const char *method;
	char *path; /* decoded-free raw path, owned */
	struct route_params params;
	char id[40];
	uint64_t start_ns;
	json_t *account;	 /* the authenticated account, or NULL; owned */
	char *token_id;		 /* id of the bearer token used, or NULL; owned */
	char *session_hash;	 /* authenticated by session cookie: its hash; owned */
	void *ctx;		 /* handler's own state, owned by the handler */
	struct evkeyvalq *query; /* parsed on first use; owned */
	int query_bad;		 /* the query string could not be parsed */
	/*
	 * Authenticated from the account last seen for its credential, not yet
	 * checked for this request (auth.c): the credential its write carries
	 * (store_as), and what answering does instead of sending while the
	 * check is still owed: auth.c checks, then sends the answer or builds
	 * the request afresh. Both owned by auth.c; NULL otherwise.
	 */
	struct store_as *as;
	void (*hold)(struct http_req *r, int status, const char *content_type,
		     struct evbuffer *body);
};

/*
 * Path parameter by name, %-decoded into a new string (caller frees), or
 * NULL when absent or not decodable.
 */
char *http_req_param(struct http_req *r, const char *name);
/* Query parameter (decoded) copied into a new string (caller frees), or NULL. */
char *http_req_query(struct http_req *r, const char *name);
/*
 * The first query parameter not named in allowed (NULL-terminated) or
 * given twice, or NULL when all are known and single; "?" when the query
 * string cannot be parsed.
 */
const char *http_req_query_unknown(struct http_req *r, const char *const *allowed);
/* Request header, or NULL; owned by the request. */
const char *http_req_header(struct http_req *r, const char *name);

/*
 * Parses the body as one JSON object: Content-Type application/json, valid
 * UTF-8, no duplicate keys, depth ≤ HTTP_JSON_MAX_DEPTH. Returns a new
 * reference, or NULL after answering with the fitting problem (then the
 * request is gone).
 */
#define HTTP_JSON_MAX_DEPTH 16
json_t *http_req_json_body(struct http_req *r);

/*
 * The raw body of a request whose Content-Type is media_type (with at most a
 * charset=utf-8 parameter): its bytes (owned by the request) and *len, or
 * NULL after answering 415.
 */
const char *http_req_body(struct http_req *r, const char *media_type, size_t *len);

/* Adds a response header (before replying). */
void http_reply_header(struct http_req *r, const char *name, const char *value);

/* Sends body (stolen reference, may be NULL for no body) as application/json. */
void http_reply_json(struct http_req *r, int status, json_t *body);
/* Sends a buffer as is with the given content type; the buffer is drained. */
void http_reply_buffer(struct http_req *r, int status, const char *content_type,
		       struct evbuffer *body);

/*
 * application/problem+json (RFC 9457). type_slug names an entry of the
 * problem table (problem.c), which gives the type URI and title. detail is
 * printf-style. errors: stolen reference to an array of {field, message}, or NULL.
 */
void http_reply_problem(struct http_req *r, int status, const char *type_slug, json_t *errors,
			const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * 204 to an OPTIONS request, Allow naming allow (the path's methods) and
 * OPTIONS. Same-origin only: no CORS header is ever added.
 */
void http_reply_options(struct http_req *r, const char *allow);

/* 401 with WWW-Authenticate: Bearer, for a credential that is missing or not known. */
void http_reply_unauthorized(struct http_req *r, const char *detail);

/* 503 with Retry-After, for Redis that missed its deadline or is away. */
void http_reply_unavailable(struct http_req *r, const char *detail);

/*
 * Ends a request whose answer went out some other way (an event stream the
 * push hub wrote and closed): logs, counts and frees it, as answering does.
 */
void http_req_finish(struct http_req *r, int status);

#endif
