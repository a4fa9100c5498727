/*
 * static — serving the built web app (see static.h).
 */
#include "server/web/static.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xalloc.h"
#include "server/app.h"
#include "server/http/request.h"
#include "server/log.h"

/* Paths below these first segments are the API's, whatever the web root holds. */
static const char *const static_reserved[] = {"v1", "healthz", "readyz", "metrics", "problems"};

static const struct {
	const char *ext;
	const char *type;
} static_types[] = {
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

#define STATIC_IMMUTABLE "public, max-age=31536000, immutable"

void static_resolve_root(struct config *cfg)
{
	if (cfg->web_root[0])
		return;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	static const char *const candidates[] = {"/web", "/../share/craftmatch/web"};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		struct stat st;
		int len = snprintf(cfg->web_root, sizeof(cfg->web_root), "%s%s", exe, candidates[i]);
		if (len < (int)sizeof(cfg->web_root) && stat(cfg->web_root, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			return;
	}
	if (snprintf(cfg->web_root, sizeof(cfg->web_root), "%s%s", exe, candidates[0]) >=
	    (int)sizeof(cfg->web_root))
		cfg->web_root[0] = '\0'; /* too long to serve from: nothing is served */
}

int static_path_reserved(const char *path)
{
	const char *seg = path + (path[0] == '/');
	size_t len = strcspn(seg, "/?");
	for (size_t i = 0; i < sizeof(static_reserved) / sizeof(static_reserved[0]); i++)
		if (strlen(static_reserved[i]) == len && memcmp(seg, static_reserved[i], len) == 0)
			return 1;
	return 0;
}

void static_security_headers(struct http_req *r)
{
	http_reply_header(r, "Content-Security-Policy",
			  "default-src 'self'; img-src 'self' data:; style-src 'self'; "
			  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	http_reply_header(r, "X-Content-Type-Options", "nosniff");
	http_reply_header(r, "Referrer-Policy", "no-referrer");
	http_reply_header(r, "X-Frame-Options", "DENY");
}

static const char *static_content_type(const char *file)
{
	const char *base = strrchr(file, '/');
	const char *dot = strrchr(base ? base : file, '.');
	if (dot)
		for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++)
			if (strcasecmp(dot + 1, static_types[i].ext) == 0)
				return static_types[i].type;
	return "application/octet-stream";
}

/*
 * Decodes the raw path into a new string (caller frees), or NULL when the
 * path must never reach the file system: an encoded slash, backslash or
 * NUL, an empty segment, or a segment starting with a dot ("..", ".",
 * hidden files), before or after decoding.
 */
static char *static_clean_path(const char *raw)
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

/* 1 when real (a resolved path) is root itself or lies under it. */
static int static_within(const char *root, const char *real)
{
	size_t rl = strlen(root);
	if (rl == 1)
		return real[0] == '/';
	return strncmp(real, root, rl) == 0 && (real[rl] == '/' || real[rl] == '\0');
}

/*
 * Opens the regular file at rel ("/…") under root (resolved): returns its
 * descriptor and fills st, or -1 when there is none inside the root.
 */
static int static_open(const char *root, const char *rel, struct stat *st)
{
	char *full = xasprintf("%s%s", root, rel);
	char real[PATH_MAX];
	int fd = -1;
	if (realpath(full, real) && static_within(root, real)) {
		fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))) {
			close(fd);
			fd = -1;
		}
	}
	free(full);
	return fd;
}

/* Does an Accept-Encoding value accept gzip (q > 0)? */
static int static_accepts_gzip(const char *ae)
{
	if (ae == NULL)
		return 0;
	for (const char *p = ae; *p;) {
		p += strspn(p, " \t,");
		size_t len = strcspn(p, " \t;,");
		int named = (len == 4 && strncasecmp(p, "gzip", 4) == 0) ||
			    (len == 6 && strncasecmp(p, "x-gzip", 6) == 0) || (len == 1 && *p == '*');
		const char *end = p + strcspn(p, ",");
		const char *q = named ? strstr(p, "q=") : NULL;
		if (q && q > end)
			q = NULL;
		if (named) {
			if (q == NULL)
				return 1;
			q += 2;
			size_t zeros = strspn(q, "0.");
			if (q + zeros < end && q[zeros] >= '1' && q[zeros] <= '9')
				return 1;
		}
		p = end;
	}
	return 0;
}

/* Does an If-None-Match value list etag (weak comparison, RFC 9110 13.1.2)? */
static int static_etag_listed(const char *header, const char *etag)
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
static int static_fingerprinted(const char *file)
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

/* Reads the whole file into a new buffer; NULL on a read error. */
static struct evbuffer *static_read(int fd, off_t size)
{
	struct evbuffer *buf = evbuffer_new();
	off_t left = size;
	while (left > 0) {
		struct evbuffer_iovec v;
		if (evbuffer_reserve_space(buf, left, &v, 1) < 1)
			break;
		size_t want = v.iov_len < (size_t)left ? v.iov_len : (size_t)left;
		ssize_t got = read(fd, v.iov_base, want);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		v.iov_len = (size_t)got;
		evbuffer_commit_space(buf, &v, 1);
		left -= got;
	}
	if (left > 0) {
		evbuffer_free(buf);
		return NULL;
	}
	return buf;
}

static void static_send(struct http_req *r, const char *root, const char *file, int fd,
			struct stat *st)
{
	int gz = 0;
	if (static_accepts_gzip(http_req_header(r, "Accept-Encoding"))) {
		char *gzname = xasprintf("%s.gz", file);
		struct stat gst;
		int gfd = static_open(root, gzname, &gst);
		free(gzname);
		if (gfd >= 0) {
			close(fd);
			fd = gfd;
			*st = gst;
			gz = 1;
		}
	}
	/* Size, change time and inode: any rebuild of the file changes its tag. */
	char etag[96];
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx%s\"", (unsigned long long)st->st_size,
		 (unsigned long long)st->st_mtim.tv_sec * 1000000000ull +
			 (unsigned long long)st->st_mtim.tv_nsec,
		 (unsigned long long)st->st_ino, gz ? "-gz" : "");
	http_reply_header(r, "ETag", etag);
	http_reply_header(r, "Vary", "Accept-Encoding");
	http_reply_header(r, "Cache-Control",
			  static_fingerprinted(file) ? STATIC_IMMUTABLE : "no-cache");
	const char *inm = http_req_header(r, "If-None-Match");
	if (inm && static_etag_listed(inm, etag)) {
		close(fd);
		http_reply_buffer(r, 304, NULL, NULL);
		return;
	}
	struct evbuffer *body = static_read(fd, st->st_size);
	close(fd);
	if (body == NULL) {
		char q[160];
		log_error("web", "cannot read a file of the web app", "file=%s error=\"%s\"",
			  log_quote(q, sizeof(q), file), strerror(errno));
		http_reply_problem(r, 500, "internal", NULL, "the file could not be read");
		return;
	}
	if (gz)
		http_reply_header(r, "Content-Encoding", "gzip");
	http_reply_buffer(r, 200, static_content_type(file), body);
	evbuffer_free(body);
}

void static_serve(struct http_req *r)
{
	static_security_headers(r);
	char root[PATH_MAX];
	const char *web_root = r->app->cfg.web_root;
	char *rel = static_clean_path(r->path);
	if (rel == NULL) {
		http_reply_problem(r, 404, "not-found", NULL, "no resource at this path");
		return;
	}
	struct stat st;
	int fd = -1;
	const char *file = strcmp(rel, "/") == 0 ? "/index.html" : rel;
	if (web_root[0] && realpath(web_root, root)) {
		fd = static_open(root, file, &st);
		if (fd < 0 && strncmp(rel, "/assets/", 8) == 0) {
			free(rel);
			http_reply_problem(r, 404, "not-found", NULL, "no such file of the web app");
			return;
		}
		if (fd < 0) {
			/* The app's own routes: its entry page decides what to show. */
			file = "/index.html";
			fd = static_open(root, file, &st);
		}
	}
	if (fd < 0) {
		free(rel);
		http_reply_problem(r, 404, "not-found", NULL,
				   "the web app is not built: its folder (--web-root) has no "
				   "index.html; run scripts/build");
		return;
	}
	static_send(r, root, file, fd, &st);
	free(rel);
}
