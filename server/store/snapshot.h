/*
 * snapshot — reading every open listing's engine record, page by page,
 * for an engine rebuilding its index.
 *
 * A page is one ZRANGE over the open listings by posting order, then one
 * pipelined HMGET per listing: native commands, which Redis answers several
 * times faster than the same reads made one by one inside a function. Not
 * atomic across a page: the engine follows cm:events from a position taken
 * before the snapshot, so changes made meanwhile reach it anyway.
 */
#ifndef CM_STORE_SNAPSHOT_H
#define CM_STORE_SNAPSHOT_H

#include <stdint.h>

#include "server/store/store.h"

/*
 * One listing of a page: its engine record (or its JSON document when it
 * has none), remaining, version and seq. Strings are borrowed for the call.
 */
typedef void (*snapshot_row_cb)(void *arg, const char *id, const char *record,
				int64_t remaining, int64_t version, int64_t seq);
/*
 * The page is done: ok 0 when Redis failed (start over); next is the cursor
 * of the next page, or NULL after the last.
 */
typedef void (*snapshot_done_cb)(void *arg, int ok, const char *next);

/* Reads the page after cursor (NULL: the first). */
void snapshot_page(struct store *s, const char *cursor, int page, snapshot_row_cb row,
		   snapshot_done_cb done, void *arg);

#endif
