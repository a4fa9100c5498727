/*
 * cmbench-load --watch-redis: follows cm:events with XREAD BLOCK on a raw
 * connection (hiredis' reader parses the replies) and times, for each listing
 * the run posted, its first match.proposed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen_int.h"

static struct conn watch;
static char watch_last[64] = "$";

static void watch_send(void)
{
	char cmd[256];
	int n = snprintf(
	    cmd, sizeof(cmd),
	    "*8\r\n$5\r\nXREAD\r\n$5\r\nCOUNT\r\n$4\r\n2000\r\n$5\r\nBLOCK\r\n$3\r\n200\r\n"
	    "$7\r\nSTREAMS\r\n$9\r\ncm:events\r\n$%zu\r\n%s\r\n",
	    strlen(watch_last), watch_last);
	if (write(watch.fd, cmd, (size_t)n) != n)
		die("write to Redis failed");
}

static int64_t stream_ms(const char *id)
{
	return strtoll(id, NULL, 10);
}

static const char *entry_field(const redisReply *fields, const char *name, size_t *len)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (strcmp(fields->element[i]->str, name) == 0) {
			*len = fields->element[i + 1]->len;
			return fields->element[i + 1]->str;
		}
	return NULL;
}

static void watch_entry(const redisReply *e, uint64_t t)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
		return;
	const char *sid = e->element[0]->str;
	const redisReply *f = e->element[1];
	snprintf(watch_last, sizeof(watch_last), "%s", sid);
	size_t tl = 0;
	const char *type = entry_field(f, "type", &tl);
	if (type == NULL)
		return;
	if (tl == 15 && memcmp(type, "listing.created", 15) == 0) {
		size_t l;
		const char *id = entry_field(f, "listing", &l);
		struct idrec *r = id ? id_get(id, l, 1) : NULL;
		if (r && r->created_ms == 0)
			r->created_ms = stream_ms(sid);
	} else if (tl == 14 && memcmp(type, "match.proposed", 14) == 0) {
		const char *names[] = {"need", "offer"};
		for (int k = 0; k < 2; k++) {
			size_t l;
			const char *id = entry_field(f, names[k], &l);
			struct idrec *r = id ? id_get(id, l, 1) : NULL;
			if (r && r->seen_ns == 0) {
				r->seen_ns = t;
				r->proposed_ms = stream_ms(sid);
			}
		}
	}
}

void watch_readable(uint64_t t)
{
	if (conn_read(&watch) < 0)
		die("Redis closed the watch connection");
	redisReaderFeed(watch.rr, watch.in, watch.in_len);
	watch.in_len = 0;
	for (;;) {
		void *reply = NULL;
		if (redisReaderGetReply(watch.rr, &reply) != REDIS_OK)
			die("bad reply from Redis");
		if (reply == NULL)
			break;
		redisReply *r = reply;
		if (r->type == REDIS_REPLY_ERROR)
			die("XREAD: %s", r->str);
		if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
			const redisReply *entries = r->element[0]->element[1];
			for (size_t i = 0; i < entries->elements; i++)
				watch_entry(entries->element[i], t);
		}
		freeReplyObject(r);
		if (watch_active)
			watch_send();
	}
}

void watch_start(const char *hostport)
{
	char host[128];
	const char *colon = strrchr(hostport, ':');
	if (colon == NULL)
		die("--watch-redis HOST:PORT");
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		die("--watch-redis: %s is not an IPv4 address", host);
	watch.kind = CONN_REDIS;
	watch.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(watch.fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("cannot connect to Redis at %s: %s", hostport, strerror(errno));
	/* "$" would miss entries appended before the first XREAD: take the last id now */
	const char *q = "*6\r\n$9\r\nXREVRANGE\r\n$9\r\ncm:events\r\n$1\r\n+\r\n$1\r\n-\r\n$"
			"5\r\nCOUNT\r\n$1\r\n1\r\n";
	if (write(watch.fd, q, strlen(q)) != (ssize_t)strlen(q))
		die("write to Redis failed");
	watch.rr = redisReaderCreate();
	void *reply = NULL;
	while (reply == NULL) {
		char buf[4096];
		ssize_t n = read(watch.fd, buf, sizeof(buf));
		if (n <= 0)
			die("Redis closed the connection");
		redisReaderFeed(watch.rr, buf, (size_t)n);
		if (redisReaderGetReply(watch.rr, &reply) != REDIS_OK)
			die("bad reply from Redis");
	}
	redisReply *r = reply;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1)
		snprintf(watch_last, sizeof(watch_last), "%s", r->element[0]->element[0]->str);
	else
		snprintf(watch_last, sizeof(watch_last), "0-0");
	freeReplyObject(r);
	fcntl(watch.fd, F_SETFL, fcntl(watch.fd, F_GETFL) | O_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &watch};
	epoll_ctl(ep, EPOLL_CTL_ADD, watch.fd, &ev);
	watch.connected = 1;
	watch_active = 1;
	watch_send();
}
