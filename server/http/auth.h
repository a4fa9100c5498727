/*
 * auth — bearer-token authentication in front of every non-public route.
 *
 * Reads "Authorization: Bearer <secret>", looks the secret's SHA-256 up in
 * Redis, compares in constant time, loads the account into r->account and
 * then runs the route's handler; otherwise answers 401. Secrets are never
 * logged or stored.
 *
 * Every request still asks Redis (a revoked token is refused at once), but
 * the account's document is parsed only when it differs from the one last
 * parsed for that token: a small per-process cache keeps the parsed
 * document, and r->account may be shared with it, so handlers only read it.
 */
#ifndef CM_HTTP_AUTH_H
#define CM_HTTP_AUTH_H

struct http_req;

/* Authenticates r, then calls r->route->handler(r); or answers 401/503. */
void auth_dispatch(struct http_req *r);

/* Frees the cache of parsed account documents (at exit, after the last request). */
void auth_cache_free(void);

#endif
