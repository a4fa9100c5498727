/*
 * static — serving the built web app from the web root (--web-root).
 *
 * Every GET or HEAD whose path is not the API's (see webpath_reserved)
 * comes here: a file under the root is sent with its Content-Type, an ETag
 * (If-None-Match → 304), a cache policy (fingerprinted files under /assets/
 * are immutable for a year, everything else is revalidated), its
 * precompressed FILE.gz when the client accepts gzip, and the security
 * headers of every page. A path that names no file gets the app's entry page
 * (index.html), so the app's own routes survive a reload; a missing
 * /assets/ file is a 404 problem instead.
 *
 * Files are read at request time: rebuilding the app needs no restart. No
 * path ever leaves the root: dot segments, encoded slashes and NUL bytes
 * are refused before the file system is asked, and the resolved path
 * (symlinks followed) must still lie under the resolved root.
 */
#ifndef CM_WEB_STATIC_H
#define CM_WEB_STATIC_H

#include <stddef.h>

struct config;
struct http_req;

/*
 * Fills cfg->web_root when it is empty: the first of "web" beside the
 * craftmatchd binary and "../share/craftmatch/web" from it that is a
 * directory, else the first (the app may be built after the start).
 */
void static_resolve_root(struct config *cfg);

/* Answers r (GET or HEAD) from the web root. */
void static_serve(struct http_req *r);

/*
 * Answers a request no route took (the HTTP server's unrouted hook): under
 * the API's prefixes 404; elsewhere the web app's files for GET and HEAD,
 * OPTIONS, and 405 for anything else.
 */
void static_unrouted(struct http_req *r);

/* The headers every page of the app carries (also on its 304s and 404s). */
void static_security_headers(struct http_req *r);

#endif
