/*
 * store — craftmatch's access to Redis, the system of record.
 *
 * Handlers never speak Redis: they call store_* functions, which send argv
 * commands (mostly FCALL into the craftmatch function library) over the
 * store's link and report back through a callback. This file owns the link
 * and the function library's life: loaded after every (re)connect, reloaded
 * when a probe finds it missing.
 */
#ifndef CM_STORE_H
#define CM_STORE_H

#include "server/store/redis.h"

struct event_base;

#define STORE_LIBRARY_VERSION "1"

struct store {
	struct redis *link;
	int functions_loaded;
	unsigned long library_loads;
};

/* Returns a new store connecting in the background, or NULL on a bad URL. */
struct store *store_new(struct event_base *base, const char *url, int timeout_ms);
void store_free(struct store *s);

/* Ready: connected and the function library loaded. */
int store_ready(const struct store *s);

/*
 * Probes Redis with FCALL_RO cm_version; cb gets REDIS_DONE with a string
 * reply naming the loaded version, or an error reply when it is missing
 * (then a reload is started).
 */
void store_probe(struct store *s, redis_cb cb, void *arg);

#endif
