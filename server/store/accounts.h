/*
 * accounts (store) — accounts and bearer tokens in Redis.
 *
 * Each call is one function of the library (functions.lua); results come
 * back through store_cb with the reply as JSON (see each call).
 */
#ifndef CM_STORE_ACCOUNTS_H
#define CM_STORE_ACCOUNTS_H

#include <jansson.h>

#include "server/store/calls.h" /* struct store_idem */
#include "server/store/store.h"

/* value: ["created"|"replay", id] */
void store_account_create(struct store *s, const char *id, const json_t *doc, const char *by,
			  const struct store_idem *idem, store_cb cb, void *arg);
/* value: the document text, or null */
void store_account_get(struct store *s, const char *id, store_cb cb, void *arg);
/* value: [token id, account id, account doc text, token key] or null */
void store_auth(struct store *s, const char *token_hash, store_cb cb, void *arg);
/* value: ["created", id]; CONFLICT on an idempotent retry (the secret is gone) */
void store_token_create(struct store *s, const char *id, const char *account, const char *hash,
			const char *name, const char *by, const struct store_idem *idem,
			store_cb cb, void *arg);
/* value: 1; NOT_FOUND when absent or not the caller's (unless any) */
void store_token_revoke(struct store *s, const char *id, const char *caller, int any, store_cb cb,
			void *arg);
/* value: [account id, account doc text] of the token's account, or null */
void store_token_account(struct store *s, const char *id, store_cb cb, void *arg);
/* value: flat [id, name, created_at, created_by, ...] */
void store_token_list(struct store *s, const char *account, store_cb cb, void *arg);

#endif
