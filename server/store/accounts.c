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
