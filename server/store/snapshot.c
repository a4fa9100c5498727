/*
 * snapshot — paged reads of the engine's hashes of open listings (see
 * snapshot.h).
 */
#include "server/store/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/materials.h"
#include "common/xalloc.h"
#include "server/store/keys.h"

/* Hashes scanned at once: one page read by Redis while one is decoded. */
#define SNAPSHOT_LANES 2
/* Open listings brought over per cm_engine_backfill call (a Lua loop: kept short). */
#define SNAPSHOT_BACKFILL_PAGE "500"

struct snapshot {
	struct store *s;
	snapshot_row_cb row;
	snapshot_done_cb done;
	void *arg;
	char count[16];	  /* HSCAN COUNT */
	int in_flight;	  /* calls awaited: marker, backfill, scans, documents */
	int failed;
	size_t next_hash; /* the next of the 2 × materials_count() hashes to scan */
};

/* One hash being scanned. */
struct snapshot_lane {
	struct snapshot *sn;
	char key[KEYS_MAX];
};

/* A listing without an engine record, waiting for its document. */
struct snapshot_doc {
	struct snapshot *sn;
	char id[IDS_MAX];
	int64_t remaining, version, seq;
};

static void snapshot_scan_next(struct snapshot *sn, struct snapshot_lane *lane);

/* A call came back: the run ends after the last one. */
static void snapshot_returned(struct snapshot *sn)
{
	if (--sn->in_flight == 0) {
		sn->done(sn->arg, !sn->failed);
		free(sn);
	}
}

static void snapshot_doc_read(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot_doc *d = arg;
	struct snapshot *sn = d->sn;
	if (st != REDIS_DONE || reply->type == REDIS_REPLY_ERROR)
		sn->failed = 1;
	else if (reply->type == REDIS_REPLY_STRING && !sn->failed)
		sn->row(sn->arg, d->id, reply->str, d->remaining, d->version, d->seq);
	/* nil: the listing is gone since; its event tells the engine. */
	free(d);
	snapshot_returned(sn);
}

/*
 * One entry of a hash: "REMAINING VERSION SEQ RECORD". An empty RECORD
 * (posted before engine records) sends for the listing's document.
 */
static void snapshot_entry(struct snapshot *sn, const redisReply *field, const redisReply *value)
{
	if (field->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
		return;
	/* Three decimal numbers, each followed by a space (strtoll costs more). */
	const char *p = value->str;
	int64_t v[3];
	for (int i = 0; i < 3; i++) {
		const char *start = p;
		v[i] = 0;
		for (; *p >= '0' && *p <= '9' && p - start < 18; p++)
			v[i] = v[i] * 10 + (*p - '0');
		if (p == start || *p != ' ')
			return;
		p++;
	}
	if (*p) {
		sn->row(sn->arg, field->str, p, v[0], v[1], v[2]);
		return;
	}
	if (!ids_valid("lst", field->str))
		return;
	struct snapshot_doc *d = xcalloc(1, sizeof(*d));
	d->sn = sn;
	snprintf(d->id, sizeof(d->id), "%s", field->str);
	d->remaining = v[0];
	d->version = v[1];
	d->seq = v[2];
	char key[KEYS_MAX];
	keys_listing(key, d->id);
	sn->in_flight++;
	redis_commandv(sn->s->link, snapshot_doc_read, d, -1, 3, "HGET", key, "doc");
}

static void snapshot_scanned(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot_lane *lane = arg;
	struct snapshot *sn = lane->sn;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		sn->failed = 1;
		free(lane);
		snapshot_returned(sn);
		return;
	}
	const redisReply *kv = reply->element[1];
	if (!sn->failed)
		for (size_t i = 0; i + 1 < kv->elements; i += 2)
			snapshot_entry(sn, kv->element[i], kv->element[i + 1]);
	const char *cursor = reply->element[0]->str;
	if (sn->failed) {
		free(lane);
		snapshot_returned(sn);
	} else if (strcmp(cursor, "0") != 0) {
		/* The call stays in flight: this lane goes on with the same hash. */
		redis_commandv(r, snapshot_scanned, lane, -1, 5, "HSCAN", lane->key, cursor, "COUNT",
			       sn->count);
	} else {
		snapshot_scan_next(sn, lane);
	}
}

/* Starts the lane on the next hash not yet scanned, or ends it. */
static void snapshot_scan_next(struct snapshot *sn, struct snapshot_lane *lane)
{
	size_t n = materials_count();
	if (sn->failed || sn->next_hash >= 2 * n) {
		free(lane);
		snapshot_returned(sn);
		return;
	}
	size_t i = sn->next_hash++;
	const char *code = materials_at(i / 2)->code;
	if (i % 2 == 0)
		keys_eng(lane->key, "need", code);
	else
		keys_eng(lane->key, "offer", code);
	redis_commandv(sn->s->link, snapshot_scanned, lane, -1, 5, "HSCAN", lane->key, "0",
		       "COUNT", sn->count);
}

static void snapshot_scan(struct snapshot *sn)
{
	for (int i = 0; i < SNAPSHOT_LANES; i++) {
		struct snapshot_lane *lane = xcalloc(1, sizeof(*lane));
		lane->sn = sn;
		sn->in_flight++;
		snapshot_scan_next(sn, lane);
	}
}

static void snapshot_backfill(struct snapshot *sn, const char *cursor);

static void snapshot_backfilled(struct redis *r, enum redis_status st, redisReply *reply,
				void *arg)
{
	struct snapshot *sn = arg;
	if (st != REDIS_DONE || reply->type != REDIS_REPLY_STRING)
		sn->failed = 1;
	else if (reply->len > 0)
		snapshot_backfill(sn, reply->str);
	else
		snapshot_scan(sn);
	snapshot_returned(sn);
}

/* One page of cm_engine_backfill after cursor ('' first). */
static void snapshot_backfill(struct snapshot *sn, const char *cursor)
{
	size_t n = materials_count();
	const char **argv = xcalloc(7 + n, sizeof(*argv));
	size_t *lens = xcalloc(7 + n, sizeof(*lens));
	int argc = 0;
	argv[argc++] = "FCALL";
	argv[argc++] = "cm_engine_backfill";
	argv[argc++] = "2";
	argv[argc++] = "cm:listings:status:open";
	argv[argc++] = KEY_ENGINE_BACKFILLED;
	argv[argc++] = cursor;
	argv[argc++] = SNAPSHOT_BACKFILL_PAGE;
	for (size_t i = 0; i < n; i++)
		argv[argc++] = materials_at(i)->code;
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	sn->in_flight++;
	redis_command(sn->s->link, snapshot_backfilled, sn, argc, argv, lens, -1);
	free(argv);
	free(lens);
}

static void snapshot_marker(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct snapshot *sn = arg;
	if (st != REDIS_DONE || reply->type == REDIS_REPLY_ERROR)
		sn->failed = 1;
	else if (reply->type == REDIS_REPLY_STRING)
		snapshot_scan(sn);
	else
		snapshot_backfill(sn, "");
	snapshot_returned(sn);
}

void snapshot_run(struct store *s, int page, snapshot_row_cb row, snapshot_done_cb done,
		  void *arg)
{
	struct snapshot *sn = xcalloc(1, sizeof(*sn));
	sn->s = s;
	sn->row = row;
	sn->done = done;
	sn->arg = arg;
	snprintf(sn->count, sizeof(sn->count), "%d", page);
	sn->in_flight = 1;
	redis_commandv(s->link, snapshot_marker, sn, -1, 2, "GET", KEY_ENGINE_BACKFILLED);
}
