/*
 * keys — the Redis key names, built only from server-made ids and codes
 * from the reference tables (DESIGN.md invariant 6). A caller must have
 * checked the id (ids_valid) or the code (the tables) before building a key.
 */
#ifndef CM_STORE_KEYS_H
#define CM_STORE_KEYS_H

#include <stdio.h>
#include <string.h>

#define KEYS_MAX 128

#define KEY_ACCOUNTS "cm:accounts"
#define KEY_EVENTS "cm:events"

static inline const char *keys_fmt(char buf[KEYS_MAX], const char *prefix, const char *id,
				   const char *suffix)
{
	/* as snprintf(buf, KEYS_MAX, "%s%s%s") writes it (cut to fit), without
	 * its ~500 instructions: several keys a request */
	const char *parts[3] = {prefix, id, suffix ? suffix : ""};
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);
		if (len > KEYS_MAX - 1 - n)
			len = KEYS_MAX - 1 - n;
		memcpy(buf + n, parts[i], len);
		n += len;
	}
	buf[n] = '\0';
	return buf;
}

#define keys_account(buf, id) keys_fmt(buf, "cm:account:", id, NULL)
#define keys_account_tokens(buf, id) keys_fmt(buf, "cm:account:", id, ":tokens")
#define keys_token(buf, hash) keys_fmt(buf, "cm:token:", hash, NULL)
#define keys_token_id(buf, id) keys_fmt(buf, "cm:tokenid:", id, NULL)
/* A stream ticket by the SHA-256 (hex) of its secret. */
#define keys_stream_ticket(buf, hash) keys_fmt(buf, "cm:ticket:", hash, NULL)
/* A browser session by the SHA-256 (hex) of its cookie's secret. */
#define keys_session(buf, hash) keys_fmt(buf, "cm:session:", hash, NULL)
#define keys_idempotency(buf, account, keyhash) keys_fmt(buf, "cm:idem:", account, keyhash)
#define keys_listing(buf, id) keys_fmt(buf, "cm:listing:", id, NULL)
#define KEY_LISTINGS "cm:listings"
/* The open listings by seq: what a search index loads (store/search_load.c). */
#define KEY_LISTINGS_OPEN "cm:listings:status:open"
#define KEY_MATCHES "cm:matches"
#define KEY_MATCH_EXPIRY "cm:match_expiry"
#define KEY_ENGINE_CURSOR "cm:engine:cursor"
/* Which engine node runs the call market's rounds (store/lua, cm_callmarket_claim). */
#define KEY_CALLMARKET "cm:engine:callmarket"
/* Pairs whose last match failed, with both versions then (store/lua). */
#define KEY_PAIRS_FAILED "cm:pairs:failed"
/* The engine's open listings of a kind ("need" or "offer", a literal) and a material. */
#define keys_eng(buf, kind, code) keys_fmt(buf, "cm:eng:" kind ":", code, NULL)
#define keys_match(buf, id) keys_fmt(buf, "cm:match:", id, NULL)
#define keys_matches_by(buf, what, value) keys_fmt(buf, "cm:matches:" what ":", value, NULL)
#define KEY_EXPIRY "cm:expiry"
/* An account's reputation counts, and every account's score for the engine (store/lua). */
#define keys_reputation(buf, id) keys_fmt(buf, "cm:rep:", id, NULL)
#define KEY_REP_SCORES "cm:rep:scores"
/* Listing indexes by a validated kind, material or province code, or account id. */
#define keys_listings_by(buf, what, value) keys_fmt(buf, "cm:listings:" what ":", value, NULL)

/* An import (POST /v1/imports) and its per-row results. */
#define keys_import(buf, id) keys_fmt(buf, "cm:import:", id, NULL)
#define keys_import_rows(buf, id) keys_fmt(buf, "cm:import:", id, ":rows")

/* A forum by its id, once forum_id_ok (common/forum.c) has passed it: the
 * one client-chosen text in a key name (docs/decisions.md). */
#define keys_forum(buf, id) keys_fmt(buf, "cm:forum:", id, NULL)
#define KEY_FORUMS "cm:forums"
/* The open forums by the time their registration closes by itself (ms). */
#define KEY_FORUMS_CLOSING "cm:forums:closing"
/* Forum indexes by a state name or a validated province code. */
#define keys_forums_by(buf, what, value) keys_fmt(buf, "cm:forums:" what ":", value, NULL)

/* Statistics (store/lua/1-stats.lua): the indexes of the listing and match
 * counter cells, the whole market's and an account's (what = "l" or "m"). */
#define KEY_STATS_LISTINGS "cm:stats:l"
#define KEY_STATS_MATCHES "cm:stats:m"
#define keys_stats_account(buf, id, what) keys_fmt(buf, "cm:stats:acct:", id, ":" what)

#endif
