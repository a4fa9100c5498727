/*
 * outlet — the socket of one event stream (see outlet.h).
 */
#include "server/push/outlet.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "server/log.h"
#include "server/push/sse.h"

/* Sends per io_uring submission (and the ring's size). */
#define OUTLET_BATCH 1024

/* Whether a send or read that failed with err may be tried again later. */
static int outlet_retry(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

static void outlet_io(evutil_socket_t fd, short what, void *arg);

/* Watches for the client leaving and, while bytes wait, for room to write them. */
static void outlet_watch(struct outlet *o, int writing)
{
	struct event_base *base = event_get_base(o->io);
	event_del(o->io);
	event_assign(o->io, base, o->fd, EV_READ | EV_PERSIST | (writing ? EV_WRITE : 0), outlet_io,
		     o);
	event_add(o->io, writing ? o->stall : NULL);
}

static void outlet_gone(struct outlet *o)
{
	event_del(o->io);
	o->news(o, OUTLET_GONE);
}

static void outlet_io(evutil_socket_t fd, short what, void *arg)
{
	struct outlet *o = arg;
	if (what & EV_TIMEOUT) {
		outlet_gone(o);
		return;
	}
	if (what & EV_READ) {
		/* The client says nothing while it listens: what it sends is dropped. */
		char buf[256];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && !outlet_retry(errno))) {
			outlet_gone(o);
			return;
		}
	}
	if ((what & EV_WRITE) && o->unsent) {
		if (evbuffer_write(o->unsent, fd) < 0 && !outlet_retry(errno)) {
			outlet_gone(o);
			return;
		}
		if (evbuffer_get_length(o->unsent) == 0) {
			evbuffer_free(o->unsent);
			o->unsent = NULL;
			outlet_watch(o, 0);
			o->news(o, OUTLET_DRAINED);
		}
	}
}

void outlet_open(struct outlet *o, struct event_base *base, int fd, const struct timeval *stall,
		 void (*news)(struct outlet *o, enum outlet_news what))
{
	o->fd = fd;
	o->unsent = NULL;
	o->stall = stall;
	o->news = news;
	/*
	 * Each batch of events goes out as it is written. With Nagle's
	 * algorithm a write waits while the previous one is unacknowledged,
	 * and a listening client, which sends nothing, acknowledges only when
	 * its delayed ACK fires (40 ms on Linux): pushes of a steady stream
	 * went out in bursts, up to 40 ms late. (Not TCP, e.g. a Unix socket:
	 * refused, harmless.)
	 */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	o->io = event_new(base, fd, EV_READ | EV_PERSIST, outlet_io, o);
	event_add(o->io, NULL);
}

static void outlet_block_written(const void *data, size_t len, void *arg)
{
	sse_block_release(arg);
}

/* What the kernel did not take waits in the outlet's buffer (b's bytes by reference). */
static void outlet_keep(struct outlet *o, const char *p, size_t len, struct sse_block *b)
{
	if (o->unsent == NULL) {
		o->unsent = evbuffer_new();
		outlet_watch(o, 1);
	}
	if (b)
		evbuffer_add_reference(o->unsent, p, len, outlet_block_written, sse_block_ref(b));
	else
		evbuffer_add(o->unsent, p, len);
}

static int outlet_send_now(struct outlet *o, const char *p, size_t len, struct sse_block *b)
{
	if (o->unsent == NULL) {
		ssize_t n = send(o->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && !outlet_retry(errno)) {
			event_del(o->io);
			return -1;
		}
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	outlet_keep(o, p, len, b);
	return 0;
}

int outlet_write(struct outlet_batch *q, struct outlet *o, const char *p, size_t len,
		 struct sse_block *b)
{
	if (o->queued) /* its queued bytes go first */
		outlet_batch_flush(q);
	return outlet_send_now(o, p, len, b);
}

/* ---- the batch ---- */

struct outlet_send {
	struct outlet *o;
	const char *p;
	size_t len;
	struct sse_block *b; /* one reference, held until the send is settled */
};

struct outlet_batch {
	int uring; /* the ring below is set up */
	struct io_uring ring;
	size_t n;
	struct outlet_send q[OUTLET_BATCH];
};

struct outlet_batch *outlet_batch_new(int uring)
{
	struct outlet_batch *q = xcalloc(1, sizeof(*q));
	if (!uring) {
		log_info("push", "fan-out sends", "io_uring=off");
		return q;
	}
	/* SUBMIT_ALL: one submission hands the kernel every send, failed or not. */
	int r = io_uring_queue_init(OUTLET_BATCH, &q->ring, IORING_SETUP_SUBMIT_ALL);
	q->uring = r == 0;
	log_info("push", "fan-out sends", "io_uring=%s", q->uring ? "yes" : strerror(-r));
	return q;
}

void outlet_batch_free(struct outlet_batch *q)
{
	if (q == NULL)
		return;
	outlet_batch_flush(q);
	if (q->uring)
		io_uring_queue_exit(&q->ring);
	free(q);
}

/* The kernel's answer to one queued send (bytes sent, or -errno): as outlet_write would do. */
static void outlet_settle(struct outlet_send *s, ssize_t n)
{
	struct outlet *o = s->o;
	o->queued = 0;
	if (n < 0 && !outlet_retry((int)-n)) {
		outlet_gone(o);
	} else if (n < (ssize_t)s->len) {
		size_t sent = n > 0 ? (size_t)n : 0;
		outlet_keep(o, s->p + sent, s->len - sent, s->b);
	}
	sse_block_release(s->b);
}

void outlet_batch_flush(struct outlet_batch *q)
{
	size_t n = q->n, submitted = 0;
	if (n == 0)
		return;
	q->n = 0;
	for (size_t i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);
		struct outlet_send *s = &q->q[i];
		io_uring_prep_send(sqe, s->o->fd, s->p, s->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		io_uring_sqe_set_data64(sqe, i);
	}
	int r = 0;
	while (submitted < n) {
		r = io_uring_submit(&q->ring);
		if (r > 0) {
			submitted += (size_t)r;
		} else if (r != -EINTR && r != -EAGAIN && r != -EBUSY) {
			break;
		}
	}
	for (size_t done = 0; done < submitted;) {
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&q->ring, &cqe) < 0)
			continue; /* interrupted: every submitted send completes */
		outlet_settle(&q->q[io_uring_cqe_get_data64(cqe)], cqe->res);
		io_uring_cqe_seen(&q->ring, cqe);
		done++;
	}
	if (submitted < n) {
		/* The ring failed: its unsubmitted sends go with it, plain sends from now on. */
		log_error("push", "io_uring submission failed: plain sends from now on", "error=%s",
			  strerror(-r));
		io_uring_queue_exit(&q->ring);
		q->uring = 0;
		for (size_t i = submitted; i < n; i++) {
			struct outlet_send *s = &q->q[i];
			s->o->queued = 0;
			if (outlet_send_now(s->o, s->p, s->len, s->b) < 0)
				s->o->news(s->o, OUTLET_GONE);
			sse_block_release(s->b);
		}
	}
}

void outlet_queue(struct outlet_batch *q, struct outlet *o, const char *p, size_t len,
		  struct sse_block *b)
{
	if (o->queued)
		outlet_batch_flush(q);
	if (!q->uring || o->unsent != NULL) {
		if (outlet_send_now(o, p, len, b) < 0)
			o->news(o, OUTLET_GONE);
		return;
	}
	o->queued = 1;
	q->q[q->n++] = (struct outlet_send){o, p, len, sse_block_ref(b)};
	if (q->n == OUTLET_BATCH)
		outlet_batch_flush(q);
}

size_t outlet_unsent(const struct outlet *o)
{
	return o->unsent ? evbuffer_get_length(o->unsent) : 0;
}

void outlet_close(struct outlet *o)
{
	if (o->fd < 0)
		return;
	event_free(o->io);
	o->io = NULL;
	if (o->unsent)
		evbuffer_free(o->unsent);
	o->unsent = NULL;
	shutdown(o->fd, SHUT_WR);
	close(o->fd);
	o->fd = -1;
}
