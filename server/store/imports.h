/*
 * imports (store) — the import resources of POST /v1/imports (see
 * server/store/lua/9-imports.lua): created queued, moved on batch by batch
 * with the results of its rows, read a page of results at a time. The rows
 * are written by the account and listing create functions.
 */
#ifndef CM_STORE_IMPORTS_H
#define CM_STORE_IMPORTS_H

#include <stddef.h>

#include "server/store/store.h"

/* value: 1; CONFLICT when the id is taken */
void store_import_put(struct store *s, const char *id, const char *owner, const char *kind,
		      const char *forum, size_t total, int ttl_s, store_cb cb, void *arg);

/* value: the rows done so far. results: n JSON texts, in sheet order. */
struct store_import_counts {
	size_t created, skipped, failed;
};
void store_import_progress(struct store *s, const char *id, const char *status,
			   const struct store_import_counts *added, char *const *results, size_t n,
			   int ttl_s, store_cb cb, void *arg);

/* value: [[field, value, ...], [result JSON texts]] or null */
void store_import_get(struct store *s, const char *id, size_t offset, size_t limit, store_cb cb,
		      void *arg);

#endif
