/*
 * accounts (API) — creating and reading accounts (see accounts.h).
 *
 * Forum organisers register the participants: admins create any account,
 * moderators villages and suppliers of their provinces or forums. Who may
 * register an account, and who sees its contact details besides itself, is
 * one rule: account_may_manage() (common/account.c).
 */
#include "server/api/accounts.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/request.h"

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
	enum account_role role = api_role(r);
	if (role != ACCOUNT_ADMIN && role != ACCOUNT_MODERATOR) {
		http_reply_problem(r, 403, "forbidden", NULL,
				   "only admins and moderators create accounts");
		return;
	}
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
	store_account_create(r->app->store, id, doc, api_account_id(r), &idem.idem,
			     accounts_created, c);
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
