/*
 * listings (API) — posting, finding, changing and closing needs and offers.
 *
 * Villages post needs, suppliers post offers; every account may read every
 * listing (owners' contact details never appear here). Changes go to Redis as
 * one function call each (store/listings.c); PATCH is a compare-and-set on
 * the listing's version, which GET returns as the ETag.
 */
#include "server/api/listings.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/digits.h"
#include "common/fields.h"
#include "common/forum.h"
#include "common/listing.h"
#include "common/matching.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/strcopy.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/api/export.h"
#include "server/api/export_columns.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/request.h"
#include "server/search/search.h"
#include "server/store/listings.h"

#define LISTINGS_PAGE_DEFAULT 20
#define LISTINGS_PAGE_MAX 100
#define LISTINGS_QUERY_TEXT_MAX 100

struct listings_ctx {
	char engine[MATCHING_RECORD_MAX]; /* the engine record (cm:eng, store/lua) */
	struct http_req *r;
	json_t *doc; /* the document being written */
	char id[IDS_MAX];
	char *owner_name;
	char *fold;
	int closing; /* DELETE, not PATCH */
};

/* What the engine loads instead of the document ("" when it cannot be made). */
static void listings_engine_record(const json_t *doc, char buf[MATCHING_RECORD_MAX])
{
	struct matching_listing l;
	buf[0] = '\0';
	if (matching_listing_from_doc(&l, doc, listing_quantity_base(doc), 1, 0, NULL) < 0 ||
	    matching_listing_encode(&l, buf, MATCHING_RECORD_MAX) < 0)
		buf[0] = '\0';
}

static void listings_ctx_free(struct listings_ctx *c)
{
	json_decref(c->doc);
	free(c->owner_name);
	free(c->fold);
	free(c);
}

/*
 * The API view from a stored row (enum store_listing_field). doc, when not NULL, is the row's
 * document already parsed (the one just written): the view is made of it
 * (the reference moves to the view) instead of parsing the row's text.
 * Returns a new reference, or NULL when the row is unreadable.
 */
static json_t *listings_view(const json_t *row, json_t *doc)
{
	if (doc == NULL) {
		const char *text = store_field_str(row, SLF_DOC);
		doc = text ? json_loads(text, 0, NULL) : NULL;
		if (doc == NULL)
			return NULL;
	}
	return listing_api_view(
	    doc, store_field_str(row, SLF_STATUS), store_field_int(row, SLF_REMAINING),
	    store_field_int(row, SLF_VERSION), store_field_str(row, SLF_OWNER_NAME),
	    store_field_int(row, SLF_CREATED_AT), store_field_int(row, SLF_UPDATED_AT));
}

static void listings_reply_view(struct http_req *r, int status, const json_t *row, json_t *doc)
{
	json_t *view = listings_view(row, doc);
	if (view == NULL) {
		http_reply_problem(r, 500, "internal", NULL, "the listing record is unreadable");
		return;
	}
	/* "\"<version>\"" and "/v1/listings/<id>", without snprintf's cost */
	char etag[32], *end = etag + sizeof(etag) - 1;
	end[0] = '\0';
	*--end = '"';
	char *p = digits_i64(end, store_field_int(row, SLF_VERSION));
	*--p = '"';
	http_reply_header(r, "ETag", p);
	if (status == 201) {
		static const char prefix[] = "/v1/listings/";
		char loc[64];
		memcpy(loc, prefix, sizeof(prefix) - 1);
		const char *id = json_string_value(json_object_get(view, "id"));
		str_copy(loc + sizeof(prefix) - 1, sizeof(loc) - (sizeof(prefix) - 1),
			 id ? id : "");
		http_reply_header(r, "Location", loc);
	}
	http_reply_json(r, status, view);
}

/* Reads a listing, then calls next with the row (or answers 404/503 itself). */
typedef void (*listings_next)(struct http_req *r, const json_t *row);

struct listings_load {
	struct http_req *r;
	listings_next next;
};

static void listings_loaded(const struct store_reply *res, void *arg)
{
	struct listings_load *l = arg;
	struct http_req *r = l->r;
	listings_next next = l->next;
	free(l);
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	if (!json_is_array(res->value)) {
		http_reply_problem(r, 404, "not-found", NULL, "no such listing");
		return;
	}
	next(r, res->value);
}

/* Loads the listing named by the {id} path parameter; NULL id → 404. */
static void listings_load(struct http_req *r, const char *id, listings_next next)
{
	if (id == NULL || !ids_valid("lst", id)) {
		http_reply_problem(r, 404, "not-found", NULL, "no such listing");
		return;
	}
	struct listings_load *l = xcalloc(1, sizeof(*l));
	l->r = r;
	l->next = next;
	store_listing_get(r->app->store, id, listings_loaded, l);
}

/* ---- POST /v1/needs, /v1/offers ---- */

static void listings_created(const struct store_reply *res, void *arg)
{
	struct listings_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status == STORE_INVALID) {
		/* the only input the function checks: the forum registered for */
		json_t *errors = NULL;
		fields_error(&errors, "forum", "%s", res->message ? res->message : "no such forum");
		listings_ctx_free(c);
		api_reply_invalid(r, errors);
		return;
	}
	if (res->status != STORE_OK) {
		listings_ctx_free(c);
		api_reply_store_error(r, res);
		return;
	}
	const char *outcome = store_field_str(res->value, STORE_CREATED_OUTCOME);
	const json_t *row = store_field(res->value, STORE_CREATED_ROW);
	if (store_field_str(row, SLF_DOC) == NULL) {
		listings_ctx_free(c);
		http_reply_problem(r, 404, "not-found", NULL, "the listing is gone");
		return;
	}
	/*
	 * The function answers with the stored row: exactly what Redis holds.
	 * Created: its document is the one just sent, so that is not parsed
	 * again; a replay is the first request's listing, read from the row.
	 */
	json_t *doc = NULL;
	if (outcome && strcmp(outcome, "replay") == 0)
		http_reply_header(r, "Idempotent-Replayed", "true");
	else
		doc = json_incref(c->doc);
	/* this caller's next search waits for the node's index to hold it */
	search_note_write(r->app->search, api_account_id(r),
			  store_field_str(res->value, STORE_CREATED_EVENT));
	listings_ctx_free(c);
	listings_reply_view(r, 201, row, doc);
}

static void listings_post(struct http_req *r, enum listing_kind kind)
{
	enum account_role need_role = kind == LISTING_NEED ? ACCOUNT_VILLAGE : ACCOUNT_SUPPLIER;
	if (api_role(r) != need_role) {
		http_reply_problem(r, 403, "forbidden", NULL, "only %s accounts post %ss",
				   account_role_name(need_role), listing_kind_name(kind));
		return;
	}
	json_t *body = http_req_json_body(r);
	if (body == NULL)
		return;
	json_t *errors = NULL;
	json_t *doc = listing_from_request(kind, body, clock_now_ms(), &errors);
	json_decref(body);
	if (doc == NULL) {
		api_reply_invalid(r, errors);
		return;
	}
	/* A forum id that no forum can have is refused here, before it nears a key. */
	const char *forum = json_string_value(json_object_get(doc, "forum"));
	if (forum && !forum_id_ok(forum)) {
		json_decref(doc);
		fields_error(&errors, "forum", "diễn đàn: no such forum");
		api_reply_invalid(r, errors);
		return;
	}
	struct listings_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->doc = doc;
	struct api_idem idem;
	if (api_idempotency(r, &idem) < 0) {
		listings_ctx_free(c);
		return;
	}
	API_WRITE(
	    r, listings_write_new(r->app->store, doc, r->account, &idem.idem, listings_created, c));
}

void listings_write_new(struct store *s, json_t *doc, const json_t *owner,
			const struct store_idem *idem, store_cb cb, void *arg)
{
	char id[IDS_MAX], engine[MATCHING_RECORD_MAX];
	ids_new("lst", id);
	const char *owner_id = json_string_value(json_object_get(owner, "id"));
	json_object_set_new(doc, "id", json_string(id));
	json_object_set_new(doc, "owner", json_string(owner_id));
	const char *name = json_string_value(json_object_get(owner, "name"));
	char *fold = listing_search_text(doc, name ? name : "");
	listings_engine_record(doc, engine);
	const char *forum = json_string_value(json_object_get(doc, "forum"));
	struct store_listing_meta m = {
	    .kind = json_string_value(json_object_get(doc, "kind")),
	    .owner = owner_id,
	    .owner_name = name ? name : "",
	    .material = json_string_value(json_object_get(doc, "material")),
	    .province = json_string_value(json_object_get(doc, "province")),
	    .forum = forum ? forum : "",
	    .quantity = listing_quantity_base(doc),
	    .ends_at = listing_ends_at(doc),
	    .fold = fold ? fold : "",
	    .engine = engine,
	    .after_forum = json_string_value(json_object_get(doc, "after_forum")),
	};
	store_listing_create(s, id, doc, &m, idem, cb, arg);
	free(fold);
}

void listings_post_need(struct http_req *r)
{
	listings_post(r, LISTING_NEED);
}

void listings_post_offer(struct http_req *r)
{
	listings_post(r, LISTING_OFFER);
}

/* ---- GET /v1/listings/{id} ---- */

static void listings_reply_200(struct http_req *r, const json_t *row)
{
	listings_reply_view(r, 200, row, NULL);
}

void listings_get(struct http_req *r)
{
	char *id = http_req_param(r, "id");
	listings_load(r, id, listings_reply_200);
	free(id);
}

/* ---- GET /v1/listings ---- */

struct listings_search_ctx {
	struct http_req *r;
	char *q[9]; /* query values kept alive for the store call */
	struct store_listing_query query;
};

static void listings_search_free(void *arg)
{
	struct listings_search_ctx *c = arg;
	for (size_t i = 0; i < sizeof(c->q) / sizeof(c->q[0]); i++)
		free(c->q[i]);
	free(c);
}

static json_t *listings_row_view(const char *id, const json_t *fields)
{
	(void)id; /* the stored document carries it */
	return listings_view(fields, NULL);
}

static void listings_found(const struct store_reply *res, void *arg)
{
	struct listings_search_ctx *c = arg;
	struct http_req *r = c->r;
	listings_search_free(c);
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	http_reply_json(r, 200, api_page(res->value, listings_row_view));
}

/* The same pages for a CSV export (server/api/export.h). */
static void listings_export_fetch(void *ctx, const char *cursor, store_cb cb, void *arg)
{
	struct listings_search_ctx *c = ctx;
	c->query.cursor = cursor;
	c->query.limit = LISTINGS_PAGE_MAX;
	store_listing_search(c->r->app->store, &c->query, cb, arg);
}

static json_t *listings_export_page(void *ctx, const json_t *reply)
{
	return api_page(reply, listings_row_view);
}

static const struct export_spec listings_export = {
    "listings",		  export_listing_columns, EXPORT_LISTING_COLUMNS, listings_export_fetch,
    listings_export_page, listings_search_free,
};

/* The search from memory, once the index holds the caller's last write (ok). */
static void listings_search_memory(void *arg, int ok)
{
	struct listings_search_ctx *c = arg;
	struct http_req *r = c->r;
	if (!ok) {
		listings_search_free(c);
		http_reply_unavailable(r,
				       "this server's search index has not yet applied your last "
				       "change; retry in a moment");
		return;
	}
	const struct store_listing_query *q = &c->query;
	struct sindex_query sq = {
	    .kind = q->kind ? (int)listing_kind_parse(q->kind) : -1,
	    .material = q->material,
	    .province = q->province,
	    .forum = q->forum,
	    .text = q->text,
	    .before = q->cursor ? strtoll(q->cursor, NULL, 10) : 0,
	    .limit = q->limit,
	};
	struct evbuffer *body = evbuffer_new();
	search_page(r->app->search, &sq, body);
	listings_search_free(c);
	http_reply_buffer(r, 200, "application/json; charset=utf-8", body);
	evbuffer_free(body);
}

static void listings_search_kind(struct http_req *r, const char *fixed_kind)
{
	static const char *const allowed[] = {"kind",  "material",    "province", "status",
					      "forum", "owner",	      "q",	  "cursor",
					      "limit", EXPORT_PARAMS, NULL};
	if (api_query_refused(r, allowed, "filter"))
		return;
	struct listings_search_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	json_t *errors = NULL;
	struct store_listing_query q = {.limit = LISTINGS_PAGE_DEFAULT, .status = "open"};
	struct export_opts eo;
	char *kind = c->q[0] = http_req_query(r, "kind");
	char *material = c->q[1] = http_req_query(r, "material");
	char *province = c->q[2] = http_req_query(r, "province");
	char *status = c->q[3] = http_req_query(r, "status");
	char *forum = c->q[4] = http_req_query(r, "forum");
	char *owner = c->q[5] = http_req_query(r, "owner");
	char *text = c->q[6] = http_req_query(r, "q");
	char *cursor = c->q[7] = http_req_query(r, "cursor");
	char *limit = c->q[8] = http_req_query(r, "limit");

	if (fixed_kind) {
		if (kind && strcmp(kind, fixed_kind) != 0)
			fields_error(&errors, "kind", "this path lists %ss only", fixed_kind);
		q.kind = fixed_kind;
	} else if (kind) {
		if (listing_kind_parse(kind) == LISTING_KIND_UNKNOWN)
			fields_error(&errors, "kind", "must be need or offer");
		q.kind = kind;
	}
	q.material = api_filter_material(material, &errors);
	q.province = api_filter_province(province, &errors);
	if (status) {
		if (strcmp(status, "any") == 0)
			q.status = NULL;
		else if (strcmp(status, "open") && strcmp(status, "closed") &&
			 strcmp(status, "expired") && strcmp(status, "filled"))
			fields_error(&errors, "status",
				     "must be open, closed, expired, filled or any");
		else
			q.status = status;
	}
	if (forum) {
		if (!fields_forum_id_ok(forum))
			fields_error(&errors, "forum", "must be a forum id (a-z, 0-9 and -)");
		q.forum = forum;
	}
	if (owner) {
		if (strcmp(owner, "me") == 0)
			q.owner = api_account_id(r);
		else if (!ids_valid("acc", owner))
			fields_error(&errors, "owner", "must be an account id or \"me\"");
		else
			q.owner = owner;
	}
	q.text = c->q[6] = api_query_text(text, LISTINGS_QUERY_TEXT_MAX, &errors);
	api_page_params(cursor, limit, LISTINGS_PAGE_MAX, &q.limit, &errors);
	q.cursor = cursor;
	export_params(r, &eo, &errors);
	if (errors) {
		listings_search_free(c);
		api_reply_invalid(r, errors);
		return;
	}
	c->query = q;
	if (eo.csv) {
		export_start(r, &listings_export, c, &eo);
		return;
	}
	/* Open listings of every owner: this node's index (server/search/), once it is loaded. */
	if (q.status && strcmp(q.status, "open") == 0 && q.owner == NULL &&
	    search_ready(r->app->search)) {
		search_after_writes(r->app->search, api_account_id(r), listings_search_memory, c);
		return;
	}
	store_listing_search(r->app->store, &c->query, listings_found, c);
}

void listings_search(struct http_req *r)
{
	listings_search_kind(r, NULL);
}

void listings_search_needs(struct http_req *r)
{
	listings_search_kind(r, "need");
}

void listings_search_offers(struct http_req *r)
{
	listings_search_kind(r, "offer");
}

/* ---- PATCH /v1/listings/{id} ---- */

/* After a PATCH or DELETE: answer with the listing as the function wrote it. */
static void listings_written(const struct store_reply *res, void *arg)
{
	struct listings_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		listings_ctx_free(c);
		api_reply_store_error(r, res);
		return;
	}
	/*
	 * The function answers with the row as written. After a PATCH (checked
	 * against the version it was made from) its document is c->doc; a close
	 * does not check the version, so the row's own document is read.
	 */
	json_t *doc = c->closing ? NULL : json_incref(c->doc);
	listings_ctx_free(c);
	search_note_write(r->app->search, api_account_id(r),
			  store_field_str(res->value, SLF_EVENT));
	listings_reply_view(r, 200, res->value, doc);
}

static void listings_patch_loaded(struct http_req *r, const json_t *row)
{
	json_t *doc = json_loads(store_field_str(row, SLF_DOC), 0, NULL);
	if (doc == NULL) {
		http_reply_problem(r, 500, "internal", NULL, "the listing record is unreadable");
		return;
	}
	const char *owner = json_string_value(json_object_get(doc, "owner"));
	if (owner == NULL || strcmp(owner, api_account_id(r)) != 0) {
		json_decref(doc);
		http_reply_problem(r, 403, "forbidden", NULL, "only the owner changes a listing");
		return;
	}
	int64_t version = store_field_int(row, SLF_VERSION);
	const char *if_match = http_req_header(r, "If-Match");
	if (if_match) {
		char etag[32];
		snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", version);
		if (!api_if_match(if_match, etag)) {
			json_decref(doc);
			http_reply_problem(r, 412, "precondition-failed", NULL,
					   "If-Match %s does not match the current version %s",
					   if_match, etag);
			return;
		}
	}
	json_t *body = http_req_json_body(r);
	if (body == NULL) {
		json_decref(doc);
		return;
	}
	json_t *errors = NULL;
	json_t *next = listing_apply_patch(doc, body, clock_now_ms(), &errors);
	json_decref(body);
	json_decref(doc);
	if (next == NULL) {
		api_reply_invalid(r, errors);
		return;
	}
	struct listings_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->doc = next;
	snprintf(c->id, sizeof(c->id), "%s", json_string_value(json_object_get(next, "id")));
	const char *owner_name = store_field_str(row, SLF_OWNER_NAME);
	c->fold = listing_search_text(next, owner_name);
	listings_engine_record(next, c->engine);
	API_WRITE(r, store_listing_update(r->app->store, c->id, api_account_id(r), version, next,
					  listing_quantity_base(next), listing_ends_at(next),
					  c->fold ? c->fold : "", c->engine, listings_written, c));
}

void listings_patch(struct http_req *r)
{
	char *id = http_req_param(r, "id");
	listings_load(r, id, listings_patch_loaded);
	free(id);
}

/* ---- DELETE /v1/listings/{id} ---- */

static void listings_close_loaded(struct http_req *r, const json_t *row)
{
	json_t *doc = json_loads(store_field_str(row, SLF_DOC), 0, NULL);
	if (doc == NULL) {
		http_reply_problem(r, 500, "internal", NULL, "the listing record is unreadable");
		return;
	}
	const char *owner = json_string_value(json_object_get(doc, "owner"));
	int allowed =
	    (owner && strcmp(owner, api_account_id(r)) == 0) ||
	    account_covers(r->account, json_string_value(json_object_get(doc, "province")),
			   json_string_value(json_object_get(doc, "forum")));
	if (!allowed) {
		json_decref(doc);
		http_reply_problem(
		    r, 403, "forbidden", NULL,
		    "only the owner, a moderator in scope or an admin closes a listing");
		return;
	}
	struct listings_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->doc = doc;
	c->closing = 1;
	snprintf(c->id, sizeof(c->id), "%s", json_string_value(json_object_get(doc, "id")));
	API_WRITE(
	    r, store_listing_close(r->app->store, c->id, api_account_id(r), listings_written, c));
}

void listings_close(struct http_req *r)
{
	char *id = http_req_param(r, "id");
	listings_load(r, id, listings_close_loaded);
	free(id);
}
