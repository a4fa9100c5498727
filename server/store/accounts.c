/*
 * accounts (store) — argv for the account and token functions (see
 * accounts.h); those of the create calls come from calls.c.
 */
#include "server/store/accounts.h"

#include <stdio.h>
#include <stdlib.h>

#include "server/clock.h"
#include "server/store/calls.h"
#include "server/store/keys.h"

void store_account_create(struct store *s, const char *id, const json_t *doc, const char *by,
			  const struct store_idem *idem, store_cb cb, void *arg)
{
	struct store_call c;
	store_call_account_create(&c, id, doc, by, idem, clock_now_ms(), s->events_maxlen);
	store_fcall(s, c.fn, 0, c.nkeys, c.keys, c.nargs, c.args, NULL, cb, arg);
	store_call_done(&c);
}

void store_account_get(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	store_read(s, "cm_account_get", keys_account(k, id), cb, arg);
}

void store_auth(struct store *s, const char *token_hash, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	store_read(s, "cm_auth", keys_token(k, token_hash), cb, arg);
}

void store_token_create(struct store *s, const char *id, const char *account, const char *hash,
			const char *name, const char *by, const struct store_idem *idem,
			store_cb cb, void *arg)
{
	struct store_call c;
	store_call_token_create(&c, id, account, hash, name, by, idem, clock_now_ms(),
				s->events_maxlen);
	store_fcall(s, c.fn, 0, c.nkeys, c.keys, c.nargs, c.args, NULL, cb, arg);
	store_call_done(&c);
}

void store_token_revoke(struct store *s, const char *id, const char *caller, int any, store_cb cb,
			void *arg)
{
	char k[KEYS_MAX], maxlen[24];
	store_maxlen_arg(s, maxlen);
	const char *keys[] = {keys_token_id(k, id)};
	const char *args[] = {caller, any ? "1" : "0", maxlen};
	store_fcall(s, "cm_token_revoke", 0, 1, keys, 3, args, NULL, cb, arg);
}

void store_token_account(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	store_read(s, "cm_token_account", keys_token_id(k, id), cb, arg);
}

void store_token_list(struct store *s, const char *account, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	store_read(s, "cm_token_list", keys_account_tokens(k, account), cb, arg);
}

const char *store_idem_key(char *buf, const char *account, const char *key_hash)
{
	_Static_assert(STORE_IDEM_KEY_MAX == KEYS_MAX, "an idempotency key is a store key");
	char suffix[80];
	snprintf(suffix, sizeof(suffix), ":%s", key_hash);
	return keys_idempotency(buf, account, suffix);
}

/* Entries one search call examines at most (a page may come back short, with a cursor). */
#define ACCOUNT_SEARCH_BUDGET "2000"

void store_account_search(struct store *s, const struct store_account_query *q, store_cb cb,
			  void *arg)
{
	char limit[24];
	snprintf(limit, sizeof(limit), "%d", q->limit);
	const char *keys[] = {KEY_ACCOUNTS};
#define OR_EMPTY(x) ((x) ? (x) : "")
	const char *args[] = {OR_EMPTY(q->cursor),	 limit,
			      OR_EMPTY(q->text),	 OR_EMPTY(q->role),
			      OR_EMPTY(q->province),	 OR_EMPTY(q->forum),
			      q->moderator ? "1" : "0",	 OR_EMPTY(q->scope_provinces),
			      OR_EMPTY(q->scope_forums), ACCOUNT_SEARCH_BUDGET};
#undef OR_EMPTY
	store_fcall(s, "cm_account_search", 1, 1, keys, 10, args, NULL, cb, arg);
}

void store_account_update(struct store *s, const char *id, const json_t *doc, const char *expected,
			  int suspended, const char *by, store_cb cb, void *arg)
{
	char k[KEYS_MAX], maxlen[24], now[24], fold[1024];
	store_maxlen_arg(s, maxlen);
	snprintf(now, sizeof(now), "%lld", (long long)clock_now_ms());
	char *text = json_dumps(doc, JSON_COMPACT);
	const char *keys[] = {keys_account(k, id)};
	const char *args[] = {
	    id, text, expected, suspended ? "1" : "0", store_account_fold(doc, fold, sizeof(fold)),
	    by, now,  maxlen};
	store_fcall(s, "cm_account_update", 0, 1, keys, 8, args, NULL, cb, arg);
	free(text);
}
