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

#include <jansson.h>

#include "server/store/redis.h"

struct event_base;

#define STORE_LIBRARY_VERSION "1"

struct store {
	struct redis *link;
	long events_maxlen; /* approximate cap on cm:events */
	int functions_loaded;
	int loading; /* a FUNCTION LOAD is in flight */
	unsigned long library_loads;
	struct event *reload; /* retries a failed load while the link is up */
};

/* Returns a new store connecting in the background, or NULL on a bad URL. */
struct store *store_new(struct event_base *base, const char *url, int timeout_ms);
void store_free(struct store *s);

/*
 * Outcome of a store call. Functions signal refusals with error replies that
 * start with a code (CM_NOTFOUND, CM_CONFLICT, CM_FORBIDDEN, CM_REFUSED,
 * CM_INVALID); the rest of the text is a message fit for a client.
 */
enum store_status {
	STORE_OK,
	STORE_NOT_FOUND,
	STORE_CONFLICT,
	STORE_FORBIDDEN,
	STORE_REFUSED,	   /* a precondition failed (state, quantity) */
	STORE_INVALID,	   /* the function found the input wrong */
	STORE_UNAVAILABLE, /* Redis missed the deadline or is away: 503 */
	STORE_FAILED,	   /* anything else: 500, logged */
};

struct store_reply {
	enum store_status status;
	json_t *value;	     /* the reply as JSON (strings, integers, arrays, null); borrowed */
	const char *message; /* for refusals and failures; borrowed */
};

/* Runs during the reply; copy (json_incref) what outlives it. */
typedef void (*store_cb)(const struct store_reply *res, void *arg);

#define STORE_MAX_ARGS 40

/*
 * FCALL (or FCALL_RO when read_only) fn with keys and args. arglens may be
 * NULL for NUL-terminated args. cb runs exactly once, never before return.
 */
void store_fcall(struct store *s, const char *fn, int read_only, int nkeys, const char **keys,
		 int nargs, const char **args, const size_t *arglens, store_cb cb, void *arg);

/* Ready: connected and the function library loaded. */
int store_ready(const struct store *s);

/*
 * Probes Redis with FCALL_RO cm_version; cb gets REDIS_DONE with a string
 * reply naming the loaded version, or an error reply when it is missing
 * (then a reload is started).
 */
void store_probe(struct store *s, redis_cb cb, void *arg);

#endif
