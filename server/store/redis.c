/*
 * redis — async Redis link with deadlines and reconnection (see redis.h).
 *
 * Ownership of a call: struct redis_call is handed to hiredis as privdata and
 * freed in the hiredis callback, which hiredis always runs exactly once (with
 * a NULL reply when the link drops or is freed). The deadline timer only marks
 * the call finished and tells the caller; it never frees the call.
 */
#include "server/store/redis.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/digits.h"
#include "common/xalloc.h"
#include "server/log.h"

#define REDIS_BACKOFF_MIN_MS 50
#define REDIS_BACKOFF_MAX_MS 2000
#define REDIS_CONNECT_TIMEOUT_MS 2000
#define REDIS_MAX_PENDING 100000
/* A link whose pings miss this many deadlines in a row is dropped and redialled. */
#define REDIS_WATCHDOG_MISSES 3
/* A link without a hook asks again this soon when PING says "not yet" (LOADING...). */
#define REDIS_NOT_READY_RETRY_MS 100

struct redis {
	struct event_base *base;
	char *name;
	char host[256];
	int port;
	char password[256];
	int db;
	int timeout_ms;

	redisAsyncContext *ac;
	int connected; /* TCP up: AUTH, SELECT and PING sent */
	int ready;     /* PING answered and the connect hook finished */
	int proved;    /* this connection has been ready once */
	int ever_connected;
	/* Grows with each dial that does not end in a usable link; reset only by ready. */
	int backoff_ms;
	char refusal[256]; /* why the last link was refused ("" once one is usable) */
	int closing;
	struct event *retry_timer;
	struct event *connect_timer;
	struct event *watchdog_timer;
	struct event *ping_timer; /* PING again: Redis said "not yet" */
	int watchdog_misses;
	int watchdog_inflight;

	redis_connect_hook hook;
	void *hook_arg;
	struct redis_stats stats;

	/* With --sentinels: the primary is whatever they name (host and port above
	 * are where this link last dialled). */
	const struct redis_locator *via;
	uint64_t dialled_epoch; /* the primary's epoch when it last dialled */
	int moving;		/* dropped because the primary moved: no discovery */
};

struct redis_call {
	struct redis *r;
	redis_cb cb;
	void *arg;
	struct event *timer;
	int finished; /* caller already told (timeout or down) */
	int in_hiredis;
};

static void redis_connect_now(struct redis *r);

int redis_url_parse(const char *url, char *host, size_t hostlen, int *port, char *password,
		    size_t pwlen, int *db, const char **why)
{
	*port = 6379;
	*db = 0;
	password[0] = '\0';
	if (strncmp(url, "redis://", 8) != 0) {
		*why = "must start with redis://";
		return -1;
	}
	const char *p = url + 8;
	const char *at = strrchr(p, '@');
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		const char *pw = colon ? colon + 1 : p;
		size_t l = (size_t)(at - pw);
		if (l >= pwlen) {
			*why = "password too long";
			return -1;
		}
		memcpy(password, pw, l);
		password[l] = '\0';
		p = at + 1;
	}
	const char *end = p + strcspn(p, ":/");
	size_t hl = (size_t)(end - p);
	if (hl == 0 || hl >= hostlen) {
		*why = "missing or too long host";
		return -1;
	}
	memcpy(host, p, hl);
	host[hl] = '\0';
	p = end;
	if (*p == ':') {
		char *e;
		long v = strtol(p + 1, &e, 10);
		if (e == p + 1 || v < 1 || v > 65535) {
			*why = "bad port";
			return -1;
		}
		*port = (int)v;
		p = e;
	}
	if (*p == '/' && p[1]) {
		char *e;
		long v = strtol(p + 1, &e, 10);
		if (e == p + 1 || *e || v < 0 || v > 1000) {
			*why = "bad database number";
			return -1;
		}
		*db = (int)v;
		p = e;
	} else if (*p == '/') {
		p++;
	}
	if (*p) {
		*why = "unexpected text after host and port";
		return -1;
	}
	return 0;
}

static void redis_call_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct redis_call *c = arg;
	if (!c->in_hiredis) {
		/* Never sent: the link was down. */
		if (c->cb)
			c->cb(c->r, REDIS_DOWN, NULL, c->arg);
		event_free(c->timer);
		free(c);
		return;
	}
	c->finished = 1;
	c->r->stats.timeouts++;
	if (c->cb)
		c->cb(c->r, REDIS_TIMEOUT, NULL, c->arg);
}

static void redis_call_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
	struct redis_call *c = privdata;
	struct redis *r = c->r;
	const redisReply *rp = reply;
	r->stats.pending--;
	if (r->via && rp && rp->type == REDIS_REPLY_ERROR && strncmp(rp->str, "READONLY", 8) == 0 &&
	    r->ac == ac) {
		/* The primary we dialled was demoted: it is a replica now. Dropped before
		 * the caller hears of it (the reply stays valid), so nothing more is sent
		 * there; its 503 follows (redis_error_kind). */
		redis_refuse(r, "the server became a replica (READONLY)");
	}
	if (!c->finished) {
		c->finished = 1;
		if (c->timer)
			event_del(c->timer);
		if (c->cb)
			c->cb(r, reply ? REDIS_DONE : REDIS_DOWN, reply, c->arg);
	}
	if (c->timer)
		event_free(c->timer);
	free(c);
}

/* The decimal digits of v at p (the buffer has room), returning past them. */
static char *redis_put_len(char *p, size_t v)
{
	char d[24], *end = d + sizeof(d), *q = digits_u64(end, v);
	memcpy(p, q, (size_t)(end - q));
	return p + (end - q);
}

/*
 * The command in RESP, sent as redisAsyncCommandArgv() would send it
 * (argvlen NULL: each argument's strlen).
 * Formatted here in one pass: hiredis's own formatter (sdscatfmt per
 * argument) cost ~15,000 instructions a POST more (callgrind).
 */
static int redis_send_argv(redisAsyncContext *ac, void *priv, int argc, const char **argv,
			   const size_t *argvlen)
{
	char stack[4096], *buf = stack;
	size_t total = 1 + 20 + 2;
	for (int i = 0; i < argc; i++)
		total += 1 + 20 + 2 + (argvlen ? argvlen[i] : strlen(argv[i])) + 2;
	if (total > sizeof(stack))
		buf = xmalloc(total);
	char *p = buf;
	*p++ = '*';
	p = redis_put_len(p, (size_t)argc);
	*p++ = '\r';
	*p++ = '\n';
	for (int i = 0; i < argc; i++) {
		size_t n = argvlen ? argvlen[i] : strlen(argv[i]);
		*p++ = '$';
		p = redis_put_len(p, n);
		*p++ = '\r';
		*p++ = '\n';
		memcpy(p, argv[i], n);
		p += n;
		*p++ = '\r';
		*p++ = '\n';
	}
	int rc = redisAsyncFormattedCommand(ac, redis_call_reply, priv, buf, (size_t)(p - buf));
	if (buf != stack)
		free(buf);
	return rc;
}

void redis_command(struct redis *r, redis_cb cb, void *arg, int argc, const char **argv,
		   const size_t *argvlen, int timeout_ms)
{
	struct redis_call *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->cb = cb;
	c->arg = arg;
	if (timeout_ms < 0)
		timeout_ms = r->timeout_ms;
	r->stats.commands++;
	if (!r->connected || r->ac == NULL || r->stats.pending >= REDIS_MAX_PENDING ||
	    redis_send_argv(r->ac, c, argc, argv, argvlen) != REDIS_OK) {
		/* Report asynchronously so the caller never re-enters itself. */
		c->timer = evtimer_new(r->base, redis_call_timeout, c);
		struct timeval now = {0, 0};
		evtimer_add(c->timer, &now);
		return;
	}
	c->in_hiredis = 1;
	r->stats.pending++;
	if (timeout_ms > 0) {
		c->timer = evtimer_new(r->base, redis_call_timeout, c);
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
		evtimer_add(c->timer, &tv);
	}
}

void redis_commandv(struct redis *r, redis_cb cb, void *arg, int timeout_ms, int argc, ...)
{
	const char *argv[32];
	size_t lens[32];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc && i < 32; i++) {
		argv[i] = va_arg(ap, const char *);
		lens[i] = strlen(argv[i]);
	}
	va_end(ap);
	redis_command(r, cb, arg, argc < 32 ? argc : 32, argv, lens, timeout_ms);
}

static void redis_schedule_retry(struct redis *r)
{
	if (r->closing)
		return;
	struct timeval tv = {r->backoff_ms / 1000, (r->backoff_ms % 1000) * 1000};
	evtimer_add(r->retry_timer, &tv);
	r->backoff_ms =
	    r->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : r->backoff_ms * 2;
}

/*
 * A link that was usable logs its loss; one that never became usable (Redis
 * refused it, or closed it first) logs one line per dial, with the reason and
 * the wait before the next, which doubles up to REDIS_BACKOFF_MAX_MS.
 */
static void redis_link_lost(struct redis *r, const char *why)
{
	int was = r->connected, was_ready = r->proved;
	r->ac = NULL;
	r->connected = 0;
	r->ready = 0;
	r->proved = 0;
	evtimer_del(r->connect_timer);
	evtimer_del(r->ping_timer);
	if (was)
		r->stats.disconnects++;
	if (was_ready) {
		log_warn("redis", "disconnected", "link=%s error=\"%s\"", r->name, why ? why : "");
	} else if (was) {
		if (r->refusal[0] == '\0')
			snprintf(r->refusal, sizeof(r->refusal), "%s",
				 why && *why ? why : "closed before it answered");
		r->stats.refusals++;
		log_warn("redis", "link refused", "link=%s reason=\"%s\" retry_ms=%d", r->name,
			 r->refusal, r->backoff_ms);
	}
	redis_schedule_retry(r);
	if (r->via && !r->closing && !r->moving)
		r->via->rediscover(r->via->ctx, r->refusal[0] && !was_ready
						    ? r->refusal
						    : (why ? why : "link lost"));
}

static void redis_force_drop(struct redis *r, const char *why);

void redis_refuse(struct redis *r, const char *why)
{
	if (r->ac == NULL)
		return;
	snprintf(r->refusal, sizeof(r->refusal), "%.250s", why);
	r->proved = 0; /* logged as refused, not as a lost link */
	redis_force_drop(r, why);
}

/* AUTH and SELECT: an error reply means this link is of no use. */
static void redis_setup_reply(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	if (st == REDIS_DONE && reply->type == REDIS_REPLY_ERROR)
		redis_refuse(r, reply->str);
}

/* The link carries commands: the hook decides whether it is ready. */
static void redis_linked(struct redis *r)
{
	if (r->hook)
		r->hook(r, r->hook_arg);
	else
		redis_set_ready(r, 1);
}

/* With sentinels: only the primary will do; a replica sends us back to them. */
static void redis_role_reply(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	if (st != REDIS_DONE || !r->connected)
		return; /* dropped meanwhile, or the PING's deadline handling drops it */
	const char *role;
	int primary = redis_parse_role(reply, &role);
	if (primary == 1) {
		redis_linked(r);
		return;
	}
	char why[400];
	snprintf(why, sizeof(why), "%.120s:%d is not the primary (ROLE: %.40s)", r->host, r->port,
		 primary < 0 ? (reply->type == REDIS_REPLY_ERROR ? reply->str : "?") : role);
	redis_refuse(r, why);
}

/* PING answered: the link carries commands; the hook decides whether it is ready. */
static void redis_ping_reply(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	if (st == REDIS_TIMEOUT && r->connected) {
		redis_refuse(r, "no answer to PING within the deadline");
		return;
	}
	if (st != REDIS_DONE || !r->connected)
		return; /* dropped meanwhile: the link's loss is already handled */
	if (reply->type == REDIS_REPLY_ERROR) {
		if (redis_error_kind(reply->str) != REDIS_ERROR_NOT_READY) {
			redis_refuse(r, reply->str);
			return;
		}
		/* LOADING and the like: the link is fine, Redis is not ready yet. */
		if (r->hook == NULL) {
			struct timeval tv = {0, REDIS_NOT_READY_RETRY_MS * 1000};
			evtimer_add(r->ping_timer, &tv);
			return;
		}
	}
	if (r->via) {
		redis_commandv(r, redis_role_reply, NULL, -1, 1, "ROLE");
		return;
	}
	redis_linked(r);
}

static void redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	if (r == NULL || r->ac != ac)
		return;
	evtimer_del(r->connect_timer);
	if (status != REDIS_OK) {
		log_debug("redis", "connect failed", "link=%s error=\"%s\"", r->name, ac->errstr);
		/* hiredis frees the context after this callback. */
		r->ac = NULL;
		redis_schedule_retry(r);
		if (r->via)
			r->via->rediscover(r->via->ctx,
					   ac->errstr[0] ? ac->errstr : "connect failed");
		return;
	}
	r->connected = 1;
	r->refusal[0] = '\0';
	log_debug("redis", "connected", "link=%s host=%s port=%d", r->name, r->host, r->port);
	if (r->password[0])
		redis_commandv(r, redis_setup_reply, NULL, -1, 2, "AUTH", r->password);
	if (r->db) {
		char db[16];
		snprintf(db, sizeof(db), "%d", r->db);
		redis_commandv(r, redis_setup_reply, NULL, -1, 2, "SELECT", db);
	}
	redis_commandv(r, redis_ping_reply, NULL, -1, 1, "PING");
}

static void redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis *r = ac->data;
	if (r == NULL || r->ac != ac)
		return;
	redis_link_lost(r, status == REDIS_OK ? "closed" : ac->errstr);
}

static void redis_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct redis *r = arg;
	if (r->ac == NULL || r->connected)
		return;
	redisAsyncContext *ac = r->ac;
	ac->data = NULL; /* its callbacks no longer speak for us */
	r->ac = NULL;
	redisAsyncFree(ac);
	log_debug("redis", "connect timed out", "link=%s", r->name);
	redis_schedule_retry(r);
	if (r->via)
		r->via->rediscover(r->via->ctx, "connect timed out");
}

static void redis_force_drop(struct redis *r, const char *why)
{
	redisAsyncContext *ac = r->ac;
	if (ac == NULL)
		return;
	redis_link_lost(r, why); /* clears r->ac first: the callbacks below ignore it */
	redisAsyncFree(ac);	 /* pending calls end with REDIS_DOWN */
}

static void redis_watchdog_reply(struct redis *r, enum redis_status st, redisReply *reply,
				 void *arg)
{
	r->watchdog_inflight = 0;
	if (st == REDIS_TIMEOUT) {
		if (++r->watchdog_misses >= REDIS_WATCHDOG_MISSES) {
			log_warn("redis", "link wedged, redialling", "link=%s misses=%d", r->name,
				 r->watchdog_misses);
			r->watchdog_misses = 0;
			redis_force_drop(r, "ping deadlines missed");
		}
	} else {
		r->watchdog_misses = 0;
	}
}

static void redis_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct redis *r = arg;
	if (r->connected && !r->watchdog_inflight) {
		r->watchdog_inflight = 1;
		redis_commandv(r, redis_watchdog_reply, NULL, -1, 1, "PING");
	}
}

static void redis_ping_again(evutil_socket_t fd, short what, void *arg)
{
	struct redis *r = arg;
	if (r->connected && !r->ready)
		redis_commandv(r, redis_ping_reply, NULL, -1, 1, "PING");
}

static void redis_retry(evutil_socket_t fd, short what, void *arg)
{
	redis_connect_now(arg);
}

static void redis_connect_now(struct redis *r)
{
	if (r->closing || r->ac)
		return;
	if (r->via) {
		uint64_t epoch;
		if (!r->via->primary(r->via->ctx, r->host, sizeof(r->host), &r->port, &epoch)) {
			/* redis_follow_primary dials once the sentinels name one */
			r->via->rediscover(r->via->ctx, "no primary known yet");
			return;
		}
		r->dialled_epoch = epoch;
	}
	redisAsyncContext *ac = redisAsyncConnect(r->host, r->port);
	if (ac == NULL || ac->err) {
		log_debug("redis", "connect failed", "link=%s error=\"%s\"", r->name,
			  ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		redis_schedule_retry(r);
		return;
	}
	ac->data = r;
	r->ac = ac;
	redisLibeventAttach(ac, r->base);
	redisAsyncSetConnectCallback(ac, redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);
	struct timeval tv = {REDIS_CONNECT_TIMEOUT_MS / 1000,
			     (REDIS_CONNECT_TIMEOUT_MS % 1000) * 1000};
	evtimer_add(r->connect_timer, &tv);
}

struct redis *redis_new(struct event_base *base, const char *url, const struct redis_locator *via,
			int timeout_ms, const char *name)
{
	struct redis *r = xcalloc(1, sizeof(*r));
	const char *why;
	if (redis_url_parse(url, r->host, sizeof(r->host), &r->port, r->password,
			    sizeof(r->password), &r->db, &why) < 0) {
		log_error("redis", "bad url", "reason=\"%s\"", why);
		free(r);
		return NULL;
	}
	r->base = base;
	r->name = xstrdup(name);
	r->timeout_ms = timeout_ms;
	r->backoff_ms = REDIS_BACKOFF_MIN_MS;
	r->retry_timer = evtimer_new(base, redis_retry, r);
	r->connect_timer = evtimer_new(base, redis_connect_timeout, r);
	r->watchdog_timer = event_new(base, -1, EV_PERSIST, redis_watchdog, r);
	r->ping_timer = evtimer_new(base, redis_ping_again, r);
	r->via = via;
	if (via)
		via->attach(via->ctx, r);
	struct timeval every = {1, 0};
	evtimer_add(r->watchdog_timer, &every);
	redis_connect_now(r);
	return r;
}

void redis_set_connect_hook(struct redis *r, redis_connect_hook hook, void *arg)
{
	r->hook = hook;
	r->hook_arg = arg;
}

void redis_follow_primary(struct redis *r)
{
	if (r->closing || r->via == NULL)
		return;
	char host[256];
	int port;
	uint64_t epoch;
	if (!r->via->primary(r->via->ctx, host, sizeof(host), &port, &epoch))
		return;
	if (r->ac && r->dialled_epoch == epoch)
		return; /* up (or dialling) where the sentinels say */
	if (r->ac) {
		log_info("redis", "following the primary", "link=%s from=%s:%d to=%s:%d", r->name,
			 r->host, r->port, host, port);
		r->moving = 1;
		redis_force_drop(r, "the primary moved");
		r->moving = 0;
	} else if (r->dialled_epoch == epoch && evtimer_pending(r->retry_timer, NULL)) {
		return; /* the same address: the back-off stands */
	}
	evtimer_del(r->retry_timer);
	redis_connect_now(r);
}

const char *redis_waiting_for(const struct redis *r)
{
	return r->via ? r->via->why(r->via->ctx) : "";
}

void redis_reconnect(struct redis *r)
{
	redis_force_drop(r, "reconnect requested");
}

void redis_free(struct redis *r)
{
	if (r == NULL)
		return;
	r->closing = 1;
	if (r->via)
		r->via->detach(r->via->ctx, r);
	if (r->ac) {
		redisAsyncContext *ac = r->ac;
		r->ac = NULL;
		r->connected = 0;
		redisAsyncFree(ac); /* runs pending callbacks with NULL replies */
	}
	event_free(r->retry_timer);
	event_free(r->connect_timer);
	event_free(r->watchdog_timer);
	event_free(r->ping_timer);
	free(r->name);
	free(r);
}

int redis_connected(const struct redis *r)
{
	return r->connected;
}

int redis_ready(const struct redis *r)
{
	return r->connected && r->ready;
}

void redis_set_ready(struct redis *r, int ready)
{
	if (ready && !r->connected)
		return;
	if (ready && !r->proved) {
		/* The link proved usable: the next loss starts the back-off afresh. */
		r->proved = 1;
		r->backoff_ms = REDIS_BACKOFF_MIN_MS;
		r->refusal[0] = '\0';
		if (r->ever_connected)
			r->stats.reconnects++;
		r->ever_connected = 1;
		log_info("redis", "connected", "link=%s host=%s port=%d", r->name, r->host,
			 r->port);
	}
	r->ready = ready;
}

const char *redis_refusal(const struct redis *r)
{
	return r->refusal;
}

/* Error codes (the reply's first word) by what they say about the server. */
static const struct {
	const char *code;
	enum redis_error_kind kind;
} redis_error_codes[] = {
    {"LOADING", REDIS_ERROR_NOT_READY},	   {"BUSY", REDIS_ERROR_NOT_READY},
    {"MASTERDOWN", REDIS_ERROR_NOT_READY}, {"TRYAGAIN", REDIS_ERROR_NOT_READY},
    {"NOREPLICAS", REDIS_ERROR_NOT_READY}, {"CLUSTERDOWN", REDIS_ERROR_NOT_READY},
    {"READONLY", REDIS_ERROR_NOT_READY},   {"NOAUTH", REDIS_ERROR_REFUSED},
    {"WRONGPASS", REDIS_ERROR_REFUSED},	   {"DENIED", REDIS_ERROR_REFUSED},
    {"NOPERM", REDIS_ERROR_REFUSED},
};

enum redis_error_kind redis_error_kind(const char *err)
{
	size_t n = strcspn(err, " ");
	for (size_t i = 0; i < sizeof(redis_error_codes) / sizeof(redis_error_codes[0]); i++)
		if (strlen(redis_error_codes[i].code) == n &&
		    memcmp(err, redis_error_codes[i].code, n) == 0)
			return redis_error_codes[i].kind;
	/* AUTH with a wrong password before Redis 6: "ERR invalid password". */
	if (strncmp(err, "ERR invalid password", 20) == 0 || strncmp(err, "ERR AUTH", 8) == 0)
		return REDIS_ERROR_REFUSED;
	return REDIS_ERROR_OTHER;
}

int redis_parse_role(const redisReply *reply, const char **role)
{
	*role = "";
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
	    (reply->element[0]->type != REDIS_REPLY_STRING &&
	     reply->element[0]->type != REDIS_REPLY_STATUS))
		return -1;
	*role = reply->element[0]->str;
	return reply->element[0]->len == 6 && memcmp(reply->element[0]->str, "master", 6) == 0;
}

const struct redis_stats *redis_stats(const struct redis *r)
{
	return &r->stats;
}

const char *redis_name(const struct redis *r)
{
	return r->name;
}
