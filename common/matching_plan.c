/*
 * matching_plan — the reference plan: every candidate ranked by landed cost
 * and the greedy split allocation over them (see matching.h on the ranking).
 * The pruned plan over rows (matching_rows.c) must give the same answer.
 */
#include "common/matching.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "common/matching_int.h"

/* ---- ranking and allocation ------------------------------------------- */

static int matching_cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

int matching_rep_cmp(const struct matching_rep *a, const struct matching_rep *b)
{
	static const struct matching_rep none = {0, 0};
	if (a == NULL)
		a = &none;
	if (b == NULL)
		b = &none;
	/* (ka + 1) / (ea + 2) against (kb + 1) / (eb + 2): the larger is better */
	matching_i128 x = ((matching_i128)a->kept + 1) * ((matching_i128)b->ended + 2);
	matching_i128 y = ((matching_i128)b->kept + 1) * ((matching_i128)a->ended + 2);
	return (x < y) - (x > y);
}

static int matching_entry_cmp(const struct matching_entry *a, const struct matching_entry *b)
{
	int c;

	if ((c = matching_cmp_i64(a->landed_micro, b->landed_micro)) != 0)
		return c;
	/* Reputation only breaks a tie of the landed cost. */
	if ((c = matching_rep_cmp(a->cand->rep, b->cand->rep)) != 0)
		return c;
	if ((c = matching_cmp_i64(a->deadline, b->deadline)) != 0)
		return c;
	/* Ties past the cost and deadline are rare: only they read the listings. */
	if ((c = matching_cmp_i64(a->cand->seq, b->cand->seq)) != 0)
		return c;
	if ((c = strcmp(a->cand->id, b->cand->id)) != 0)
		return c;
	return (a->index > b->index) - (a->index < b->index);
}

/* A binary min-heap of entries under matching_entry_cmp. */
static void matching_sift_down(struct matching_entry *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && matching_entry_cmp(&h[l], &h[m]) < 0)
			m = l;
		if (r < n && matching_entry_cmp(&h[r], &h[m]) < 0)
			m = r;
		if (m == i)
			return;
		struct matching_entry t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void matching_heapify(struct matching_entry *h, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		matching_sift_down(h, n, i);
}

/* Removes and returns the least entry; *n must be > 0. */
static struct matching_entry matching_heap_pop(struct matching_entry *h, size_t *n)
{
	struct matching_entry top = h[0];
	h[0] = h[--*n];
	matching_sift_down(h, *n, 0);
	return top;
}

/* The costs of an entry from its price and distance; 0 when they do not fit. */
int matching_entry_cost(struct matching_entry *e, const struct material *offer_material,
			int64_t price_micro, int64_t km, int64_t rate)
{
	e->price_micro = price_micro;
	e->freight_micro = matching_freight_micro(offer_material, km, rate);
	if (e->price_micro < 0 || e->freight_micro < 0 ||
	    (matching_i128)e->price_micro + e->freight_micro > INT64_MAX)
		return 0;
	e->landed_micro = e->price_micro + e->freight_micro;
	e->distance_km = km;
	return 1;
}

/*
 * The entry of one candidate against the subject, or 0 when the pair is
 * incompatible or its per-unit cost does not fit.
 */
int matching_entry_make(const struct matching_listing *subject, const struct matching_listing *cand,
			size_t index, int64_t now_ms, int64_t rate, struct matching_entry *e)
{
	int subject_need = subject->kind == LISTING_NEED;
	const struct matching_listing *need = subject_need ? subject : cand;
	const struct matching_listing *offer = subject_need ? cand : subject;
	enum matching_distance_from from;

	if (!matching_compatible_here(need, offer, now_ms, NULL))
		return 0;
	int64_t km = matching_distance(need, offer, &from);
	if (!matching_compatible_apart(need, offer, km, NULL))
		return 0;
	if (!matching_entry_cost(e, offer->material, matching_price_micro(offer), km, rate))
		return 0;
	if (subject_need)
		e->deadline = offer->available_until_ms ? offer->available_until_ms : INT64_MAX;
	else
		e->deadline = need->needed_by_ms;
	e->cand = cand;
	e->index = index;
	e->from = from;
	return 1;
}

void matching_entry_push(struct matching_entry **entries, size_t *count, size_t *cap,
			 const struct matching_entry *e)
{
	if (*count == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*entries = xrealloc(*entries, *cap * sizeof(**entries));
	}
	(*entries)[(*count)++] = *e;
}

static void matching_rep_copy(struct matching_rep *to, const struct matching_rep *from)
{
	to->kept = from ? from->kept : 0;
	to->ended = from ? from->ended : 0;
}

/*
 * The greedy allocation over the ranked entries (a heap of count of them;
 * compatible is the number of compatible candidates, which may be more when
 * some were only counted). When ranked is below that number, entries past
 * rank ranked cannot be vouched for: *redo says the allocation reached them.
 */
size_t matching_allocate(const struct matching_listing *subject, struct matching_entry *entries,
			 size_t count, size_t compatible, size_t ranked, int64_t rate,
			 struct matching_alloc *out, size_t max_out, int *redo)
{
	size_t written = 0, heap_n = count;
	int64_t left = subject->remaining;

	*redo = 0;
	/*
	 * Only the cheapest few are ever used: a heap hands them out in order
	 * (O(n) to build, O(log n) each) instead of sorting all n.
	 */
	matching_heapify(entries, count);
	for (size_t r = 0; left > 0 && written < max_out; r++) {
		/*
		 * Past the vouched ranks, with more compatible than those: even
		 * when every entry made was used up (exactly ranked of them),
		 * the next rank may be one only counted.
		 */
		if (r >= ranked) {
			*redo = ranked < compatible;
			break;
		}
		if (r >= count)
			break;
		struct matching_entry top = matching_heap_pop(entries, &heap_n);
		const struct matching_entry *e = &top;
		const struct matching_listing *cand = e->cand;
		const struct matching_listing *offer =
		    subject->kind == LISTING_OFFER ? subject : cand;
		int64_t q = left < cand->remaining ? left : cand->remaining;
		struct matching_alloc *a = &out[written];

		if (offer->min_order_base > q)
			continue; /* below the offer's minimum order */
		if (matching_totals(offer, q, e->distance_km, rate, &a->goods_vnd, &a->freight_vnd,
				    &a->landed_vnd) != 0)
			continue;
		a->index = e->index;
		a->quantity = q;
		a->distance_km = e->distance_km;
		a->price_micro = e->price_micro;
		a->freight_micro = e->freight_micro;
		a->landed_micro = e->landed_micro;
		a->rank = r + 1;
		a->compatible = compatible;
		a->cand_kind = subject->kind == LISTING_NEED ? LISTING_OFFER : LISTING_NEED;
		a->distance_from = (uint8_t)e->from;
		/* The runner-up is the heap's top now: did the record alone rank them? */
		a->by_reputation = heap_n > 0 && entries[0].landed_micro == e->landed_micro &&
				   matching_rep_cmp(cand->rep, entries[0].cand->rep) < 0;
		matching_rep_copy(&a->rep, cand->rep);
		matching_rep_copy(&a->runner_up, a->by_reputation ? entries[0].cand->rep : NULL);
		written++;
		left -= q;
	}
	return written;
}

size_t matching_plan(const struct matching_listing *subject,
		     const struct matching_listing *const *cands, size_t n, int64_t now_ms,
		     int64_t rate, struct matching_alloc *out, size_t max_out, size_t *considered)
{
	struct matching_entry *entries = NULL;
	size_t count = 0, cap = 0, written;
	int redo;

	if (considered)
		*considered = n;
	if (subject == NULL || (subject->kind != LISTING_NEED && subject->kind != LISTING_OFFER) ||
	    rate < 0 || rate > MATCHING_RATE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct matching_entry e;
		if (cands[i] != NULL && matching_entry_make(subject, cands[i], i, now_ms, rate, &e))
			matching_entry_push(&entries, &count, &cap, &e);
	}
	written =
	    matching_allocate(subject, entries, count, count, count, rate, out, max_out, &redo);
	free(entries);
	return written;
}
