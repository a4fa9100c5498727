/*
 * stats (API) — GET /v1/stats (see stats.h). One read of the scope's cells
 * (store/stats.c), merged into rows by common/stats.c; with format=csv, the
 * rows or the flows (table=) as a CSV file through export.c, whose single
 * page is that same answer.
 */
#include "server/api/stats.h"

#include <stdlib.h>
#include <string.h>

#include "common/fields.h"
#include "common/provinces.h"
#include "common/stats.h"
#include "common/xalloc.h"
#include "server/api/api.h"
#include "server/api/export.h"
#include "server/api/export_columns.h"
#include "server/app.h"
#include "server/http/request.h"
#include "server/store/stats.h"

#define STATS_SCOPE_CSV_MAX 2048

struct stats_ctx {
	struct http_req *r;
	struct stats_query q;
	char *text[STATS_DIMS + 1]; /* the query values, owned */
	char scope[2][STATS_SCOPE_CSV_MAX];
	const char *own; /* STATS_OWN: the caller's account id (the request's) */
	/* format=csv */
	char *table; /* table=: rows (the default) or flows; owned */
	int flows;   /* the flows table */
	struct export_spec spec;
	struct csvout_column cols[STATS_DIMS + EXPORT_STATS_FIGURE_COLUMNS];
};

static void stats_ctx_free(struct stats_ctx *c)
{
	for (size_t i = 0; i < sizeof(c->text) / sizeof(c->text[0]); i++)
		free(c->text[i]);
	free(c->table);
	free(c);
}

static void stats_export_free(void *ctx)
{
	stats_ctx_free(ctx);
}

static void stats_export_fetch(void *ctx, const char *cursor, store_cb cb, void *arg)
{
	struct stats_ctx *c = ctx;
	(void)cursor; /* one page: the whole answer */
	store_stats_read(c->r->app->store, c->own, c->own == NULL, cb, arg);
}

/* The answer's rows or flows as the one page of the export. */
static json_t *stats_export_page(void *ctx, const json_t *reply)
{
	struct stats_ctx *c = ctx;
	json_t *answer = stats_answer(&c->q, reply);
	json_t *page =
	    json_pack("{s:O, s:n}", "items", json_object_get(answer, c->flows ? "flows" : "rows"),
		      "next_cursor");
	json_decref(answer);
	return page;
}

/* The export of c's answer: the columns of its table, in c->cols. */
static const struct export_spec *stats_export_spec(struct stats_ctx *c)
{
	struct export_spec *sp = &c->spec;
	size_t n = 0;
	if (c->flows) {
		sp->name = "stats-flows";
		sp->columns = export_flow_columns;
		sp->n_columns = EXPORT_FLOW_COLUMNS;
	} else {
		for (size_t i = 0; i < c->q.ngroup; i++)
			c->cols[n++] = *export_stats_dim_column(stats_dim_name(c->q.group[i]));
		for (size_t i = 0; i < EXPORT_STATS_FIGURE_COLUMNS; i++)
			c->cols[n++] = export_stats_figure_columns[i];
		sp->name = "stats";
		sp->columns = c->cols;
		sp->n_columns = n;
	}
	sp->fetch = stats_export_fetch;
	sp->page = stats_export_page;
	sp->free = stats_export_free;
	return sp;
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
	static const char *const allowed[] = {"group",	  "need_province", "offer_province",
					      "material", "forum",	   "month",
					      "table",	  EXPORT_PARAMS,   NULL};
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
	struct export_opts eo;
	export_params(r, &eo, &errors);
	c->table = http_req_query(r, "table");
	if (c->table && strcmp(c->table, "flows") == 0)
		c->flows = 1;
	else if (c->table && strcmp(c->table, "rows") != 0)
		fields_error(&errors, "table", "must be rows or flows");
	if (c->table && !eo.csv)
		fields_error(&errors, "table",
			     "applies to format=csv only (the JSON answer holds both)");
	if (errors) {
		stats_ctx_free(c);
		api_reply_invalid(r, errors);
		return;
	}
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
		c->own = api_account_id(r);
		break;
	}
	if (eo.csv) {
		export_start(r, stats_export_spec(c), c, &eo);
		return;
	}
	store_stats_read(r->app->store, c->own, c->own == NULL, stats_read, c);
}
