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

/* The size line of an HTTP/1.1 chunk of n bytes ("%zx\r\n") in line; returns its length. */
size_t sse_chunk_head(char line[24], size_t n);
/* Makes out's whole content one HTTP/1.1 chunk (its size line before, CRLF after). */
void sse_chunk_wrap(struct evbuffer *out);

/* A chunk of the n frames (frames[i] of lens[i] bytes), one reference held; NULL when n is 0. */
struct sse_block *sse_block_new(const char *const *frames, const size_t *lens, size_t n);
/*
 * What b sends: the whole chunk when the response is chunked, else the
 * frames alone (an HTTP/1.0 stream); *len bytes, valid while a reference is held.
 */
const char *sse_block_bytes(const struct sse_block *b, int chunked, size_t *len);
/* One more reference (for bytes queued by reference); returns b. */
struct sse_block *sse_block_ref(struct sse_block *b);
void sse_block_release(struct sse_block *b);

#endif
