/*
 * snapshot — reading every open listing's engine record, for an engine
 * rebuilding its index.
 *
 * Pages in posting order: one ZRANGE over the open listings, then one
 * pipelined HMGET per listing — native commands, which Redis answers
 * several times faster than the same reads made one by one inside a
 * function. The next page's ids are asked for as soon as this page's are
 * known, so Redis reads while craftmatchd decodes; at most two pages are in
 * flight, which bounds the commands pending. Not atomic: the engine follows
 * cm:events from a position taken before the snapshot, so changes made
 * meanwhile reach it anyway.
 */
#ifndef CM_STORE_SNAPSHOT_H
#define CM_STORE_SNAPSHOT_H

#include <stdint.h>

#include "server/store/store.h"

/*
 * One open listing: its engine record (or its JSON document when it has
 * none), remaining, version and seq. Strings are borrowed for the call.
 */
typedef void (*snapshot_row_cb)(void *arg, const char *id, const char *record,
				int64_t remaining, int64_t version, int64_t seq);
/* The whole snapshot is done; ok 0 when Redis failed somewhere (start over). */
typedef void (*snapshot_done_cb)(void *arg, int ok);

/* Reads every open listing, page listings at a time; done runs once, last. */
void snapshot_run(struct store *s, int page, snapshot_row_cb row, snapshot_done_cb done,
		  void *arg);

#endif
