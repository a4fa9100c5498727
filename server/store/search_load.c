/*
 * search_load — paged reads of the open listings for a search index (see
 * search_load.h).
 */
#include "server/store/search_load.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/xalloc.h"
#include "server/load_arena.h"
#include "server/store/keys.h"
#include "server/store/snapshot.h"

#define SEARCH_LOAD_ID_MAX 48 /* a stream id: two 20-digit numbers and '-' */

/* Scanned pages waiting for the loader's thread; the loop waits when it is this far behind. */
#define SEARCH_LOAD_QUEUE 8

/*
 * The scan's pages go to a thread of their own, which decodes each entry's
 * search part and hands it to row, while the event loop decodes the next
 * reply and feeds the engine. The thread is the only one to call row until
 * it is joined, when the scan ends; everything after (the reads by id, done)
 * runs on the loop.
 */
struct search_load_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a page came, room was made, or the end */
	struct snapshot_page *q[SEARCH_LOAD_QUEUE];
	size_t head, len;
	int closing;
	int drained; /* every page put: have may read the index (finish runs on) */
};

/* What each listing's HMGET asks for, in this order. */
static const char *const search_load_fields[] = {
    "status", "kind", "material",   "province",	  "forum",	"remaining", "version",
    "doc",    "fold", "owner_name", "created_at", "updated_at", "seq"};
#define SEARCH_LOAD_NFIELDS (sizeof(search_load_fields) / sizeof(search_load_fields[0]))

struct search_load {
	struct store *s;
	search_load_row_cb row;
	search_load_have_cb have;
	search_load_finish_cb finish;
	search_load_done_cb done;
	void *arg;
	char from[SEARCH_LOAD_ID_MAX];
	int in_flight; /* commands sent and not answered */
	int failed;
	int paged;    /* the last page of ids came */
	int finished; /* the closing XREVRANGE answered: l->upto */
	char upto[SEARCH_LOAD_ID_MAX];
	int page;
	struct search_load_worker *worker; /* while the scan lasts */
};

static void search_load_page(struct search_load *l);
static void search_load_join(struct search_load *l);
static void search_load_drained(struct search_load *l);
static void search_load_scan(struct search_load *l);

static int64_t search_load_int(const redisReply *v)
{
	return v->type == REDIS_REPLY_STRING ? strtoll(v->str, NULL, 10) : 0;
}

static const char *search_load_str(const redisReply *v)
{
	return v->type == REDIS_REPLY_STRING ? v->str : "";
}

/* A reply came back: after the last one the load ends. */
static void search_load_returned(struct search_load *l)
{
	if (--l->in_flight > 0)
		return;
	if (l->failed || l->finished) {
		search_load_join(l);
		l->done(l->arg, !l->failed, l->from, l->upto);
		free(l);
	}
}

#define SEARCH_LOAD_DEADLINE STORE_LOAD_DEADLINE

static void search_load_send(struct search_load *l, redis_cb cb, int argc, const char **argv)
{
	l->in_flight++;
	redis_command(l->s->link, cb, l, argc, argv, NULL, SEARCH_LOAD_DEADLINE);
}

/* The last event id: the first one taken before any read, the last after them all. */
static void search_load_tail(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	(void)r;
	struct search_load *l = arg;
	char id[SEARCH_LOAD_ID_MAX] = "0-0";
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY) {
		l->failed = 1;
	} else if (reply->elements > 0) {
		const redisReply *e = reply->element[0];
		if (e->type == REDIS_REPLY_ARRAY && e->elements > 0 &&
		    e->element[0]->type == REDIS_REPLY_STRING && e->element[0]->len < sizeof(id))
			snprintf(id, sizeof(id), "%s", e->element[0]->str);
		else
			l->failed = 1;
	}
	if (!l->paged) {
		snprintf(l->from, sizeof(l->from), "%s", id);
		if (!l->failed)
			search_load_scan(l);
	} else {
		snprintf(l->upto, sizeof(l->upto), "%s", id);
		l->finished = 1;
	}
	search_load_returned(l);
}

static void search_load_send_tail(struct search_load *l)
{
	const char *argv[] = {"XREVRANGE", KEY_EVENTS, "+", "-", "COUNT", "1"};
	search_load_send(l, search_load_tail, 6, argv);
}

/* One listing's HMGET in flight. */
struct search_load_one {
	struct search_load *l;
	char id[IDS_MAX];
};

static void search_load_listing(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	(void)r;
	struct search_load_one *one = arg;
	struct search_load *l = one->l;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != SEARCH_LOAD_NFIELDS) {
		l->failed = 1;
	} else if (!l->failed && reply->element[0]->type == REDIS_REPLY_STRING &&
		   strcmp(reply->element[0]->str, "open") == 0) {
		redisReply *const *f = reply->element;
		struct search_load_row row = {
		    .id = one->id,
		    .kind = search_load_str(f[1]),
		    .material = search_load_str(f[2]),
		    .province = search_load_str(f[3]),
		    .forum = search_load_str(f[4]),
		    .remaining = search_load_int(f[5]),
		    .version = search_load_int(f[6]),
		    .doc = search_load_str(f[7]),
		    .fold = search_load_str(f[8]),
		    .owner_name = search_load_str(f[9]),
		    .created_at = search_load_int(f[10]),
		    .updated_at = search_load_int(f[11]),
		    .seq = search_load_int(f[12]),
		};
		l->row(l->arg, &row);
	}
	free(one);
	search_load_returned(l);
}

/* The open listing ids of one range of seqs: those the index lacks are read by id. */
static void search_load_ids(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	(void)r;
	struct search_load *l = arg;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY) {
		l->failed = 1;
		search_load_returned(l);
		return;
	}
	const char *argv[2 + SEARCH_LOAD_NFIELDS];
	char key[KEYS_MAX];
	argv[0] = "HMGET";
	for (size_t i = 0; i < SEARCH_LOAD_NFIELDS; i++)
		argv[2 + i] = search_load_fields[i];
	search_load_drained(l);
	for (size_t i = 0; !l->failed && i < reply->elements; i++) {
		const redisReply *id = reply->element[i];
		if (id->type != REDIS_REPLY_STRING || id->len >= IDS_MAX ||
		    l->have(l->arg, id->str))
			continue;
		search_load_join(l); /* its rows are put on the loop */
		struct search_load_one *one = xmalloc(sizeof(*one));
		one->l = l;
		memcpy(one->id, id->str, id->len + 1);
		argv[1] = keys_listing(key, id->str);
		l->in_flight++;
		redis_command(l->s->link, search_load_listing, one, 2 + (int)SEARCH_LOAD_NFIELDS,
			      argv, NULL, SEARCH_LOAD_DEADLINE);
	}
	search_load_returned(l);
}

/*
 * The highest seq of an open listing: every range of page seqs up to it is
 * asked for at once (pipelined; a range holds at most page listings), then
 * the last event id. A listing posted since has a seq above it, and its
 * event comes after the id taken first.
 */
static void search_load_top(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	(void)r;
	struct search_load *l = arg;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY ||
	    (reply->elements != 0 && reply->elements != 2)) {
		l->failed = 1;
		search_load_returned(l);
		return;
	}
	int64_t top = reply->elements == 2 ? search_load_int(reply->element[1]) : 0;
	for (int64_t lo = 1; !l->failed && lo <= top; lo += l->page) {
		char a[24], b[24];
		snprintf(a, sizeof(a), "%lld", (long long)lo);
		snprintf(b, sizeof(b), "%lld", (long long)(lo + l->page - 1));
		const char *argv[] = {"ZRANGE", KEY_LISTINGS_OPEN, a, b, "BYSCORE"};
		search_load_send(l, search_load_ids, 5, argv);
	}
	if (!l->failed) {
		l->paged = 1;
		search_load_send_tail(l);
	}
	search_load_returned(l);
}

static void search_load_page(struct search_load *l)
{
	const char *argv[] = {"ZRANGE", KEY_LISTINGS_OPEN, "+inf", "-inf", "BYSCORE",
			      "REV",	"LIMIT",	   "0",	   "1",	   "WITHSCORES"};
	search_load_send(l, search_load_top, 10, argv);
}

/* A decimal number followed by a space. */
static int search_load_number(const char **pp, const char *end, int64_t *out)
{
	const char *p = *pp, *start = p;
	int64_t v = 0;
	for (; p < end && *p >= '0' && *p <= '9' && p - start < 18; p++)
		v = v * 10 + (*p - '0');
	if (p == start || p >= end || *p != ' ')
		return -1;
	*out = v;
	*pp = p + 1;
	return 0;
}

/*
 * One engine entry: its search part "s1 CREATED UPDATED PL FL NL XL " then
 * province, forum, owner name and folded text of those byte lengths, then
 * the document (store/lua, eng_put). An entry without one (written by an
 * older library) or unreadable is left to the reads by id.
 */
static void search_load_scanned_row(void *arg, const struct snapshot_row *r)
{
	struct search_load *l = arg;
	if (l->failed || r->search == NULL)
		return;
	const char *p = r->search, *end = r->search + r->search_len;
	int64_t v[6]; /* created, updated, then the four lengths */
	if (end - p < 3 || memcmp(p, "s1 ", 3) != 0)
		return;
	p += 3;
	for (int i = 0; i < 6; i++)
		if (search_load_number(&p, end, &v[i]) < 0)
			return;
	size_t lens[5] = {(size_t)v[2], (size_t)v[3], (size_t)v[4], (size_t)v[5], 0};
	size_t strings = lens[0] + lens[1] + lens[2] + lens[3];
	if (strings > (size_t)(end - p))
		return;
	lens[4] = (size_t)(end - p) - strings;
	/* read in place (the index copies them once); the province code, short,
	 * is the one string looked up as such */
	char province[32];
	if (lens[0] >= sizeof(province))
		return; /* not a code: left to the reads by id */
	memcpy(province, p, lens[0]);
	province[lens[0]] = '\0';
	const char *str[5];
	for (int i = 0; i < 5; i++) {
		str[i] = p;
		p += lens[i];
	}
	struct search_load_row row = {
	    .id = r->id,
	    .kind = r->kind,
	    .material = r->material,
	    .province = province,
	    .forum = str[1],
	    .owner_name = str[2],
	    .fold = str[3],
	    .doc = str[4],
	    .sized = 1,
	    .forum_len = lens[1],
	    .owner_name_len = lens[2],
	    .fold_len = lens[3],
	    .doc_len = lens[4],
	    .remaining = r->remaining,
	    .version = r->version,
	    .seq = r->seq,
	    .created_at = v[0],
	    .updated_at = v[1],
	};
	l->row(l->arg, &row);
}

static void *search_load_work(void *arg)
{
	struct search_load *l = arg;
	struct search_load_worker *w = l->worker;
	load_arena_enter(); /* the index it builds: until the thread ends */
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->len == 0 && !w->closing)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->len == 0) {
			w->drained = 1;
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
			l->finish(l->arg);
			return NULL;
		}
		struct snapshot_page *page = w->q[w->head];
		w->head = (w->head + 1) % SEARCH_LOAD_QUEUE;
		w->len--;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		for (size_t i = 0; i < page->n; i++)
			search_load_scanned_row(l, &page->rows[i]);
		snapshot_page_free(page);
	}
}

/* A scanned page, for the thread (started at the first); the loop waits while the queue is full. */
static void search_load_scanned_page(void *arg, struct snapshot_page *page)
{
	struct search_load *l = arg;
	struct search_load_worker *w = l->worker;
	if (w == NULL) {
		w = l->worker = xcalloc(1, sizeof(*w));
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		if (pthread_create(&w->thread, NULL, search_load_work, l) != 0) {
			/* no thread: this page and the next ones on the loop */
			pthread_cond_destroy(&w->cv);
			pthread_mutex_destroy(&w->mu);
			free(w);
			l->worker = NULL;
			for (size_t i = 0; i < page->n; i++)
				search_load_scanned_row(l, &page->rows[i]);
			snapshot_page_free(page);
			return;
		}
	}
	pthread_mutex_lock(&w->mu);
	while (w->len == SEARCH_LOAD_QUEUE)
		pthread_cond_wait(&w->cv, &w->mu);
	w->q[(w->head + w->len) % SEARCH_LOAD_QUEUE] = page;
	w->len++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* The scan is over: the thread puts its last pages, then runs finish. */
static void search_load_close(struct search_load *l)
{
	struct search_load_worker *w = l->worker;
	if (w == NULL) {
		l->finish(l->arg); /* no page came, or no thread: the rows ran here */
		return;
	}
	pthread_mutex_lock(&w->mu);
	w->closing = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Waits until the thread has put every page (have may then read the index). */
static void search_load_drained(struct search_load *l)
{
	struct search_load_worker *w = l->worker;
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	while (!w->drained)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/* The thread's end: finish has returned (from here on, the loop alone). */
static void search_load_join(struct search_load *l)
{
	struct search_load_worker *w = l->worker;
	if (w == NULL)
		return;
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
	l->worker = NULL;
}

/* The scan is over: the open listings it did not give are read by id. */
static void search_load_scan_done(void *arg, int ok)
{
	struct search_load *l = arg;
	search_load_close(l);
	if (!ok)
		l->failed = 1;
	else if (!l->failed)
		search_load_page(l);
	search_load_returned(l);
}

static void search_load_scan(struct search_load *l)
{
	l->in_flight++;
	snapshot_run_pages(l->s, l->page, search_load_scanned_page, search_load_scan_done, l);
}

void search_load_run(struct store *s, int page, search_load_row_cb row, search_load_have_cb have,
		     search_load_finish_cb finish, search_load_done_cb done, void *arg)
{
	struct search_load *l = xcalloc(1, sizeof(*l));
	l->s = s;
	l->row = row;
	l->have = have;
	l->finish = finish;
	l->done = done;
	l->arg = arg;
	l->page = page;
	search_load_send_tail(l);
}
