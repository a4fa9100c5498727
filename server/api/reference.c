/*
 * reference (API) — serving the reference tables (see reference.h).
 * The documents never change while the process runs: built once, cached.
 */
#include "server/api/reference.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "common/materials.h"
#include "common/provinces.h"
#include "server/http/request.h"

static void reference_send(struct http_req *r, json_t *(*build)(void), char **cache,
			   const char *version)
{
	if (*cache == NULL) {
		json_t *doc = build();
		*cache = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
		json_decref(doc);
	}
	char etag[64];
	snprintf(etag, sizeof(etag), "\"%s\"", version);
	http_reply_header(r, "ETag", etag);
	const char *inm = http_req_header(r, "If-None-Match");
	struct evbuffer *b = evbuffer_new();
	if (inm && strcmp(inm, etag) == 0) {
		http_reply_buffer(r, 304, NULL, b);
	} else {
		evbuffer_add_reference(b, *cache, strlen(*cache), NULL, NULL);
		http_reply_buffer(r, 200, "application/json; charset=utf-8", b);
	}
	evbuffer_free(b);
}

static char *reference_provinces_json, *reference_materials_json;

void reference_provinces(struct http_req *r)
{
	reference_send(r, provinces_to_json, &reference_provinces_json, PROVINCES_VERSION);
}

void reference_materials(struct http_req *r)
{
	reference_send(r, materials_to_json, &reference_materials_json, MATERIALS_VERSION);
}
