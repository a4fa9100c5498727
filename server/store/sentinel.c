/*
 * sentinel — the primary's address from Redis Sentinel (see sentinel.h).
 *
 * Questions go over one struct redis link per sentinel (deadlines and
 * reconnection come with it). The +switch-master subscription is a plain
 * hiredis context: its callback runs once per message, which a redis_cb
 * (exactly once per call) cannot carry.
 */
#include "server/store/sentinel.h"

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "server/log.h"
#include "server/store/redis.h"

#define SENTINEL_RETRY_MS 200 /* no sentinel answered: ask again */
#define SENTINEL_RESUB_MS 500 /* the subscription dropped: the next sentinel */
#define SENTINEL_MASTER_MAX 128

struct sentinel {
	struct event_base *base;
	char master[SENTINEL_MASTER_MAX];
	struct sentinel_addr addrs[SENTINEL_MAX];
	struct redis *ask[SENTINEL_MAX];
	int n;
	int closing;

	struct sentinel_addr primary;
	int known;
	uint64_t epoch;

	int asking;	 /* a discovery is under way */
	uint64_t round;	 /* the questions now out */
	int outstanding; /* answers still due in this round */
	char why[256];	 /* what started the discovery */
	char text[800];	 /* sentinel_why's answer */
	struct event *retry;

	redisAsyncContext *sub;
	int sub_i;
	struct event *resub;

	struct redis **links;
	size_t n_links, cap_links;
	struct sentinel_stats stats;
};

struct sentinel_question {
	struct sentinel *s;
	uint64_t round;
};

/* ---- parsing (pure) ---- */

static int sentinel_parse_port(const char *p, size_t len)
{
	if (len == 0 || len > 5)
		return -1;
	long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

int sentinel_parse_list(const char *list, struct sentinel_addr *out, int max, const char **why)
{
	int n = 0;
	const char *p = list;
	while (*p) {
		size_t len = strcspn(p, ",");
		const char *colon = NULL;
		for (size_t i = 0; i < len; i++)
			if (p[i] == ':')
				colon = p + i;
		if (len == 0 || colon == NULL || colon == p) {
			*why = "each sentinel must be host:port";
			return -1;
		}
		size_t hl = (size_t)(colon - p);
		int port = sentinel_parse_port(colon + 1, len - hl - 1);
		if (port < 0) {
			*why = "a sentinel's port must be 1 to 65535";
			return -1;
		}
		if (hl >= SENTINEL_HOST_MAX) {
			*why = "a sentinel's host name is too long";
			return -1;
		}
		if (n == max) {
			*why = "too many sentinels";
			return -1;
		}
		memcpy(out[n].host, p, hl);
		out[n].host[hl] = '\0';
		out[n].port = port;
		n++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (n == 0) {
		*why = "no sentinel given";
		return -1;
	}
	return n;
}

static int sentinel_text(const redisReply *r, const char **s, size_t *len)
{
	if (r == NULL || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS))
		return -1;
	*s = r->str;
	*len = r->len;
	return 0;
}

int sentinel_parse_master(const redisReply *reply, struct sentinel_addr *out)
{
	const char *h, *p;
	size_t hl, pl;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    sentinel_text(reply->element[0], &h, &hl) < 0 ||
	    sentinel_text(reply->element[1], &p, &pl) < 0)
		return -1;
	int port = sentinel_parse_port(p, pl);
	if (hl == 0 || hl >= SENTINEL_HOST_MAX || port < 0 || memchr(h, '\0', hl))
		return -1;
	memcpy(out->host, h, hl);
	out->host[hl] = '\0';
	out->port = port;
	return 0;
}

int sentinel_parse_role(const redisReply *reply, const char **role)
{
	const char *s;
	size_t l;
	*role = "";
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
	    sentinel_text(reply->element[0], &s, &l) < 0)
		return -1;
	*role = s;
	return l == 6 && memcmp(s, "master", 6) == 0;
}

int sentinel_parse_switch(const char *msg, const char *master, struct sentinel_addr *out)
{
	/* NAME OLDHOST OLDPORT NEWHOST NEWPORT */
	const char *w[5];
	size_t wl[5];
	const char *p = msg;
	for (int i = 0; i < 5; i++) {
		while (*p == ' ')
			p++;
		w[i] = p;
		wl[i] = strcspn(p, " ");
		if (wl[i] == 0)
			return -1;
		p += wl[i];
	}
	while (*p == ' ')
		p++;
	if (*p || wl[0] != strlen(master) || memcmp(w[0], master, wl[0]) != 0 ||
	    wl[3] >= SENTINEL_HOST_MAX)
		return -1;
	int port = sentinel_parse_port(w[4], wl[4]);
	if (port < 0)
		return -1;
	memcpy(out->host, w[3], wl[3]);
	out->host[wl[3]] = '\0';
	out->port = port;
	return 0;
}

/* ---- the primary ---- */

static void sentinel_set_primary(struct sentinel *s, const struct sentinel_addr *a,
				 const char *source)
{
	if (!s->known || strcmp(s->primary.host, a->host) != 0 || s->primary.port != a->port) {
		log_info("redis", "primary", "host=%s port=%d master=%s from=%s previous=%s:%d",
			 a->host, a->port, s->master, source, s->known ? s->primary.host : "none",
			 s->known ? s->primary.port : 0);
		s->primary = *a;
		s->known = 1;
		s->epoch++;
		s->stats.changes++;
	}
	s->asking = 0;
	s->why[0] = '\0';
	evtimer_del(s->retry);
	/* Each link moves, or dials, as its own state requires (redis.c). */
	for (size_t i = 0; i < s->n_links && !s->closing; i++)
		redis_follow_primary(s->links[i]);
}

static void sentinel_ask_all(struct sentinel *s);

static void sentinel_answered(struct redis *r, enum redis_status st, redisReply *reply, void *arg)
{
	struct sentinel_question *q = arg;
	struct sentinel *s = q->s;
	uint64_t round = q->round;
	free(q);
	if (s->closing || !s->asking || round != s->round)
		return;
	s->outstanding--;
	struct sentinel_addr a;
	if (st == REDIS_DONE && sentinel_parse_master(reply, &a) == 0) {
		sentinel_set_primary(s, &a, "sentinel");
		return;
	}
	if (s->outstanding == 0) {
		snprintf(s->why, sizeof(s->why), "no sentinel names a primary for '%s'", s->master);
		struct timeval tv = {0, SENTINEL_RETRY_MS * 1000};
		evtimer_add(s->retry, &tv);
	}
}

static void sentinel_ask_all(struct sentinel *s)
{
	s->round++;
	s->outstanding = 0;
	s->stats.discoveries++;
	for (int i = 0; i < s->n; i++) {
		if (!redis_ready(s->ask[i]))
			continue;
		struct sentinel_question *q = xcalloc(1, sizeof(*q));
		q->s = s;
		q->round = s->round;
		s->outstanding++;
		redis_commandv(s->ask[i], sentinel_answered, q, -1, 3, "SENTINEL",
			       "get-master-addr-by-name", s->master);
	}
	if (s->outstanding == 0) {
		snprintf(s->why, sizeof(s->why), "no sentinel is reachable");
		struct timeval tv = {0, SENTINEL_RETRY_MS * 1000};
		evtimer_add(s->retry, &tv);
	}
}

static void sentinel_retry(evutil_socket_t fd, short what, void *arg)
{
	struct sentinel *s = arg;
	if (s->asking)
		sentinel_ask_all(s);
}

void sentinel_rediscover(struct sentinel *s, const char *why)
{
	if (s->closing)
		return;
	if (!s->asking)
		snprintf(s->why, sizeof(s->why), "%s", why);
	if (s->asking)
		return;
	s->asking = 1;
	sentinel_ask_all(s);
}

/* A sentinel link is up: a discovery waiting for one asks now. */
static void sentinel_link_up(struct redis *r, void *arg)
{
	struct sentinel *s = arg;
	redis_set_ready(r, 1);
	if (s->asking && s->outstanding == 0)
		sentinel_ask_all(s);
}

/* ---- +switch-master ---- */

static void sentinel_subscribe(struct sentinel *s);

static void sentinel_resubscribe_later(struct sentinel *s)
{
	if (s->closing)
		return;
	s->sub_i = (s->sub_i + 1) % s->n;
	struct timeval tv = {0, SENTINEL_RESUB_MS * 1000};
	evtimer_add(s->resub, &tv);
}

static void sentinel_message(redisAsyncContext *ac, void *r, void *privdata)
{
	struct sentinel *s = privdata;
	redisReply *reply = r;
	if (reply == NULL || s->closing || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message") != 0 ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return;
	struct sentinel_addr a;
	if (sentinel_parse_switch(reply->element[2]->str, s->master, &a) == 0) {
		s->stats.switches++;
		sentinel_set_primary(s, &a, "+switch-master");
	}
}

static void sentinel_sub_connected(const redisAsyncContext *ac, int status)
{
	struct sentinel *s = ac->data;
	if (s == NULL || s->sub != ac)
		return;
	if (status != REDIS_OK) {
		s->sub = NULL; /* hiredis frees it after this callback */
		sentinel_resubscribe_later(s);
		return;
	}
	/* A switch may have happened while no subscription was up. */
	sentinel_rediscover(s, "subscribed to a sentinel");
}

static void sentinel_sub_disconnected(const redisAsyncContext *ac, int status)
{
	struct sentinel *s = ac->data;
	if (s == NULL || s->sub != ac)
		return;
	s->sub = NULL;
	sentinel_resubscribe_later(s);
}

static void sentinel_subscribe(struct sentinel *s)
{
	if (s->closing || s->sub)
		return;
	const struct sentinel_addr *a = &s->addrs[s->sub_i];
	redisAsyncContext *ac = redisAsyncConnect(a->host, a->port);
	if (ac == NULL || ac->err) {
		if (ac)
			redisAsyncFree(ac);
		sentinel_resubscribe_later(s);
		return;
	}
	ac->data = s;
	s->sub = ac;
	redisLibeventAttach(ac, s->base);
	redisAsyncSetConnectCallback(ac, sentinel_sub_connected);
	redisAsyncSetDisconnectCallback(ac, sentinel_sub_disconnected);
	redisAsyncCommand(ac, sentinel_message, s, "SUBSCRIBE +switch-master");
}

static void sentinel_resub(evutil_socket_t fd, short what, void *arg)
{
	sentinel_subscribe(arg);
}

/* ---- life ---- */

struct sentinel *sentinel_new(struct event_base *base, const char *list, const char *master,
			      int timeout_ms, const char **why)
{
	struct sentinel_addr addrs[SENTINEL_MAX];
	int n = sentinel_parse_list(list, addrs, SENTINEL_MAX, why);
	if (n < 0)
		return NULL;
	if (master[0] == '\0' || strlen(master) >= SENTINEL_MASTER_MAX) {
		*why = "the master name must be 1 to 127 bytes";
		return NULL;
	}
	struct sentinel *s = xcalloc(1, sizeof(*s));
	s->base = base;
	snprintf(s->master, sizeof(s->master), "%s", master);
	s->n = n;
	memcpy(s->addrs, addrs, sizeof(addrs[0]) * (size_t)n);
	s->retry = evtimer_new(base, sentinel_retry, s);
	s->resub = evtimer_new(base, sentinel_resub, s);
	s->asking = 1;
	snprintf(s->why, sizeof(s->why), "starting");
	for (int i = 0; i < n; i++) {
		char url[SENTINEL_HOST_MAX + 32];
		snprintf(url, sizeof(url), "redis://%s:%d", addrs[i].host, addrs[i].port);
		s->ask[i] = redis_new(base, url, NULL, timeout_ms, "sentinel");
		if (s->ask[i] == NULL) {
			*why = "a sentinel's address is not usable";
			s->n = i;
			sentinel_free(s);
			return NULL;
		}
		redis_set_connect_hook(s->ask[i], sentinel_link_up, s);
	}
	sentinel_subscribe(s);
	return s;
}

void sentinel_free(struct sentinel *s)
{
	if (s == NULL)
		return;
	s->closing = 1;
	if (s->sub) {
		redisAsyncContext *ac = s->sub;
		s->sub = NULL;
		ac->data = NULL;
		redisAsyncFree(ac);
	}
	for (int i = 0; i < s->n; i++)
		redis_free(s->ask[i]); /* questions out end with REDIS_DOWN and see closing */
	if (s->n_links)
		log_error("redis", "links outlive the sentinels", "links=%zu", s->n_links);
	event_free(s->retry);
	event_free(s->resub);
	free(s->links);
	free(s);
}

int sentinel_primary(const struct sentinel *s, struct sentinel_addr *out)
{
	if (!s->known)
		return 0;
	*out = s->primary;
	return 1;
}

uint64_t sentinel_epoch(const struct sentinel *s)
{
	return s->epoch;
}

const char *sentinel_why(const struct sentinel *s)
{
	struct sentinel *w = (struct sentinel *)s; /* the text is a cache */
	if (!s->known)
		snprintf(w->text, sizeof(w->text),
			 "finding the Redis primary '%s' through the sentinels (%s)", s->master,
			 s->why[0] ? s->why : "asking");
	else if (s->asking)
		snprintf(w->text, sizeof(w->text),
			 "the Redis primary %s:%d is unreachable (%s); asking the sentinels "
			 "whether another one took over",
			 s->primary.host, s->primary.port, s->why);
	else
		w->text[0] = '\0';
	return w->text;
}

void sentinel_attach(struct sentinel *s, struct redis *r)
{
	if (s->n_links == s->cap_links) {
		s->cap_links = s->cap_links ? s->cap_links * 2 : 4;
		s->links = xrealloc(s->links, s->cap_links * sizeof(*s->links));
	}
	s->links[s->n_links++] = r;
}

void sentinel_detach(struct sentinel *s, struct redis *r)
{
	for (size_t i = 0; i < s->n_links; i++)
		if (s->links[i] == r) {
			s->links[i] = s->links[--s->n_links];
			return;
		}
}

const struct sentinel_stats *sentinel_stats(const struct sentinel *s)
{
	return &s->stats;
}
