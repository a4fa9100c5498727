/*
 * sse — event-stream framing (see sse.h).
 */
#include "server/push/sse.h"

#include <event2/buffer.h>
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
