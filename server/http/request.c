/*
 * request — reading a request and answering it (see request.h).
 */
#include "server/http/request.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/jsonin.h"
#include "common/jsonout.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/http/problem.h"

/* Decodes %xx; returns a new string, or NULL when it would hold a NUL byte. */
static char *http_decode(const char *s, size_t len)
{
	char *raw = xstrndup(s, len);
	size_t out_len = 0;
	char *dec = evhttp_uridecode(raw, 0, &out_len);
	free(raw);
	if (dec == NULL)
		return NULL;
	if (strlen(dec) != out_len) {
		free(dec);
		return NULL;
	}
	char *copy = xstrdup(dec);
	free(dec);
	return copy;
}

char *http_req_param(struct http_req *r, const char *name)
{
	size_t nl = strlen(name);
	for (int i = 0; i < r->params.n; i++)
		if (r->params.p[i].name_len == nl && memcmp(r->params.p[i].name, name, nl) == 0)
			return http_decode(r->params.p[i].value, r->params.p[i].value_len);
	return NULL;
}

static void http_req_parse_query(struct http_req *r)
{
	if (r->query == NULL && !r->query_bad) {
		const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->ev));
		r->query = xcalloc(1, sizeof(*r->query));
		TAILQ_INIT(r->query);
		if (q && evhttp_parse_query_str(q, r->query) < 0)
			r->query_bad = 1;
	}
}

const char *http_req_query_unknown(struct http_req *r, const char *const *allowed)
{
	http_req_parse_query(r);
	if (r->query_bad)
		return "?";
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, r->query, next)
	{
		int known = 0;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, kv->key) == 0;
		/* A repeated filter is as ambiguous as an unknown one. */
		if (!known || evhttp_find_header(r->query, kv->key) != kv->value)
			return kv->key;
	}
	return NULL;
}

char *http_req_query(struct http_req *r, const char *name)
{
	http_req_parse_query(r);
	const char *v = evhttp_find_header(r->query, name);
	return v ? xstrdup(v) : NULL;
}

const char *http_req_header(struct http_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

static int http_json_depth_ok(json_t *v, int depth)
{
	if (depth > HTTP_JSON_MAX_DEPTH)
		return 0;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach(v, k, c) if (!http_json_depth_ok(c, depth + 1)) return 0;
	} else if (json_is_array(v)) {
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c) if (!http_json_depth_ok(c, depth + 1)) return 0;
	}
	return 1;
}

json_t *http_req_json_body(struct http_req *r)
{
	const char *ct = http_req_header(r, "Content-Type");
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		http_reply_problem(r, 415, "unsupported-media-type", NULL,
				   "send the body as Content-Type: application/json");
		return NULL;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	size_t len = evbuffer_get_length(in);
	const char *data = (const char *)evbuffer_pullup(in, -1);
	json_error_t err;
	/* plain bodies in one pass; jansson decides the rest (common/jsonin.h) */
	json_t *root = jsonin_loadb(data, len);
	if (root == NULL)
		root = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		http_reply_problem(r, 400, "malformed-json", NULL, "%s at line %d column %d",
				   err.text, err.line, err.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		http_reply_problem(r, 400, "malformed-json", NULL,
				   "the body must be a JSON object");
		return NULL;
	}
	if (!http_json_depth_ok(root, 1)) {
		json_decref(root);
		http_reply_problem(r, 400, "malformed-json", NULL,
				   "the body nests deeper than %d levels", HTTP_JSON_MAX_DEPTH);
		return NULL;
	}
	return root;
}

const char *http_req_body(struct http_req *r, const char *media_type, size_t *len)
{
	const char *ct = http_req_header(r, "Content-Type");
	size_t ml = strlen(media_type);
	int ok = ct && strncasecmp(ct, media_type, ml) == 0 &&
		 (ct[ml] == '\0' || ct[ml] == ';' || ct[ml] == ' ');
	if (ok && ct[ml] != '\0') {
		/* the one parameter understood: charset, which must be UTF-8 */
		const char *p = ct + ml + strspn(ct + ml, " ;");
		if (*p &&
		    (strncasecmp(p, "charset=", 8) != 0 ||
		     (strcasecmp(p + 8, "utf-8") != 0 && strcasecmp(p + 8, "\"utf-8\"") != 0)))
			ok = 0;
	}
	if (!ok) {
		http_reply_problem(r, 415, "unsupported-media-type", NULL,
				   "send the body as Content-Type: %s (UTF-8)", media_type);
		return NULL;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	*len = evbuffer_get_length(in);
	const char *data = (const char *)evbuffer_pullup(in, -1);
	return data ? data : "";
}

void http_reply_header(struct http_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

void http_reply_buffer(struct http_req *r, int status, const char *content_type,
		       struct evbuffer *body)
{
	if (r->hold) {
		void (*hold)(struct http_req *, int, const char *, struct evbuffer *) = r->hold;
		r->hold = NULL;
		hold(r, status, content_type, body);
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	if (content_type)
		evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Request-Id", r->id);
	/* API answers are never cached; the web app's files set their own policy. */
	if (evhttp_find_header(h, "Cache-Control") == NULL)
		evhttp_add_header(h, "Cache-Control", "no-store");
	if (r->owner->closing(r))
		evhttp_add_header(h, "Connection", "close");
	if (evhttp_request_get_command(r->ev) == EVHTTP_REQ_HEAD && body) {
		/* libevent 2.1 would send the body: keep the length, drop the bytes. */
		char len[24];
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(r->ev, status, NULL, body);
	http_req_finish(r, status);
}

void http_req_finish(struct http_req *r, int status)
{
	r->owner->done(r, status);
}

/*
 * The one JSON writer of every answer and problem body: body (its reference
 * taken) as compact text and a newline, under content_type; no body, no
 * content.
 */
static void http_reply_body(struct http_req *r, int status, const char *content_type, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	if (body) {
		/* 15 significant digits: 20.975, not 20.975000000000001 */
		size_t len;
		char *s = jsonout_dumps(body, JSON_REAL_PRECISION(15), &len);
		json_decref(body);
		if (s) {
			evbuffer_add(buf, s, len);
			evbuffer_add(buf, "\n", 1);
			free(s);
		}
	}
	http_reply_buffer(r, status, body ? content_type : NULL, buf);
	evbuffer_free(buf);
}

void http_reply_json(struct http_req *r, int status, json_t *body)
{
	http_reply_body(r, status, "application/json; charset=utf-8", body);
}

void http_reply_problem(struct http_req *r, int status, const char *type_slug, json_t *errors,
			const char *detail_fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, detail_fmt);
	vsnprintf(detail, sizeof(detail), detail_fmt, ap);
	va_end(ap);
	http_reply_body(r, status, "application/problem+json",
			problem_new(status, type_slug, detail, r->id, errors));
}

void http_reply_options(struct http_req *r, const char *allow)
{
	char all[160];
	snprintf(all, sizeof(all), "%s, OPTIONS", allow);
	http_reply_header(r, "Allow", all);
	http_reply_json(r, 204, NULL);
}

void http_reply_unauthorized(struct http_req *r, const char *detail)
{
	http_reply_header(r, "WWW-Authenticate", "Bearer realm=\"craftmatch\"");
	http_reply_problem(r, 401, "unauthorized", NULL, "%s", detail);
}

void http_reply_unavailable(struct http_req *r, const char *detail)
{
	http_reply_header(r, "Retry-After", "1");
	http_reply_problem(r, 503, "unavailable", NULL, "%s", detail);
}
