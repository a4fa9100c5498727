/*
 * sessions (API) — /v1/sessions: signing a browser in with an access code
 * and out again.
 */
#ifndef CM_API_SESSIONS_H
#define CM_API_SESSIONS_H

struct http_req;

void sessions_sign_in(struct http_req *r);  /* POST /v1/sessions (public) */
void sessions_sign_out(struct http_req *r); /* DELETE /v1/sessions/current */

#endif
