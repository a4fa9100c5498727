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

struct snapshot_page {
	struct store *s;
	snapshot_row_cb row;
	snapshot_done_cb done;
	void *arg;
	size_t waiting; /* HMGET replies still to come */
	int failed;
	int page;	  /* ids asked for */
	int last;	  /* fewer ids than asked for: no page after this */
	char next[32];	  /* seq of the page's last id */
};

struct snapshot_item {
	struct snapshot_page *p;
	char id[IDS_MAX];
	int64_t seq;
};

static void snapshot_finish(struct snapshot_page *p)
{
	p->done(p->arg, !p->failed, p->failed || p->last ? NULL : p->next);
	free(p);
}

static int64_t snapshot_int(const redisReply *r)
{
	return r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
}

static void snapshot_doc(struct redis *r, enum redis_status st, redisReply *reply, void *arg);

/* One listing's fields: eng, remaining, version, status, (doc when asked). */
static void snapshot_fields(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot_item *it = arg;
	struct snapshot_page *p = it->p;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) {
		p->failed = 1;
	} else if (reply->element[3]->type == REDIS_REPLY_STRING &&
		   strcmp(reply->element[3]->str, "open") == 0) {
		const redisReply *eng = reply->element[0];
		if (eng->type == REDIS_REPLY_STRING && eng->len > 0) {
			p->row(p->arg, it->id, eng->str, snapshot_int(reply->element[1]),
			       snapshot_int(reply->element[2]), it->seq);
		} else {
			/* Written before engine records existed: read the document. */
			char key[KEYS_MAX];
			keys_listing(key, it->id);
			redis_commandv(r, snapshot_doc, it, -1, 5, "HMGET", key, "doc", "remaining",
				       "version");
			return;
		}
	}
	free(it);
	if (--p->waiting == 0)
		snapshot_finish(p);
}

static void snapshot_doc(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot_item *it = arg;
	struct snapshot_page *p = it->p;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
		p->failed = 1;
	else if (reply->element[0]->type == REDIS_REPLY_STRING)
		p->row(p->arg, it->id, reply->element[0]->str, snapshot_int(reply->element[1]),
		       snapshot_int(reply->element[2]), it->seq);
	free(it);
	if (--p->waiting == 0)
		snapshot_finish(p);
}

static void snapshot_ids(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot_page *p = arg;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY) {
		p->failed = 1;
		snapshot_finish(p);
		return;
	}
	size_t n = reply->elements / 2;
	p->last = n < (size_t)p->page;
	if (n == 0) {
		p->last = 1;
		snapshot_finish(p);
		return;
	}
	snprintf(p->next, sizeof(p->next), "%s", reply->element[2 * n - 1]->str);
	p->waiting = n;
	for (size_t i = 0; i < n; i++) {
		const char *id = reply->element[2 * i]->str;
		struct snapshot_item *it = xcalloc(1, sizeof(*it));
		it->p = p;
		snprintf(it->id, sizeof(it->id), "%s", id);
		it->seq = strtoll(reply->element[2 * i + 1]->str, NULL, 10);
		char key[KEYS_MAX];
		keys_listing(key, ids_valid("lst", id) ? id : "invalid");
		redis_commandv(r, snapshot_fields, it, -1, 6, "HMGET", key, "eng", "remaining",
			       "version", "status");
	}
}

void snapshot_page(struct store *s, const char *cursor, int page, snapshot_row_cb row,
		   snapshot_done_cb done, void *arg)
{
	struct snapshot_page *p = xcalloc(1, sizeof(*p));
	p->s = s;
	p->row = row;
	p->done = done;
	p->arg = arg;
	p->page = page;
	char low[40], count[16];
	snprintf(low, sizeof(low), "%s%s", cursor ? "(" : "", cursor ? cursor : "-inf");
	snprintf(count, sizeof(count), "%d", page);
	redis_commandv(s->link, snapshot_ids, p, -1, 9, "ZRANGE", "cm:listings:status:open", low,
		       "+inf", "BYSCORE", "LIMIT", "0", count, "WITHSCORES");
}
