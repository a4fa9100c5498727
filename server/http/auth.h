/*
 * auth — bearer-token authentication in front of every non-public route.
 *
 * Reads "Authorization: Bearer <secret>", looks the secret's SHA-256 up in
 * Redis, compares in constant time, loads the account into r->account and
 * then runs the route's handler; otherwise answers 401. Secrets are never
 * logged or stored.
 */
#ifndef CM_HTTP_AUTH_H
#define CM_HTTP_AUTH_H

struct http_req;

/* Authenticates r, then calls r->route->handler(r); or answers 401/503. */
void auth_dispatch(struct http_req *r);

#endif
