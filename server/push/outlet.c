/*
 * outlet — the socket of one event stream (see outlet.h).
 */
#include "server/push/outlet.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/push/sse.h"

static int outlet_retry(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
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
		if (n == 0 || (n < 0 && !outlet_retry())) {
			outlet_gone(o);
			return;
		}
	}
	if ((what & EV_WRITE) && o->unsent) {
		if (evbuffer_write(o->unsent, fd) < 0 && !outlet_retry()) {
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

int outlet_write(struct outlet *o, const char *p, size_t len, struct sse_block *b)
{
	if (o->unsent == NULL) {
		ssize_t n = send(o->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == (ssize_t)len)
			return 0;
		if (n < 0 && !outlet_retry()) {
			event_del(o->io);
			return -1;
		}
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
		o->unsent = evbuffer_new();
		outlet_watch(o, 1);
	}
	if (b)
		evbuffer_add_reference(o->unsent, p, len, outlet_block_written, sse_block_ref(b));
	else
		evbuffer_add(o->unsent, p, len);
	return 0;
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
