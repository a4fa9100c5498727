/*
 * sse — the text/event-stream framing of GET /v1/events (the server-sent
 * events of the WHATWG HTML standard).
 *
 * An event is "id: <cm:events entry id>\nevent: <type>\ndata: <JSON>\n\n"; a
 * comment is ": <text>\n\n". The JSON is compact, so it never holds a raw
 * newline and data is always one line. Pure formatting: no I/O.
 */
#ifndef CM_PUSH_SSE_H
#define CM_PUSH_SSE_H

#include <jansson.h>
#include <stddef.h>

#include "server/store/events.h"

struct evbuffer;

/* "retry: <ms>\n\n": how long a client waits before reconnecting. */
void sse_retry(struct evbuffer *out, int ms);
/* ": <text>\n\n" (text has no newline). */
void sse_comment(struct evbuffer *out, const char *text);

/*
 * The frame of one stream entry: data is a JSON object of "id", "type" and
 * every field of the entry (values are the stream's strings). Returns a new
 * string of *len bytes; caller frees.
 */
char *sse_entry_frame(const struct events_entry *e, size_t *len);

/*
 * A control event (ready, reset) that is not an entry: id is the stream
 * position it stands for; data (stolen) gets "id" and "type" added.
 */
void sse_control(struct evbuffer *out, const char *id, const char *type, json_t *data);

/*
 * A block: the bytes of one HTTP/1.1 chunk holding SSE frames, counted by
 * reference, so that every subscriber of an audience is given the same
 * bytes without a copy (evbuffer_add_reference); freed when the last
 * connection has written it and its maker let it go.
 */
struct sse_block;

/* A chunk of the n frames (frames[i] of lens[i] bytes), one reference held; NULL when n is 0. */
struct sse_block *sse_block_new(const char *const *frames, const size_t *lens, size_t n);
/*
 * Sends b: the whole chunk when the response is chunked, else the frames
 * alone (an HTTP/1.0 stream). When out (the connection's output) is empty
 * and fd >= 0, straight to the socket fd first, as far as the kernel takes
 * it at once; what is left (all of it otherwise) is added to out by
 * reference, behind what waits there, so the order of the stream holds.
 */
void sse_block_send(struct sse_block *b, struct evbuffer *out, int fd, int chunked);
void sse_block_release(struct sse_block *b);

#endif
