/*
 * matching_filter — the hard filters of a need and an offer, in the
 * documented order (see matching.h).
 */
#include "common/matching.h"

#include <stdint.h>
#include <string.h>

#include "common/matching_int.h"
#include "common/materials.h"

/* ---- hard filters ----------------------------------------------------- */

/* The grade filter: 1 passes, 0 refuses (see the header on substitutes). */
int matching_grade_ok(const struct matching_listing *need, const struct matching_listing *offer)
{
	const struct material *nm = need->material;
	int min;

	if (need->grade_rank < 0)
		return 1; /* no minimum */
	if (offer->material == nm) {
		min = need->grade_rank;
	} else {
		if (need->grade_rank == 0 || (size_t)need->grade_rank > nm->n_grades)
			return 0; /* not a rank of the need's scale: cannot tell */
		min = materials_grade_rank(offer->material,
					   nm->grades[nm->n_grades - (size_t)need->grade_rank]);
		if (min < 0)
			return 1; /* scales not comparable: the filter does not apply */
	}
	return offer->grade_rank >= min;
}

static int matching_refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return 0;
}

/*
 * Every hard filter but distance, in the documented order: the part that
 * needs no trigonometry, so a plan runs it first and measures distance only
 * for the candidates that pass.
 */
int matching_compatible_here(const struct matching_listing *need,
			     const struct matching_listing *offer, int64_t now_ms, const char **why)
{
	if (need == NULL || offer == NULL || need->kind != LISTING_NEED ||
	    offer->kind != LISTING_OFFER)
		return matching_refuse(why, "not a need and an offer");
	if (strcmp(need->owner, offer->owner) == 0)
		return matching_refuse(why, "same owner");
	if (need->remaining <= 0)
		return matching_refuse(why, "the need has nothing remaining");
	if (offer->remaining <= 0)
		return matching_refuse(why, "the offer has nothing remaining");
	if (offer->remaining < offer->min_order_base)
		return matching_refuse(why, "the offer's remaining is below its minimum order");
	if (need->remaining < offer->min_order_base)
		return matching_refuse(why,
				       "the need's remaining is below the offer's minimum order");
	if (need->material == NULL || offer->material == NULL ||
	    (need->material != offer->material && !need->accept_substitutes))
		return matching_refuse(why, "different material");
	if (need->material != offer->material &&
	    !materials_is_substitute(need->material, offer->material))
		return matching_refuse(why, "not an accepted substitute");
	if (!matching_grade_ok(need, offer))
		return matching_refuse(why, "grade below the need's minimum");
	if (need->price_vnd > 0 && (offer->price_factor < 1 || need->price_factor < 1 ||
				    (matching_i128)offer->price_vnd * need->price_factor >
					(matching_i128)need->price_vnd * offer->price_factor))
		return matching_refuse(why, "price above the need's maximum");
	if (need->needed_by_ms <= now_ms)
		return matching_refuse(why, "the need's deadline has passed");
	if (offer->available_until_ms != 0 && offer->available_until_ms <= now_ms)
		return matching_refuse(why, "the offer is no longer available");
	if (offer->available_from_ms > need->needed_by_ms)
		return matching_refuse(why, "available only after the need's deadline");
	return 1;
}

/* The distance filters: each side's maximum distance, when it has one. */
int matching_compatible_apart(const struct matching_listing *need,
			      const struct matching_listing *offer, int64_t distance_km,
			      const char **why)
{
	if (need->max_distance_km > 0 && distance_km > need->max_distance_km)
		return matching_refuse(why, "beyond the need's maximum distance");
	if (offer->max_distance_km > 0 && distance_km > offer->max_distance_km)
		return matching_refuse(why, "beyond the offer's maximum distance");
	return 1;
}

int matching_compatible(const struct matching_listing *need, const struct matching_listing *offer,
			int64_t now_ms, int64_t distance_km, const char **why)
{
	return matching_compatible_here(need, offer, now_ms, why) &&
	       matching_compatible_apart(need, offer, distance_km, why);
}
