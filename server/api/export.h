/*
 * export — a list route's rows as a CSV file (GET /v1/listings, /v1/matches,
 * /v1/accounts with format=csv), streamed.
 *
 * The file holds exactly the items the JSON list would give page after page
 * for the same caller and filters: the route's handler checks the query and
 * the caller as for JSON, then hands its query to export_start, which asks
 * the store for one page at a time (the route's own page call, the route's
 * own view of the rows) and sends each as one chunk of a chunked reply. The
 * next page is read only once what was sent has mostly left for the kernel
 * (back-pressure), so an export holds at most one page and EXPORT_LOW_WATER
 * bytes, and the loop serves other requests between pages. A client that
 * leaves ends the export at the next step; a store failure after the head
 * went out (retried first) cuts the connection so that the client sees a
 * truncated body, never a short file that looks whole.
 */
#ifndef CM_API_EXPORT_H
#define CM_API_EXPORT_H

#include <jansson.h>
#include <stddef.h>

#include "common/csvout.h"
#include "server/store/store.h"

struct http_req;

/* What a list route gives an export: its columns, its page call and its view. */
struct export_spec {
	const char *name; /* the file: craftmatch-<name>.csv */
	const struct csvout_column *columns;
	size_t n_columns;
	/* Asks the store for the page after cursor (NULL: the first); cb gets [next, rows]. */
	void (*fetch)(void *ctx, const char *cursor, store_cb cb, void *arg);
	/* The page as the JSON route answers it, {"items": [...], "next_cursor": ...}: new ref. */
	json_t *(*page)(void *ctx, const json_t *reply);
	void (*free)(void *ctx);
};

struct export_opts {
	int csv;    /* format=csv */
	int bom;    /* bom=1: the file starts with the UTF-8 byte order mark */
	int labels; /* headers=vi: the header row has the Vietnamese labels */
};

/* The query parameters export_params reads, for a route's list of allowed ones. */
#define EXPORT_PARAMS "format", "bom", "headers"

/*
 * Reads format= (json, the default, or csv), bom= (0 or 1) and headers=
 * (api, the default: the JSON members' dotted paths, or vi), CSV only; a
 * CSV export holds every row, so cursor= and limit= are refused with it.
 * Appends errors; fills o.
 */
void export_params(struct http_req *r, struct export_opts *o, json_t **errors);

/*
 * Takes r and ctx over: answers with every page as CSV, then frees ctx with
 * spec->free. A store failure before the first page is answered as problem+json.
 */
void export_start(struct http_req *r, const struct export_spec *spec, void *ctx,
		  const struct export_opts *o);

#endif
