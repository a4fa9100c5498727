/*
 * snapshot — pipelined reads of open listings (see snapshot.h).
 */
#include "server/store/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/xalloc.h"
#include "server/store/keys.h"

#define SNAPSHOT_PAGES_IN_FLIGHT 2

struct snapshot {
	struct store *s;
	snapshot_row_cb row;
	snapshot_done_cb done;
	void *arg;
	int page;	  /* ids asked for per page */
	int in_flight;	  /* pages whose ids or fields are still awaited */
	int failed;
	int ended;	  /* a page came back short: no more pages */
	int cursor_ready; /* cursor holds the next page's start, not asked for yet */
	char cursor[32];  /* seq of the last id seen */
};

struct snapshot_item {
	struct snapshot *sn;
	size_t *waiting; /* the page's count of replies to come */
	char id[IDS_MAX];
	int64_t seq;
};

static void snapshot_ask(struct snapshot *sn);

static int64_t snapshot_int(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

/* A page is finished: ask for more, or end the run when nothing is left. */
static void snapshot_page_done(struct snapshot *sn)
{
	sn->in_flight--;
	if (!sn->failed && !sn->ended && sn->cursor_ready)
		snapshot_ask(sn);
	if (sn->in_flight == 0) {
		sn->done(sn->arg, !sn->failed);
		free(sn);
	}
}

static void snapshot_item_done(struct snapshot_item *it)
{
	struct snapshot *sn = it->sn;
	size_t *waiting = it->waiting;
	free(it);
	if (--*waiting == 0) {
		free(waiting);
		snapshot_page_done(sn);
	}
}

static void snapshot_doc(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot_item *it = arg;
	struct snapshot *sn = it->sn;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
		sn->failed = 1;
	else if (reply->element[0]->type == REDIS_REPLY_STRING && !sn->failed)
		sn->row(sn->arg, it->id, reply->element[0]->str, snapshot_int(reply->element[1]),
			snapshot_int(reply->element[2]), it->seq);
	snapshot_item_done(it);
}

/* One listing's fields: eng, remaining, version, status. */
static void snapshot_fields(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot_item *it = arg;
	struct snapshot *sn = it->sn;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
		sn->failed = 1;
	} else if (!sn->failed && reply->element[3]->type == REDIS_REPLY_STRING &&
		   strcmp(reply->element[3]->str, "open") == 0) {
		const redisReply *eng = reply->element[0];
		if (eng->type != REDIS_REPLY_STRING || eng->len == 0) {
			/* Written before engine records existed: read the document. */
			char key[KEYS_MAX];
			keys_listing(key, it->id);
			redis_commandv(r, snapshot_doc, it, -1, 5, "HMGET", key, "doc", "remaining",
				       "version");
			return;
		}
		sn->row(sn->arg, it->id, eng->str, snapshot_int(reply->element[1]),
			snapshot_int(reply->element[2]), it->seq);
	}
	snapshot_item_done(it);
}

static void snapshot_ids(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot *sn = arg;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY) {
		sn->failed = 1;
		snapshot_page_done(sn);
		return;
	}
	size_t n = reply->elements / 2;
	if (n < (size_t)sn->page)
		sn->ended = 1;
	if (n == 0) {
		snapshot_page_done(sn);
		return;
	}
	snprintf(sn->cursor, sizeof(sn->cursor), "%s", reply->element[2 * n - 1]->str);
	sn->cursor_ready = !sn->ended;
	size_t *waiting = xmalloc(sizeof(*waiting));
	*waiting = n;
	for (size_t i = 0; i < n; i++) {
		const char *id = reply->element[2 * i]->str;
		struct snapshot_item *it = xcalloc(1, sizeof(*it));
		it->sn = sn;
		it->waiting = waiting;
		snprintf(it->id, sizeof(it->id), "%s", id);
		it->seq = strtoll(reply->element[2 * i + 1]->str, NULL, 10);
		char key[KEYS_MAX];
		keys_listing(key, ids_valid("lst", id) ? id : "invalid");
		redis_commandv(r, snapshot_fields, it, -1, 6, "HMGET", key, "eng", "remaining",
			       "version", "status");
	}
	/* The next page's ids now, while this page's fields are read. */
	if (sn->cursor_ready && sn->in_flight < SNAPSHOT_PAGES_IN_FLIGHT)
		snapshot_ask(sn);
}

/* Asks for the page after the cursor (the first page when none yet). */
static void snapshot_ask(struct snapshot *sn)
{
	char low[40], count[16];
	if (sn->cursor[0])
		snprintf(low, sizeof(low), "(%s", sn->cursor);
	else
		snprintf(low, sizeof(low), "-inf");
	snprintf(count, sizeof(count), "%d", sn->page);
	sn->cursor_ready = 0;
	sn->in_flight++;
	redis_commandv(sn->s->link, snapshot_ids, sn, -1, 9, "ZRANGE", "cm:listings:status:open",
		       low, "+inf", "BYSCORE", "LIMIT", "0", count, "WITHSCORES");
}

void snapshot_run(struct store *s, int page, snapshot_row_cb row, snapshot_done_cb done,
		  void *arg)
{
	struct snapshot *sn = xcalloc(1, sizeof(*sn));
	sn->s = s;
	sn->row = row;
	sn->done = done;
	sn->arg = arg;
	sn->page = page;
	snapshot_ask(sn);
}
