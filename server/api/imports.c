/*
 * imports (API) — spreadsheets in: POST /v1/imports, its template and its
 * status resource.
 *
 * An import may do exactly what its caller could do row by row: accounts
 * are imported by admins and by moderators (each row within their scope,
 * account_may_manage), needs by a village and offers by a supplier, for
 * themselves. The sheet is read whole first (common/sheet.c): a file that
 * is not a sheet of the kind is refused with nothing written. The rows are
 * then checked and written by import_run.c.
 */
#include "server/api/imports.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/sheet.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/api/import_run.h"
#include "server/app.h"
#include "server/clock.h"
#include "server/http/request.h"
#include "server/store/imports.h"

#define IMPORTS_PAGE_DEFAULT 100
#define IMPORTS_PAGE_MAX 1000

/* The kind query parameter, or SHEET_KIND_UNKNOWN with an error appended. */
static enum sheet_kind imports_kind(struct http_req *r, json_t **errors)
{
	char *text = http_req_query(r, "kind");
	enum sheet_kind k = sheet_kind_parse(text);
	if (k == SHEET_KIND_UNKNOWN)
		fields_error(errors, "kind", "%s: accounts, needs or offers",
			     text ? "must be one of" : "is required");
	free(text);
	return k;
}

/* ---- GET /v1/imports/template ---- */

void imports_template(struct http_req *r)
{
	static const char *const allowed[] = {"kind", NULL};
	if (api_query_refused(r, allowed, "parameter"))
		return;
	json_t *errors = NULL;
	enum sheet_kind k = imports_kind(r, &errors);
	if (errors) {
		api_reply_invalid(r, errors);
		return;
	}
	size_t len;
	char *csv = sheet_template(k, &len);
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, csv, len);
	free(csv);
	char disp[96];
	snprintf(disp, sizeof(disp), "attachment; filename=\"craftmatch-%s.csv\"",
		 sheet_kind_name(k));
	http_reply_header(r, "Content-Disposition", disp);
	http_reply_buffer(r, 200, "text/csv; charset=utf-8", b);
	evbuffer_free(b);
}

/* ---- POST /v1/imports ---- */

/* NULL when the caller's role may import kind, else why not. */
static const char *imports_refusal(enum account_role role, enum sheet_kind k)
{
	switch (k) {
	case SHEET_ACCOUNTS:
		return role == ACCOUNT_ADMIN || role == ACCOUNT_MODERATOR
			   ? NULL
			   : "only admins and moderators import accounts";
	case SHEET_NEEDS:
		return role == ACCOUNT_VILLAGE ? NULL
					       : "only village accounts import needs (their own)";
	case SHEET_OFFERS:
		return role == ACCOUNT_SUPPLIER
			   ? NULL
			   : "only supplier accounts import offers (their own)";
	case SHEET_KIND_UNKNOWN:
		break;
	}
	return "unknown kind";
}

void imports_create(struct http_req *r)
{
	static const char *const allowed[] = {"kind", "forum", "dry_run", NULL};
	if (api_query_refused(r, allowed, "parameter"))
		return;
	json_t *errors = NULL;
	enum sheet_kind k = imports_kind(r, &errors);
	char *forum = http_req_query(r, "forum");
	char *dry = http_req_query(r, "dry_run");
	int dry_run = 0;
	if (forum && !fields_forum_id_ok(forum))
		fields_error(&errors, "forum", "must be a forum id (a-z, 0-9 and -)");
	if (dry && (!strcmp(dry, "1") || !strcmp(dry, "true")))
		dry_run = 1;
	else if (dry && strcmp(dry, "0") && strcmp(dry, "false"))
		fields_error(&errors, "dry_run", "must be 1, true, 0 or false");
	free(dry);
	if (errors) {
		free(forum);
		api_reply_invalid(r, errors);
		return;
	}
	const char *why = imports_refusal(api_role(r), k);
	if (why) {
		free(forum);
		http_reply_problem(r, 403, "forbidden", NULL, "%s", why);
		return;
	}
	size_t len;
	const char *data = http_req_body(r, "text/csv", &len);
	if (data == NULL) {
		free(forum);
		return;
	}
	if (imports_busy(r->app->imports)) {
		free(forum);
		http_reply_unavailable(r, "too many imports under way; send the sheet again soon");
		return;
	}
	struct sheet *sheet =
	    sheet_parse(k, data, len, (size_t)r->app->cfg.import_max_rows, &errors);
	if (sheet == NULL) {
		free(forum);
		size_t n = json_array_size(errors);
		http_reply_problem(
		    r, 400, "malformed-sheet", errors,
		    "the file is not a %s sheet (%zu problem%s; see errors); nothing "
		    "was imported",
		    sheet_kind_name(k), n, n == 1 ? "" : "s");
		return;
	}
	import_run(r->app->imports, r, sheet, forum, dry_run);
	free(forum);
}

/* ---- GET /v1/imports/{id} ---- */

struct imports_get_ctx {
	struct http_req *r;
	char id[IDS_MAX];
	size_t offset, limit;
};

static const char *imports_hget(const json_t *flat, const char *name)
{
	for (size_t i = 0; i + 1 < json_array_size(flat); i += 2)
		if (!strcmp(json_string_value(json_array_get(flat, i)), name))
			return json_string_value(json_array_get(flat, i + 1));
	return NULL;
}

static json_int_t imports_hint(const json_t *flat, const char *name)
{
	const char *v = imports_hget(flat, name);
	return v ? strtoll(v, NULL, 10) : 0;
}

static void imports_got(const struct store_reply *res, void *arg)
{
	struct imports_get_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		free(c);
		api_reply_store_error(r, res);
		return;
	}
	const json_t *flat = json_array_get(res->value, 0);
	const char *owner = imports_hget(flat, "owner");
	/* another's import is not found, unless the caller is an admin */
	if (owner == NULL ||
	    (strcmp(owner, api_account_id(r)) != 0 && api_role(r) != ACCOUNT_ADMIN)) {
		free(c);
		http_reply_problem(r, 404, "not-found", NULL, "no such import");
		return;
	}
	json_t *results = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_array_get(res->value, 1), i, v)
	{
		json_t *row = json_loads(json_string_value(v), 0, NULL);
		if (row)
			json_array_append_new(results, row);
	}
	json_int_t done = imports_hint(flat, "done");
	size_t next = c->offset + json_array_size(results);
	const char *forum = imports_hget(flat, "forum");
	/* Every batch writes its progress. An import that has not moved for
	 * --import-stale-ms was left by a node that stopped: it says so, and
	 * sending the same file again finishes it (its rows so far skipped). */
	const char *status = imports_hget(flat, "status");
	if (status && strcmp(status, "done") != 0 &&
	    clock_now_ms() - imports_hint(flat, "updated_at") > r->app->cfg.import_stale_ms)
		status = "interrupted";
	json_t *body = json_pack(
	    "{s:s, s:s*, s:s*, s:s*, s:{s:I, s:I, s:I, s:I, s:I}, s:I, s:I, s:o, s:o}", "id", c->id,
	    "kind", imports_hget(flat, "kind"), "forum", forum && *forum ? forum : NULL, "status",
	    status, "rows", "total", imports_hint(flat, "total"), "done", done, "created",
	    imports_hint(flat, "created"), "skipped", imports_hint(flat, "skipped"), "failed",
	    imports_hint(flat, "failed"), "created_at", imports_hint(flat, "created_at"),
	    "updated_at", imports_hint(flat, "updated_at"), "results", results, "next_offset",
	    (json_int_t)next < done ? json_integer((json_int_t)next) : json_null());
	free(c);
	http_reply_json(r, 200, body);
}

void imports_get(struct http_req *r)
{
	static const char *const allowed[] = {"offset", "limit", NULL};
	if (api_query_refused(r, allowed, "parameter"))
		return;
	char *id = http_req_param(r, "id");
	if (id == NULL || !ids_valid("imp", id)) {
		free(id);
		http_reply_problem(r, 404, "not-found", NULL, "no such import");
		return;
	}
	struct imports_get_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	snprintf(c->id, sizeof(c->id), "%s", id);
	free(id);
	json_t *errors = NULL;
	char *off = http_req_query(r, "offset");
	char *lim = http_req_query(r, "limit");
	c->limit = IMPORTS_PAGE_DEFAULT;
	if (off) {
		size_t n = strlen(off);
		if (n == 0 || n > 9 || strspn(off, "0123456789") != n)
			fields_error(&errors, "offset", "must be a row offset (next_offset)");
		else
			c->offset = strtoul(off, NULL, 10);
	}
	if (lim) {
		char *end;
		long v = strtol(lim, &end, 10);
		if (*lim == '\0' || *end || v < 1 || v > IMPORTS_PAGE_MAX)
			fields_error(&errors, "limit", "must be from 1 to %d", IMPORTS_PAGE_MAX);
		else
			c->limit = (size_t)v;
	}
	free(off);
	free(lim);
	if (errors) {
		free(c);
		api_reply_invalid(r, errors);
		return;
	}
	store_import_get(r->app->store, c->id, c->offset, c->limit, imports_got, c);
}
