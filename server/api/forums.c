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

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/forum.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/engine/clearing.h"
#include "server/http/request.h"
#include "server/store/forums.h"

#define FORUMS_PAGE_DEFAULT 20
#define FORUMS_PAGE_MAX 100
#define FORUMS_CSV_MAX 256 /* 34 province codes and commas */

static int64_t forums_int(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	return s ? strtoll(s, NULL, 10) : 0;
}

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
	json_object_set_new(doc, "version",
			    json_integer(forums_int(json_array_get(row, SFF_VERSION))));
	json_object_set_new(doc, "created_at",
			    json_integer(forums_int(json_array_get(row, SFF_CREATED))));
	json_object_set_new(doc, "updated_at",
			    json_integer(forums_int(json_array_get(row, SFF_UPDATED))));
	json_object_set_new(doc, "listings",
			    json_integer(forums_int(json_array_get(row, SFF_LISTINGS))));
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
	snprintf(etag, sizeof(etag), "\"%" PRId64 "\"",
		 forums_int(json_array_get(row, SFF_VERSION)));
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
	int64_t version = forums_int(json_array_get(row, SFF_VERSION));
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
	store_forum_create(r->app->store, json_string_value(json_object_get(c->doc, "id")), c->doc,
			   json_string_value(json_object_get(c->doc, "organiser")), c->provinces,
			   api_account_id(r), &c->idem.idem, forums_created, c);
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
	enum account_role role = api_role(r);
	if (role != ACCOUNT_ADMIN && role != ACCOUNT_MODERATOR) {
		http_reply_problem(r, 403, "forbidden", NULL,
				   "only admins and moderators create forums");
		return;
	}
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
	json_t *errors = NULL;
	const char *unknown = http_req_query_unknown(r, allowed);
	if (unknown) {
		if (strcmp(unknown, "?") == 0)
			fields_error(&errors, "query", "the query string is malformed");
		else
			fields_error(
			    &errors, unknown,
			    "unknown or repeated filter; use state, province, cursor, limit");
		api_reply_invalid(r, errors);
		return;
	}
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
		snprintf(expected, sizeof(expected), "%" PRId64,
			 forums_int(json_array_get(row, SFF_VERSION)));
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
	store_forum_update(r->app->store, id, api_account_id(r), expected, next, provinces,
			   forums_written, r);
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
	store_forum_transition(r->app->store, id, c->t, api_account_id(r), expected, &idem.idem,
			       forums_acted, c);
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
