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
#include "server/web/webpath.h"

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
		int len =
		    snprintf(cfg->web_root, sizeof(cfg->web_root), "%s%s", exe, candidates[i]);
		if (len < (int)sizeof(cfg->web_root) && stat(cfg->web_root, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			return;
	}
	if (snprintf(cfg->web_root, sizeof(cfg->web_root), "%s%s", exe, candidates[0]) >=
	    (int)sizeof(cfg->web_root))
		cfg->web_root[0] = '\0'; /* too long to serve from: nothing is served */
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
	if (webpath_accepts_gzip(http_req_header(r, "Accept-Encoding"))) {
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
			  webpath_fingerprinted(file) ? STATIC_IMMUTABLE : "no-cache");
	const char *inm = http_req_header(r, "If-None-Match");
	if (inm && webpath_etag_listed(inm, etag)) {
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
	http_reply_buffer(r, 200, webpath_content_type(file), body);
	evbuffer_free(body);
}

void static_serve(struct http_req *r)
{
	static_security_headers(r);
	char root[PATH_MAX];
	const char *web_root = r->app->cfg.web_root;
	char *rel = webpath_clean(r->path);
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
			http_reply_problem(r, 404, "not-found", NULL,
					   "no such file of the web app");
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

void static_unrouted(struct http_req *r)
{
	if (webpath_reserved(r->path)) {
		http_reply_problem(r, 404, "not-found", NULL, "no resource at this path");
		return;
	}
	/* The web app: files are only read. HEAD is answered as GET. */
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) {
		static_serve(r);
	} else if (strcmp(r->method, "OPTIONS") == 0) {
		http_reply_options(r, "GET, HEAD");
	} else {
		http_reply_header(r, "Allow", "GET, HEAD, OPTIONS");
		http_reply_problem(r, 405, "method-not-allowed", NULL,
				   "%s is not served on this path; allowed: GET, HEAD, OPTIONS",
				   r->method);
	}
}
