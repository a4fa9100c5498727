/*
 * auth — bearer tokens, browser sessions and the CSRF rule (see auth.h).
 */
#include "server/http/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/http/request.h"
#include "server/store/accounts.h"
#include "server/store/sessions.h"

/* What the account cache knows a credential by: 't' or 's' and its hash. */
#define AUTH_KEY_MAX (IDS_TOKEN_HASH_HEX + 1)

struct auth_ctx {
	struct http_req *r;
	char key[AUTH_KEY_MAX];
	int session; /* authenticating by the session cookie */
};

/*
 * Parsed account documents by credential (a token's or a session's hash),
 * direct-mapped (the keys hold a SHA-256, so any bits of them spread evenly). An entry is used only
 * when Redis answered with the very same document text: any change to the account is parsed afresh,
 * and nothing outlives what Redis says. The process's app owns it (app->auth_cache), made on first
 * use.
 */
#define AUTH_CACHE_SLOTS 1024

struct auth_slot {
	char key[AUTH_KEY_MAX];
	char *text;
	json_t *account;
};

struct auth_cache {
	struct auth_slot slots[AUTH_CACHE_SLOTS];
};

static struct auth_slot *auth_slot_of(struct app *app, const char *key)
{
	size_t len = strlen(key), h = 0;
	if (app->auth_cache == NULL)
		app->auth_cache = xcalloc(1, sizeof(*app->auth_cache));
	for (size_t i = len > 8 ? len - 8 : 0; i < len; i++)
		h = h * 31 + (unsigned char)key[i];
	return &app->auth_cache->slots[h % AUTH_CACHE_SLOTS];
}

/* The parsed account for doc (a new reference), or NULL when it does not parse. */
static json_t *auth_account(struct app *app, const char *key, const char *doc)
{
	struct auth_slot *s = auth_slot_of(app, key);
	if (s->text && strcmp(s->key, key) == 0 && strcmp(s->text, doc) == 0)
		return json_incref(s->account);
	json_t *account = json_loads(doc, 0, NULL);
	if (account == NULL)
		return NULL;
	free(s->text);
	json_decref(s->account);
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->text = xstrdup(doc);
	s->account = json_incref(account);
	return account;
}

void auth_cache_free(struct app *app)
{
	struct auth_cache *c = app->auth_cache;
	if (c == NULL)
		return;
	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
		free(c->slots[i].text);
		json_decref(c->slots[i].account);
	}
	free(c);
	app->auth_cache = NULL;
}

void auth_set_cookie(struct http_req *r, const char *secret, long max_age)
{
	/* craftmatchd speaks plain HTTP; a TLS proxy in front says so in X-Forwarded-Proto. */
	const char *proto = http_req_header(r, "X-Forwarded-Proto");
	int secure = proto && strcasecmp(proto, "https") == 0;
	char cookie[160];
	snprintf(cookie, sizeof(cookie),
		 AUTH_COOKIE "=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", secret,
		 max_age, secure ? "; Secure" : "");
	http_reply_header(r, "Set-Cookie", cookie);
	sodium_memzero(cookie, sizeof(cookie));
}

/*
 * Why a request may not act on the strength of a cookie, or NULL when it
 * may: it must carry X-Craftmatch: 1 (a header no form or cross-origin
 * request without CORS can send) and come from this server's own origin.
 */
static const char *auth_csrf_refusal(struct http_req *r)
{
	const char *x = http_req_header(r, "X-Craftmatch");
	if (x == NULL || strcmp(x, "1") != 0)
		return "a request signed in by cookie that changes something must send "
		       "X-Craftmatch: 1";
	const char *site = http_req_header(r, "Sec-Fetch-Site");
	if (site && strcmp(site, "same-origin") != 0)
		return "the request comes from another site (Sec-Fetch-Site)";
	const char *origin = http_req_header(r, "Origin");
	if (origin == NULL)
		return site ? NULL : "the request names no Origin";
	const char *host = http_req_header(r, "Host");
	const char *rest = strncmp(origin, "http://", 7) == 0	 ? origin + 7
			   : strncmp(origin, "https://", 8) == 0 ? origin + 8
								 : NULL;
	if (host == NULL || rest == NULL || strcasecmp(rest, host) != 0)
		return "the request comes from another origin";
	return NULL;
}

int auth_csrf_check(struct http_req *r)
{
	const char *why = auth_csrf_refusal(r);
	if (why == NULL)
		return 0;
	http_reply_problem(r, 403, "csrf", NULL, "%s", why);
	return -1;
}

static void auth_looked_up(const struct store_reply *res, void *arg)
{
	struct auth_ctx *a = arg;
	struct http_req *r = a->r;
	if (res->status != STORE_OK) {
		free(a);
		/* A lookup answers a row or nil: anything else is Redis's trouble. */
		if (res->status == STORE_UNAVAILABLE)
			http_reply_unavailable(r, res->message ? res->message : "");
		else
			http_reply_problem(r, 500, "internal", NULL,
					   "the store failed; see the server log");
		return;
	}
	/*
	 * Redis found the token (or session) by the SHA-256 of its secret, or
	 * answered nil. Nothing is compared here: the lookup by hash is the
	 * check, and how long it takes tells a caller nothing it could use to
	 * guess a secret, since it would first have to invert SHA-256.
	 */
	json_t *v = res->value;
	if (!json_is_array(v)) {
		int session = a->session;
		free(a);
		if (session) {
			auth_set_cookie(r, "", 0);
			http_reply_unauthorized(
			    r, "the session has ended (signed out, expired or its access "
			       "code revoked): sign in again");
		} else {
			http_reply_unauthorized(r, "the bearer token is unknown or revoked");
		}
		return;
	}
	const char *doc = store_field_str(v, SCF_DOC);
	r->account = doc ? auth_account(r->app, a->key, doc) : NULL;
	free(a);
	if (r->account == NULL) {
		http_reply_problem(r, 500, "internal", NULL, "the account record is unreadable");
		return;
	}
	r->token_id = xstrdup(store_field_str(v, SCF_TOKEN));
	r->route->handler(r);
}

/*
 * The cm_session cookie's value copied into out: 1, 0 when there is none,
 * -1 when it is there but cannot be a session's secret.
 */
static int auth_session_cookie(struct http_req *r, char out[IDS_TOKEN_MAX])
{
	const char *c = http_req_header(r, "Cookie");
	for (const char *p = c; p && *p;) {
		p += strspn(p, " \t;");
		size_t len = strcspn(p, ";");
		size_t nl = strlen(AUTH_COOKIE "=");
		if (len >= nl && strncmp(p, AUTH_COOKIE "=", nl) == 0) {
			size_t vl = len - nl;
			while (vl && (p[nl + vl - 1] == ' ' || p[nl + vl - 1] == '\t'))
				vl--;
			if (vl < 16 || vl >= IDS_TOKEN_MAX)
				return -1;
			memcpy(out, p + nl, vl);
			out[vl] = '\0';
			return 1;
		}
		p += len;
	}
	return 0;
}

static int auth_method_safe(const struct http_req *r)
{
	return strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
}

static void auth_by_session(struct http_req *r)
{
	char secret[IDS_TOKEN_MAX];
	int has = auth_session_cookie(r, secret);
	if (has == 0) {
		http_reply_unauthorized(
		    r, "send Authorization: Bearer <token>, or sign in (POST /v1/sessions)");
		return;
	}
	if (has < 0) {
		auth_set_cookie(r, "", 0);
		http_reply_unauthorized(r, "the session cookie is malformed: sign in again");
		return;
	}
	if (!auth_method_safe(r) && auth_csrf_check(r) < 0) {
		sodium_memzero(secret, sizeof(secret));
		return;
	}
	char hash[IDS_TOKEN_HASH_HEX];
	ids_token_hash(secret, strlen(secret), hash);
	sodium_memzero(secret, sizeof(secret));
	struct auth_ctx *a = xcalloc(1, sizeof(*a));
	a->r = r;
	a->session = 1;
	snprintf(a->key, sizeof(a->key), "s%s", hash);
	r->session_hash = xstrdup(hash);
	store_session_auth(r->app->store, hash, auth_looked_up, a);
}

void auth_dispatch(struct http_req *r)
{
	const char *h = http_req_header(r, "Authorization");
	if (h == NULL) {
		auth_by_session(r);
		return;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		http_reply_unauthorized(r, "only Bearer tokens are accepted");
		return;
	}
	const char *secret = h + 7;
	while (*secret == ' ')
		secret++;
	size_t len = strlen(secret);
	if (len < 16 || len >= IDS_TOKEN_MAX) {
		http_reply_unauthorized(r, "the bearer token is malformed");
		return;
	}
	char hash[IDS_TOKEN_HASH_HEX];
	ids_token_hash(secret, len, hash);
	struct auth_ctx *a = xcalloc(1, sizeof(*a));
	a->r = r;
	snprintf(a->key, sizeof(a->key), "t%s", hash);
	store_auth(r->app->store, hash, auth_looked_up, a);
}
