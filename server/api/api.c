/*
 * api — shared handler helpers (see api.h).
 */
#include "server/api/api.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/fields.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/textfold.h"
#include "common/xalloc.h"
#include "server/app.h"
#include "server/http/request.h"

void api_reply_store_error(struct http_req *r, const struct store_reply *res)
{
	const char *msg = res->message ? res->message : "";
	switch (res->status) {
	case STORE_OK:
		http_reply_problem(r, 500, "internal", NULL, "unexpected store outcome");
		return;
	case STORE_NOT_FOUND:
		http_reply_problem(r, 404, "not-found", NULL, "%s", msg);
		return;
	case STORE_CONFLICT:
	case STORE_REFUSED:
		http_reply_problem(r, 409, "conflict", NULL, "%s", msg);
		return;
	case STORE_FORBIDDEN:
		http_reply_problem(r, 403, "forbidden", NULL, "%s", msg);
		return;
	case STORE_INVALID:
		http_reply_problem(r, 400, "validation", NULL, "%s", msg);
		return;
	case STORE_UNAVAILABLE:
		http_reply_unavailable(r, msg);
		return;
	case STORE_UNCONFIRMED:
		http_reply_header(r, "Retry-After", "1");
		http_reply_problem(r, 503, "unconfirmed", NULL, "%s", msg);
		return;
	case STORE_REAUTH:
		/* Only a write made on a credential not yet checked for this request
		 * answers this; such an answer waits for auth.c, which asks Redis
		 * again and builds the request afresh: this text is never sent. */
		http_reply_problem(r, 401, "unauthorized", NULL, "the credential changed");
		return;
	case STORE_FAILED:
		break;
	}
	http_reply_problem(r, 500, "internal", NULL, "the store failed; see the server log");
}

void api_as_begin(struct http_req *r)
{
	store_as(r->app->store, r->as);
}

void api_as_end(struct http_req *r)
{
	/* The call inside API_WRITE must have sent its write at once, carrying
	 * r->as: a write sent later would go unchecked. */
	if (r->as && r->app->store->as == r->as)
		abort();
	store_as(r->app->store, NULL);
}

enum account_role api_role(const struct http_req *r)
{
	return account_role_of(r->account);
}

int api_refuse_unless_staff(struct http_req *r, const char *what)
{
	enum account_role role = api_role(r);
	if (role == ACCOUNT_ADMIN || role == ACCOUNT_MODERATOR)
		return 0;
	http_reply_problem(r, 403, "forbidden", NULL, "only admins and moderators %s", what);
	return 1;
}

const char *api_account_id(const struct http_req *r)
{
	return json_string_value(json_object_get(r->account, "id"));
}

int api_idempotency(struct http_req *r, struct api_idem *out)
{
	memset(out, 0, sizeof(*out));
	const char *k = http_req_header(r, "Idempotency-Key");
	if (k == NULL)
		return 0;
	size_t kl = strlen(k);
	int printable = kl > 0 && kl <= 255;
	for (size_t i = 0; printable && i < kl; i++)
		printable = k[i] >= 0x21 && k[i] <= 0x7e;
	if (!printable) {
		http_reply_problem(r, 400, "bad-request", NULL,
				   "Idempotency-Key must be 1 to 255 visible ASCII characters");
		return -1;
	}
	char khash[IDS_TOKEN_HASH_HEX];
	ids_token_hash(k, kl, khash);
	store_idem_key(out->key, api_account_id(r), khash);

	/* Fingerprint: method, path and body, so a reused key with another request is caught. */
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	size_t bl = evbuffer_get_length(in);
	size_t hl = strlen(r->method) + strlen(r->path) + 2;
	char *buf = xmalloc(hl + bl + 1);
	int n = snprintf(buf, hl + 1, "%s %s\n", r->method, r->path);
	evbuffer_copyout(in, buf + n, bl);
	ids_token_hash(buf, (size_t)n + bl, out->fingerprint);
	free(buf);
	out->idem.key = out->key;
	out->idem.fingerprint = out->fingerprint;
	return 0;
}

int api_if_match(const char *header, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = header;
	for (;;) {
		p += strspn(p, " \t,");
		if (*p == '\0')
			return 0;
		if (*p == '*')
			return 1;
		const char *end = p;
		if (*p == '"') {
			const char *close = strchr(p + 1, '"');
			end = close ? close + 1 : p + strlen(p);
		} else {
			end = p + strcspn(p, ",");
		}
		if ((size_t)(end - p) == el && memcmp(p, etag, el) == 0)
			return 1;
		p = end;
	}
}

json_t *api_page(const json_t *reply, api_view_fn view)
{
	json_t *items = json_array();
	size_t i;
	json_t *row;
	json_array_foreach(store_field(reply, STORE_PAGE_ROWS), i, row)
	{
		/* rows carry the id first, then the stored fields */
		json_t *fields = json_array();
		for (size_t k = 1; k < json_array_size(row); k++)
			json_array_append(fields, json_array_get(row, k));
		json_t *v = view(store_field_str(row, 0), fields); /* the id */
		json_decref(fields);
		if (v)
			json_array_append_new(items, v);
	}
	const char *next = store_field_str(reply, STORE_PAGE_NEXT);
	return json_pack("{s:o, s:o}", "items", items, "next_cursor",
			 next && *next ? json_string(next) : json_null());
}

void api_page_params(const char *cursor, const char *limit_text, int max, int *limit,
		     json_t **errors)
{
	if (cursor) {
		size_t n = strlen(cursor);
		if (n == 0 || n > 18 || strspn(cursor, "0123456789") != n)
			fields_error(errors, "cursor",
				     "must be the next_cursor of a previous page");
	}
	if (limit_text) {
		char *end;
		long v = strtol(limit_text, &end, 10);
		if (*limit_text == '\0' || *end || v < 1 || v > max)
			fields_error(errors, "limit", "must be from 1 to %d", max);
		else
			*limit = (int)v;
	}
}

const char *api_filter_material(const char *text, json_t **errors)
{
	if (text == NULL)
		return NULL;
	const struct material *m = materials_find(text);
	if (m == NULL)
		fields_error(errors, "material", "unknown material code (see /v1/materials)");
	return m ? m->code : NULL;
}

const char *api_filter_province(const char *text, json_t **errors)
{
	if (text == NULL)
		return NULL;
	const struct province *p = provinces_find(text);
	if (p == NULL)
		fields_error(errors, "province",
			     "not a province, current or former (see /v1/provinces)");
	return p ? p->code : NULL;
}

int api_query_refused(struct http_req *r, const char *const *allowed, const char *noun)
{
	const char *unknown = http_req_query_unknown(r, allowed);
	if (unknown == NULL)
		return 0;
	json_t *errors = NULL;
	if (strcmp(unknown, "?") == 0) {
		fields_error(&errors, "query", "the query string is malformed");
	} else {
		char names[256] = "";
		size_t n = 0;
		for (size_t i = 0; allowed[i] && n < sizeof(names); i++)
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
					      allowed[i]);
		fields_error(&errors, unknown, "unknown or repeated %s; use %s", noun, names);
	}
	api_reply_invalid(r, errors);
	return 1;
}

char *api_query_text(char *text, int max, json_t **errors)
{
	if (text == NULL)
		return NULL;
	if (fields_chars(text) > (size_t)max || !text_valid_utf8(text, strlen(text))) {
		fields_error(errors, "q", "must be valid UTF-8 text of at most %d characters", max);
		free(text);
		return NULL;
	}
	char *folded = text_fold_key(text, strlen(text));
	free(text);
	if (folded == NULL || *folded == '\0') {
		fields_error(errors, "q", "has no letters or digits to search for");
		free(folded);
		return NULL;
	}
	return folded;
}

void api_reply_invalid(struct http_req *r, json_t *errors)
{
	size_t n = json_array_size(errors);
	http_reply_problem(r, 400, "validation", errors, "%zu field%s %s not valid; see errors", n,
			   n == 1 ? "" : "s", n == 1 ? "is" : "are");
}
