/*
 * cmbench-load's private header: what its files share. loadgen.c holds the
 * runs and main (and says what the tool does), loadgen_conn.c the requests
 * and accounts files, the id table, the samples, the connections and the HTTP
 * answers, loadgen_watch.c the Redis watch of cm:events, loadgen_sse.c the SSE
 * side, loadgen_mixed.c the mixed day.
 * One thread: the state below is plain globals, each defined in the file
 * named above its declaration.
 */
#ifndef CMBENCH_LOADGEN_H
#define CMBENCH_LOADGEN_H

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HARD_CAP_S 600.0
#define ID_LEN 24 /* "lst_" + 20 */

/* One request of the requests file, raw bytes. */
struct req {
	char *data;
	size_t len;
};

/* A listing id the run posted or an event named (the id table). */
struct idrec {
	char id[ID_LEN + 1];
	uint64_t sent_ns;     /* POST sent (open loop: due) */
	uint64_t seen_ns;     /* first match.proposed naming it read */
	uint64_t sse_seen_ns; /* first match.proposed naming it pushed over SSE */
	int64_t created_ms;   /* stream id ms of its listing.created */
	int64_t proposed_ms;  /* stream id ms of its first match.proposed */
	int mine;
};

/* Latency samples (ns, or ms where the name says). */
struct samples {
	uint64_t *v;
	size_t n, cap;
};

enum conn_kind { CONN_HTTP, CONN_SSE, CONN_REDIS, CONN_MIXED, CONN_KINDS };

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
	/* --mixed (loadgen_mixed.c): the request in flight when it is not reqs[req]
	 * (SSE: this subscriber's GET), a buffer of its own for those built at run
	 * time, and what the answer is for */
	const struct req *cur;
	struct req own;
	int type;
};

/* ---- loadgen_conn.c ------------------------------------------------------- */

void die(const char *fmt, ...);
uint64_t now_ns(void);
int64_t wall_ms(void);

extern struct req *reqs;
extern size_t n_reqs;
void reqs_load(const char *path);
/* Another requests file, into *out (a "-" entry stands for none). */
void reqs_load_into(const char *path, struct req **out, size_t *n);

/* The accounts file of cmbench-data (id, role, province, token, name), sorted
 * by id; mods: the moderators' indexes. */
struct macct {
	char id[40], role[16], province[16], token[128];
};
extern struct macct *accs;
extern size_t n_accs;
extern size_t *mods;
extern size_t n_mods;
extern const char *admin_token;
void accounts_load(const char *path);
/* The account's index, or -1. */
long acct_find(const char *id, size_t len);
/* Its token; the admin's for -1. */
const char *acct_token(long i);

extern struct idrec *idt;
extern size_t idt_size;
struct idrec *id_get(const char *id, size_t n, int create);

void samples_add(struct samples *s, uint64_t x);
/* Prints "name": {count, mean, p50, p90, p99, p999, max} in µs (ns / 1000 / scale). */
void samples_json(FILE *o, const char *name, struct samples *s, double div);

extern int ep;
extern struct sockaddr_in target;
extern struct samples lat, sse_lat;
extern uint64_t status_counts[600];
extern uint64_t n_errors, n_sent, n_done, n_recorded_sent;
extern int watch_active;
extern uint64_t sse_events, sse_matched;

void conn_arm(struct conn *c, uint32_t events);
int conn_open(struct conn *c, const struct sockaddr_in *to);
void conn_close(struct conn *c);
/* Reads what is there; -1 on EOF or error. */
int conn_read(struct conn *c);
int conn_read_some(struct conn *c);
/* Writes the rest of the current request; 1 done, 0 more later, -1 error. */
int conn_write(struct conn *c);
long http_response(struct conn *c, int *status, const char **loc, size_t *loc_len,
		   int *close_after);

/* ---- loadgen_watch.c ------------------------------------------------------ */

void watch_start(const char *hostport);
void watch_readable(uint64_t t);

/* ---- loadgen_sse.c -------------------------------------------------------- */

extern struct req sse_req;
extern long sse_ready;
extern size_t dl_n;
void sse_resolve(void);
void sse_event(struct conn *c, uint32_t evs, uint64_t t);
/* Connects the SSE watcher; the loop runs until sse_watch_ok() (its 200). */
void sse_watch_start(const char *path, const char *token);
int sse_watch_ok(void);
/* When set, the watcher's events go here instead of timing match.proposed. */
extern void (*sse_watch_hook)(const char *ev, size_t len, uint64_t t);
/* When set, subscribers record only deliveries of events of this type. */
extern const char *sse_only_event;

/* ---- loadgen_mixed.c ------------------------------------------------------ */

struct mixed_opts {
	const char *accounts, *admin_token, *searches, *posts, *patches, *since;
	long connections, subscribers, count;
	double rate, duration, warmup, share_search, share_write, share_match;
	uint64_t seed;
};
void mixed_event(struct conn *c, uint32_t evs, uint64_t t);
void run_mixed(const struct mixed_opts *o);

/* ---- loadgen_conn.c: the loop ------------------------------------------------ */

struct conn;
/* What the loop does with a ready connection; main fills one per kind. */
typedef void (*conn_handler)(struct conn *c, uint32_t evs, uint64_t t);
extern conn_handler conn_handlers[CONN_KINDS];
/* One epoll_wait, each ready connection handed to its kind's handler. */
void loop_once(int timeout_ms);

#endif
