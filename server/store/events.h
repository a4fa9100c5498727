/*
 * events — reading the cm:events stream in order, on a link of its own.
 *
 * One reader issues XREAD BLOCK after XREAD and hands each batch to its
 * callback; the next read starts after the last id handed over, so nothing
 * is skipped or repeated. The blocking read has its own connection, so it
 * never delays the store's commands. Reconnects like any link.
 */
#ifndef CM_STORE_EVENTS_H
#define CM_STORE_EVENTS_H

#include <stddef.h>

struct event_base;
struct events_reader;

#define EVENTS_MAX_FIELDS 32

/* One stream entry; every string is borrowed for the callback's duration. */
struct events_entry {
	const char *id;
	const char *type; /* the "type" field, or "" */
	size_t n;
	const char *names[EVENTS_MAX_FIELDS];
	const char *values[EVENTS_MAX_FIELDS];
};

/* The value of a field, or "" when absent. */
const char *events_field(const struct events_entry *e, const char *name);
/* The millisecond part of a stream id (when Redis appended it). */
long long events_id_ms(const char *id);
/* "<ms>-<seq>" as two numbers, as strtoull reads them (a missing seq: 0). */
void events_id_split(const char *id, unsigned long long *ms, unsigned long long *seq);
/* <0, 0 or >0 as stream id a is before, at or after b (ids as Redis makes them). */
int events_id_cmp(const char *a, const char *b);

struct redisReply;
/*
 * The entries of an XREAD reply for one stream into *batch (grown as
 * needed, *cap entries); strings borrowed from reply. Returns how many.
 */
size_t events_parse_reply(const struct redisReply *reply, struct events_entry **batch, size_t *cap);

typedef void (*events_batch_cb)(struct events_reader *rd, const struct events_entry *entries,
				size_t n, void *arg);

/*
 * Starts reading after start_id ("0-0" for everything kept, "$" for new
 * entries only). block_ms bounds each XREAD; timeout_ms is the extra
 * deadline on top of it.
 */
struct redis_locator;
struct events_reader *events_reader_new(struct event_base *base, const char *url,
					const struct redis_locator *via, const char *start_id,
					int block_ms, int timeout_ms, events_batch_cb cb,
					void *arg);
void events_reader_free(struct events_reader *rd);
/* The id of the last entry handed to the callback (or the start id). */
const char *events_reader_last_id(const struct events_reader *rd);
int events_reader_connected(const struct events_reader *rd);

#endif
