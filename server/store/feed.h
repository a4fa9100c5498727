/*
 * feed — one reader of cm:events per process, shared by every consumer of
 * the stream in it (the engine, the push hub, any index kept from events).
 *
 * A consumer subscribes with its own start position (the id of the last
 * entry it has, "0-0" for everything kept) and a callback taking batches
 * of entries. It then sees every entry after its position exactly once, in
 * stream order, whatever the others do:
 *
 *   sub = feed_subscribe(app->feed, cursor, on_events, ctx);   // follow
 *   feed_unsubscribe(sub);                                      // stop
 *
 * The live tail is read by one XREAD BLOCK on a link of its own and handed
 * to every consumer that is at or past where that read began. A consumer
 * that subscribes behind it (the engine starting from its saved cursor
 * while the hub already follows the tail) catches up with plain XREAD pages
 * on a second link, opened only while someone is behind, and joins the
 * shared read as soon as it has reached it. Entries are borrowed for the
 * callback's duration (events.h). A callback may unsubscribe any consumer,
 * itself included, but must not free the feed.
 */
#ifndef CM_STORE_FEED_H
#define CM_STORE_FEED_H

#include <stddef.h>

#include "server/store/events.h"

struct event_base;
struct feed;
struct feed_sub;

typedef void (*feed_cb)(const struct events_entry *entries, size_t n, void *arg);

/*
 * Reads nothing until the first consumer subscribes. NULL for a bad URL.
 * via: the sentinels naming the primary, or NULL (store.h).
 */
struct sentinel;
struct feed *feed_new(struct event_base *base, const char *url, struct sentinel *via,
		      int timeout_ms);
/* Frees the feed; every consumer must have unsubscribed. */
void feed_free(struct feed *f);

/*
 * Follows the stream after `after` (a stream id, e.g. a saved cursor or the
 * id of the stream's last entry when it is to start from now; "0-0" for all).
 */
struct feed_sub *feed_subscribe(struct feed *f, const char *after, feed_cb cb, void *arg);
void feed_unsubscribe(struct feed_sub *s);
/* The id of the last entry the consumer was given (or its start). */
const char *feed_sub_position(const struct feed_sub *s);

struct feed_stats {
	unsigned long long batches;	  /* live batches read */
	unsigned long long catchup_pages; /* pages read for consumers behind the live read */
	size_t consumers;
};
const struct feed_stats *feed_stats(const struct feed *f);

#endif
