/*
 * events (API) — the live event stream and the tickets browsers open it with.
 */
#ifndef CM_API_EVENTS_H
#define CM_API_EVENTS_H

struct http_req;

void events_stream(struct http_req *r);	       /* GET /v1/events (text/event-stream) */
void events_ticket_create(struct http_req *r); /* POST /v1/stream-tickets */

#endif
