/*
 * search_load — reading every open listing with what a search index keeps
 * of it (server/search/), for an API node filling its index at start.
 *
 * Pages of cm:listings:status:open in posting order, each one call of
 * cm_listing_open_page that also answers the id of the last event on
 * cm:events. The first page's id is where the node then follows the stream
 * from: every change after it reaches the index by its event, whatever the
 * later pages read meanwhile (the events are applied in order over them).
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
