/*
 * cmbench-load — the HTTP load generator of scripts/bench: one thread, epoll,
 * HTTP/1.1 keep-alive, requests replayed from a file that cmbench-data wrote
 * (per request: a line with its length, then the raw bytes).
 *
 *   cmbench-load --port P --requests FILE [--host 127.0.0.1]
 *                [--connections C] [--duration S] [--count N] [--warmup S]
 *                [--rate R] [--watch-redis H:P] [--drain S] [--record FILE]
 *
 *   closed loop (no --rate): C connections, each sends its next request as
 *     soon as the previous answer is in: the most the server can do.
 *   open loop (--rate R): requests are due at a steady R per second whatever
 *     the answers do; a request waits for a free connection if none is
 *     idle, and its latency counts from when it was due (no coordinated
 *     omission).
 *   --watch-redis: meanwhile follow cm:events (XREAD BLOCK) and time, for
 *     every listing this run posted (its id from the Location header), when
 *     the first match.proposed naming it became readable; also the stream
 *     ids (Redis' own ms clock) of its listing.created and first
 *     match.proposed. --drain S keeps watching S seconds after the last
 *     answer. --sse-path PATH --token T (without --sse): also subscribe once
 *     to GET PATH (e.g. /v1/events?types=match.proposed as a moderator) and
 *     time the first match.proposed pushed for each posted listing.
 *
 *   cmbench-load --sse --port P --sse-path PATH --token T --subscribers N
 *                [--idle S] --requests FILE [--publish N] [--publish-interval MS]
 *
 *   SSE fan-out: N subscribers connect (GET PATH, Accept: text/event-stream)
 *   and, once all have their 200, "ready N" is printed on stderr; after
 *   --idle S seconds (the caller measures memory meanwhile) N listings are
 *   posted from FILE one every MS ms on a separate connection, and each
 *   delivery of an event naming a posted listing id (lst_...) to each
 *   subscriber is timed from when its POST was sent.
 *
 * Everything goes to 127.0.0.1 (or --host) only; the run ends by itself
 * (--duration / --count, and a hard cap of 600 s). Results: one JSON object
 * on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HARD_CAP_S 600.0
#define ID_LEN 24 /* "lst_" + 20 */

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cmbench-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- requests ----------------------------------------------------------- */

struct req {
	char *data;
	size_t len;
};

static struct req *reqs;
static size_t n_reqs;

static void reqs_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	size_t cap = 0;
	char line[64];
	while (fgets(line, sizeof(line), f)) {
		size_t len = strtoul(line, NULL, 10);
		if (len == 0)
			die("%s: bad length line", path);
		if (n_reqs == cap) {
			cap = cap ? cap * 2 : 1024;
			reqs = realloc(reqs, cap * sizeof(*reqs));
		}
		reqs[n_reqs].data = malloc(len);
		reqs[n_reqs].len = len;
		if (fread(reqs[n_reqs].data, 1, len, f) != len)
			die("%s: truncated", path);
		n_reqs++;
	}
	fclose(f);
	if (n_reqs == 0)
		die("%s: no requests", path);
}

/* ---- listing id table (open addressing) -------------------------------- */

struct idrec {
	char id[ID_LEN + 1];
	uint64_t sent_ns;     /* POST sent (open loop: due) */
	uint64_t seen_ns;     /* first match.proposed naming it read */
	uint64_t sse_seen_ns; /* first match.proposed naming it pushed over SSE */
	int64_t created_ms;   /* stream id ms of its listing.created */
	int64_t proposed_ms;  /* stream id ms of its first match.proposed */
	int mine;
};

static struct idrec *idt;
static size_t idt_size;

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static struct idrec *id_get(const char *id, size_t n, int create)
{
	if (n != ID_LEN)
		return NULL;
	if (idt == NULL) {
		idt_size = 1 << 20;
		idt = calloc(idt_size, sizeof(*idt));
	}
	size_t i = hash_str(id, n) & (idt_size - 1);
	for (size_t probes = 0; probes < idt_size; probes++, i = (i + 1) & (idt_size - 1)) {
		if (idt[i].id[0] == '\0') {
			if (!create)
				return NULL;
			memcpy(idt[i].id, id, n);
			return &idt[i];
		}
		if (memcmp(idt[i].id, id, n) == 0)
			return &idt[i];
	}
	return NULL;
}

/* ---- latency samples ------------------------------------------------------ */

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void samples_add(struct samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static double pct(const struct samples *s, double p)
{
	if (s->n == 0)
		return 0;
	size_t i = (size_t)ceil(p * (double)s->n) - 1;
	if (i >= s->n)
		i = s->n - 1;
	return (double)s->v[i];
}

/* Prints "name": {count, mean, p50, p90, p99, p999, max} in µs (ns / 1000 / scale). */
static void samples_json(FILE *o, const char *name, struct samples *s, double div)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	double sum = 0;
	for (size_t i = 0; i < s->n; i++)
		sum += (double)s->v[i];
	fprintf(o,
		"\"%s\": {\"count\": %zu, \"mean\": %.1f, \"p50\": %.1f, \"p90\": %.1f, "
		"\"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f}",
		name, s->n, s->n ? sum / (double)s->n / div : 0, pct(s, 0.5) / div,
		pct(s, 0.9) / div, pct(s, 0.99) / div, pct(s, 0.999) / div,
		s->n ? (double)s->v[s->n - 1] / div : 0);
}

/* ---- connections ------------------------------------------------------------ */

enum conn_kind { CONN_HTTP, CONN_SSE, CONN_REDIS };

struct conn {
	enum conn_kind kind;
	int fd;
	int connected;
	int busy;	 /* a request is in flight */
	size_t req;	 /* which request */
	size_t off;	 /* bytes of it written */
	uint64_t due_ns; /* when it was due (open loop) or sent (closed loop) */
	int record;	 /* counted (sent after the warm-up) */
	char *in;
	size_t in_len, in_cap;
	/* SSE */
	int sse_ok;
	redisReader *rr;
};

static int ep;
static struct sockaddr_in target;
static struct samples lat, sse_lat;
static uint64_t status_counts[600];
static uint64_t n_errors, n_sent, n_done, n_recorded_sent;
static uint64_t bytes_in;
static int watch_active;
static uint64_t sse_events, sse_matched;

static void conn_arm(struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static int conn_open(struct conn *c, const struct sockaddr_in *to)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)to, sizeof(*to)) < 0 && errno != EINPROGRESS)
		return -1;
	c->connected = 0;
	c->in_len = 0;
	struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl add: %s", strerror(errno));
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->connected = 0;
	c->busy = 0;
	c->in_len = 0;
}

static void in_reserve(struct conn *c, size_t more)
{
	if (c->in_len + more > c->in_cap) {
		c->in_cap = (c->in_len + more) * 2;
		c->in = realloc(c->in, c->in_cap);
	}
}

/* Reads what is there; -1 on EOF or error. */
static int conn_read(struct conn *c)
{
	for (;;) {
		in_reserve(c, 65536);
		ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
		if (n > 0) {
			c->in_len += (size_t)n;
			bytes_in += (uint64_t)n;
			continue;
		}
		if (n == 0)
			return -1;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == EINTR)
			continue;
		return -1;
	}
}

/* Writes the rest of the current request; 1 done, 0 more later, -1 error. */
static int conn_write(struct conn *c)
{
	const struct req *r = &reqs[c->req];
	while (c->off < r->len) {
		ssize_t n = write(c->fd, r->data + c->off, r->len - c->off);
		if (n > 0) {
			c->off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		return -1;
	}
	return 1;
}

static const char *find_header(const char *head, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);
	const char *p = head, *end = head + len;
	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (v < eol && *v == ' ')
				v++;
			*vlen = (size_t)(eol - v);
			return v;
		}
		p = eol + 2;
	}
	return NULL;
}

/*
 * One whole response at the start of c->in? Returns its length (0: not yet,
 * -1: malformed), its status and its Location id.
 */
static long http_response(struct conn *c, int *status, const char **loc, size_t *loc_len,
			  int *close_after)
{
	c->in[c->in_len] = '\0';
	const char *hend = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (hend == NULL)
		return 0;
	size_t hlen = (size_t)(hend - c->in) + 4;
	if (c->in_len < 12 || strncmp(c->in, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(c->in + 9);
	size_t vl = 0;
	const char *te = find_header(c->in, hlen, "Transfer-Encoding", &vl);
	if (te)
		die("chunked responses are not supported");
	const char *cl = find_header(c->in, hlen, "Content-Length", &vl);
	size_t body = cl ? strtoul(cl, NULL, 10) : 0;
	if (c->in_len < hlen + body)
		return 0;
	const char *cn = find_header(c->in, hlen, "Connection", &vl);
	*close_after = cn && vl >= 5 && strncasecmp(cn, "close", 5) == 0;
	*loc = find_header(c->in, hlen, "Location", loc_len);
	return (long)(hlen + body);
}

/* ---- run parameters ------------------------------------------------------- */

static double opt_duration = 5, opt_warmup = 0, opt_rate = 0, opt_drain = 0, opt_idle = 3;
static long opt_count = 0, opt_connections = 16, opt_subscribers = 0, opt_publish = 20;
static long opt_publish_interval = 100;
static const char *opt_record;
static uint64_t t_start, t_warm, t_end;
static size_t next_req;
static int stopping_sends;

static struct conn *conns;
static size_t n_conns;

/* Open loop: due times waiting for a connection. */
static uint64_t *backlog;
static size_t bl_head, bl_len, bl_cap;
static uint64_t next_due;
static uint64_t n_due;

static int may_send(uint64_t t)
{
	if (stopping_sends)
		return 0;
	if (opt_count > 0 && n_sent >= (uint64_t)opt_count)
		return 0;
	if (t >= t_end)
		return 0;
	return 1;
}

static void send_on(struct conn *c, uint64_t due)
{
	c->req = next_req++ % n_reqs;
	c->off = 0;
	c->busy = 1;
	c->due_ns = due;
	c->record = due >= t_warm;
	n_sent++;
	if (c->record)
		n_recorded_sent++;
	int w = conn_write(c);
	if (w < 0) {
		n_errors++;
		conn_close(c);
		return;
	}
	conn_arm(c, w == 1 ? EPOLLIN : (EPOLLIN | EPOLLOUT));
}

static struct conn *idle_conn(void)
{
	static size_t rr;
	for (size_t k = 0; k < n_conns; k++) {
		struct conn *c = &conns[(rr + k) % n_conns];
		if (c->kind == CONN_HTTP && c->connected && !c->busy && c->fd >= 0) {
			rr = (rr + k + 1) % n_conns;
			return c;
		}
	}
	return NULL;
}

static void dispatch_open_loop(uint64_t t)
{
	/* everything due by now joins the backlog, then idle connections take it */
	while (opt_rate > 0 && next_due <= t && may_send(next_due)) {
		if (bl_len == bl_cap) {
			size_t cap = bl_cap ? bl_cap * 2 : 1024;
			uint64_t *nb = malloc(cap * sizeof(*nb));
			for (size_t i = 0; i < bl_len; i++)
				nb[i] = backlog[(bl_head + i) % (bl_cap ? bl_cap : 1)];
			free(backlog);
			backlog = nb;
			bl_cap = cap;
			bl_head = 0;
		}
		backlog[(bl_head + bl_len) % bl_cap] = next_due;
		bl_len++;
		n_due++;
		next_due = t_start + (uint64_t)((double)n_due * 1e9 / opt_rate);
	}
	while (bl_len > 0) {
		struct conn *c = idle_conn();
		if (c == NULL)
			break;
		uint64_t due = backlog[bl_head];
		bl_head = (bl_head + 1) % bl_cap;
		bl_len--;
		send_on(c, due);
	}
}

/* ---- Redis watch ---------------------------------------------------------- */

static struct conn watch;
static char watch_last[64] = "$";
static FILE *record_f;

static void watch_send(void)
{
	char cmd[256];
	int n = snprintf(
	    cmd, sizeof(cmd),
	    "*8\r\n$5\r\nXREAD\r\n$5\r\nCOUNT\r\n$4\r\n2000\r\n$5\r\nBLOCK\r\n$3\r\n200\r\n"
	    "$7\r\nSTREAMS\r\n$9\r\ncm:events\r\n$%zu\r\n%s\r\n",
	    strlen(watch_last), watch_last);
	if (write(watch.fd, cmd, (size_t)n) != n)
		die("write to Redis failed");
}

static int64_t stream_ms(const char *id)
{
	return strtoll(id, NULL, 10);
}

static const char *entry_field(const redisReply *fields, const char *name, size_t *len)
{
	for (size_t i = 0; i + 1 < fields->elements; i += 2)
		if (strcmp(fields->element[i]->str, name) == 0) {
			*len = fields->element[i + 1]->len;
			return fields->element[i + 1]->str;
		}
	return NULL;
}

static void watch_entry(const redisReply *e, uint64_t t)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
		return;
	const char *sid = e->element[0]->str;
	const redisReply *f = e->element[1];
	snprintf(watch_last, sizeof(watch_last), "%s", sid);
	size_t tl = 0;
	const char *type = entry_field(f, "type", &tl);
	if (type == NULL)
		return;
	if (tl == 15 && memcmp(type, "listing.created", 15) == 0) {
		size_t l;
		const char *id = entry_field(f, "listing", &l);
		struct idrec *r = id ? id_get(id, l, 1) : NULL;
		if (r && r->created_ms == 0)
			r->created_ms = stream_ms(sid);
	} else if (tl == 14 && memcmp(type, "match.proposed", 14) == 0) {
		const char *names[] = {"need", "offer"};
		for (int k = 0; k < 2; k++) {
			size_t l;
			const char *id = entry_field(f, names[k], &l);
			struct idrec *r = id ? id_get(id, l, 1) : NULL;
			if (r && r->seen_ns == 0) {
				r->seen_ns = t;
				r->proposed_ms = stream_ms(sid);
			}
		}
	}
}

static void watch_readable(uint64_t t)
{
	if (conn_read(&watch) < 0)
		die("Redis closed the watch connection");
	redisReaderFeed(watch.rr, watch.in, watch.in_len);
	watch.in_len = 0;
	for (;;) {
		void *reply = NULL;
		if (redisReaderGetReply(watch.rr, &reply) != REDIS_OK)
			die("bad reply from Redis");
		if (reply == NULL)
			break;
		redisReply *r = reply;
		if (r->type == REDIS_REPLY_ERROR)
			die("XREAD: %s", r->str);
		if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
			const redisReply *entries = r->element[0]->element[1];
			for (size_t i = 0; i < entries->elements; i++)
				watch_entry(entries->element[i], t);
		}
		freeReplyObject(r);
		if (watch_active)
			watch_send();
	}
}

static void watch_start(const char *hostport)
{
	char host[128];
	const char *colon = strrchr(hostport, ':');
	if (colon == NULL)
		die("--watch-redis HOST:PORT");
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hostport), hostport);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		die("--watch-redis: %s is not an IPv4 address", host);
	watch.kind = CONN_REDIS;
	watch.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(watch.fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("cannot connect to Redis at %s: %s", hostport, strerror(errno));
	/* "$" would miss entries appended before the first XREAD: take the last id now */
	const char *q = "*6\r\n$9\r\nXREVRANGE\r\n$9\r\ncm:events\r\n$1\r\n+\r\n$1\r\n-\r\n$"
			"5\r\nCOUNT\r\n$1\r\n1\r\n";
	if (write(watch.fd, q, strlen(q)) != (ssize_t)strlen(q))
		die("write to Redis failed");
	watch.rr = redisReaderCreate();
	void *reply = NULL;
	while (reply == NULL) {
		char buf[4096];
		ssize_t n = read(watch.fd, buf, sizeof(buf));
		if (n <= 0)
			die("Redis closed the connection");
		redisReaderFeed(watch.rr, buf, (size_t)n);
		if (redisReaderGetReply(watch.rr, &reply) != REDIS_OK)
			die("bad reply from Redis");
	}
	redisReply *r = reply;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1)
		snprintf(watch_last, sizeof(watch_last), "%s", r->element[0]->element[0]->str);
	else
		snprintf(watch_last, sizeof(watch_last), "0-0");
	freeReplyObject(r);
	fcntl(watch.fd, F_SETFL, fcntl(watch.fd, F_GETFL) | O_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &watch};
	epoll_ctl(ep, EPOLL_CTL_ADD, watch.fd, &ev);
	watch.connected = 1;
	watch_active = 1;
	watch_send();
}

/* ---- HTTP events ------------------------------------------------------------ */

static void http_readable(struct conn *c, uint64_t t)
{
	int rc = conn_read(c);
	for (;;) {
		if (c->in_len == 0)
			break;
		int status = 0, close_after = 0;
		const char *loc = NULL;
		size_t loc_len = 0;
		long used = http_response(c, &status, &loc, &loc_len, &close_after);
		if (used == 0)
			break;
		if (used < 0 || !c->busy) {
			n_errors++;
			conn_close(c);
			return;
		}
		n_done++;
		if (c->record) {
			samples_add(&lat, t - c->due_ns);
			if (status > 0 && status < 600)
				status_counts[status]++;
			if (loc && loc_len > ID_LEN) {
				const char *id = loc + loc_len - ID_LEN;
				struct idrec *r = id_get(id, ID_LEN, 1);
				if (r) {
					r->mine = 1;
					r->sent_ns = c->due_ns;
				}
			}
		}
		memmove(c->in, c->in + used, c->in_len - (size_t)used);
		c->in_len -= (size_t)used;
		c->busy = 0;
		if (close_after) {
			conn_close(c);
			conn_open(c, &target);
			return;
		}
	}
	if (rc < 0) {
		if (c->busy)
			n_errors++;
		conn_close(c);
		if (may_send(t))
			conn_open(c, &target);
		return;
	}
	if (!c->busy) {
		if (opt_rate <= 0 && may_send(t))
			send_on(c, t);
		else
			conn_arm(c, EPOLLIN);
	}
}

static void http_event(struct conn *c, uint32_t evs, uint64_t t)
{
	if (!c->connected) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			die("cannot connect to %s:%d: %s", inet_ntoa(target.sin_addr),
			    ntohs(target.sin_port), strerror(err));
		}
		c->connected = 1;
		if (opt_rate <= 0 && may_send(t))
			send_on(c, t);
		else
			conn_arm(c, EPOLLIN);
		return;
	}
	if (evs & EPOLLOUT) {
		int w = conn_write(c);
		if (w < 0) {
			n_errors++;
			conn_close(c);
			return;
		}
		if (w == 1)
			conn_arm(c, EPOLLIN);
	}
	if (evs & (EPOLLIN | EPOLLHUP | EPOLLERR))
		http_readable(c, t);
}

/* ---- SSE -------------------------------------------------------------------- */

static struct req sse_req;
static long sse_ready;

/*
 * Deliveries: (first listing id an event names, arrival). Resolved against
 * the posted ids at the end: an event may well arrive before the 201 of the
 * POST that caused it.
 */
struct delivery {
	char id[ID_LEN];
	uint64_t t;
};
static struct delivery *dl;
static size_t dl_n, dl_cap;

static void sse_scan_event(const char *ev, size_t len, uint64_t t)
{
	sse_events++;
	const char *p = memmem(ev, len, "lst_", 4);
	if (p == NULL || ev + len - p < ID_LEN)
		return;
	if (dl_n == dl_cap) {
		dl_cap = dl_cap ? dl_cap * 2 : 65536;
		dl = realloc(dl, dl_cap * sizeof(*dl));
	}
	memcpy(dl[dl_n].id, p, ID_LEN);
	dl[dl_n].t = t;
	dl_n++;
}

static void sse_resolve(void)
{
	for (size_t i = 0; i < dl_n; i++) {
		struct idrec *r = id_get(dl[i].id, ID_LEN, 0);
		if (r && r->mine && r->sent_ns) {
			samples_add(&sse_lat, dl[i].t > r->sent_ns ? dl[i].t - r->sent_ns : 0);
			sse_matched++;
		}
	}
}

static struct conn sse_watch; /* --sse-watch: one subscriber timing match.proposed */

/* A match.proposed frame: time it for the need and the offer it names. */
static void sse_watch_event(const char *ev, size_t len, uint64_t t)
{
	if (memmem(ev, len, "event: match.proposed", 21) == NULL)
		return;
	const char *keys[] = {"\"need\":\"", "\"offer\":\""};
	for (int k = 0; k < 2; k++) {
		const char *p = memmem(ev, len, keys[k], strlen(keys[k]));
		if (p == NULL)
			continue;
		p += strlen(keys[k]);
		if (ev + len - p < ID_LEN)
			continue;
		struct idrec *r = id_get(p, ID_LEN, 1);
		if (r && r->sse_seen_ns == 0)
			r->sse_seen_ns = t;
	}
}

static void sse_readable(struct conn *c, uint64_t t)
{
	int rc = conn_read(c);
	if (!c->sse_ok) {
		c->in[c->in_len] = '\0';
		const char *hend = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		if (hend == NULL) {
			if (rc < 0)
				die("an SSE subscriber was closed before its answer");
			return;
		}
		int status = atoi(c->in + 9);
		if (status != 200)
			die("GET (sse) answered %d, not 200:\n%.300s", status, c->in);
		/* a chunked stream only adds size lines between events: harmless here */
		c->sse_ok = 1;
		sse_ready++;
		size_t used = (size_t)(hend - c->in) + 4;
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
	/* events end with a blank line */
	for (;;) {
		const char *e = memmem(c->in, c->in_len, "\n\n", 2);
		size_t sep = 2;
		const char *e2 = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		if (e2 && (!e || e2 < e)) {
			e = e2;
			sep = 4;
		}
		if (e == NULL)
			break;
		size_t used = (size_t)(e - c->in) + sep;
		if (c == &sse_watch)
			sse_watch_event(c->in, used, t);
		else
			sse_scan_event(c->in, used, t);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
	}
	if (rc < 0) {
		n_errors++;
		conn_close(c);
	}
}

static struct req sse_watch_req;

static void sse_event(struct conn *c, uint32_t evs, uint64_t t)
{
	if (!c->connected) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err)
			die("SSE connect: %s", strerror(err));
		c->connected = 1;
		const struct req *q = c == &sse_watch ? &sse_watch_req : &sse_req;
		ssize_t n = write(c->fd, q->data, q->len);
		if (n != (ssize_t)q->len)
			die("SSE request write failed");
		conn_arm(c, EPOLLIN);
		return;
	}
	if (evs & (EPOLLIN | EPOLLHUP | EPOLLERR))
		sse_readable(c, t);
}

/* ---- main loop -------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static void loop_once(int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(ep, evs, 256, timeout_ms);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;
		if (c->kind == CONN_REDIS)
			watch_readable(t);
		else if (c->kind == CONN_SSE)
			sse_event(c, evs[i].events, t);
		else
			http_event(c, evs[i].events, t);
	}
}

static int any_busy(void)
{
	for (size_t i = 0; i < n_conns; i++)
		if (conns[i].kind == CONN_HTTP && conns[i].busy && conns[i].fd >= 0)
			return 1;
	return 0;
}

static void print_common(FILE *o, double secs)
{
	fprintf(o,
		"\"sent\": %" PRIu64 ", \"completed\": %" PRIu64 ", \"errors\": %" PRIu64
		", \"seconds\": %.3f, \"throughput\": %.1f, \"status\": {",
		n_recorded_sent, (uint64_t)lat.n, n_errors, secs, secs > 0 ? lat.n / secs : 0);
	int first = 1;
	for (int s = 0; s < 600; s++)
		if (status_counts[s]) {
			fprintf(o, "%s\"%d\": %" PRIu64, first ? "" : ", ", s, status_counts[s]);
			first = 0;
		}
	fprintf(o, "}, ");
}

static void sse_watch_start(const char *path, const char *token)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
			 "Authorization: Bearer %s\r\n\r\n",
			 path, token);
	sse_watch_req.data = strdup(buf);
	sse_watch_req.len = (size_t)n;
	sse_watch.kind = CONN_SSE;
	if (conn_open(&sse_watch, &target) < 0)
		die("connect: %s", strerror(errno));
	uint64_t t0 = now_ns();
	while (!sse_watch.sse_ok) {
		loop_once(50);
		if (now_ns() - t0 > 10e9)
			die("the SSE watcher got no 200 within 10 s");
	}
}

static void run_http(const char *watch_redis, const char *sse_watch_path, const char *token)
{
	conns = calloc((size_t)opt_connections, sizeof(*conns));
	n_conns = (size_t)opt_connections;
	if (watch_redis)
		watch_start(watch_redis);
	if (sse_watch_path)
		sse_watch_start(sse_watch_path, token);
	t_start = now_ns();
	t_warm = t_start + (uint64_t)(opt_warmup * 1e9);
	t_end = t_start + (uint64_t)((opt_duration > 0 ? opt_duration : HARD_CAP_S) * 1e9);
	if (t_end > t_start + (uint64_t)(HARD_CAP_S * 1e9))
		t_end = t_start + (uint64_t)(HARD_CAP_S * 1e9);
	next_due = t_start;
	for (size_t i = 0; i < n_conns; i++) {
		conns[i].kind = CONN_HTTP;
		if (conn_open(&conns[i], &target) < 0)
			die("connect: %s", strerror(errno));
	}
	uint64_t t;
	while (!interrupted) {
		t = now_ns();
		if (opt_rate > 0)
			dispatch_open_loop(t);
		if (!may_send(t) && bl_len == 0 && !any_busy())
			break;
		if (t > t_end + (uint64_t)(30e9))
			break; /* answers that never come */
		int timeout = 100;
		if (opt_rate > 0 && may_send(t)) {
			int64_t d = (int64_t)(next_due - t);
			timeout = d <= 0 ? 0 : (int)((d + 999999) / 1000000);
		}
		loop_once(timeout);
	}
	uint64_t t_last = now_ns();
	if (watch_redis && opt_drain > 0) {
		uint64_t until = t_last + (uint64_t)(opt_drain * 1e9);
		while (!interrupted && now_ns() < until)
			loop_once(50);
	}
	watch_active = 0;
	double secs = (double)((t_last < t_end ? t_last : t_end) - t_warm) / 1e9;
	if (opt_count > 0)
		secs = (double)(t_last - t_warm) / 1e9;
	FILE *o = stdout;
	fprintf(o, "{\"mode\": \"%s\", \"connections\": %ld, \"rate_target\": %.1f, ",
		opt_rate > 0 ? "open" : "closed", opt_connections, opt_rate);
	print_common(o, secs);
	samples_json(o, "latency_us", &lat, 1000.0);
	if (watch_redis) {
		struct samples m = {0}, sm = {0}, ss = {0};
		size_t posted = 0, matched = 0, sse_seen = 0;
		if (opt_record) {
			record_f = fopen(opt_record, "w");
			if (record_f == NULL)
				die("%s: %s", opt_record, strerror(errno));
		}
		for (size_t i = 0; i < idt_size; i++) {
			struct idrec *r = &idt[i];
			if (!r->id[0] || !r->mine)
				continue;
			posted++;
			if (r->sse_seen_ns) {
				sse_seen++;
				samples_add(&ss, r->sse_seen_ns > r->sent_ns
						     ? r->sse_seen_ns - r->sent_ns
						     : 0);
			}
			if (r->seen_ns) {
				matched++;
				samples_add(&m,
					    r->seen_ns > r->sent_ns ? r->seen_ns - r->sent_ns : 0);
				if (r->created_ms && r->proposed_ms >= r->created_ms)
					samples_add(&sm,
						    (uint64_t)(r->proposed_ms - r->created_ms));
			}
			if (record_f)
				fprintf(record_f,
					"%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRId64 "\t%" PRId64
					"\t%" PRIu64 "\n",
					r->id, r->sent_ns, r->seen_ns, r->created_ms,
					r->proposed_ms, r->sse_seen_ns);
		}
		if (record_f)
			fclose(record_f);
		fprintf(o, ", \"posted\": %zu, \"matched\": %zu, ", posted, matched);
		samples_json(o, "match_latency_us", &m, 1000.0);
		fprintf(o, ", ");
		samples_json(o, "stream_created_to_proposed_ms", &sm, 1.0);
		if (sse_watch_path) {
			fprintf(o, ", \"sse_seen\": %zu, ", sse_seen);
			samples_json(o, "sse_match_latency_us", &ss, 1000.0);
		}
	}
	fprintf(o, ", \"wall_ms_end\": %" PRId64 "}\n", wall_ms());
}

static void run_sse(const char *path, const char *token)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf),
			 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
			 "Authorization: Bearer %s\r\n\r\n",
			 path, token);
	sse_req.data = strdup(buf);
	sse_req.len = (size_t)n;
	n_conns = (size_t)opt_subscribers + 1;
	conns = calloc(n_conns, sizeof(*conns));
	uint64_t t0 = now_ns();
	for (long i = 0; i < opt_subscribers; i++) {
		conns[i].kind = CONN_SSE;
		if (conn_open(&conns[i], &target) < 0)
			die("connect: %s", strerror(errno));
		if (i % 500 == 499) /* let the accept queue drain */
			loop_once(0);
	}
	while (!interrupted && sse_ready < opt_subscribers) {
		loop_once(100);
		if (now_ns() - t0 > 120e9)
			die("only %ld of %ld subscribers connected in 120 s", sse_ready,
			    opt_subscribers);
	}
	double connect_s = (double)(now_ns() - t0) / 1e9;
	fprintf(stderr, "ready %ld\n", sse_ready);
	fflush(stderr);
	uint64_t idle_until = now_ns() + (uint64_t)(opt_idle * 1e9);
	while (!interrupted && now_ns() < idle_until)
		loop_once(50);
	/* the publisher: one keep-alive connection, one POST every interval */
	struct conn *pub = &conns[n_conns - 1];
	pub->kind = CONN_HTTP;
	conn_open(pub, &target);
	t_start = now_ns();
	t_warm = t_start;
	t_end = t_start + (uint64_t)(HARD_CAP_S * 1e9);
	opt_rate = 1e9; /* no closed-loop resend: sends are driven below */
	long published = 0;
	uint64_t next = now_ns();
	while (!interrupted && (published < opt_publish || pub->busy)) {
		uint64_t t = now_ns();
		if (published < opt_publish && pub->connected && !pub->busy && t >= next) {
			send_on(pub, t);
			published++;
			next = t + (uint64_t)opt_publish_interval * 1000000ull;
		}
		loop_once(5);
	}
	/* deliveries still on their way */
	uint64_t until = now_ns() + 3000000000ull;
	while (!interrupted && now_ns() < until && dl_n < (size_t)(published * opt_subscribers))
		loop_once(50);
	sse_resolve();
	long alive = 0;
	for (long i = 0; i < opt_subscribers; i++)
		alive += conns[i].fd >= 0 && conns[i].sse_ok;
	printf("{\"mode\": \"sse\", \"subscribers\": %ld, \"connected\": %ld, \"alive\": %ld, "
	       "\"connect_seconds\": %.3f, \"published\": %ld, \"events\": %" PRIu64
	       ", \"deliveries\": %" PRIu64 ", \"expected_deliveries\": %ld, ",
	       opt_subscribers, sse_ready, alive, connect_s, published, sse_events, sse_matched,
	       published * opt_subscribers);
	samples_json(stdout, "delivery_us", &sse_lat, 1000.0);
	printf(", \"post_status\": {");
	int first = 1;
	for (int s = 0; s < 600; s++)
		if (status_counts[s]) {
			printf("%s\"%d\": %" PRIu64, first ? "" : ", ", s, status_counts[s]);
			first = 0;
		}
	printf("}}\n");
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *requests = NULL, *watch_redis = NULL, *sse_path = NULL,
		   *token = NULL;
	int port = 0, sse = 0;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			fputs(
			    "usage: cmbench-load --port P --requests FILE [--host 127.0.0.1]\n"
			    "         [--connections C] [--duration S] [--count N] [--warmup S]\n"
			    "         [--rate R] [--watch-redis H:P] [--drain S] [--record FILE]\n"
			    "         [--sse-path PATH --token T]\n"
			    "       cmbench-load --sse --port P --sse-path PATH --token T "
			    "--subscribers N\n"
			    "         [--idle S] --requests FILE [--publish N] [--publish-interval "
			    "MS]\n"
			    "(the top of scripts/bench.d/loadgen.c says what each does)\n",
			    stdout);
			return 0;
		}
		if (strcmp(o, "--sse") == 0) {
			sse = 1;
			continue;
		}
		if (i + 1 >= argc)
			die("%s needs a value", o);
		const char *v = argv[++i];
		if (strcmp(o, "--host") == 0)
			host = v;
		else if (strcmp(o, "--port") == 0)
			port = atoi(v);
		else if (strcmp(o, "--requests") == 0)
			requests = v;
		else if (strcmp(o, "--connections") == 0)
			opt_connections = atol(v);
		else if (strcmp(o, "--duration") == 0)
			opt_duration = atof(v);
		else if (strcmp(o, "--count") == 0)
			opt_count = atol(v);
		else if (strcmp(o, "--warmup") == 0)
			opt_warmup = atof(v);
		else if (strcmp(o, "--rate") == 0)
			opt_rate = atof(v);
		else if (strcmp(o, "--watch-redis") == 0)
			watch_redis = v;
		else if (strcmp(o, "--drain") == 0)
			opt_drain = atof(v);
		else if (strcmp(o, "--record") == 0)
			opt_record = v;
		else if (strcmp(o, "--sse-path") == 0)
			sse_path = v;
		else if (strcmp(o, "--token") == 0)
			token = v;
		else if (strcmp(o, "--subscribers") == 0)
			opt_subscribers = atol(v);
		else if (strcmp(o, "--idle") == 0)
			opt_idle = atof(v);
		else if (strcmp(o, "--publish") == 0)
			opt_publish = atol(v);
		else if (strcmp(o, "--publish-interval") == 0)
			opt_publish_interval = atol(v);
		else
			die("unknown option %s", o);
	}
	if (port <= 0 || requests == NULL)
		die("--port and --requests are required");
	if (opt_connections < 1 || opt_connections > 15000)
		die("--connections must be 1..15000");
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &target.sin_addr) != 1)
		die("--host must be an IPv4 address");
	reqs_load(requests);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sse) {
		if (!sse_path || !token || opt_subscribers < 1)
			die("--sse needs --sse-path, --token and --subscribers");
		run_sse(sse_path, token);
	} else {
		run_http(watch_redis, sse_path, token);
	}
	return 0;
}
