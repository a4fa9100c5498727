/*
 * webpath — the rules by which the web app's files are chosen, read from a
 * request's path and headers (see webpath.h).
 */
#include "server/web/webpath.h"

#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/xalloc.h"

/* Paths below these first segments are the API's, whatever the web root holds. */
static const char *const webpath_reserved_segments[] = {"v1", "healthz", "readyz", "metrics",
							"problems"};

static const struct {
	const char *ext;
	const char *type;
} webpath_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"geojson", "application/geo+json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
    {"pdf", "application/pdf"},
};

int webpath_reserved(const char *path)
{
	const char *seg = path + (path[0] == '/');
	size_t len = strcspn(seg, "/?");
	for (size_t i = 0;
	     i < sizeof(webpath_reserved_segments) / sizeof(webpath_reserved_segments[0]); i++)
		if (strlen(webpath_reserved_segments[i]) == len &&
		    memcmp(seg, webpath_reserved_segments[i], len) == 0)
			return 1;
	return 0;
}

const char *webpath_content_type(const char *file)
{
	const char *base = strrchr(file, '/');
	const char *dot = strrchr(base ? base : file, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(webpath_types) / sizeof(webpath_types[0]); i++)
			if (strcasecmp(dot + 1, webpath_types[i].ext) == 0)
				return webpath_types[i].type;
	return "application/octet-stream";
}

/*
 * Decodes the raw path into a new string (caller frees), or NULL when the
 * path must never reach the file system: an encoded slash, backslash or
 * NUL, an empty segment, or a segment starting with a dot ("..", ".",
 * hidden files), before or after decoding.
 */
char *webpath_clean(const char *raw)
{
	if (raw[0] != '/' || strchr(raw, '\\'))
		return NULL;
	for (const char *p = strchr(raw, '%'); p; p = strchr(p + 1, '%'))
		if (strncasecmp(p, "%2f", 3) == 0 || strncasecmp(p, "%5c", 3) == 0 ||
		    strncmp(p, "%00", 3) == 0)
			return NULL;
	size_t n = 0;
	char *dec = evhttp_uridecode(raw, 0, &n);
	if (dec == NULL)
		return NULL;
	char *out = NULL;
	if (strlen(dec) != n || strchr(dec, '\\'))
		goto done;
	for (const char *seg = dec + 1;; seg += strcspn(seg, "/") + 1) {
		size_t len = strcspn(seg, "/");
		if (seg[len] == '\0' && len == 0)
			break; /* a trailing slash */
		if (len == 0 || seg[0] == '.')
			goto done;
		if (seg[len] == '\0')
			break;
	}
	out = xstrdup(dec);
done:
	free(dec);
	return out;
}

/* Does an Accept-Encoding value accept gzip (q > 0)? */
/* The q of one Accept-Encoding member (p to end) is above zero. */
static int webpath_q_positive(const char *p, const char *end)
{
	const char *q = strstr(p, "q=");
	if (q == NULL || q >= end)
		return 1;
	q += 2;
	size_t zeros = strspn(q, "0.");
	return q + zeros < end && q[zeros] >= '1' && q[zeros] <= '9';
}

int webpath_accepts_gzip(const char *ae)
{
	if (ae == NULL)
		return 0;
	int gzip = -1, any = -1; /* -1: not named */
	for (const char *p = ae; *p;) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, " \t;,");
		const char *end = p + strcspn(p, ",");
		if ((len == 4 && strncasecmp(p, "gzip", 4) == 0) ||
		    (len == 6 && strncasecmp(p, "x-gzip", 6) == 0))
			gzip = gzip == 1 || webpath_q_positive(p, end);
		else if (len == 1 && *p == '*')
			any = webpath_q_positive(p, end);
		p = end;
	}
	/* gzip named explicitly decides; otherwise "*" does (RFC 9110 12.5.3). */
	return gzip >= 0 ? gzip : any == 1;
}

/* Does an If-None-Match value list etag (weak comparison, RFC 9110 13.1.2)? */
int webpath_etag_listed(const char *header, const char *etag)
{
	size_t el = strlen(etag);
	for (const char *p = header; *p;) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		size_t len = strcspn(p, " \t,");
		if (len == el && memcmp(p, etag, el) == 0)
			return 1;
		p += len;
	}
	return 0;
}

/* A fingerprinted asset: under /assets/, its name holds "-<hash>." (8+ characters). */
int webpath_fingerprinted(const char *file)
{
	if (strncmp(file, "/assets/", 8) != 0)
		return 0;
	const char *base = strrchr(file, '/') + 1;
	for (const char *d = strchr(base, '-'); d; d = strchr(d + 1, '-')) {
		size_t run = strspn(d + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789_-");
		if (run >= 8 && d[1 + run] == '.')
			return 1;
	}
	return 0;
}
