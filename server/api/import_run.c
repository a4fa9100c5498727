/*
 * import_run — the rows of an imported sheet, a batch per turn (see
 * import_run.h).
 *
 * Each row is checked exactly as its JSON route checks a body
 * (account_from_request and account_may_manage for accounts,
 * listing_from_request for needs and offers) and written by the same store
 * calls. Its row key becomes an Idempotency-Key of the caller
 * ("import:<kind>:<key>", hashed as api_idempotency hashes a header), with
 * the body the row makes (with the forum the import gives it) as the
 * fingerprint: importing the same file again replays
 * every row (reported "skipped"), and a key reused for other values is
 * refused for that row.
 */
#include "server/api/import_run.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/account.h"
#include "common/fields.h"
#include "common/forum.h"
#include "common/ids.h"
#include "common/listing.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/api/listings.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/request.h"
#include "server/log.h"
#include "server/search/search.h"
#include "server/store/accounts.h"
#include "server/store/imports.h"
#include "server/store/listings.h"

struct import_job;

/* One row's create call in flight. */
struct import_slot {
	struct import_job *job;
	size_t row; /* index into the sheet */
};

struct import_job {
	struct imports *im;
	struct import_job *next;
	struct http_req *r; /* the request still to answer, or NULL */
	struct sheet *sheet;
	json_t *caller;
	char caller_id[IDS_MAX];
	char id[IDS_MAX];
	char *forum;
	int dry_run;
	int running;
	size_t batch_from; /* the first row of this batch */
	size_t next_row;   /* the first row of the next batch */
	size_t pending;	   /* create calls of this batch not answered yet */
	size_t nresults;
	char *results[IMPORT_BATCH];
	char fps[IMPORT_BATCH][IDS_TOKEN_HASH_HEX]; /* each row's fingerprint (real runs) */
	struct import_slot slots[IMPORT_BATCH];
	struct store_import_counts added;
	size_t failed_rows; /* dry run: rows with errors */
	json_t *errors;	    /* dry run: every row error */
	struct event *tick;
};

struct imports {
	struct app *app;
	struct import_job *jobs; /* in arrival order */
	size_t njobs;
	int stopping;
};

struct imports *imports_new(struct app *app)
{
	struct imports *im = xcalloc(1, sizeof(*im));
	im->app = app;
	return im;
}

int imports_busy(const struct imports *im)
{
	return im->njobs >= IMPORT_JOBS_MAX;
}

static void import_job_free(struct import_job *job)
{
	struct imports *im = job->im;
	for (struct import_job **p = &im->jobs; *p; p = &(*p)->next)
		if (*p == job) {
			*p = job->next;
			im->njobs--;
			break;
		}
	for (size_t i = 0; i < job->nresults; i++)
		free(job->results[i]);
	sheet_free(job->sheet);
	json_decref(job->caller);
	json_decref(job->errors);
	free(job->forum);
	if (job->tick)
		event_free(job->tick);
	free(job);
}

void imports_stop(struct imports *im)
{
	if (im == NULL)
		return;
	im->stopping = 1;
	for (struct import_job *j = im->jobs; j; j = j->next)
		if (j->r) {
			http_reply_unavailable(j->r,
					       "the server is stopping; send the sheet again");
			j->r = NULL;
		}
}

void imports_free(struct imports *im)
{
	if (im == NULL)
		return;
	while (im->jobs)
		import_job_free(im->jobs);
	free(im);
}

static void import_schedule(struct import_job *job)
{
	struct timeval now = {0, 0};
	evtimer_add(job->tick, &now);
}

/* Starts the oldest real run waiting, if none runs. */
static void imports_next(struct imports *im)
{
	if (im->stopping)
		return;
	for (struct import_job *j = im->jobs; j; j = j->next)
		if (!j->dry_run && j->running)
			return;
	for (struct import_job *j = im->jobs; j; j = j->next)
		if (!j->dry_run && j->r == NULL) {
			j->running = 1;
			import_schedule(j);
			return;
		}
}

/* ---- one row ------------------------------------------------------------ */

/*
 * The fingerprint of a row's idempotency key: its kind and the body it
 * makes (with the forum the import gave it), so the same key with other
 * values is refused while the same row again is a replay.
 */
static void import_fingerprint(const char *kind, const json_t *body, char fp[IDS_TOKEN_HASH_HEX])
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
	char *in = xmalloc(strlen(text) + strlen(kind) + 2);
	int n = sprintf(in, "%s\n%s", kind, text);
	ids_token_hash(in, (size_t)n, fp);
	free(in);
	free(text);
}

/*
 * The document row makes, checked as its JSON route checks a body, or NULL
 * with the row's errors recorded; fp (may be NULL) gets its fingerprint.
 */
static json_t *import_row_doc(struct import_job *job, struct sheet_row *row, int64_t now_ms,
			      char *fp)
{
	struct sheet *s = job->sheet;
	if (row->errors)
		return NULL;
	json_t *body = json_deep_copy(row->body);
	json_t *errors = NULL;
	json_t *doc = NULL;
	if (s->kind == SHEET_ACCOUNTS) {
		const char *role = json_string_value(json_object_get(body, "role"));
		int registers = role && (!strcmp(role, "village") || !strcmp(role, "supplier"));
		if (job->forum && registers && json_object_get(body, "forum") == NULL)
			json_object_set_new(body, "forum", json_string(job->forum));
		doc = account_from_request(body, &errors);
		const char *why = NULL;
		if (doc && !account_may_manage(job->caller, doc, &why)) {
			sheet_error(&row->errors, row->row, NULL, "", why,
				    "Bạn không được đăng ký tài khoản này (ngoài phạm vi quản lý)");
			json_decref(doc);
			doc = NULL;
		}
	} else {
		if (job->forum && json_object_get(body, "forum") == NULL)
			json_object_set_new(body, "forum", json_string(job->forum));
		enum listing_kind kind = s->kind == SHEET_NEEDS ? LISTING_NEED : LISTING_OFFER;
		doc = listing_from_request(kind, body, now_ms, &errors);
		const char *forum = json_string_value(json_object_get(doc, "forum"));
		if (doc && forum && !forum_id_ok(forum)) {
			fields_error(&errors, "forum", "diễn đàn: no such forum");
			json_decref(doc);
			doc = NULL;
		}
	}
	if (fp && doc)
		import_fingerprint(sheet_kind_name(s->kind), body, fp);
	json_decref(body);
	if (errors) {
		json_decref(doc);
		sheet_row_errors(s, row, errors);
		return NULL;
	}
	return doc;
}

/* Records the result of the row at index i of the sheet (in this batch). */
static void import_result(struct import_job *job, size_t i, const char *outcome, const char *id)
{
	const struct sheet_row *row = &job->sheet->rows[i];
	json_t *res = json_pack("{s:I, s:s*, s:s}", "row", (json_int_t)row->row, "key", row->key,
				"outcome", outcome);
	if (id)
		json_object_set_new(res, "id", json_string(id));
	if (row->errors)
		json_object_set(res, "errors", row->errors);
	if (!strcmp(outcome, "created"))
		job->added.created++;
	else if (!strcmp(outcome, "skipped"))
		job->added.skipped++;
	else
		job->added.failed++;
	job->results[i - job->batch_from] = json_dumps(res, JSON_COMPACT);
	json_decref(res);
}

static void import_batch_done(struct import_job *job);

/* A row's create call answered. */
static void import_row_written(const struct store_reply *res, void *arg)
{
	struct import_slot *slot = arg;
	struct import_job *job = slot->job;
	struct sheet_row *row = &job->sheet->rows[slot->row];
	if (res->status == STORE_OK) {
		const char *outcome = store_field_str(res->value, STORE_CREATED_OUTCOME);
		const char *id = store_field_str(res->value, STORE_CREATED_ID);
		int replay = outcome && strcmp(outcome, "replay") == 0;
		/* a listing row: the importer's next search waits for it (server/search/) */
		search_note_write(job->im->app->search, job->caller_id,
				  store_field_str(res->value, STORE_CREATED_EVENT));
		import_result(job, slot->row, replay ? "skipped" : "created", id);
	} else {
		const char *msg = res->message ? res->message : "the store failed";
		const char *vi = "Không tạo được dòng này";
		const char *column = NULL, *field = "";
		if (res->status == STORE_CONFLICT && strstr(msg, "Idempotency-Key")) {
			msg = "the row key was already imported with other values";
			vi = "Khóa dòng đã được nhập với nội dung khác";
			column = SHEET_ROW_KEY_HEADER;
			field = "row_key";
		} else if (res->status == STORE_UNAVAILABLE || res->status == STORE_UNCONFIRMED) {
			msg = "the store did not answer in time; import the file again";
			vi = "Máy chủ dữ liệu không trả lời kịp; hãy nhập lại tệp";
		} else if (res->status == STORE_INVALID || res->status == STORE_REFUSED) {
			/* the only input the create functions check: the forum */
			vi = "Diễn đàn không có hoặc không nhận đăng ký";
			column = sheet_column_of(job->sheet->kind, "forum");
			field = "forum";
		}
		sheet_error(&row->errors, row->row, column, field, msg, vi);
		import_result(job, slot->row, "failed", NULL);
	}
	if (--job->pending == 0)
		import_batch_done(job);
}

static void import_write_row(struct import_job *job, size_t i, json_t *doc)
{
	struct sheet_row *row = &job->sheet->rows[i];
	const char *kind = sheet_kind_name(job->sheet->kind);
	/* the row key as an Idempotency-Key of the caller, the row's values as its fingerprint */
	size_t kl = strlen(kind) + strlen(row->key) + 16;
	char *k = xmalloc(kl);
	int n = snprintf(k, kl, "import:%s:%s", kind, row->key);
	char khash[IDS_TOKEN_HASH_HEX], key[STORE_IDEM_KEY_MAX];
	ids_token_hash(k, (size_t)n, khash);
	free(k);
	struct store_idem idem = {.key = store_idem_key(key, job->caller_id, khash),
				  .fingerprint = job->fps[i - job->batch_from]};
	struct import_slot *slot = &job->slots[job->pending++];
	slot->job = job;
	slot->row = i;
	struct store *s = job->im->app->store;
	if (job->sheet->kind == SHEET_ACCOUNTS) {
		char id[IDS_MAX], when[32];
		ids_new("acc", id);
		json_object_set_new(doc, "id", json_string(id));
		json_object_set_new(doc, "created_at",
				    json_string(clock_text(clock_now_ms(), when)));
		json_object_set_new(doc, "created_by", json_string(job->caller_id));
		store_account_create(s, id, doc, job->caller_id, &idem, import_row_written, slot);
	} else {
		listings_write_new(s, doc, job->caller, &idem, import_row_written, slot);
	}
}

/* ---- batches ------------------------------------------------------------ */

static json_t *import_view_counts(size_t total, size_t done, const struct store_import_counts *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "total", (json_int_t)total, "done",
			 (json_int_t)done, "created", (json_int_t)c->created, "skipped",
			 (json_int_t)c->skipped, "failed", (json_int_t)c->failed);
}

static void import_dry_answer(struct import_job *job)
{
	struct sheet *s = job->sheet;
	json_t *body = json_pack(
	    "{s:s, s:b, s:s, s:{s:I, s:I, s:I}, s:o}", "kind", sheet_kind_name(s->kind), "dry_run",
	    1, "status", "done", "rows", "total", (json_int_t)s->nrows, "valid",
	    (json_int_t)(s->nrows - job->failed_rows), "failed", (json_int_t)job->failed_rows,
	    "errors", job->errors ? json_incref(job->errors) : json_array());
	http_reply_json(job->r, 200, body);
	job->r = NULL;
}

static void import_progressed(const struct store_reply *res, void *arg)
{
	struct import_job *job = arg;
	if (res->status != STORE_OK)
		log_error("imports", "progress not recorded", "import=%s status=%d", job->id,
			  (int)res->status);
	int last = job->next_row >= job->sheet->nrows;
	if (last || res->status != STORE_OK || job->im->stopping) {
		struct imports *im = job->im;
		if (last)
			log_info("imports", "import done", "import=%s rows=%zu", job->id,
				 job->sheet->nrows);
		import_job_free(job);
		imports_next(im);
		return;
	}
	import_schedule(job);
}

static void import_batch_done(struct import_job *job)
{
	if (job->im->stopping)
		return; /* freed with the others */
	int last = job->next_row >= job->sheet->nrows;
	store_import_progress(job->im->app->store, job->id, last ? "done" : "running", &job->added,
			      job->results, job->nresults, IMPORT_TTL_S, import_progressed, job);
	for (size_t i = 0; i < job->nresults; i++) {
		free(job->results[i]);
		job->results[i] = NULL;
	}
	job->nresults = 0;
	memset(&job->added, 0, sizeof(job->added));
}

static void import_tick(evutil_socket_t fd, short what, void *arg)
{
	struct import_job *job = arg;
	struct sheet *s = job->sheet;
	int64_t now = clock_now_ms();
	if (job->im->stopping)
		return;
	if (job->dry_run) {
		size_t end = job->next_row + IMPORT_DRY_BATCH;
		for (; job->next_row < s->nrows && job->next_row < end; job->next_row++) {
			struct sheet_row *row = &s->rows[job->next_row];
			json_t *doc = import_row_doc(job, row, now, NULL);
			json_decref(doc);
			if (row->errors) {
				job->failed_rows++;
				if (job->errors == NULL)
					job->errors = json_array();
				json_array_extend(job->errors, row->errors);
			}
		}
		if (job->next_row < s->nrows) {
			import_schedule(job);
			return;
		}
		import_dry_answer(job);
		import_job_free(job);
		return;
	}
	size_t end = job->next_row + IMPORT_BATCH;
	/* every row of the batch is checked before any call goes out, so that
	 * no answer can end the batch early */
	json_t *docs[IMPORT_BATCH] = {0};
	size_t from = job->batch_from = job->next_row;
	for (; job->next_row < s->nrows && job->next_row < end; job->next_row++)
		docs[job->next_row - from] = import_row_doc(job, &s->rows[job->next_row], now,
							    job->fps[job->next_row - from]);
	job->nresults = job->next_row - from;
	for (size_t i = from; i < job->next_row; i++) {
		json_t *doc = docs[i - from];
		if (doc == NULL)
			import_result(job, i, "failed", NULL);
	}
	size_t calls = 0;
	for (size_t i = from; i < job->next_row; i++)
		calls += docs[i - from] != NULL;
	if (calls == 0) {
		import_batch_done(job);
		return;
	}
	job->pending = 0;
	/* pending counts up as the calls go out; an answer never comes before
	 * the loop turns, so the batch ends only after the last is sent */
	for (size_t i = from; i < job->next_row; i++) {
		json_t *doc = docs[i - from];
		if (doc) {
			import_write_row(job, i, doc);
			json_decref(doc);
		}
	}
}

/* ---- starting ----------------------------------------------------------- */

static void import_stored(const struct store_reply *res, void *arg)
{
	struct import_job *job = arg;
	struct http_req *r = job->r;
	job->r = NULL;
	if (r == NULL) { /* answered by imports_stop */
		import_job_free(job);
		return;
	}
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		import_job_free(job);
		return;
	}
	char loc[64];
	snprintf(loc, sizeof(loc), "/v1/imports/%s", job->id);
	http_reply_header(r, "Location", loc);
	struct store_import_counts zero = {0};
	json_t *body = json_pack("{s:s, s:s, s:s*, s:s, s:o, s:[], s:n}", "id", job->id, "kind",
				 sheet_kind_name(job->sheet->kind), "forum", job->forum, "status",
				 "queued", "rows", import_view_counts(job->sheet->nrows, 0, &zero),
				 "results", "next_offset");
	http_reply_json(r, 202, body);
	imports_next(job->im);
}

void import_run(struct imports *im, struct http_req *r, struct sheet *sheet, const char *forum,
		int dry_run)
{
	struct import_job *job = xcalloc(1, sizeof(*job));
	job->im = im;
	job->r = r;
	job->sheet = sheet;
	job->caller = json_incref(r->account);
	snprintf(job->caller_id, sizeof(job->caller_id), "%s", api_account_id(r));
	job->forum = forum ? xstrdup(forum) : NULL;
	job->dry_run = dry_run;
	job->tick = evtimer_new(im->app->base, import_tick, job);
	struct import_job **tail = &im->jobs;
	while (*tail)
		tail = &(*tail)->next;
	*tail = job;
	im->njobs++;
	if (dry_run) {
		job->running = 1;
		import_schedule(job);
		return;
	}
	ids_new("imp", job->id);
	store_import_put(im->app->store, job->id, job->caller_id, sheet_kind_name(sheet->kind),
			 forum, sheet->nrows, IMPORT_TTL_S, import_stored, job);
}
