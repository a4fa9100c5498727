/*
 * events (API) — GET /v1/events and POST /v1/stream-tickets (see events.h).
 *
 * GET /v1/events is routed as public because it authenticates itself: with
 * ?ticket= (a single-use stream ticket, used up here) or else with the
 * bearer token (auth_dispatch, which loads the account and calls this
 * handler again). A long-lived token in the URL is refused: URLs end up in
 * logs and histories. The query is checked first, then the caller, then the
 * stream is handed to the hub (server/push/hub.h), which answers from there.
 *
 * Resume point: the Last-Event-ID header wins over ?last_event_id=, because
 * a browser's EventSource reconnects to the same URL with the header set to
 * the last id it saw.
 */
#include "server/api/events.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/auth.h"
#include "server/http/request.h"
#include "server/push/filter.h"
#include "server/push/hub.h"
#include "server/push/position.h"
#include "server/store/tickets.h"

#define EVENTS_TICKET_PREFIX "cmst_"
#define EVENTS_TICKET_LEN 48 /* the prefix and 43 base64url characters (32 bytes) */

/* What the query and headers of GET /v1/events ask for, checked. */
struct events_query {
	uint32_t types;
	char listing[IDS_MAX];
	char resume[POSITION_MAX]; /* "" for from now */
	const char *ticket;	   /* borrowed from the parsed query, or NULL */
};

static const char *const events_params[] = {"types", "listing", "last_event_id", "ticket", NULL};
/* Names under which clients put tokens in URLs: refused with advice. */
static const char *const events_token_params[] = {"token", "access_token", NULL};

/* A resume position from the header or the parameter, checked into q->resume. */
static void events_resume(const char *value, const char *field, struct events_query *q,
			  json_t **errors)
{
	struct position p;
	if (value == NULL)
		return;
	if (strlen(value) >= POSITION_MAX || position_parse(value, &p) < 0) {
		fields_error(errors, field,
			     "is not an event id (<milliseconds>-<sequence>, as sent "
			     "in the id: of an event)");
		return;
	}
	if (q->resume[0] == '\0')
		snprintf(q->resume, sizeof(q->resume), "%s", value);
}

/* Checks the query; returns 0, or -1 after answering 400. */
static int events_parse(struct http_req *r, struct events_query *q)
{
	memset(q, 0, sizeof(*q));
	for (const char *const *t = events_token_params; *t; t++) {
		char *v = http_req_query(r, *t);
		free(v);
		if (v) {
			http_reply_problem(
			    r, 400, "bad-request", NULL,
			    "a bearer token never goes in a URL (%s=): URLs are logged and "
			    "kept in histories. Send Authorization: Bearer, or POST "
			    "/v1/stream-tickets with it and open /v1/events?ticket=<ticket>",
			    *t);
			return -1;
		}
	}
	if (api_query_refused(r, events_params, "parameter"))
		return -1;
	json_t *errors = NULL;
	const char *types = evhttp_find_header(r->query, "types");
	char bad[64];
	if (types && filter_parse_types(types, &q->types, bad, sizeof(bad)) < 0) {
		char known[256];
		filter_types_text(known, sizeof(known));
		fields_error(&errors, "types", "'%s' is not an event type (%s)", bad, known);
	}
	const char *listing = evhttp_find_header(r->query, "listing");
	if (listing && !ids_valid("lst", listing))
		fields_error(&errors, "listing", "is not a listing id");
	else if (listing)
		snprintf(q->listing, sizeof(q->listing), "%s", listing);
	events_resume(http_req_header(r, "Last-Event-ID"), "Last-Event-ID", q, &errors);
	events_resume(evhttp_find_header(r->query, "last_event_id"), "last_event_id", q, &errors);
	q->ticket = evhttp_find_header(r->query, "ticket");
	if (q->ticket && r->account == NULL && http_req_header(r, "Authorization"))
		fields_error(&errors, "ticket",
			     "send a ticket or an Authorization header, not both");
	if (errors) {
		api_reply_invalid(r, errors);
		return -1;
	}
	return 0;
}

static void events_ticket_used(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	const char *token = store_field_str(res->value, TICKET_TOKEN);
	const char *doc = store_field_str(res->value, TICKET_DOC);
	json_t *account = doc ? json_loads(doc, 0, NULL) : NULL;
	if (token == NULL || account == NULL) {
		json_decref(account);
		http_reply_unauthorized(
		    r, "the stream ticket is unknown, used or expired: a ticket opens one "
		       "stream, within seconds; POST /v1/stream-tickets for another");
		return;
	}
	r->account = account;
	r->token_id = xstrdup(token);
	events_stream(r);
}

/* Authenticates r by its ticket, then comes back to events_stream. */
static void events_ticket_auth(struct http_req *r, const char *ticket)
{
	size_t len = strlen(ticket);
	int ok = len == EVENTS_TICKET_LEN &&
		 strncmp(ticket, EVENTS_TICKET_PREFIX, strlen(EVENTS_TICKET_PREFIX)) == 0;
	for (size_t i = strlen(EVENTS_TICKET_PREFIX); ok && i < len; i++)
		ok = (ticket[i] >= 'A' && ticket[i] <= 'Z') ||
		     (ticket[i] >= 'a' && ticket[i] <= 'z') ||
		     (ticket[i] >= '0' && ticket[i] <= '9') || ticket[i] == '-' || ticket[i] == '_';
	if (!ok) {
		http_reply_unauthorized(r, "the stream ticket is malformed");
		return;
	}
	char hash[IDS_TOKEN_HASH_HEX];
	ids_token_hash(ticket, len, hash);
	tickets_consume(r->app->store, hash, events_ticket_used, r);
}

/* The caller is known and the query checked: the hub takes the request over. */
static void events_open(struct http_req *r, const struct events_query *q)
{
	struct hub *h = r->app->hub;
	if (h == NULL) {
		http_reply_unavailable(
		    r, "this craftmatchd runs without the push hub (--role api "
		       "or engine): send /v1/events to a node with role all or push");
		return;
	}
	if (strcmp(r->method, "HEAD") == 0) {
		struct evbuffer *none = evbuffer_new();
		http_reply_buffer(r, 200, "text/event-stream; charset=utf-8", none);
		evbuffer_free(none);
		return;
	}
	struct filter f;
	filter_init(&f, r->account);
	f.types = q->types;
	snprintf(f.listing, sizeof(f.listing), "%s", q->listing);
	if (hub_subscribe(h, r, &f, q->resume[0] ? q->resume : NULL) < 0) {
		filter_clear(&f);
		http_reply_unavailable(r, "the server is shutting down; reconnect (with "
					  "Last-Event-ID) to another node");
	}
}

void events_stream(struct http_req *r)
{
	struct events_query q;
	if (events_parse(r, &q) < 0)
		return;
	if (r->account == NULL) {
		if (q.ticket)
			events_ticket_auth(r, q.ticket);
		else
			auth_dispatch(r); /* back here with r->account, or 401 */
		return;
	}
	events_open(r, &q);
}

/* ---- POST /v1/stream-tickets ---- */

struct events_ticket_ctx {
	struct http_req *r;
	char ticket[IDS_TOKEN_MAX + sizeof(EVENTS_TICKET_PREFIX)];
	int64_t expires_ms;
};

static void events_ticket_ctx_free(struct events_ticket_ctx *c)
{
	sodium_memzero(c->ticket, sizeof(c->ticket));
	free(c);
}

static void events_ticket_made(const struct store_reply *res, void *arg)
{
	struct events_ticket_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status == STORE_NOT_FOUND) {
		events_ticket_ctx_free(c);
		http_reply_unauthorized(r, "the bearer token was revoked");
		return;
	}
	if (res->status != STORE_OK) {
		events_ticket_ctx_free(c);
		api_reply_store_error(r, res);
		return;
	}
	char when[32];
	json_t *out = json_pack("{s:s, s:s}", "ticket", c->ticket, "expires_at",
				clock_text(c->expires_ms, when));
	events_ticket_ctx_free(c);
	http_reply_json(r, 200, out);
}

void events_ticket_create(struct http_req *r)
{
	/* The body is optional; when sent it is an empty object (room for options later). */
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->ev)) > 0) {
		static const char *const none[] = {NULL};
		json_t *body = http_req_json_body(r);
		if (body == NULL)
			return;
		json_t *errors = NULL;
		fields_unknown(body, "", none, &errors);
		json_decref(body);
		if (errors) {
			api_reply_invalid(r, errors);
			return;
		}
	}
	struct events_ticket_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	char secret[IDS_TOKEN_MAX];
	ids_token_new(secret); /* "cm_" and 43 base64url characters */
	snprintf(c->ticket, sizeof(c->ticket), "%s%s", EVENTS_TICKET_PREFIX, secret + 3);
	sodium_memzero(secret, sizeof(secret));
	long ttl_ms = (long)r->app->cfg.stream_ticket_ttl_s * 1000;
	c->expires_ms = clock_now_ms() + ttl_ms;
	char hash[IDS_TOKEN_HASH_HEX];
	ids_token_hash(c->ticket, strlen(c->ticket), hash);
	tickets_create(r->app->store, hash, api_account_id(r), r->token_id, ttl_ms,
		       events_ticket_made, c);
}
