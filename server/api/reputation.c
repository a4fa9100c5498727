/*
 * reputation (API) — see reputation.h.
 */
#include "server/api/reputation.h"

#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/http/request.h"
#include "server/store/accounts.h"
#include "server/store/reputation.h"

static json_int_t reputation_count(const json_t *counts, enum store_rep_field f)
{
	return (json_int_t)store_field_int(counts, f);
}

json_t *reputation_render(const char *account, const json_t *counts)
{
	json_int_t fulfilled = reputation_count(counts, SRF_FULFILLED);
	json_int_t ended = fulfilled + reputation_count(counts, SRF_DECLINED) +
			   reputation_count(counts, SRF_CANCELLED) +
			   reputation_count(counts, SRF_EXPIRED);
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I}, s:{s:I, s:I}}",
			 "account_id", account, "confirmed",
			 reputation_count(counts, SRF_CONFIRMED), "fulfilled", fulfilled,
			 "declined", reputation_count(counts, SRF_DECLINED), "cancelled",
			 reputation_count(counts, SRF_CANCELLED), "expired",
			 reputation_count(counts, SRF_EXPIRED), "quantity_fulfilled",
			 reputation_count(counts, SRF_QUANTITY_FULFILLED), "quantity_delivered",
			 reputation_count(counts, SRF_QUANTITY_DELIVERED), "delivered_share",
			 "numerator", reputation_count(counts, SRF_QUANTITY_DELIVERED),
			 "denominator", reputation_count(counts, SRF_QUANTITY_FULFILLED),
			 "fulfilment_rate", "numerator", fulfilled, "denominator", ended);
}

/* ---- GET /v1/accounts/{id}/reputation ---- */

struct reputation_ctx {
	struct http_req *r;
	char id[IDS_MAX];
};

static void reputation_got(const struct store_reply *res, void *arg)
{
	struct reputation_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK || json_array_size(res->value) != 1) {
		if (res->status == STORE_OK)
			http_reply_problem(r, 500, "internal", NULL, "unreadable reputation");
		else
			api_reply_store_error(r, res);
		free(c);
		return;
	}
	http_reply_json(r, 200, reputation_render(c->id, json_array_get(res->value, 0)));
	free(c);
}

static void reputation_account_got(const struct store_reply *res, void *arg)
{
	struct reputation_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK || !json_is_string(res->value)) {
		if (res->status == STORE_OK)
			http_reply_problem(r, 404, "not-found", NULL, "no such account");
		else
			api_reply_store_error(r, res);
		free(c);
		return;
	}
	const char *ids[] = {c->id};
	store_reputation_get(r->app->store, ids, 1, reputation_got, c);
}

void accounts_reputation(struct http_req *r)
{
	char *id = http_req_param(r, "id");
	if (id == NULL || !ids_valid("acc", id)) {
		free(id);
		http_reply_problem(r, 404, "not-found", NULL, "no such account");
		return;
	}
	enum account_role role = api_role(r);
	if (role != ACCOUNT_ADMIN && role != ACCOUNT_MODERATOR &&
	    strcmp(id, api_account_id(r)) != 0) {
		free(id);
		http_reply_problem(r, 403, "forbidden", NULL,
				   "an account's reputation is shown to itself, moderators and "
				   "admins; the other party of an approved match sees it on the "
				   "match");
		return;
	}
	struct reputation_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	snprintf(c->id, sizeof(c->id), "%s", id);
	free(id);
	store_account_get(r->app->store, c->id, reputation_account_got, c);
}

/* ---- on match views ---- */

struct reputation_job {
	struct http_req *r;
	json_t **views;
	size_t n;
	int (*side)[2];	      /* per view: the owner's place in ids for need, offer; -1 none */
	char (*ids)[IDS_MAX]; /* distinct owners to read */
	size_t n_ids;
	reputation_done done;
	void *arg;
};

static void reputation_job_free(struct reputation_job *j)
{
	free(j->views);
	free(j->side);
	free(j->ids);
	free(j);
}

static int reputation_place(struct reputation_job *j, const char *owner)
{
	for (size_t i = 0; i < j->n_ids; i++)
		if (strcmp(j->ids[i], owner) == 0)
			return (int)i;
	snprintf(j->ids[j->n_ids], IDS_MAX, "%s", owner);
	return (int)j->n_ids++;
}

static void reputation_attached(const struct store_reply *res, void *arg)
{
	struct reputation_job *j = arg;
	if (res->status != STORE_OK || json_array_size(res->value) != j->n_ids) {
		j->done(j->r, j->arg, res->status != STORE_OK ? res : NULL);
		reputation_job_free(j);
		return;
	}
	static const char *const names[2] = {"need", "offer"};
	for (size_t i = 0; i < j->n; i++) {
		json_t *rep = NULL;
		for (int s = 0; s < 2; s++) {
			int at = j->side[i][s];
			if (at < 0)
				continue;
			if (rep == NULL)
				rep = json_object();
			json_object_set_new(
			    rep, names[s],
			    reputation_render(j->ids[at], json_array_get(res->value, (size_t)at)));
		}
		if (rep)
			json_object_set_new(j->views[i], "reputation", rep);
	}
	j->done(j->r, j->arg, NULL);
	reputation_job_free(j);
}

void reputation_attach(struct http_req *r, json_t *const *views, const struct match_facts *f,
		       size_t n, reputation_done done, void *arg)
{
	if (n > STORE_REP_MAX / 2)
		n = STORE_REP_MAX / 2;
	struct reputation_job *j = xcalloc(1, sizeof(*j));
	j->r = r;
	j->n = n;
	j->done = done;
	j->arg = arg;
	j->views = xcalloc(n ? n : 1, sizeof(*j->views));
	j->side = xcalloc(n ? n : 1, sizeof(*j->side));
	j->ids = xcalloc(2 * (n ? n : 1), sizeof(*j->ids));
	for (size_t i = 0; i < n; i++) {
		int need, offer;
		j->views[i] = views[i];
		match_reputation_sides(r->account, &f[i], &need, &offer);
		j->side[i][0] =
		    need && f[i].need_owner[0] ? reputation_place(j, f[i].need_owner) : -1;
		j->side[i][1] =
		    offer && f[i].offer_owner[0] ? reputation_place(j, f[i].offer_owner) : -1;
	}
	if (j->n_ids == 0) {
		done(r, arg, NULL);
		reputation_job_free(j);
		return;
	}
	const char *ids[STORE_REP_MAX];
	for (size_t i = 0; i < j->n_ids; i++)
		ids[i] = j->ids[i];
	store_reputation_get(r->app->store, ids, j->n_ids, reputation_attached, j);
}
