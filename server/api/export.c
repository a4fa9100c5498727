/*
 * export — list routes as streamed CSV (see export.h).
 *
 * An export's life: a page call out (inflight), then its rows written as one
 * chunk, then a wait on the pace timer until the connection's output is
 * below the low-water mark, then the next page call; after the last page the
 * reply ends. evhttp's close callback only records that the client left;
 * the export is finished and freed from the pace timer or from the page's
 * answer, never inside a callback of its own connection, and never while a
 * page call is out (the struct is that call's argument).
 */
#include "server/api/export.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/fields.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/http/request.h"
#include "server/log.h"

#define EXPORT_LOW_WATER (64 * 1024) /* unsent bytes below which the next page is read */
#define EXPORT_PACE_MS 5	     /* looks again at the output this often while it is above */
#define EXPORT_RETRY_MS 250	     /* after a failed page call */
#define EXPORT_RETRIES 3	     /* failed calls in a row before the export is cut */
#define EXPORT_SNDBUF (64 * 1024)    /* the kernel's send buffer of an exporting connection */

struct export
{
	struct http_req *r;
	struct evhttp_request *ev;	 /* r->ev while we may use it */
	struct evhttp_connection *evcon; /* its connection, until evhttp closes it */
	const struct export_spec *spec;
	void *ctx;
	struct export_opts o;
	char *cursor; /* the next page's, owned; NULL before the first */
	int started;  /* the head went out: errors can no longer be problems */
	int inflight; /* a page call is out */
	int closed;   /* the client left (evhttp freed or detached the request) */
	int own_ev;   /* evhttp detached ev from its closed connection: ours to end */
	int failures; /* page calls failed in a row */
	struct event *pace;
	struct evbuffer *out;
	unsigned long long rows, pages;
};

void export_params(struct http_req *r, struct export_opts *o, json_t **errors)
{
	char *format = http_req_query(r, "format");
	char *bom = http_req_query(r, "bom");
	char *headers = http_req_query(r, "headers");
	memset(o, 0, sizeof(*o));
	if (format && strcmp(format, "csv") == 0)
		o->csv = 1;
	else if (format && strcmp(format, "json") != 0)
		fields_error(errors, "format", "must be json or csv");
	if (bom && strcmp(bom, "1") == 0)
		o->bom = 1;
	else if (bom && strcmp(bom, "0") != 0)
		fields_error(errors, "bom", "must be 0 or 1");
	if (bom && !o->csv)
		fields_error(errors, "bom", "applies to format=csv only");
	if (headers && strcmp(headers, "vi") == 0)
		o->labels = 1;
	else if (headers && strcmp(headers, "api") != 0)
		fields_error(errors, "headers", "must be api or vi");
	if (headers && !o->csv)
		fields_error(errors, "headers", "applies to format=csv only");
	if (o->csv) {
		static const char *const paging[] = {"cursor", "limit"};
		for (size_t i = 0; i < 2; i++) {
			char *v = http_req_query(r, paging[i]);
			if (v)
				fields_error(errors, paging[i],
					     "a CSV export holds every row: %s pages the JSON "
					     "list only",
					     paging[i]);
			free(v);
		}
	}
	free(format);
	free(bom);
	free(headers);
}

static void export_sink(void *arg, const char *data, size_t len)
{
	evbuffer_add(arg, data, len);
}

/* Bytes the kernel has not taken yet (the connection's output buffer, server.c's filter). */
static size_t export_unsent(const struct export *x)
{
	return evbuffer_get_length(
	    bufferevent_get_output(evhttp_connection_get_bufferevent(x->evcon)));
}

static void export_free(struct export *x)
{
	x->spec->free(x->ctx);
	event_free(x->pace);
	evbuffer_free(x->out);
	free(x->cursor);
	free(x);
}

/* evhttp frees the connection: a request it detached first is ours to end, else its own. */
static void export_closed(struct evhttp_connection *evcon, void *arg)
{
	struct export *x = arg;
	x->own_ev = x->ev != NULL && evhttp_request_get_connection(x->ev) == NULL;
	if (!x->own_ev)
		x->ev = NULL;
	x->evcon = NULL;
	x->closed = 1;
	if (!x->inflight)
		event_active(x->pace, EV_TIMEOUT, 0); /* finished from the loop, not from here */
}

enum export_end { EXPORT_DONE, EXPORT_LEFT, EXPORT_CUT };
static const char *const export_end_names[] = {"done", "left", "cut"};

/* Finishes the HTTP side and frees x. */
static void export_finish(struct export *x, enum export_end how)
{
	if (x->evcon) {
		evhttp_connection_set_closecb(x->evcon, NULL, NULL);
		if (how == EXPORT_CUT) {
			evhttp_connection_free(x->evcon); /* frees the request with it */
		} else {
			/*
			 * Writing is paused while the last chunk is added: else the
			 * filter (server.c) writes it at once and runs evhttp's write
			 * callback before evhttp has set what follows the reply, which
			 * then never runs, and a keep-alive connection would read no
			 * further request. Enabled again by evhttp, it leaves from the
			 * loop.
			 */
			struct bufferevent *bev = evhttp_connection_get_bufferevent(x->evcon);
			bufferevent_disable(bev, EV_WRITE);
			evhttp_send_reply_end(x->ev);
			bufferevent_enable(bev, EV_WRITE);
		}
	} else if (x->own_ev) {
		evhttp_send_reply_end(x->ev); /* without a connection: frees the request */
	}
	log_info("export", "export over", "id=%s name=%s how=%s rows=%llu pages=%llu", x->r->id,
		 x->spec->name, export_end_names[how], x->rows, x->pages);
	http_req_finish(x->r, 200);
	export_free(x);
}

static void export_page_got(const struct store_reply *res, void *arg);

static void export_fetch(struct export *x)
{
	x->inflight = 1;
	x->pages++;
	x->spec->fetch(x->ctx, x->cursor, export_page_got, x);
}

/* The reply's head: the file's type and name, then the BOM and the header row. */
static void export_begin(struct export *x)
{
	struct http_req *r = x->r;
	struct evkeyvalq *hd = evhttp_request_get_output_headers(r->ev);
	char disposition[128];
	snprintf(disposition, sizeof(disposition), "attachment; filename=\"craftmatch-%s.csv\"",
		 x->spec->name);
	evhttp_add_header(hd, "Content-Type", "text/csv; charset=utf-8; header=present");
	evhttp_add_header(hd, "Content-Disposition", disposition);
	evhttp_add_header(hd, "Cache-Control", "no-store");
	evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(hd, "X-Request-Id", r->id);
	if (r->owner->closing(r))
		evhttp_add_header(hd, "Connection", "close");
	x->ev = r->ev;
	x->evcon = evhttp_request_get_connection(r->ev);
	x->started = 1;
	if (x->evcon == NULL) {
		/* The client left while the first page was read. */
		x->own_ev = 1;
		x->closed = 1;
		return;
	}
	evhttp_connection_set_closecb(x->evcon, export_closed, x);
	evhttp_send_reply_start(r->ev, 200, "OK");
	/*
	 * The connection's deadlines stay as they are: reading is off while
	 * evhttp answers (a request pipelined behind the export waits in the
	 * socket and is read after it), and the write deadline (the idle
	 * timeout) ends an export nobody reads. A client that leaves is noticed
	 * by the next write (reset or broken pipe).
	 */
	struct bufferevent *bev = evhttp_connection_get_bufferevent(x->evcon);
	/*
	 * Linux would grow the send buffer to megabytes: kept small, what an
	 * export leaves unread stays bounded in the kernel too, and the pace
	 * follows the client's reading.
	 */
	struct bufferevent *under = bufferevent_get_underlying(bev);
	evutil_socket_t fd = under ? bufferevent_getfd(under) : -1;
	int sndbuf = EXPORT_SNDBUF;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (x->o.bom)
		evbuffer_add(x->out, CSVOUT_BOM, strlen(CSVOUT_BOM));
	csvout_header(export_sink, x->out, x->spec->columns, x->spec->n_columns,
		      x->o.labels ? CSVOUT_LABELS : 0);
}

static void export_page_got(const struct store_reply *res, void *arg)
{
	struct export *x = arg;
	x->inflight = 0;
	if (x->closed) {
		export_finish(x, EXPORT_LEFT);
		return;
	}
	if (res->status != STORE_OK) {
		if (!x->started) {
			struct http_req *r = x->r;
			export_free(x);
			api_reply_store_error(r, res);
			return;
		}
		log_warn("export", "page failed", "id=%s name=%s failures=%d error=\"%.200s\"",
			 x->r->id, x->spec->name, x->failures + 1,
			 res->message ? res->message : "");
		if (++x->failures > EXPORT_RETRIES) {
			export_finish(x, EXPORT_CUT);
			return;
		}
		x->pages--;
		struct timeval tv = {0, EXPORT_RETRY_MS * 1000};
		evtimer_add(x->pace, &tv);
		return;
	}
	x->failures = 0;
	json_t *page = x->spec->page(x->ctx, res->value);
	if (!x->started) {
		export_begin(x);
		if (x->closed) {
			json_decref(page);
			export_finish(x, EXPORT_LEFT);
			return;
		}
	}
	size_t i;
	json_t *item;
	json_array_foreach(json_object_get(page, "items"), i, item)
	{
		csvout_row(export_sink, x->out, item, x->spec->columns, x->spec->n_columns,
			   CSVOUT_SAFE_TEXT);
		x->rows++;
	}
	const char *next = json_string_value(json_object_get(page, "next_cursor"));
	free(x->cursor);
	x->cursor = next && *next ? xstrdup(next) : NULL;
	json_decref(page);
	/* An empty chunk would end the body: only bytes are sent. */
	if (evbuffer_get_length(x->out) > 0)
		evhttp_send_reply_chunk(x->ev, x->out);
	if (x->closed) { /* the write found the client gone */
		export_finish(x, EXPORT_LEFT);
		return;
	}
	if (x->cursor == NULL) {
		export_finish(x, EXPORT_DONE);
		return;
	}
	/* After the loop has run the connection's flush: then the output is looked at. */
	struct timeval now = {0, 0};
	evtimer_add(x->pace, &now);
}

static void export_pace(evutil_socket_t fd, short what, void *arg)
{
	struct export *x = arg;
	if (x->inflight)
		return;
	if (x->closed) {
		export_finish(x, EXPORT_LEFT);
		return;
	}
	if (x->started && export_unsent(x) > EXPORT_LOW_WATER) {
		struct timeval tv = {0, EXPORT_PACE_MS * 1000};
		evtimer_add(x->pace, &tv);
		return;
	}
	export_fetch(x);
}

void export_start(struct http_req *r, const struct export_spec *spec, void *ctx,
		  const struct export_opts *o)
{
	if (strcmp(r->method, "HEAD") == 0) {
		/* The head a GET would have, without reading a page. */
		char disposition[128];
		snprintf(disposition, sizeof(disposition),
			 "attachment; filename=\"craftmatch-%s.csv\"", spec->name);
		spec->free(ctx);
		http_reply_header(r, "Content-Disposition", disposition);
		struct evbuffer *none = evbuffer_new();
		http_reply_buffer(r, 200, "text/csv; charset=utf-8; header=present", none);
		evbuffer_free(none);
		return;
	}
	struct export *x = xcalloc(1, sizeof(*x));
	x->r = r;
	x->spec = spec;
	x->ctx = ctx;
	x->o = *o;
	x->out = evbuffer_new();
	x->pace = evtimer_new(r->app->base, export_pace, x);
	export_fetch(x);
}
