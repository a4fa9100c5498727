/*
 * stats (API) — GET /v1/stats (see stats.h). One read of the scope's cells
 * (store/stats.c), merged into rows by common/stats.c.
 */
#include "server/api/stats.h"

#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/provinces.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/app.h"
#include "server/http/request.h"
#include "server/store/stats.h"

#define STATS_SCOPE_CSV_MAX 2048

struct stats_ctx {
	struct http_req *r;
	struct stats_query q;
	char *text[STATS_DIMS + 1]; /* the query values, owned */
	char scope[2][STATS_SCOPE_CSV_MAX];
};

static void stats_ctx_free(struct stats_ctx *c)
{
	for (size_t i = 0; i < sizeof(c->text) / sizeof(c->text[0]); i++)
		free(c->text[i]);
	free(c);
}

static void stats_read(const struct store_reply *res, void *arg)
{
	struct stats_ctx *c = arg;
	struct http_req *r = c->r;
	if (res->status != STORE_OK) {
		stats_ctx_free(c);
		api_reply_store_error(r, res);
		return;
	}
	json_t *answer = stats_answer(&c->q, res->value);
	stats_ctx_free(c);
	http_reply_json(r, 200, answer);
}

/* Checks the filter of dimension d (c->text[d]) and sets it in c->q. */
static void stats_filter(struct stats_ctx *c, enum stats_dim d, json_t **errors)
{
	const char *t = c->text[d];
	const char *name = stats_dim_name(d);
	if (t == NULL)
		return;
	switch (d) {
	case STATS_NEED_PROVINCE:
	case STATS_OFFER_PROVINCE:
		if (provinces_find(t) == NULL)
			fields_error(errors, name,
				     "not a province, current or former (see /v1/provinces)");
		else
			c->q.filter[d] = provinces_find(t)->code;
		break;
	case STATS_MATERIAL:
		if (*t == '\0')
			fields_error(errors, name, "must be a material code");
		else
			c->q.filter[d] = api_filter_material(t, errors);
		break;
	case STATS_FORUM:
		if (*t != '\0' && !fields_forum_id_ok(t))
			fields_error(errors, name,
				     "must be a forum id (a-z, 0-9 and -), or empty for none");
		else
			c->q.filter[d] = t;
		break;
	case STATS_MONTH:
		if (!stats_month_ok(t))
			fields_error(errors, name, "must be a month, YYYY-MM");
		else
			c->q.filter[d] = t;
		break;
	default:
		break;
	}
}

void stats_get(struct http_req *r)
{
	static const char *const allowed[] = {
	    "group", "need_province", "offer_province", "material", "forum", "month", NULL};
	if (api_query_refused(r, allowed, "parameter"))
		return;
	struct stats_ctx *c = xcalloc(1, sizeof(*c));
	c->r = r;
	json_t *errors = NULL;
	for (int d = 0; d < STATS_DIMS; d++) {
		c->text[d] = http_req_query(r, stats_dim_name((enum stats_dim)d));
		stats_filter(c, (enum stats_dim)d, &errors);
	}
	c->text[STATS_DIMS] = http_req_query(r, "group");
	const char *why = NULL;
	if (stats_parse_group(c->text[STATS_DIMS], &c->q, &why) != 0)
		fields_error(&errors, "group", "%s", why);
	if (errors) {
		stats_ctx_free(c);
		api_reply_invalid(r, errors);
		return;
	}
	const char *own = NULL;
	switch (api_role(r)) {
	case ACCOUNT_ADMIN:
		c->q.scope = STATS_ALL;
		break;
	case ACCOUNT_MODERATOR:
		c->q.scope = STATS_MODERATOR;
		c->q.scope_provinces =
		    account_scope_csv(r->account, "provinces", c->scope[0], sizeof(c->scope[0]));
		c->q.scope_forums =
		    account_scope_csv(r->account, "forums", c->scope[1], sizeof(c->scope[1]));
		break;
	default:
		c->q.scope = STATS_OWN;
		own = api_account_id(r);
		break;
	}
	store_stats_read(r->app->store, own, own == NULL, stats_read, c);
}
