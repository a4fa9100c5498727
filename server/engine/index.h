/*
 * index — the engine's in-memory candidate index of open listings.
 *
 * A cache rebuilt from Redis at start and kept current from cm:events:
 * listings by id, and per material and kind the open listings to match
 * against, so matching never scans Redis. Those lists are in key order
 * (matching_row_key) with each listing's matching_row beside it, as
 * matching_plan_runs reads them. Never authoritative: proposals are
 * checked again by the store.
 */
#ifndef CM_ENGINE_INDEX_H
#define CM_ENGINE_INDEX_H

#include <stddef.h>

#include "common/matching.h"

struct index;

/* A counterpart whose last match with a listing failed, and both versions then. */
struct index_failed {
	char other[IDS_MAX];
	int64_t mine, theirs;
};

struct index_entry {
	struct matching_listing l; /* its remaining: see known and reserved below */
	int64_t key;		   /* matching_row_key(): its place in its list */
	unsigned material;	   /* materials_at() index */
	/*
	 * l.remaining is what a plan may still allocate: known (the remaining
	 * quantity Redis last reported) less reserved (what proposals in flight
	 * take). index_set_known() and index_reserve() keep it so.
	 */
	int64_t known;
	int64_t reserved;
	unsigned queued : 1;   /* waiting in the engine's queue */
	unsigned retries : 6;  /* proposal rounds refused since the last change */
	unsigned in_round : 1; /* the subject of a proposal round in flight */
	unsigned again : 1;    /* changed while in a round: match again after it */
	/*
	 * Counterparts whose last match with this listing failed (rejected,
	 * declined, cancelled, expired; cm:pairs:failed): not candidates while
	 * both listings keep the versions they had then.
	 */
	struct index_failed *failed;
	unsigned n_failed, cap_failed;
};

struct index *index_new(void);
void index_free(struct index *ix);
size_t index_size(const struct index *ix);

struct index_entry *index_get(struct index *ix, const char *id);
/* Inserts or replaces the listing (by id); returns the entry. */
struct index_entry *index_put(struct index *ix, const struct matching_listing *l);
void index_remove(struct index *ix, const char *id);

/* Sets what Redis reports as remaining (negative counts as 0). */
void index_set_known(struct index *ix, struct index_entry *e, int64_t known);
/* Adds q (negative: gives back) to what proposals in flight take. */
void index_reserve(struct index *ix, struct index_entry *e, int64_t q);

/* Calls fn for every listing in the index (in no order); fn must not change the index. */
void index_each(struct index *ix, void (*fn)(struct index_entry *e, void *arg), void *arg);

/*
 * Loading many listings at once (the start-up snapshot): between
 * index_load(ix, 1) and index_load(ix, 0) listings are appended to their
 * lists and each list is put in key order once, at the end, instead of
 * each listing in its place as it comes (a search and a move of the tail
 * of items and rows per listing, which at 1M listings cost seconds).
 * index_plan() must not be called meanwhile.
 */
void index_load(struct index *ix, int on);

/*
 * Records that a match of need and offer failed when they had these
 * versions (either listing may be absent from the index).
 */
void index_fail(struct index *ix, const char *need, int64_t need_version, const char *offer,
		int64_t offer_version);

/*
 * Sets owner's reputation (matching_rep: kept, ended), which every listing
 * of owner in the index, now or later, reads for the tie-break.
 */
void index_rep_set(struct index *ix, const char *owner, int64_t kept, int64_t ended);

/*
 * Sets a listing's remaining, in its entry and in the row its plans read
 * (the engine goes through index_set_known and index_reserve, which call it).
 */
void index_set_remaining(struct index *ix, struct index_entry *e, int64_t remaining);

/*
 * Plans subject (matching_plan_runs) against its candidates: the open
 * listings of the other kind whose material is the subject's or a
 * substitute either way round (for a need, only when it accepts
 * substitutes), less the ones whose last match with it failed while
 * neither side has changed since. Writes up to
 * max_out allocations to out and, for each, the candidate's listing to
 * picked[i] (owned by the index, valid until it changes). Returns how many.
 */
size_t index_plan(struct index *ix, const struct index_entry *subject, int64_t now_ms, int64_t rate,
		  struct matching_alloc *out, size_t max_out, size_t *considered,
		  const struct matching_listing **picked);

#endif
