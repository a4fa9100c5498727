/*
 * auth — authentication in front of every non-public route: a bearer token,
 * or a browser session's cookie.
 *
 * Reads "Authorization: Bearer <secret>" or, without that header, the
 * cm_session cookie (POST /v1/sessions sets it); looks the secret's SHA-256
 * up in Redis (the lookup by hash is the check: the secret itself is never
 * compared, stored or logged), loads the account into r->account
 * and then runs the route's handler; otherwise answers 401. A session is
 * valid only while the token it was made from is. Secrets are never logged
 * or stored.
 *
 * CSRF: a request authenticated by cookie whose method is not GET or HEAD
 * must send X-Craftmatch: 1 and come from the server's own origin (Origin
 * equal to http(s)://<Host>; without Origin, Sec-Fetch-Site: same-origin),
 * else 403 csrf. Bearer requests are not affected: a browser never adds a
 * bearer token by itself.
 *
 * Every request still asks Redis (a revoked token is refused at once), but
 * the account's document is parsed only when it differs from the one last
 * parsed for that token: a small cache the app owns keeps the parsed
 * document, and r->account may be shared with it, so handlers only read it.
 */
#ifndef CM_HTTP_AUTH_H
#define CM_HTTP_AUTH_H

struct app;
struct http_req;

#define AUTH_COOKIE "cm_session"

/* Authenticates r, then calls r->route->handler(r); or answers 401/403/503. */
void auth_dispatch(struct http_req *r);

/* The CSRF rule above: 0 when r passes, or -1 after answering 403 csrf. */
int auth_csrf_check(struct http_req *r);

/*
 * Adds Set-Cookie for the session cookie: secret for max_age seconds, or
 * "" and 0 to clear it. HttpOnly, SameSite=Strict, Path=/, and Secure when
 * the request came through a TLS proxy (X-Forwarded-Proto: https).
 */
void auth_set_cookie(struct http_req *r, const char *secret, long max_age);

/* Frees app's cache of parsed account documents (at exit, after the last request). */
void auth_cache_free(struct app *app);

#endif
