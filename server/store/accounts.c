/*
 * accounts (store) — argv for the account and token functions (see
 * accounts.h); those of the create calls come from calls.c.
 */
#include "server/store/accounts.h"

#include <stdio.h>

#include "server/clock.h"
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
	const char *keys[] = {keys_account(k, id)};
	store_fcall(s, "cm_account_get", 1, 1, keys, 0, NULL, NULL, cb, arg);
}

void store_auth(struct store *s, const char *token_hash, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	const char *keys[] = {keys_token(k, token_hash)};
	store_fcall(s, "cm_auth", 1, 1, keys, 0, NULL, NULL, cb, arg);
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
	snprintf(maxlen, sizeof(maxlen), "%ld", s->events_maxlen);
	const char *keys[] = {keys_token_id(k, id)};
	const char *args[] = {caller, any ? "1" : "0", maxlen};
	store_fcall(s, "cm_token_revoke", 0, 1, keys, 3, args, NULL, cb, arg);
}

void store_token_account(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	const char *keys[] = {keys_token_id(k, id)};
	store_fcall(s, "cm_token_account", 1, 1, keys, 0, NULL, NULL, cb, arg);
}

void store_token_list(struct store *s, const char *account, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	const char *keys[] = {keys_account_tokens(k, account)};
	store_fcall(s, "cm_token_list", 1, 1, keys, 0, NULL, NULL, cb, arg);
}
