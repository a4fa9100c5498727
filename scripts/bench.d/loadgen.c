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
 *   cmbench-load --mixed --port P --accounts FILE --admin-token T --searches F
 *                --posts F --patches F [--subscribers N] [--connections C]
 *                [--rate R] [--warmup S] [--duration S] [--since ID]
 *                [--shares S,W,M] [--seed N] [--count N]
 *
 *   the mixed day: searches, posts and edits, match actions, with N live
 *   SSE subscribers (loadgen_mixed.c says how).
 *
 * Everything goes to 127.0.0.1 (or --host) only; the run ends by itself
 * (--duration / --count, and a hard cap of 600 s). Results: one JSON object
 * on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "loadgen_int.h"

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

static FILE *record_f;

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

/* ---- main loop -------------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

/* A ready link to Redis (the XREAD watch): its bytes are read by the watch. */
static void watch_event(struct conn *c, uint32_t evs, uint64_t t)
{
	(void)c;
	(void)evs;
	watch_readable(t);
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

static void run_http(const char *watch_redis, const char *sse_watch_path, const char *token)
{
	conns = calloc((size_t)opt_connections, sizeof(*conns));
	n_conns = (size_t)opt_connections;
	if (watch_redis)
		watch_start(watch_redis);
	if (sse_watch_path) {
		sse_watch_start(sse_watch_path, token);
		uint64_t t0 = now_ns();
		while (!sse_watch_ok()) {
			loop_once(50);
			if (now_ns() - t0 > 10e9)
				die("the SSE watcher got no 200 within 10 s");
		}
	}
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
	conn_handlers[CONN_HTTP] = http_event;
	conn_handlers[CONN_SSE] = sse_event;
	conn_handlers[CONN_REDIS] = watch_event;
	conn_handlers[CONN_MIXED] = mixed_event;
	const char *host = "127.0.0.1", *requests = NULL, *watch_redis = NULL, *sse_path = NULL,
		   *token = NULL;
	int port = 0, sse = 0, mixed = 0;
	struct mixed_opts mo = {
	    .share_search = 70, .share_write = 20, .share_match = 10, .seed = 1};
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
			    "       cmbench-load --mixed --port P --accounts FILE --admin-token T\n"
			    "         --searches F --posts F --patches F [--subscribers N]\n"
			    "         [--connections C] [--rate R] [--warmup S] [--duration S]\n"
			    "         [--since ID] [--shares S,W,M] [--seed N] [--count N]\n"
			    "(the top of scripts/bench.d/loadgen.c says what each does)\n",
			    stdout);
			return 0;
		}
		if (strcmp(o, "--sse") == 0) {
			sse = 1;
			continue;
		}
		if (strcmp(o, "--mixed") == 0) {
			mixed = 1;
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
		else if (strcmp(o, "--accounts") == 0)
			mo.accounts = v;
		else if (strcmp(o, "--admin-token") == 0)
			mo.admin_token = v;
		else if (strcmp(o, "--searches") == 0)
			mo.searches = v;
		else if (strcmp(o, "--posts") == 0)
			mo.posts = v;
		else if (strcmp(o, "--patches") == 0)
			mo.patches = v;
		else if (strcmp(o, "--since") == 0)
			mo.since = v;
		else if (strcmp(o, "--seed") == 0)
			mo.seed = strtoull(v, NULL, 10);
		else if (strcmp(o, "--shares") == 0) {
			if (sscanf(v, "%lf,%lf,%lf", &mo.share_search, &mo.share_write,
				   &mo.share_match) != 3 ||
			    mo.share_search < 0 || mo.share_write < 0 || mo.share_match < 0 ||
			    mo.share_search + mo.share_write + mo.share_match <= 0)
				die("--shares wants S,W,M (percent of searches, writes, match "
				    "actions)");
		} else
			die("unknown option %s", o);
	}
	if (port <= 0 || (requests == NULL && !mixed))
		die("--port and --requests are required");
	if (opt_connections < 1 || opt_connections > 15000)
		die("--connections must be 1..15000");
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &target.sin_addr) != 1)
		die("--host must be an IPv4 address");
	if (requests)
		reqs_load(requests);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (mixed) {
		if (!mo.accounts || !mo.admin_token || !mo.searches || !mo.posts || !mo.patches)
			die("--mixed needs --accounts, --admin-token, --searches, --posts and "
			    "--patches");
		mo.connections = opt_connections;
		mo.subscribers = opt_subscribers;
		mo.count = opt_count;
		mo.rate = opt_rate;
		mo.duration = opt_duration;
		mo.warmup = opt_warmup;
		run_mixed(&mo);
	} else if (sse) {
		if (!sse_path || !token || opt_subscribers < 1)
			die("--sse needs --sse-path, --token and --subscribers");
		run_sse(sse_path, token);
	} else {
		run_http(watch_redis, sse_path, token);
	}
	return 0;
}
