/*
 * clearing — a forum's listings as a transport problem (transport.h), built
 * with exactly the continuous engine's rules (matching.h), and the solved
 * flow read back as proposed allocations.
 *
 * Every open need x open offer pair of a material the need accepts (its own
 * or, when it accepts substitutes, one the materials table lists) that
 * matching_compatible() passes at now_ms, at matching_distance_km() apart,
 * becomes an arc; its cost per base unit is the landed cost the engine
 * ranks by, matching_price_micro() + matching_freight_micro() (micro-VND).
 * So the clearing honours every hard filter the continuous engine does:
 * same owner, material and substitutes, grade, price ceiling, dates,
 * distance limits of both sides, and an offer's minimum order (as the
 * problem's min_order, and the pair filter "the need's remaining is below
 * the offer's minimum order"). A pair whose landed cost per base unit does
 * not fit int64 is left out, as the engine skips it.
 *
 * Supplies and demands are the listings' remaining quantities. Listings of
 * neither kind and NULL entries are ignored. No I/O, no clock.
 */
#ifndef CM_CLEARING_H
#define CM_CLEARING_H

#include <stddef.h>
#include <stdint.h>

#include "common/matching.h"
#include "common/transport.h"

struct clearing {
	struct transport_problem problem;	/* points into the arrays below */
	const struct matching_listing **offers; /* problem offer i -> listing */
	const struct matching_listing **needs;	/* problem need j -> listing */
	struct transport_arc *arcs;
	int64_t *supply, *demand, *min_order;
	int64_t *distance_km; /* per arc, for the explanation */
	size_t *need_arcs;    /* per need: how many arcs it has (its candidates) */
	int64_t now_ms, rate;
};

/*
 * Builds c from the n listings (borrowed: c points at them until
 * clearing_free) at now_ms with the freight rate (0..MATCHING_RATE_MAX).
 * 0, or -1 with a static *why when rate is out of range. Allocates with
 * xmalloc (aborts on exhaustion).
 */
int clearing_build(struct clearing *c, const struct matching_listing *const *listings, size_t n,
		   int64_t now_ms, int64_t rate, const char **why);
void clearing_free(struct clearing *c);

/*
 * Leaves out the arcs whose pair keep() refuses (returns 0): the caller's
 * own rule on top of the engine's filters (the call market's: a pair whose
 * last match failed while neither listing changed). The arcs kept stay in
 * their order; need_arcs counts only them. Call before solving.
 */
void clearing_keep(struct clearing *c,
		   int (*keep)(const struct matching_listing *need,
			       const struct matching_listing *offer, void *arg),
		   void *arg);

/*
 * The allocation of arc a carrying quantity (> 0) as a matching_alloc, the
 * record the engine proposes and matching_explain() explains: costs, totals
 * (matching_totals()), distance and its basis; rank 1 and candidates = the
 * arcs of the same need (the clearing ranks the whole forum, not one
 * listing's candidates); index = the offer's problem index. 0, or -1 when
 * the totals do not fit (matching_totals()).
 */
int clearing_alloc(const struct clearing *c, size_t a, int64_t quantity,
		   struct matching_alloc *out);

#endif
