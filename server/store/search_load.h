/*
 * search_load — reading every open listing with what a search index keeps
 * of it (server/search/), for an API node filling its index at start.
 *
 * The id of the last event on cm:events is read first: the node then
 * follows the stream from it, so every change after it reaches the index by
 * its event, whatever the reads below saw meanwhile (the events are applied
 * in order over them). Then the engine's hashes of open listings
 * (store/snapshot.h): their entries carry what the index keeps (store/lua,
 * eng_put), a few thousand listings per HSCAN reply, decoded on a thread of
 * the load's own while the event loop reads the next. Then the ids of
 * cm:listings:status:open, by ranges of seqs up to the highest (ZRANGE
 * BYSCORE, all pipelined): each open listing the scan did not give (held
 * for a forum, so without an engine entry, or written by library 19 or
 * older) is read by one HMGET, pipelined on the store's link. Last, the id of the last event again:
 * the index is current once it has applied that one.
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
	/* sized 1: forum, owner_name, fold and doc are these many bytes, not
	 * NUL-terminated (the scan's rows, read in place) */
	int sized;
	size_t forum_len, owner_name_len, fold_len, doc_len;
};

typedef void (*search_load_row_cb)(void *arg, const struct search_load_row *row);
/* 1 when the index has the listing id already (from the scan): not read again. */
typedef int (*search_load_have_cb)(void *arg, const char *id);
/*
 * After the scan's last row, on the thread that ran the scan's rows: the
 * index may put itself in order there. It runs while the loop reads the ids
 * (have may run meanwhile: it must only read what finish does not change);
 * rows read by id come after it has returned, on the loop.
 */
typedef void (*search_load_finish_cb)(void *arg);
/*
 * The whole load is done: ok 0 when Redis failed somewhere (start over);
 * from: the last event id before the first page, to follow cm:events from;
 * upto: the last event id after the last page (the index is current once it
 * has applied it).
 */
typedef void (*search_load_done_cb)(void *arg, int ok, const char *from, const char *upto);

/* Reads every open listing, about page listings per call; done runs once, last. */
void search_load_run(struct store *s, int page, search_load_row_cb row, search_load_have_cb have,
		     search_load_finish_cb finish, search_load_done_cb done, void *arg);

#endif
