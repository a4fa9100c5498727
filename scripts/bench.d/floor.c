/*
 * cmbench-floor — the floor craftmatchd's POST path is measured against: the
 * least a server on the same stack can do for a POST with a small JSON body.
 *
 *   cmbench-floor --port P --redis-port R [--redis-host 127.0.0.1]
 *
 * One libevent loop, evhttp on 127.0.0.1:P. Any POST: the body is parsed by
 * jansson (json_loadb, duplicate keys refused, must be an object), written
 * with one asynchronous hiredis HSET fl:<n> doc <body> (argv with lengths),
 * and answered 201 {"id": "fl:<n>"} once Redis has replied — so, with the
 * same AOF appendfsync always Redis, "acknowledged means durable" holds here
 * too. Anything else gets 404/400. No auth, no validation beyond JSON, no
 * events, no timers: a floor, not a server.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static redisAsyncContext *rc;
static unsigned long long counter;

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *body)
{
	struct evbuffer *out = evbuffer_new();
	evbuffer_add(out, body, strlen(body));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json");
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

struct pending {
	struct evhttp_request *req;
	char id[32];
};

static void on_hset(redisAsyncContext *c, void *r, void *arg)
{
	struct pending *p = arg;
	redisReply *reply = r;
	if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
		reply_text(p->req, 503, "Service Unavailable", "{\"error\":\"redis\"}");
	} else {
		json_t *o = json_pack("{s:s}", "id", p->id);
		char *text = json_dumps(o, JSON_COMPACT);
		reply_text(p->req, 201, "Created", text);
		free(text);
		json_decref(o);
	}
	free(p);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		reply_text(req, 404, "Not Found", "{}");
		return;
	}
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *data = (const char *)evbuffer_pullup(in, -1);
	json_error_t err;
	json_t *doc = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL || !json_is_object(doc)) {
		json_decref(doc);
		reply_text(req, 400, "Bad Request", "{\"error\":\"json\"}");
		return;
	}
	json_decref(doc);
	struct pending *p = malloc(sizeof(*p));
	p->req = req;
	snprintf(p->id, sizeof(p->id), "fl:%llu", ++counter);
	const char *argv[] = {"HSET", p->id, "doc", data ? data : ""};
	size_t lens[] = {4, strlen(p->id), 3, len};
	if (redisAsyncCommandArgv(rc, on_hset, p, 4, argv, lens) != REDIS_OK) {
		free(p);
		reply_text(req, 503, "Service Unavailable", "{\"error\":\"redis\"}");
	}
}

static void on_term(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	int port = 0, rport = 6379;
	const char *rhost = "127.0.0.1";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--redis-port") == 0)
			rport = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--redis-host") == 0)
			rhost = argv[i + 1];
	}
	if (port <= 0) {
		fprintf(stderr, "usage: cmbench-floor --port P --redis-port R\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	rc = redisAsyncConnect(rhost, rport);
	if (rc == NULL || rc->err) {
		fprintf(stderr, "cmbench-floor: Redis: %s\n", rc ? rc->errstr : "out of memory");
		return 1;
	}
	redisLibeventAttach(rc, base);
	struct evhttp *http = evhttp_new(base);
	evhttp_set_gencb(http, on_request, NULL);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)port) != 0) {
		fprintf(stderr, "cmbench-floor: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	struct event *term = evsignal_new(base, SIGTERM, on_term, base);
	event_add(term, NULL);
	struct event *intr = evsignal_new(base, SIGINT, on_term, base);
	event_add(intr, NULL);
	fprintf(stderr, "cmbench-floor: listening on 127.0.0.1:%d\n", port);
	event_base_dispatch(base);
	event_free(term);
	event_free(intr);
	evhttp_free(http);
	redisAsyncFree(rc);
	event_base_free(base);
	return 0;
}
