/*
 * cmbench-load: the requests and accounts files, the listing id table, latency samples, the
 * non-blocking connections and the parsing of HTTP/1.1 answers (loadgen.c says
 * what the tool does; loadgen_int.h what its files share).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadgen_int.h"

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("cmbench-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- requests ----------------------------------------------------------- */

struct req *reqs;
size_t n_reqs;

void reqs_load(const char *path)
{
	reqs_load_into(path, &reqs, &n_reqs);
}

void reqs_load_into(const char *path, struct req **out, size_t *count)
{
	struct req *arr = NULL;
	size_t cnt = 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	size_t cap = 0;
	char line[64];
	while (fgets(line, sizeof(line), f)) {
		size_t len = strtoul(line, NULL, 10);
		if (len == 0)
			die("%s: bad length line", path);
		if (cnt == cap) {
			cap = cap ? cap * 2 : 1024;
			arr = realloc(arr, cap * sizeof(*arr));
		}
		arr[cnt].data = malloc(len);
		arr[cnt].len = len;
		if (fread(arr[cnt].data, 1, len, f) != len)
			die("%s: truncated", path);
		cnt++;
	}
	fclose(f);
	if (cnt == 0)
		die("%s: no requests", path);
	*out = arr;
	*count = cnt;
}

/* ---- the accounts file (--mixed) ------------------------------------------------------------- */

struct macct *accs;
size_t n_accs;
size_t *mods;
size_t n_mods;
const char *admin_token;

static int acct_cmp(const void *a, const void *b)
{
	return strcmp(((const struct macct *)a)->id, ((const struct macct *)b)->id);
}

void accounts_load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	char line[1024];
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok[4];
		int k = 0;
		for (char *p = strtok_r(line, "\t\n", &save); p && k < 4;
		     p = strtok_r(NULL, "\t\n", &save))
			tok[k++] = p;
		if (k < 4)
			continue;
		if (n_accs == cap) {
			cap = cap ? cap * 2 : 1024;
			accs = realloc(accs, cap * sizeof(*accs));
		}
		struct macct *a = &accs[n_accs++];
		snprintf(a->id, sizeof(a->id), "%s", tok[0]);
		snprintf(a->role, sizeof(a->role), "%s", tok[1]);
		snprintf(a->province, sizeof(a->province), "%s", tok[2]);
		snprintf(a->token, sizeof(a->token), "%s", tok[3]);
	}
	fclose(f);
	if (n_accs == 0)
		die("%s: no accounts", path);
	qsort(accs, n_accs, sizeof(*accs), acct_cmp);
	mods = calloc(n_accs, sizeof(*mods));
	for (size_t i = 0; i < n_accs; i++)
		if (strcmp(accs[i].role, "moderator") == 0)
			mods[n_mods++] = i;
}

/* The account's index, or -1. */
long acct_find(const char *id, size_t len)
{
	struct macct key;
	if (len >= sizeof(key.id))
		return -1;
	memcpy(key.id, id, len);
	key.id[len] = '\0';
	struct macct *a = bsearch(&key, accs, n_accs, sizeof(*accs), acct_cmp);
	return a ? (long)(a - accs) : -1;
}

const char *acct_token(long i)
{
	return i >= 0 ? accs[i].token : admin_token;
}

/* ---- listing id table (open addressing) -------------------------------- */

struct idrec *idt;
size_t idt_size;

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

struct idrec *id_get(const char *id, size_t n, int create)
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

void samples_add(struct samples *s, uint64_t x)
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
void samples_json(FILE *o, const char *name, struct samples *s, double div)
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

int ep;
conn_handler conn_handlers[CONN_KINDS];

void loop_once(int timeout_ms)
{
	struct epoll_event evs[256];
	int n = epoll_wait(ep, evs, 256, timeout_ms);
	if (n < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;
		conn_handlers[c->kind](c, evs[i].events, t);
	}
}
struct sockaddr_in target;
struct samples lat, sse_lat;
uint64_t status_counts[600];
uint64_t n_errors, n_sent, n_done, n_recorded_sent;
static uint64_t bytes_in;
int watch_active;
uint64_t sse_events, sse_matched;

void conn_arm(struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

int conn_open(struct conn *c, const struct sockaddr_in *to)
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

void conn_close(struct conn *c)
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
int conn_read(struct conn *c)
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

/*
 * Reads once: a read shorter than the room means the socket is empty (epoll
 * is level-triggered: what comes later is reported again), so an event
 * costs one read, not a second that meets EAGAIN; -1 on EOF or error.
 */
int conn_read_some(struct conn *c)
{
	in_reserve(c, 65536);
	size_t room = c->in_cap - c->in_len - 1;
	ssize_t n;
	do
		n = read(c->fd, c->in + c->in_len, room);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		c->in_len += (size_t)n;
		bytes_in += (uint64_t)n;
		return 0;
	}
	return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ? -1 : 0;
}

/* Writes the rest of the current request; 1 done, 0 more later, -1 error. */
int conn_write(struct conn *c)
{
	const struct req *r = c->cur ? c->cur : &reqs[c->req];
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
long http_response(struct conn *c, int *status, const char **loc, size_t *loc_len, int *close_after)
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
