/*
 * matching_int — what the files of the matching core share among themselves
 * and nobody else: the exact arithmetic's type, the province-centre distance
 * table, the filters a plan runs in two halves, and the ranked entry with
 * the greedy allocation that both plans end in. The public interface is
 * matching.h; nothing outside common/matching_*.c includes this header.
 */
#ifndef CM_MATCHING_INT_H
#define CM_MATCHING_INT_H

#include <stddef.h>
#include <stdint.h>
#include <threads.h>

#include "common/matching.h"

struct material;
struct province;

__extension__ typedef __int128 matching_i128;

/* ---- costs (matching_cost.c) -------------------------------------------- */

/*
 * Road km between every two province centres, built once by
 * matching_centres_build() under matching_centres_once.
 */
#define MATCHING_MAX_PROVINCES 64
extern int64_t matching_centre_km[MATCHING_MAX_PROVINCES][MATCHING_MAX_PROVINCES];
extern once_flag matching_centres_once;
void matching_centres_build(void);

/* The table's index of p, or -1 when p is not in the provinces table. */
long matching_province_index(const struct province *p);

/* ---- hard filters (matching_filter.c) ------------------------------------ */

/* The grade filter: 1 passes, 0 refuses (see matching.h on substitutes). */
int matching_grade_ok(const struct matching_listing *need, const struct matching_listing *offer);
/* Every filter but distance; 1 passes, 0 refuses with *why (may be NULL). */
int matching_compatible_here(const struct matching_listing *need,
			     const struct matching_listing *offer, int64_t now_ms,
			     const char **why);
/* The distance filters: each side's maximum distance, when it has one. */
int matching_compatible_apart(const struct matching_listing *need,
			      const struct matching_listing *offer, int64_t distance_km,
			      const char **why);

/* ---- ranking and allocation (matching_plan.c) ------------------------------ */

/* A compatible candidate with its sort keys; cand is the listing. */
struct matching_entry {
	int64_t landed_micro;
	int64_t deadline; /* tie-break 2: INT64_MAX for an open-ended offer */
	const struct matching_listing *cand;
	size_t index;
	int64_t distance_km;
	int64_t price_micro;
	int64_t freight_micro;
	enum matching_distance_from from;
};

/* The costs of an entry from its price and distance; 0 when they do not fit. */
int matching_entry_cost(struct matching_entry *e, const struct material *offer_material,
			int64_t price_micro, int64_t km, int64_t rate);
/* The entry of one candidate against the subject; 0 when incompatible. */
int matching_entry_make(const struct matching_listing *subject, const struct matching_listing *cand,
			size_t index, int64_t now_ms, int64_t rate, struct matching_entry *e);
/* Appends *e to the growing array *entries of *count (capacity *cap). */
void matching_entry_push(struct matching_entry **entries, size_t *count, size_t *cap,
			 const struct matching_entry *e);
/*
 * The greedy allocation over count entries (a heap is made of them); *redo
 * says it reached past rank ranked, where the entries cannot be vouched for.
 */
size_t matching_allocate(const struct matching_listing *subject, struct matching_entry *entries,
			 size_t count, size_t compatible, size_t ranked, int64_t rate,
			 struct matching_alloc *out, size_t max_out, int *redo);

/*
 * The bound: the MATCHING_PRUNE_KEEP least landed costs seen, a max-heap
 * whose top is the last of them. A candidate whose landed cost (bounded
 * from below) is above the top's ranks after all of them, whatever its
 * owner's reputation, deadline, seq and id; one of an equal cost is
 * costed, as reputation may rank it first (and matching_allocate compares
 * a choice with its runner-up of the same cost).
 */
struct matching_best {
	int64_t landed, deadline;
};

/* Whether a candidate of this landed cost ranks after bound b. */
static inline int matching_best_after(int64_t landed, int64_t deadline,
				      const struct matching_best *b)
{
	(void)deadline;
	return landed > b->landed;
}

/* Adds a landed cost (and its deadline) to best[0 .. *best_n), kept to the
 * MATCHING_PRUNE_KEEP least; best[0] is then the bound. */
void matching_best_add(struct matching_best *best, size_t *best_n, int64_t landed,
		       int64_t deadline);

#endif
