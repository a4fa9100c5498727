/*
 * sse — event-stream framing (see sse.h).
 */
#include "server/push/sse.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonout.h"
#include "common/xalloc.h"

void sse_retry(struct evbuffer *out, int ms)
{
	evbuffer_add_printf(out, "retry: %d\n\n", ms);
}

void sse_comment(struct evbuffer *out, const char *text)
{
	evbuffer_add_printf(out, ": %s\n\n", text);
}

/* "id: ...\nevent: ...\ndata: <data>\n\n" into a new string. */
static char *sse_frame(const char *id, const char *type, json_t *data, size_t *len)
{
	char *json = jsonout_dumps(data, 0, NULL);
	char *frame = xasprintf("id: %s\nevent: %s\ndata: %s\n\n", id, type, json ? json : "{}");
	free(json);
	*len = strlen(frame);
	return frame;
}

char *sse_entry_frame(const struct events_entry *e, size_t *len)
{
	json_t *data = json_object();
	json_object_set_new(data, "id", json_string(e->id));
	json_object_set_new(data, "type", json_string(e->type));
	for (size_t i = 0; i < e->n; i++) {
		/* Names starting with '_' are for the servers (the engine's record), not clients.
		 */
		if (strcmp(e->names[i], "id") == 0 || strcmp(e->names[i], "type") == 0 ||
		    e->names[i][0] == '_')
			continue;
		/* Values are server-made; one that is not UTF-8 is left out, never sent broken. */
		json_t *v = json_string(e->values[i]);
		if (v)
			json_object_set_new(data, e->names[i], v);
	}
	char *frame = sse_frame(e->id, e->type, data, len);
	json_decref(data);
	return frame;
}

void sse_control(struct evbuffer *out, const char *id, const char *type, json_t *data)
{
	json_object_set_new(data, "id", json_string(id));
	json_object_set_new(data, "type", json_string(type));
	size_t len;
	char *frame = sse_frame(id, type, data, &len);
	json_decref(data);
	evbuffer_add(out, frame, len);
	free(frame);
}

struct sse_block {
	size_t refs;
	size_t len;	/* the whole chunk */
	size_t head;	/* bytes of the chunk-size line before the frames */
	size_t payload; /* bytes of the frames */
	char bytes[];
};

size_t sse_chunk_head(char line[24], size_t n)
{
	return (size_t)snprintf(line, 24, "%zx\r\n", n);
}

void sse_chunk_wrap(struct evbuffer *out)
{
	char line[24];
	evbuffer_prepend(out, line, sse_chunk_head(line, evbuffer_get_length(out)));
	evbuffer_add(out, "\r\n", 2);
}

struct sse_block *sse_block_new(const char *const *frames, const size_t *lens, size_t n)
{
	size_t payload = 0;
	for (size_t i = 0; i < n; i++)
		payload += lens[i];
	if (payload == 0)
		return NULL;
	char line[24];
	size_t head = sse_chunk_head(line, payload);
	struct sse_block *b = xmalloc(sizeof(*b) + head + payload + 2);
	b->refs = 1;
	b->head = head;
	b->payload = payload;
	b->len = head + payload + 2;
	memcpy(b->bytes, line, head);
	char *p = b->bytes + head;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, frames[i], lens[i]);
		p += lens[i];
	}
	memcpy(p, "\r\n", 2);
	return b;
}

void sse_block_release(struct sse_block *b)
{
	if (b && --b->refs == 0)
		free(b);
}

const char *sse_block_bytes(const struct sse_block *b, int chunked, size_t *len)
{
	*len = chunked ? b->len : b->payload;
	return chunked ? b->bytes : b->bytes + b->head;
}

struct sse_block *sse_block_ref(struct sse_block *b)
{
	b->refs++;
	return b;
}
