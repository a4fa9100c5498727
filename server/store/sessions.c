/*
 * sessions (store) — argv for the browser-session functions (see sessions.h).
 */
#include "server/store/sessions.h"

#include <stdio.h>

#include "server/clock.h"
#include "server/store/accounts.h"
#include "server/store/keys.h"

void store_session_create(struct store *s, const char *code_hash, const char *session_hash,
			  long ttl_ms, store_cb cb, void *arg)
{
	char k_tok[KEYS_MAX], k_ses[KEYS_MAX], ttl[24], now[24];
	const char *keys[] = {keys_token(k_tok, code_hash), keys_session(k_ses, session_hash)};
	snprintf(ttl, sizeof(ttl), "%ld", ttl_ms);
	clock_now_arg(now);
	const char *args[] = {ttl, now};
	store_fcall(s, "cm_session_create", 0, 2, keys, 2, args, NULL, cb, arg);
}

void store_session_auth(struct store *s, const char *session_hash, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	store_read(s, "cm_session_auth", keys_session(k, session_hash), cb, arg);
}

void store_session_end(struct store *s, const char *session_hash, store_cb cb, void *arg)
{
	char k[KEYS_MAX], maxlen[24];
	const char *keys[] = {keys_session(k, session_hash)};
	store_maxlen_arg(s, maxlen);
	const char *args[] = {maxlen};
	store_fcall(s, "cm_session_end", 0, 1, keys, 1, args, NULL, cb, arg);
}
