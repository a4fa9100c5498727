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

#endif
