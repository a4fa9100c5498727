/*
 * hub — one cm:events reader per process, fanned out to the subscribers of
 * GET /v1/events (see hub.h).
 *
 * A subscriber's life: its response head is written through evhttp, then
 * (in the reap callback, outside evhttp's own callbacks) its socket is taken
 * from evhttp (http_server_take_socket): from there on the hub writes to the
 * socket itself (outlet.h: a fan-out's sends go in one batch, flushed before
 * the callback returns), and keeps nothing per subscriber but
 * this struct and the socket's event, plus what the kernel has not taken
 * yet, only while there is some. Then WAITING (for the hub's own position, a
 * moment at start) or CATCHING_UP (reading pages after its resume point),
 * then LIVE. Its HTTP side ends in one of three ways, always in the reap
 * callback: cleanly (drain, revoked token: the last chunk, then the socket
 * closes once it is written), dropped (too slow) or closed (the client went,
 * a write failed, or nothing could be written for the idle timeout). The
 * struct itself outlives its HTTP side while a page call is out or its last
 * bytes wait to be written.
 */
#include "server/push/hub.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/xalloc.h"
#include "server/app.h"
#include "server/http/request.h"
#include "server/http/server.h"
#include "server/log.h"
#include "server/store/backlog.h"
#include "server/push/audience.h"
#include "server/push/filter.h"
#include "server/push/outlet.h"
#include "server/push/position.h"
#include "server/push/sse.h"
#include "server/store/events.h"
#include "server/store/feed.h"
#include "server/store/store.h"

#define HUB_PAGE 100	    /* entries per catch-up page */
#define HUB_PACE_MS 10	    /* a catch-up waiting for its last page to be written looks again */
#define HUB_RETRY_MS 250    /* after a failed page */
#define HUB_POSITION_MS 100 /* after a failed positioning call */

enum sub_state {
	SUB_WAITING,	 /* needs the hub's position first */
	SUB_CATCHING_UP, /* reading pages; the live tail is not for it yet */
	SUB_LIVE,	 /* takes the live tail */
};

enum sub_end { SUB_ENDED, SUB_DROPPED, SUB_CLOSED };
static const char *const sub_end_names[] = {"ended", "dropped", "closed"};

/*
 * Kept small: an idle subscriber costs this, its request's record, its
 * socket's event and nothing else (its filter lives in its audience, writes
 * go straight to the socket, what the kernel does not take waits in unsent
 * only while there is some, the pace timer exists only while it catches up).
 */
struct sub {
	struct outlet out; /* first: its callback's pointer is the subscriber's */
	struct hub *h;
	struct http_req *r;		 /* until the HTTP side is finished */
	struct evhttp_request *ev;	 /* r->ev, until the socket is taken */
	struct evhttp_connection *evcon; /* its connection, until the socket is taken */
	struct audience *aud;		 /* the subscribers that get the same bytes */
	struct position pos;		 /* every entry it may see up to here was written */
	const char *reset;		 /* a reset is due: "trimmed" or "unknown" */
	struct event *pace;		 /* while catching up: the next page's timer */
	uint64_t delivered;
	unsigned state : 2;	    /* enum sub_state */
	unsigned fresh : 1;	    /* no resume point: starts at the hub's position */
	unsigned ready_sent : 1;    /* "ready" went out */
	unsigned page_inflight : 1; /* a page call is out: the struct must outlive it */
	unsigned own_ev : 1;  /* evhttp detached ev from its closed connection: ours to free */
	unsigned end : 1;     /* to end cleanly at the next reap */
	unsigned drop : 1;    /* to drop (too slow) at the next reap */
	unsigned done : 1;    /* the HTTP side is finished */
	unsigned failing : 1; /* the last page call failed (logged once) */
	unsigned chunked : 1; /* the response is chunked (HTTP/1.1) */
	unsigned gone : 1;    /* the client left, a write failed or stalled: close at once */
};

struct hub {
	struct app *app;
	struct feed_sub *reader; /* our place in the process's cm:events feed */
	struct position pos;	 /* the last entry read live (or where reading began) */
	char pos_text[POSITION_MAX];
	int positioned;
	int tail_inflight;
	int draining;
	int stopping;
	struct event *position_retry;
	struct event *heartbeat;
	struct event *reap;
	struct timeval idle; /* the server's idle timeout, for a connection's deadlines */
	struct sub **subs;
	size_t n_subs, cap_subs;
	struct audiences auds;
	struct evbuffer *scratch;   /* one subscriber's next write, sent at once */
	struct outlet_batch *sends; /* a fan-out's shared blocks, sent together */
	struct sse_block *ping;	    /* the heartbeat, shared by every stream */
	/* one live batch: its ids parsed, its frames built on first use */
	const struct events_entry *batch_entries;
	struct position *batch_pos;
	int *batch_ok;
	char **batch_frame;
	size_t *batch_len;
	size_t batch_cap;
	struct hub_stats stats;
};

/* ---- writing to a subscriber ---- */

static void hub_wake_reap(struct hub *h)
{
	event_active(h->reap, EV_TIMEOUT, 0);
}

static int sub_open(const struct sub *s)
{
	return !s->done && s->out.fd >= 0 && !s->gone;
}

static size_t sub_unsent(const struct sub *s)
{
	return outlet_unsent(&s->out);
}

/* The stream cannot go on (the client left, a write failed): closed at the next reap. */
static void sub_gone(struct sub *s)
{
	s->gone = 1;
	hub_wake_reap(s->h);
}

/* News of its socket: gone, or its last waiting bytes written (an ended stream closes). */
static void sub_news(struct outlet *o, enum outlet_news what)
{
	struct sub *s = (struct sub *)o;
	if (what == OUTLET_GONE)
		sub_gone(s);
	else if (s->done)
		hub_wake_reap(s->h);
}

static void sub_write(struct sub *s, const char *p, size_t len, struct sse_block *b)
{
	if (outlet_write(s->h->sends, &s->out, p, len, b) < 0)
		sub_gone(s);
}

/*
 * Whether s may be written to. capped: a subscriber that still has more than
 * --events-buffer-bytes unsent from before is dropped instead, so what it
 * holds stays below the cap and one batch. (Checking before adding lets a
 * burst larger than the cap through to a client that keeps reading.)
 */
static int sub_writable(struct sub *s, int capped)
{
	if (sub_open(s) && capped && !s->drop &&
	    sub_unsent(s) > (size_t)s->h->app->cfg.events_buffer_bytes) {
		s->drop = 1;
		hub_wake_reap(s->h);
	}
	return sub_open(s) && !s->drop;
}

/* Sends what the hub's scratch buffer holds for s as one chunk (see sub_writable). */
static void sub_flush(struct sub *s, int capped)
{
	struct evbuffer *out = s->h->scratch;
	size_t n = evbuffer_get_length(out);
	if (n > 0 && sub_writable(s, capped)) {
		if (s->chunked)
			sse_chunk_wrap(out);
		size_t len = evbuffer_get_length(out);
		sub_write(s, (const char *)evbuffer_pullup(out, -1), len, NULL);
	}
	evbuffer_drain(out, evbuffer_get_length(out));
}

/* Gives s a block of `count` entries, as its own chunk (see sub_writable), in the batch. */
static void sub_give(struct sub *s, struct sse_block *b, size_t count, int capped)
{
	if (b == NULL || !sub_writable(s, capped))
		return;
	size_t len;
	const char *p = sse_block_bytes(b, s->chunked, &len);
	outlet_queue(s->h->sends, &s->out, p, len, b);
	s->delivered += count;
	s->h->stats.delivered += count;
}

/* The stream ends after e when it revokes the token it was opened with, or suspends its account. */
static void sub_check_end(struct sub *s, const struct events_entry *e)
{
	if (strcmp(e->type, "token.revoked") == 0 && s->r && s->r->token_id &&
	    strcmp(events_field(e, "token"), s->r->token_id) == 0) {
		s->end = 1;
		hub_wake_reap(s->h);
	}
	if (strcmp(e->type, "account.suspended") == 0 && s->r && s->r->account) {
		const char *id = json_string_value(json_object_get(s->r->account, "id"));
		if (id && strcmp(events_field(e, "account"), id) == 0) {
			s->end = 1;
			hub_wake_reap(s->h);
		}
	}
}

/*
 * Offers the next entry of the stream to s. Entries reach a subscriber in
 * stream order from two links; one at or before its position was given (or
 * passed over) already. *frame is the entry's SSE frame, built on first use
 * and shared by every subscriber of a batch.
 */
static void sub_offer(struct sub *s, const struct events_entry *e, const struct position *p,
		      char **frame, size_t *len)
{
	if (position_cmp(p, &s->pos) <= 0)
		return;
	s->pos = *p;
	if (filter_match(&s->aud->f, e)) {
		if (*frame == NULL)
			*frame = sse_entry_frame(e, len);
		evbuffer_add(s->h->scratch, *frame, *len);
		s->delivered++;
		s->h->stats.delivered++;
	}
	sub_check_end(s, e);
}

/* ---- catching up and going live ---- */

static void sub_fetch(struct sub *s);
static void sub_pace(evutil_socket_t fd, short what, void *arg);

/* Runs sub_fetch after ms: the timer exists only while s catches up. */
static void sub_pace_later(struct sub *s, int ms)
{
	if (s->pace == NULL)
		s->pace = evtimer_new(s->h->app->base, sub_pace, s);
	struct timeval tv = {0, ms * 1000};
	evtimer_add(s->pace, &tv);
}

/*
 * Decides what comes next for a subscriber that has no page out and is not
 * live: wait for the hub's position, send the due reset, read on (the live
 * reader went past it meanwhile), or go live. Going live here is safe: the
 * hub has handed out nothing after the subscriber's position, and every
 * later live batch is offered to it.
 */
static void sub_settle(struct sub *s)
{
	struct hub *h = s->h;
	char at[POSITION_MAX];
	if (!sub_open(s) || s->end || s->drop)
		return;
	if (!h->positioned) {
		s->state = SUB_WAITING;
		return;
	}
	if (s->reset) {
		const char *why = strcmp(s->reset, "unknown") == 0
				      ? "is not a position of this event stream"
				      : "is older than the oldest event still kept";
		position_format(&s->pos, at);
		char *detail = xasprintf("%s %s: events may be missing; reload what you show "
					 "(GET the resources again), then follow this stream",
					 at, why);
		json_t *data =
		    json_pack("{s:s, s:s, s:s}", "reason", s->reset, "after", at, "detail", detail);
		free(detail);
		sse_control(h->scratch, h->pos_text, "reset", data);
		h->stats.resets++;
		log_info("push", "reset sent", "id=%s after=%s reason=%s", s->r->id, at, s->reset);
		s->reset = NULL;
		s->pos = h->pos;
	} else if (s->fresh) {
		s->fresh = 0;
		s->pos = h->pos;
	} else if (position_cmp(&h->pos, &s->pos) > 0) {
		log_debug("push", "live reader went past a catch-up, reading on",
			  "id=%s at=%s live=%s", s->r->id, position_format(&s->pos, at),
			  h->pos_text);
		s->state = SUB_CATCHING_UP;
		sub_fetch(s);
		return;
	}
	s->state = SUB_LIVE;
	if (s->pace) {
		event_free(s->pace);
		s->pace = NULL;
	}
	if (!s->ready_sent) {
		s->ready_sent = 1;
		sse_control(h->scratch, position_format(&s->pos, at), "ready", json_object());
	}
	sub_flush(s, 0);
}

/* The entry of a page row [id, [field, value, ...]]; strings borrowed from row. */
static int hub_entry_of_row(json_t *row, struct events_entry *e)
{
	const json_t *fields = store_field(row, BACKLOG_ENTRY_FIELDS);
	e->id = store_field_str(row, BACKLOG_ENTRY_ID);
	e->type = "";
	e->n = 0;
	if (e->id == NULL || !json_is_array(fields))
		return -1;
	for (size_t j = 0; j + 1 < json_array_size(fields) && e->n < EVENTS_MAX_FIELDS; j += 2) {
		const char *name = json_string_value(json_array_get(fields, j));
		const char *value = json_string_value(json_array_get(fields, j + 1));
		if (name == NULL || value == NULL)
			continue;
		e->names[e->n] = name;
		e->values[e->n] = value;
		if (strcmp(name, "type") == 0)
			e->type = value;
		e->n++;
	}
	return 0;
}

static void sub_page_got(const struct store_reply *res, void *arg)
{
	struct sub *s = arg;
	struct hub *h = s->h;
	s->page_inflight = 0;
	if (!sub_open(s) || s->end || s->drop || h->stopping) {
		hub_wake_reap(h);
		return;
	}
	const char *kind =
	    res->status == STORE_OK ? store_field_str(res->value, BACKLOG_KIND) : NULL;
	if (kind == NULL || (strcmp(kind, "ok") != 0 && strcmp(kind, "reset") != 0)) {
		char at[POSITION_MAX];
		if (!s->failing)
			log_warn("push", "catch-up page failed, retrying",
				 "id=%s after=%s error=\"%s\"", s->r->id,
				 position_format(&s->pos, at),
				 res->message ? res->message : "unexpected reply");
		s->failing = 1;
		sub_pace_later(s, HUB_RETRY_MS);
		return;
	}
	s->failing = 0;
	if (strcmp(kind, "reset") == 0) {
		const char *why = store_field_str(res->value, BACKLOG_WHY);
		s->reset = why && strcmp(why, "unknown") == 0 ? "unknown" : "trimmed";
		sub_settle(s);
		return;
	}
	const json_t *rows = store_field(res->value, BACKLOG_ROWS);
	size_t n = json_array_size(rows);
	for (size_t i = 0; i < n; i++) {
		struct events_entry e;
		struct position p;
		if (hub_entry_of_row(json_array_get(rows, i), &e) < 0 ||
		    position_parse(e.id, &p) < 0)
			continue;
		char *frame = NULL;
		size_t len = 0;
		sub_offer(s, &e, &p, &frame, &len);
		free(frame);
	}
	/* Catch-up is paced by sub_fetch, not capped: its writes wait for the last page to leave.
	 */
	sub_flush(s, 0);
	if (!sub_open(s) || s->end)
		return;
	if (n >= HUB_PAGE)
		sub_fetch(s);
	else
		sub_settle(s);
}

/* Reads the next page once the last one has been written out. */
static void sub_fetch(struct sub *s)
{
	if (!sub_open(s) || s->end || s->drop || s->page_inflight || s->state != SUB_CATCHING_UP)
		return;
	if (sub_unsent(s) > 0) {
		sub_pace_later(s, HUB_PACE_MS);
		return;
	}
	char at[POSITION_MAX];
	s->page_inflight = 1;
	s->h->stats.pages++;
	backlog_page(s->h->app->store, position_format(&s->pos, at), HUB_PAGE, sub_page_got, s);
}

static void sub_pace(evutil_socket_t fd, short what, void *arg)
{
	sub_fetch(arg);
}

/* ---- the end of a stream ---- */

/* Before its socket is taken: evhttp frees the connection (a request it detached is ours). */
static void sub_closed(struct evhttp_connection *evcon, void *arg)
{
	struct sub *s = arg;
	s->own_ev = s->ev != NULL && evhttp_request_get_connection(s->ev) == NULL;
	if (!s->own_ev)
		s->ev = NULL;
	s->evcon = NULL;
	hub_wake_reap(s->h);
}

/* Closes the socket taken from evhttp (its last bytes written, or given up). */
static void sub_close(struct sub *s)
{
	outlet_close(&s->out);
	http_server_socket_closed(s->h->app->http);
}

/*
 * Finishes the HTTP side of s: ends (the last chunk, then the socket closes
 * once it is written, or when the client stops taking it: the idle timeout),
 * drops or closes its stream, then its request.
 */
static void sub_finish(struct sub *s, enum sub_end how)
{
	struct hub *h = s->h;
	if (s->out.fd >= 0) {
		if (how == SUB_ENDED && !s->gone && s->chunked)
			sub_write(s, "0\r\n\r\n", 5, NULL);
		else if (how != SUB_ENDED)
			s->gone = 1;
	} else if (s->evcon) {
		/* Its socket was never taken: the connection goes, with the request. */
		evhttp_connection_set_closecb(s->evcon, NULL, NULL);
		evhttp_connection_free(s->evcon);
	} else if (s->own_ev) {
		evhttp_send_reply_end(s->ev); /* without a connection: frees the request */
	}
	s->ev = NULL;
	s->evcon = NULL;
	s->r->ev = NULL;
	s->done = 1;
	h->stats.subscribers--;
	if (how == SUB_DROPPED)
		h->stats.dropped_slow++;
	char at[POSITION_MAX];
	log_info("push", "stream over", "id=%s how=%s position=%s delivered=%llu", s->r->id,
		 sub_end_names[how], position_format(&s->pos, at),
		 (unsigned long long)s->delivered);
	http_req_finish(s->r, 200);
	s->r = NULL;
}

static void sub_free(struct sub *s)
{
	audience_leave(&s->h->auds, s->aud);
	if (s->pace)
		event_free(s->pace);
	free(s);
}

static void sub_begin(struct sub *s);

/*
 * Takes the socket of a new stream from evhttp, its head written or
 * waiting; then the stream begins. Runs in the reap, outside evhttp.
 */
static void sub_take(struct sub *s)
{
	struct hub *h = s->h;
	int fd = http_server_take_socket(h->app->http, s->r, h->scratch);
	if (fd < 0) {
		evbuffer_drain(h->scratch, evbuffer_get_length(h->scratch));
		return; /* the connection stays evhttp's: finished as closed */
	}
	s->ev = NULL;
	s->evcon = NULL;
	outlet_open(&s->out, h->app->base, fd, &h->idle, sub_news);
	/*
	 * The kernel's send buffer is kept to the same size as the cap (Linux
	 * would grow it to megabytes): what a subscriber leaves unread stays
	 * bounded in the kernel too, and the cap, measured on what the kernel
	 * did not take, is reached in time.
	 */
	int sndbuf = (int)h->app->cfg.events_buffer_bytes;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	size_t head = evbuffer_get_length(h->scratch);
	if (head > 0)
		sub_write(s, (const char *)evbuffer_pullup(h->scratch, -1), head, NULL);
	evbuffer_drain(h->scratch, evbuffer_get_length(h->scratch));
	sub_begin(s);
}

/* Finishes what is due and frees what is finished; runs outside every other callback. */
static void hub_reap(evutil_socket_t fd, short what, void *arg)
{
	struct hub *h = arg;
	size_t i = 0;
	while (i < h->n_subs) {
		struct sub *s = h->subs[i];
		if (!s->done && s->out.fd < 0 && s->evcon != NULL)
			sub_take(s);
		if (!s->done) {
			if (s->out.fd < 0 || s->gone)
				sub_finish(s, SUB_CLOSED);
			else if (s->drop)
				sub_finish(s, SUB_DROPPED);
			else if (s->end)
				sub_finish(s, SUB_ENDED);
		}
		if (s->done && s->out.fd >= 0 && (s->gone || sub_unsent(s) == 0))
			sub_close(s);
		if (s->done && s->out.fd < 0 && !s->page_inflight) {
			h->subs[i] = h->subs[--h->n_subs];
			sub_free(s);
			continue;
		}
		i++;
	}
}

/* ---- the live reader ---- */

static void hub_batch_reserve(struct hub *h, size_t n)
{
	if (n <= h->batch_cap)
		return;
	h->batch_cap = n;
	h->batch_pos = xrealloc(h->batch_pos, n * sizeof(*h->batch_pos));
	h->batch_ok = xrealloc(h->batch_ok, n * sizeof(*h->batch_ok));
	h->batch_frame = xrealloc(h->batch_frame, n * sizeof(*h->batch_frame));
	h->batch_len = xrealloc(h->batch_len, n * sizeof(*h->batch_len));
}

/* The frame of the batch's entry i, made on first use (audiences_batch's maker). */
static const char *hub_batch_frame(size_t i, size_t *len, void *arg)
{
	struct hub *h = arg;
	if (h->batch_frame[i] == NULL)
		h->batch_frame[i] = sse_entry_frame(h->batch_entries + i, &h->batch_len[i]);
	*len = h->batch_len[i];
	return h->batch_frame[i];
}

/*
 * A live batch. A subscriber at the hub's position (every live one, but
 * for one whose catch-up read ahead of the live read) is given its
 * audience's block, if the batch has any entry for it: decided once per
 * entry and audience it may reach (audiences_batch), formatted once per
 * audience, written straight to the socket or by reference. One ahead
 * takes the entries after its position one by one.
 */
static void hub_on_batch(const struct events_entry *entries, size_t n, void *arg)
{
	struct hub *h = arg;
	struct position before = h->pos, last = h->pos;
	int ends = 0; /* the batch may end streams: every subscriber looks at every entry */
	hub_batch_reserve(h, n);
	h->batch_entries = entries;
	for (size_t i = 0; i < n; i++) {
		h->batch_ok[i] = position_parse(entries[i].id, &h->batch_pos[i]) == 0;
		h->batch_frame[i] = NULL;
		h->batch_len[i] = 0;
		if (h->batch_ok[i])
			last = h->batch_pos[i];
		ends |= strcmp(entries[i].type, "token.revoked") == 0 ||
			strcmp(entries[i].type, "account.suspended") == 0;
	}
	audiences_batch(&h->auds, entries, h->batch_ok, n, hub_batch_frame, h);
	for (size_t k = 0; k < h->n_subs; k++) {
		struct sub *s = h->subs[k];
		if (s->state != SUB_LIVE || !sub_open(s) || s->end || s->drop)
			continue;
		if (position_cmp(&s->pos, &before) == 0) {
			if (s->aud->block)
				sub_give(s, s->aud->block, s->aud->count, 1);
			s->pos = last;
			for (size_t i = 0; ends && i < n; i++)
				if (h->batch_ok[i])
					sub_check_end(s, &entries[i]);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (h->batch_ok[i])
				sub_offer(s, &entries[i], &h->batch_pos[i], &h->batch_frame[i],
					  &h->batch_len[i]);
		sub_flush(s, 1);
	}
	outlet_batch_flush(h->sends);
	audiences_batch_done(&h->auds);
	for (size_t i = 0; i < n; i++)
		free(h->batch_frame[i]);
	h->batch_entries = NULL;
	if (position_cmp(&last, &before) > 0) {
		h->pos = last;
		position_format(&h->pos, h->pos_text);
	}
}

static void hub_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct hub *h = arg;
	for (size_t k = 0; k < h->n_subs; k++) {
		struct sub *s = h->subs[k];
		if (!sub_open(s) || s->end || s->drop)
			continue;
		sub_give(s, h->ping, 0, s->state == SUB_LIVE);
	}
	outlet_batch_flush(h->sends);
}

static void hub_position(struct hub *h);

static void hub_tail_got(const struct store_reply *res, void *arg)
{
	struct hub *h = arg;
	h->tail_inflight = 0;
	if (h->stopping)
		return;
	const char *id = res->status == STORE_OK ? json_string_value(res->value) : NULL;
	struct position p;
	if (id == NULL || position_parse(id, &p) < 0) {
		struct timeval tv = {0, HUB_POSITION_MS * 1000};
		evtimer_add(h->position_retry, &tv);
		return;
	}
	h->reader = feed_subscribe(h->app->feed, id, hub_on_batch, h);
	h->pos = p;
	snprintf(h->pos_text, sizeof(h->pos_text), "%s", id);
	h->positioned = 1;
	h->stats.live = 1;
	log_info("push", "hub following cm:events", "after=%s", id);
	for (size_t k = 0; k < h->n_subs; k++)
		if (h->subs[k]->state == SUB_WAITING)
			sub_settle(h->subs[k]);
}

static void hub_position(struct hub *h)
{
	if (h->positioned || h->tail_inflight || h->stopping)
		return;
	if (!store_ready(h->app->store)) {
		struct timeval tv = {0, HUB_POSITION_MS * 1000};
		evtimer_add(h->position_retry, &tv);
		return;
	}
	h->tail_inflight = 1;
	backlog_tail(h->app->store, hub_tail_got, h);
}

static void hub_position_retry(evutil_socket_t fd, short what, void *arg)
{
	hub_position(arg);
}

/* ---- the hub ---- */

struct hub *hub_start(struct app *app)
{
	struct hub *h = xcalloc(1, sizeof(*h));
	const struct config *cfg = &app->cfg;
	h->app = app;
	h->idle.tv_sec = cfg->idle_timeout_s;
	h->position_retry = evtimer_new(app->base, hub_position_retry, h);
	h->reap = event_new(app->base, -1, 0, hub_reap, h);
	h->heartbeat = event_new(app->base, -1, EV_PERSIST, hub_heartbeat, h);
	h->scratch = evbuffer_new();
	h->sends = outlet_batch_new(cfg->events_io_uring);
	static const char ping[] = ": ping\n\n";
	const char *ping_frame = ping;
	size_t ping_len = sizeof(ping) - 1;
	h->ping = sse_block_new(&ping_frame, &ping_len, 1);
	/* Heartbeats must come more often than the idle timeout, which would end a silent stream.
	 */
	long every_ms = (long)cfg->events_heartbeat_s * 1000;
	if (every_ms > (long)cfg->idle_timeout_s * 500) {
		every_ms = (long)cfg->idle_timeout_s * 500;
		log_warn("push", "heartbeat shortened to half the idle timeout", "heartbeat_ms=%ld",
			 every_ms);
	}
	struct timeval every = {every_ms / 1000, (every_ms % 1000) * 1000};
	event_add(h->heartbeat, &every);
	hub_position(h);
	return h;
}

void hub_drain(struct hub *h)
{
	if (h == NULL)
		return;
	h->draining = 1;
	for (size_t k = 0; k < h->n_subs; k++)
		h->subs[k]->end = 1;
	hub_wake_reap(h);
}

void hub_stop(struct hub *h)
{
	if (h == NULL)
		return;
	h->stopping = 1;
	feed_unsubscribe(h->reader);
	for (size_t k = 0; k < h->n_subs; k++) {
		struct sub *s = h->subs[k];
		if (!s->done)
			sub_finish(s, s->out.fd >= 0 ? SUB_ENDED : SUB_CLOSED);
		if (s->out.fd >= 0)
			sub_close(s);
		char at[POSITION_MAX];
		if (s->page_inflight)
			log_error("push", "a catch-up call outlives the hub", "position=%s",
				  position_format(&s->pos, at));
		else
			sub_free(s);
	}
	free(h->subs);
	audiences_free(&h->auds);
	outlet_batch_free(h->sends);
	evbuffer_free(h->scratch);
	sse_block_release(h->ping);
	free(h->batch_pos);
	free(h->batch_ok);
	free(h->batch_frame);
	free(h->batch_len);
	event_free(h->position_retry);
	event_free(h->reap);
	event_free(h->heartbeat);
	free(h);
}

/* The stream's first bytes, its socket taken: the retry hint, then catch-up or live. */
static void sub_begin(struct sub *s)
{
	struct hub *h = s->h;
	sse_retry(h->scratch, h->app->cfg.events_retry_ms);
	sub_flush(s, 0);
	if (s->state == SUB_CATCHING_UP)
		sub_fetch(s);
	else
		sub_settle(s);
}

int hub_subscribe(struct hub *h, struct http_req *r, struct filter *f, const char *resume)
{
	if (h->draining)
		return -1;
	struct position from = {0, 0};
	int resuming = resume != NULL && position_parse(resume, &from) == 0;
	struct sub *s = xcalloc(1, sizeof(*s));
	s->out.fd = -1;
	s->h = h;
	s->r = r;
	s->ev = r->ev;
	s->evcon = evhttp_request_get_connection(r->ev);
	s->aud = audience_join(&h->auds, f);
	if (h->n_subs == h->cap_subs) {
		h->cap_subs = h->cap_subs ? h->cap_subs * 2 : 64;
		h->subs = xrealloc(h->subs, h->cap_subs * sizeof(*h->subs));
	}
	h->subs[h->n_subs++] = s;
	h->stats.subscribers++;
	if (resuming) {
		s->pos = from;
		s->state = SUB_CATCHING_UP;
	} else {
		s->fresh = 1;
	}
	hub_wake_reap(h); /* takes the socket (sub_take), or finishes a stream whose client left */
	if (s->evcon == NULL) {
		/* The client left while the request was being authenticated. */
		s->own_ev = 1;
		return 0;
	}
	evhttp_connection_set_closecb(s->evcon, sub_closed, s);
	struct evkeyvalq *hd = evhttp_request_get_output_headers(r->ev);
	evhttp_add_header(hd, "Content-Type", "text/event-stream; charset=utf-8");
	evhttp_add_header(hd, "Cache-Control", "no-store");
	evhttp_add_header(hd, "X-Request-Id", r->id);
	evhttp_add_header(hd, "X-Accel-Buffering", "no"); /* proxies: do not buffer the stream */
	evhttp_send_reply_start(r->ev, 200, "OK");
	s->chunked = r->ev->chunked;
	if (r->query) {
		evhttp_clear_headers(r->query);
		free(r->query);
		r->query = NULL;
	}
	return 0;
}

const struct hub_stats *hub_stats(const struct hub *h)
{
	return &h->stats;
}
