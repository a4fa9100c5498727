/*
 * listings (store) — argv for the listing functions (see listings.h); that
 * of cm_listing_create comes from calls.c.
 */
#include "server/store/listings.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/jsonout.h"
#include "server/clock.h"
#include "server/store/keys.h"

/* Entries one search call may examine before it returns a partial page. */
#define STORE_SEARCH_BUDGET "5000"

void store_listing_create(struct store *s, const char *id, const json_t *doc,
			  const struct store_listing_meta *m, const struct store_idem *idem,
			  store_cb cb, void *arg)
{
	struct store_call c;
	store_call_listing_create(&c, id, doc, m, idem, clock_now_ms(), s->events_maxlen);
	store_fcall(s, c.fn, 0, c.nkeys, c.keys, c.nargs, c.args, NULL, cb, arg);
	store_call_done(&c);
}

void store_listing_get(struct store *s, const char *id, store_cb cb, void *arg)
{
	char k[KEYS_MAX];
	store_read(s, "cm_listing_get", keys_listing(k, id), cb, arg);
}

void store_listing_update(struct store *s, const char *id, const char *caller,
			  int64_t expected_version, const json_t *doc, int64_t quantity,
			  int64_t ends_at, const char *fold, const char *engine, store_cb cb,
			  void *arg)
{
	char k[KEYS_MAX], ver[24], qty[24], ends[24], now[24], maxlen[24];
	char *text = jsonout_dumps(doc, 0, NULL);
	snprintf(ver, sizeof(ver), "%" PRId64, expected_version);
	snprintf(qty, sizeof(qty), "%" PRId64, quantity);
	snprintf(ends, sizeof(ends), "%" PRId64, ends_at);
	store_maxlen_arg(s, maxlen);
	clock_now_arg(now);
	const char *keys[] = {keys_listing(k, id)};
	const char *args[] = {caller, ver, text, qty, ends, fold, now, maxlen, engine};
	store_fcall(s, "cm_listing_update", 0, 1, keys, 9, args, NULL, cb, arg);
	free(text);
}

void store_listing_close(struct store *s, const char *id, const char *caller, store_cb cb,
			 void *arg)
{
	char k[KEYS_MAX], now[24], maxlen[24];
	store_maxlen_arg(s, maxlen);
	clock_now_arg(now);
	const char *keys[] = {keys_listing(k, id)};
	const char *args[] = {caller, now, maxlen};
	store_fcall(s, "cm_listing_close", 0, 1, keys, 3, args, NULL, cb, arg);
}

void store_listing_expire(struct store *s, int64_t now_ms, int batch, store_cb cb, void *arg)
{
	char now[24], lim[16], maxlen[24];
	snprintf(now, sizeof(now), "%" PRId64, now_ms);
	snprintf(lim, sizeof(lim), "%d", batch);
	store_maxlen_arg(s, maxlen);
	const char *keys[] = {KEY_EXPIRY};
	const char *args[] = {now, lim, maxlen};
	store_fcall(s, "cm_listing_expire", 0, 1, keys, 3, args, NULL, cb, arg);
}

void store_listing_search(struct store *s, const struct store_listing_query *q, store_cb cb,
			  void *arg)
{
	/*
	 * Only the owner and status sets are kept (store/lua/3-listings.lua);
	 * kind, material and province are checked on each listing they hold.
	 */
	char kbuf[2][KEYS_MAX], lim[16];
	const char *keys[2];
	int n = 0;
	if (q->owner)
		keys[n] = keys_listings_by(kbuf[n], "owner", q->owner), n++;
	if (q->status)
		keys[n] = keys_listings_by(kbuf[n], "status", q->status), n++;
	if (n == 0)
		keys[n++] = KEY_LISTINGS;
	snprintf(lim, sizeof(lim), "%d", q->limit);
	const char *args[] = {q->cursor ? q->cursor : "",
			      lim,
			      q->text ? q->text : "",
			      q->forum ? q->forum : "",
			      STORE_SEARCH_BUDGET,
			      q->kind ? q->kind : "",
			      q->material ? q->material : "",
			      q->province ? q->province : ""};
	store_fcall(s, "cm_listing_search", 1, n, keys, 8, args, NULL, cb, arg);
}
