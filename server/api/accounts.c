/*
 * accounts (API) — creating and reading accounts (see accounts.h).
 *
 * Forum organisers register the participants: admins create any account,
 * moderators villages and suppliers of their provinces or forums. Who may
 * register an account, and who sees its contact details besides itself, is
 * one rule: account_may_manage() (common/account.c).
 */
#include "server/api/accounts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/ids.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/api/export.h"
#include "server/api/export_columns.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/request.h"
#include "server/store/accounts.h"

struct accounts_ctx {
	struct http_req *r;
	json_t *doc;
};

static void accounts_reply_doc(struct http_req *r, int status, const char *doc_text, int replay)
{
	json_error_t err;
	json_t *doc = json_loads(doc_text, 0, &err);
	if (doc == NULL) {
		http_reply_problem(r, 500, "internal", NULL, "the account record is unreadable");
		return;
	}
	if (replay)
		http_reply_header(r, "Idempotent-Replayed", "true");
	if (status == 201) {
		char loc[96];
		snprintf(loc, sizeof(loc), "/v1/accounts/%s",
			 json_string_value(json_object_get(doc, "id")));
		http_reply_header(r, "Location", loc);
	}
	json_t *view = account_render(doc, account_sees_contact(r->account, doc));
	json_decref(doc);
	http_reply_json(r, status, view);
}

static void accounts_replayed(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK || !json_is_string(res->value)) {
		if (res->status == STORE_OK)
			http_reply_problem(r, 404, "not-found", NULL, "the account is gone");
		else
			api_reply_store_error(r, res);
		return;
	}
	accounts_reply_doc(r, 201, json_string_value(res->value), 1);
}

static void accounts_created(const struct store_reply *res, void *arg)
{
	struct accounts_ctx *c = arg;
	struct http_req *r = c->r;
	json_t *doc = c->doc;
	free(c);
	if (res->status != STORE_OK) {
		json_decref(doc);
		api_reply_store_error(r, res);
		return;
	}
	const char *outcome = store_field_str(res->value, STORE_CREATED_OUTCOME);
	if (outcome && strcmp(outcome, "replay") == 0) {
		json_decref(doc);
		store_account_get(r->app->store, store_field_str(res->value, STORE_CREATED_ID),
				  accounts_replayed, r);
		return;
	}
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	accounts_reply_doc(r, 201, text, 0);
	free(text);
}

void accounts_create(struct http_req *r)
{
	if (api_refuse_unless_staff(r, "create accounts"))
		return;
	json_t *body = http_req_json_body(r);
	if (body == NULL)
		return;
	json_t *errors = NULL;
	json_t *doc = account_from_request(body, &errors);
	json_decref(body);
	if (doc == NULL) {
		api_reply_invalid(r, errors);
		return;
	}
	const char *why = NULL;
	if (!account_may_manage(r->account, doc, &why)) {
		json_decref(doc);
		http_reply_problem(r, 403, "forbidden", NULL, "%s", why);
		return;
	}
	struct api_idem idem;
	if (api_idempotency(r, &idem) < 0) {
		json_decref(doc);
		return;
	}
	char id[IDS_MAX], when[32];
	ids_new("acc", id);
	json_object_set_new(doc, "id", json_string(id));
	json_object_set_new(doc, "created_at", json_string(clock_text(clock_now_ms(), when)));
	json_object_set_new(doc, "created_by", json_string(api_account_id(r)));
	struct accounts_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->doc = doc;
	API_WRITE(r, store_account_create(r->app->store, id, doc, api_account_id(r), &idem.idem,
					  accounts_created, c));
}

static void accounts_got(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	if (!json_is_string(res->value)) {
		http_reply_problem(r, 404, "not-found", NULL, "no such account");
		return;
	}
	accounts_reply_doc(r, 200, json_string_value(res->value), 0);
}

void accounts_get(struct http_req *r)
{
	char *id = http_req_param(r, "id");
	if (id == NULL || !ids_valid("acc", id)) {
		free(id);
		http_reply_problem(r, 404, "not-found", NULL, "no such account");
		return;
	}
	store_account_get(r->app->store, id, accounts_got, r);
	free(id);
}

void accounts_me(struct http_req *r)
{
	http_reply_json(r, 200, account_render(r->account, 1));
}

/* ---- GET /v1/accounts ---- */

#define ACCOUNTS_PAGE_DEFAULT 50
#define ACCOUNTS_PAGE_MAX 100
#define ACCOUNTS_QUERY_TEXT_MAX 100

struct accounts_search_ctx {
	struct http_req *r;
	char *q[6];
	char scope[2][2048];
	struct store_account_query query;
};

static void accounts_search_free(void *arg)
{
	struct accounts_search_ctx *c = arg;
	for (size_t i = 0; i < sizeof(c->q) / sizeof(c->q[0]); i++)
		free(c->q[i]);
	free(c);
}

/* A page as the route answers it: the accounts the caller may manage, with what it may see. */
static json_t *accounts_page(struct http_req *r, const json_t *reply)
{
	json_t *items = json_array();
	size_t i;
	json_t *row;
	json_array_foreach(store_field(reply, STORE_PAGE_ROWS), i, row)
	{
		json_t *doc = json_loads(store_field_str(row, 1), 0, NULL);
		const char *why = NULL;
		/* The store filters by scope; the one rule decides again here. */
		if (doc && account_may_manage(r->account, doc, &why))
			json_array_append_new(
			    items, account_render(doc, account_sees_contact(r->account, doc)));
		json_decref(doc);
	}
	const char *next = store_field_str(reply, STORE_PAGE_NEXT);
	return json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 next && *next ? json_string(next) : json_null());
}

static void accounts_found(const struct store_reply *res, void *arg)
{
	struct accounts_search_ctx *c = arg;
	struct http_req *r = c->r;
	accounts_search_free(c);
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	http_reply_json(r, 200, accounts_page(r, res->value));
}

/* The same pages for a CSV export (server/api/export.h). */
static void accounts_export_fetch(void *ctx, const char *cursor, store_cb cb, void *arg)
{
	struct accounts_search_ctx *c = ctx;
	c->query.cursor = cursor;
	c->query.limit = ACCOUNTS_PAGE_MAX;
	store_account_search(c->r->app->store, &c->query, cb, arg);
}

static json_t *accounts_export_page(void *ctx, const json_t *reply)
{
	struct accounts_search_ctx *c = ctx;
	return accounts_page(c->r, reply);
}

static const struct export_spec accounts_export = {
    "accounts",		  export_account_columns, EXPORT_ACCOUNT_COLUMNS, accounts_export_fetch,
    accounts_export_page, accounts_search_free,
};

void accounts_search(struct http_req *r)
{
	if (api_refuse_unless_staff(r, "list accounts"))
		return;
	enum account_role role = api_role(r);
	static const char *const allowed[] = {"q",	"role",	 "province",	"forum",
					      "cursor", "limit", EXPORT_PARAMS, NULL};
	if (api_query_refused(r, allowed, "filter"))
		return;
	struct accounts_search_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	json_t *errors = NULL;
	struct store_account_query q = {.limit = ACCOUNTS_PAGE_DEFAULT};
	char *text = c->q[0] = http_req_query(r, "q");
	char *prole = c->q[1] = http_req_query(r, "role");
	char *province = c->q[2] = http_req_query(r, "province");
	char *forum = c->q[3] = http_req_query(r, "forum");
	char *cursor = c->q[4] = http_req_query(r, "cursor");
	char *limit = c->q[5] = http_req_query(r, "limit");
	if (prole) {
		if (account_role_parse(prole) == ACCOUNT_ROLE_UNKNOWN)
			fields_error(&errors, "role",
				     "must be village, supplier, moderator or admin");
		q.role = prole;
	}
	q.province = api_filter_province(province, &errors);
	if (forum) {
		if (!fields_forum_id_ok(forum))
			fields_error(&errors, "forum", "must be a forum id (a-z, 0-9 and -)");
		q.forum = forum;
	}
	q.text = c->q[0] = api_query_text(text, ACCOUNTS_QUERY_TEXT_MAX, &errors);
	api_page_params(cursor, limit, ACCOUNTS_PAGE_MAX, &q.limit, &errors);
	q.cursor = cursor;
	struct export_opts eo;
	export_params(r, &eo, &errors);
	if (errors) {
		accounts_search_free(c);
		api_reply_invalid(r, errors);
		return;
	}
	if (role == ACCOUNT_MODERATOR) {
		q.moderator = 1;
		q.scope_provinces =
		    account_scope_csv(r->account, "provinces", c->scope[0], sizeof(c->scope[0]));
		q.scope_forums =
		    account_scope_csv(r->account, "forums", c->scope[1], sizeof(c->scope[1]));
	}
	c->query = q;
	if (eo.csv) {
		export_start(r, &accounts_export, c, &eo);
		return;
	}
	store_account_search(r->app->store, &c->query, accounts_found, c);
}

/* ---- PATCH /v1/accounts/{id} ---- */

struct accounts_patch_ctx {
	struct http_req *r;
	char id[IDS_MAX];
	json_t *body;
	json_t *doc; /* the new document, once written */
};

static void accounts_patch_free(struct accounts_patch_ctx *c)
{
	json_decref(c->body);
	json_decref(c->doc);
	free(c);
}

/* The version of an account document (1 until its first change). */
static int64_t accounts_version(const json_t *doc)
{
	json_t *v = json_object_get(doc, "version");
	return json_is_integer(v) ? json_integer_value(v) : 1;
}

static void accounts_etag(struct http_req *r, int64_t version)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", version);
	http_reply_header(r, "ETag", etag);
}

static void accounts_patched(const struct store_reply *res, void *arg)
{
	struct accounts_patch_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		accounts_patch_free(c);
		api_reply_store_error(r, res);
		return;
	}
	accounts_etag(r, accounts_version(c->doc));
	json_t *view = account_render(c->doc, 1);
	accounts_patch_free(c);
	http_reply_json(r, 200, view);
}

/*
 * The document a PATCH body makes of old: its contact replaced and/or its
 * suspension changed, the version one up; NULL with errors appended.
 */
static json_t *accounts_patch_doc(const json_t *old, const json_t *body, int self, json_t **errors)
{
	static const char *const allowed[] = {"contact", "suspended", NULL};
	fields_unknown(body, "", allowed, errors);
	json_t *suspended = json_object_get(body, "suspended");
	if (suspended && !json_is_boolean(suspended))
		fields_error(errors, "suspended", "must be true or false");
	else if (json_is_true(suspended) && self)
		fields_error(errors, "suspended", "an account cannot suspend itself");
	if (json_object_get(body, "contact") == NULL && suspended == NULL)
		fields_error(errors, "body", "change contact or suspended");
	/* The contact is checked as registering checks it: the registration
	 * fields of the old document with the new contact. */
	static const char *const kept[] = {"role",  "name",  "province", "commune",
					   "forum", "scope", NULL};
	json_t *req = json_object();
	for (size_t i = 0; kept[i]; i++) {
		json_t *v = json_object_get(old, kept[i]);
		if (v)
			json_object_set(req, kept[i], v);
	}
	json_t *contact = json_object_get(body, "contact");
	if (contact)
		json_object_set(req, "contact", contact);
	else if (json_object_get(old, "contact"))
		json_object_set(req, "contact", json_object_get(old, "contact"));
	json_t *doc = account_from_request(req, errors);
	json_decref(req);
	if (*errors) {
		json_decref(doc);
		return NULL;
	}
	static const char *const carried[] = {"id", "created_at", "created_by", NULL};
	for (size_t i = 0; carried[i]; i++) {
		json_t *v = json_object_get(old, carried[i]);
		if (v)
			json_object_set(doc, carried[i], v);
	}
	int now =
	    suspended ? json_is_true(suspended) : json_is_true(json_object_get(old, "suspended"));
	if (now)
		json_object_set_new(doc, "suspended", json_true());
	json_object_set_new(doc, "version", json_integer(accounts_version(old) + 1));
	return doc;
}

static void accounts_patch_loaded(const struct store_reply *res, void *arg)
{
	struct accounts_patch_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		accounts_patch_free(c);
		api_reply_store_error(r, res);
		return;
	}
	json_t *old =
	    json_is_string(res->value) ? json_loads(json_string_value(res->value), 0, NULL) : NULL;
	if (old == NULL) {
		accounts_patch_free(c);
		http_reply_problem(r, 404, "not-found", NULL, "no such account");
		return;
	}
	const char *why = NULL;
	if (!account_may_manage(r->account, old, &why)) {
		json_decref(old);
		accounts_patch_free(c);
		http_reply_problem(r, 403, "forbidden", NULL, "%s", why);
		return;
	}
	int64_t version = accounts_version(old);
	const char *if_match = http_req_header(r, "If-Match");
	if (if_match) {
		char etag[32];
		snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", version);
		if (!api_if_match(if_match, etag)) {
			json_decref(old);
			accounts_patch_free(c);
			http_reply_problem(r, 412, "precondition-failed", NULL,
					   "If-Match %s does not match the current version %s",
					   if_match, etag);
			return;
		}
	}
	json_t *errors = NULL;
	int self = strcmp(c->id, api_account_id(r)) == 0;
	c->doc = accounts_patch_doc(old, c->body, self, &errors);
	json_decref(old);
	if (c->doc == NULL) {
		accounts_patch_free(c);
		api_reply_invalid(r, errors);
		return;
	}
	/* Written only if the account is still at the version it was read at. */
	char expected[24];
	snprintf(expected, sizeof(expected), "%" PRId64, version);
	API_WRITE(r, store_account_update(r->app->store, c->id, c->doc, expected,
					  json_is_true(json_object_get(c->doc, "suspended")),
					  api_account_id(r), accounts_patched, c));
}

void accounts_patch(struct http_req *r)
{
	if (api_refuse_unless_staff(r, "change accounts"))
		return;
	char *id = http_req_param(r, "id");
	if (id == NULL || !ids_valid("acc", id)) {
		free(id);
		http_reply_problem(r, 404, "not-found", NULL, "no such account");
		return;
	}
	json_t *body = http_req_json_body(r);
	if (body == NULL) {
		free(id);
		return;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		free(id);
		json_t *errors = NULL;
		fields_error(&errors, "body", "must be a JSON object");
		api_reply_invalid(r, errors);
		return;
	}
	struct accounts_patch_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	snprintf(c->id, sizeof(c->id), "%s", id);
	free(id);
	c->body = body;
	store_account_get(r->app->store, c->id, accounts_patch_loaded, c);
}
