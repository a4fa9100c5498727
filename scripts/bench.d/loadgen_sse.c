/*
 * cmbench-load's SSE side: the fan-out subscribers (--sse) and the one
 * watcher that times match.proposed pushed over GET /v1/events (--sse-path).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen_int.h"

struct req sse_req;
long sse_ready;

/*
 * Deliveries: (first listing id an event names, arrival). Resolved against
 * the posted ids at the end: an event may well arrive before the 201 of the
 * POST that caused it.
 */
struct delivery {
	char id[ID_LEN];
	uint64_t t;
};
static struct delivery *dl;
size_t dl_n;
static size_t dl_cap;

void (*sse_watch_hook)(const char *ev, size_t len, uint64_t t);
const char *sse_only_event;

static void sse_scan_event(const char *ev, size_t len, uint64_t t)
{
	sse_events++;
	if (sse_only_event != NULL) {
		char want[128];
		int n = snprintf(want, sizeof(want), "event: %s\n", sse_only_event);
		if (memmem(ev, len, want, (size_t)n) == NULL)
			return;
	}
	const char *p = memmem(ev, len, "lst_", 4);
	if (p == NULL || ev + len - p < ID_LEN)
		return;
	if (dl_n == dl_cap) {
		dl_cap = dl_cap ? dl_cap * 2 : 65536;
		dl = realloc(dl, dl_cap * sizeof(*dl));
	}
	memcpy(dl[dl_n].id, p, ID_LEN);
	dl[dl_n].t = t;
	dl_n++;
}

void sse_resolve(void)
{
	for (size_t i = 0; i < dl_n; i++) {
		struct idrec *r = id_get(dl[i].id, ID_LEN, 0);
		if (r && r->mine && r->sent_ns) {
			samples_add(&sse_lat, dl[i].t > r->sent_ns ? dl[i].t - r->sent_ns : 0);
			sse_matched++;
		}
	}
}

static struct conn sse_watch; /* --sse-watch: one subscriber timing match.proposed */

/* A match.proposed frame: time it for the need and the offer it names. */
static void sse_watch_event(const char *ev, size_t len, uint64_t t)
{
	if (memmem(ev, len, "event: match.proposed", 21) == NULL)
		return;
	const char *keys[] = {"\"need\":\"", "\"offer\":\""};
	for (int k = 0; k < 2; k++) {
		const char *p = memmem(ev, len, keys[k], strlen(keys[k]));
		if (p == NULL)
			continue;
		p += strlen(keys[k]);
		if (ev + len - p < ID_LEN)
			continue;
		struct idrec *r = id_get(p, ID_LEN, 1);
		if (r && r->sse_seen_ns == 0)
			r->sse_seen_ns = t;
	}
}

static void sse_readable(struct conn *c, uint64_t t)
{
	int rc = conn_read_some(c);
	if (!c->sse_ok) {
		c->in[c->in_len] = '\0';
		const char *hend = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		if (hend == NULL) {
			if (rc < 0)
				die("an SSE subscriber was closed before its answer");
			return;
		}
		int status = atoi(c->in + 9);
		if (status != 200)
			die("GET (sse) answered %d, not 200:\n%.300s", status, c->in);
		/* a chunked stream only adds size lines between events: harmless here */
		c->sse_ok = 1;
		sse_ready++;
		size_t used = (size_t)(hend - c->in) + 4;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
	/* events end with a blank line */
	for (;;) {
		const char *e = memmem(c->in, c->in_len, "\n\n", 2);
		size_t sep = 2;
		const char *e2 = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		if (e2 && (!e || e2 < e)) {
			e = e2;
			sep = 4;
		}
		if (e == NULL)
			break;
		size_t used = (size_t)(e - c->in) + sep;
		if (c == &sse_watch && sse_watch_hook)
			sse_watch_hook(c->in, used, t);
		else if (c == &sse_watch)
			sse_watch_event(c->in, used, t);
		else
			sse_scan_event(c->in, used, t);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
	if (rc < 0) {
		n_errors++;
		conn_close(c);
	}
}

static struct req sse_watch_req;

void sse_event(struct conn *c, uint32_t evs, uint64_t t)
{
	if (!c->connected) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err)
			die("SSE connect: %s", strerror(err));
		c->connected = 1;
		const struct req *q = c == &sse_watch ? &sse_watch_req : c->cur ? c->cur : &sse_req;
		ssize_t n = write(c->fd, q->data, q->len);
		if (n != (ssize_t)q->len)
			die("SSE request write failed");
		conn_arm(c, EPOLLIN);
		return;
	}
	if (evs & (EPOLLIN | EPOLLHUP | EPOLLERR))
		sse_readable(c, t);
}

void sse_watch_start(const char *path, const char *token)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
			 "Authorization: Bearer %s\r\n\r\n",
			 path, token);
	sse_watch_req.data = strdup(buf);
	sse_watch_req.len = (size_t)n;
	sse_watch.kind = CONN_SSE;
	if (conn_open(&sse_watch, &target) < 0)
		die("connect: %s", strerror(errno));
}

int sse_watch_ok(void)
{
	return sse_watch.sse_ok;
}
