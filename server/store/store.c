/*
 * store — the Redis link and the function library's life (see store.h).
 */
#include "server/store/store.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "server/log.h"

extern const char store_functions_lua[];
extern const size_t store_functions_lua_len;

static void store_library_loaded(struct redis *r, enum redis_status st, redisReply *reply,
				 void *arg)
{
	struct store *s = arg;
	if (st == REDIS_DONE && reply->type != REDIS_REPLY_ERROR) {
		s->functions_loaded = 1;
		s->library_loads++;
		redis_set_ready(r, 1);
		log_info("store", "function library loaded", "version=%s", STORE_LIBRARY_VERSION);
		return;
	}
	log_error("store", "function library not loaded", "status=%d error=\"%s\"", (int)st,
		  st == REDIS_DONE ? reply->str : "no reply");
	/* Try again on the next probe or reconnect; meanwhile not ready. */
	s->functions_loaded = 0;
	redis_set_ready(r, 0);
}

static void store_load_library(struct store *s)
{
	const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", store_functions_lua};
	size_t lens[] = {8, 4, 7, store_functions_lua_len};
	redis_command(s->link, store_library_loaded, s, 4, argv, lens, -1);
}

static void store_on_connect(struct redis *r, void *arg)
{
	struct store *s = arg;
	s->functions_loaded = 0;
	store_load_library(s);
}

struct store *store_new(struct event_base *base, const char *url, int timeout_ms)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->link = redis_new(base, url, timeout_ms, "store");
	if (s->link == NULL) {
		free(s);
		return NULL;
	}
	redis_set_connect_hook(s->link, store_on_connect, s);
	return s;
}

void store_free(struct store *s)
{
	if (s == NULL)
		return;
	redis_free(s->link);
	free(s);
}

int store_ready(const struct store *s)
{
	return redis_ready(s->link) && s->functions_loaded;
}

struct store_probe_ctx {
	struct store *s;
	redis_cb cb;
	void *arg;
};

static void store_probe_reply(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct store_probe_ctx *p = arg;
	if (st == REDIS_DONE && reply->type == REDIS_REPLY_ERROR &&
	    strstr(reply->str, "not found") != NULL && p->s->functions_loaded) {
		/* Someone flushed the functions (FUNCTION FLUSH, a restore): load again. */
		log_warn("store", "function library missing, reloading", "%s", "");
		p->s->functions_loaded = 0;
		redis_set_ready(r, 0);
		store_load_library(p->s);
	}
	p->cb(r, st, reply, p->arg);
	free(p);
}

void store_probe(struct store *s, redis_cb cb, void *arg)
{
	struct store_probe_ctx *p = xmalloc(sizeof(*p));
	p->s = s;
	p->cb = cb;
	p->arg = arg;
	redis_commandv(s->link, store_probe_reply, p, -1, 3, "FCALL_RO", "cm_version", "0");
}
