/*
 * forums (store) — argv for the forum functions (see forums.h).
 */
#include "server/store/forums.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/jsonout.h"
#include "common/xalloc.h"
#include "server/clock.h"
#include "server/store/keys.h"

/* Entries one search call may examine before it returns a partial page. */
#define STORE_FORUM_SEARCH_BUDGET "5000"

void store_forum_create(struct store *s, const char *id, const json_t *doc, const char *organiser,
			const char *provinces_csv, int64_t closes_at, const char *by,
			const struct store_idem *idem, store_cb cb, void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24], closes[24];
	char *text = jsonout_dumps(doc, 0, NULL);
	snprintf(maxlen, sizeof(maxlen), "%ld", s->events_maxlen);
	snprintf(closes, sizeof(closes), "%" PRId64, closes_at);
	clock_now_arg(now);
	const char *keys[] = {keys_forum(k, id), idem->key};
	const char *args[] = {id,
			      text,
			      organiser,
			      provinces_csv,
			      now,
			      maxlen,
			      idem->fingerprint ? idem->fingerprint : "",
			      by,
			      closes};
	store_fcall(s, "cm_forum_create", 0, idem->key ? 2 : 1, keys, 9, args, NULL, cb, arg);
	free(text);
}

void store_forum_get(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	const char *keys[] = {keys_forum(k, id)};
	store_fcall(s, "cm_forum_get", 1, 1, keys, 0, NULL, NULL, cb, arg);
}

void store_forum_update(struct store *s, const char *id, const char *caller,
			const char *expected_version, const json_t *doc, const char *provinces_csv,
			int64_t closes_at, store_cb cb, void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24], closes[24];
	char *text = jsonout_dumps(doc, 0, NULL);
	snprintf(maxlen, sizeof(maxlen), "%ld", s->events_maxlen);
	snprintf(closes, sizeof(closes), "%" PRId64, closes_at);
	clock_now_arg(now);
	const char *keys[] = {keys_forum(k, id)};
	const char *args[] = {caller, expected_version,	     text,  provinces_csv, now,
			      maxlen, FORUM_EDITABLE_STATES, closes};
	store_fcall(s, "cm_forum_update", 0, 1, keys, 8, args, NULL, cb, arg);
	free(text);
}

void store_forum_transition(struct store *s, const char *id, const struct forum_transition *t,
			    const char *caller, const char *expected_version,
			    const struct store_idem *idem, store_cb cb, void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24];
	snprintf(maxlen, sizeof(maxlen), "%ld", s->events_maxlen);
	clock_now_arg(now);
	const char *keys[] = {keys_forum(k, id), idem ? idem->key : NULL};
	const char *args[] = {t->action,
			      t->from,
			      t->to,
			      caller,
			      now,
			      maxlen,
			      expected_version,
			      idem && idem->fingerprint ? idem->fingerprint : ""};
	store_fcall(s, "cm_forum_transition", 0, idem && idem->key ? 2 : 1, keys, 8, args, NULL, cb,
		    arg);
}

void store_forum_search(struct store *s, const struct store_forum_query *q, store_cb cb, void *arg)
{
	char kbuf[2][KEYS_MAX], lim[16];
	const char *keys[2];
	int n = 0;
	if (q->state)
		keys[n] = keys_forums_by(kbuf[n], "state", q->state), n++;
	if (q->province)
		keys[n] = keys_forums_by(kbuf[n], "province", q->province), n++;
	if (n == 0)
		keys[n++] = KEY_FORUMS;
	snprintf(lim, sizeof(lim), "%d", q->limit);
	const char *args[] = {q->cursor ? q->cursor : "", lim, q->drafts ? "1" : "0",
			      STORE_FORUM_SEARCH_BUDGET};
	store_fcall(s, "cm_forum_search", 1, n, keys, 4, args, NULL, cb, arg);
}

void store_forum_held(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	const char *keys[] = {keys_forum(k, id)};
	store_fcall(s, "cm_forum_held", 1, 1, keys, 0, NULL, NULL, cb, arg);
}

void store_forum_clear_page(struct store *s, const char *id, const struct store_clearing *c,
			    store_cb cb, void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24], exp[24], gq[24], gl[24], page[16];
	size_t nargs = 11 + c->n * 8;
	const char **args = xmalloc(nargs * sizeof(*args));
	char(*nums)[4][24] = xmalloc((c->n ? c->n : 1) * sizeof(*nums));
	clock_now_arg(now);
	snprintf(maxlen, sizeof(maxlen), "%ld", s->events_maxlen);
	snprintf(exp, sizeof(exp), "%" PRId64, c->expires_at);
	snprintf(gq, sizeof(gq), "%" PRId64, c->greedy_quantity);
	snprintf(gl, sizeof(gl), "%" PRId64, c->greedy_landed_vnd);
	snprintf(page, sizeof(page), "%d", c->page);
	size_t a = 0;
	args[a++] = now;
	args[a++] = maxlen;
	args[a++] = exp;
	args[a++] = c->status;
	args[a++] = gq;
	args[a++] = gl;
	args[a++] = c->run;
	args[a++] = page;
	args[a++] = c->last ? "1" : "0";
	args[a++] = c->cleared->from;
	args[a++] = c->cleared->to;
	for (size_t i = 0; i < c->n; i++) {
		const struct store_proposal *p = &c->p[i];
		snprintf(nums[i][0], 24, "%" PRId64, p->quantity);
		snprintf(nums[i][1], 24, "%" PRId64, p->need_version);
		snprintf(nums[i][2], 24, "%" PRId64, p->offer_version);
		snprintf(nums[i][3], 24, "%" PRId64, c->landed_vnd[i]);
		args[a++] = p->match_id;
		args[a++] = p->need_id;
		args[a++] = p->offer_id;
		args[a++] = nums[i][0];
		args[a++] = nums[i][1];
		args[a++] = nums[i][2];
		args[a++] = p->doc;
		args[a++] = nums[i][3];
	}
	const char *keys[] = {keys_forum(k, id)};
	store_fcall_deadline(s, "cm_forum_clear_page", 0, 1, keys, (int)a, args, NULL,
			     c->timeout_ms > 0 ? c->timeout_ms : -1, cb, arg);
	free(nums);
	free(args);
}

void store_forum_in_state(struct store *s, const char *state, int limit, store_cb cb, void *arg)
{
	char k[KEYS_MAX], lim[16];
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *keys[] = {keys_forums_by(k, "state", state)};
	const char *args[] = {lim};
	store_fcall(s, "cm_forum_in_state", 1, 1, keys, 1, args, NULL, cb, arg);
}

void store_forum_report(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	const char *keys[] = {keys_forum(k, id)};
	store_fcall(s, "cm_forum_report", 1, 1, keys, 0, NULL, NULL, cb, arg);
}

void store_forum_review(struct store *s, const char *id, const char *action, const char *caller,
			const char *reason, int64_t expires_at, const char *const *matches,
			size_t n, const struct store_idem *idem, store_cb cb, void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24], exp[24];
	snprintf(maxlen, sizeof(maxlen), "%ld", s->events_maxlen);
	snprintf(exp, sizeof(exp), "%" PRId64, expires_at);
	clock_now_arg(now);
	const char **args = xmalloc((7 + n) * sizeof(*args));
	size_t a = 0;
	args[a++] = action;
	args[a++] = caller;
	args[a++] = reason ? reason : "";
	args[a++] = now;
	args[a++] = maxlen;
	args[a++] = exp;
	args[a++] = idem && idem->fingerprint ? idem->fingerprint : "";
	for (size_t i = 0; i < n; i++)
		args[a++] = matches[i];
	const char *keys[] = {keys_forum(k, id), idem ? idem->key : NULL};
	store_fcall(s, "cm_forum_review", 0, idem && idem->key ? 2 : 1, keys, (int)a, args, NULL,
		    cb, arg);
	free(args);
}

void store_forum_batch(struct store *s, const char *id, int limit, store_cb cb, void *arg)
{
	char k[KEYS_MAX], lim[16];
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *keys[] = {keys_forum(k, id)};
	const char *args[] = {lim};
	store_fcall(s, "cm_forum_batch", 1, 1, keys, 1, args, NULL, cb, arg);
}

void store_forum_due(struct store *s, int64_t now_ms, int limit, store_cb cb, void *arg)
{
	char now[24], lim[16];
	snprintf(now, sizeof(now), "%" PRId64, now_ms);
	snprintf(lim, sizeof(lim), "%d", limit);
	const char *keys[] = {KEY_FORUMS_CLOSING};
	const char *args[] = {now, lim};
	store_fcall(s, "cm_forum_due", 1, 1, keys, 2, args, NULL, cb, arg);
}
