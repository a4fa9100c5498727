/*
 * cmbench-load --mixed: the "mixed day" of scripts/bench, the shape of a
 * forum morning on one craftmatchd:
 *
 *   - --subscribers N live GET /v1/events streams stay open throughout, each
 *     as one of the accounts (moderators first, then villages and suppliers
 *     spread over the accounts file); every listing.created they are pushed
 *     for a listing this run posted is timed from its POST's due time;
 *   - one more stream, as the admin, follows match.proposed (resumed from
 *     --since, the last cm:events id before the phase's crossing listings
 *     were posted, so the proposals made before the run are acted on too);
 *   - C keep-alive connections (closed loop; or open loop at --rate R, the
 *     latency counted from when each request was due) send a mix drawn per
 *     request: --shares S,W,M percent of
 *       searches   the next of --searches, or (a quarter of the time, when a
 *                  search answered a next_cursor) that search's next page;
 *       writes     the next POST of --posts, or (four in ten, when one of this
 *                  run's posts is still to be edited) its PATCH from
 *                  --patches, the id filled in from the POST's Location,
 *                  sent with the owner's token;
 *       matches    the oldest pending action on a proposal: approve (a
 *                  moderator whose province holds either side, else the
 *                  admin), then accept by the need's owner, then accept (9
 *                  in 10) or decline by the offer's owner, then fulfil by the
 *                  need's owner once the match is confirmed; each step is
 *                  queued when the answer of the one before says it went
 *                  through (the parties' steps before further approvals).
 *                  With none pending: a moderator's review queue,
 *                  GET /v1/matches?state=proposed.
 *
 * --warmup S first (counted nowhere), then --duration S measured (and at most
 * --count requests sent in all, when given); "measuring"
 * and "measured" on stderr mark the window (bench.py reads CPU times then;
 * "measured" comes before the last answers). Results:
 * one JSON object on stdout, per type and per class (search, write, match):
 * requests, throughput, statuses, latency.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "loadgen_int.h"

enum mtype {
	M_SEARCH,
	M_PAGE,
	M_POST,
	M_PATCH,
	M_APPROVE,
	M_ACCEPT,
	M_DECLINE,
	M_FULFIL,
	M_QUEUE,
	M_TYPES
};
static const char *const mtype_name[M_TYPES] = {"search",  "search_page", "post",
						"patch",   "approve",	  "accept",
						"decline", "fulfil",	  "review_queue"};
static const int mtype_class[M_TYPES] = {0, 0, 1, 1, 2, 2, 2, 2, 2};
static const char *const class_name[3] = {"search", "write", "match"};

struct tstats {
	struct samples lat;
	uint64_t status[600];
	uint64_t sent;
};
static struct tstats ts[M_TYPES], cs[3];

/* ---- randomness ------------------------------------------------------------ */

static uint64_t rs = 88172645463325252ull;

static double rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return (double)((rs * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* ---- what is pending: actions on matches, edits, next pages -------------- */

struct action {
	char match[48];
	enum mtype type;
	int step;			     /* accept: 0 the need's owner, 1 the offer's */
	long actor, need_owner, offer_owner; /* account indexes; -1 the admin */
};

#define RING(T, name, CAP)                                                                         \
	static T name[CAP];                                                                        \
	static size_t name##_head, name##_len;                                                     \
	static const size_t name##_cap = CAP

/* acts: proposals to approve; steps: the parties' next actions, served first
 * so that approved matches go through their life while proposals queue up */
RING(struct action, acts, 1 << 16);
RING(struct action, steps, 1 << 16);
static uint64_t acts_dropped;

struct patchable {
	char id[ID_LEN + 1];
	size_t post;
	int edits;
};
RING(struct patchable, edits, 1 << 12);
RING(struct req, pages, 256);

static void acts_push(const struct action *a)
{
	if (a->type != M_APPROVE) {
		if (steps_len == steps_cap) {
			steps_head = (steps_head + 1) % steps_cap;
			steps_len--;
			acts_dropped++;
		}
		steps[(steps_head + steps_len++) % steps_cap] = *a;
		return;
	}
	if (acts_len == acts_cap) {
		acts_head = (acts_head + 1) % acts_cap;
		acts_len--;
		acts_dropped++;
	}
	acts[(acts_head + acts_len++) % acts_cap] = *a;
}

static void edits_push(const char *id, size_t post, int n)
{
	if (edits_len == edits_cap) {
		edits_head = (edits_head + 1) % edits_cap;
		edits_len--;
	}
	struct patchable *p = &edits[(edits_head + edits_len++) % edits_cap];
	memcpy(p->id, id, ID_LEN);
	p->id[ID_LEN] = '\0';
	p->post = post;
	p->edits = n;
}

static void pages_push(char *data, size_t len)
{
	if (pages_len == pages_cap) {
		free(pages[pages_head].data);
		pages_head = (pages_head + 1) % pages_cap;
		pages_len--;
	}
	pages[(pages_head + pages_len++) % pages_cap] = (struct req){data, len};
}

/* ---- the run's state ------------------------------------------------------- */

static struct req *searches, *posts, *patches;
static size_t n_searches, n_posts, n_patches, next_search, next_post;
static struct mixed_opts O;
static struct conn *hc, *subs;
static uint64_t t0, t_warm, t_end;
/* answers per second of the measured window (whether it was sustained) */
#define MAX_SECONDS 600
static uint64_t per_second[MAX_SECONDS + 1];
static uint64_t proposals_seen, n_approved, n_confirmed, n_declined, n_fulfilled, n_pages;
/* per connection: what the request in flight is for */
static struct action *hc_act;
static size_t *hc_post;
static struct patchable *hc_edit;

/* Open loop: due times waiting for a connection. */
static uint64_t *backlog;
static size_t bl_head, bl_len, bl_cap;
static uint64_t next_due, n_due;

static int may_send(uint64_t t)
{
	return t < t_end && (O.count <= 0 || n_sent < (uint64_t)O.count);
}

/* A match.proposed pushed to the admin's stream: approve it. */
static const char *field(const char *ev, size_t len, const char *key, size_t *vlen)
{
	char k[64];
	int n = snprintf(k, sizeof(k), "\"%s\":\"", key);
	const char *p = memmem(ev, len, k, (size_t)n);
	if (p == NULL)
		return NULL;
	p += n;
	const char *q = memchr(p, '"', (size_t)(ev + len - p));
	if (q == NULL)
		return NULL;
	*vlen = (size_t)(q - p);
	return p;
}

static void on_proposed(const char *ev, size_t len, uint64_t t)
{
	(void)t;
	if (memmem(ev, len, "event: match.proposed", 21) == NULL)
		return;
	size_t ml = 0, nl = 0, ol = 0, npl = 0, opl = 0;
	const char *m = field(ev, len, "match", &ml), *no = field(ev, len, "need_owner", &nl),
		   *oo = field(ev, len, "offer_owner", &ol),
		   *np = field(ev, len, "need_province", &npl),
		   *op = field(ev, len, "offer_province", &opl);
	if (m == NULL || ml >= sizeof(((struct action *)0)->match) || no == NULL || oo == NULL)
		return;
	proposals_seen++;
	struct action a = {.type = M_APPROVE, .actor = -1};
	memcpy(a.match, m, ml);
	a.need_owner = acct_find(no, nl);
	a.offer_owner = acct_find(oo, ol);
	/* a moderator in scope: one whose province is either side's */
	size_t start = n_mods ? (size_t)(rnd() * (double)n_mods) : 0;
	for (size_t k = 0; k < n_mods; k++) {
		const struct macct *md = &accs[mods[(start + k) % n_mods]];
		size_t pl = strlen(md->province);
		if ((np && npl == pl && memcmp(np, md->province, pl) == 0) ||
		    (op && opl == pl && memcmp(op, md->province, pl) == 0)) {
			a.actor = (long)mods[(start + k) % n_mods];
			break;
		}
	}
	acts_push(&a);
}

/* ---- building and sending requests ----------------------------------------- */

static void own_set(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void own_set(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory");
	free(c->own.data);
	c->own.data = s;
	c->own.len = (size_t)n;
	c->cur = &c->own;
}

/* The next request of the mix for connection c: sets c->cur and c->type. */
static void pick(struct conn *c)
{
	size_t i = (size_t)(c - hc);
	double r = rnd() * (O.share_search + O.share_write + O.share_match);
	if (r < O.share_search) {
		if (pages_len > 0 && rnd() < 0.25) {
			struct req *p = &pages[pages_head];
			pages_head = (pages_head + 1) % pages_cap;
			pages_len--;
			free(c->own.data);
			c->own = *p;
			c->cur = &c->own;
			c->type = M_PAGE;
			return;
		}
		c->cur = &searches[next_search++ % n_searches];
		c->type = M_SEARCH;
		return;
	}
	if (r < O.share_search + O.share_write) {
		if (edits_len > 0 && rnd() < 0.4) {
			hc_edit[i] = edits[edits_head];
			edits_head = (edits_head + 1) % edits_cap;
			edits_len--;
			const struct req *tp = &patches[hc_edit[i].post % n_patches];
			const char *x = memmem(tp->data, tp->len, "/v1/listings/", 13);
			free(c->own.data);
			c->own.data = malloc(tp->len);
			c->own.len = tp->len;
			memcpy(c->own.data, tp->data, tp->len);
			if (x)
				memcpy(c->own.data + (x - tp->data) + 13, hc_edit[i].id, ID_LEN);
			c->cur = &c->own;
			c->type = M_PATCH;
			return;
		}
		hc_post[i] = next_post++ % n_posts;
		c->cur = &posts[hc_post[i]];
		c->type = M_POST;
		return;
	}
	if (steps_len > 0 || acts_len > 0) {
		struct action *a;
		if (steps_len > 0) {
			a = &steps[steps_head];
			steps_head = (steps_head + 1) % steps_cap;
			steps_len--;
		} else {
			a = &acts[acts_head];
			acts_head = (acts_head + 1) % acts_cap;
			acts_len--;
		}
		hc_act[i] = *a;
		c->type = a->type;
		static const char *const verb[M_TYPES] = {[M_APPROVE] = "approve",
							  [M_ACCEPT] = "accept",
							  [M_DECLINE] = "decline",
							  [M_FULFIL] = "fulfil"};
		if (a->type == M_DECLINE) {
			static const char body[] = "{\"reason\":\"Hết hàng đợt này, xin lỗi\"}";
			own_set(c,
				"POST /v1/matches/%s/decline HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
				"Content-Length: %zu\r\n\r\n%s",
				a->match, acct_token(a->actor), sizeof(body) - 1, body);
		} else {
			own_set(c,
				"POST /v1/matches/%s/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				"Authorization: Bearer %s\r\nContent-Length: 0\r\n\r\n",
				a->match, verb[a->type], acct_token(a->actor));
		}
		return;
	}
	long m = n_mods ? (long)mods[(size_t)(rnd() * (double)n_mods) % n_mods] : -1;
	own_set(c,
		"GET /v1/matches?state=proposed&limit=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		"Authorization: Bearer %s\r\n\r\n",
		acct_token(m));
	c->type = M_QUEUE;
}

static void send_next(struct conn *c, uint64_t due)
{
	pick(c);
	c->off = 0;
	c->busy = 1;
	c->due_ns = due;
	c->record = due >= t_warm && due < t_end;
	if (c->record)
		ts[c->type].sent++;
	n_sent++;
	int w = conn_write(c);
	if (w < 0) {
		n_errors++;
		conn_close(c);
		conn_open(c, &target);
		return;
	}
	conn_arm(c, w == 1 ? EPOLLIN : (EPOLLIN | EPOLLOUT));
}

/* ---- answers ------------------------------------------------------------------ */

/* A search answered a next_cursor: its next page, the same request with cursor=. */
static void follow_page(const struct req *q, const char *cur, size_t cl)
{
	const char *sp = memmem(q->data, q->len, " HTTP/1.1\r\n", 11);
	if (sp == NULL || cl == 0 || cl > 400)
		return;
	size_t pl = (size_t)(sp - q->data);
	const char *old = memmem(q->data, pl, "cursor=", 7);
	if (old)
		pl = (size_t)(old - q->data) - 1; /* our own "&cursor=" or "?cursor=" */
	int has_q = memchr(q->data, '?', pl) != NULL;
	size_t rest = q->len - (size_t)(sp - q->data);
	char *d = malloc(pl + 8 + cl * 3 + rest);
	size_t o = 0;
	memcpy(d, q->data, pl);
	o = pl;
	memcpy(d + o, has_q ? "&cursor=" : "?cursor=", 8);
	o += 8;
	static const char hex[] = "0123456789ABCDEF";
	for (size_t k = 0; k < cl; k++) {
		unsigned char ch = (unsigned char)cur[k];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			d[o++] = (char)ch;
		} else {
			d[o++] = '%';
			d[o++] = hex[ch >> 4];
			d[o++] = hex[ch & 15];
		}
	}
	memcpy(d + o, sp, rest);
	o += rest;
	pages_push(d, o);
}

static int says_state(const char *body, size_t len, const char *state)
{
	char k[64];
	int n = snprintf(k, sizeof(k), "\"state\":\"%s\"", state);
	return memmem(body, len, k, (size_t)n) != NULL;
}

static void on_answer(struct conn *c, int status, const char *loc, size_t loc_len, const char *body,
		      size_t blen, uint64_t t)
{
	size_t i = (size_t)(c - hc);
	int ok = status >= 200 && status < 300;
	if (c->record) {
		uint64_t l = t - c->due_ns;
		uint64_t sec = t > t_warm ? (t - t_warm) / 1000000000ull : 0;
		per_second[sec < MAX_SECONDS ? sec : MAX_SECONDS]++;
		samples_add(&ts[c->type].lat, l);
		samples_add(&cs[mtype_class[c->type]].lat, l);
		if (status > 0 && status < 600) {
			ts[c->type].status[status]++;
			cs[mtype_class[c->type]].status[status]++;
		}
	}
	switch (c->type) {
	case M_SEARCH:
	case M_PAGE: {
		size_t cl = 0;
		const char *cur = ok ? field(body, blen, "next_cursor", &cl) : NULL;
		if (cur)
			follow_page(c->cur, cur, cl);
		if (c->type == M_PAGE)
			n_pages++;
		break;
	}
	case M_POST:
		if (ok && loc && loc_len > ID_LEN) {
			const char *id = loc + loc_len - ID_LEN;
			struct idrec *r = id_get(id, ID_LEN, 1);
			if (r) {
				r->mine = 1;
				r->sent_ns = c->due_ns;
			}
			if (patches[hc_post[i] % n_patches].len > 1)
				edits_push(id, hc_post[i], 0);
		}
		break;
	case M_PATCH:
		if (ok && hc_edit[i].edits < 3 && rnd() < 0.3)
			edits_push(hc_edit[i].id, hc_edit[i].post, hc_edit[i].edits + 1);
		break;
	case M_APPROVE:
		if (ok && says_state(body, blen, "approved")) {
			n_approved++;
			struct action a = hc_act[i];
			a.type = M_ACCEPT;
			a.step = 0;
			a.actor = a.need_owner;
			acts_push(&a);
		}
		break;
	case M_ACCEPT:
		if (!ok)
			break;
		if (hc_act[i].step == 0) {
			struct action a = hc_act[i];
			a.type = rnd() < 0.1 ? M_DECLINE : M_ACCEPT;
			a.step = 1;
			a.actor = a.offer_owner;
			acts_push(&a);
		} else if (says_state(body, blen, "confirmed")) {
			n_confirmed++;
			struct action a = hc_act[i];
			a.type = M_FULFIL;
			a.actor = a.need_owner;
			acts_push(&a);
		}
		break;
	case M_DECLINE:
		n_declined += ok;
		break;
	case M_FULFIL:
		n_fulfilled += ok;
		break;
	default:
		break;
	}
}

static void mixed_readable(struct conn *c, uint64_t t)
{
	int rc = conn_read(c);
	while (c->in_len > 0) {
		int status = 0, close_after = 0;
		const char *loc = NULL;
		size_t loc_len = 0;
		long used = http_response(c, &status, &loc, &loc_len, &close_after);
		if (used == 0)
			break;
		if (used < 0 || !c->busy) {
			n_errors++;
			conn_close(c);
			conn_open(c, &target);
			return;
		}
		n_done++;
		const char *b = memmem(c->in, (size_t)used, "\r\n\r\n", 4) + 4;
		on_answer(c, status, loc, loc_len, b, (size_t)(c->in + used - b), t);
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
		if (O.rate <= 0 && may_send(t))
			send_next(c, t);
		else
			conn_arm(c, EPOLLIN);
	}
}

void mixed_event(struct conn *c, uint32_t evs, uint64_t t)
{
	if (!c->connected) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err)
			die("cannot connect: %s", strerror(err));
		c->connected = 1;
		if (O.rate <= 0 && may_send(t))
			send_next(c, t);
		else
			conn_arm(c, EPOLLIN);
		return;
	}
	if (evs & EPOLLOUT) {
		int w = conn_write(c);
		if (w < 0) {
			n_errors++;
			conn_close(c);
			conn_open(c, &target);
			return;
		}
		if (w == 1)
			conn_arm(c, EPOLLIN);
	}
	if (evs & (EPOLLIN | EPOLLHUP | EPOLLERR))
		mixed_readable(c, t);
}

/* ---- the run ---------------------------------------------------------------------- */

static struct conn *idle_conn(void)
{
	static size_t rr;
	for (long k = 0; k < O.connections; k++) {
		struct conn *c = &hc[(rr + (size_t)k) % (size_t)O.connections];
		if (c->connected && !c->busy && c->fd >= 0) {
			rr = (rr + (size_t)k + 1) % (size_t)O.connections;
			return c;
		}
	}
	return NULL;
}

static void dispatch_open_loop(uint64_t t)
{
	while (next_due <= t && may_send(next_due)) {
		if (bl_len == bl_cap) {
			size_t cap = bl_cap ? bl_cap * 2 : 1024;
			uint64_t *nb = malloc(cap * sizeof(*nb));
			for (size_t k = 0; k < bl_len; k++)
				nb[k] = backlog[(bl_head + k) % bl_cap];
			free(backlog);
			backlog = nb;
			bl_cap = cap;
			bl_head = 0;
		}
		backlog[(bl_head + bl_len++) % bl_cap] = next_due;
		n_due++;
		next_due = t0 + (uint64_t)((double)n_due * 1e9 / O.rate);
	}
	struct conn *c;
	while (bl_len > 0 && (c = idle_conn()) != NULL) {
		uint64_t due = backlog[bl_head];
		bl_head = (bl_head + 1) % bl_cap;
		bl_len--;
		send_next(c, due);
	}
}

static int any_busy(void)
{
	for (long k = 0; k < O.connections; k++)
		if (hc[k].busy && hc[k].fd >= 0)
			return 1;
	return 0;
}

static void print_stats(FILE *o, const char *name, struct tstats *s, double secs)
{
	fprintf(o, "\"%s\": {\"sent\": %" PRIu64 ", \"completed\": %zu, \"throughput\": %.1f, ",
		name, s->sent, s->lat.n, secs > 0 ? (double)s->lat.n / secs : 0);
	fprintf(o, "\"status\": {");
	int first = 1;
	for (int k = 0; k < 600; k++)
		if (s->status[k]) {
			fprintf(o, "%s\"%d\": %" PRIu64, first ? "" : ", ", k, s->status[k]);
			first = 0;
		}
	fprintf(o, "}, ");
	samples_json(o, "latency_us", &s->lat, 1000.0);
	fprintf(o, "}");
}

static void subscribers_open(long n)
{
	subs = calloc((size_t)(n > 0 ? n : 1), sizeof(*subs));
	/* the moderators first (each once), then accounts spread over the file */
	size_t stride = 7919 % n_accs ? 7919 % n_accs : 1;
	while (n_accs > 1 && stride > 1 && n_accs % stride == 0)
		stride--;
	for (long k = 0; k < n; k++) {
		size_t ai = (size_t)k < n_mods ? mods[k] : ((size_t)k * stride) % n_accs;
		struct conn *c = &subs[k];
		c->kind = CONN_SSE;
		char *s = NULL;
		int len = asprintf(&s,
				   "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				   "Accept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n",
				   accs[ai].token);
		if (len < 0)
			die("out of memory");
		c->own = (struct req){s, (size_t)len};
		c->cur = &c->own;
		if (conn_open(c, &target) < 0)
			die("connect: %s", strerror(errno));
		if (k % 500 == 499)
			loop_once(0);
	}
}

void run_mixed(const struct mixed_opts *o)
{
	O = *o;
	rs = O.seed * 0x9E3779B97F4A7C15ull + 1;
	admin_token = O.admin_token;
	accounts_load(O.accounts);
	reqs_load_into(O.searches, &searches, &n_searches);
	reqs_load_into(O.posts, &posts, &n_posts);
	reqs_load_into(O.patches, &patches, &n_patches);
	sse_only_event = "listing.created";
	sse_watch_hook = on_proposed;

	/* the admin's stream of proposals, from --since */
	char path[256];
	snprintf(path, sizeof(path), "/v1/events?types=match.proposed%s%s",
		 O.since ? "&last_event_id=" : "", O.since ? O.since : "");
	sse_watch_start(path, admin_token);
	uint64_t w0 = now_ns();
	while (!sse_watch_ok()) {
		loop_once(50);
		if (now_ns() - w0 > 10e9)
			die("the admin's stream got no 200 within 10 s");
	}
	/* the live subscribers */
	uint64_t s0 = now_ns();
	long watchers = sse_ready;
	subscribers_open(O.subscribers);
	while (sse_ready - watchers < O.subscribers && now_ns() - s0 < 60e9)
		loop_once(100);
	double connect_s = (double)(now_ns() - s0) / 1e9;
	long ready_at_start = sse_ready - watchers;

	hc = calloc((size_t)O.connections, sizeof(*hc));
	hc_act = calloc((size_t)O.connections, sizeof(*hc_act));
	hc_post = calloc((size_t)O.connections, sizeof(*hc_post));
	hc_edit = calloc((size_t)O.connections, sizeof(*hc_edit));
	t0 = now_ns();
	t_warm = t0 + (uint64_t)(O.warmup * 1e9);
	double d = O.duration > 0 && O.duration + O.warmup < HARD_CAP_S ? O.duration
									: HARD_CAP_S - O.warmup;
	t_end = t_warm + (uint64_t)(d * 1e9);
	next_due = t0;
	uint64_t proposals_at_start = proposals_seen;
	for (long k = 0; k < O.connections; k++) {
		hc[k].kind = CONN_MIXED;
		if (conn_open(&hc[k], &target) < 0)
			die("connect: %s", strerror(errno));
	}
	uint64_t t;
	int marks = 0; /* "measuring" and "measured" told on stderr, for CPU readings */
	while (1) {
		t = now_ns();
		if (marks < 2 && t >= (marks == 0 ? t_warm : t_end)) {
			fputs(marks++ == 0 ? "measuring\n" : "measured\n", stderr);
			fflush(stderr);
		}
		if (O.rate > 0)
			dispatch_open_loop(t);
		if (!may_send(t) && bl_len == 0 && !any_busy())
			break;
		if (marks == 1 && !may_send(t)) { /* --count reached first */
			t_end = t;
			fputs("measured\n", stderr);
			fflush(stderr);
			marks = 2;
		}
		if (t > t_end + (uint64_t)30e9)
			break; /* answers that never come */
		int timeout = 100;
		if (O.rate > 0 && may_send(t)) {
			int64_t dd = (int64_t)(next_due - t);
			timeout = dd <= 0 ? 0 : (int)((dd + 999999) / 1000000);
		}
		loop_once(timeout);
	}
	while (marks < 2) { /* --count reached before the warm-up's end */
		fputs(marks++ == 0 ? "measuring\n" : "measured\n", stderr);
		fflush(stderr);
	}
	/* deliveries still on their way */
	uint64_t until = now_ns() + 1000000000ull;
	while (now_ns() < until)
		loop_once(50);
	sse_resolve();
	long alive = 0;
	for (long k = 0; k < O.subscribers; k++)
		alive += subs[k].fd >= 0 && subs[k].sse_ok;
	double secs = (double)(t_end - t_warm) / 1e9;
	uint64_t total = 0;
	for (int k = 0; k < M_TYPES; k++) {
		total += ts[k].lat.n;
		cs[mtype_class[k]].sent += ts[k].sent;
	}
	FILE *out = stdout;
	fprintf(out,
		"{\"mode\": \"mixed\", \"connections\": %ld, \"rate_target\": %.1f, "
		"\"seconds\": %.3f, \"warmup\": %.3f, \"completed\": %" PRIu64
		", \"throughput\": %.1f, \"errors\": %" PRIu64 ", \"shares\": [%.1f, %.1f, %.1f], ",
		O.connections, O.rate, secs, O.warmup, total, secs > 0 ? (double)total / secs : 0,
		n_errors, O.share_search, O.share_write, O.share_match);
	fprintf(out, "\"per_second\": [");
	for (size_t k = 0; k < (size_t)(secs + 0.999) && k < MAX_SECONDS; k++)
		fprintf(out, "%s%" PRIu64, k ? ", " : "", per_second[k]);
	fprintf(out, "], \"types\": {");
	for (int k = 0; k < M_TYPES; k++) {
		print_stats(out, mtype_name[k], &ts[k], secs);
		fputs(k + 1 < M_TYPES ? ", " : "}, ", out);
	}
	fprintf(out, "\"classes\": {");
	for (int k = 0; k < 3; k++) {
		print_stats(out, class_name[k], &cs[k], secs);
		fputs(k + 1 < 3 ? ", " : "}, ", out);
	}
	fprintf(out,
		"\"matches\": {\"proposals_seen\": %" PRIu64 ", \"proposals_before_run\": %" PRIu64
		", \"approved\": %" PRIu64 ", \"confirmed\": %" PRIu64 ", \"declined\": %" PRIu64
		", \"fulfilled\": %" PRIu64 ", \"pending_at_end\": %zu, \"dropped\": %" PRIu64
		"}, \"pages_followed\": %" PRIu64 ", ",
		proposals_seen, proposals_at_start, n_approved, n_confirmed, n_declined,
		n_fulfilled, acts_len + steps_len, acts_dropped, n_pages);
	fprintf(out,
		"\"subscribers\": {\"wanted\": %ld, \"connected\": %ld, \"connect_seconds\": %.3f, "
		"\"alive_at_end\": %ld, \"events\": %" PRIu64
		", \"listing_created_deliveries\": %" PRIu64 ", ",
		O.subscribers, ready_at_start, connect_s, alive, sse_events, sse_matched);
	samples_json(out, "delivery_us", &sse_lat, 1000.0);
	fprintf(out, "}, \"wall_ms_end\": %" PRId64 "}\n", wall_ms());
}
