/*
 * outlet — the socket of one event stream, once taken from evhttp
 * (http_server_take_socket): what the hub writes to each subscriber.
 *
 * A write goes straight to the socket (one send) while nothing waits; what
 * the kernel does not take waits in a buffer that exists only while there
 * is some, shared blocks by reference. An idle outlet holds its descriptor
 * and one event, which watches for the client leaving and, while bytes
 * wait, for room to write them. The owner hears from the loop, through its
 * callback, that the stream cannot go on (OUTLET_GONE: the client left, a
 * write of waiting bytes failed, or nothing could be written for the stall
 * timeout) and that what waited is all written (OUTLET_DRAINED).
 *
 * A fan-out's writes of shared blocks go through a batch (outlet_queue,
 * outlet_batch_flush): up to OUTLET_BATCH sends handed to the kernel in one
 * io_uring submission instead of one system call each, where the kernel
 * allows io_uring; plain sends otherwise. An outlet is in a batch at most
 * once, and a flushed batch leaves every outlet as a plain write would have.
 */
#ifndef CM_PUSH_OUTLET_H
#define CM_PUSH_OUTLET_H

#include <stddef.h>
#include <sys/time.h>

struct event;
struct event_base;
struct evbuffer;
struct sse_block;
struct outlet;
struct outlet_batch; /* the sends of a fan-out, submitted together (one per hub) */

enum outlet_news { OUTLET_GONE, OUTLET_DRAINED };

struct outlet {
	int fd;		     /* -1 when closed */
	unsigned queued : 1; /* a send of it waits in the batch */
	struct event *io;
	struct evbuffer *unsent;     /* NULL when nothing waits */
	const struct timeval *stall; /* waiting bytes must move within this */
	void (*news)(struct outlet *o, enum outlet_news what);
};

/* Makes o the owner of socket fd (caller's descriptor, now o's). */
void outlet_open(struct outlet *o, struct event_base *base, int fd, const struct timeval *stall,
		 void (*news)(struct outlet *o, enum outlet_news what));
/*
 * Writes len bytes (of block b, by reference, when not NULL), after what o
 * has queued in batch q; 0, or -1 when the stream cannot go on (the send
 * failed; the callback is not called for it).
 */
int outlet_write(struct outlet_batch *q, struct outlet *o, const char *p, size_t len,
		 struct sse_block *b);
/* A batch: io_uring when uring is set and the kernel allows it, plain sends otherwise; never NULL.
 */
struct outlet_batch *outlet_batch_new(int uring);
void outlet_batch_free(struct outlet_batch *q);
/*
 * Writes len bytes of block b (referenced until sent) as outlet_write does,
 * through the batch: at once when the outlet has bytes waiting or the batch
 * is plain, otherwise at the next outlet_batch_flush (or when the batch is
 * full). A send that fails later tells the outlet's owner OUTLET_GONE.
 */
void outlet_queue(struct outlet_batch *q, struct outlet *o, const char *p, size_t len,
		  struct sse_block *b);
/* Sends everything queued and settles each outlet; the batch is empty after it. */
void outlet_batch_flush(struct outlet_batch *q);
/* Bytes the kernel has not taken yet. */
size_t outlet_unsent(const struct outlet *o);
/* Shuts the socket for writing and closes it; what still waits is dropped. */
void outlet_close(struct outlet *o);

#endif
