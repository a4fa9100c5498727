/*
 * server — the HTTP listener: connections, limits, dispatch, draining.
 *
 * Built on evhttp. What libevent 2.1 lacks is added here: a cap on open
 * connections (counted through a filter whose free hook marks the close; at
 * the cap the listener pauses and new clients wait in the backlog), and a
 * strict request framer (framer.h) in front of evhttp's parser, for every
 * request of a connection: ambiguous or malformed framing (400), a deadline
 * for receiving each whole request (408), Transfer-Encoding (411), header
 * and body limits (431, 413), Expect (417) and unknown methods (501), all
 * answered with problem+json before evhttp could answer in HTML.
 */
#ifndef CM_HTTP_SERVER_H
#define CM_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct app;
struct http_req;
struct route;
struct http_server;
struct evbuffer;

struct http_server_stats {
	uint64_t connections_open;
	uint64_t connections_total;
	uint64_t connections_paused; /* times the cap paused accepting */
	uint64_t requests_inflight;
	uint64_t request_timeouts;  /* 408 */
	uint64_t rejected_oversize; /* 411 + 413 + 431 */
};

/*
 * Binds cfg->bind:cfg->port and serves routes; a request no route takes goes
 * to unrouted (the web app's files), or is 404 when that is NULL. Returns
 * NULL (logged) when the address cannot be bound.
 */
struct http_server *http_server_new(struct app *app, const struct route *routes, size_t n_routes,
				    void (*unrouted)(struct http_req *r));
void http_server_free(struct http_server *s);
/* The port actually bound (useful with --port 0). */
int http_server_port(const struct http_server *s);
const struct http_server_stats *http_server_stats(const struct http_server *s);

/*
 * Stops accepting and calls done(arg) once no request is in flight
 * (or at once when none is). Keep-alive responses then say Connection: close.
 */
void http_server_drain(struct http_server *s, void (*done)(void *), void *arg);
int http_server_draining(const struct http_server *s);

/*
 * Takes the socket of r's connection from evhttp, for a response that goes
 * on past its head (an event stream): returns a descriptor of the caller's
 * own, and moves what the connection had not yet written (the head) to
 * unsent. The connection and r->ev are freed (r->ev is NULL after); r itself
 * stays the caller's until http_req_finish. Call it outside every libevent
 * callback of that connection (evhttp's code may still be using it). Still
 * counted as an open connection: the caller calls http_server_socket_closed
 * when it closes the descriptor. -1 when the connection is gone (nothing
 * changed then).
 */
int http_server_take_socket(struct http_server *s, struct http_req *r, struct evbuffer *unsent);
void http_server_socket_closed(struct http_server *s);

#endif
