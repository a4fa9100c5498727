/*
 * redis — one asynchronous Redis connection that never blocks the loop.
 *
 * Wraps hiredis' async API on libevent with what hiredis 0.14 lacks:
 *  - a deadline on every command (a timer per call): the callback runs with
 *    REDIS_TIMEOUT when it passes, and the late reply is dropped;
 *  - reconnection with exponential backoff when Redis goes away or refuses
 *    the link (an error to AUTH, SELECT or the first PING: a wrong password,
 *    NOAUTH, protected mode's DENIED), counted; the backoff resets only when
 *    a link becomes ready, so a Redis that accepts connections and refuses
 *    every command is dialled less and less often, one log line per dial;
 *  - a hook run after each (re)connect once PING answered, before the link
 *    counts as ready (store checks and loads its function library there).
 * Commands are always argv with lengths: user text never meets a format.
 */
#ifndef CM_STORE_REDIS_H
#define CM_STORE_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct redis;

enum redis_status {
	REDIS_DONE,    /* reply is set (it may be a Redis error reply) */
	REDIS_TIMEOUT, /* the deadline passed first */
	REDIS_DOWN,    /* no connection, or it dropped before the reply */
};

/* reply is owned by hiredis and valid only during the call; NULL unless REDIS_DONE. */
typedef void (*redis_cb)(struct redis *r, enum redis_status st, redisReply *reply, void *arg);

/*
 * Called on every (re)connect once PING answered; call redis_set_ready(r, 1)
 * when the link is usable, or redis_refuse() when it is not.
 */
typedef void (*redis_connect_hook)(struct redis *r, void *arg);

struct redis_stats {
	uint64_t reconnects; /* links made ready after the first */
	uint64_t disconnects;
	uint64_t refusals; /* links dropped before they became ready */
	uint64_t timeouts;
	uint64_t commands;
	uint64_t pending;
};

/*
 * Parses redis://[:password@]host[:port][/db]. Returns 0, or -1 with a reason.
 * host is written into hostbuf.
 */
int redis_url_parse(const char *url, char *host, size_t hostlen, int *port, char *password,
		    size_t pwlen, int *db, const char **why);

struct sentinel;
/*
 * Returns a new link (connecting in the background), or NULL with a bad URL.
 * With via (--sentinels) the URL gives only the password and database: the
 * link dials the primary the sentinels name, checks with ROLE that it is
 * the primary before it is ready, and asks them again when it drops, cannot
 * connect, or has a command refused with READONLY (sentinel.h).
 */
struct redis *redis_new(struct event_base *base, const char *url, struct sentinel *via,
			int timeout_ms, const char *name);
/* The sentinels named a primary (maybe a new one): move there, or dial, as needed. */
void redis_follow_primary(struct redis *r);
/* With sentinels, why no primary is usable yet ("" when one is known, or no sentinels). */
const char *redis_waiting_for(const struct redis *r);
void redis_set_connect_hook(struct redis *r, redis_connect_hook hook, void *arg);
/* Closes the link; pending callbacks run with REDIS_DOWN before it returns. */
void redis_free(struct redis *r);

/*
 * Sends argv; cb runs exactly once, never before this returns.
 * timeout_ms < 0 uses the link's default; 0 means no deadline (blocking
 * reads such as XREAD BLOCK, which carry their own).
 */
void redis_command(struct redis *r, redis_cb cb, void *arg, int argc, const char **argv,
		   const size_t *argvlen, int timeout_ms);
/* Convenience for NUL-terminated server-made arguments. */
void redis_commandv(struct redis *r, redis_cb cb, void *arg, int timeout_ms, int argc, ...);

int redis_connected(const struct redis *r);
int redis_ready(const struct redis *r);
/* Ready 1 also resets the reconnection backoff: the link proved usable. */
void redis_set_ready(struct redis *r, int ready);
/* Drops a link Redis will not serve (why: its error reply) and redials after the backoff. */
void redis_refuse(struct redis *r, const char *why);
/* Why the last link was refused, or "" (none since the last ready link). */
const char *redis_refusal(const struct redis *r);
/* Drops the connection and reconnects (used when the link looks wedged). */
void redis_reconnect(struct redis *r);
const struct redis_stats *redis_stats(const struct redis *r);

/* What an error reply says about the server. */
enum redis_error_kind {
	REDIS_ERROR_OTHER,     /* about the command */
	REDIS_ERROR_NOT_READY, /* not yet: LOADING, BUSY, MASTERDOWN, READONLY, ... (retry) */
	REDIS_ERROR_REFUSED,   /* not for us: NOAUTH, WRONGPASS, DENIED, NOPERM */
};
enum redis_error_kind redis_error_kind(const char *err);
const char *redis_name(const struct redis *r);

#endif
