/*
 * auth — bearer tokens, browser sessions and the CSRF rule (see auth.h).
 */
#include "server/http/auth.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/strcopy.h"
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
	/* Checking an answer held back (auth_hold): what it was. */
	int held_status;
	char *held_type;
	struct evbuffer *held_body;
};

/*
 * Parsed account documents by credential (a token's or a session's hash),
 * in sets of AUTH_CACHE_WAYS entries (the keys hold a SHA-256, so any bits
 * of them spread evenly). A read uses an entry only when Redis answered with
 * the very same document text: any change to the account is parsed afresh.
 * A write (ROUTE_ONE_TRIP) runs on the entry as it is, and its function
 * checks in Redis that the credential, the account and its version still
 * stand (cm_as), so nothing outlives what Redis says there either. The
 * process's app owns it (app->auth_cache), made on first use: 8,192 entries,
 * about 1 MB; credentials beyond that take two round trips per write.
 */
#define AUTH_CACHE_SETS 2048
#define AUTH_CACHE_WAYS 4

struct auth_slot {
	char key[AUTH_KEY_MAX];
	char *text;
	json_t *account;
	/* What Redis last said of the credential, for a write that checks it
	 * itself (ROUTE_ONE_TRIP): its token and the account's version. */
	char *token_id;
	char version[24]; /* "" when not known */
};

struct auth_cache {
	struct auth_slot slots[AUTH_CACHE_SETS][AUTH_CACHE_WAYS];
	unsigned char next[AUTH_CACHE_SETS]; /* the way each set replaces next */
};

/* The entry of key, or NULL; with make, the entry to fill (key's, a free one, or the next to
 * replace). */
static struct auth_slot *auth_slot_of(struct app *app, const char *key, int make)
{
	size_t len = strlen(key), h = 0;
	if (app->auth_cache == NULL)
		app->auth_cache = xcalloc(1, sizeof(*app->auth_cache));
	for (size_t i = len > 8 ? len - 8 : 0; i < len; i++)
		h = h * 31 + (unsigned char)key[i];
	struct auth_cache *c = app->auth_cache;
	size_t set = h % AUTH_CACHE_SETS;
	struct auth_slot *free_slot = NULL;
	for (size_t w = 0; w < AUTH_CACHE_WAYS; w++) {
		struct auth_slot *s = &c->slots[set][w];
		if (s->text && strcmp(s->key, key) == 0)
			return s;
		if (s->text == NULL && free_slot == NULL)
			free_slot = s;
	}
	if (!make)
		return NULL;
	if (free_slot)
		return free_slot;
	return &c->slots[set][c->next[set]++ % AUTH_CACHE_WAYS];
}

static void auth_slot_clear(struct auth_slot *s)
{
	free(s->text);
	free(s->token_id);
	json_decref(s->account);
	memset(s, 0, sizeof(*s));
}

/*
 * The parsed account of Redis's answer v to credential key (a new
 * reference), or NULL when it does not parse; the slot remembers the answer.
 */
static json_t *auth_account(struct app *app, const char *key, const json_t *v)
{
	struct auth_slot *s = auth_slot_of(app, key, 1);
	const char *doc = store_field_str(v, SCF_DOC);
	const char *token = store_field_str(v, SCF_TOKEN);
	const char *version = store_field_str(v, SCF_VERSION);
	if (doc == NULL || token == NULL)
		return NULL;
	json_t *account;
	if (s->text && strcmp(s->key, key) == 0 && strcmp(s->text, doc) == 0) {
		account = json_incref(s->account);
	} else {
		account = json_loads(doc, 0, NULL);
		if (account == NULL)
			return NULL;
		auth_slot_clear(s);
		snprintf(s->key, sizeof(s->key), "%s", key);
		s->text = xstrdup(doc);
		s->account = json_incref(account);
	}
	if (s->token_id == NULL || strcmp(s->token_id, token) != 0) {
		free(s->token_id);
		s->token_id = xstrdup(token);
	}
	snprintf(s->version, sizeof(s->version), "%s", version ? version : "");
	return account;
}

/* Forgets what Redis last said of credential key (it is no longer known). */
static void auth_forget(struct app *app, const char *key)
{
	struct auth_slot *s = auth_slot_of(app, key, 0);
	if (s)
		auth_slot_clear(s);
}

void auth_cache_free(struct app *app)
{
	struct auth_cache *c = app->auth_cache;
	if (c == NULL)
		return;
	for (size_t i = 0; i < AUTH_CACHE_SETS; i++)
		for (size_t w = 0; w < AUTH_CACHE_WAYS; w++)
			auth_slot_clear(&c->slots[i][w]);
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
		if (res->status == STORE_UNAVAILABLE || res->status == STORE_UNCONFIRMED)
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
		auth_forget(r->app, a->key);
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
	r->account = auth_account(r->app, a->key, v);
	free(a);
	if (r->account == NULL) {
		http_reply_problem(r, 500, "internal", NULL, "the account record is unreadable");
		return;
	}
	r->token_id = xstrdup(store_field_str(v, SCF_TOKEN));
	r->route->handler(r);
}

/* Drops the answer held back (auth_hold), if any. */
static void auth_drop_held(struct auth_ctx *a)
{
	free(a->held_type);
	a->held_type = NULL;
	if (a->held_body)
		evbuffer_free(a->held_body);
	a->held_body = NULL;
}

static void auth_ctx_free(struct auth_ctx *a)
{
	auth_drop_held(a);
	free(a);
}

/*
 * Redis's answer for a request that ran on the account last seen for its
 * credential and answered before any write of it was checked (a refusal
 * made in the handler, or a write cm_as refused): the answer held back goes
 * out only if the credential still stands for that very account; if the
 * account changed since (or the write was refused), the request runs again
 * from the start on what Redis says now, as a request of a credential not
 * seen before does; unknown now: 401.
 */
static void auth_confirmed(const struct store_reply *res, void *arg)
{
	struct auth_ctx *a = arg;
	struct http_req *r = a->r;
	struct store_as *as = r->as;
	r->as = NULL;
	const json_t *v = res->value;
	if (res->status != STORE_OK || !json_is_array(v)) {
		free(as);
		auth_drop_held(a);
		auth_looked_up(res, a); /* 401 or 503, as for any request */
		return;
	}
	const char *account = store_field_str(v, SCF_ACCOUNT);
	const char *version = store_field_str(v, SCF_VERSION);
	int same = !as->refused && account && version && strcmp(account, as->account) == 0 &&
		   strcmp(version, as->version) == 0;
	free(as);
	if (same) {
		json_decref(auth_account(r->app, a->key, v)); /* remembered as seen now */
		http_reply_buffer(r, a->held_status, a->held_type, a->held_body);
		auth_ctx_free(a);
		return;
	}
	/* Built from an account that is no longer so: build it again. */
	evhttp_clear_headers(evhttp_request_get_output_headers(r->ev));
	json_decref(r->account);
	r->account = NULL;
	free(r->token_id);
	r->token_id = NULL;
	auth_drop_held(a);
	auth_looked_up(res, a);
}

/* r->hold of a request running on an unchecked credential (see auth_confirmed). */
static void auth_hold(struct http_req *r, int status, const char *content_type,
		      struct evbuffer *body)
{
	if (r->as->checked) {
		/* Its write ran after cm_as checked the credential: it stands. */
		free(r->as);
		r->as = NULL;
		http_reply_buffer(r, status, content_type, body);
		return;
	}
	struct auth_ctx *a = xcalloc(1, sizeof(*a));
	a->r = r;
	a->session = r->as->session;
	a->key[0] = a->session ? 's' : 't'; /* as snprintf "%c%s" */
	str_copy(a->key + 1, sizeof(a->key) - 1, r->as->hash);
	a->held_status = status;
	a->held_type = content_type ? xstrdup(content_type) : NULL;
	a->held_body = evbuffer_new();
	if (body)
		evbuffer_add_buffer(a->held_body, body);
	if (a->session)
		store_session_auth(r->app->store, r->as->hash, auth_confirmed, a);
	else
		store_auth(r->app->store, r->as->hash, auth_confirmed, a);
}

/*
 * A write route (ROUTE_ONE_TRIP) of a credential whose account Redis named
 * before: runs it on that account at once, its write checking the
 * credential in the same call (store_as); 0 when it cannot (not such a
 * route, or the credential not seen, or seen by an older library).
 */
static int auth_optimistic(struct http_req *r, const char *key, int session, const char *hash)
{
	if (!(r->route->flags & ROUTE_ONE_TRIP))
		return 0;
	struct auth_slot *s = auth_slot_of(r->app, key, 0);
	if (s == NULL || s->version[0] == '\0' || s->token_id == NULL)
		return 0;
	const char *id = json_string_value(json_object_get(s->account, "id"));
	if (id == NULL || strlen(id) >= sizeof(r->as->account))
		return 0;
	r->as = xcalloc(1, sizeof(*r->as));
	r->as->session = session;
	str_copy(r->as->hash, sizeof(r->as->hash), hash);
	str_copy(r->as->account, sizeof(r->as->account), id);
	str_copy(r->as->version, sizeof(r->as->version), s->version);
	r->account = json_incref(s->account);
	r->token_id = xstrdup(s->token_id);
	r->hold = auth_hold;
	r->route->handler(r);
	return 1;
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
	if (auth_optimistic(r, a->key, 1, hash)) {
		free(a);
		return;
	}
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
	if (auth_optimistic(r, a->key, 0, hash)) {
		free(a);
		return;
	}
	store_auth(r->app->store, hash, auth_looked_up, a);
}
