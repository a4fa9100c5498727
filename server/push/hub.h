/*
 * hub — the push hub: the process's one reader of cm:events (shared with the
 * engine, server/store/feed.h) fans every entry out to the local
 * subscribers of GET /v1/events, each through its filter (filter.h). No Redis
 * command is sent per subscriber for the live tail.
 *
 * Runs in roles all and push. Each subscriber has a position: the id of the
 * last entry it was given or passed over, so that it has every entry it may
 * see up to there and nothing after. A subscriber that resumes (Last-Event-ID)
 * first catches up with pages of the stream (backlog.h, on the store's link),
 * ignoring the live tail meanwhile; at the end of the stream it goes live
 * only if the hub has not read past its position, else it reads on. Live
 * entries are given only when their id is after the position. So the seam
 * has no gap and no duplicate, whichever of the two links is ahead.
 *
 * Each stream starts with a retry: hint; "ready" marks the moment it is live
 * (its id: the position); "reset" comes first when entries after the resume
 * point are no longer kept, then the stream goes on from the live tail.
 * Heartbeat comments keep idle streams (and proxies) open. A subscriber that
 * leaves more than --events-buffer-bytes unread is dropped; catch-up pages
 * are read only once the previous one was written out, so a slow reader never
 * makes memory grow.
 */
#ifndef CM_PUSH_HUB_H
#define CM_PUSH_HUB_H

#include <stdint.h>

struct app;
struct filter;
struct http_req;
struct hub;

struct hub_stats {
	uint64_t subscribers;  /* open streams now */
	uint64_t delivered;    /* entries written to subscribers (control events not counted) */
	uint64_t dropped_slow; /* subscribers dropped for leaving too much unread */
	uint64_t resets;       /* reset events sent */
	uint64_t pages;	       /* catch-up pages read */
	int live;	       /* positioned on the stream: new subscribers start at once */
};

/* Starts the hub; it positions itself on the stream as soon as Redis answers. */
struct hub *hub_start(struct app *app);

/*
 * Ends every open stream cleanly (clients reconnect, to another node when
 * this one stops) and refuses new ones: for SIGTERM.
 */
void hub_drain(struct hub *h);

/*
 * Frees the hub after the loop has stopped. Call it after store_free (whose
 * pending callbacks may still reach subscribers) and before http_server_free.
 */
void hub_stop(struct hub *h);

/*
 * Takes r over and streams to it: after the position `resume` (a position
 * already validated with position_parse) when not NULL, else from now. The
 * filter is moved into the hub (*f is cleared). Returns 0 — r then belongs to
 * the hub, which answers and finishes it — or -1 when the hub is draining (r
 * and f untouched).
 */
int hub_subscribe(struct hub *h, struct http_req *r, struct filter *f, const char *resume);

const struct hub_stats *hub_stats(const struct hub *h);

#endif
