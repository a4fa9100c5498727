/*
 * snapshot — reading every open listing's engine record, for an engine
 * rebuilding its index.
 *
 * The open listings are kept for the engine in one hash per kind and
 * material, cm:eng:<kind>:<material> (store/lua): field the listing id,
 * value "REMAINING VERSION SEQ RECORD" and, after a newline, what a search
 * index keeps of it (below). A page is one HSCAN of one of them,
 * a few thousand listings in one reply: Redis walks a table instead of
 * looking up a hash per listing, and craftmatchd handles one reply and one
 * deadline per page instead of one per listing. Two hashes are scanned at
 * once, so Redis reads one page while craftmatchd decodes the other.
 *
 * Not atomic: the engine follows cm:events from a position taken before
 * the snapshot, so changes made meanwhile reach it anyway; HSCAN may return
 * a listing twice, which the index takes as a replacement.
 */
#ifndef CM_STORE_SNAPSHOT_H
#define CM_STORE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "server/store/store.h"

/*
 * One entry of cm:eng:<kind>:<material>: "REMAINING VERSION SEQ RECORD",
 * then, when library 20 or newer wrote it, a newline and what a search
 * index keeps of the listing (store/lua, eng_put). Strings are borrowed for
 * the call.
 */
struct snapshot_row {
	const char *id, *kind, *material; /* kind and material: the hash's */
	const char *record;		  /* the engine record, first line only */
	const char *search;		  /* after the newline; NULL when none */
	size_t search_len;
	int64_t remaining, version, seq;
};
typedef void (*snapshot_row_cb)(void *arg, const struct snapshot_row *row);
/* The whole snapshot is done; ok 0 when Redis failed somewhere (start over). */
typedef void (*snapshot_done_cb)(void *arg, int ok);

/*
 * Reads every open listing, about page listings per Redis call; done runs
 * once, last, after every row.
 */
void snapshot_run(struct store *s, int page, snapshot_row_cb row, snapshot_done_cb done, void *arg);

/*
 * A page of rows, whole: its strings live in reply until snapshot_page_free,
 * which any one thread may call (hiredis objects, plain malloc).
 */
struct snapshot_page {
	struct snapshot_row *rows;
	size_t n;
	void *reply;
};
/* The page is the reader's own from now on. */
typedef void (*snapshot_page_cb)(void *arg, struct snapshot_page *page);
void snapshot_page_free(struct snapshot_page *page);

/*
 * snapshot_run for a reader that takes whole pages (to work on them
 * elsewhere, e.g. on a thread): row readers of the same run see each page
 * first; one page reader per run (a second one starts a run of its own).
 */
void snapshot_run_pages(struct store *s, int page, snapshot_page_cb pages, snapshot_done_cb done,
			void *arg);

#endif
