/*
 * events — the cm:events reader (see events.h).
 */
#include "server/store/events.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "common/digits.h"
#include "common/xalloc.h"
#include "server/log.h"
#include "server/store/keys.h"
#include "server/store/redis.h"

#define EVENTS_BATCH "500"
#define EVENTS_RETRY_MS 100

struct events_reader {
	struct event_base *base;
	struct redis *link;
	char last_id[48];
	char block[16];
	int block_ms;
	int reading;
	int closing;
	struct event *retry;
	struct event *floor_retry; /* XSETID again: the primary said "not yet" */
	int floor_failing;
	events_batch_cb cb;
	void *arg;
	struct events_entry *batch;
	size_t batch_cap;
};

const char *events_field(const struct events_entry *e, const char *name)
{
	/*
	 * The first two bytes before strcmp: each reader asks a few fields of
	 * every entry, and a call of strcmp per field looked at was 8,700
	 * instructions per POST (its own event, read back by the engine, the
	 * search index and the hub).
	 */
	for (size_t i = 0; i < e->n; i++) {
		const char *n = e->names[i];
		if (n[0] == name[0] &&
		    (name[0] == '\0' || (n[1] == name[1] && strcmp(n + 1, name + 1) == 0)))
			return e->values[i];
	}
	return "";
}

long long events_id_ms(const char *id)
{
	return digits_strtoll(id); /* atoll, without its cost */
}

void events_id_split(const char *id, unsigned long long *ms, unsigned long long *seq)
{
	const char *end;
	*ms = digits_strtoull(id, &end);
	*seq = *end == '-' ? digits_strtoull(end + 1, &end) : 0;
}

int events_id_cmp(const char *a, const char *b)
{
	unsigned long long ams, aseq, bms, bseq;
	events_id_split(a, &ams, &aseq);
	events_id_split(b, &bms, &bseq);
	if (ams != bms)
		return ams < bms ? -1 : 1;
	return aseq < bseq ? -1 : aseq > bseq;
}

size_t events_parse_reply(const redisReply *reply, struct events_entry **batch, size_t *cap)
{
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
		return 0;
	redisReply *stream = reply->element[0];
	redisReply *entries =
	    stream->type == REDIS_REPLY_ARRAY && stream->elements == 2 ? stream->element[1] : NULL;
	size_t n = entries && entries->type == REDIS_REPLY_ARRAY ? entries->elements : 0;
	if (n > *cap) {
		*cap = n;
		*batch = xrealloc(*batch, n * sizeof(**batch));
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		redisReply *e = entries->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
			continue;
		struct events_entry *out = &(*batch)[k++];
		out->id = e->element[0]->str;
		out->type = "";
		out->n = 0;
		redisReply *f = e->element[1];
		for (size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements &&
				   out->n < EVENTS_MAX_FIELDS;
		     j += 2) {
			out->names[out->n] = f->element[j]->str;
			out->values[out->n] = f->element[j + 1]->str;
			if (strcmp(out->names[out->n], "type") == 0)
				out->type = out->values[out->n];
			out->n++;
		}
	}
	return k;
}

static void events_read(struct events_reader *rd);

static void events_retry_later(struct events_reader *rd)
{
	struct timeval tv = {0, EVENTS_RETRY_MS * 1000};
	evtimer_add(rd->retry, &tv);
}

static void events_got(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct events_reader *rd = arg;
	rd->reading = 0;
	if (rd->closing)
		return;
	if (st != REDIS_DONE || reply->type == REDIS_REPLY_ERROR) {
		if (st == REDIS_DONE)
			log_warn("events", "read failed", "error=\"%s\"", reply->str);
		events_retry_later(rd);
		return;
	}
	size_t k = events_parse_reply(reply, &rd->batch, &rd->batch_cap);
	if (k > 0) {
		snprintf(rd->last_id, sizeof(rd->last_id), "%s", rd->batch[k - 1].id);
		rd->cb(rd, rd->batch, k, rd->arg);
		if (rd->closing)
			return;
	}
	events_read(rd);
}

static void events_read(struct events_reader *rd)
{
	if (rd->reading || rd->closing)
		return;
	if (!redis_ready(rd->link)) {
		events_retry_later(rd);
		return;
	}
	rd->reading = 1;
	const char *argv[] = {"XREAD",	 "COUNT",   EVENTS_BATCH, "BLOCK",
			      rd->block, "STREAMS", KEY_EVENTS,	  rd->last_id};
	size_t lens[8];
	for (int i = 0; i < 8; i++)
		lens[i] = strlen(argv[i]);
	redis_command(rd->link, events_got, rd, 8, argv, lens, -1);
}

static void events_floor(struct events_reader *rd);

/*
 * XSETID answered. Done: raised, or refused because the stream already
 * reaches past it, or gone (no entry yet: the clock orders the first).
 * "Not yet" (NOREPLICAS from a primary with no replica attached yet,
 * LOADING...) or no answer in time: asked again soon, the link not ready
 * meanwhile, so that nothing is read from this primary before the floor
 * holds. A READONLY answer has already dropped the link (redis.c); a lost
 * link redials and raises it again on connecting.
 */
static void events_floor_set(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct events_reader *rd = arg;
	if (rd->closing || !redis_connected(r))
		return;
	if (st != REDIS_DONE || (reply->type == REDIS_REPLY_ERROR &&
				 redis_error_kind(reply->str) == REDIS_ERROR_NOT_READY)) {
		if (!rd->floor_failing)
			log_warn("events", "cannot raise the stream's last id yet, retrying",
				 "last_id=%s error=\"%.200s\"", rd->last_id,
				 st == REDIS_DONE ? reply->str : "no answer within the deadline");
		rd->floor_failing = 1;
		struct timeval tv = {0, EVENTS_RETRY_MS * 1000};
		evtimer_add(rd->floor_retry, &tv);
		return;
	}
	if (rd->floor_failing)
		log_info("events", "stream's last id raised", "last_id=%s", rd->last_id);
	rd->floor_failing = 0;
	redis_set_ready(r, 1);
}

static void events_floor(struct events_reader *rd)
{
	if (rd->closing || !redis_connected(rd->link) || redis_ready(rd->link))
		return;
	redis_commandv(rd->link, events_floor_set, rd, -1, 3, "XSETID", KEY_EVENTS, rd->last_id);
}

static void events_floor_again(evutil_socket_t fd, short what, void *arg)
{
	events_floor(arg);
}

/*
 * With sentinels, a link may land on a new primary that lacks the last
 * entries this reader handed out (a replica promoted behind its primary:
 * local durability, or the event of a change whose WAIT failed). XSETID
 * raises the stream's last id to ours, so every entry appended from now on
 * is after what any consumer of this reader (an SSE subscriber's
 * Last-Event-ID, the engine's cursor) has seen, whatever the new primary's
 * clock: a resume neither skips nor repeats. Redis refuses an id below the
 * stream's last entry, so this never moves the stream back. The link is
 * ready once it holds (events_floor_set).
 */
static void events_on_connect(struct redis *r, void *arg)
{
	struct events_reader *rd = arg;
	if (strchr(rd->last_id, '-') && strcmp(rd->last_id, "0-0") != 0)
		events_floor(rd);
	else
		redis_set_ready(r, 1);
}

static void events_retry(evutil_socket_t fd, short what, void *arg)
{
	events_read(arg);
}

struct events_reader *events_reader_new(struct event_base *base, const char *url,
					const struct redis_locator *via, const char *start_id,
					int block_ms, int timeout_ms, events_batch_cb cb, void *arg)
{
	struct events_reader *rd = xcalloc(1, sizeof(*rd));
	rd->link = redis_new(base, url, via, block_ms + timeout_ms, "events");
	if (rd->link == NULL) {
		free(rd);
		return NULL;
	}
	rd->base = base;
	rd->block_ms = block_ms;
	snprintf(rd->block, sizeof(rd->block), "%d", block_ms);
	snprintf(rd->last_id, sizeof(rd->last_id), "%s", start_id);
	rd->cb = cb;
	rd->arg = arg;
	rd->retry = evtimer_new(base, events_retry, rd);
	rd->floor_retry = evtimer_new(base, events_floor_again, rd);
	if (via)
		redis_set_connect_hook(rd->link, events_on_connect, rd);
	events_retry_later(rd);
	return rd;
}

void events_reader_free(struct events_reader *rd)
{
	if (rd == NULL)
		return;
	rd->closing = 1;
	redis_free(rd->link); /* a pending read ends with REDIS_DOWN and sees closing */
	event_free(rd->retry);
	event_free(rd->floor_retry);
	free(rd->batch);
	free(rd);
}

const char *events_reader_last_id(const struct events_reader *rd)
{
	return rd->last_id;
}

int events_reader_connected(const struct events_reader *rd)
{
	return redis_ready(rd->link);
}
