/*
 * library — the craftmatch function library's life in Redis (see library.h).
 */
#include "server/store/library.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "server/log.h"
#include "server/store/redis.h"

/* Generated from the .lua files of store/lua at build time (embed.cmake). */
extern const char store_functions_lua[];
extern const size_t store_functions_lua_len;
extern const long store_functions_version;

/* After a "not ready yet" reply (LOADING, BUSY...): soon, it ends by itself. */
#define LIBRARY_RETRY_BUSY_MS 100
/* After a failed load or an unreadable answer. */
#define LIBRARY_RETRY_MS 500
/* While ready, or while a newer library this build cannot use is loaded. */
#define LIBRARY_VERIFY_MS 3000

enum library_state {
	LIBRARY_UNKNOWN, /* link down, or the check not answered yet */
	LIBRARY_READY,
	LIBRARY_REFUSED, /* a newer library that does not serve this build */
	LIBRARY_WAITING, /* Redis not ready yet, or the last step failed */
};

struct library {
	struct redis *link;
	enum library_state state;
	int busy; /* in flight: 1 a check or a load, 2 the check of a new link */
	unsigned long loads;
	long loaded;	     /* the version in Redis, as last seen */
	struct event *timer; /* the next check */
	char why[320];	     /* why not ready (state REFUSED or WAITING) */
	char logged[320];    /* the last reason logged, so it is logged once */
	char text[400];	     /* library_why's answer */
};

/* What Redis said about the loaded library. */
enum library_verdict {
	VERDICT_LOAD,	   /* none, or older: load ours */
	VERDICT_SAME,	   /* our version */
	VERDICT_NEWER_OK,  /* newer, and it serves our calls */
	VERDICT_NEWER_BAD, /* newer, and it does not */
	VERDICT_NOT_READY, /* Redis said "not yet" */
	VERDICT_REFUSED,   /* Redis refuses the link */
	VERDICT_FAILED,	   /* anything else */
};

long library_version(void)
{
	return store_functions_version;
}

static void library_check(struct library *lib);

static void library_later(struct library *lib, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(lib->timer, &tv);
}

static void library_tick(evutil_socket_t fd, short what, void *arg)
{
	library_check(arg);
}

/* Not ready: records why, logs it when it changed, and checks again later. */
static void library_not_ready(struct library *lib, enum library_state st, int error, int retry_ms,
			      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void library_not_ready(struct library *lib, enum library_state st, int error, int retry_ms,
			      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(lib->why, sizeof(lib->why), fmt, ap);
	va_end(ap);
	lib->state = st;
	redis_set_ready(lib->link, 0);
	if (strcmp(lib->why, lib->logged) != 0) {
		snprintf(lib->logged, sizeof(lib->logged), "%s", lib->why);
		if (error)
			log_error("store", "function library not usable",
				  "version=%ld reason=\"%s\"", store_functions_version, lib->why);
		else
			log_info("store", "waiting for Redis", "reason=\"%s\"", lib->why);
	}
	library_later(lib, retry_ms);
}

static void library_set_ready(struct library *lib, long loaded)
{
	lib->state = LIBRARY_READY;
	lib->loaded = loaded;
	lib->why[0] = '\0';
	lib->logged[0] = '\0';
	redis_set_ready(lib->link, 1);
	library_later(lib, LIBRARY_VERIFY_MS);
	if (loaded != store_functions_version)
		log_info("store", "using a newer function library", "version=%ld loaded=%ld",
			 store_functions_version, loaded);
}

/* Reads a cm_version answer: { version, serves from, hash }, or "1" (version 1). */
static enum library_verdict library_verdict(const redisReply *reply, long *loaded, long *from)
{
	*loaded = *from = 0;
	if (reply->type == REDIS_REPLY_ERROR) {
		switch (redis_error_kind(reply->str)) {
		case REDIS_ERROR_NOT_READY:
			return VERDICT_NOT_READY;
		case REDIS_ERROR_REFUSED:
			return VERDICT_REFUSED;
		case REDIS_ERROR_OTHER:
			break;
		}
		return strstr(reply->str, "not found") ? VERDICT_LOAD : VERDICT_FAILED;
	}
	if (reply->type == REDIS_REPLY_STRING) {
		*loaded = *from = strtol(reply->str, NULL, 10);
	} else if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
		   reply->element[0]->type == REDIS_REPLY_STRING &&
		   reply->element[1]->type == REDIS_REPLY_STRING) {
		*loaded = strtol(reply->element[0]->str, NULL, 10);
		*from = strtol(reply->element[1]->str, NULL, 10);
	}
	if (*loaded <= 0 || *from <= 0)
		return VERDICT_FAILED;
	if (*loaded < store_functions_version)
		return VERDICT_LOAD;
	if (*loaded == store_functions_version)
		return VERDICT_SAME;
	return *from <= store_functions_version ? VERDICT_NEWER_OK : VERDICT_NEWER_BAD;
}

static void library_loaded(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct library *lib = arg;
	lib->busy = 0;
	if (st == REDIS_DOWN || !redis_connected(r))
		return; /* the next connect starts over */
	if (st == REDIS_TIMEOUT) {
		library_not_ready(lib, LIBRARY_WAITING, 0, LIBRARY_RETRY_MS,
				  "Redis did not answer FUNCTION LOAD within the deadline");
		return;
	}
	if (reply->type != REDIS_REPLY_ERROR) {
		lib->loads++;
		log_info("store", "function library loaded", "version=%ld",
			 store_functions_version);
		library_set_ready(lib, store_functions_version);
		return;
	}
	switch (redis_error_kind(reply->str)) {
	case REDIS_ERROR_REFUSED:
		lib->state = LIBRARY_UNKNOWN;
		redis_refuse(r, reply->str);
		return;
	case REDIS_ERROR_NOT_READY:
		library_not_ready(lib, LIBRARY_WAITING, 0, LIBRARY_RETRY_BUSY_MS,
				  "Redis is not ready yet: %.200s", reply->str);
		return;
	case REDIS_ERROR_OTHER:
		break;
	}
	library_not_ready(lib, LIBRARY_WAITING, 1, LIBRARY_RETRY_MS,
			  "Redis refused the function library: %.200s", reply->str);
}

static void library_load(struct library *lib)
{
	lib->busy = 1;
	const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", store_functions_lua};
	size_t lens[] = {8, 4, 7, store_functions_lua_len};
	redis_command(lib->link, library_loaded, lib, 4, argv, lens, -1);
}

/*
 * Acts on what Redis said; connecting: the link is new (the same version is
 * loaded again then). Returns 1 when the store can serve.
 */
static int library_judge(struct library *lib, enum redis_status st, const redisReply *reply,
			 int connecting)
{
	long loaded, from;
	if (st == REDIS_DOWN || !redis_connected(lib->link)) {
		lib->state = LIBRARY_UNKNOWN;
		return 0;
	}
	if (st == REDIS_TIMEOUT) {
		if (connecting)
			library_not_ready(lib, LIBRARY_WAITING, 0, LIBRARY_RETRY_MS,
					  "Redis did not answer within the deadline");
		return 0; /* a slow answer while ready: the watchdog decides about the link */
	}
	switch (library_verdict(reply, &loaded, &from)) {
	case VERDICT_SAME:
		if (!connecting) {
			library_set_ready(lib, loaded);
			return 1;
		}
		/* A new link loads the same text again. */
		__attribute__((fallthrough));
	case VERDICT_LOAD:
		if (lib->state == LIBRARY_READY && !connecting)
			log_warn("store", "function library missing or older, loading",
				 "version=%ld loaded=%ld", store_functions_version, loaded);
		lib->state = LIBRARY_UNKNOWN;
		redis_set_ready(lib->link, 0);
		snprintf(lib->why, sizeof(lib->why), "loading the function library into Redis");
		if (!lib->busy)
			library_load(lib);
		return 0;
	case VERDICT_NEWER_OK:
		library_set_ready(lib, loaded);
		return 1;
	case VERDICT_NEWER_BAD:
		library_not_ready(
		    lib, LIBRARY_REFUSED, 1, LIBRARY_VERIFY_MS,
		    "Redis holds version %ld of the craftmatch function library, which "
		    "serves craftmatchd built with version %ld or later; this craftmatchd "
		    "has version %ld: upgrade it",
		    loaded, from, store_functions_version);
		return 0;
	case VERDICT_NOT_READY:
		library_not_ready(lib, LIBRARY_WAITING, 0, LIBRARY_RETRY_BUSY_MS,
				  "Redis is not ready yet: %.200s", reply->str);
		return 0;
	case VERDICT_REFUSED:
		lib->state = LIBRARY_UNKNOWN;
		redis_refuse(lib->link, reply->str);
		return 0;
	case VERDICT_FAILED:
		break;
	}
	library_not_ready(lib, LIBRARY_WAITING, 1, LIBRARY_RETRY_MS,
			  "Redis gave no readable library version: %.200s",
			  reply->type == REDIS_REPLY_ERROR ? reply->str : "(not a version)");
	return 0;
}

static void library_checked(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct library *lib = arg;
	int connecting = lib->busy == 2;
	lib->busy = 0;
	library_judge(lib, st, reply, connecting);
	if (st == REDIS_TIMEOUT && !connecting)
		library_later(lib, LIBRARY_VERIFY_MS); /* still ready: ask again later */
}

static void library_send_check(struct library *lib, int connecting)
{
	lib->busy = connecting ? 2 : 1;
	redis_commandv(lib->link, library_checked, lib, -1, 3, "FCALL_RO", "cm_version", "0");
}

/* The timer: check again (a new link is checked at connect instead). */
static void library_check(struct library *lib)
{
	if (lib->busy || !redis_connected(lib->link))
		return;
	library_send_check(lib, lib->state != LIBRARY_READY);
}

void library_connected(struct library *lib)
{
	evtimer_del(lib->timer);
	lib->state = LIBRARY_UNKNOWN;
	lib->why[0] = '\0';
	lib->busy = 0; /* what was in flight ended with the old link */
	library_send_check(lib, 1);
}

struct library *library_new(struct event_base *base, struct redis *link)
{
	struct library *lib = xcalloc(1, sizeof(*lib));
	lib->link = link;
	lib->timer = evtimer_new(base, library_tick, lib);
	return lib;
}

void library_free(struct library *lib)
{
	if (lib == NULL)
		return;
	event_free(lib->timer);
	free(lib);
}

int library_ready(const struct library *lib)
{
	return lib->state == LIBRARY_READY && redis_ready(lib->link);
}

const char *library_why(struct library *lib)
{
	const char *refusal = redis_refusal(lib->link);
	const char *waiting = redis_waiting_for(lib->link);
	if (!redis_connected(lib->link) && *waiting) {
		snprintf(lib->text, sizeof(lib->text), "%.380s", waiting);
	} else if (!redis_connected(lib->link)) {
		if (*refusal)
			snprintf(lib->text, sizeof(lib->text), "Redis refused the connection: %s",
				 refusal);
		else
			snprintf(lib->text, sizeof(lib->text), "Redis is not connected");
	} else if (lib->why[0]) {
		snprintf(lib->text, sizeof(lib->text), "%s", lib->why);
	} else {
		snprintf(lib->text, sizeof(lib->text),
			 "checking the function library in Redis after connecting");
	}
	return lib->text;
}

unsigned long library_loads(const struct library *lib)
{
	return lib->loads;
}

long library_loaded_version(const struct library *lib)
{
	return lib->loaded;
}

struct library_probe {
	struct library *lib;
	library_probe_cb cb;
	void *arg;
};

static void library_probed(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct library_probe *p = arg;
	struct library *lib = p->lib;
	if (st == REDIS_TIMEOUT)
		p->cb(0, "Redis did not answer within the deadline", p->arg);
	else if (library_judge(lib, st, reply, 0))
		p->cb(1, NULL, p->arg);
	else
		p->cb(0, library_why(lib), p->arg);
	free(p);
}

void library_probe(struct library *lib, library_probe_cb cb, void *arg)
{
	struct library_probe *p = xmalloc(sizeof(*p));
	p->lib = lib;
	p->cb = cb;
	p->arg = arg;
	redis_commandv(lib->link, library_probed, p, -1, 3, "FCALL_RO", "cm_version", "0");
}
