/*
 * fuzz_connection — the whole HTTP connection path: the input is the byte
 * stream a client sends on one connection, fed to a real http_server (the
 * framer, evhttp, the router, the real route table and handlers) on an
 * event_base in this process, over a loopback TCP connection. (evhttp 2.1
 * takes connections only from its listener, so the pair of sockets is a
 * connected loopback pair rather than socketpair(2).) The store points at a
 * Redis that is not there, so routes that need Redis answer 503 at once.
 *
 * The input is written as fast as the socket takes it; the loop then runs
 * until the server closes the connection or stays quiet for a few ticks.
 *
 * Checked beyond "no crash, no leak, no UB", against a second framer run
 * over the same input (what the server must have accepted):
 *   - the bytes received are a sequence of well-formed HTTP/1.1 responses
 *     (status line, fields, a body framed by Content-Length or chunked; none
 *     for HEAD, 1xx, 204, 304) and nothing else;
 *   - every response with status >= 400 is problem+json whose type is a
 *     documented /problems/<slug> and whose status matches;
 *   - the responses to requests (those with X-Request-Id) are at most as
 *     many as the framer accepted;
 *   - a refusal (no X-Request-Id) comes only last, only when the framer
 *     refused, with the framer's status and type, says Connection: close,
 *     and the server closes the connection after it.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/app.h"
#include "server/config.h"
#include "server/http/framer.h"
#include "server/http/metrics.h"
#include "server/http/problem.h"
#include "server/api/routes.h"
#include "server/web/static.h"
#include "server/http/server.h"
#include "server/log.h"
#include "server/store/store.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_RECEIVED (4u << 20)
#define FUZZ_QUIET_TICKS 3

static struct {
	struct app app;
	const char **methods, **names;
	struct event *tick;
	int ready;
} fz;

static void fuzz_teardown(void)
{
	http_server_free(fz.app.http);
	store_free(fz.app.store);
	metrics_free(fz.app.metrics);
	free(fz.methods);
	free(fz.names);
	event_free(fz.tick);
	event_base_free(fz.app.base);
	libevent_global_shutdown();
}

static void fuzz_tick(evutil_socket_t fd, short what, void *arg)
{
}

/* libevent's own warnings go where the server's log goes: nowhere here. */
static void fuzz_libevent_log(int severity, const char *msg)
{
}

static void fuzz_setup(void)
{
	char *argv[] = {"fuzz_connection",
			"--bind",
			"127.0.0.1",
			"--port",
			"0",
			"--redis-url",
			"redis://127.0.0.1:1",
			"--max-header-bytes",
			"1024",
			"--max-body-bytes",
			"512",
			"--request-timeout",
			"60",
			"--redis-timeout-ms",
			"200",
			NULL};
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	fuzz_check(config_load(&fz.app.cfg, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, err,
			       sizeof(err)) == 0,
		   "config_load");
	/* Quiet: a harness prints nothing while its input is fine (the store
	 * would log its refused connections). */
	log_setup((enum log_level)(LOG_ERROR + 1), LOG_FORMAT_LOGFMT);
	event_set_log_callback(fuzz_libevent_log);
	fz.app.base = event_base_new();
	fz.methods = calloc(api_routes_count, sizeof(*fz.methods));
	fz.names = calloc(api_routes_count, sizeof(*fz.names));
	fuzz_check(fz.methods && fz.names, "out of memory");
	for (size_t i = 0; i < api_routes_count; i++) {
		fz.methods[i] = api_routes[i].method;
		fz.names[i] = api_routes[i].pattern;
	}
	fz.app.metrics = metrics_new(fz.methods, fz.names, api_routes_count);
	fz.app.store =
	    store_new(fz.app.base, fz.app.cfg.redis_url, NULL, fz.app.cfg.redis_timeout_ms);
	fuzz_check(fz.app.store != NULL, "store_new");
	fz.app.http = http_server_new(&fz.app, api_routes, api_routes_count, static_unrouted);
	fuzz_check(fz.app.http != NULL, "http_server_new");
	fz.tick = evtimer_new(fz.app.base, fuzz_tick, NULL);
	atexit(fuzz_teardown);
	fz.ready = 1;
}

/* What the server must have done with the input: a framer's view of it. */
struct expected {
	size_t accepted;
	unsigned char *is_head;	       /* per accepted request */
	struct framer_refusal refusal; /* status 0: none */
	int refusal_head;	       /* the refused request is a HEAD */
};

static void fuzz_expect(const uint8_t *data, size_t size, struct expected *x)
{
	struct framer f;
	struct framer_limits lim = {(size_t)fz.app.cfg.max_header_bytes,
				    (uint64_t)fz.app.cfg.max_body_bytes, "/v1/imports",
				    (uint64_t)fz.app.cfg.import_max_bytes};
	size_t off = 0, start = 0;

	memset(x, 0, sizeof(*x));
	x->is_head = calloc(size / 16 + 2, 1); /* a request is at least 16 bytes */
	fuzz_check(x->is_head != NULL, "out of memory");
	framer_init(&f, &lim);
	while (off < size) {
		size_t used = 0;
		enum framer_event e = framer_feed(&f, data + off, size - off, &used);
		if (e == FRAMER_REFUSED) {
			x->refusal = *framer_refusal(&f);
			x->refusal_head = framer_head(&f);
			break;
		}
		off += used;
		if (e == FRAMER_START)
			start = off;
		if (e == FRAMER_DONE) {
			fuzz_check(x->accepted < size / 16 + 2, "a request under 16 bytes");
			x->is_head[x->accepted++] =
			    size - start >= 5 && memcmp(data + start, "HEAD ", 5) == 0;
		}
	}
}

/* ---- reading the responses ---- */

struct response {
	int status;
	int has_request_id;
	int close;
	int chunked;
	long long content_length; /* -1: none */
	char content_type[64];
	const char *body;
	size_t body_len;
};

static const char *fuzz_find(const char *p, size_t n, const char *what)
{
	size_t wl = strlen(what);
	for (size_t i = 0; i + wl <= n; i++)
		if (memcmp(p + i, what, wl) == 0)
			return p + i;
	return NULL;
}

/* One field line "Name: value" into r. */
static void fuzz_field(struct response *r, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	fuzz_check(colon != NULL && colon > line, "a response field line without a name and colon");
	size_t nl = (size_t)(colon - line);
	const char *v = colon + 1;
	size_t vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	for (size_t i = 0; i < nl; i++)
		fuzz_check(line[i] > 32 && line[i] < 127 && line[i] != ':',
			   "a bad response field name");
	for (size_t i = 0; i < vl; i++)
		fuzz_check((unsigned char)v[i] >= 32 || v[i] == '\t',
			   "a control byte in a response field");
#define IS(name) (nl == strlen(name) && strncasecmp(line, name, nl) == 0)
	if (IS("Content-Length")) {
		char num[24];
		fuzz_check(r->content_length == -1, "Content-Length twice in a response");
		fuzz_check(vl > 0 && vl < sizeof(num), "a bad response Content-Length");
		memcpy(num, v, vl);
		num[vl] = '\0';
		char *end;
		r->content_length = strtoll(num, &end, 10);
		fuzz_check(*end == '\0' && r->content_length >= 0, "a bad response Content-Length");
	} else if (IS("Content-Type")) {
		size_t n = vl < sizeof(r->content_type) - 1 ? vl : sizeof(r->content_type) - 1;
		memcpy(r->content_type, v, n);
		r->content_type[n] = '\0';
	} else if (IS("X-Request-Id")) {
		r->has_request_id = 1;
	} else if (IS("Connection")) {
		r->close = vl == 5 && strncasecmp(v, "close", 5) == 0;
	} else if (IS("Transfer-Encoding")) {
		r->chunked = vl == 7 && strncasecmp(v, "chunked", 7) == 0;
		fuzz_check(r->chunked, "a response Transfer-Encoding other than chunked");
	}
#undef IS
}

/*
 * Parses the response at p[0..n). Returns the bytes it took; checks that
 * it is complete and well-formed. head: the request was HEAD; closed: the
 * server closed the connection after these bytes (an HTTP/1.0 answer
 * without keep-alive has no Content-Length and ends with the connection).
 */
static size_t fuzz_response(const char *p, size_t n, int head, int closed, struct response *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	const char *end = fuzz_find(p, n, "\r\n\r\n");
	fuzz_check(end != NULL, "a response head that does not end");
	size_t head_len = (size_t)(end - p) + 4;
	fuzz_check(n >= 13 && (memcmp(p, "HTTP/1.1 ", 9) == 0 || memcmp(p, "HTTP/1.0 ", 9) == 0),
		   "a status line without HTTP/1.1 (or 1.0, echoing the request)");
	for (int i = 9; i < 12; i++)
		fuzz_check(p[i] >= '0' && p[i] <= '9', "a status that is not 3 digits");
	fuzz_check(p[12] == ' ' || p[12] == '\r', "a status line without a space after the status");
	r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	fuzz_check(r->status >= 100 && r->status <= 599, "a status out of range");
	const char *line = memchr(p, '\n', head_len);
	fuzz_check(line && line[-1] == '\r', "a status line without CRLF");
	line++;
	while (line < end + 2) {
		const char *eol = fuzz_find(line, (size_t)(end + 2 - line), "\r\n");
		fuzz_check(eol != NULL, "a response field without CRLF");
		fuzz_field(r, line, (size_t)(eol - line));
		line = eol + 2;
	}
	const char *body = p + head_len;
	size_t left = n - head_len;
	if (head || r->status < 200 || r->status == 204 || r->status == 304) {
		r->body = body;
		return head_len;
	}
	if (r->chunked) {
		/* A stream answered with chunks (the event stream): take what came. */
		r->body = body;
		r->body_len = left;
		return n;
	}
	if (r->content_length < 0) {
		fuzz_check(closed, "a response body without Content-Length on an open connection");
		r->body = body;
		r->body_len = left;
		return n;
	}
	fuzz_check((size_t)r->content_length <= left, "a response body cut short");
	r->body = body;
	r->body_len = (size_t)r->content_length;
	return head_len + r->body_len;
}

/* A status >= 400 is problem+json of a documented type (docs/errors.md);
 * head: the answer to HEAD, whose body is left out. */
static void fuzz_check_problem(const struct response *r, int head, const char *want_slug)
{
	json_error_t jerr;
	fuzz_check(strncmp(r->content_type, "application/problem+json", 24) == 0,
		   "an error that is not problem+json");
	if (head)
		return;
	json_t *p = json_loadb(r->body, r->body_len, 0, &jerr);
	fuzz_check(p != NULL, "a problem body that is not JSON");
	const char *type = json_string_value(json_object_get(p, "type"));
	fuzz_check(type != NULL && strncmp(type, "/problems/", 10) == 0,
		   "a problem without a type");
	fuzz_check(strcmp(problem_find(type + 10)->slug, type + 10) == 0,
		   "a problem type that is not documented");
	fuzz_check(json_integer_value(json_object_get(p, "status")) == r->status,
		   "a problem whose status differs from the response's");
	fuzz_check(json_is_string(json_object_get(p, "title")), "a problem without a title");
	if (want_slug)
		fuzz_check(strcmp(type + 10, want_slug) == 0,
			   "a refusal of another type than the framer's");
	json_decref(p);
}

/* ---- the connection ---- */

static int fuzz_connect(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	fuzz_check(fd >= 0, "socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)http_server_port(fz.app.http));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fuzz_check(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Sends data, runs the server, returns what came back; *closed: the server closed. */
static char *fuzz_exchange(const uint8_t *data, size_t size, size_t *got, int *closed)
{
	int fd = fuzz_connect(), quiet = 0;
	size_t sent = 0, cap = 4096;
	char *in = malloc(cap);
	fuzz_check(in != NULL, "out of memory");
	*got = 0;
	*closed = 0;
	while (!*closed && quiet < FUZZ_QUIET_TICKS) {
		int progress = 0;
		if (sent < size) {
			ssize_t w = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
			if (w > 0) {
				sent += (size_t)w;
				progress = 1;
			} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
				sent = size; /* the server has closed: stop sending */
			}
		}
		struct timeval tv = {0, 5000};
		evtimer_add(fz.tick, &tv);
		event_base_loop(fz.app.base, EVLOOP_ONCE);
		evtimer_del(fz.tick);
		for (;;) {
			if (cap - *got < 4096) {
				fuzz_check(cap < FUZZ_MAX_RECEIVED,
					   "the server answered without end");
				cap *= 2;
				in = realloc(in, cap);
				fuzz_check(in != NULL, "out of memory");
			}
			ssize_t r = recv(fd, in + *got, cap - *got, 0);
			if (r > 0) {
				*got += (size_t)r;
				progress = 1;
				continue;
			}
			if (r == 0 || (r < 0 && errno == ECONNRESET))
				*closed = 1;
			break;
		}
		quiet = progress ? 0 : quiet + 1;
	}
	/* A reset, not a FIN: a fuzzing run leaves no TIME_WAIT behind. */
	struct linger lg = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	/* Let the server see the close and free the connection. */
	for (int i = 0; i < 50 && http_server_stats(fz.app.http)->connections_open > 0; i++) {
		struct timeval tv = {0, 1000};
		evtimer_add(fz.tick, &tv);
		event_base_loop(fz.app.base, EVLOOP_ONCE);
		evtimer_del(fz.tick);
	}
	return in;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expected x;
	size_t got, off = 0, finals = 0, answered = 0;
	int closed, refused_seen = 0;

	if (!fz.ready)
		fuzz_setup();
	fuzz_expect(data, size, &x);
	char *in = fuzz_exchange(data, size, &got, &closed);

	while (off < got) {
		struct response r;
		int head = answered < x.accepted ? x.is_head[answered] : x.refusal_head;
		fuzz_check(!refused_seen, "bytes after the refusal");
		off += fuzz_response(in + off, got - off, head, closed, &r);
		if (r.status < 200)
			continue; /* 100 Continue */
		finals++;
		if (r.has_request_id) {
			answered++;
			fuzz_check(answered <= x.accepted,
				   "more answers than requests the framer accepted");
			if (r.status >= 400)
				fuzz_check_problem(&r, head, NULL);
			continue;
		}
		fuzz_check(x.refusal.status != 0, "a refusal of a stream the framer accepts");
		fuzz_check(answered == x.accepted,
			   "a refusal before the answers to earlier requests");
		fuzz_check(r.status == x.refusal.status,
			   "a refusal with another status than the framer's");
		fuzz_check(r.close, "a refusal without Connection: close");
		fuzz_check_problem(&r, head, x.refusal.slug);
		refused_seen = 1;
	}
	fuzz_check(finals <= x.accepted + (x.refusal.status != 0), "more responses than requests");
	if (refused_seen)
		fuzz_check(closed, "the connection stayed open after a refusal");
	free(in);
	free(x.is_head);
	return 0;
}
