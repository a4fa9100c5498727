/*
 * snapshot — paged reads of the engine's hashes of open listings, shared
 * by the readers that ask at the same time (see snapshot.h).
 */
#include "server/store/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/materials.h"
#include "common/xalloc.h"
#include "server/load_arena.h"
#include "server/store/keys.h"

/* Hashes scanned at once: one page read by Redis while one is decoded. */
#define SNAPSHOT_LANES 2

/* One reader: each hash counts for it once scanned from its start while it was there. */
struct snapshot_sub {
	snapshot_row_cb row;
	snapshot_page_cb page; /* or whole pages, its own */
	snapshot_done_cb done;
	void *arg;
	uint32_t bit;
	size_t left;	      /* hashes not yet whole for it */
	unsigned char *whole; /* per hash */
	struct snapshot_sub *next;
};

struct snapshot {
	struct store *s;
	char count[16]; /* HSCAN COUNT */
	int in_flight;	/* lanes at work */
	int failed;
	size_t nhashes;	     /* 2 × materials_count() */
	unsigned char *busy; /* per hash: a lane is scanning it */
	uint32_t bits;	     /* readers' bits in use */
	int paged;	     /* a reader takes pages: no other may join */
	struct snapshot_sub *subs;
};

/* The run readers join while it lasts (one Redis link, one run). */
static struct snapshot *snapshot_current;

/* One hash being scanned, for the readers there when it started. */
struct snapshot_lane {
	struct snapshot *sn;
	char key[KEYS_MAX];
	const char *kind, *material;
	size_t hash;
	uint32_t for_bits;
};

static void snapshot_scan_next(struct snapshot *sn, struct snapshot_lane *lane);

static void snapshot_sub_end(struct snapshot *sn, struct snapshot_sub *u, int ok)
{
	struct snapshot_sub **pp = &sn->subs;
	while (*pp != u)
		pp = &(*pp)->next;
	*pp = u->next;
	sn->bits &= ~u->bit;
	snapshot_done_cb done = u->done;
	void *arg = u->arg;
	free(u->whole);
	free(u);
	done(arg, ok);
}

/* A lane stopped: once none is left every reader is done, and the run ends. */
static void snapshot_lane_end(struct snapshot *sn, struct snapshot_lane *lane)
{
	free(lane);
	if (--sn->in_flight > 0)
		return;
	if (snapshot_current == sn)
		snapshot_current = NULL;
	while (sn->subs)
		snapshot_sub_end(sn, sn->subs, 0);
	free(sn->busy);
	free(sn);
	load_arena_leave();
}

/* One entry of a hash: "REMAINING VERSION SEQ RECORD[\nSEARCH]"; -1 when unreadable. */
static int snapshot_entry(const struct snapshot_lane *lane, const redisReply *field,
			  redisReply *value, struct snapshot_row *row)
{
	if (field->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
		return -1;
	/* Three decimal numbers, each followed by a space (strtoll costs more). */
	char *p = value->str;
	int64_t v[3];
	for (int i = 0; i < 3; i++) {
		const char *start = p;
		v[i] = 0;
		for (; *p >= '0' && *p <= '9' && p - start < 18; p++)
			v[i] = v[i] * 10 + (*p - '0');
		if (p == start || *p != ' ')
			return -1;
		p++;
	}
	*row = (struct snapshot_row){.id = field->str,
				     .kind = lane->kind,
				     .material = lane->material,
				     .record = p,
				     .remaining = v[0],
				     .version = v[1],
				     .seq = v[2]};
	/* The reply is this run's: the record ends where the search part starts. */
	char *nl = memchr(p, '\n', value->len - (size_t)(p - value->str));
	if (nl) {
		*nl = '\0';
		row->search = nl + 1;
		row->search_len = value->len - (size_t)(row->search - value->str);
	}
	return 0;
}

void snapshot_page_free(struct snapshot_page *page)
{
	if (page == NULL)
		return;
	freeReplyObject(page->reply);
	free(page->rows);
	free(page);
}

/*
 * A page's rows go to each reader the hash is not whole for yet: row by row,
 * or the whole page to the one reader that takes pages (the entries' array
 * is taken out of the reply, which hiredis frees without it).
 */
static void snapshot_page_rows(struct snapshot *sn, const struct snapshot_lane *lane,
			       redisReply *reply)
{
	redisReply *kv = reply->element[1];
	struct snapshot_page *page = xcalloc(1, sizeof(*page));
	page->rows = xmalloc((kv->elements / 2 + 1) * sizeof(*page->rows));
	for (size_t i = 0; i + 1 < kv->elements; i += 2)
		if (snapshot_entry(lane, kv->element[i], kv->element[i + 1],
				   &page->rows[page->n]) == 0)
			page->n++;
	struct snapshot_sub *taker = NULL;
	for (struct snapshot_sub *u = sn->subs; u; u = u->next) {
		if (u->whole[lane->hash])
			continue;
		if (u->page)
			taker = u;
		else
			for (size_t i = 0; i < page->n; i++)
				u->row(u->arg, &page->rows[i]);
	}
	if (taker) {
		page->reply = kv;
		reply->element[1] = NULL;
		taker->page(taker->arg, page);
	} else {
		snapshot_page_free(page);
	}
}

static void snapshot_scanned(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot_lane *lane = arg;
	struct snapshot *sn = lane->sn;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		sn->failed = 1;
		if (snapshot_current == sn)
			snapshot_current = NULL; /* readers who come now start another */
		snapshot_lane_end(sn, lane);
		return;
	}
	if (!sn->failed)
		snapshot_page_rows(sn, lane, reply);
	const char *cursor = reply->element[0]->str;
	if (sn->failed) {
		snapshot_lane_end(sn, lane);
	} else if (strcmp(cursor, "0") != 0) {
		/* The call stays in flight: this lane goes on with the same hash. */
		redis_commandv(r, snapshot_scanned, lane, STORE_LOAD_DEADLINE, 5, "HSCAN",
			       lane->key, cursor, "COUNT", sn->count);
	} else {
		/* whole for the readers there since it started; those with nothing left are done */
		sn->busy[lane->hash] = 0;
		struct snapshot_sub *u = sn->subs;
		while (u) {
			struct snapshot_sub *next = u->next;
			if ((lane->for_bits & u->bit) && !u->whole[lane->hash]) {
				u->whole[lane->hash] = 1;
				if (--u->left == 0)
					snapshot_sub_end(sn, u, 1);
			}
			u = next;
		}
		snapshot_scan_next(sn, lane);
	}
}

/* Starts the lane on the next hash a reader still needs and no lane scans, or ends it. */
static void snapshot_scan_next(struct snapshot *sn, struct snapshot_lane *lane)
{
	size_t i = sn->nhashes;
	if (!sn->failed)
		for (size_t h = 0; h < sn->nhashes && i == sn->nhashes; h++) {
			if (sn->busy[h])
				continue;
			for (struct snapshot_sub *u = sn->subs; u; u = u->next)
				if (!u->whole[h]) {
					i = h;
					break;
				}
		}
	if (i == sn->nhashes) {
		snapshot_lane_end(sn, lane);
		return;
	}
	sn->busy[i] = 1;
	lane->hash = i;
	lane->for_bits = sn->bits;
	const char *code = materials_at(i / 2)->code;
	lane->material = code;
	lane->kind = i % 2 == 0 ? "need" : "offer";
	if (i % 2 == 0)
		keys_eng(lane->key, "need", code);
	else
		keys_eng(lane->key, "offer", code);
	redis_commandv(sn->s->link, snapshot_scanned, lane, STORE_LOAD_DEADLINE, 5, "HSCAN",
		       lane->key, "0", "COUNT", sn->count);
}

static void snapshot_join(struct store *s, int page, snapshot_row_cb row, snapshot_page_cb pages,
			  snapshot_done_cb done, void *arg)
{
	struct snapshot *sn = snapshot_current;
	if (sn && (sn->s != s || sn->failed || sn->bits == UINT32_MAX || (pages && sn->paged)))
		sn = NULL;
	if (sn == NULL) {
		/* the run's replies, and what its readers keep of them, in huge pages */
		load_arena_enter();
		sn = xcalloc(1, sizeof(*sn));
		sn->s = s;
		sn->nhashes = 2 * materials_count();
		sn->busy = xcalloc(sn->nhashes, 1);
		snprintf(sn->count, sizeof(sn->count), "%d", page);
		snapshot_current = sn;
	}
	struct snapshot_sub *u = xcalloc(1, sizeof(*u));
	u->row = row;
	u->page = pages;
	if (pages)
		sn->paged = 1;
	u->done = done;
	u->arg = arg;
	u->left = sn->nhashes;
	u->whole = xcalloc(sn->nhashes, 1);
	for (u->bit = 1; sn->bits & u->bit; u->bit <<= 1)
		;
	sn->bits |= u->bit;
	u->next = sn->subs;
	sn->subs = u;
	/* lanes to spare: put them to work (a new reader needs every hash); all are
	 * counted before any starts, so the run cannot end (and be freed) meanwhile */
	struct snapshot_lane *lanes[SNAPSHOT_LANES];
	int start = 0;
	while (sn->in_flight < SNAPSHOT_LANES) {
		lanes[start] = xcalloc(1, sizeof(*lanes[start]));
		lanes[start++]->sn = sn;
		sn->in_flight++;
	}
	for (int i = 0; i < start; i++)
		snapshot_scan_next(sn, lanes[i]);
}

void snapshot_run(struct store *s, int page, snapshot_row_cb row, snapshot_done_cb done, void *arg)
{
	snapshot_join(s, page, row, NULL, done, arg);
}

void snapshot_run_pages(struct store *s, int page, snapshot_page_cb pages, snapshot_done_cb done,
			void *arg)
{
	snapshot_join(s, page, NULL, pages, done, arg);
}
