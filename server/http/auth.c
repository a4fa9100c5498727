/*
 * auth — bearer tokens (see auth.h).
 */
#include "server/http/auth.h"

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
	free(a);
	const char *doc = json_string_value(json_array_get(v, 2));
	json_error_t err;
	r->account = doc ? json_loads(doc, 0, &err) : NULL;
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
