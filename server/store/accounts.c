/*
 * accounts (store) — argv for the account and token functions (see accounts.h).
 */
#include "server/store/accounts.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/account.h"
#include "server/clock.h"
#include "server/store/keys.h"

void store_account_create(struct store *s, const char *id, const json_t *doc, const char *by,
			  const struct store_idem *idem, store_cb cb, void *arg)
{
	char k_acc[KEYS_MAX], now[24], maxlen[24], provs[512], forums[2048];
	char *text = json_dumps(doc, JSON_COMPACT);
	const char *prov = json_string_value(json_object_get(doc, "province"));
	const char *keys[] = {keys_account(k_acc, id), KEY_ACCOUNTS, idem->key};
	clock_now_arg(now);
	store_maxlen_arg(s, maxlen);
	const char *args[] = {id,
			      text,
			      json_string_value(json_object_get(doc, "role")),
			      prov ? prov : "",
			      account_scope_csv(doc, "provinces", provs, sizeof(provs)),
			      account_scope_csv(doc, "forums", forums, sizeof(forums)),
			      now,
			      by,
			      maxlen,
			      idem->fingerprint ? idem->fingerprint : ""};
	store_fcall(s, "cm_account_create", 0, idem->key ? 3 : 2, keys, 10, args, NULL, cb, arg);
	free(text);
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
	char k_tok[KEYS_MAX], k_id[KEYS_MAX], k_set[KEYS_MAX], k_acc[KEYS_MAX], now[24], maxlen[24];
	const char *keys[] = {keys_token(k_tok, hash), keys_token_id(k_id, id),
			      keys_account_tokens(k_set, account), keys_account(k_acc, account),
			      idem->key};
	clock_now_arg(now);
	store_maxlen_arg(s, maxlen);
	const char *args[] = {id,  account, hash,   name,
			      now, by,	    maxlen, idem->fingerprint ? idem->fingerprint : ""};
	store_fcall(s, "cm_token_create", 0, idem->key ? 5 : 4, keys, 8, args, NULL, cb, arg);
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
