/*
 * sessions (API) — browser sessions (see sessions.h).
 *
 * POST /v1/sessions exchanges an access code (a bearer token, as a
 * moderator hands it out) for a session: the answer sets the cm_session
 * cookie (HttpOnly, SameSite=Strict) and shows the account, so the page
 * never keeps the code. The request must pass the CSRF rule even though it
 * carries no cookie yet: another site must not sign a browser in as someone
 * else. DELETE /v1/sessions/current signs out: the session ends and the
 * token it was made from is revoked; the cookie is cleared.
 */
#include "server/api/sessions.h"

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
#include "server/store/sessions.h"

#define SESSIONS_SECRET_PREFIX "cms_"

struct sessions_ctx {
	struct http_req *r;
	char secret[IDS_TOKEN_MAX + 8]; /* the prefix and a token's random part */
	int64_t expires_ms;
};

static void sessions_ctx_free(struct sessions_ctx *c)
{
	sodium_memzero(c->secret, sizeof(c->secret));
	free(c);
}

static void sessions_made(const struct store_reply *res, void *arg)
{
	struct sessions_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		sessions_ctx_free(c);
		api_reply_store_error(r, res);
		return;
	}
	const char *doc = store_field_str(res->value, SCF_DOC);
	json_t *account = doc ? json_loads(doc, 0, NULL) : NULL;
	if (account == NULL) {
		sessions_ctx_free(c);
		http_reply_unauthorized(r, "the access code is unknown or has been revoked");
		return;
	}
	auth_set_cookie(r, c->secret, (long)r->app->cfg.session_ttl_s);
	http_reply_header(r, "Location", "/v1/sessions/current");
	char when[32];
	json_t *out = json_pack("{s:o, s:s}", "account", account_render(account, 1), "expires_at",
				clock_text(c->expires_ms, when));
	json_decref(account);
	sessions_ctx_free(c);
	http_reply_json(r, 201, out);
}

void sessions_sign_in(struct http_req *r)
{
	static const char *const allowed[] = {"code", NULL};
	if (auth_csrf_check(r) < 0)
		return;
	json_t *body = http_req_json_body(r);
	if (body == NULL)
		return;
	json_t *errors = NULL;
	fields_unknown(body, "", allowed, &errors);
	char *code = fields_string(body, "code", "code", 1, IDS_TOKEN_MAX, 1, &errors);
	json_decref(body);
	if (errors) {
		if (code)
			sodium_memzero(code, strlen(code));
		free(code);
		api_reply_invalid(r, errors);
		return;
	}
	/* A code copied from a printed card may come with spaces around it. */
	const char *start = code + strspn(code, " \t\r\n");
	size_t len = strlen(start);
	while (len && strchr(" \t\r\n", start[len - 1]))
		len--;
	char code_hash[IDS_TOKEN_HASH_HEX];
	ids_token_hash(start, len, code_hash);
	sodium_memzero(code, strlen(code));
	free(code);

	struct sessions_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	char random[IDS_TOKEN_MAX];
	ids_token_new(random); /* "cm_" and 43 base64url characters */
	snprintf(c->secret, sizeof(c->secret), "%s%s", SESSIONS_SECRET_PREFIX, random + 3);
	sodium_memzero(random, sizeof(random));
	long ttl_ms = (long)r->app->cfg.session_ttl_s * 1000;
	c->expires_ms = clock_now_ms() + ttl_ms;
	char session_hash[IDS_TOKEN_HASH_HEX];
	ids_token_hash(c->secret, strlen(c->secret), session_hash);
	store_session_create(r->app->store, code_hash, session_hash, ttl_ms, sessions_made, c);
}

static void sessions_ended(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK && res->status != STORE_NOT_FOUND) {
		api_reply_store_error(r, res);
		return;
	}
	auth_set_cookie(r, "", 0);
	http_reply_json(r, 204, NULL);
}

void sessions_sign_out(struct http_req *r)
{
	if (r->session_hash == NULL) {
		http_reply_problem(r, 404, "not-found", NULL,
				   "this request was not made in a session (it sent a bearer "
				   "token); to end a token, revoke it: DELETE /v1/tokens/{id}");
		return;
	}
	store_session_end(r->app->store, r->session_hash, sessions_ended, r);
}
