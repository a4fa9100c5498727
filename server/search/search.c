/*
 * search — the marketplace search from memory (see search.h).
 */
#include "server/search/search.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digits.h"
#include "common/ids.h"
#include "common/jsonout.h"
#include "common/listing.h"
#include "common/strcopy.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/store/feed.h"
#include "server/store/search_load.h"
#include "server/store/sentinel.h"
#include "server/store/store.h"

/* Listings per page of the load (HSCAN COUNT; ids per ZRANGE of those read one by one). */
#define SEARCH_LOAD_PAGE 2000
#define SEARCH_WRITES_PRUNE 4096 /* accounts remembered before the applied ones are dropped */

/* A cm:events id, "MS-SEQ". */
struct search_sid {
	uint64_t ms, seq;
};

static struct search_sid search_sid_parse(const char *id)
{
	struct search_sid s = {0, 0};
	unsigned long long ms, seq;
	if (id == NULL)
		return s;
	events_id_split(id, &ms, &seq);
	s.ms = ms;
	s.seq = seq;
	return s;
}

static int search_sid_le(struct search_sid a, struct search_sid b)
{
	return a.ms < b.ms || (a.ms == b.ms && a.seq <= b.seq);
}

/* An account's last write, by account id (open addressing). */
struct search_write {
	char account[IDS_MAX];
	struct search_sid at;
};

struct search_waiter {
	struct search *s;
	struct search_sid at;
	search_wait_cb cb;
	void *arg;
	struct event *timer;
	struct search_waiter *prev, *next;
};

struct search {
	struct app *app;
	struct sindex *ix;
	struct event *tick;
	struct feed_sub *feed; /* on the process's one cm:events reader, once loaded */
	int started, loading, stopping;
	int sorted;		/* the load's thread put the index in order (search_load_finish) */
	uint64_t primary_epoch; /* --sentinels: the primary the index was loaded from */
	struct search_sid applied, upto;
	uint64_t load_started_ns;
	struct search_write *writes;
	size_t nwrites, cap_writes;
	struct search_waiter *waiters;
	struct search_stats stats;
};

/* ---- accounts' last writes ---- */

static struct search_write *search_write_slot(struct search_write *t, size_t cap, const char *a)
{
	size_t i = ids_hash(a) & (cap - 1);
	while (t[i].account[0] && strcmp(t[i].account, a) != 0)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

/* Rebuilds the table with the writes not applied yet, room for twice as many. */
static void search_writes_rebuild(struct search *s)
{
	struct search_write *old = s->writes;
	size_t n = s->cap_writes, keep = 0;
	for (size_t i = 0; i < n; i++)
		if (old[i].account[0] && !search_sid_le(old[i].at, s->applied))
			keep++;
	s->cap_writes = 64;
	while (s->cap_writes < 4 * (keep + 1))
		s->cap_writes *= 2;
	s->writes = xcalloc(s->cap_writes, sizeof(*s->writes));
	s->nwrites = 0;
	for (size_t i = 0; i < n; i++)
		if (old[i].account[0] && !search_sid_le(old[i].at, s->applied)) {
			*search_write_slot(s->writes, s->cap_writes, old[i].account) = old[i];
			s->nwrites++;
		}
	free(old);
}

void search_note_write(struct search *s, const char *account, const char *event_id)
{
	if (s == NULL || account == NULL || event_id == NULL || *event_id == '\0' ||
	    strlen(account) >= IDS_MAX)
		return;
	if ((s->nwrites + 1) * 2 > s->cap_writes)
		search_writes_rebuild(s);
	struct search_write *w = search_write_slot(s->writes, s->cap_writes, account);
	struct search_sid at = search_sid_parse(event_id);
	if (w->account[0] == '\0') {
		str_copy(w->account, sizeof(w->account), account);
		s->nwrites++;
		w->at = at;
	} else if (!search_sid_le(at, w->at)) {
		w->at = at;
	}
}

/* ---- waiting for the index ---- */

static void search_waiter_end(struct search_waiter *w, int ok)
{
	struct search *s = w->s;
	if (w->prev)
		w->prev->next = w->next;
	else
		s->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	event_free(w->timer);
	if (!ok)
		s->stats.wait_timeouts++;
	search_wait_cb cb = w->cb;
	void *arg = w->arg;
	free(w);
	cb(arg, ok);
}

static void search_waiter_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	search_waiter_end(arg, 0);
}

void search_after_writes(struct search *s, const char *account, search_wait_cb cb, void *arg)
{
	struct search_write *w = NULL;
	if (account && s->writes && strlen(account) < IDS_MAX) {
		w = search_write_slot(s->writes, s->cap_writes, account);
		if (w->account[0] == '\0')
			w = NULL;
	}
	if (w == NULL || search_sid_le(w->at, s->applied)) {
		cb(arg, 1);
		return;
	}
	s->stats.waits++;
	struct search_waiter *x = xcalloc(1, sizeof(*x));
	x->s = s;
	x->at = w->at;
	x->cb = cb;
	x->arg = arg;
	x->timer = evtimer_new(s->app->base, search_waiter_timeout, x);
	struct timeval tv = {SEARCH_WAIT_MS / 1000, (SEARCH_WAIT_MS % 1000) * 1000};
	evtimer_add(x->timer, &tv);
	x->next = s->waiters;
	if (s->waiters)
		s->waiters->prev = x;
	s->waiters = x;
}

/* The waiters whose write the index has now applied go on. */
static void search_wake(struct search *s)
{
	struct search_waiter *w = s->waiters;
	while (w) {
		struct search_waiter *next = w->next;
		if (search_sid_le(w->at, s->applied))
			search_waiter_end(w, 1);
		w = next;
	}
}

/* ---- the feed ---- */

static int64_t search_int(const struct events_entry *x, const char *name)
{
	return digits_strtoll(events_field(x, name));
}

static void search_listing_event(struct search *s, const struct events_entry *x)
{
	const char *id = events_field(x, "listing");
	if (strcmp(events_field(x, "status"), "open") != 0 ||
	    (strcmp(x->type, "listing.created") != 0 && strcmp(x->type, "listing.updated") != 0)) {
		sindex_remove(s->ix, id);
		return;
	}
	const char *doc = events_field(x, "_doc");
	if (*doc == '\0') {
		/* appended by a library that did not carry the document: keep what is known */
		struct sindex_item *it = sindex_get(s->ix, id);
		if (it) {
			it->version = search_int(x, "version");
			sindex_set_remaining(s->ix, id, search_int(x, "remaining"));
		}
		return;
	}
	struct sindex_listing l = {
	    .id = id,
	    .kind = events_field(x, "kind"),
	    .material = events_field(x, "material"),
	    .province = events_field(x, "province"),
	    .forum = events_field(x, "forum"),
	    .owner_name = events_field(x, "_name"),
	    .doc = doc,
	    .fold = events_field(x, "_fold"),
	    .seq = search_int(x, "_seq"),
	    .version = search_int(x, "version"),
	    .remaining = search_int(x, "remaining"),
	    .created_at = search_int(x, "_created"),
	    .updated_at = search_int(x, "_at"),
	};
	sindex_put(s->ix, &l);
}

static void search_remaining(struct search *s, const struct events_entry *x, const char *side,
			     const char *field)
{
	const char *v = events_field(x, field);
	if (*v)
		sindex_set_remaining(s->ix, events_field(x, side), digits_strtoll(v));
}

void search_on_events(struct search *s, const struct events_entry *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct events_entry *x = &ev[i];
		if (strncmp(x->type, "listing.", 8) == 0) {
			search_listing_event(s, x);
		} else if (strncmp(x->type, "match.", 6) == 0) {
			search_remaining(s, x, "need", "need_remaining");
			search_remaining(s, x, "offer", "offer_remaining");
		}
	}
	s->stats.events += n;
	if (n > 0)
		s->applied = search_sid_parse(ev[n - 1].id);
	if (!s->stats.ready && s->feed && search_sid_le(s->upto, s->applied)) {
		s->stats.ready = 1;
		s->stats.load_seconds = (double)(clock_mono_ns() - s->load_started_ns) / 1e9;
		log_info("search", "index ready", "listings=%zu seconds=%.3f", sindex_size(s->ix),
			 s->stats.load_seconds);
	}
	if (s->nwrites > SEARCH_WRITES_PRUNE && s->nwrites * 4 > s->cap_writes)
		search_writes_rebuild(s);
	search_wake(s);
}

static void search_feed_batch(const struct events_entry *ev, size_t n, void *arg)
{
	search_on_events(arg, ev, n);
}

/* ---- loading ---- */

/* On the loader's thread while the scan lasts: the index is the load's alone until its end. */
static void search_load_row(void *arg, const struct search_load_row *row)
{
	struct search *s = arg;
	if (s->sorted) {
		/* a listing read by id, after the scan's rows were put in order: appended
		 * again in any order, and everything put in order once more at the end */
		sindex_load(s->ix, 1);
		s->sorted = 0;
	}
	struct sindex_listing l = {
	    .id = row->id,
	    .kind = row->kind,
	    .material = row->material,
	    .province = row->province,
	    .forum = row->forum,
	    .owner_name = row->owner_name,
	    .doc = row->doc,
	    .fold = row->fold,
	    .sized = row->sized,
	    .forum_len = row->forum_len,
	    .owner_name_len = row->owner_name_len,
	    .doc_len = row->doc_len,
	    .fold_len = row->fold_len,
	    .seq = row->seq,
	    .version = row->version,
	    .remaining = row->remaining,
	    .created_at = row->created_at,
	    .updated_at = row->updated_at,
	};
	sindex_put(s->ix, &l);
}

/* On the loader's thread, after the scan's last row (have may read the table meanwhile). */
static void search_load_finish(void *arg)
{
	struct search *s = arg;
	sindex_load(s->ix, 0);
	s->sorted = 1;
}

static int search_load_have(void *arg, const char *id)
{
	struct search *s = arg;
	return s->stopping || sindex_get(s->ix, id) != NULL;
}

static void search_load_done(void *arg, int ok, const char *from, const char *upto)
{
	struct search *s = arg;
	s->loading = 0;
	if (s->stopping) {
		sindex_free(s->ix);
		free(s);
		return;
	}
	sindex_load(s->ix, 0);
	if (!ok) {
		log_warn("search", "loading the index failed, retrying", "%s", "");
		s->started = 0; /* the tick starts over */
		return;
	}
	s->applied = search_sid_parse(from);
	s->upto = search_sid_parse(upto);
	log_info("search", "index loaded", "listings=%zu feed_from=%s", sindex_size(s->ix), from);
	s->feed = feed_subscribe(s->app->feed, from, search_feed_batch, s);
	/* nothing appended meanwhile: current already */
	search_on_events(s, NULL, 0);
}

static void search_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct search *s = arg;
	struct sentinel *sn = s->app->sentinel;
	if (sn && s->started && !s->loading && sentinel_epoch(sn) != s->primary_epoch) {
		/* A new primary may lack listings this index holds (local durability), or
		 * hold ones it never saw: load it again from there. */
		log_warn("search", "the Redis primary changed: loading the index again", "%s", "");
		feed_unsubscribe(s->feed);
		s->feed = NULL;
		s->started = 0;
		s->stats.ready = 0; /* searches answer 503 until it is loaded and current */
	}
	if (s->started || !store_ready(s->app->store))
		return;
	s->started = 1;
	s->primary_epoch = sn ? sentinel_epoch(sn) : 0;
	s->loading = 1;
	sindex_free(s->ix);
	s->ix = sindex_new();
	sindex_load(s->ix, 1);
	s->load_started_ns = clock_mono_ns();
	s->sorted = 0;
	search_load_run(s->app->store, SEARCH_LOAD_PAGE, search_load_row, search_load_have,
			search_load_finish, search_load_done, s);
}

struct search *search_start(struct app *app)
{
	struct search *s = xcalloc(1, sizeof(*s));
	s->app = app;
	s->ix = sindex_new();
	s->tick = event_new(app->base, -1, EV_PERSIST, search_tick, s);
	struct timeval every = {0, 100000};
	event_add(s->tick, &every);
	search_tick(-1, 0, s);
	return s;
}

void search_stop(struct search *s)
{
	if (s == NULL)
		return;
	s->stopping = 1;
	while (s->waiters)
		search_waiter_end(s->waiters, 0);
	event_free(s->tick);
	feed_unsubscribe(s->feed);
	free(s->writes);
	s->writes = NULL;
	/* a load in flight ends (REDIS_DOWN) when the store is freed, and frees the index and s */
	if (!s->loading) {
		sindex_free(s->ix);
		free(s);
	}
}

int search_ready(const struct search *s)
{
	return s && s->stats.ready;
}

const struct search_stats *search_stats(struct search *s)
{
	/* while loading, the index is the loader's thread's: the last figures stand */
	if (!s->loading) {
		s->stats.listings = sindex_size(s->ix);
		s->stats.bytes = sindex_bytes(s->ix);
	}
	return &s->stats;
}

/* ---- answering ---- */

/* The item's API view, made once until the listing next changes. */
static int search_view(struct search *s, struct sindex_item *it)
{
	if (it->view)
		return 0;
	json_t *doc = json_loads(it->doc, 0, NULL);
	if (doc == NULL)
		return -1;
	json_t *view = listing_api_view(doc, "open", it->remaining, it->version, it->owner_name,
					it->created_at, it->updated_at);
	size_t len;
	char *text = jsonout_dumps(view, JSON_REAL_PRECISION(15), &len);
	json_decref(view);
	if (text == NULL)
		return -1;
	sindex_set_view(s->ix, it, text, len);
	return 0;
}

void search_page(struct search *s, const struct sindex_query *q, struct evbuffer *out)
{
	struct sindex_item *items[128];
	struct sindex_query qq = *q;
	if (qq.limit > (int)(sizeof(items) / sizeof(items[0])))
		qq.limit = (int)(sizeof(items) / sizeof(items[0]));
	int64_t next;
	size_t n = sindex_find(s->ix, &qq, items, &next);
	s->stats.searches++;
	evbuffer_add(out, "{\"items\":[", 10);
	int first = 1;
	for (size_t i = 0; i < n; i++) {
		if (search_view(s, items[i]) < 0)
			continue; /* an unreadable document: left out, as the Redis search does */
		if (!first)
			evbuffer_add(out, ",", 1);
		first = 0;
		evbuffer_add(out, items[i]->view, items[i]->view_len);
	}
	if (next > 0)
		evbuffer_add_printf(out, "],\"next_cursor\":\"%" PRId64 "\"}\n", next);
	else
		evbuffer_add(out, "],\"next_cursor\":null}\n", 22);
}
