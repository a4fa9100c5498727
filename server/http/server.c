/*
 * server — evhttp listener with connection cap, request deadline and a
 * strict request framer in front of evhttp (see server.h).
 *
 * Each connection's bufferevent is a filter over the socket. The filter's
 * free hook is the only reliable "connection closed" signal in libevent 2.1.
 * Its input hook runs every byte through the connection's framer
 * (framer.c), which follows every request of the stream, pipelined or not:
 * evhttp is handed only the bytes of requests the framer has proven
 * well-framed, so the two can never disagree on where a request ends, and
 * evhttp never meets a request it would answer with its own HTML error page.
 * A refused request (400, 411, 413, 417, 431, 501) and a request that
 * trickles in too slowly (408) are answered here with problem+json, after
 * the answers to the requests before it, and the connection is closed.
 */
#include "server/http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/strcopy.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/auth.h"
#include "server/http/framer.h"
#include "server/http/metrics.h"
#include "server/http/problem.h"
#include "server/http/request.h"
#include "server/log.h"

/* A refusal waits for the answers before it; DONE: sent, or never to be. */
enum conn_refusal { REFUSAL_NONE, REFUSAL_PENDING, REFUSAL_DONE };

struct http_conn {
	struct http_server *s;
	struct bufferevent *bev; /* the filter evhttp owns */
	struct event *deadline;
	struct event *flush;	/* see conn_output_added */
	struct event *writable; /* the socket has room again: see conn_filter_out */
	struct framer framer;
	uint64_t answered; /* responses written for the requests the framer accepted */
	enum conn_refusal refusal;
	struct framer_refusal pending; /* the answer waiting for the earlier ones */
	int pending_head;	       /* ... to a HEAD: the head alone */
};

struct http_server {
	struct app *app;
	const struct route *routes;
	size_t n_routes;
	void (*unrouted)(struct http_req *r); /* what no route took, or NULL: 404 */
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	struct evconnlistener *listener;
	int port;
	int paused;
	int draining;
	void (*drained)(void *);
	void *drained_arg;
	struct event *drained_ev;
	struct http_server_stats stats;
	int devnull; /* /dev/null, for http_server_take_socket; -1 until first used */
	uint64_t next_id;
	char id_prefix[9];
	/* open connections by filter bufferevent: open addressing, power of 2 */
	struct http_conn **table;
	size_t table_size;
};

/* ---- connection table ---- */

static size_t conn_slot(const struct http_server *s, const void *bev)
{
	uintptr_t h = (uintptr_t)bev;
	h ^= h >> 17;
	h *= 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 7) & (s->table_size - 1);
}

static void conn_table_put(struct http_server *s, struct http_conn *c);

static void conn_table_grow(struct http_server *s)
{
	struct http_conn **old = s->table;
	size_t old_size = s->table_size;
	s->table_size = old_size ? old_size * 2 : 1024;
	s->table = xcalloc(s->table_size, sizeof(*s->table));
	for (size_t i = 0; i < old_size; i++)
		if (old[i])
			conn_table_put(s, old[i]);
	free(old);
}

static void conn_table_put(struct http_server *s, struct http_conn *c)
{
	if ((s->stats.connections_open + 1) * 2 > s->table_size)
		conn_table_grow(s);
	size_t i = conn_slot(s, c->bev);
	while (s->table[i])
		i = (i + 1) & (s->table_size - 1);
	s->table[i] = c;
}

static struct http_conn *conn_table_get(struct http_server *s, const void *bev)
{
	if (s->table_size == 0)
		return NULL;
	for (size_t i = conn_slot(s, bev); s->table[i]; i = (i + 1) & (s->table_size - 1))
		if (s->table[i]->bev == bev)
			return s->table[i];
	return NULL;
}

static void conn_table_del(struct http_server *s, const void *bev)
{
	size_t mask = s->table_size - 1, i = conn_slot(s, bev);
	while (s->table[i] && s->table[i]->bev != bev)
		i = (i + 1) & mask;
	if (s->table[i] == NULL)
		return;
	s->table[i] = NULL;
	/* Re-seat the rest of the cluster so lookups never stop early. */
	for (size_t j = (i + 1) & mask; s->table[j]; j = (j + 1) & mask) {
		struct http_conn *c = s->table[j];
		s->table[j] = NULL;
		size_t k = conn_slot(s, c->bev);
		while (s->table[k])
			k = (k + 1) & mask;
		s->table[k] = c;
	}
}

/* ---- the framer in front of evhttp ---- */

static void conn_arm(struct http_conn *c, int seconds)
{
	struct timeval tv = {seconds, 0};
	evtimer_add(c->deadline, &tv);
}

/*
 * Writes the problem response straight to the socket (only its head when it
 * answers a HEAD) and half-closes it.
 */
static void conn_send_refusal(struct http_conn *c)
{
	const struct framer_refusal *r = &c->pending;
	json_t *p = problem_new(r->status, r->slug, r->detail, NULL, NULL);
	char *body = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
			  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			  r->status, problem_find(r->slug)->title, strlen(body) + 1);
	struct bufferevent *under = bufferevent_get_underlying(c->bev);
	evutil_socket_t fd = under ? bufferevent_getfd(under) : -1;
	if (fd >= 0) {
		/* Small enough for the socket buffer; a failed send only loses the courtesy. */
		ssize_t w = send(fd, head, (size_t)hl, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == hl && !c->pending_head) {
			w = send(fd, body, strlen(body), MSG_NOSIGNAL | MSG_DONTWAIT);
			w = send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		(void)w;
		shutdown(fd, SHUT_WR);
	}
	free(body);
	c->refusal = REFUSAL_DONE;
	/* Give the client a moment to read, then close for good. */
	conn_arm(c, 2);
}

/*
 * Refuses the connection's next request. The requests accepted before it
 * are answered first (evhttp may still be working on them): the refusal goes
 * out once the last of their responses has been written (conn_answered).
 */
static void conn_refuse(struct http_conn *c, int status, const char *slug, const char *detail)
{
	c->pending.status = status;
	c->pending.slug = slug;
	c->pending.detail = detail;
	c->pending_head = framer_head(&c->framer);
	c->refusal = REFUSAL_PENDING;
	evtimer_del(c->deadline);
	if (c->answered == c->framer.requests)
		conn_send_refusal(c);
}

/*
 * evhttp closes the connection after this response: the request said
 * Connection: close, or the response does, or an HTTP/1.0 request did not
 * ask for keep-alive (evhttp_send_done's rule in libevent 2.1). Nothing may
 * follow such a response: an HTTP/1.0 body without keep-alive ends only
 * with the connection.
 */
static int conn_closes_after(struct evhttp_request *ev)
{
	const char *in = evhttp_find_header(evhttp_request_get_input_headers(ev), "Connection");
	const char *out = evhttp_find_header(evhttp_request_get_output_headers(ev), "Connection");
	if ((in && evutil_ascii_strcasecmp(in, "close") == 0) ||
	    (out && evutil_ascii_strcasecmp(out, "close") == 0))
		return 1;
	return ev->major == 1 && ev->minor == 0 &&
	       !(in && evutil_ascii_strcasecmp(in, "keep-alive") == 0);
}

/* evhttp has written a response (its on_complete hook). */
static void conn_answered(struct evhttp_request *ev, void *arg)
{
	struct http_conn *c = arg;
	c->answered++;
	if (c->refusal == REFUSAL_PENDING && conn_closes_after(ev))
		c->refusal = REFUSAL_DONE; /* the connection ends here, without it */
	else if (c->refusal == REFUSAL_PENDING && c->answered == c->framer.requests)
		conn_send_refusal(c);
}

static void conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	if (c->refusal == REFUSAL_DONE) {
		struct bufferevent *under = bufferevent_get_underlying(c->bev);
		if (under && bufferevent_getfd(under) >= 0)
			shutdown(bufferevent_getfd(under), SHUT_RDWR);
		return;
	}
	if (c->refusal != REFUSAL_NONE || framer_idle(&c->framer))
		return;
	c->s->stats.request_timeouts++;
	log_info("http", "request not received in time", "seconds=%d",
		 c->s->app->cfg.request_timeout_s);
	conn_refuse(c, 408, "request-timeout", "the request was not received in time");
}

static void conn_framer_refused(struct http_conn *c)
{
	const struct framer_refusal *r = framer_refusal(&c->framer);
	if (r->status == 411 || r->status == 413 || r->status == 431)
		c->s->stats.rejected_oversize++;
	char q[160];
	log_info("http", "request refused", "status=%d type=%s reason=%s request=%llu", r->status,
		 r->slug, log_quote(q, sizeof(q), r->detail),
		 (unsigned long long)c->framer.requests + 1);
	conn_refuse(c, r->status, r->slug, r->detail);
}

/*
 * Runs the new bytes through the framer: empty lines between requests are
 * dropped, the bytes of requests (whole, or the one still arriving) go on
 * to evhttp, and nothing from a refused request on ever does. The request
 * deadline runs from a request's first byte to its last, for each request.
 */
static enum bufferevent_filter_result conn_filter_in(struct evbuffer *src, struct evbuffer *dst,
						     ev_ssize_t limit,
						     enum bufferevent_flush_mode mode, void *arg)
{
	struct http_conn *c = arg;
	while (c->refusal == REFUSAL_NONE && evbuffer_get_length(src) > 0) {
		/* The first piece of the buffer that holds bytes. */
		struct evbuffer_iovec v[4];
		int n = evbuffer_peek(src, -1, NULL, v, 4), k = 0;
		while (k < n && k < 4 && v[k].iov_len == 0)
			k++;
		if (k == n || k == 4) {
			v[0].iov_base = evbuffer_pullup(src, -1);
			v[0].iov_len = evbuffer_get_length(src);
			k = 0;
		}
		size_t used = 0;
		switch (framer_feed(&c->framer, v[k].iov_base, v[k].iov_len, &used)) {
		case FRAMER_IDLE:
			evbuffer_drain(src, used);
			break;
		case FRAMER_START:
			evbuffer_drain(src, used);
			conn_arm(c, c->s->app->cfg.request_timeout_s);
			break;
		case FRAMER_PARTIAL:
			evbuffer_remove_buffer(src, dst, used);
			break;
		case FRAMER_DONE:
			evbuffer_remove_buffer(src, dst, used);
			evtimer_del(c->deadline);
			break;
		case FRAMER_REFUSED:
			conn_framer_refused(c);
			break;
		}
	}
	if (c->refusal != REFUSAL_NONE)
		evbuffer_drain(src, evbuffer_get_length(src));
	return BEV_OK;
}

/*
 * libevent 2.1's filter moves output on only while EV_WRITE is enabled on it,
 * and evhttp adds a response before it enables writing; nothing would move
 * the bytes then. So every addition schedules a flush for later in this loop
 * iteration, after evhttp has enabled writing.
 */
static void conn_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	bufferevent_flush(c->bev, EV_WRITE, BEV_NORMAL);
}

static void conn_output_added(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn *c = arg;
	if (info->n_added)
		event_active(c->flush, EV_WRITE, 1);
}

/*
 * Output goes from the filter straight to the socket, never through the
 * underlying bufferevent's buffer. evhttp takes "the filter's output is
 * empty" to mean "written"; with Connection: close it then shuts the socket
 * down at once, so bytes parked in a second buffer would be lost. Here they
 * leave the filter only when the kernel has them; when the socket is full we
 * wait for it to be writable and go on.
 */
static enum bufferevent_filter_result conn_filter_out(struct evbuffer *src, struct evbuffer *dst,
						      ev_ssize_t limit,
						      enum bufferevent_flush_mode mode, void *arg)
{
	struct http_conn *c = arg;
	struct bufferevent *under = bufferevent_get_underlying(c->bev);
	evutil_socket_t fd = under ? bufferevent_getfd(under) : -1;
	if (fd < 0)
		return BEV_ERROR;
	while (evbuffer_get_length(src) > 0) {
		int n = evbuffer_write(src, fd);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
			if (c->writable == NULL)
				c->writable = event_new(bufferevent_get_base(c->bev), fd, EV_WRITE,
							conn_flush_cb, c);
			event_add(c->writable, NULL);
			return BEV_NEED_MORE;
		}
		return BEV_ERROR;
	}
	return BEV_OK;
}

void http_server_socket_closed(struct http_server *s)
{
	s->stats.connections_open--;
	if (s->paused && !s->draining &&
	    s->stats.connections_open < (uint64_t)s->app->cfg.max_connections) {
		s->paused = 0;
		evconnlistener_enable(s->listener);
	}
}

static void conn_closed(void *arg)
{
	struct http_conn *c = arg;
	struct http_server *s = c->s;
	event_free(c->deadline);
	event_free(c->flush);
	if (c->writable)
		event_free(c->writable);
	if (s == NULL) {
		/* The server is gone; libevent finalised this connection late. */
		free(c);
		return;
	}
	conn_table_del(s, c->bev);
	free(c);
	http_server_socket_closed(s);
}

static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
	struct http_server *s = arg;
	struct http_conn *c = xcalloc(1, sizeof(*c));
	c->s = s;
	c->deadline = evtimer_new(base, conn_deadline, c);
	const struct config *cfg = &s->app->cfg;
	/* A spreadsheet upload (POST /v1/imports) has its own, larger limit. */
	struct framer_limits lim = {(size_t)cfg->max_header_bytes, (uint64_t)cfg->max_body_bytes,
				    "/v1/imports", (uint64_t)cfg->import_max_bytes};
	framer_init(&c->framer, &lim);
	struct bufferevent *under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->bev = bufferevent_filter_new(under, conn_filter_in, conn_filter_out,
					BEV_OPT_CLOSE_ON_FREE, conn_closed, c);
	c->flush = event_new(base, -1, 0, conn_flush_cb, c);
	evbuffer_add_cb(bufferevent_get_output(c->bev), conn_output_added, c);
	conn_table_put(s, c);
	s->stats.connections_open++;
	s->stats.connections_total++;
	if (s->stats.connections_open >= (uint64_t)s->app->cfg.max_connections && !s->paused) {
		s->paused = 1;
		s->stats.connections_paused++;
		evconnlistener_disable(s->listener);
		log_warn("http", "connection cap reached, pausing accepts", "open=%llu",
			 (unsigned long long)s->stats.connections_open);
	}
	return c->bev;
}

/* ---- dispatch ---- */

static int request_id_ok(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > 36)
		return 0;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "OTHER";
}

static void http_server_request_done(struct http_req *r, int status);

static int http_server_closing(const struct http_req *r)
{
	return http_server_draining(r->app->http);
}

static const struct http_req_owner http_server_owner = {http_server_closing,
							http_server_request_done};

static void http_dispatch(struct evhttp_request *ev, void *arg)
{
	struct http_server *s = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	struct http_conn *c =
	    evcon ? conn_table_get(s, evhttp_connection_get_bufferevent(evcon)) : NULL;
	if (c)
		evhttp_request_set_on_complete_cb(ev, conn_answered, c);

	struct http_req *r = xcalloc(1, sizeof(*r));
	r->owner = &http_server_owner;
	r->ev = ev;
	r->app = s->app;
	r->start_ns = clock_mono_ns();
	r->method = method_name(evhttp_request_get_command(ev));
	r->route_index = s->n_routes;
	const char *rid = http_req_header(r, "X-Request-Id");
	if (rid && request_id_ok(rid)) {
		str_copy(r->id, sizeof(r->id), rid);
	} else {
		/* "%s%08llx" of the prefix and the count, by hand (snprintf cost
		 * ~550 instructions a request) */
		char hex[17], *end = hex + sizeof(hex) - 1, *q = end;
		unsigned long long v = (unsigned long long)++s->next_id;
		*end = '\0';
		do {
			*--q = "0123456789abcdef"[v & 0xF];
			v >>= 4;
		} while (v != 0 || end - q < 8);
		size_t pl = strlen(s->id_prefix);
		str_copy(r->id, sizeof(r->id), s->id_prefix);
		if (pl < sizeof(r->id))
			str_copy(r->id + pl, sizeof(r->id) - pl, q);
	}
	s->stats.requests_inflight++;

	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(ev));
	r->path = xstrdup(path && *path ? path : "/");
	if (strlen(r->path) > 2048) {
		http_reply_problem(r, 414, "bad-request", NULL, "the path is too long");
		return;
	}
	/* HEAD is answered as GET; evhttp leaves the body out. */
	const char *lookup = strcmp(r->method, "HEAD") == 0 ? "GET" : r->method;
	int options = strcmp(r->method, "OPTIONS") == 0;
	char allow[128];
	size_t idx;
	switch (router_match(s->routes, s->n_routes, lookup, r->path, &idx, &r->params, allow,
			     sizeof(allow))) {
	case ROUTER_FOUND:
		r->route = &s->routes[idx];
		r->route_index = idx;
		if (r->route->flags & ROUTE_PUBLIC)
			r->route->handler(r);
		else
			auth_dispatch(r);
		return;
	case ROUTER_BAD_METHOD:
		if (options) {
			http_reply_options(r, allow);
			return;
		}
		http_reply_header(r, "Allow", allow);
		http_reply_problem(r, 405, "method-not-allowed", NULL,
				   "%s is not served on this path; allowed: %s", r->method, allow);
		return;
	case ROUTER_NOT_FOUND:
		break;
	}
	if (s->unrouted) {
		s->unrouted(r);
		return;
	}
	http_reply_problem(r, 404, "not-found", NULL, "no resource at this path");
}

static void http_drained(evutil_socket_t fd, short what, void *arg)
{
	struct http_server *s = arg;
	if (s->drained)
		s->drained(s->drained_arg);
}

/* The request is answered: log it, count it, free it (http_req_owner.done). */
static void http_server_request_done(struct http_req *r, int status)
{
	struct http_server *s = r->app->http;
	uint64_t elapsed = clock_mono_ns() - r->start_ns;
	metrics_observe_request(s->app->metrics, r->route_index, status, elapsed);
	char qpath[160];
	log_info("http", "request", "id=%s method=%s path=%s route=%s status=%d ms=%.3f", r->id,
		 r->method, log_quote(qpath, sizeof(qpath), r->path),
		 r->route ? r->route->pattern : "-", status, (double)elapsed / 1e6);
	s->stats.requests_inflight--;
	free(r->path);
	free(r->token_id);
	free(r->session_hash);
	free(r->as);
	json_decref(r->account);
	if (r->query) {
		evhttp_clear_headers(r->query);
		free(r->query);
	}
	free(r);
	if (s->draining && s->stats.requests_inflight == 0) {
		struct timeval now = {0, 0};
		evtimer_add(s->drained_ev, &now);
	}
}

struct http_server *http_server_new(struct app *app, const struct route *routes, size_t n_routes,
				    void (*unrouted)(struct http_req *r))
{
	const struct config *cfg = &app->cfg;
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->app = app;
	s->routes = routes;
	s->n_routes = n_routes;
	s->unrouted = unrouted;
	s->devnull = -1;
	s->http = evhttp_new(app->base);
	snprintf(s->id_prefix, sizeof(s->id_prefix), "%08x",
		 (unsigned)(getpid() ^ (unsigned)clock_mono_ns()));
	/* evhttp's own limits sit just above ours, as a backstop for chunked bodies. */
	evhttp_set_max_headers_size(s->http, cfg->max_header_bytes + 1024);
	evhttp_set_max_body_size(s->http, cfg->max_body_bytes > cfg->import_max_bytes
					      ? cfg->max_body_bytes
					      : cfg->import_max_bytes);
	evhttp_set_timeout(s->http, cfg->idle_timeout_s);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
						EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(s->http, "application/json; charset=utf-8");
	evhttp_set_bevcb(s->http, conn_new, s);
	evhttp_set_gencb(s->http, http_dispatch, s);
	s->drained_ev = evtimer_new(app->base, http_drained, s);
	s->sock = evhttp_bind_socket_with_handle(s->http, cfg->bind, (ev_uint16_t)cfg->port);
	if (s->sock == NULL) {
		log_error("http", "cannot listen", "bind=%s port=%d error=\"%s\"", cfg->bind,
			  cfg->port, strerror(errno));
		http_server_free(s);
		return NULL;
	}
	s->listener = evhttp_bound_socket_get_listener(s->sock);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(evhttp_bound_socket_get_fd(s->sock), (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		else if (ss.ss_family == AF_INET6)
			s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return s;
}

void http_server_free(struct http_server *s)
{
	if (s == NULL)
		return;
	evhttp_free(s->http);
	/*
	 * libevent finalises the connections' bufferevents later (in the loop or
	 * in event_base_free): their free hooks must not reach this server.
	 */
	for (size_t i = 0; i < s->table_size; i++)
		if (s->table[i])
			s->table[i]->s = NULL;
	event_free(s->drained_ev);
	if (s->devnull >= 0)
		close(s->devnull);
	free(s->table);
	free(s);
}

int http_server_port(const struct http_server *s)
{
	return s->port;
}

const struct http_server_stats *http_server_stats(const struct http_server *s)
{
	return &s->stats;
}

void http_server_drain(struct http_server *s, void (*done)(void *), void *arg)
{
	s->draining = 1;
	s->drained = done;
	s->drained_arg = arg;
	if (s->sock) {
		evhttp_del_accept_socket(s->http, s->sock);
		s->sock = NULL;
		s->listener = NULL;
	}
	if (s->stats.requests_inflight == 0) {
		struct timeval now = {0, 0};
		evtimer_add(s->drained_ev, &now);
	}
}

int http_server_draining(const struct http_server *s)
{
	return s->draining;
}

int http_server_take_socket(struct http_server *s, struct http_req *r, struct evbuffer *unsent)
{
	struct evhttp_connection *evcon = r->ev ? evhttp_request_get_connection(r->ev) : NULL;
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	struct http_conn *c = bev ? conn_table_get(s, bev) : NULL;
	struct bufferevent *under = c ? bufferevent_get_underlying(bev) : NULL;
	evutil_socket_t fd = under ? bufferevent_getfd(under) : -1;
	if (fd < 0)
		return -1;
	if (s->devnull < 0)
		s->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	int own = s->devnull < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (own < 0)
		return -1;
	/*
	 * Nothing may watch the socket's number when it changes file: epoll
	 * would go on reporting the socket under that number.
	 */
	if (c->writable)
		event_del(c->writable);
	bufferevent_disable(under, EV_READ | EV_WRITE);
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	evbuffer_add_buffer(unsent, bufferevent_get_output(bev));
	evbuffer_add_buffer(unsent, bufferevent_get_output(under));
	if (dup2(s->devnull, fd) < 0) {
		close(own);
		bufferevent_enable(under, EV_READ | EV_WRITE);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		evbuffer_prepend_buffer(bufferevent_get_output(bev), unsent);
		return -1;
	}
	/*
	 * The number now names /dev/null: evhttp's shutdown and close on it
	 * leave the socket alone. Freeing the connection frees the request and
	 * counts the connection closed (conn_closed); the socket is counted
	 * again until its new owner closes it.
	 */
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	evhttp_connection_free(evcon);
	r->ev = NULL;
	s->stats.connections_open++;
	return own;
}
