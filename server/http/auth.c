/*
 * auth — bearer tokens (see auth.h).
 */
#include "server/http/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/ids.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/api/api.h"
#include "server/http/request.h"
#include "server/store/accounts.h"
#include "server/store/keys.h"

struct auth_ctx {
	struct http_req *r;
	char key[KEYS_MAX];
};

/*
 * Parsed account documents by token key, direct-mapped (the keys hold a
 * SHA-256, so any bits of them spread evenly). An entry is used only when
 * Redis answered with the very same document text: any change to the
 * account is parsed afresh, and nothing outlives what Redis says.
 */
#define AUTH_CACHE_SLOTS 1024

struct auth_slot {
	char key[KEYS_MAX];
	char *text;
	json_t *account;
};

static struct auth_slot *auth_cache;

static struct auth_slot *auth_slot_of(const char *key)
{
	size_t len = strlen(key), h = 0;
	if (auth_cache == NULL)
		auth_cache = xcalloc(AUTH_CACHE_SLOTS, sizeof(*auth_cache));
	for (size_t i = len > 8 ? len - 8 : 0; i < len; i++)
		h = h * 31 + (unsigned char)key[i];
	return &auth_cache[h % AUTH_CACHE_SLOTS];
}

/* The parsed account for doc (a new reference), or NULL when it does not parse. */
static json_t *auth_account(const char *key, const char *doc)
{
	struct auth_slot *s = auth_slot_of(key);
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

void auth_cache_free(void)
{
	if (auth_cache == NULL)
		return;
	for (size_t i = 0; i < AUTH_CACHE_SLOTS; i++) {
		free(auth_cache[i].text);
		json_decref(auth_cache[i].account);
	}
	free(auth_cache);
	auth_cache = NULL;
}

static void auth_refuse(struct http_req *r, const char *detail)
{
	http_reply_header(r, "WWW-Authenticate", "Bearer realm=\"craftmatch\"");
	http_reply_problem(r, 401, "unauthorized", NULL, "%s", detail);
}

static void auth_looked_up(const struct store_reply *res, void *arg)
{
	struct auth_ctx *a = arg;
	struct http_req *r = a->r;
	if (res->status != STORE_OK) {
		free(a);
		api_reply_store_error(r, res);
		return;
	}
	json_t *v = res->value;
	const char *key = json_string_value(json_array_get(v, 3));
	if (!json_is_array(v) || key == NULL || strlen(key) != strlen(a->key) ||
	    !ids_equal_ct(key, a->key, strlen(a->key))) {
		free(a);
		auth_refuse(r, "the bearer token is unknown or revoked");
		return;
	}
	const char *doc = json_string_value(json_array_get(v, 2));
	r->account = doc ? auth_account(a->key, doc) : NULL;
	free(a);
	if (r->account == NULL) {
		http_reply_problem(r, 500, "internal", NULL, "the account record is unreadable");
		return;
	}
	r->token_id = xstrdup(json_string_value(json_array_get(v, 0)));
	r->route->handler(r);
}

void auth_dispatch(struct http_req *r)
{
	const char *h = http_req_header(r, "Authorization");
	if (h == NULL) {
		auth_refuse(r, "send Authorization: Bearer <token>");
		return;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		auth_refuse(r, "only Bearer tokens are accepted");
		return;
	}
	const char *secret = h + 7;
	while (*secret == ' ')
		secret++;
	size_t len = strlen(secret);
	if (len < 16 || len >= IDS_TOKEN_MAX) {
		auth_refuse(r, "the bearer token is malformed");
		return;
	}
	char hash[IDS_TOKEN_HASH_HEX];
	ids_token_hash(secret, len, hash);
	struct auth_ctx *a = xcalloc(1, sizeof(*a));
	a->r = r;
	keys_token(a->key, hash);
	store_auth(r->app->store, hash, auth_looked_up, a);
}
