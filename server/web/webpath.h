/*
 * webpath — the pure rules of serving the web app: which paths are the
 * API's, how a requested path becomes a file name under the web root (or is
 * refused), a file's Content-Type and cache class, and what the client's
 * Accept-Encoding and If-None-Match say.
 *
 * No I/O here (static.c does that): everything is a function of its
 * arguments, unit-tested and fuzzed (tests/fuzz/fuzz_webpath.c).
 */
#ifndef CM_WEB_WEBPATH_H
#define CM_WEB_WEBPATH_H

/* 1 when path (raw, as requested) belongs to the API, never to the app. */
int webpath_reserved(const char *path);

/*
 * The raw (%-encoded) path decoded into a new string (caller frees) that is
 * safe to append to the web root: it starts with '/', and has no ".", ".."
 * or other segment starting with a dot, no empty segment (but a trailing
 * '/'), no backslash and no NUL. NULL when the path has any of those, before
 * or after decoding, or an encoded '/' or '\' (%2F, %5C): such a path is
 * refused, never normalised.
 */
char *webpath_clean(const char *raw);

/* The Content-Type for a file name, by its extension (octet-stream when unknown). */
const char *webpath_content_type(const char *file);

/*
 * 1 for a fingerprinted asset, cacheable for ever: under /assets/, with a
 * name holding '-' then 8 or more of A-Z a-z 0-9 _ - then '.'
 * ("/assets/index-Bx7_k-9Q.js").
 */
int webpath_fingerprinted(const char *file);

/* 1 when an Accept-Encoding value accepts gzip (gzip, x-gzip or *, q > 0). */
int webpath_accepts_gzip(const char *accept_encoding);

/*
 * 1 when an If-None-Match value lists etag ("*", or the same tag, weak or
 * not: RFC 9110 13.1.2's weak comparison).
 */
int webpath_etag_listed(const char *if_none_match, const char *etag);

#endif
