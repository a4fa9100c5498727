/*
 * matching_explain — the explanation of one allocation that a moderator
 * reads at a glance (see matching.h).
 */
#include "common/matching.h"

#include <stdio.h>

#include "common/matching_int.h"
#include "common/materials.h"

/* ---- explanation ------------------------------------------------------ */

/* The code of m's unit with this factor ("tan" for 1000 of kg), or NULL. */
static const char *matching_unit_code(const struct material *m, int64_t factor)
{
	for (size_t i = 0; m && i < m->n_units; i++)
		if (m->units[i].factor == factor)
			return m->units[i].code;
	return NULL;
}

static const char *matching_ordinal_suffix(size_t k)
{
	if (k % 100 >= 11 && k % 100 <= 13)
		return "th";
	switch (k % 10) {
	case 1:
		return "st";
	case 2:
		return "nd";
	case 3:
		return "rd";
	default:
		return "th";
	}
}

/* The point a side's distance is measured from (explain's "location_basis"). */
static const char *matching_location_basis(const struct matching_listing *l)
{
	return l->has_location ? "coordinates" : "province centre";
}

json_t *matching_explain(const struct matching_listing *need, const struct matching_listing *offer,
			 const struct matching_alloc *a, int64_t rate)
{
	const struct material *m = offer->material;
	const char *unit = matching_unit_code(m, offer->price_factor);
	int substitute = need->material != offer->material;
	int offers = a->cand_kind == LISTING_OFFER;
	const char *what = offers ? "offer" : "need";
	char why[384], place[48];
	json_t *o;

	/* An offer has one price for every need: its order is by freight. */
	const char *order = offers ? "cheapest landed cost" : "nearest (lowest freight)";
	if (a->rank == 1)
		snprintf(place, sizeof(place), "%s", order);
	else
		snprintf(place, sizeof(place), "%zu%s %s", a->rank,
			 matching_ordinal_suffix(a->rank), order);
	snprintf(why, sizeof(why), "%s among %zu compatible %s%s%s%s%s", place, a->compatible, what,
		 a->compatible == 1 ? "" : "s",
		 a->rank > 1 ? (offers ? "; the need is split, cheaper offers were used first "
					 "or could not meet their minimum order"
				       : "; the offer is split, nearer needs were served first "
					 "or were below its minimum order")
			     : "",
		 substitute ? "; a substitute the need accepts" : "",
		 !a->by_reputation ? ""
		 : offers	   ? "; the tie with an offer of equal landed cost went to the "
				     "better fulfilment record of its owner"
				   : "; the tie with a need of equal freight went to the better "
				     "fulfilment record of its owner");

	o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "need", need->id, "offer", offer->id, "material",
		      m ? m->code : "", "base_unit", m ? materials_base_unit(m) : "",
		      "quantity_base", (json_int_t)a->quantity);
	json_object_set_new(o, "unit_price",
			    json_pack("{s:I, s:s, s:I}", "vnd", (json_int_t)offer->price_vnd,
				      "unit", unit ? unit : "", "per_base_micro_vnd",
				      (json_int_t)a->price_micro));
	json_object_set_new(o, "distance_km", json_integer(a->distance_km));
	json_object_set_new(
	    o, "distance_from",
	    json_string(matching_distance_from_str((enum matching_distance_from)a->distance_from)));
	json_object_set_new(o, "location_basis",
			    json_pack("{s:s, s:s}", "need", matching_location_basis(need), "offer",
				      matching_location_basis(offer)));
	json_object_set_new(
	    o, "freight",
	    json_pack("{s:I, s:I, s:I, s:I}", "rate_vnd_per_tonne_km", (json_int_t)rate,
		      "mass_g_per_base_unit", (json_int_t)(m ? m->mass_g : 0), "per_base_micro_vnd",
		      (json_int_t)a->freight_micro, "total_vnd", (json_int_t)a->freight_vnd));
	json_object_set_new(o, "goods_total_vnd", json_integer(a->goods_vnd));
	json_object_set_new(o, "landed",
			    json_pack("{s:I, s:I}", "per_base_micro_vnd",
				      (json_int_t)a->landed_micro, "total_vnd",
				      (json_int_t)a->landed_vnd));
	json_object_set_new(o, "rank", json_integer((json_int_t)a->rank));
	json_object_set_new(o, "candidates", json_integer((json_int_t)a->compatible));
	json_object_set_new(o, "substitute", json_boolean(substitute));
	if (substitute && need->material)
		json_object_set_new(o, "need_material", json_string(need->material->code));
	if (a->by_reputation)
		json_object_set_new(
		    o, "tie_break",
		    json_pack("{s:s, s:{s:I, s:I}, s:{s:I, s:I}}", "by", "reputation", "chosen",
			      "kept", (json_int_t)a->rep.kept, "ended", (json_int_t)a->rep.ended,
			      "runner_up", "kept", (json_int_t)a->runner_up.kept, "ended",
			      (json_int_t)a->runner_up.ended));
	json_object_set_new(o, "why", json_string(why));
	return o;
}
