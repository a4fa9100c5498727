/*
 * accounts (store) — accounts and bearer tokens in Redis.
 *
 * Each call is one function of the library (store/lua); results come
 * back through store_cb with the reply as JSON (see each call).
 */
#ifndef CM_STORE_ACCOUNTS_H
#define CM_STORE_ACCOUNTS_H

#include <jansson.h>

#include "server/store/calls.h" /* struct store_idem */
#include "server/store/store.h"

/* The idempotency key (store_idem.key) of account's request whose Idempotency-Key hashed
 * to key_hash (hex); buf holds STORE_IDEM_KEY_MAX bytes. Returns buf. */
#define STORE_IDEM_KEY_MAX 128
const char *store_idem_key(char *buf, const char *account, const char *key_hash);

/*
 * The account a credential stands for, as store_auth, store_session_create
 * and store_session_auth answer it.
 */
enum store_credential_field {
	SCF_TOKEN,   /* the token's id */
	SCF_ACCOUNT, /* the account's id */
	SCF_DOC,     /* the account's document text */
	SCF_VERSION, /* the account's version (what store_as names) */
};

/* The fields of store_token_account's answer. */
enum store_token_account_field { STA_ACCOUNT, STA_DOC };

/* value: ["created"|"replay", id] (enum store_created_field) */
void store_account_create(struct store *s, const char *id, const json_t *doc, const char *by,
			  const struct store_idem *idem, store_cb cb, void *arg);
/* value: the document text, or null */
void store_account_get(struct store *s, const char *id, store_cb cb, void *arg);
/* value: enum store_credential_field, or null */
void store_auth(struct store *s, const char *token_hash, store_cb cb, void *arg);
/* value: ["created", id]; CONFLICT on an idempotent retry (the secret is gone) */
void store_token_create(struct store *s, const char *id, const char *account, const char *hash,
			const char *name, const char *by, const struct store_idem *idem,
			store_cb cb, void *arg);
/* value: 1; NOT_FOUND when absent or not the caller's (unless any) */
void store_token_revoke(struct store *s, const char *id, const char *caller, int any, store_cb cb,
			void *arg);
/* value: enum store_token_account_field of the token's account, or null */
void store_token_account(struct store *s, const char *id, store_cb cb, void *arg);
/* value: flat [id, name, created_at, created_by, ...] */
void store_token_list(struct store *s, const char *account, store_cb cb, void *arg);

/* A GET /v1/accounts query; NULL or "" fields do not filter. */
struct store_account_query {
	const char *cursor, *text, *role, *province, *forum;
	int limit;
	int moderator; /* only villages and suppliers of the scope below */
	const char *scope_provinces, *scope_forums; /* comma-joined */
};
/* value: [next cursor or "", [[id, doc text], ...]] */
void store_account_search(struct store *s, const struct store_account_query *q, store_cb cb,
			  void *arg);
/* cm_account_update: doc replaces the account's document if its version is still
 * expected; suspended closes its open listings. value: [doc text, listings closed] */
void store_account_update(struct store *s, const char *id, const json_t *doc, const char *expected,
			  int suspended, const char *by, store_cb cb, void *arg);

#endif
