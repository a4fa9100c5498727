/*
 * snapshot — paged reads of the engine's hashes of open listings (see
 * snapshot.h).
 */
#include "server/store/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/materials.h"
#include "common/xalloc.h"
#include "server/store/keys.h"

/* Hashes scanned at once: one page read by Redis while one is decoded. */
#define SNAPSHOT_LANES 2

struct snapshot {
	struct store *s;
	snapshot_row_cb row;
	snapshot_done_cb done;
	void *arg;
	char count[16]; /* HSCAN COUNT */
	int in_flight;	/* scans awaited */
	int failed;
	size_t next_hash; /* the next of the 2 × materials_count() hashes to scan */
};

/* One hash being scanned. */
struct snapshot_lane {
	struct snapshot *sn;
	char key[KEYS_MAX];
	const char *kind, *material;
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

/* One entry of a hash: "REMAINING VERSION SEQ RECORD[\nSEARCH]". */
static void snapshot_entry(struct snapshot *sn, const struct snapshot_lane *lane,
			   const redisReply *field, redisReply *value)
{
	if (field->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
		return;
	/* Three decimal numbers, each followed by a space (strtoll costs more). */
	char *p = value->str;
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
	struct snapshot_row row = {.id = field->str,
				   .kind = lane->kind,
				   .material = lane->material,
				   .record = p,
				   .remaining = v[0],
				   .version = v[1],
				   .seq = v[2]};
	/* The reply is this call's: the record ends where the search part starts. */
	char *nl = memchr(p, '\n', value->len - (size_t)(p - value->str));
	if (nl) {
		*nl = '\0';
		row.search = nl + 1;
		row.search_len = value->len - (size_t)(row.search - value->str);
	}
	sn->row(sn->arg, &row);
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
			snapshot_entry(sn, lane, kv->element[i], kv->element[i + 1]);
	const char *cursor = reply->element[0]->str;
	if (sn->failed) {
		free(lane);
		snapshot_returned(sn);
	} else if (strcmp(cursor, "0") != 0) {
		/* The call stays in flight: this lane goes on with the same hash. */
		redis_commandv(r, snapshot_scanned, lane, -1, 5, "HSCAN", lane->key, cursor,
			       "COUNT", sn->count);
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
	lane->material = code;
	lane->kind = i % 2 == 0 ? "need" : "offer";
	if (i % 2 == 0)
		keys_eng(lane->key, "need", code);
	else
		keys_eng(lane->key, "offer", code);
	redis_commandv(sn->s->link, snapshot_scanned, lane, -1, 5, "HSCAN", lane->key, "0", "COUNT",
		       sn->count);
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

void snapshot_run(struct store *s, int page, snapshot_row_cb row, snapshot_done_cb done, void *arg)
{
	struct snapshot *sn = xcalloc(1, sizeof(*sn));
	sn->s = s;
	sn->row = row;
	sn->done = done;
	sn->arg = arg;
	snprintf(sn->count, sizeof(sn->count), "%d", page);
	snapshot_scan(sn);
}
