/*
 * search_load — paged reads of the open listings for a search index (see
 * search_load.h).
 */
#include "server/store/search_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "server/store/keys.h"

#define SEARCH_LOAD_FIELDS 13 /* per listing in a page's reply */
#define SEARCH_LOAD_ID_MAX 48 /* a stream id: two 20-digit numbers and '-' */

struct search_load {
	struct store *s;
	search_load_row_cb row;
	search_load_done_cb done;
	void *arg;
	char count[16];
	char from[SEARCH_LOAD_ID_MAX];
	int pages;
};

static void search_load_next(struct search_load *l, const char *after);

static int64_t search_load_int(const redisReply *v)
{
	return v->type == REDIS_REPLY_STRING ? strtoll(v->str, NULL, 10) : 0;
}

static const char *search_load_str(const redisReply *v)
{
	return v->type == REDIS_REPLY_STRING ? v->str : "";
}

static void search_load_end(struct search_load *l, int ok, const char *upto)
{
	l->done(l->arg, ok, l->from, upto);
	free(l);
}

static void search_load_page(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	(void)r;
	struct search_load *l = arg;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_STRING ||
	    reply->element[2]->type != REDIS_REPLY_ARRAY ||
	    reply->element[1]->len >= SEARCH_LOAD_ID_MAX) {
		search_load_end(l, 0, "");
		return;
	}
	if (l->pages++ == 0)
		snprintf(l->from, sizeof(l->from), "%s", reply->element[1]->str);
	const redisReply *rows = reply->element[2];
	for (size_t i = 0; i + SEARCH_LOAD_FIELDS <= rows->elements; i += SEARCH_LOAD_FIELDS) {
		redisReply *const *f = rows->element + i;
		struct search_load_row row = {
		    .id = search_load_str(f[0]),
		    .seq = search_load_int(f[1]),
		    .kind = search_load_str(f[2]),
		    .material = search_load_str(f[3]),
		    .province = search_load_str(f[4]),
		    .forum = search_load_str(f[5]),
		    .remaining = search_load_int(f[6]),
		    .version = search_load_int(f[7]),
		    .doc = search_load_str(f[8]),
		    .fold = search_load_str(f[9]),
		    .owner_name = search_load_str(f[10]),
		    .created_at = search_load_int(f[11]),
		    .updated_at = search_load_int(f[12]),
		};
		l->row(l->arg, &row);
	}
	const char *next = reply->element[0]->str;
	if (*next == '\0') {
		search_load_end(l, 1, reply->element[1]->str);
		return;
	}
	char after[32];
	snprintf(after, sizeof(after), "%s", next);
	search_load_next(l, after);
}

static void search_load_next(struct search_load *l, const char *after)
{
	redis_commandv(l->s->link, search_load_page, l, -1, 7, "FCALL_RO", "cm_listing_open_page",
		       "2", KEY_LISTINGS_OPEN, KEY_EVENTS, after, l->count);
}

void search_load_run(struct store *s, int page, search_load_row_cb row, search_load_done_cb done,
		     void *arg)
{
	struct search_load *l = xcalloc(1, sizeof(*l));
	l->s = s;
	l->row = row;
	l->done = done;
	l->arg = arg;
	snprintf(l->count, sizeof(l->count), "%d", page);
	search_load_next(l, "");
}
