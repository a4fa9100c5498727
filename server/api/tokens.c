/*
 * tokens (API) — bearer tokens (see tokens.h).
 *
 * POST /v1/tokens issues a token for the caller, or, with "account_id", for
 * an account the caller manages — this is how organisers hand participants
 * their first token. GET /v1/tokens lists the caller's tokens, or with
 * ?account_id= those of an account it manages; DELETE revokes one of the
 * caller's tokens or of an account it manages. "Manages" is one rule,
 * account_may_manage() (common/account.c), the same that decides who may
 * register the account. The secret appears once, in the 201 response; Redis
 * keeps only its SHA-256.
 */
#include "server/api/tokens.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/request.h"

struct tokens_ctx {
	struct http_req *r;
	char id[IDS_MAX];
	char account[IDS_MAX];
	char secret[IDS_TOKEN_MAX];
	char hash[IDS_TOKEN_HASH_HEX];
	char *name;
	struct api_idem idem;
};

static void tokens_ctx_free(struct tokens_ctx *c)
{
	sodium_memzero(c->secret, sizeof(c->secret));
	free(c->name);
	free(c);
}

static void tokens_created(const struct store_reply *res, void *arg)
{
	struct tokens_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		tokens_ctx_free(c);
		api_reply_store_error(r, res);
		return;
	}
	char when[32], loc[64];
	snprintf(loc, sizeof(loc), "/v1/tokens/%s", c->id);
	http_reply_header(r, "Location", loc);
	json_t *out =
	    json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", c->id, "account_id", c->account, "name",
		      c->name, "token", c->secret, "created_at", clock_text(clock_now_ms(), when));
	tokens_ctx_free(c);
	http_reply_json(r, 201, out);
}

static void tokens_issue(struct tokens_ctx *c)
{
	ids_new("tok", c->id);
	ids_token_new(c->secret);
	ids_token_hash(c->secret, strlen(c->secret), c->hash);
	API_WRITE(c->r, store_token_create(c->r->app->store, c->id, c->account, c->hash, c->name,
					   api_account_id(c->r), &c->idem.idem, tokens_created, c));
}

/*
 * Whether the caller manages the account whose stored document is doc_text
 * (account_may_manage); *why says why not.
 */
static int tokens_manages(struct http_req *r, const char *doc_text, const char **why)
{
	json_t *doc = doc_text ? json_loads(doc_text, 0, NULL) : NULL;
	*why = "the account record is unreadable";
	int ok = doc && account_may_manage(r->account, doc, why);
	json_decref(doc);
	return ok;
}

/* For a token on another account: may the caller manage that account? */
static void tokens_target_loaded(const struct store_reply *res, void *arg)
{
	struct tokens_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK || !json_is_string(res->value)) {
		tokens_ctx_free(c);
		if (res->status != STORE_OK)
			api_reply_store_error(r, res);
		else
			http_reply_problem(r, 404, "not-found", NULL, "no such account");
		return;
	}
	const char *why = NULL;
	if (!tokens_manages(r, json_string_value(res->value), &why)) {
		tokens_ctx_free(c);
		http_reply_problem(r, 403, "forbidden", NULL,
				   "you may not issue tokens for this account: %s", why);
		return;
	}
	tokens_issue(c);
}

void tokens_create(struct http_req *r)
{
	static const char *const allowed[] = {"name", "account_id", NULL};
	json_t *body = http_req_json_body(r);
	if (body == NULL)
		return;
	json_t *errors = NULL;
	fields_unknown(body, "", allowed, &errors);
	char *name = fields_string(body, "name", "name", 0, 80, 0, &errors);
	char *account = fields_string(body, "account_id", "account_id", 0, IDS_MAX, 0, &errors);
	json_decref(body);
	if (account && !ids_valid("acc", account))
		fields_error(&errors, "account_id", "is not an account id");
	if (errors) {
		free(name);
		free(account);
		api_reply_invalid(r, errors);
		return;
	}
	struct tokens_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->name = name ? name : xstrdup("");
	if (api_idempotency(r, &c->idem) < 0) {
		free(account);
		tokens_ctx_free(c);
		return;
	}
	snprintf(c->account, sizeof(c->account), "%s", account ? account : api_account_id(r));
	int self = account == NULL || strcmp(account, api_account_id(r)) == 0;
	free(account);
	if (self)
		tokens_issue(c);
	else
		store_account_get(r->app->store, c->account, tokens_target_loaded, c);
}

static void tokens_listed(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	json_t *items = json_array();
	size_t n = json_array_size(res->value);
	for (size_t i = 0; i + 3 < n; i += 4) {
		char when[32];
		long long ms = atoll(json_string_value(json_array_get(res->value, i + 2)));
		json_array_append_new(
		    items, json_pack("{s:O, s:O, s:s, s:b}", "id", json_array_get(res->value, i),
				     "name", json_array_get(res->value, i + 1), "created_at",
				     clock_text(ms, when), "current",
				     strcmp(json_string_value(json_array_get(res->value, i)),
					    r->token_id) == 0));
	}
	http_reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* GET /v1/tokens?account_id= for another account: may the caller manage it? */
static void tokens_list_target_loaded(const struct store_reply *res, void *arg)
{
	struct tokens_ctx *c = arg;
	struct http_req *r = c->r;
	const char *why = NULL;
	if (res->status != STORE_OK)
		api_reply_store_error(r, res);
	else if (!json_is_string(res->value))
		http_reply_problem(r, 404, "not-found", NULL, "no such account");
	else if (!tokens_manages(r, json_string_value(res->value), &why))
		http_reply_problem(r, 403, "forbidden", NULL,
				   "you may not see the tokens of this account: %s", why);
	else
		store_token_list(r->app->store, c->account, tokens_listed, r);
	tokens_ctx_free(c);
}

void tokens_list(struct http_req *r)
{
	static const char *const allowed[] = {"account_id", NULL};
	const char *unknown = http_req_query_unknown(r, allowed);
	json_t *errors = NULL;
	if (unknown) {
		fields_error(&errors, strcmp(unknown, "?") ? unknown : "query",
			     "unknown or repeated parameter; use account_id");
		api_reply_invalid(r, errors);
		return;
	}
	char *account = http_req_query(r, "account_id");
	if (account == NULL || strcmp(account, api_account_id(r)) == 0) {
		free(account);
		store_token_list(r->app->store, api_account_id(r), tokens_listed, r);
		return;
	}
	if (!ids_valid("acc", account)) {
		free(account);
		fields_error(&errors, "account_id", "is not an account id");
		api_reply_invalid(r, errors);
		return;
	}
	struct tokens_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	snprintf(c->account, sizeof(c->account), "%s", account);
	free(account);
	store_account_get(r->app->store, c->account, tokens_list_target_loaded, c);
}

static void tokens_revoked(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	http_reply_json(r, 204, NULL);
}

/*
 * The token's account is known: the caller's own, or one it manages, may be
 * revoked. Anyone else is told the token does not exist, so token ids leak
 * nothing.
 */
static void tokens_revoke_owner(const struct store_reply *res, void *arg)
{
	struct tokens_ctx *c = arg;
	struct http_req *r = c->r;
	const char *account = store_field_str(res->value, STA_ACCOUNT);
	const char *why = NULL;
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
	} else if (account == NULL) {
		http_reply_problem(r, 404, "not-found", NULL, "no such token");
	} else {
		int own = strcmp(account, api_account_id(r)) == 0;
		if (own || tokens_manages(r, store_field_str(res->value, STA_DOC), &why))
			API_WRITE(r, store_token_revoke(r->app->store, c->id, api_account_id(r),
							!own, tokens_revoked, r));
		else
			http_reply_problem(r, 404, "not-found", NULL, "no such token");
	}
	tokens_ctx_free(c);
}

void tokens_revoke(struct http_req *r)
{
	char *id = http_req_param(r, "id");
	if (id == NULL || !ids_valid("tok", id)) {
		free(id);
		http_reply_problem(r, 404, "not-found", NULL, "no such token");
		return;
	}
	struct tokens_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	snprintf(c->id, sizeof(c->id), "%s", id);
	free(id);
	store_token_account(r->app->store, c->id, tokens_revoke_owner, c);
}
