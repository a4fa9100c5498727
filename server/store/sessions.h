/*
 * sessions (store) — browser sessions in Redis: the cookie a browser holds
 * after signing in with an access code (a bearer token), so the code itself
 * never has to be kept by the page.
 *
 * Redis keeps only the SHA-256 of a session's secret (cm:session:<hash>),
 * tied to the token it was made from and expiring by itself
 * (store/lua: cm_session_create, cm_session_auth, cm_session_end). The
 * secret is made by the API handler and only ever sent in Set-Cookie.
 */
#ifndef CM_STORE_SESSIONS_H
#define CM_STORE_SESSIONS_H

#include "server/store/accounts.h"
#include "server/store/store.h"

/*
 * Makes a session from an access code. value: [token id, account id,
 * account document text] (enum store_credential_field, accounts.h), or null
 * when the code is unknown or revoked.
 */
void store_session_create(struct store *s, const char *code_hash, const char *session_hash,
			  long ttl_ms, store_cb cb, void *arg);

/*
 * value: [token id, account id, account document text] (enum
 * store_credential_field, accounts.h), or null when the session is
 * unknown, expired or its token was revoked.
 */
void store_session_auth(struct store *s, const char *session_hash, store_cb cb, void *arg);

/* Ends the session and revokes its token. value: 1; NOT_FOUND when gone. */
void store_session_end(struct store *s, const char *session_hash, store_cb cb, void *arg);

#endif
