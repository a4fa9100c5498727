/*
 * feed — the process's one cm:events reader, shared by its consumers (see feed.h).
 *
 * The rule that keeps every consumer exact: a read that began after id R
 * returns the entries that follow R, consecutively. Its batch may go to a
 * consumer at position p only when p >= R (it skips the entries up to p);
 * one at p < R would miss those between p and R, so it is "behind" and is
 * served by catch-up pages (plain XREAD after the least behind position)
 * until it is at or past where the live read began. Positions only move
 * forward, by the entries handed over, so nothing is given twice.
 */
#include "server/store/feed.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strcopy.h"
#include "common/xalloc.h"
#include "server/log.h"
#include "server/store/keys.h"
#include "server/store/redis.h"

#define FEED_BLOCK_MS 5000 /* each XREAD BLOCK of the live read */
#define FEED_PAGE "500"	   /* entries per catch-up page */
#define FEED_RETRY_MS 100  /* a catch-up page that failed, or a link not ready yet */
#define FEED_ID_MAX 48

struct feed_sub {
	struct feed *f;
	feed_cb cb;
	void *arg;
	char pos[FEED_ID_MAX];
	int gone; /* unsubscribed while a batch was being handed out */
};

struct feed {
	struct event_base *base;
	char *url;
	const struct redis_locator *via;
	int timeout_ms;
	struct events_reader *live;
	char live_from[FEED_ID_MAX]; /* where the live read now out began */
	struct redis *catchup;	     /* open while a consumer is behind */
	int catchup_inflight;
	struct event *catchup_kick; /* reads the next page, or closes the idle link */
	struct events_entry *page;
	size_t page_cap;
	struct feed_sub **subs;
	size_t n_subs, cap_subs;
	int handing; /* inside a consumer's callback: removal waits */
	int closing;
	struct feed_stats stats;
};

/* ---- handing batches to consumers ---- */

static int feed_behind(const struct feed *f, const struct feed_sub *s)
{
	return f->live != NULL && events_id_cmp(s->pos, f->live_from) < 0;
}

static void feed_sweep(struct feed *f)
{
	size_t k = 0;
	for (size_t i = 0; i < f->n_subs; i++) {
		if (f->subs[i]->gone)
			free(f->subs[i]);
		else
			f->subs[k++] = f->subs[i];
	}
	f->n_subs = k;
	f->stats.consumers = k;
}

/*
 * Hands entries, read after `from`, to each consumer at or past `from`
 * (only_behind: and still behind the live read), from its position on.
 */
static void feed_hand(struct feed *f, const char *from, const struct events_entry *e, size_t n,
		      int only_behind)
{
	f->handing++;
	for (size_t k = 0; k < f->n_subs; k++) {
		struct feed_sub *s = f->subs[k];
		if (s->gone || events_id_cmp(s->pos, from) < 0 ||
		    (only_behind && !feed_behind(f, s)))
			continue;
		size_t i = 0;
		while (i < n && events_id_cmp(e[i].id, s->pos) <= 0)
			i++;
		if (i == n)
			continue;
		str_copy(s->pos, sizeof(s->pos), e[n - 1].id);
		s->cb(e + i, n - i, s->arg);
		if (f->closing)
			break;
	}
	if (--f->handing == 0)
		feed_sweep(f);
}

/* ---- catching up ---- */

static void feed_catchup_later(struct feed *f, int ms)
{
	struct timeval tv = {0, ms * 1000};
	event_add(f->catchup_kick, &tv);
}

static const char *feed_least_behind(const struct feed *f)
{
	const char *least = NULL;
	for (size_t k = 0; k < f->n_subs; k++) {
		const struct feed_sub *s = f->subs[k];
		if (!s->gone && feed_behind(f, s) &&
		    (least == NULL || events_id_cmp(s->pos, least) < 0))
			least = s->pos;
	}
	return least;
}

static void feed_page_got(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct feed *f = arg;
	f->catchup_inflight = 0;
	if (f->closing)
		return;
	if (st != REDIS_DONE || reply->type == REDIS_REPLY_ERROR) {
		if (st == REDIS_DONE)
			log_warn("events", "catch-up page failed", "error=\"%s\"", reply->str);
		feed_catchup_later(f, FEED_RETRY_MS);
		return;
	}
	const char *least = feed_least_behind(f);
	if (least == NULL) {
		feed_catchup_later(f, 0);
		return;
	}
	char from[FEED_ID_MAX];
	str_copy(from, sizeof(from), least);
	size_t n = events_parse_reply(reply, &f->page, &f->page_cap);
	f->stats.catchup_pages++;
	if (n > 0) {
		feed_hand(f, from, f->page, n, 1);
	} else {
		/* Nothing after it is kept up to the live read (trimmed): it joins the live read.
		 */
		for (size_t k = 0; k < f->n_subs; k++)
			if (!f->subs[k]->gone && events_id_cmp(f->subs[k]->pos, from) == 0 &&
			    feed_behind(f, f->subs[k]))
				str_copy(f->subs[k]->pos, sizeof(f->subs[k]->pos), f->live_from);
	}
	feed_catchup_later(f, 0);
}

/* Reads a page for the consumers behind, or closes the link when none is. */
static void feed_catchup(evutil_socket_t fd, short what, void *arg)
{
	struct feed *f = arg;
	if (f->closing || f->catchup_inflight)
		return;
	const char *least = feed_least_behind(f);
	if (least == NULL) {
		if (f->catchup) {
			redis_free(f->catchup);
			f->catchup = NULL;
		}
		return;
	}
	if (f->catchup == NULL)
		f->catchup = redis_new(f->base, f->url, f->via, f->timeout_ms, "events-catchup");
	if (!redis_ready(f->catchup)) {
		feed_catchup_later(f, FEED_RETRY_MS);
		return;
	}
	f->catchup_inflight = 1;
	const char *argv[] = {"XREAD", "COUNT", FEED_PAGE, "STREAMS", KEY_EVENTS, least};
	size_t lens[6];
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	redis_command(f->catchup, feed_page_got, f, 6, argv, lens, -1);
}

/* ---- the live read ---- */

static void feed_on_live(struct events_reader *rd, const struct events_entry *e, size_t n,
			 void *arg)
{
	struct feed *f = arg;
	char from[FEED_ID_MAX];
	str_copy(from, sizeof(from), f->live_from);
	str_copy(f->live_from, sizeof(f->live_from), events_reader_last_id(rd));
	f->stats.batches++;
	feed_hand(f, from, e, n, 0);
}

/* ---- the feed ---- */

struct feed *feed_new(struct event_base *base, const char *url, const struct redis_locator *via,
		      int timeout_ms)
{
	char host[256], pw[256];
	int port, db;
	const char *why;
	if (redis_url_parse(url, host, sizeof(host), &port, pw, sizeof(pw), &db, &why) < 0)
		return NULL;
	struct feed *f = xcalloc(1, sizeof(*f));
	f->base = base;
	f->url = xstrdup(url);
	f->timeout_ms = timeout_ms;
	f->via = via;
	f->catchup_kick = evtimer_new(base, feed_catchup, f);
	return f;
}

void feed_free(struct feed *f)
{
	if (f == NULL)
		return;
	f->closing = 1;
	events_reader_free(f->live);
	redis_free(f->catchup); /* a page out ends with REDIS_DOWN and sees closing */
	event_free(f->catchup_kick);
	for (size_t k = 0; k < f->n_subs; k++) {
		if (!f->subs[k]->gone)
			log_error("events", "a consumer outlives the feed", "position=%s",
				  f->subs[k]->pos);
		free(f->subs[k]);
	}
	free(f->subs);
	free(f->page);
	free(f->url);
	free(f);
}

struct feed_sub *feed_subscribe(struct feed *f, const char *after, feed_cb cb, void *arg)
{
	struct feed_sub *s = xcalloc(1, sizeof(*s));
	s->f = f;
	s->cb = cb;
	s->arg = arg;
	str_copy(s->pos, sizeof(s->pos), after);
	if (f->n_subs == f->cap_subs) {
		f->cap_subs = f->cap_subs ? f->cap_subs * 2 : 4;
		f->subs = xrealloc(f->subs, f->cap_subs * sizeof(*f->subs));
	}
	f->subs[f->n_subs++] = s;
	f->stats.consumers = f->n_subs;
	if (f->live == NULL) {
		f->live = events_reader_new(f->base, f->url, f->via, after, FEED_BLOCK_MS,
					    f->timeout_ms, feed_on_live, f);
		str_copy(f->live_from, sizeof(f->live_from), after);
		log_info("events", "reading cm:events", "after=%s", after);
	} else if (feed_behind(f, s)) {
		log_info("events", "consumer catching up", "after=%s live=%s", after, f->live_from);
		feed_catchup_later(f, 0);
	}
	return s;
}

void feed_unsubscribe(struct feed_sub *s)
{
	if (s == NULL)
		return;
	struct feed *f = s->f;
	s->gone = 1;
	if (f->handing == 0)
		feed_sweep(f);
}

const char *feed_sub_position(const struct feed_sub *s)
{
	return s->pos;
}

const struct feed_stats *feed_stats(const struct feed *f)
{
	return &f->stats;
}
