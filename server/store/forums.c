/*
 * forums (store) — argv for the forum functions (see forums.h).
 */
#include "server/store/forums.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/jsonout.h"
#include "server/clock.h"
#include "server/store/keys.h"

/* Entries one search call may examine before it returns a partial page. */
#define STORE_FORUM_SEARCH_BUDGET "5000"

void store_forum_create(struct store *s, const char *id, const json_t *doc, const char *organiser,
			const char *provinces_csv, const char *by, const struct store_idem *idem,
			store_cb cb, void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24];
	char *text = jsonout_dumps(doc, 0, NULL);
	snprintf(maxlen, sizeof(maxlen), "%ld", s->events_maxlen);
	clock_now_arg(now);
	const char *keys[] = {keys_forum(k, id), idem->key};
	const char *args[] = {id,
			      text,
			      organiser,
			      provinces_csv,
			      now,
			      maxlen,
			      idem->fingerprint ? idem->fingerprint : "",
			      by};
	store_fcall(s, "cm_forum_create", 0, idem->key ? 2 : 1, keys, 8, args, NULL, cb, arg);
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
			store_cb cb, void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24];
	char *text = jsonout_dumps(doc, 0, NULL);
	snprintf(maxlen, sizeof(maxlen), "%ld", s->events_maxlen);
	clock_now_arg(now);
	const char *keys[] = {keys_forum(k, id)};
	const char *args[] = {caller, expected_version,	    text, provinces_csv, now,
			      maxlen, FORUM_EDITABLE_STATES};
	store_fcall(s, "cm_forum_update", 0, 1, keys, 7, args, NULL, cb, arg);
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
