/*
 * matches (store) — argv for the match and engine functions (see matches.h).
 */
#include "server/store/matches.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "server/clock.h"
#include "server/store/accounts.h"
#include "server/store/keys.h"

#define STORE_MATCH_BUDGET "5000"
/*
 * Proposals of one call whose arguments fit on the stack (the continuous
 * engine's rounds); a call market's chunks (callmarket.c: 64) allocate.
 */
#define STORE_PROPOSE_MAX 5

void store_match_propose(struct store *s, const struct store_proposal *p, size_t n,
			 int64_t expires_at, store_cb cb, void *arg)
{
	char now[24], maxlen[24], exp[24];
	char nums_small[STORE_PROPOSE_MAX][3][24];
	const char *args_small[3 + STORE_PROPOSE_MAX * 7];
	char(*nums)[3][24] = nums_small;
	const char **args = args_small;
	if (n > STORE_PROPOSE_MAX) { /* a call market round's chunk */
		nums = xmalloc(n * sizeof(*nums));
		args = xmalloc((3 + n * 7) * sizeof(*args));
	}
	clock_now_arg(now);
	store_maxlen_arg(s, maxlen);
	snprintf(exp, sizeof(exp), "%" PRId64, expires_at);
	int a = 0;
	args[a++] = now;
	args[a++] = maxlen;
	args[a++] = exp;
	for (size_t i = 0; i < n; i++) {
		snprintf(nums[i][0], 24, "%" PRId64, p[i].quantity);
		snprintf(nums[i][1], 24, "%" PRId64, p[i].need_version);
		snprintf(nums[i][2], 24, "%" PRId64, p[i].offer_version);
		args[a++] = p[i].match_id;
		args[a++] = p[i].need_id;
		args[a++] = p[i].offer_id;
		args[a++] = nums[i][0];
		args[a++] = nums[i][1];
		args[a++] = nums[i][2];
		args[a++] = p[i].doc;
	}
	/* The command is written out before store_fcall returns: the args may go. */
	store_fcall(s, "cm_match_propose", 0, 0, NULL, a, args, NULL, cb, arg);
	if (nums != nums_small) {
		free(nums);
		free(args);
	}
}

void store_match_get(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	store_read(s, "cm_match_get", keys_match(k, id), cb, arg);
}

void store_match_act(struct store *s, const char *id, const char *action, const char *actor,
		     const char *side, const char *note, int64_t expires_at,
		     int64_t expected_version, const struct store_idem *idem, store_cb cb,
		     void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24], exp[24], ver[24];
	clock_now_arg(now);
	store_maxlen_arg(s, maxlen);
	snprintf(exp, sizeof(exp), "%" PRId64, expires_at);
	if (expected_version > 0)
		snprintf(ver, sizeof(ver), "%" PRId64, expected_version);
	else
		ver[0] = '\0';
	const char *keys[] = {keys_match(k, id), idem->key};
	const char *args[] = {action,
			      actor,
			      side,
			      note ? note : "",
			      now,
			      maxlen,
			      exp,
			      ver,
			      idem->fingerprint ? idem->fingerprint : ""};
	store_fcall(s, "cm_match_act", 0, idem->key ? 2 : 1, keys, 9, args, NULL, cb, arg);
}

void store_match_expire(struct store *s, int64_t now_ms, int batch, store_cb cb, void *arg)
{
	char now[24], lim[16], maxlen[24];
	snprintf(now, sizeof(now), "%" PRId64, now_ms);
	snprintf(lim, sizeof(lim), "%d", batch);
	store_maxlen_arg(s, maxlen);
	const char *keys[] = {KEY_MATCH_EXPIRY};
	const char *args[] = {now, lim, maxlen};
	store_fcall(s, "cm_match_expire", 0, 1, keys, 3, args, NULL, cb, arg);
}

void store_match_search(struct store *s, const struct store_match_query *q, store_cb cb, void *arg)
{
	char kbuf[6][KEYS_MAX], lim[16];
	const char *keys[6];
	int n = 0;
	if (q->mode == STORE_MATCH_PARTY)
		keys[n] = keys_matches_by(kbuf[n], "account", q->party), n++;
	if (q->state)
		keys[n] = keys_matches_by(kbuf[n], "state", q->state), n++;
	if (q->listing)
		keys[n] = keys_matches_by(kbuf[n], "listing", q->listing), n++;
	/* material and province are filters on the match's fields (no index) */
	if (n == 0)
		keys[n++] = KEY_MATCHES;
	snprintf(lim, sizeof(lim), "%d", q->limit);
	const char *mode = q->mode == STORE_MATCH_ALL	  ? "all"
			   : q->mode == STORE_MATCH_PARTY ? "party"
							  : "scope";
	const char *args[] = {q->cursor ? q->cursor : "",
			      lim,
			      mode,
			      q->scope_provinces ? q->scope_provinces : "",
			      q->scope_forums ? q->scope_forums : "",
			      q->forum ? q->forum : "",
			      STORE_MATCH_BUDGET,
			      q->material ? q->material : "",
			      q->province ? q->province : ""};
	store_fcall(s, "cm_match_search", 1, n, keys, 9, args, NULL, cb, arg);
}

void store_engine_listing(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	store_read(s, "cm_engine_listing", keys_listing(k, id), cb, arg);
}

void store_engine_failed_pairs(struct store *s, const char *cursor, int count, store_cb cb,
			       void *arg)
{
	char c[16];
	snprintf(c, sizeof(c), "%d", count);
	const char *keys[] = {KEY_PAIRS_FAILED};
	const char *args[] = {cursor, c};
	/* a load's read: no deadline (see STORE_LOAD_DEADLINE) */
	store_fcall_deadline(s, "cm_engine_failed_pairs", 1, 1, keys, 2, args, NULL,
			     STORE_LOAD_DEADLINE, cb, arg);
}

void store_engine_cursor_get(struct store *s, store_cb cb, void *arg)
{
	const char *keys[] = {KEY_ENGINE_CURSOR};
	store_fcall_deadline(s, "cm_engine_cursor_get", 1, 1, keys, 0, NULL, NULL,
			     STORE_LOAD_DEADLINE, cb, arg);
}

void store_engine_cursor_save(struct store *s, const char *cursor, store_cb cb, void *arg)
{
	const char *keys[] = {KEY_ENGINE_CURSOR};
	const char *args[] = {cursor};
	store_fcall(s, "cm_engine_cursor", 0, 1, keys, 1, args, NULL, cb, arg);
}

static void store_callmarket_turn(struct store *s, const char *fn, const char *node, long long ms,
				  store_cb cb, void *arg)
{
	char ms_s[24];
	snprintf(ms_s, sizeof(ms_s), "%lld", ms);
	const char *keys[] = {KEY_CALLMARKET};
	const char *args[] = {node, ms_s};
	store_fcall(s, fn, 0, 1, keys, 2, args, NULL, cb, arg);
}

void store_callmarket_claim(struct store *s, const char *node, long long ttl_ms, store_cb cb,
			    void *arg)
{
	store_callmarket_turn(s, "cm_callmarket_claim", node, ttl_ms, cb, arg);
}

void store_callmarket_done(struct store *s, const char *node, long long hold_ms, store_cb cb,
			   void *arg)
{
	store_callmarket_turn(s, "cm_callmarket_done", node, hold_ms, cb, arg);
}
