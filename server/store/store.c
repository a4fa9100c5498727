/*
 * store — the Redis link and the function library's life (see store.h).
 */
#include "server/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/xalloc.h"
#include "server/log.h"

extern const char store_functions_lua[];
extern const size_t store_functions_lua_len;

#define STORE_RELOAD_MS 500

static void store_library_loaded(struct redis *r, enum redis_status st, redisReply *reply,
				 void *arg)
{
	struct store *s = arg;
	s->loading = 0;
	if (st == REDIS_DONE && reply->type != REDIS_REPLY_ERROR) {
		s->functions_loaded = 1;
		s->library_loads++;
		redis_set_ready(r, 1);
		log_info("store", "function library loaded", "version=%s", STORE_LIBRARY_VERSION);
		return;
	}
	log_error("store", "function library not loaded", "status=%d error=\"%s\"", (int)st,
		  st == REDIS_DONE ? reply->str : "no reply");
	/* Not ready until it loads: try again shortly while the link is up. */
	s->functions_loaded = 0;
	redis_set_ready(r, 0);
	if (st != REDIS_DOWN) {
		struct timeval tv = {0, STORE_RELOAD_MS * 1000};
		evtimer_add(s->reload, &tv);
	}
}

static void store_load_library(struct store *s)
{
	if (s->loading)
		return;
	s->loading = 1;
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

static void store_reload(evutil_socket_t fd, short what, void *arg)
{
	struct store *s = arg;
	if (redis_connected(s->link) && !s->functions_loaded)
		store_load_library(s);
}

struct store *store_new(struct event_base *base, const char *url, int timeout_ms)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->reload = evtimer_new(base, store_reload, s);
	s->link = redis_new(base, url, timeout_ms, "store");
	if (s->link == NULL) {
		event_free(s->reload);
		free(s);
		return NULL;
	}
	redis_set_connect_hook(s->link, store_on_connect, s);
	s->events_maxlen = 1000000;
	return s;
}

void store_free(struct store *s)
{
	if (s == NULL)
		return;
	redis_free(s->link);
	event_free(s->reload);
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
	    strstr(reply->str, "not found") != NULL) {
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

/* Converts a reply to JSON: strings, integers, arrays and nil (null). */
static json_t *store_reply_json(const redisReply *rp)
{
	switch (rp->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		return json_stringn_nocheck(rp->str, rp->len);
	case REDIS_REPLY_INTEGER:
		return json_integer(rp->integer);
	case REDIS_REPLY_ARRAY: {
		json_t *a = json_array();
		for (size_t i = 0; i < rp->elements; i++)
			json_array_append_new(a, store_reply_json(rp->element[i]));
		return a;
	}
	default:
		return json_null();
	}
}

static const struct {
	const char *code;
	enum store_status status;
} store_codes[] = {
	{"CM_NOTFOUND", STORE_NOT_FOUND}, {"CM_CONFLICT", STORE_CONFLICT},
	{"CM_FORBIDDEN", STORE_FORBIDDEN}, {"CM_REFUSED", STORE_REFUSED},
	{"CM_INVALID", STORE_INVALID},
};

struct store_call {
	store_cb cb;
	void *arg;
	char fn[48];
};

static void store_fcall_reply(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct store_call *c = arg;
	struct store_reply res = {STORE_OK, NULL, NULL};
	if (st != REDIS_DONE) {
		res.status = STORE_UNAVAILABLE;
		res.message = st == REDIS_TIMEOUT ? "Redis did not answer within the deadline"
						  : "Redis is not connected";
	} else if (reply->type == REDIS_REPLY_ERROR) {
		res.status = STORE_FAILED;
		res.message = reply->str;
		for (size_t i = 0; i < sizeof(store_codes) / sizeof(store_codes[0]); i++) {
			size_t l = strlen(store_codes[i].code);
			if (strncmp(reply->str, store_codes[i].code, l) == 0) {
				res.status = store_codes[i].status;
				res.message = reply->str[l] == ' ' ? reply->str + l + 1 : reply->str + l;
			}
		}
		if (res.status == STORE_FAILED) {
			log_error("store", "function failed", "fn=%s error=\"%.200s\"", c->fn,
				  reply->str);
			if (strstr(reply->str, "Function not found"))
				res.status = STORE_UNAVAILABLE;
		}
	} else {
		res.value = store_reply_json(reply);
	}
	c->cb(&res, c->arg);
	json_decref(res.value);
	free(c);
}

void store_fcall(struct store *s, const char *fn, int read_only, int nkeys, const char **keys,
		 int nargs, const char **args, const size_t *arglens, store_cb cb, void *arg)
{
	const char *argv[STORE_MAX_ARGS + 3];
	size_t lens[STORE_MAX_ARGS + 3];
	char nk[16];
	if (nkeys + nargs > STORE_MAX_ARGS)
		abort(); /* a programming error, not input */
	snprintf(nk, sizeof(nk), "%d", nkeys);
	int n = 0;
	argv[n] = read_only ? "FCALL_RO" : "FCALL";
	lens[n] = strlen(argv[n]);
	n++;
	argv[n] = fn;
	lens[n++] = strlen(fn);
	argv[n] = nk;
	lens[n++] = strlen(nk);
	for (int i = 0; i < nkeys; i++, n++) {
		argv[n] = keys[i];
		lens[n] = strlen(keys[i]);
	}
	for (int i = 0; i < nargs; i++, n++) {
		argv[n] = args[i];
		lens[n] = arglens ? arglens[i] : strlen(args[i]);
	}
	struct store_call *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	snprintf(c->fn, sizeof(c->fn), "%s", fn);
	redis_command(s->link, store_fcall_reply, c, n, argv, lens, -1);
}

