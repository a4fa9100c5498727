/*
 * store — the Redis link and calls into the function library (see store.h).
 */
#include "server/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/digits.h"
#include "common/strcopy.h"
#include "common/xalloc.h"
#include "server/log.h"
#include "server/store/keys.h"

static void store_on_connect(struct redis *r, void *arg)
{
	struct store *s = arg;
	library_connected(s->library);
}

struct store *store_new(struct event_base *base, const char *url, const struct redis_locator *via,
			int timeout_ms)
{
	struct store *s = xcalloc(1, sizeof(*s));
	s->base = base;
	s->timeout_ms = timeout_ms;
	s->link = redis_new(base, url, via, timeout_ms, "store");
	if (s->link == NULL) {
		free(s);
		return NULL;
	}
	s->library = library_new(base, s->link);
	redis_set_connect_hook(s->link, store_on_connect, s);
	s->events_maxlen = 1000000;
	return s;
}

void store_free(struct store *s)
{
	if (s == NULL)
		return;
	redis_free(s->link);
	library_free(s->library);
	free(s);
}

int store_ready(const struct store *s)
{
	return library_ready(s->library);
}

const char *store_why(struct store *s)
{
	return library_why(s->library);
}

void store_probe(struct store *s, library_probe_cb cb, void *arg)
{
	library_probe(s->library, cb, arg);
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
    {"CM_NOTFOUND", STORE_NOT_FOUND},  {"CM_CONFLICT", STORE_CONFLICT},
    {"CM_FORBIDDEN", STORE_FORBIDDEN}, {"CM_REFUSED", STORE_REFUSED},
    {"CM_INVALID", STORE_INVALID},     {"CM_REAUTH", STORE_REAUTH},
};

struct store_call {
	store_cb cb;
	void *arg;
	char fn[48];
	struct store_as *as; /* the credential the write carried (store_as), or NULL */
	struct event *timer; /* answering a call refused before it was sent */
	char why[400];
	/* A write under replicated durability: answered once both FCALL and WAIT have. */
	struct store *s;
	int left;		 /* replies still due (FCALL, WAIT) */
	int replicas;		 /* how many WAIT counted; -1 none */
	struct store_reply held; /* FCALL's answer, kept until WAIT's */
	json_t *held_value;
	char *held_message;
};

static void store_call_answer(struct store_call *c)
{
	struct store_reply res = c->held;
	res.value = c->held_value;
	res.message = c->held_message;
	if (res.status == STORE_OK && c->replicas < c->s->durability_replicas) {
		c->s->unconfirmed++;
		res.status = STORE_UNCONFIRMED;
		res.value = NULL;
		snprintf(c->why, sizeof(c->why),
			 "the change was made on the Redis primary but not confirmed on %d "
			 "replica(s) within %d ms (%d confirmed); it may or may not survive a "
			 "failover: retry the request with the same Idempotency-Key",
			 c->s->durability_replicas, c->s->durability_timeout_ms,
			 c->replicas < 0 ? 0 : c->replicas);
		res.message = c->why;
		log_warn("store", "write unconfirmed", "fn=%s replicas=%d wanted=%d", c->fn,
			 c->replicas, c->s->durability_replicas);
	}
	c->cb(&res, c->arg);
	json_decref(c->held_value);
	free(c->held_message);
	free(c);
}

static void store_wait_reply(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct store_call *c = arg;
	if (st == REDIS_DONE && reply->type == REDIS_REPLY_INTEGER)
		c->replicas = (int)reply->integer;
	if (--c->left == 0)
		store_call_answer(c);
}

/* A call made while the store is not ready: 503 with the reason, from the loop. */
static void store_refused_now(evutil_socket_t fd, short what, void *arg)
{
	struct store_call *c = arg;
	struct store_reply res = {STORE_UNAVAILABLE, NULL, c->why};
	c->cb(&res, c->arg);
	event_free(c->timer);
	free(c);
}

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
				res.message =
				    reply->str[l] == ' ' ? reply->str + l + 1 : reply->str + l;
			}
		}
		if (res.status == STORE_FAILED) {
			/* "Not yet" (LOADING, BUSY, ...), a refused link or a library gone: 503. */
			if (redis_error_kind(reply->str) != REDIS_ERROR_OTHER ||
			    strstr(reply->str, "Function not found"))
				res.status = STORE_UNAVAILABLE;
			else
				log_error("store", "function failed", "fn=%s error=\"%.200s\"",
					  c->fn, reply->str);
		}
	} else {
		res.value = store_reply_json(reply);
	}
	if (c->as && res.status == STORE_REAUTH)
		c->as->refused = 1;
	else if (c->as && res.status != STORE_UNAVAILABLE && res.status != STORE_FAILED)
		c->as->checked = 1; /* cm_as checks before the write answers anything */
	if (c->left) {
		/* WAIT follows: keep the answer until it has counted the replicas. */
		c->held = res;
		c->held_value = res.value;
		c->held_message = res.message ? xstrdup(res.message) : NULL;
		if (--c->left == 0)
			store_call_answer(c);
		return;
	}
	c->cb(&res, c->arg);
	json_decref(res.value);
	free(c);
}

void store_fcall(struct store *s, const char *fn, int read_only, int nkeys, const char **keys,
		 int nargs, const char **args, const size_t *arglens, store_cb cb, void *arg)
{
	store_fcall_deadline(s, fn, read_only, nkeys, keys, nargs, args, arglens, -1, cb, arg);
}

void store_fcall_deadline(struct store *s, const char *fn, int read_only, int nkeys,
			  const char **keys, int nargs, const char **args, const size_t *arglens,
			  int timeout_ms, store_cb cb, void *arg)
{
	const char *argv_small[STORE_MAX_ARGS + 7];
	size_t lens_small[STORE_MAX_ARGS + 7];
	const char **argv = argv_small;
	size_t *lens = lens_small;
	char nk[16], cred[KEYS_MAX];
	if (nkeys < 0 || nargs < 0)
		abort(); /* a programming error, not input */
	struct store_as *as = read_only ? NULL : s->as;
	if (as)
		s->as = NULL;		      /* one write carries it */
	if (nkeys + nargs > STORE_MAX_ARGS) { /* a batch (a forum's clearing) */
		argv = xmalloc(((size_t)nkeys + (size_t)nargs + 7) * sizeof(*argv));
		lens = xmalloc(((size_t)nkeys + (size_t)nargs + 7) * sizeof(*lens));
	}
	/* by hand, as snprintf "%d" (cheaper; nkeys + 1 >= 0) */
	{
		char d[16], *end = d + sizeof(d), *q = end;
		unsigned v = (unsigned)(nkeys + (as ? 1 : 0));
		do {
			*--q = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0);
		_Static_assert(sizeof(nk) >= 11, "an unsigned and its NUL fit");
		memcpy(nk, q, (size_t)(end - q));
		nk[end - q] = '\0';
	}
	int n = 0;
	argv[n] = read_only ? "FCALL_RO" : "FCALL";
	lens[n] = strlen(argv[n]);
	n++;
	argv[n] = as ? "cm_as" : fn;
	lens[n] = strlen(argv[n]);
	n++;
	argv[n] = nk;
	lens[n++] = strlen(nk);
	if (as) {
		/* cm_as: the credential first, then the write's keys; its name and the
		 * account before the write's arguments */
		argv[n] = as->session ? keys_session(cred, as->hash) : keys_token(cred, as->hash);
		lens[n] = strlen(argv[n]);
		n++;
	}
	for (int i = 0; i < nkeys; i++, n++) {
		argv[n] = keys[i];
		lens[n] = strlen(keys[i]);
	}
	if (as) {
		const char *pre[] = {fn, as->account, as->version};
		for (int i = 0; i < 3; i++, n++) {
			argv[n] = pre[i];
			lens[n] = strlen(pre[i]);
		}
	}
	for (int i = 0; i < nargs; i++, n++) {
		argv[n] = args[i];
		lens[n] = arglens ? arglens[i] : strlen(args[i]);
	}
	struct store_call *c = xcalloc(1, sizeof(*c));
	c->cb = cb;
	c->arg = arg;
	c->as = as;
	str_copy(c->fn, sizeof(c->fn), fn);
	if (!store_ready(s)) {
		/* Never sent: the library in Redis is not (yet) one this build works with. */
		snprintf(c->why, sizeof(c->why), "%s", store_why(s));
		c->timer = evtimer_new(s->base, store_refused_now, c);
		struct timeval now = {0, 0};
		evtimer_add(c->timer, &now);
	} else if (read_only || s->durability_replicas == 0) {
		redis_command(s->link, store_fcall_reply, c, n, argv, lens, timeout_ms);
	} else {
		/* WAIT right behind the write on the same link: it counts the replicas
		 * that have everything this link wrote, the write included. */
		c->s = s;
		c->left = 2;
		c->replicas = -1;
		char nrep[16], wait_ms[16];
		snprintf(nrep, sizeof(nrep), "%d", s->durability_replicas);
		snprintf(wait_ms, sizeof(wait_ms), "%d", s->durability_timeout_ms);
		redis_command(s->link, store_fcall_reply, c, n, argv, lens, timeout_ms);
		int deadline =
		    (timeout_ms <= 0 ? s->timeout_ms : timeout_ms) + s->durability_timeout_ms;
		redis_commandv(s->link, store_wait_reply, c, deadline, 3, "WAIT", nrep, wait_ms);
	}
	if (argv != argv_small) {
		free(argv);
		free(lens);
	}
}

const json_t *store_field(const json_t *row, size_t field)
{
	return json_array_get(row, field);
}

const char *store_field_str(const json_t *row, size_t field)
{
	return json_string_value(json_array_get(row, field));
}

int64_t store_field_int(const json_t *row, size_t field)
{
	const json_t *v = json_array_get(row, field);
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	return s ? digits_strtoll(s) : 0;
}

void store_read(struct store *s, const char *fn, const char *key, store_cb cb, void *arg)
{
	const char *keys[] = {key};
	store_fcall(s, fn, 1, 1, keys, 0, NULL, NULL, cb, arg);
}

void store_as(struct store *s, struct store_as *as)
{
	s->as = as;
}

void store_maxlen_arg(const struct store *s, char buf[24])
{
	snprintf(buf, 24, "%ld", s->events_maxlen);
}
