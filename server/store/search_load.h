/*
 * search_load — reading every open listing with what a search index keeps
 * of it (server/search/), for an API node filling its index at start.
 *
 * The id of the last event on cm:events is read first: the node then
 * follows the stream from it, so every change after it reaches the index by
 * its event, whatever the reads below saw meanwhile (the events are applied
 * in order over them). Then pages of cm:listings:status:open in posting
 * order (ZRANGE BYSCORE), each listing's fields read by one HMGET, all
 * pipelined on the store's link: Redis reads the next listings while the
 * node indexes the last ones, and no function call builds a Lua table of
 * thousands of documents. Last, the id of the last event again: the index
 * is current once it has applied that one.
 */
#ifndef CM_STORE_SEARCH_LOAD_H
#define CM_STORE_SEARCH_LOAD_H

#include <stdint.h>

#include "server/store/store.h"

/* One open listing; strings are borrowed for the call. */
struct search_load_row {
	const char *id, *kind, *material, *province, *forum;
	const char *doc, *fold, *owner_name;
	int64_t seq, remaining, version, created_at, updated_at;
};

typedef void (*search_load_row_cb)(void *arg, const struct search_load_row *row);
/*
 * The whole load is done: ok 0 when Redis failed somewhere (start over);
 * from: the last event id before the first page, to follow cm:events from;
 * upto: the last event id after the last page (the index is current once it
 * has applied it).
 */
typedef void (*search_load_done_cb)(void *arg, int ok, const char *from, const char *upto);

/* Reads every open listing, page listings per call; done runs once, last. */
void search_load_run(struct store *s, int page, search_load_row_cb row, search_load_done_cb done,
		     void *arg);

#endif
