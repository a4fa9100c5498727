/*
 * forums (API) — creating, finding, changing and moving forums through
 * their states (draft → open → clearing → review → closed, or cancelled).
 *
 * Admins and moderators create forums; the organiser (a moderator, or an
 * admin) and admins manage one: PATCH it while it is a draft or open, and
 * take it from state to state with the action routes of common/forum.c's
 * table. Drafts are shown to admins and moderators only. Every change is
 * one Redis function (store/forums.c) that writes the forum and its event
 * together; PATCH is a compare-and-set on the version GET gives as ETag.
 */
#include "server/api/forums.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/forum.h"
#include "common/ids.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/api/matches.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/engine/clearing.h"
#include "server/http/problem.h"
#include "server/http/request.h"
#include "server/store/forums.h"

#define FORUMS_PAGE_DEFAULT 20
#define FORUMS_PAGE_MAX 100
#define FORUMS_CSV_MAX 256	/* 34 province codes and commas */
#define FORUMS_REASON_MAX 500	/* characters of a rejection's reason, as for one match */
#define FORUMS_SELECT_MAX 2000	/* matches one review call may name */
#define FORUMS_BATCH_SHOWN 1000 /* matches GET /v1/forums/{id}/batch lists at most */

/* Admins and moderators see drafts; villages and suppliers see a forum once it opens. */
static int forums_sees_drafts(const struct http_req *r)
{
	enum account_role role = api_role(r);
	return role == ACCOUNT_ADMIN || role == ACCOUNT_MODERATOR;
}

/*
 * The API view of a stored forum view (store_forum_field order). Returns a
 * new reference, or NULL when the row is unreadable.
 */
static json_t *forums_view(const json_t *row)
{
	const char *text = json_string_value(json_array_get(row, SFF_DOC));
	json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
	if (doc == NULL)
		return NULL;
	json_object_set(doc, "state", json_array_get(row, SFF_STATE));
	json_object_set_new(doc, "version", json_integer(store_field_int(row, SFF_VERSION)));
	json_object_set_new(doc, "created_at", json_integer(store_field_int(row, SFF_CREATED)));
	json_object_set_new(doc, "updated_at", json_integer(store_field_int(row, SFF_UPDATED)));
	json_object_set_new(doc, "listings", json_integer(store_field_int(row, SFF_LISTINGS)));
	json_object_del(doc, "created_by");
	return doc;
}

static void forums_reply_view(struct http_req *r, int status, const json_t *row)
{
	json_t *view = forums_view(row);
	if (view == NULL) {
		http_reply_problem(r, 500, "internal", NULL, "the forum record is unreadable");
		return;
	}
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", store_field_int(row, SFF_VERSION));
	http_reply_header(r, "ETag", etag);
	if (status == 201) {
		char loc[96];
		snprintf(loc, sizeof(loc), "/v1/forums/%s",
			 json_string_value(json_object_get(view, "id")));
		http_reply_header(r, "Location", loc);
	}
	http_reply_json(r, status, view);
}

/* Any store outcome answered with the forum view it carries. */
static void forums_written(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	forums_reply_view(r, 200, res->value);
}

/* ---- loading a forum for a handler ---- */

typedef void (*forums_next)(struct http_req *r, const char *id, json_t *doc, const json_t *row);

struct forums_load {
	struct http_req *r;
	forums_next next;
	char id[FIELDS_FORUM_MAX + 1];
};

static void forums_loaded(const struct store_reply *res, void *arg)
{
	struct forums_load *l = arg;
	struct http_req *r = l->r;
	if (res->status != STORE_OK) {
		free(l);
		api_reply_store_error(r, res);
		return;
	}
	const char *state = json_string_value(json_array_get(res->value, SFF_STATE));
	const char *text = json_string_value(json_array_get(res->value, SFF_DOC));
	if (!json_is_array(res->value) || text == NULL ||
	    (!forums_sees_drafts(r) && state && strcmp(state, "draft") == 0)) {
		free(l);
		http_reply_problem(r, 404, "not-found", NULL, "no such forum");
		return;
	}
	json_t *doc = json_loads(text, 0, NULL);
	if (doc == NULL) {
		free(l);
		http_reply_problem(r, 500, "internal", NULL, "the forum record is unreadable");
		return;
	}
	l->next(r, l->id, doc, res->value);
	json_decref(doc);
	free(l);
}

/* Loads the forum named by the {id} path parameter, then calls next (or answers 404/503). */
static void forums_load(struct http_req *r, forums_next next)
{
	char *id = http_req_param(r, "id");
	if (id == NULL || !forum_id_ok(id)) {
		free(id);
		http_reply_problem(r, 404, "not-found", NULL, "no such forum");
		return;
	}
	struct forums_load *l = xcalloc(1, sizeof(*l));
	l->r = r;
	l->next = next;
	snprintf(l->id, sizeof(l->id), "%s", id);
	free(id);
	store_forum_get(r->app->store, l->id, forums_loaded, l);
}

/* 1 when the caller manages the forum (admins, its organiser); else answers 403. */
static int forums_manager(struct http_req *r, const json_t *doc)
{
	const char *organiser = json_string_value(json_object_get(doc, "organiser"));
	if (api_role(r) == ACCOUNT_ADMIN ||
	    (organiser && strcmp(organiser, api_account_id(r)) == 0))
		return 1;
	http_reply_problem(r, 403, "forbidden", NULL,
			   "only the forum's organiser or an admin manages a forum");
	return 0;
}

/*
 * The If-Match header against the loaded version: 1 and the version to
 * check atomically in buf ("" when no If-Match), or 0 after answering 412.
 */
static int forums_if_match(struct http_req *r, const json_t *row, char buf[24])
{
	int64_t version = store_field_int(row, SFF_VERSION);
	const char *if_match = http_req_header(r, "If-Match");
	buf[0] = '\0';
	if (if_match == NULL)
		return 1;
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", version);
	if (!api_if_match(if_match, etag)) {
		http_reply_problem(r, 412, "precondition-failed", NULL,
				   "If-Match %s does not match the current version %s", if_match,
				   etag);
		return 0;
	}
	snprintf(buf, 24, "%" PRId64, version);
	return 1;
}

/* ---- POST /v1/forums ---- */

struct forums_create_ctx {
	struct http_req *r;
	json_t *doc;
	struct api_idem idem;
	char provinces[FORUMS_CSV_MAX];
};

static void forums_created(const struct store_reply *res, void *arg)
{
	struct forums_create_ctx *c = arg;
	struct http_req *r = c->r;
	json_decref(c->doc);
	free(c);
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	const char *outcome = store_field_str(res->value, STORE_CREATED_OUTCOME);
	if (outcome && strcmp(outcome, "replay") == 0)
		http_reply_header(r, "Idempotent-Replayed", "true");
	forums_reply_view(r, 201, store_field(res->value, STORE_CREATED_ROW));
}

static void forums_create_store(struct forums_create_ctx *c)
{
	struct http_req *r = c->r;
	int64_t closes_at = 0;
	forum_closes_at(c->doc, &closes_at);
	API_WRITE(r, store_forum_create(
			 r->app->store, json_string_value(json_object_get(c->doc, "id")), c->doc,
			 json_string_value(json_object_get(c->doc, "organiser")), c->provinces,
			 closes_at, api_account_id(r), &c->idem.idem, forums_created, c));
}

/* An admin named another organiser: it must be a moderator or an admin. */
static void forums_organiser_loaded(const struct store_reply *res, void *arg)
{
	struct forums_create_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		json_decref(c->doc);
		free(c);
		api_reply_store_error(r, res);
		return;
	}
	const char *text = json_string_value(res->value);
	json_t *acc = text ? json_loads(text, 0, NULL) : NULL;
	enum account_role role = account_role_of(acc);
	json_decref(acc);
	if (role != ACCOUNT_MODERATOR && role != ACCOUNT_ADMIN) {
		json_t *errors = NULL;
		fields_error(&errors, "organiser", "người tổ chức: %s",
			     text ? "must be a moderator or admin account" : "no such account");
		json_decref(c->doc);
		free(c);
		api_reply_invalid(r, errors);
		return;
	}
	forums_create_store(c);
}

void forums_create(struct http_req *r)
{
	if (api_refuse_unless_staff(r, "create forums"))
		return;
	enum account_role role = api_role(r);
	json_t *body = http_req_json_body(r);
	if (body == NULL)
		return;
	json_t *errors = NULL;
	json_t *doc = forum_from_request(body, &errors);
	json_decref(body);
	if (doc == NULL) {
		api_reply_invalid(r, errors);
		return;
	}
	const char *me = api_account_id(r);
	const char *organiser = json_string_value(json_object_get(doc, "organiser"));
	if (organiser == NULL) {
		json_object_set_new(doc, "organiser", json_string(me));
		organiser = me;
	}
	int other = strcmp(organiser, me) != 0;
	if (other && role != ACCOUNT_ADMIN) {
		json_decref(doc);
		http_reply_problem(r, 403, "forbidden", NULL,
				   "a moderator organises its own forums; only admins name another "
				   "organiser");
		return;
	}
	if (other && !ids_valid("acc", organiser)) {
		json_decref(doc);
		fields_error(&errors, "organiser", "người tổ chức: must be an account id");
		api_reply_invalid(r, errors);
		return;
	}
	struct forums_create_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->doc = doc;
	if (api_idempotency(r, &c->idem) < 0) {
		json_decref(doc);
		free(c);
		return;
	}
	json_object_set_new(doc, "created_by", json_string(me));
	forum_provinces_csv(doc, c->provinces, sizeof(c->provinces));
	if (other)
		store_account_get(r->app->store, organiser, forums_organiser_loaded, c);
	else
		forums_create_store(c);
}

/* ---- GET /v1/forums/{id} ---- */

static void forums_reply_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row)
{
	(void)id;
	(void)doc;
	forums_reply_view(r, 200, row);
}

void forums_get(struct http_req *r)
{
	forums_load(r, forums_reply_loaded);
}

/* ---- GET /v1/forums ---- */

struct forums_search_ctx {
	struct http_req *r;
	char *q[4];
};

static json_t *forums_row_view(const char *id, const json_t *fields)
{
	(void)id; /* the stored document carries it */
	return forums_view(fields);
}

static void forums_search_ctx_free(struct forums_search_ctx *c)
{
	for (size_t i = 0; i < sizeof(c->q) / sizeof(c->q[0]); i++)
		free(c->q[i]);
	free(c);
}

static void forums_found(const struct store_reply *res, void *arg)
{
	struct forums_search_ctx *c = arg;
	struct http_req *r = c->r;
	forums_search_ctx_free(c);
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	http_reply_json(r, 200, api_page(res->value, forums_row_view));
}

void forums_search(struct http_req *r)
{
	static const char *const allowed[] = {"state", "province", "cursor", "limit", NULL};
	if (api_query_refused(r, allowed, "filter"))
		return;
	json_t *errors = NULL;
	struct forums_search_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	struct store_forum_query q = {.limit = FORUMS_PAGE_DEFAULT,
				      .drafts = forums_sees_drafts(r)};
	char *state = c->q[0] = http_req_query(r, "state");
	char *province = c->q[1] = http_req_query(r, "province");
	char *cursor = c->q[2] = http_req_query(r, "cursor");
	char *limit = c->q[3] = http_req_query(r, "limit");
	if (state) {
		if (!forum_state_ok(state))
			fields_error(&errors, "state",
				     "must be draft, open, clearing, review, closed or cancelled");
		q.state = state;
	}
	q.province = api_filter_province(province, &errors);
	api_page_params(cursor, limit, FORUMS_PAGE_MAX, &q.limit, &errors);
	q.cursor = cursor;
	if (errors) {
		forums_search_ctx_free(c);
		api_reply_invalid(r, errors);
		return;
	}
	store_forum_search(r->app->store, &q, forums_found, c);
}

/* ---- PATCH /v1/forums/{id} ---- */

static void forums_patch_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row)
{
	if (!forums_manager(r, doc))
		return;
	char expected[24];
	if (!forums_if_match(r, row, expected))
		return;
	/* Without If-Match: the version this PATCH was made from. */
	if (expected[0] == '\0')
		snprintf(expected, sizeof(expected), "%" PRId64, store_field_int(row, SFF_VERSION));
	json_t *body = http_req_json_body(r);
	if (body == NULL)
		return;
	json_t *errors = NULL;
	json_t *next = forum_apply_patch(doc, body, &errors);
	json_decref(body);
	if (next == NULL) {
		api_reply_invalid(r, errors);
		return;
	}
	char provinces[FORUMS_CSV_MAX];
	forum_provinces_csv(next, provinces, sizeof(provinces));
	int64_t closes_at = 0;
	forum_closes_at(next, &closes_at);
	API_WRITE(r, store_forum_update(r->app->store, id, api_account_id(r), expected, next,
					provinces, closes_at, forums_written, r));
	json_decref(next);
}

void forums_patch(struct http_req *r)
{
	forums_load(r, forums_patch_loaded);
}

/* ---- POST /v1/forums/{id}/<action> ---- */

struct forums_act_ctx {
	struct http_req *r;
	char id[FIELDS_FORUM_MAX + 1];
	const struct forum_transition *t;
};

static void forums_acted(const struct store_reply *res, void *arg)
{
	struct forums_act_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status == STORE_OK && strcmp(c->t->to, "clearing") == 0)
		clearing_start(r->app, c->id);
	else if (res->status == STORE_UNCONFIRMED && strcmp(c->t->to, "clearing") == 0)
		clearing_resume(r->app); /* clears it if the change was applied after all */
	free(c);
	forums_written(res, r);
}

static void forums_act_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row,
			      const char *action)
{
	if (!forums_manager(r, doc))
		return;
	char expected[24];
	if (!forums_if_match(r, row, expected))
		return;
	struct api_idem idem;
	if (api_idempotency(r, &idem) < 0)
		return;
	struct forums_act_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->t = forum_transition_find(action);
	snprintf(c->id, sizeof(c->id), "%s", id);
	API_WRITE(r, store_forum_transition(r->app->store, id, c->t, api_account_id(r), expected,
					    &idem.idem, forums_acted, c));
}

/* One route per transition; the table in common/forum.c says what each does. */
static void forums_open_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row)
{
	forums_act_loaded(r, id, doc, row, "open");
}

static void forums_close_registration_loaded(struct http_req *r, const char *id, json_t *doc,
					     const json_t *row)
{
	forums_act_loaded(r, id, doc, row, "close-registration");
}

static void forums_close_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row)
{
	forums_act_loaded(r, id, doc, row, "close");
}

static void forums_cancel_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row)
{
	forums_act_loaded(r, id, doc, row, "cancel");
}

void forums_open(struct http_req *r)
{
	forums_load(r, forums_open_loaded);
}

void forums_close_registration(struct http_req *r)
{
	forums_load(r, forums_close_registration_loaded);
}

void forums_close(struct http_req *r)
{
	forums_load(r, forums_close_loaded);
}

void forums_cancel(struct http_req *r)
{
	forums_load(r, forums_cancel_loaded);
}

/* ---- GET /v1/forums/{id}/report ---- */

/* The gain of the clearing over first come, first served, from its totals. */
static json_t *forums_gain(const json_t *clearing)
{
	const json_t *greedy = json_object_get(clearing, "greedy");
	json_int_t q = json_integer_value(json_object_get(clearing, "matched_quantity"));
	json_int_t v = json_integer_value(json_object_get(clearing, "landed_vnd"));
	json_int_t gq = json_integer_value(json_object_get(greedy, "matched_quantity"));
	json_int_t gv = json_integer_value(json_object_get(greedy, "landed_vnd"));
	return json_pack("{s:I, s:I}", "more_quantity_base", q - gq, "landed_vnd_saved", gv - v);
}

static void forums_reported(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	const char *text = store_field_str(res->value, SFR_REPORT);
	const char *totals = store_field_str(res->value, SFR_TOTALS);
	json_t *report = text ? json_loads(text, 0, NULL) : NULL;
	json_t *clearing = totals ? json_loads(totals, 0, NULL) : NULL;
	if (report == NULL || (totals && clearing == NULL)) {
		json_decref(report);
		json_decref(clearing);
		http_reply_problem(r, 500, "internal", NULL, "the forum's report is unreadable");
		return;
	}
	json_object_set_new(report, "gain", clearing ? forums_gain(clearing) : json_null());
	json_object_set_new(report, "clearing", clearing ? clearing : json_null());
	http_reply_json(r, 200, report);
}

static void forums_report_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row)
{
	(void)row;
	if (!forums_manager(r, doc))
		return;
	store_forum_report(r->app->store, id, forums_reported, r);
}

void forums_report(struct http_req *r)
{
	forums_load(r, forums_report_loaded);
}

/* ---- POST /v1/forums/{id}/approve-batch, /reject-batch ---- */

struct forums_review_ctx {
	struct http_req *r;
	const char *action; /* "approve" | "reject" */
	char *reason;
	json_t *matches; /* the selection (strings), or NULL: the whole batch */
	struct api_idem idem;
};

static void forums_review_free(struct forums_review_ctx *c)
{
	free(c->reason);
	json_decref(c->matches);
	free(c);
}

static void forums_reviewed(const struct store_reply *res, void *arg)
{
	struct forums_review_ctx *c = arg;
	struct http_req *r = c->r;
	const char *action = c->action;
	forums_review_free(c);
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	const char *outcome = json_string_value(json_array_get(res->value, SFV_OUTCOME));
	json_t *list = json_array_get(res->value, SFV_MATCHES);
	if (outcome && strcmp(outcome, "refused") == 0) {
		/* Nothing changed: name every offender, in the order given. */
		json_t *errors = json_array();
		char detail[512];
		size_t n = json_array_size(list), o = 0, i;
		json_t *row;
		o += (size_t)snprintf(detail, sizeof(detail),
				      "nothing was %s: %zu selected match%s cannot be: ",
				      strcmp(action, "approve") == 0 ? "approved" : "rejected", n,
				      n == 1 ? "" : "es");
		json_array_foreach(list, i, row)
		{
			const char *mid = json_string_value(json_array_get(row, SFX_MATCH));
			const char *why = json_string_value(json_array_get(row, SFX_WHY));
			char msg[160];
			snprintf(msg, sizeof(msg), "%s: %s", mid ? mid : "", why ? why : "");
			problem_add_error(&errors, "matches", msg);
			if (o < sizeof(detail))
				o +=
				    (size_t)snprintf(detail + o, sizeof(detail) - o, "%s%s (%s)",
						     i ? ", " : "", mid ? mid : "", why ? why : "");
		}
		http_reply_problem(r, 409, "conflict", errors, "%s", detail);
		return;
	}
	if (outcome && strcmp(outcome, "replay") == 0)
		http_reply_header(r, "Idempotent-Replayed", "true");
	json_t *ids = json_is_array(list) ? json_incref(list) : json_array();
	json_t *out = json_object();
	json_object_set_new(out, "action", json_string(action));
	json_object_set_new(out, "count", json_integer((json_int_t)json_array_size(ids)));
	json_object_set_new(out, "matches", ids);
	json_object_set_new(out, "proposed_left",
			    json_integer(json_integer_value(json_array_get(res->value, SFV_LEFT))));
	http_reply_json(r, 200, out);
}

static void forums_review_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row,
				 struct forums_review_ctx *c)
{
	(void)row;
	(void)doc; /* its manager was checked before the body was read */
	if (api_idempotency(r, &c->idem) < 0) {
		forums_review_free(c);
		return;
	}
	size_t n = json_array_size(c->matches), i;
	const char **ids = xcalloc(n ? n : 1, sizeof(*ids));
	json_t *v;
	json_array_foreach(c->matches, i, v) ids[i] = json_string_value(v);
	int64_t expires = clock_now_ms() + (int64_t)r->app->cfg.review_timeout_s * 1000;
	API_WRITE(r, store_forum_review(r->app->store, id, c->action, api_account_id(r), c->reason,
					expires, ids, n, &c->idem.idem, forums_reviewed, c));
	free(ids);
}

/* The review's body, checked before the forum is loaded; NULL after answering. */
static struct forums_review_ctx *forums_review_body(struct http_req *r, const char *action)
{
	static const char *const approve_fields[] = {"matches", NULL};
	static const char *const reject_fields[] = {"matches", "reason", NULL};
	int reject = strcmp(action, "reject") == 0;
	json_t *body;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->ev)) == 0) {
		body = json_object();
	} else {
		body = http_req_json_body(r);
		if (body == NULL)
			return NULL;
	}
	json_t *errors = NULL;
	fields_unknown(body, "", reject ? reject_fields : approve_fields, &errors);
	char *reason =
	    reject ? fields_string(body, "reason", "reason", 1, FORUMS_REASON_MAX, 1, &errors)
		   : NULL;
	json_t *matches = json_object_get(body, "matches"), *sel = NULL;
	if (matches && !json_is_null(matches)) {
		if (!json_is_array(matches) || json_array_size(matches) == 0 ||
		    json_array_size(matches) > FORUMS_SELECT_MAX) {
			fields_error(&errors, "matches",
				     "must be a list of 1 to %d match ids (leave it out for the "
				     "whole batch)",
				     FORUMS_SELECT_MAX);
		} else {
			sel = json_array();
			size_t i;
			json_t *v;
			json_array_foreach(matches, i, v)
			{
				const char *s = json_string_value(v);
				if (s == NULL || strlen(s) != json_string_length(v) ||
				    !ids_valid("mat", s)) {
					fields_error(&errors, "matches",
						     "item %zu: must be a match id", i);
					continue;
				}
				size_t j;
				json_t *w;
				int dup = 0;
				json_array_foreach(sel, j, w) dup |=
				    strcmp(json_string_value(w), s) == 0;
				if (dup)
					fields_error(&errors, "matches", "%s is listed twice", s);
				else
					json_array_append(sel, v);
			}
		}
	}
	json_decref(body);
	if (errors) {
		free(reason);
		json_decref(sel);
		api_reply_invalid(r, errors);
		return NULL;
	}
	struct forums_review_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->action = action;
	c->reason = reason;
	c->matches = sel;
	return c;
}

/* forums_load passes no context: the body is read once the forum is loaded and its manager checked.
 */
static void forums_approve_batch_loaded(struct http_req *r, const char *id, json_t *doc,
					const json_t *row)
{
	if (!forums_manager(r, doc))
		return;
	struct forums_review_ctx *c = forums_review_body(r, "approve");
	if (c)
		forums_review_loaded(r, id, doc, row, c);
}

static void forums_reject_batch_loaded(struct http_req *r, const char *id, json_t *doc,
				       const json_t *row)
{
	if (!forums_manager(r, doc))
		return;
	struct forums_review_ctx *c = forums_review_body(r, "reject");
	if (c)
		forums_review_loaded(r, id, doc, row, c);
}

void forums_approve_batch(struct http_req *r)
{
	forums_load(r, forums_approve_batch_loaded);
}

void forums_reject_batch(struct http_req *r)
{
	forums_load(r, forums_reject_batch_loaded);
}

/* ---- GET /v1/forums/{id}/batch ---- */

static void forums_batch_got(const struct store_reply *res, void *arg)
{
	struct http_req *r = arg;
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	json_int_t total = json_integer_value(json_array_get(res->value, SFB_COUNT));
	json_t *items = json_array();
	json_t *counts = json_object();
	const json_t *flat = json_array_get(res->value, SFB_STATES);
	for (size_t k = 0; k + 1 < json_array_size(flat); k += 2) {
		const char *state = json_string_value(json_array_get(flat, k));
		if (state)
			json_object_set_new(
			    counts, state,
			    json_integer(json_integer_value(json_array_get(flat, k + 1))));
	}
	size_t i;
	json_t *row;
	json_array_foreach(json_array_get(res->value, SFB_ROWS), i, row)
	{
		const char *mid = json_string_value(json_array_get(row, SFB_ID));
		/* the match's fields follow its id, then the two owners' names */
		json_t *fields = json_array();
		for (size_t f = SFB_FIELDS; f < SFB_FIELDS + SMF_COUNT; f++)
			json_array_append(fields, json_array_get(row, f));
		json_t *view = matches_view(mid ? mid : "", fields);
		json_decref(fields);
		const char *nn = json_string_value(json_array_get(row, SFB_FIELDS + SMF_COUNT));
		const char *on = json_string_value(json_array_get(row, SFB_FIELDS + SMF_COUNT + 1));
		json_object_set_new(json_object_get(view, "need"), "owner_name",
				    json_string(nn ? nn : ""));
		json_object_set_new(json_object_get(view, "offer"), "owner_name",
				    json_string(on ? on : ""));
		json_array_append_new(items, view);
	}
	json_t *out =
	    json_pack("{s:I, s:o, s:b, s:o}", "total", total, "by_state", counts, "truncated",
		      (json_int_t)json_array_size(items) < total, "items", items);
	http_reply_json(r, 200, out);
}

static void forums_batch_loaded(struct http_req *r, const char *id, json_t *doc, const json_t *row)
{
	(void)row;
	if (!forums_manager(r, doc))
		return;
	store_forum_batch(r->app->store, id, FORUMS_BATCH_SHOWN, forums_batch_got, r);
}

void forums_batch(struct http_req *r)
{
	forums_load(r, forums_batch_loaded);
}
