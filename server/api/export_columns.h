/*
 * export_columns — the columns of the CSV exports: for each list route, the
 * members of its JSON items in a fixed order, each with its dotted path as
 * the header (the API's own names) and a Vietnamese label (headers=vi).
 * The order and the headers are a contract (docs/api.md): columns are only
 * ever added at the end.
 */
#ifndef CM_API_EXPORT_COLUMNS_H
#define CM_API_EXPORT_COLUMNS_H

#include "common/csvout.h"

#define EXPORT_LISTING_COLUMNS 35
#define EXPORT_MATCH_COLUMNS 30
#define EXPORT_ACCOUNT_COLUMNS 14
#define EXPORT_STATS_FIGURE_COLUMNS 15
#define EXPORT_FLOW_COLUMNS 5

extern const struct csvout_column export_listing_columns[EXPORT_LISTING_COLUMNS];
extern const struct csvout_column export_match_columns[EXPORT_MATCH_COLUMNS];
extern const struct csvout_column export_account_columns[EXPORT_ACCOUNT_COLUMNS];

/*
 * GET /v1/stats?format=csv: a row table is the grouped dimensions (each
 * dimension's column, in the order asked) followed by the figures; the
 * flows table is fixed.
 */
const struct csvout_column *export_stats_dim_column(const char *dim);
extern const struct csvout_column export_stats_figure_columns[EXPORT_STATS_FIGURE_COLUMNS];
extern const struct csvout_column export_flow_columns[EXPORT_FLOW_COLUMNS];

#endif
