/*
 * store — craftmatch's access to Redis, the system of record.
 *
 * Handlers never speak Redis: they call store_* functions, which send argv
 * commands (mostly FCALL into the craftmatch function library) over the
 * store's link and report back through a callback. This file owns the link;
 * library.h the function library's life in Redis.
 */
#ifndef CM_STORE_H
#define CM_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "server/store/library.h"
#include "server/store/redis.h"

struct event_base;
struct redis_locator;

struct store {
	struct event_base *base;
	struct redis *link;
	struct library *library; /* its life in Redis: checked, loaded, verified */
	long events_maxlen;	 /* approximate cap on cm:events */
	struct store_as *as;	 /* the credential the next write carries (store_as) */
	int timeout_ms;		 /* the link's deadline (--redis-timeout-ms) */
	/*
	 * --durability replicated: every write (FCALL) is followed on the same
	 * link by WAIT durability_replicas durability_timeout_ms, and its
	 * answer is given only when WAIT counted that many replicas; fewer
	 * answers STORE_UNCONFIRMED. 0: local (the primary's answer is enough).
	 */
	int durability_replicas;
	int durability_timeout_ms;
	uint64_t unconfirmed; /* writes WAIT did not confirm in time */
};

/*
 * Returns a new store connecting in the background, or NULL on a bad URL.
 * via: the sentinels naming the primary (NULL: the URL's host and port).
 */
struct store *store_new(struct event_base *base, const char *url, const struct redis_locator *via,
			int timeout_ms);
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
	STORE_REAUTH, /* a write's credential no longer stands as sent (store_as): nothing written
		       */
	STORE_UNCONFIRMED, /* replicated durability: the write ran on the primary, but WAIT did
			      not see it on enough replicas in time; it may be lost in a failover
			      (503: retry with the same Idempotency-Key) */
};

struct store_reply {
	enum store_status status;
	json_t *value;	     /* the reply as JSON (strings, integers, arrays, null); borrowed */
	const char *message; /* for refusals and failures; borrowed */
};

/*
 * The rows a store call answers are JSON arrays whose fields are read by
 * name: each header below gives an enum of its rows' fields, and these read
 * one. A missing field reads as NULL (or 0): the callers check what they need.
 */
const json_t *store_field(const json_t *row, size_t field);
/* The field as text, or NULL when it is absent or not a string. */
const char *store_field_str(const json_t *row, size_t field);
/* The field as an integer (a Redis integer or decimal text), 0 when absent. */
int64_t store_field_int(const json_t *row, size_t field);

/* Every create answers ["created"|"replay", id] or ["created"|"replay", id, row]. */
enum store_created_field { STORE_CREATED_OUTCOME, STORE_CREATED_ID, STORE_CREATED_ROW };
/* Every search answers [next cursor or "", rows]; each row is [id, fields...]. */
enum store_page_field { STORE_PAGE_NEXT, STORE_PAGE_ROWS };

/* Runs during the reply; copy (json_incref) what outlives it. */
typedef void (*store_cb)(const struct store_reply *res, void *arg);

/* Keys + args passed without a heap allocation (more are allowed). */
#define STORE_MAX_ARGS 40

/*
 * FCALL (or FCALL_RO when read_only) fn with keys and args. arglens may be
 * NULL for NUL-terminated args. cb runs exactly once, never before return.
 */
void store_fcall(struct store *s, const char *fn, int read_only, int nkeys, const char **keys,
		 int nargs, const char **args, const size_t *arglens, store_cb cb, void *arg);
/*
 * A start's loads (the engine's and the search index's pages) have no
 * deadline per command: hundreds of pages are pipelined on the link, and
 * under load a command behind them may pass any deadline while Redis is
 * answering, which would start the whole load over. The link's watchdog
 * drops a Redis that stops answering, which ends every command (REDIS_DOWN).
 */
#define STORE_LOAD_DEADLINE 0

/* The same with its own deadline in ms (-1: the link's, --redis-timeout-ms; 0: none). */
void store_fcall_deadline(struct store *s, const char *fn, int read_only, int nkeys,
			  const char **keys, int nargs, const char **args, const size_t *arglens,
			  int timeout_ms, store_cb cb, void *arg);

/*
 * A write on the strength of a credential not yet checked for this request:
 * the account a cached answer of cm_auth (or cm_session_auth) named for it.
 * While store_as(s, as) is in force, the first FCALL (not FCALL_RO) made
 * goes through cm_as, which checks in the same atomic call that the
 * credential still stands for that account, that the account is not
 * suspended and is still at that version, and only then runs the write;
 * otherwise nothing is written and the call answers STORE_REAUTH. Set it
 * right before the store call and clear it (NULL) right after: the event
 * loop runs one handler at a time, and only the one write made in between
 * carries it.
 */
struct store_as {
	int session;	  /* the credential is a session (else a bearer token) */
	char hash[65];	  /* the SHA-256 (hex) of its secret */
	char account[48]; /* the account id it stood for */
	char version[24]; /* that account's version */
	/* Set by the store before the write's callback runs: */
	int checked; /* cm_as checked the credential and ran the write (whatever it answered) */
	int refused; /* cm_as refused it: STORE_REAUTH */
};
void store_as(struct store *s, struct store_as *as);

/* FCALL_RO fn on one key with no arguments: every plain read of the store. */
void store_read(struct store *s, const char *fn, const char *key, store_cb cb, void *arg);

/* The cap on cm:events (s->events_maxlen) as a decimal argument for a write's function. */
void store_maxlen_arg(const struct store *s, char buf[24]);

/*
 * Ready: connected, and the function library in Redis is one this build
 * works with. A call made while not ready is answered STORE_UNAVAILABLE
 * with store_why(), without reaching Redis.
 */
int store_ready(const struct store *s);
/* Why the store is not ready (for /readyz and 503s); valid until the next call. */
const char *store_why(struct store *s);

/*
 * Asks Redis for the loaded library's version now (FCALL_RO cm_version);
 * cb gets 1, or 0 with the reason. A library missing or older is loaded
 * again; a newer one this build cannot use makes the store not ready.
 */
void store_probe(struct store *s, library_probe_cb cb, void *arg);

#endif
