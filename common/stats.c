/*
 * stats — merging counter cells into the rows of GET /v1/stats (see stats.h).
 */
#include "common/stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static const char *const stats_dim_names[STATS_DIMS] = {
    [STATS_NEED_PROVINCE] = "need_province",
    [STATS_OFFER_PROVINCE] = "offer_province",
    [STATS_MATERIAL] = "material",
    [STATS_FORUM] = "forum",
    [STATS_MONTH] = "month",
};

const char *stats_dim_name(enum stats_dim d)
{
	return d < STATS_DIMS ? stats_dim_names[d] : "";
}

int stats_parse_group(const char *text, struct stats_query *q, const char **why)
{
	q->ngroup = 0;
	if (text == NULL || *text == '\0')
		return 0;
	const char *p = text;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int found = -1;
		for (int d = 0; d < STATS_DIMS; d++)
			if (strlen(stats_dim_names[d]) == len &&
			    memcmp(stats_dim_names[d], p, len) == 0)
				found = d;
		if (found < 0) {
			*why = "unknown name: group by need_province, offer_province, material, "
			       "forum or month";
			return -1;
		}
		for (size_t i = 0; i < q->ngroup; i++)
			if (q->group[i] == (enum stats_dim)found) {
				*why = "a name given twice";
				return -1;
			}
		q->group[q->ngroup++] = (enum stats_dim)found;
		if (end == NULL)
			return 0;
		p = end + 1;
	}
}

int stats_month_ok(const char *t)
{
	if (t == NULL || strlen(t) != 7 || t[4] != '-')
		return 0;
	for (int i = 0; i < 7; i++)
		if (i != 4 && (t[i] < '0' || t[i] > '9'))
			return 0;
	int m = (t[5] - '0') * 10 + (t[6] - '0');
	return m >= 1 && m <= 12;
}

static int stats_sample_cmp(const void *a, const void *b)
{
	const struct stats_sample *x = a, *y = b;
	return (x->value > y->value) - (x->value < y->value);
}

int64_t stats_median(struct stats_sample *s, size_t n)
{
	stats_i128 total = 0;
	for (size_t i = 0; i < n; i++)
		total += s[i].count > 0 ? s[i].count : 0;
	if (total == 0)
		return -1;
	qsort(s, n, sizeof(*s), stats_sample_cmp);
	stats_i128 k = (total - 1) / 2, seen = 0; /* the lower median's 0-based rank */
	for (size_t i = 0; i < n; i++) {
		seen += s[i].count > 0 ? s[i].count : 0;
		if (seen > k)
			return s[i].value;
	}
	return s[n - 1].value;
}

void stats_u128_text(stats_i128 v, char *buf, size_t len)
{
	char tmp[48];
	size_t i = sizeof(tmp);
	tmp[--i] = '\0';
	if (v <= 0)
		tmp[--i] = '0';
	while (v > 0) {
		tmp[--i] = (char)('0' + (int)(v % 10));
		v /= 10;
	}
	snprintf(buf, len, "%s", tmp + i);
}

void stats_ratio(stats_u128 num, stats_u128 den, char *buf, size_t len)
{
	stats_u128 r = (num * 2000000 + den) / (den * 2);
	char whole[48];
	stats_u128_text((stats_i128)(r / 1000000), whole, sizeof(whole));
	snprintf(buf, len, "%s.%06u", whole, (unsigned)(r % 1000000));
}

/* ---- cells ---------------------------------------------------------------- */

enum stats_counter {
	SC_NEEDS_N,
	SC_NEEDS_Q,
	SC_OFFERS_N,
	SC_OFFERS_Q,
	SC_P_N,
	SC_P_Q,
	SC_C_N,
	SC_C_Q,
	SC_C_V,
	SC_C_F,
	SC_F_N,
	SC_F_Q,
	SC_F_V,
	SC_COUNT
};

/* The match cell's fields, in enum stats_counter order from SC_P_N. */
static const char *const stats_match_fields[] = {"p_n", "p_q", "c_n", "c_q", "c_v",
						 "c_f", "f_n", "f_q", "f_v"};

struct stats_row {
	char *dim[STATS_DIMS]; /* NULL: null */
	stats_i128 c[SC_COUNT];
	struct stats_sample *delays;
	size_t nd, capd;
};

struct stats_flow {
	char key[200];
	stats_i128 confirmed, fulfilled;
};

struct stats_acc {
	const struct stats_query *q;
	json_t *index; /* row key -> row number */
	struct stats_row *rows;
	size_t n, cap;
	json_t *flow_index;
	struct stats_flow *flows;
	size_t nf, capf;
};

/* The five parts of a cell name a|b|c|d|e into buf; 0, or -1 when malformed. */
static int stats_split(const char *name, char buf[256], const char *part[5])
{
	if (name == NULL || strlen(name) >= 256)
		return -1;
	strcpy(buf, name);
	char *p = buf;
	for (int i = 0; i < 5; i++) {
		part[i] = p;
		char *bar = strchr(p, '|');
		if (i < 4) {
			if (bar == NULL)
				return -1;
			*bar = '\0';
			p = bar + 1;
		} else if (bar != NULL) {
			return -1;
		}
	}
	return 0;
}

static stats_i128 stats_parse_int(const char *t)
{
	if (t == NULL)
		return 0;
	int neg = *t == '-';
	stats_i128 v = 0;
	for (const char *p = t + neg; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return neg ? -v : v;
}

static int stats_csv_has(const char *csv, const char *item)
{
	size_t len = strlen(item);
	for (const char *p = csv; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == len && len > 0 && memcmp(p, item, len) == 0)
			return 1;
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* 1 when a cell with these dimensions passes the query's filters. */
static int stats_passes(const struct stats_query *q, const char *const dim[STATS_DIMS],
			const char *forum)
{
	for (int d = 0; d < STATS_DIMS; d++) {
		const char *f = q->filter[d];
		if (f == NULL)
			continue;
		const char *v = d == STATS_FORUM ? forum : dim[d];
		if (v == NULL || strcmp(v, f) != 0)
			return 0;
	}
	return 1;
}

/* The row of the cell's dimensions, made when new. */
static struct stats_row *stats_row_of(struct stats_acc *a, const char *const dim[STATS_DIMS])
{
	char key[512];
	size_t o = 0;
	key[0] = '\0';
	for (size_t i = 0; i < a->q->ngroup; i++) {
		const char *v = dim[a->q->group[i]];
		o += (size_t)snprintf(key + o, sizeof(key) - o, "%s\x1f", v ? v : "\x01");
		if (o >= sizeof(key))
			o = sizeof(key) - 1;
	}
	json_t *at = json_object_get(a->index, key);
	if (at)
		return &a->rows[json_integer_value(at)];
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		a->rows = xrealloc(a->rows, a->cap * sizeof(*a->rows));
	}
	struct stats_row *r = &a->rows[a->n];
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < a->q->ngroup; i++) {
		enum stats_dim d = a->q->group[i];
		r->dim[d] = dim[d] ? xstrdup(dim[d]) : NULL;
	}
	json_object_set_new(a->index, key, json_integer((json_int_t)a->n));
	a->n++;
	return r;
}

/* Dimensions of a listing cell kind|province|material|forum|month; 0 or -1. */
static int stats_listing_dims(const struct stats_query *q, const char *name, char buf[256],
			      const char *dim[STATS_DIMS], const char **forum, int *need)
{
	const char *p[5];
	if (stats_split(name, buf, p) != 0)
		return -1;
	*need = strcmp(p[0], "need") == 0;
	if (!*need && strcmp(p[0], "offer") != 0)
		return -1;
	dim[STATS_NEED_PROVINCE] = *need ? p[1] : NULL;
	dim[STATS_OFFER_PROVINCE] = *need ? NULL : p[1];
	dim[STATS_MATERIAL] = p[2];
	dim[STATS_FORUM] = p[3][0] ? p[3] : NULL;
	dim[STATS_MONTH] = p[4];
	*forum = p[3];
	if (q->scope == STATS_MODERATOR && !(stats_csv_has(q->scope_provinces, p[1]) ||
					     (p[3][0] && stats_csv_has(q->scope_forums, p[3]))))
		return -1;
	return stats_passes(q, dim, p[3]) ? 0 : -1;
}

static const json_t *stats_flat_get(const json_t *flat, const char *field)
{
	for (size_t i = 0; i + 1 < json_array_size(flat); i += 2) {
		const char *f = json_string_value(json_array_get(flat, i));
		if (f && strcmp(f, field) == 0)
			return json_array_get(flat, i + 1);
	}
	return NULL;
}

/* A Redis value: an integer, or decimal text. */
static stats_i128 stats_json_int(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	return stats_parse_int(json_string_value(v));
}

static stats_i128 stats_flat_int(const json_t *flat, const char *field)
{
	const json_t *v = stats_flat_get(flat, field);
	if (json_is_integer(v))
		return json_integer_value(v);
	return stats_parse_int(json_string_value(v));
}

/*
 * The row a listing cell [key, figures] adds to, and whether the cell is of
 * needs; NULL when the query's filters or scope leave the cell out.
 */
static struct stats_row *stats_listing_row(struct stats_acc *a, const json_t *cell, int *need)
{
	char buf[256];
	const char *dim[STATS_DIMS], *forum;
	if (stats_listing_dims(a->q, json_string_value(json_array_get(cell, 0)), buf, dim, &forum,
			       need) != 0)
		return NULL;
	return stats_row_of(a, dim);
}

static void stats_add_listings(struct stats_acc *a, const json_t *cells)
{
	size_t i;
	const json_t *cell;
	json_array_foreach(cells, i, cell)
	{
		int need;
		const json_t *flat = json_array_get(cell, 1);
		struct stats_row *r = stats_listing_row(a, cell, &need);
		if (r == NULL)
			continue;
		r->c[need ? SC_NEEDS_N : SC_OFFERS_N] += stats_flat_int(flat, "n");
		r->c[need ? SC_NEEDS_Q : SC_OFFERS_Q] += stats_flat_int(flat, "q");
	}
}

static void stats_add_delays(struct stats_acc *a, const json_t *cells)
{
	size_t i;
	const json_t *cell;
	json_array_foreach(cells, i, cell)
	{
		int need;
		const json_t *flat = json_array_get(cell, 1);
		struct stats_row *r = stats_listing_row(a, cell, &need);
		if (r == NULL)
			continue;
		for (size_t k = 0; k + 1 < json_array_size(flat); k += 2) {
			if (r->nd == r->capd) {
				r->capd = r->capd ? r->capd * 2 : 16;
				r->delays = xrealloc(r->delays, r->capd * sizeof(*r->delays));
			}
			r->delays[r->nd].value =
			    (int64_t)stats_parse_int(json_string_value(json_array_get(flat, k)));
			r->delays[r->nd].count =
			    (int64_t)stats_json_int(json_array_get(flat, k + 1));
			r->nd++;
		}
	}
}

static void stats_add_flow(struct stats_acc *a, const char *op, const char *np, const char *mat,
			   stats_i128 confirmed, stats_i128 fulfilled)
{
	if (confirmed == 0 && fulfilled == 0)
		return;
	char key[200];
	snprintf(key, sizeof(key), "%s|%s|%s", op, np, mat);
	json_t *at = json_object_get(a->flow_index, key);
	struct stats_flow *f;
	if (at) {
		f = &a->flows[json_integer_value(at)];
	} else {
		if (a->nf == a->capf) {
			a->capf = a->capf ? a->capf * 2 : 16;
			a->flows = xrealloc(a->flows, a->capf * sizeof(*a->flows));
		}
		f = &a->flows[a->nf];
		memset(f, 0, sizeof(*f));
		snprintf(f->key, sizeof(f->key), "%s", key);
		json_object_set_new(a->flow_index, key, json_integer((json_int_t)a->nf));
		a->nf++;
	}
	f->confirmed += confirmed;
	f->fulfilled += fulfilled;
}

static void stats_add_matches(struct stats_acc *a, const json_t *cells)
{
	const struct stats_query *q = a->q;
	size_t i;
	const json_t *cell;
	json_array_foreach(cells, i, cell)
	{
		char buf[256];
		const char *p[5], *dim[STATS_DIMS];
		const json_t *flat = json_array_get(cell, 1);
		if (stats_split(json_string_value(json_array_get(cell, 0)), buf, p) != 0)
			continue;
		dim[STATS_NEED_PROVINCE] = p[0];
		dim[STATS_OFFER_PROVINCE] = p[1];
		dim[STATS_MATERIAL] = p[2];
		dim[STATS_FORUM] = p[3][0] ? p[3] : NULL;
		dim[STATS_MONTH] = p[4];
		if (q->scope == STATS_MODERATOR &&
		    !(stats_csv_has(q->scope_provinces, p[0]) ||
		      stats_csv_has(q->scope_provinces, p[1]) ||
		      (p[3][0] && stats_csv_has(q->scope_forums, p[3]))))
			continue;
		if (!stats_passes(q, dim, p[3]))
			continue;
		struct stats_row *r = stats_row_of(a, dim);
		stats_i128 v[SC_COUNT - SC_P_N];
		for (size_t k = 0; k < SC_COUNT - SC_P_N; k++) {
			v[k] = stats_flat_int(flat, stats_match_fields[k]);
			r->c[SC_P_N + k] += v[k];
		}
		stats_add_flow(a, p[1], p[0], p[2], v[SC_C_Q - SC_P_N], v[SC_F_Q - SC_P_N]);
	}
}

static int stats_dim_cmp(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

static const struct stats_query *stats_sort_query;

static int stats_row_cmp(const void *a, const void *b)
{
	const struct stats_row *x = a, *y = b;
	for (size_t i = 0; i < stats_sort_query->ngroup; i++) {
		enum stats_dim d = stats_sort_query->group[i];
		int c = stats_dim_cmp(x->dim[d], y->dim[d]);
		if (c)
			return c;
	}
	return 0;
}

static int stats_flow_cmp(const void *a, const void *b)
{
	return strcmp(((const struct stats_flow *)a)->key, ((const struct stats_flow *)b)->key);
}

static void stats_acc_run(struct stats_acc *a, const struct stats_query *q, const json_t *cells)
{
	memset(a, 0, sizeof(*a));
	a->q = q;
	a->index = json_object();
	a->flow_index = json_object();
	stats_add_listings(a, json_array_get(cells, 0));
	stats_add_matches(a, json_array_get(cells, 1));
	stats_add_delays(a, json_array_get(cells, 2));
	if (q->ngroup == 0 && a->n == 0) {
		const char *none[STATS_DIMS] = {0};
		stats_row_of(a, none);
	}
	/* qsort takes no context: the query goes through a file static, set
	 * and read on the calling thread only (the loop's). */
	stats_sort_query = q;
	if (a->n > 1)
		qsort(a->rows, a->n, sizeof(*a->rows), stats_row_cmp);
	if (a->nf > 1)
		qsort(a->flows, a->nf, sizeof(*a->flows), stats_flow_cmp);
}

static void stats_acc_free(struct stats_acc *a)
{
	for (size_t i = 0; i < a->n; i++) {
		for (int d = 0; d < STATS_DIMS; d++)
			free(a->rows[i].dim[d]);
		free(a->rows[i].delays);
	}
	free(a->rows);
	free(a->flows);
	json_decref(a->index);
	json_decref(a->flow_index);
}

/* ---- answers ---------------------------------------------------------------- */

static json_t *stats_text(stats_i128 v)
{
	char buf[48];
	stats_u128_text(v, buf, sizeof(buf));
	return json_string(buf);
}

static json_t *stats_count(stats_i128 n, stats_i128 q)
{
	return json_pack("{s:I, s:o}", "count", (json_int_t)n, "quantity", stats_text(q));
}

static json_t *stats_row_json(const struct stats_query *q, struct stats_row *r)
{
	json_t *o = json_object();
	for (size_t i = 0; i < q->ngroup; i++) {
		enum stats_dim d = q->group[i];
		json_object_set_new(o, stats_dim_names[d],
				    r->dim[d] ? json_string(r->dim[d]) : json_null());
	}
	const stats_i128 *c = r->c;
	int own = q->scope == STATS_OWN;
	json_object_set_new(o, "needs", stats_count(c[SC_NEEDS_N], c[SC_NEEDS_Q]));
	json_object_set_new(o, "offers", stats_count(c[SC_OFFERS_N], c[SC_OFFERS_Q]));
	json_object_set_new(o, "proposed", own ? json_null() : stats_count(c[SC_P_N], c[SC_P_Q]));
	json_object_set_new(o, "confirmed",
			    json_pack("{s:I, s:o, s:o, s:o}", "count", (json_int_t)c[SC_C_N],
				      "quantity", stats_text(c[SC_C_Q]), "value_vnd",
				      stats_text(c[SC_C_V]), "freight_vnd", stats_text(c[SC_C_F])));
	json_object_set_new(o, "fulfilled",
			    json_pack("{s:I, s:o, s:o}", "count", (json_int_t)c[SC_F_N], "quantity",
				      stats_text(c[SC_F_Q]), "value_vnd", stats_text(c[SC_F_V])));
	int64_t median = own ? -1 : stats_median(r->delays, r->nd);
	json_object_set_new(o, "median_seconds_to_first_proposal",
			    median < 0 ? json_null() : json_integer(median));
	if (c[SC_C_Q] > 0) {
		char rate[64];
		stats_ratio((stats_u128)(c[SC_F_Q] > 0 ? c[SC_F_Q] : 0), (stats_u128)c[SC_C_Q],
			    rate, sizeof(rate));
		json_object_set_new(o, "fulfilment_rate", json_string(rate));
	} else {
		json_object_set_new(o, "fulfilment_rate", json_null());
	}
	return o;
}

json_t *stats_answer(const struct stats_query *q, const json_t *cells)
{
	static const char *const scopes[] = {"all", "moderator", "own"};
	struct stats_acc a;
	stats_acc_run(&a, q, cells);
	json_t *group = json_array(), *filters = json_object(), *rows = json_array(),
	       *flows = json_array();
	for (size_t i = 0; i < q->ngroup; i++)
		json_array_append_new(group, json_string(stats_dim_names[q->group[i]]));
	for (int d = 0; d < STATS_DIMS; d++)
		if (q->filter[d])
			json_object_set_new(filters, stats_dim_names[d], json_string(q->filter[d]));
	for (size_t i = 0; i < a.n; i++)
		json_array_append_new(rows, stats_row_json(q, &a.rows[i]));
	for (size_t i = 0; i < a.nf; i++) {
		char buf[256];
		const char *p[3] = {buf, "", ""};
		snprintf(buf, sizeof(buf), "%s", a.flows[i].key);
		char *bar = strchr(buf, '|');
		if (bar) {
			*bar = '\0';
			p[1] = bar + 1;
			bar = strchr(bar + 1, '|');
			if (bar) {
				*bar = '\0';
				p[2] = bar + 1;
			}
		}
		json_array_append_new(
		    flows, json_pack("{s:s, s:s, s:s, s:o, s:o}", "offer_province", p[0],
				     "need_province", p[1], "material", p[2], "confirmed_quantity",
				     stats_text(a.flows[i].confirmed), "fulfilled_quantity",
				     stats_text(a.flows[i].fulfilled)));
	}
	stats_acc_free(&a);
	return json_pack("{s:o, s:o, s:s, s:o, s:o}", "group", group, "filters", filters, "scope",
			 scopes[q->scope], "rows", rows, "flows", flows);
}

/* ---- /metrics ----------------------------------------------------------------- */

struct stats_buf {
	char *s;
	size_t len, cap;
};

static void stats_put(struct stats_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void stats_put(struct stats_buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 0) + 64;
		b->s = xrealloc(b->s, b->cap);
	}
}

static void stats_head(struct stats_buf *b, const char *name, const char *help)
{
	stats_put(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
}

static void stats_sample(struct stats_buf *b, const char *name, const char *labels, stats_i128 v)
{
	char t[48];
	stats_u128_text(v, t, sizeof(t));
	stats_put(b, "%s%s%s%s %s\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "", t);
}

char *stats_metrics_text(const json_t *cells)
{
	struct stats_query q = {.group = {STATS_MATERIAL}, .ngroup = 1, .scope = STATS_ALL};
	struct stats_acc a;
	stats_acc_run(&a, &q, cells);
	stats_i128 tot[SC_COUNT] = {0};
	for (size_t i = 0; i < a.n; i++)
		for (int k = 0; k < SC_COUNT; k++)
			tot[k] += a.rows[i].c[k];
	struct stats_buf b = {.s = xmalloc(1024), .cap = 1024};
	b.s[0] = '\0';
	char l[160];
	stats_head(&b, "craftmatch_listings_posted_total", "Needs and offers posted.");
	stats_sample(&b, "craftmatch_listings_posted_total", "kind=\"need\"", tot[SC_NEEDS_N]);
	stats_sample(&b, "craftmatch_listings_posted_total", "kind=\"offer\"", tot[SC_OFFERS_N]);
	stats_head(&b, "craftmatch_listings_posted_quantity_total",
		   "Base units of the needs and offers posted, as they stand, by material.");
	for (size_t i = 0; i < a.n; i++) {
		const char *m = a.rows[i].dim[STATS_MATERIAL] ? a.rows[i].dim[STATS_MATERIAL] : "";
		snprintf(l, sizeof(l), "kind=\"need\",material=\"%s\"", m);
		stats_sample(&b, "craftmatch_listings_posted_quantity_total", l,
			     a.rows[i].c[SC_NEEDS_Q]);
		snprintf(l, sizeof(l), "kind=\"offer\",material=\"%s\"", m);
		stats_sample(&b, "craftmatch_listings_posted_quantity_total", l,
			     a.rows[i].c[SC_OFFERS_Q]);
	}
	static const struct {
		const char *status;
		int n, q;
	} st[] = {{"proposed", SC_P_N, SC_P_Q},
		  {"confirmed", SC_C_N, SC_C_Q},
		  {"fulfilled", SC_F_N, SC_F_Q}};
	stats_head(&b, "craftmatch_matches_total",
		   "Matches proposed, confirmed (both parties accepted) and fulfilled.");
	for (size_t s = 0; s < 3; s++) {
		snprintf(l, sizeof(l), "status=\"%s\"", st[s].status);
		stats_sample(&b, "craftmatch_matches_total", l, tot[st[s].n]);
	}
	stats_head(&b, "craftmatch_matches_quantity_total",
		   "Base units proposed, confirmed and delivered, by material.");
	for (size_t i = 0; i < a.n; i++)
		for (size_t s = 0; s < 3; s++) {
			snprintf(l, sizeof(l), "status=\"%s\",material=\"%s\"", st[s].status,
				 a.rows[i].dim[STATS_MATERIAL] ? a.rows[i].dim[STATS_MATERIAL]
							       : "");
			stats_sample(&b, "craftmatch_matches_quantity_total", l,
				     a.rows[i].c[st[s].q]);
		}
	stats_head(&b, "craftmatch_matches_value_vnd_total",
		   "Goods value in VND of the matches confirmed and of what was delivered.");
	stats_sample(&b, "craftmatch_matches_value_vnd_total", "status=\"confirmed\"", tot[SC_C_V]);
	stats_sample(&b, "craftmatch_matches_value_vnd_total", "status=\"fulfilled\"", tot[SC_F_V]);
	stats_head(&b, "craftmatch_matches_freight_vnd_total",
		   "Freight in VND of the matches confirmed.");
	stats_sample(&b, "craftmatch_matches_freight_vnd_total", "", tot[SC_C_F]);
	stats_acc_free(&a);
	return b.s;
}
