/*
 * imports (store) — argv for the import functions (see imports.h).
 */
#include "server/store/imports.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "server/clock.h"
#include "server/store/keys.h"

void store_import_put(struct store *s, const char *id, const char *owner, const char *kind,
		      const char *forum, size_t total, int ttl_s, store_cb cb, void *arg)
{
	char k[2][KEYS_MAX], tot[24], now[24], ttl[16];
	snprintf(tot, sizeof(tot), "%zu", total);
	snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	clock_now_arg(now);
	const char *keys[] = {keys_import(k[0], id), keys_import_rows(k[1], id)};
	const char *args[] = {owner, kind, forum ? forum : "", tot, now, ttl};
	store_fcall(s, "cm_import_put", 0, 2, keys, 6, args, NULL, cb, arg);
}

void store_import_progress(struct store *s, const char *id, const char *status,
			   const struct store_import_counts *added, char *const *results, size_t n,
			   int ttl_s, store_cb cb, void *arg)
{
	char k[2][KEYS_MAX], c[3][24], now[24], ttl[16];
	snprintf(c[0], sizeof(c[0]), "%zu", added->created);
	snprintf(c[1], sizeof(c[1]), "%zu", added->skipped);
	snprintf(c[2], sizeof(c[2]), "%zu", added->failed);
	snprintf(ttl, sizeof(ttl), "%d", ttl_s);
	clock_now_arg(now);
	const char *keys[] = {keys_import(k[0], id), keys_import_rows(k[1], id)};
	const char **args = xcalloc(n + 6, sizeof(*args));
	args[0] = status;
	args[1] = c[0];
	args[2] = c[1];
	args[3] = c[2];
	args[4] = now;
	args[5] = ttl;
	for (size_t i = 0; i < n; i++)
		args[6 + i] = results[i];
	store_fcall(s, "cm_import_progress", 0, 2, keys, (int)(n + 6), args, NULL, cb, arg);
	free(args);
}

void store_import_get(struct store *s, const char *id, size_t offset, size_t limit, store_cb cb,
		      void *arg)
{
	char k[2][KEYS_MAX], off[24], lim[24];
	snprintf(off, sizeof(off), "%zu", offset);
	snprintf(lim, sizeof(lim), "%zu", limit);
	const char *keys[] = {keys_import(k[0], id), keys_import_rows(k[1], id)};
	const char *args[] = {off, lim};
	store_fcall(s, "cm_import_get", 1, 2, keys, 2, args, NULL, cb, arg);
}
