/*
 * stats — the figures of GET /v1/stats and the business counters of
 * /metrics, from the counter cells the Redis functions keep (see
 * server/store/lua/1-stats.lua on the cells). Pure: no I/O; the store
 * reads the cells (cm_stats_read), this merges them.
 *
 * Exact: counts, base units and VND add up in 128-bit integers and are
 * written as decimal text; the median is the lower median of the exact
 * delays; the fulfilment rate is rounded half up by integer arithmetic.
 */
#ifndef CM_COMMON_STATS_H
#define CM_COMMON_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

__extension__ typedef __int128 stats_i128;
__extension__ typedef unsigned __int128 stats_u128;

enum stats_dim {
	STATS_NEED_PROVINCE,
	STATS_OFFER_PROVINCE,
	STATS_MATERIAL,
	STATS_FORUM,
	STATS_MONTH,
	STATS_DIMS
};

/* The name of a dimension ("need_province", ...), as the API spells it. */
const char *stats_dim_name(enum stats_dim d);

enum stats_scope { STATS_ALL, STATS_MODERATOR, STATS_OWN };

struct stats_query {
	enum stats_dim group[STATS_DIMS]; /* in the order asked */
	size_t ngroup;
	/* A filter per dimension (NULL: none; "" for forum: no forum). */
	const char *filter[STATS_DIMS];
	enum stats_scope scope;
	/* STATS_MODERATOR: its provinces and forums, comma-separated. */
	const char *scope_provinces, *scope_forums;
};

/*
 * Parses a group list ("material,month"; NULL or "" for none) into q.
 * Returns 0, or -1 with *why set (an unknown or repeated name).
 */
int stats_parse_group(const char *text, struct stats_query *q, const char **why);

/* 1 when text is a month YYYY-MM (01 to 12). */
int stats_month_ok(const char *text);

/*
 * The answer of GET /v1/stats (docs/openapi.yaml, Stats) from cells, the
 * value of cm_stats_read: [listing cells, match cells, delays], each a list
 * of [cell name, [field, value, ...]]. Malformed cells are skipped.
 * Returns a new reference.
 */
json_t *stats_answer(const struct stats_query *q, const json_t *cells);

/*
 * The lower median of a distribution given as (value, count) pairs (any
 * order; sorted here), or -1 when the counts add up to nothing.
 */
struct stats_sample {
	int64_t value;
	int64_t count;
};
int64_t stats_median(struct stats_sample *s, size_t n);

/*
 * num / den as a decimal with six places, rounded half up ("0.833333"),
 * into buf (at least 48 bytes); den must be positive.
 */
void stats_ratio(stats_u128 num, stats_u128 den, char *buf, size_t len);

/* v as decimal text into buf (at least 48 bytes); negative v as 0. */
void stats_u128_text(stats_i128 v, char *buf, size_t len);

/*
 * The business counters of /metrics in the Prometheus text format, from
 * the global cells (cm_stats_read without delays). Returns a malloc'd
 * string.
 */
char *stats_metrics_text(const json_t *cells);

#endif
