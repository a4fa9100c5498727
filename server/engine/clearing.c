/*
 * clearing — a forum's clearing (see clearing.h): its held listings read
 * from the store, allocated in one solve on a worker thread (common/
 * clearing.h over common/transport.h), compared with what the continuous
 * greedy engine would have done on the same listings (greedy.h), and
 * proposed in pages that end by handing the forum to its organiser's
 * review.
 *
 * Who touches what (ASan/TSan reasoning):
 *   - clearing_jobs, clearing_stopping, every job's store, timer, event and
 *     paging fields: the loop only.
 *   - A job's input (rows, arena, now, rate) is written by the loop before
 *     pthread_create (which orders those writes before the worker's reads)
 *     and not touched by the loop again until the worker is joined.
 *   - A job's output (ls, props, the solve's figures) is written by the
 *     worker only, and read by the loop only after pthread_join (which
 *     orders the worker's writes before the loop's reads). The byte the
 *     worker writes to the pipe only wakes the loop; it carries no data.
 *   - The worker calls no loop, store, log or id code; what it calls
 *     (common/matching, clearing, transport, jansson on objects of its
 *     own, xmalloc) keeps no shared mutable state.
 */
#include "server/engine/clearing.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clearing.h"
#include "common/fields.h"
#include "common/forum.h"
#include "common/ids.h"
#include "common/jsonout.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/transport.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/engine/greedy.h"
#include "server/log.h"
#include "server/store/forums.h"

/* Forums found in clearing that one resume call starts at most. */
#define CLEARING_RESUME_MAX 1000
/* Pages in flight at once: the next page is on its way while Redis applies
 * one (it runs them in order, and the AOF write and fsync after one page
 * can cover the next when it has arrived). */
#define CLEARING_WINDOW 2
/* Backoff between runs after Redis failed one: 1 s, doubling, at most this. */
#define CLEARING_BACKOFF_MAX_S 30

/* One held listing as read: its engine record and the store's numbers. */
struct clearing_row {
	size_t rec; /* offset of the record in the job's arena */
	int64_t remaining, version, seq;
};

/* One proposal of the batch, as the worker writes it. */
struct clearing_prop {
	size_t need, offer; /* indexes into the job's ls */
	int64_t quantity, landed_vnd;
	char *doc; /* JSON text: the explanation */
};

struct clearing_job {
	struct app *app;
	struct clearing_job *next; /* clearing_jobs */
	char forum[FIELDS_FORUM_MAX + 1];
	char run[IDS_MAX];
	int attempt;	     /* runs started, for the backoff */
	int in_store;	     /* store calls in flight: the last callback frees the job */
	struct event *timer; /* the backoff before the next run */

	/* the worker's input */
	struct clearing_row *rows;
	size_t n_rows;
	char *arena;
	int64_t now, rate;

	/* the worker's output */
	struct matching_listing *ls;
	size_t used, left_out;
	const char *first_why; /* static: why the first listing left out was */
	struct clearing_prop *props;
	size_t n_props;
	const char *status;
	size_t n_arcs;
	int64_t quantity, cost_vnd, greedy_q, greedy_vnd;
	uint64_t solve_ns, greedy_ns;
	const char *why; /* static: why the build or the solve failed */

	/* the thread */
	pthread_t thread;
	int running; /* created and not joined yet */
	int pipe[2];
	struct event *done;

	/* paging: page p (1, 2, ...) is props[(p - 1) * size, p * size) */
	size_t page_size;
	int pages;    /* how many (one, empty, when nothing is proposed) */
	int page;     /* the last page sent */
	int acked;    /* pages answered: 1..acked are applied */
	int failing;  /* a page failed: send none until the pages in flight are in, then
			 again from acked + 1 */
	int ending;   /* the run ends once the pages in flight are in */
	int resend_s; /* the backoff before sending again after a failed page */
	char (*ids)[IDS_MAX];
	int64_t expires_at;
	uint64_t loop_ns, loop_max_ns; /* the run's work on the loop: in all, longest step */
};

static struct clearing_job *clearing_jobs;

/* Counts a step of the run done on the loop since t0 (clock_mono_ns). */
static void clearing_on_loop(struct clearing_job *j, uint64_t t0)
{
	uint64_t d = clock_mono_ns() - t0;
	j->loop_ns += d;
	if (d > j->loop_max_ns)
		j->loop_max_ns = d;
}
static int clearing_stopping;
static struct event *clearing_resume_timer;

/* Frees what one run made (input, output, paging), not the job. */
static void clearing_job_reset(struct clearing_job *j)
{
	for (size_t i = 0; i < j->n_props; i++)
		free(j->props[i].doc);
	free(j->props);
	free(j->ls);
	free(j->rows);
	free(j->arena);
	free(j->ids);
	j->props = NULL;
	j->ls = NULL;
	j->rows = NULL;
	j->arena = NULL;
	j->ids = NULL;
	j->n_props = j->n_rows = j->used = j->left_out = 0;
	j->page = j->acked = j->pages = 0;
	j->failing = j->ending = 0;
	j->first_why = j->why = NULL;
	j->status = "optimal";
	j->loop_ns = j->loop_max_ns = 0;
}

static void clearing_job_free(struct clearing_job *j)
{
	for (struct clearing_job **p = &clearing_jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	if (j->running)
		pthread_join(j->thread, NULL);
	if (j->done) {
		event_free(j->done);
		close(j->pipe[0]);
		close(j->pipe[1]);
	}
	if (j->timer)
		event_free(j->timer);
	clearing_job_reset(j);
	free(j);
}

static void clearing_begin(struct clearing_job *j);

static void clearing_again(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	clearing_begin(arg);
}

/* Redis failed the run: a new run after the backoff. */
static void clearing_retry(struct clearing_job *j, const char *message)
{
	int s = 1 << (j->attempt < 5 ? j->attempt : 5);
	if (s > CLEARING_BACKOFF_MAX_S)
		s = CLEARING_BACKOFF_MAX_S;
	log_warn("clearing", "run failed; starting again", "forum=%s run=%s error=\"%s\" in_s=%d",
		 j->forum, j->run, message ? message : "", s);
	clearing_job_reset(j);
	if (j->timer)
		event_free(j->timer);
	j->timer = evtimer_new(j->app->base, clearing_again, j);
	struct timeval tv = {s, 0};
	evtimer_add(j->timer, &tv);
}

/* ---- the worker ---- */

/* A short summary of a side for the match's stored document. */
static json_t *clearing_side(const struct matching_listing *l)
{
	return json_pack("{s:s, s:s, s:s}", "material", l->material->code, "province_code",
			 l->province->code, "listing_kind",
			 l->kind == LISTING_NEED ? "need" : "offer");
}

/* The solve and its batch, from the decoded listings. */
static void clearing_solve(struct clearing_job *j)
{
	const struct matching_listing **ptrs = xcalloc(j->used ? j->used : 1, sizeof(*ptrs));
	for (size_t i = 0; i < j->used; i++)
		ptrs[i] = &j->ls[i];
	struct clearing c;
	const char *why = NULL;
	if (clearing_build(&c, ptrs, j->used, j->now, j->rate, &why) != 0) {
		j->why = why;
		j->status = "invalid";
		free(ptrs);
		return;
	}
	j->n_arcs = c.problem.n_arcs;
	int64_t *flow = xcalloc(c.problem.n_arcs ? c.problem.n_arcs : 1, sizeof(*flow));
	struct transport_result tr;
	if (transport_solve(&c.problem, flow, &tr, &why) != 0) {
		j->why = why;
		j->status = transport_status_str(tr.status);
		free(flow);
		clearing_free(&c);
		free(ptrs);
		return;
	}
	j->status = transport_status_str(tr.status);
	j->quantity = tr.quantity;
	j->cost_vnd = tr.cost_vnd;
	size_t k = 0;
	for (size_t a = 0; a < c.problem.n_arcs; a++)
		k += flow[a] > 0;
	j->props = xcalloc(k ? k : 1, sizeof(*j->props));
	for (size_t a = 0; a < c.problem.n_arcs; a++) {
		struct matching_alloc al;
		if (flow[a] <= 0 || clearing_alloc(&c, a, flow[a], &al) != 0)
			continue;
		const struct matching_listing *need = c.needs[c.problem.arcs[a].need];
		const struct matching_listing *offer = c.offers[c.problem.arcs[a].offer];
		json_t *doc = json_pack("{s:o, s:o, s:o, s:s}", "explain",
					matching_explain(need, offer, &al, j->rate), "need",
					clearing_side(need), "offer", clearing_side(offer),
					"trigger", j->forum);
		struct clearing_prop *p = &j->props[j->n_props++];
		p->need = (size_t)(need - j->ls);
		p->offer = (size_t)(offer - j->ls);
		p->quantity = al.quantity;
		p->landed_vnd = al.landed_vnd;
		p->doc = jsonout_dumps(doc, 0, NULL);
		json_decref(doc);
	}
	free(flow);
	clearing_free(&c);
	free(ptrs);
}

static void *clearing_work(void *arg)
{
	struct clearing_job *j = arg;
	uint64_t t0 = clock_thread_cpu_ns();
	j->ls = xcalloc(j->n_rows ? j->n_rows : 1, sizeof(*j->ls));
	for (size_t i = 0; i < j->n_rows; i++) {
		const struct clearing_row *r = &j->rows[i];
		const char *why = NULL;
		if (matching_listing_decode(&j->ls[j->used], j->arena + r->rec, r->remaining,
					    r->version, r->seq, &why) != 0) {
			if (j->left_out++ == 0)
				j->first_why = why;
			continue;
		}
		j->used++;
	}
	clearing_solve(j);
	uint64_t t1 = clock_thread_cpu_ns();
	greedy_totals(j->ls, j->used, j->now, j->rate, &j->greedy_q, &j->greedy_vnd);
	j->solve_ns = t1 - t0;
	j->greedy_ns = clock_thread_cpu_ns() - t1;
	/* wakes the loop; a full pipe (it never is: one byte per job) is no matter */
	ssize_t w;
	do
		w = write(j->pipe[1], "x", 1);
	while (w < 0 && errno == EINTR);
	return NULL;
}

/* ---- back on the loop: the pages ---- */

static void clearing_pump(struct clearing_job *j);

/* The backoff after a failed page or run: 1 s, doubling, at most the cap. */
static int clearing_backoff_s(const struct clearing_job *j)
{
	int s = 1 << (j->attempt < 5 ? j->attempt : 5);
	return s > CLEARING_BACKOFF_MAX_S ? CLEARING_BACKOFF_MAX_S : s;
}

static void clearing_resend(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct clearing_job *j = arg;
	/* again from the first page not answered: same run, same match ids */
	j->failing = 0;
	j->page = j->acked;
	clearing_pump(j);
}

/* The pages in flight when a page failed are all in: the resend, after a backoff. */
static void clearing_resend_later(struct clearing_job *j)
{
	int s = j->resend_s;
	if (j->timer)
		event_free(j->timer);
	j->timer = evtimer_new(j->app->base, clearing_resend, j);
	struct timeval tv = {s, 0};
	evtimer_add(j->timer, &tv);
}

/*
 * A page's answer. Answers come in the order the pages were sent (one
 * link, and a deadline fires for the earlier page first). Once a page
 * failed, the answers of the pages sent after it are ignored: they were
 * refused as out of order, or applied and will be answered "applied" when
 * sent again.
 */
static void clearing_paged(const struct store_reply *res, void *arg)
{
	struct clearing_job *j = arg;
	j->in_store--;
	if (clearing_stopping || j->ending) {
		if (j->in_store == 0)
			clearing_job_free(j);
		return;
	}
	if (j->failing) {
		if (j->in_store == 0)
			clearing_resend_later(j);
		return;
	}
	int page = j->acked + 1;
	if (res->status != STORE_OK) {
		if (res->status == STORE_UNAVAILABLE || res->status == STORE_FAILED ||
		    res->status == STORE_UNCONFIRMED) {
			/*
			 * Redis away, or late (the page may have landed all the
			 * same): again from this page, same run and match ids,
			 * after a backoff. Applied already, it is answered as such.
			 */
			j->resend_s = clearing_backoff_s(j);
			log_warn("clearing", "page failed; sending it again",
				 "forum=%s run=%s page=%d error=\"%s\" in_s=%d", j->forum, j->run,
				 page, res->message ? res->message : "", j->resend_s);
			j->attempt++;
			j->failing = 1;
			if (j->in_store == 0)
				clearing_resend_later(j);
			return;
		}
		/* the forum left clearing, or another run took over: this run ends */
		log_warn("clearing", "run ended", "forum=%s run=%s page=%d error=\"%s\"", j->forum,
			 j->run, page, res->message ? res->message : "");
		j->ending = 1;
		if (j->in_store == 0)
			clearing_job_free(j);
		return;
	}
	j->acked = page;
	if (j->acked < j->pages) {
		clearing_pump(j);
		return;
	}
	const char *kind = store_field_str(res->value, SFP_OUTCOME);
	const char *totals = store_field_str(res->value, SFP_TOTALS);
	log_info("clearing", "forum handed to review",
		 "forum=%s run=%s pages=%d proposals=%zu answer=%s loop_us=%" PRIu64
		 " loop_max_us=%" PRIu64 " totals=%s",
		 j->forum, j->run, j->pages, j->n_props, kind ? kind : "", j->loop_ns / 1000,
		 j->loop_max_ns / 1000, totals ? totals : "");
	clearing_job_free(j); /* the last page: none is in flight after it */
}

/* Proposes page number `page`: props[(page - 1) * size ..) up to size of them. */
static void clearing_send(struct clearing_job *j, int page)
{
	uint64_t t0 = clock_mono_ns();
	size_t from = (size_t)(page - 1) * j->page_size;
	size_t upto = j->n_props - from > j->page_size ? from + j->page_size : j->n_props;
	size_t n = upto - from;
	struct store_proposal *p = xcalloc(n ? n : 1, sizeof(*p));
	int64_t *landed = xcalloc(n ? n : 1, sizeof(*landed));
	for (size_t i = 0; i < n; i++) {
		const struct clearing_prop *cp = &j->props[from + i];
		const struct matching_listing *need = &j->ls[cp->need], *offer = &j->ls[cp->offer];
		if (j->ids[from + i][0] == '\0') /* kept when a page is sent again */
			ids_new("mat", j->ids[from + i]);
		p[i] = (struct store_proposal){
		    .match_id = j->ids[from + i],
		    .need_id = need->id,
		    .offer_id = offer->id,
		    .quantity = cp->quantity,
		    .need_version = need->version,
		    .offer_version = offer->version,
		    .doc = cp->doc,
		};
		landed[i] = cp->landed_vnd;
	}
	struct store_clearing sc = {
	    .p = p,
	    .landed_vnd = landed,
	    .n = n,
	    .expires_at = j->expires_at,
	    .status = j->status,
	    .greedy_quantity = j->greedy_q,
	    .greedy_landed_vnd = j->greedy_vnd,
	    .run = j->run,
	    .page = page,
	    .last = page == j->pages,
	    .cleared = &forum_cleared,
	    /* a page sent behind others waits for them first: their time too */
	    .timeout_ms = j->app->cfg.redis_timeout_ms * (j->in_store + 1),
	};
	j->in_store++;
	/* the call copies its arguments */
	store_forum_clear_page(j->app->store, j->forum, &sc, clearing_paged, j);
	free(landed);
	free(p);
	clearing_on_loop(j, t0);
}

/* Sends the next pages, up to CLEARING_WINDOW in flight. */
static void clearing_pump(struct clearing_job *j)
{
	while (!j->failing && !j->ending && j->in_store < CLEARING_WINDOW && j->page < j->pages)
		clearing_send(j, ++j->page);
}

static void clearing_worked(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct clearing_job *j = arg;
	char b;
	ssize_t r = read(fd, &b, 1);
	(void)r;
	if (j->running) {
		pthread_join(j->thread, NULL);
		j->running = 0;
	}
	event_free(j->done);
	j->done = NULL;
	close(j->pipe[0]);
	close(j->pipe[1]);
	if (j->left_out)
		log_warn("clearing", "listings left out", "forum=%s count=%zu first_error=\"%s\"",
			 j->forum, j->left_out, j->first_why ? j->first_why : "");
	if (j->why)
		log_warn("clearing", "solve failed", "forum=%s status=%s error=\"%s\"", j->forum,
			 j->status, j->why);
	log_info("clearing", "solved",
		 "forum=%s run=%s listings=%zu arcs=%zu status=%s proposals=%zu quantity=%" PRId64
		 " landed_vnd=%" PRId64 " solve_cpu_us=%" PRIu64 " greedy_cpu_us=%" PRIu64,
		 j->forum, j->run, j->used, j->n_arcs, j->status, j->n_props, j->quantity,
		 j->cost_vnd, j->solve_ns / 1000, j->greedy_ns / 1000);
	j->ids = xcalloc(j->n_props ? j->n_props : 1, sizeof(*j->ids));
	j->expires_at = j->now + (int64_t)j->app->cfg.review_timeout_s * 1000;
	j->page_size = j->app->cfg.clearing_page > 0 ? (size_t)j->app->cfg.clearing_page : 1;
	j->pages = j->n_props ? (int)((j->n_props + j->page_size - 1) / j->page_size) : 1;
	clearing_pump(j);
}

/* Copies the store's rows (the reply is the loop's) into the job's input. */
static void clearing_take_rows(struct clearing_job *j, const json_t *rows)
{
	size_t n = json_array_size(rows), bytes = 0;
	for (size_t i = 0; i < n; i++) {
		const char *rec = store_field_str(json_array_get(rows, i), SFH_RECORD);
		bytes += rec ? strlen(rec) + 1 : 0;
	}
	j->rows = xcalloc(n ? n : 1, sizeof(*j->rows));
	j->arena = xmalloc(bytes ? bytes : 1);
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *r = json_array_get(rows, i);
		const char *rec = store_field_str(r, SFH_RECORD);
		if (rec == NULL)
			continue;
		size_t len = strlen(rec) + 1;
		memcpy(j->arena + at, rec, len);
		j->rows[j->n_rows++] = (struct clearing_row){
		    .rec = at,
		    .remaining = store_field_int(r, SFH_REMAINING),
		    .version = store_field_int(r, SFH_VERSION),
		    .seq = store_field_int(r, SFH_SEQ),
		};
		at += len;
	}
}

static void clearing_loaded(const struct store_reply *res, void *arg)
{
	struct clearing_job *j = arg;
	j->in_store--;
	if (clearing_stopping) {
		clearing_job_free(j);
		return;
	}
	if (res->status != STORE_OK) {
		if (res->status == STORE_UNAVAILABLE || res->status == STORE_FAILED ||
		    res->status == STORE_UNCONFIRMED) {
			clearing_retry(j, res->message);
			return;
		}
		log_warn("clearing", "forum not cleared", "forum=%s error=\"%s\"", j->forum,
			 res->message ? res->message : "");
		clearing_job_free(j);
		return;
	}
	uint64_t t0 = clock_mono_ns();
	clearing_take_rows(j, res->value);
	clearing_on_loop(j, t0);
	j->now = clock_now_ms();
	j->rate = j->app->cfg.freight_rate;
	if (pipe(j->pipe) != 0) {
		clearing_retry(j, strerror(errno));
		return;
	}
	fcntl(j->pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(j->pipe[1], F_SETFD, FD_CLOEXEC);
	j->done = event_new(j->app->base, j->pipe[0], EV_READ, clearing_worked, j);
	event_add(j->done, NULL);
	if (pthread_create(&j->thread, NULL, clearing_work, j) == 0) {
		j->running = 1;
	} else {
		/* no thread to be had: the work on the loop, as before threads */
		log_warn("clearing", "no worker thread; solving on the loop", "forum=%s", j->forum);
		clearing_work(j);
	}
}

static void clearing_begin(struct clearing_job *j)
{
	clearing_job_reset(j);
	ids_new("clr", j->run);
	j->attempt++;
	j->in_store++;
	store_forum_held(j->app->store, j->forum, clearing_loaded, j);
}

void clearing_start(struct app *app, const char *forum_id)
{
	if (clearing_stopping)
		return;
	for (struct clearing_job *o = clearing_jobs; o; o = o->next)
		if (strcmp(o->forum, forum_id) == 0)
			return; /* already running here */
	struct clearing_job *j = xcalloc(1, sizeof(*j));
	j->app = app;
	snprintf(j->forum, sizeof(j->forum), "%s", forum_id);
	j->next = clearing_jobs;
	clearing_jobs = j;
	clearing_begin(j);
}

/* ---- resume and stop ---- */

static void clearing_resume_again(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	clearing_resume(arg);
}

static void clearing_found(const struct store_reply *res, void *arg)
{
	struct app *app = arg;
	if (clearing_stopping)
		return;
	if (res->status != STORE_OK) {
		/* Redis not there yet (the daemon is starting): look again soon */
		if (clearing_resume_timer == NULL)
			clearing_resume_timer = evtimer_new(app->base, clearing_resume_again, app);
		struct timeval tv = {1, 0};
		evtimer_add(clearing_resume_timer, &tv);
		return;
	}
	for (size_t i = 0; i < json_array_size(res->value); i++) {
		const char *id = json_string_value(json_array_get(res->value, i));
		if (id && forum_id_ok(id)) {
			log_info("clearing", "resuming an unfinished clearing", "forum=%s", id);
			clearing_start(app, id);
		}
	}
}

void clearing_resume(struct app *app)
{
	if (!clearing_stopping)
		store_forum_in_state(app->store, "clearing", CLEARING_RESUME_MAX, clearing_found,
				     app);
}

void clearing_stop(struct app *app)
{
	(void)app;
	clearing_stopping = 1;
	if (clearing_resume_timer) {
		event_free(clearing_resume_timer);
		clearing_resume_timer = NULL;
	}
	struct clearing_job *j = clearing_jobs, *next;
	for (; j; j = next) {
		next = j->next;
		/* one waiting for the store is freed by its callback (store_free answers it) */
		if (!j->in_store)
			clearing_job_free(j);
	}
}
