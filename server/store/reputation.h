/*
 * reputation (store) — an account's record of keeping its word, as the
 * match functions count it (store/lua/1-reputation.lua).
 */
#ifndef CM_STORE_REPUTATION_H
#define CM_STORE_REPUTATION_H

#include <stddef.h>

#include "server/store/store.h"

/* The counts of one account, in the order cm_reputation_get answers them. */
enum store_rep_field {
	SRF_CONFIRMED,
	SRF_FULFILLED,
	SRF_QUANTITY_FULFILLED, /* the confirmed quantity of the fulfilled matches */
	SRF_QUANTITY_DELIVERED,
	SRF_DECLINED,
	SRF_CANCELLED,
	SRF_EXPIRED,
	SRF_COUNT
};

/* At most this many accounts per call (a page of matches has two per match). */
#define STORE_REP_MAX 256

/* value: per account of ids[0..n), its counts (enum store_rep_field), zeros when none */
void store_reputation_get(struct store *s, const char *const *ids, size_t n, store_cb cb,
			  void *arg);
/* value: [next cursor ("0" at the end), [account, "KEPT ENDED", ...]] (STORE_PAGE_*) */
void store_engine_reputation(struct store *s, const char *cursor, int count, store_cb cb,
			     void *arg);

#endif
