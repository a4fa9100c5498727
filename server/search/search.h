/*
 * search — the marketplace search of an API node (roles all and api),
 * answered from memory.
 *
 * At start the node reads every open listing from Redis
 * (store/search_load.h) into its index (sindex.h), then follows cm:events
 * from the position taken before that read: listing.created and
 * listing.updated carry all the index keeps of an open listing (store/lua,
 * listing_event), listing.closed/expired/filled remove it, and match events
 * carry both listings' remaining quantities. Until the index has applied
 * every event appended by the end of the read it is not ready: /readyz
 * says so, and the API asks Redis instead (store_listing_search).
 *
 * Read-your-writes: a listing write answered by this node records, for the
 * caller's account, the id of the last event it appended
 * (search_note_write); that caller's next search waits until the index has
 * applied that event, at most SEARCH_WAIT_MS, then gets 503 with
 * Retry-After. A write answered by another node is not known here: behind
 * a load balancer, send an account's requests to one node (or accept that
 * its search may trail its write by the stream's delay, milliseconds).
 *
 * search_on_events is the whole consumer of the stream: one batch of
 * entries in stream order, so any reader of cm:events can feed it.
 */
#ifndef CM_SEARCH_SEARCH_H
#define CM_SEARCH_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "server/search/sindex.h"
#include "server/store/events.h"

struct app;
struct evbuffer;
struct search;

/* How long a search waits for the index to apply its caller's last write. */
#define SEARCH_WAIT_MS 2000

struct search *search_start(struct app *app);
/* Answers the searches still waiting (503) and frees everything. */
void search_stop(struct search *s);

/* 1 once the index is loaded and has caught up with the stream. */
int search_ready(const struct search *s);

/* Applies one batch of cm:events entries, in stream order. */
void search_on_events(struct search *s, const struct events_entry *ev, size_t n);

/* account's last listing write appended event_id ("" or NULL: nothing). */
void search_note_write(struct search *s, const char *account, const char *event_id);

/*
 * Calls cb(arg, 1) once the index has applied account's last write noted
 * here (at once when it has), or cb(arg, 0) after SEARCH_WAIT_MS or at
 * search_stop. Never before returning when it must wait; at once otherwise.
 */
typedef void (*search_wait_cb)(void *arg, int ok);
void search_after_writes(struct search *s, const char *account, search_wait_cb cb, void *arg);

/* Appends the JSON page {"items": [...], "next_cursor": ...} (and a newline) to out. */
void search_page(struct search *s, const struct sindex_query *q, struct evbuffer *out);

struct search_stats {
	int ready;
	size_t listings, bytes;
	uint64_t events, searches, waits, wait_timeouts;
	double load_seconds; /* the last load, from its first page to caught up */
};
const struct search_stats *search_stats(struct search *s);

#endif
