/*
 * matches (API) — see matches.h.
 *
 * Every action loads the match, checks who may act (common/match.c), then
 * asks the store to make the step, which checks the state it leaves
 * atomically and refuses (409) when someone else moved the match first.
 * A party sees the other party's contact details only once confirmed.
 */
#include "server/api/matches.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/match.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/units.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/api/export.h"
#include "server/api/export_columns.h"
#include "server/api/reputation.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/request.h"
#include "server/store/matches.h"
#include "server/store/reputation.h"

#define MATCHES_PAGE_DEFAULT 20
#define MATCHES_PAGE_MAX 100
#define MATCHES_REASON_MAX 500

static const char *matches_str(const json_t *row, enum store_match_field f)
{
	const char *s = json_string_value(json_array_get(row, f));
	return s ? s : "";
}

static struct match_facts matches_facts(const json_t *row)
{
	struct match_facts m = {
	    .state = matches_str(row, SMF_STATE),
	    .need_owner = matches_str(row, SMF_NEED_OWNER),
	    .offer_owner = matches_str(row, SMF_OFFER_OWNER),
	    .need_province = matches_str(row, SMF_NEED_PROVINCE),
	    .offer_province = matches_str(row, SMF_OFFER_PROVINCE),
	    .need_forum = matches_str(row, SMF_NEED_FORUM),
	    .offer_forum = matches_str(row, SMF_OFFER_FORUM),
	    .approved = matches_str(row, SMF_APPROVED_AT)[0] != '\0',
	};
	return m;
}

static void matches_put_time(json_t *o, const char *name, const json_t *row,
			     enum store_match_field f)
{
	int64_t ms = store_field_int(row, f);
	char when[32];
	json_object_set_new(o, name, ms > 0 ? json_string(clock_text(ms, when)) : json_null());
}

json_t *matches_view(const char *id, const json_t *row)
{
	json_t *doc = json_loads(matches_str(row, SMF_DOC), 0, NULL);
	json_t *v = json_object();
	json_object_set_new(v, "id", json_string(id));
	json_object_set_new(v, "state", json_string(matches_str(row, SMF_STATE)));
	json_object_set_new(v, "version", json_integer(store_field_int(row, SMF_VERSION)));
	const struct material *mat = materials_find(matches_str(row, SMF_MATERIAL));
	int64_t qty = store_field_int(row, SMF_QUANTITY);
	json_t *q = json_pack("{s:I}", "base", (json_int_t)qty);
	if (mat) {
		json_object_set_new(v, "material",
				    json_pack("{s:s, s:s, s:s}", "code", mat->code, "name",
					      mat->name_en, "name_vi", mat->name_vi));
		json_object_set_new(q, "base_unit", json_string(materials_base_unit(mat)));
	}
	json_object_set_new(v, "quantity", q);
	const char *np = matches_str(row, SMF_NEED_PROVINCE),
		   *op = matches_str(row, SMF_OFFER_PROVINCE);
	const struct province *pn = provinces_find(np), *po = provinces_find(op);
	json_t *need = json_pack("{s:s, s:s, s:s}", "id", matches_str(row, SMF_NEED), "owner",
				 matches_str(row, SMF_NEED_OWNER), "province", pn ? pn->name : np);
	json_t *offer =
	    json_pack("{s:s, s:s, s:s}", "id", matches_str(row, SMF_OFFER), "owner",
		      matches_str(row, SMF_OFFER_OWNER), "province", po ? po->name : op);
	/* The engine's summary of each side (names) rides in the stored doc. */
	json_t *dn = json_object_get(doc, "need"), *dof = json_object_get(doc, "offer");
	if (json_is_object(dn))
		json_object_update_missing(need, dn);
	if (json_is_object(dof))
		json_object_update_missing(offer, dof);
	json_object_set_new(v, "need", need);
	json_object_set_new(v, "offer", offer);
	json_t *explain = json_object_get(doc, "explain");
	json_object_set(v, "explain", explain ? explain : json_null());
	json_object_set_new(
	    v, "accepted",
	    json_pack("{s:b, s:b}", "need", strcmp(matches_str(row, SMF_NEED_ACCEPTED), "1") == 0,
		      "offer", strcmp(matches_str(row, SMF_OFFER_ACCEPTED), "1") == 0));
	matches_put_time(v, "created_at", row, SMF_CREATED_AT);
	matches_put_time(v, "updated_at", row, SMF_UPDATED_AT);
	matches_put_time(v, "approved_at", row, SMF_APPROVED_AT);
	matches_put_time(v, "expires_at", row, SMF_EXPIRES_AT);
	const char *reviewer = matches_str(row, SMF_REVIEWED_BY);
	json_object_set_new(v, "reviewed_by", *reviewer ? json_string(reviewer) : json_null());
	const char *reason = matches_str(row, SMF_REASON);
	json_object_set_new(v, "reason", *reason ? json_string(reason) : json_null());
	const char *delivered = matches_str(row, SMF_DELIVERED);
	json_object_set_new(v, "delivered_base",
			    *delivered ? json_integer(strtoll(delivered, NULL, 10)) : json_null());
	json_decref(doc);
	return v;
}

/* ---- loading one match ---- */

struct matches_ctx;
/* Runs once the match is loaded and visible; owns c from then on. */
typedef void (*matches_next)(struct matches_ctx *c);

struct matches_ctx {
	struct http_req *r;
	char id[IDS_MAX];
	matches_next next;
	json_t *row;	    /* kept across a second call */
	const char *action; /* for actions */
	char note[96];	    /* delivered quantity (fulfil) */
	char *reason;
	int64_t version;
	struct api_idem idem;
};

static void matches_ctx_free(struct matches_ctx *c)
{
	json_decref(c->row);
	free(c->reason);
	free(c);
}

static void matches_loaded(const struct store_reply *res, void *arg)
{
	struct matches_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		matches_ctx_free(c);
		api_reply_store_error(r, res);
		return;
	}
	if (!json_is_array(res->value)) {
		matches_ctx_free(c);
		http_reply_problem(r, 404, "not-found", NULL, "no such match");
		return;
	}
	struct match_facts f = matches_facts(res->value);
	if (!match_visible(r->account, &f)) {
		matches_ctx_free(c);
		/* Not yours to see: the same answer as absent, so ids leak nothing. */
		http_reply_problem(r, 404, "not-found", NULL, "no such match");
		return;
	}
	c->row = json_incref(res->value);
	c->next(c);
}

static struct matches_ctx *matches_load(struct http_req *r, matches_next next)
{
	char *id = http_req_param(r, "id");
	if (id == NULL || !ids_valid("mat", id)) {
		free(id);
		http_reply_problem(r, 404, "not-found", NULL, "no such match");
		return NULL;
	}
	struct matches_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->next = next;
	snprintf(c->id, sizeof(c->id), "%s", id);
	free(id);
	return c;
}

/* ---- GET /v1/matches/{id} ---- */

struct matches_contact {
	struct http_req *r;
	json_t *view;
	char other[IDS_MAX]; /* the party whose contact the caller sees, "" none */
};

static void matches_counterparty(const struct store_reply *res, void *arg)
{
	struct matches_contact *mc = arg;
	if (res->status == STORE_OK && json_is_string(res->value)) {
		json_t *acc = json_loads(json_string_value(res->value), 0, NULL);
		if (acc) {
			json_t *cp = json_pack("{s:O, s:O}", "id", json_object_get(acc, "id"),
					       "name", json_object_get(acc, "name"));
			json_t *contact = json_object_get(acc, "contact");
			json_object_set(cp, "contact", contact ? contact : json_object());
			json_object_set_new(mc->view, "counterparty", cp);
			json_decref(acc);
		}
	}
	http_reply_json(mc->r, 200, mc->view);
	free(mc);
}

/* The reputation is on the view: now the counterparty's contact, if the caller sees it. */
static void matches_reply_contact(struct http_req *r, void *arg, const struct store_reply *failed)
{
	struct matches_contact *mc = arg;
	if (failed) {
		json_decref(mc->view);
		free(mc);
		api_reply_store_error(r, failed);
		return;
	}
	if (mc->other[0] == '\0') {
		http_reply_json(r, 200, mc->view);
		free(mc);
		return;
	}
	store_account_get(r->app->store, mc->other, matches_counterparty, mc);
}

static void matches_reply_one(struct http_req *r, const char *id, const json_t *row)
{
	json_t *view = matches_view(id, row);
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%" PRId64 "\"", store_field_int(row, SMF_VERSION));
	http_reply_header(r, "ETag", etag);
	struct match_facts f = matches_facts(row);
	enum match_side side = match_side_of(r->account, &f);
	struct matches_contact *mc = xcalloc(1, sizeof(*mc));
	mc->r = r;
	mc->view = view;
	if (side != MATCH_SIDE_NONE && match_contacts_open(f.state))
		snprintf(mc->other, sizeof(mc->other), "%s",
			 side == MATCH_SIDE_NEED ? f.offer_owner : f.need_owner);
	reputation_attach(r, &view, &f, 1, matches_reply_contact, mc);
}

static void matches_get_loaded(struct matches_ctx *c)
{
	struct http_req *r = c->r;
	char id[IDS_MAX];
	snprintf(id, sizeof(id), "%s", c->id);
	json_t *row = json_incref(c->row);
	matches_ctx_free(c);
	matches_reply_one(r, id, row);
	json_decref(row);
}

void matches_get(struct http_req *r)
{
	struct matches_ctx *c = matches_load(r, matches_get_loaded);
	if (c)
		store_match_get(r->app->store, c->id, matches_loaded, c);
}

/* ---- actions ---- */

static void matches_acted_reload(const struct store_reply *res, void *arg)
{
	struct matches_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		matches_ctx_free(c);
		api_reply_store_error(r, res);
		return;
	}
	/* Reload so the answer is what Redis holds now. */
	json_decref(c->row);
	c->row = NULL;
	c->next = matches_get_loaded;
	store_match_get(r->app->store, c->id, matches_loaded, c);
}

static void matches_act_loaded(struct matches_ctx *c)
{
	struct http_req *r = c->r;
	struct match_facts f = matches_facts(c->row);
	if (strcmp(c->action, "fulfil") == 0) {
		/* "amount|unit" from the body → base units of the match's material */
		const struct material *m = materials_find(matches_str(c->row, SMF_MATERIAL));
		if (c->note[0] && m) {
			char *bar = strchr(c->note, '|');
			*bar = '\0';
			const char *unit = bar[1] ? bar + 1 : materials_base_unit(m);
			int64_t base = 0;
			const char *why = NULL;
			/* Nothing delivered is a valid answer: the whole quantity returns. */
			int zero = strspn(c->note, "0.") == strlen(c->note) && c->note[0] == '0';
			if (!zero && units_to_base(m, c->note, unit, &base, &why) < 0) {
				matches_ctx_free(c);
				json_t *e = NULL;
				fields_error(&e, "delivered", "%s", why ? why : "not a quantity");
				api_reply_invalid(r, e);
				return;
			}
			if (base > store_field_int(c->row, SMF_QUANTITY)) {
				json_t *e = NULL;
				fields_error(&e, "delivered", "more than the matched %s %s",
					     matches_str(c->row, SMF_QUANTITY),
					     materials_base_unit(m));
				matches_ctx_free(c); /* after the message: it reads c->row */
				api_reply_invalid(r, e);
				return;
			}
			snprintf(c->note, sizeof(c->note), "%" PRId64, base);
		}
	}
	const char *why = NULL;
	if (!match_may_act(r->account, &f, c->action, &why)) {
		matches_ctx_free(c);
		http_reply_problem(r, 403, "forbidden", NULL, "%s", why);
		return;
	}
	const char *side = match_side_name(match_side_of(r->account, &f));
	if (strcmp(c->action, "approve") == 0 || strcmp(c->action, "reject") == 0 ||
	    strcmp(c->action, "cancel") == 0)
		side = "";
	if (strcmp(c->action, "fulfil") == 0 && c->note[0] == '\0')
		snprintf(c->note, sizeof(c->note), "%s", matches_str(c->row, SMF_QUANTITY));
	const char *note =
	    strcmp(c->action, "fulfil") == 0 ? c->note : (c->reason ? c->reason : "");
	int64_t expires = clock_now_ms() + (int64_t)r->app->cfg.review_timeout_s * 1000;
	API_WRITE(r, store_match_act(r->app->store, c->id, c->action, api_account_id(r), side, note,
				     expires, store_field_int(c->row, SMF_VERSION), &c->idem.idem,
				     matches_acted_reload, c));
}

/* Reads an action's optional body: {"reason"} or, for fulfil, {"delivered", "unit"}. */
static void matches_act(struct http_req *r, const char *action)
{
	static const char *const reason_only[] = {"reason", NULL};
	static const char *const fulfil_fields[] = {"delivered", "unit", NULL};
	int is_fulfil = strcmp(action, "fulfil") == 0;
	int needs_reason = strcmp(action, "reject") == 0 || strcmp(action, "cancel") == 0;
	json_t *body = NULL;
	if (evbuffer_get_length(evhttp_request_get_input_buffer(r->ev)) == 0) {
		body = json_object();
	} else {
		body = http_req_json_body(r);
		if (body == NULL)
			return;
	}
	json_t *errors = NULL;
	fields_unknown(body, "", is_fulfil ? fulfil_fields : reason_only, &errors);
	char *reason = is_fulfil ? NULL
				 : fields_string(body, "reason", "reason", needs_reason,
						 MATCHES_REASON_MAX, 1, &errors);
	struct matches_ctx *c = NULL;
	json_t *delivered = is_fulfil ? json_object_get(body, "delivered") : NULL;
	char *unit = is_fulfil ? fields_string(body, "unit", "unit", 0, 16, 0, &errors) : NULL;
	if (unit && delivered == NULL)
		fields_error(&errors, "unit", "only goes with delivered");
	if (errors) {
		json_decref(body);
		free(reason);
		free(unit);
		api_reply_invalid(r, errors);
		return;
	}
	c = matches_load(r, matches_act_loaded);
	if (c == NULL) {
		json_decref(body);
		free(reason);
		free(unit);
		return;
	}
	c->action = action;
	c->reason = reason;
	if (api_idempotency(r, &c->idem) < 0) {
		json_decref(body);
		free(unit);
		matches_ctx_free(c);
		return;
	}
	if (delivered) {
		/* Kept as text; converted against the match's material once loaded. */
		char text[UNITS_TEXT_MAX];
		const char *why = NULL;
		if (units_json_text(delivered, text, sizeof(text), &why) < 0) {
			json_decref(body);
			free(unit);
			matches_ctx_free(c);
			json_t *e = NULL;
			fields_error(&e, "delivered", "%s",
				     why ? why : "must be a decimal quantity");
			api_reply_invalid(r, e);
			return;
		}
		snprintf(c->note, sizeof(c->note), "%s|%s", text, unit ? unit : "");
	}
	free(unit);
	json_decref(body);
	store_match_get(r->app->store, c->id, matches_loaded, c);
}

void matches_approve(struct http_req *r)
{
	matches_act(r, "approve");
}
void matches_reject(struct http_req *r)
{
	matches_act(r, "reject");
}
void matches_accept(struct http_req *r)
{
	matches_act(r, "accept");
}
void matches_decline(struct http_req *r)
{
	matches_act(r, "decline");
}
void matches_fulfil(struct http_req *r)
{
	matches_act(r, "fulfil");
}
void matches_cancel(struct http_req *r)
{
	matches_act(r, "cancel");
}

/* ---- GET /v1/matches ---- */

struct matches_search_ctx {
	struct http_req *r;
	char *q[7];
	char provinces[512], forums[2048];
	struct store_match_query query;
};

static void matches_search_free(void *arg)
{
	struct matches_search_ctx *c = arg;
	for (size_t i = 0; i < sizeof(c->q) / sizeof(c->q[0]); i++)
		free(c->q[i]);
	free(c);
}

static void matches_page_reply(struct http_req *r, void *arg, const struct store_reply *failed)
{
	json_t *page = arg;
	if (failed) {
		json_decref(page);
		api_reply_store_error(r, failed);
		return;
	}
	http_reply_json(r, 200, page);
}

static void matches_found(const struct store_reply *res, void *arg)
{
	struct matches_search_ctx *c = arg;
	struct http_req *r = c->r;
	matches_search_free(c);
	if (res->status != STORE_OK) {
		api_reply_store_error(r, res);
		return;
	}
	json_t *page = api_page(res->value, matches_view);
	json_t *items = json_object_get(page, "items");
	const json_t *rows = store_field(res->value, STORE_PAGE_ROWS);
	size_t n = json_array_size(items);
	if (n != json_array_size(rows) || n > STORE_REP_MAX / 2) {
		http_reply_json(r, 200, page);
		return;
	}
	/* The rows' facts, their id left off as matches_view reads them. */
	json_t *fields[STORE_REP_MAX / 2], *views[STORE_REP_MAX / 2];
	struct match_facts f[STORE_REP_MAX / 2];
	for (size_t i = 0; i < n; i++) {
		const json_t *row = json_array_get(rows, i);
		fields[i] = json_array();
		for (size_t k = 1; k < json_array_size(row); k++)
			json_array_append(fields[i], json_array_get(row, k));
		f[i] = matches_facts(fields[i]);
		views[i] = json_array_get(items, i);
	}
	/* reputation_attach copies what it needs of f at once */
	reputation_attach(r, views, f, n, matches_page_reply, page);
	for (size_t i = 0; i < n; i++)
		json_decref(fields[i]);
}

/* The same pages for a CSV export (server/api/export.h). */
static void matches_export_fetch(void *ctx, const char *cursor, store_cb cb, void *arg)
{
	struct matches_search_ctx *c = ctx;
	c->query.cursor = cursor;
	c->query.limit = MATCHES_PAGE_MAX;
	store_match_search(c->r->app->store, &c->query, cb, arg);
}

static json_t *matches_export_page(void *ctx, const json_t *reply)
{
	return api_page(reply, matches_view);
}

static const struct export_spec matches_export = {
    "matches",		 export_match_columns, EXPORT_MATCH_COLUMNS, matches_export_fetch,
    matches_export_page, matches_search_free,
};

void matches_search(struct http_req *r)
{
	static const char *const allowed[] = {"state",	  "listing",	 "material",
					      "province", "forum",	 "cursor",
					      "limit",	  EXPORT_PARAMS, NULL};
	static const char *const states[] = {"proposed",  "approved",  "rejected", "accepted",
					     "confirmed", "fulfilled", "declined", "cancelled",
					     "expired",	  NULL};
	const char *unknown = http_req_query_unknown(r, allowed);
	json_t *errors = NULL;
	if (unknown) {
		fields_error(&errors, strcmp(unknown, "?") ? unknown : "query",
			     "unknown or repeated filter; use state, listing, material, province, "
			     "forum, cursor, limit, format, bom, headers");
		api_reply_invalid(r, errors);
		return;
	}
	struct matches_search_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	struct store_match_query q = {.limit = MATCHES_PAGE_DEFAULT};
	char *state = c->q[0] = http_req_query(r, "state");
	char *listing = c->q[1] = http_req_query(r, "listing");
	char *material = c->q[2] = http_req_query(r, "material");
	char *province = c->q[3] = http_req_query(r, "province");
	char *forum = c->q[4] = http_req_query(r, "forum");
	char *cursor = c->q[5] = http_req_query(r, "cursor");
	char *limit = c->q[6] = http_req_query(r, "limit");
	/* "any" is every state, as status=any is every status of GET /v1/listings. */
	if (state && strcmp(state, "any") != 0) {
		int ok = 0;
		for (const char *const *s = states; *s && !ok; s++)
			ok = strcmp(*s, state) == 0;
		if (!ok)
			fields_error(&errors, "state",
				     "must be proposed, approved, rejected, accepted, confirmed, "
				     "fulfilled, declined, cancelled, expired or any");
		q.state = state;
	}
	if (listing) {
		if (!ids_valid("lst", listing))
			fields_error(&errors, "listing", "must be a listing id");
		q.listing = listing;
	}
	q.material = api_filter_material(material, &errors);
	q.province = api_filter_province(province, &errors);
	if (forum && !fields_forum_id_ok(forum))
		fields_error(&errors, "forum", "must be a forum id (a-z, 0-9 and -)");
	q.forum = forum;
	api_page_params(cursor, limit, MATCHES_PAGE_MAX, &q.limit, &errors);
	q.cursor = cursor;
	struct export_opts eo;
	export_params(r, &eo, &errors);
	if (errors) {
		matches_search_free(c);
		api_reply_invalid(r, errors);
		return;
	}
	switch (api_role(r)) {
	case ACCOUNT_ADMIN:
		q.mode = STORE_MATCH_ALL;
		break;
	case ACCOUNT_MODERATOR: {
		account_scope_csv(r->account, "provinces", c->provinces, sizeof(c->provinces));
		account_scope_csv(r->account, "forums", c->forums, sizeof(c->forums));
		q.mode = STORE_MATCH_SCOPE;
		q.scope_provinces = c->provinces;
		q.scope_forums = c->forums;
		break;
	}
	default:
		q.mode = STORE_MATCH_PARTY;
		q.party = api_account_id(r);
		break;
	}
	c->query = q;
	if (eo.csv) {
		export_start(r, &matches_export, c, &eo);
		return;
	}
	store_match_search(r->app->store, &c->query, matches_found, c);
}
