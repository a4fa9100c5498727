/*
 * matching_rows — the pruned plan over the engine's rows (matching_plan_runs;
 * the rows themselves: matching_row.c): the same answer as matching_plan(),
 * reached without costing the candidates that cannot be among the first,
 * and counting the rest by blocks where it can (see matching.h).
 */
#include "common/matching.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "common/geo.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/xalloc.h"
#include "common/matching_int.h"

/* ---- plans over rows ---------------------------------------------------- */

/*
 * geo_road_km() of any two points on Earth: half the circumference (pi x R
 * = 20,015 km) x 13/10, rounded up. Every distance of a plan is at most
 * this, so a freight rate per km that fits below INT64_MAX / this never
 * overflows, and a price below INT64_MAX less that freight always fits.
 */
#define MATCHING_KM_ANY INT64_C(26100)

/* Grade ranks whose substitute answers a plan keeps (larger ones are asked). */
#define MATCHING_GRADES_MAX 16

/* What a plan over rows knows of its subject, worked out once. */
struct matching_subj {
	const struct matching_listing *l;
	int need; /* the subject is a need: the rows are offers */
	struct matching_row row;
	int64_t price_micro; /* an offer subject's price per base unit */
	int64_t now_ms, rate;
	int64_t limit; /* the subject's maximum distance, 0 none */
	/*
	 * Per offer material (the subject's own when it is the offer):
	 * mat_state 0 not worked out, 1 refused, 2 accepted; the least grade
	 * (INT8_MIN: no grade filter); freight per km (mass x rate, -1 when it
	 * may not fit: those are costed by matching_freight_micro()); the
	 * highest price whose landed cost fits whatever the distance. Only
	 * mat_state starts zeroed: the rest of a material's fields are written
	 * when it is worked out, before they are read.
	 */
	uint8_t mat_state[MATCHING_ROW_NONE];
	int8_t mat_min_grade[MATCHING_ROW_NONE];
	int64_t mat_per_km[MATCHING_ROW_NONE];
	int64_t mat_fits[MATCHING_ROW_NONE];
	const struct material *mat[MATCHING_ROW_NONE];
	/*
	 * An offer subject: for a need of material m with minimum grade g
	 * (< MATCHING_GRADES_MAX), whether the offer passes matching_grade_ok;
	 * 0 not worked out, 1 no, 2 yes. (mat_state[m] is then 2 when the
	 * offer's material substitutes for m.)
	 */
	uint8_t sub_grade[MATCHING_ROW_NONE][MATCHING_GRADES_MAX];
	/* a subject without coordinates: matching_row_km() to each province's centre */
	int64_t centre_km[MATCHING_MAX_PROVINCES];
	/*
	 * matching_row_km() to a row without coordinates of province q, and its
	 * distance_from, worked out at the first such row (bit q of prov_known):
	 * every such row stands at its province's centre.
	 */
	uint64_t prov_known;
	int64_t prov_km[MATCHING_MAX_PROVINCES];
	uint8_t prov_from[MATCHING_MAX_PROVINCES];
};

enum { MATCHING_ROW_NO, MATCHING_ROW_YES, MATCHING_ROW_ASK };

/* matching_grade_ok() of offer for a need of material nm and grade rank g. */
static int matching_sub_grade_ok(const struct matching_listing *offer, const struct material *nm,
				 int g)
{
	struct matching_listing need = {.material = nm, .grade_rank = (int8_t)g};
	return matching_grade_ok(&need, offer);
}

/* Freight per km and the fitting price for offer material m at the plan's rate. */
static void matching_subj_costs(struct matching_subj *s, unsigned m)
{
	const struct material *om = materials_at(m);
	s->mat[m] = om;
	s->mat_per_km[m] = -1;
	s->mat_fits[m] = -1;
	if (om->mass_g < 0 || om->mass_g > INT64_MAX / MATCHING_KM_ANY ||
	    (s->rate > 0 && om->mass_g > INT64_MAX / MATCHING_KM_ANY / s->rate))
		return;
	s->mat_per_km[m] = om->mass_g * s->rate;
	s->mat_fits[m] = INT64_MAX - s->mat_per_km[m] * MATCHING_KM_ANY;
}

/* Offer material m against a need subject: the material and grade filters. */
static void matching_subj_material(struct matching_subj *s, unsigned m)
{
	const struct matching_listing *need = s->l;
	const struct material *nm = need->material, *om = materials_at(m);
	int min = need->grade_rank < 0 ? INT8_MIN : need->grade_rank;

	s->mat_state[m] = 1;
	matching_subj_costs(s, m);
	if (om != nm) {
		if (!need->accept_substitutes || !materials_is_substitute(nm, om))
			return;
		if (need->grade_rank >= 0) {
			/* as matching_grade_ok() across scales */
			if (need->grade_rank == 0 || (size_t)need->grade_rank > nm->n_grades)
				return;
			min = materials_grade_rank(
			    om, nm->grades[nm->n_grades - (size_t)need->grade_rank]);
			if (min < 0)
				min = INT8_MIN;
		}
	}
	s->mat_min_grade[m] = (int8_t)min;
	s->mat_state[m] = 2;
}

/*
 * The filters of matching_compatible_here() that a row answers: NO, YES, or
 * ASK when only the listings can tell (the same owner hash, a price equal
 * to the bound, a substitute need's grade), decided by the caller.
 */
static inline int matching_row_here(struct matching_subj *s, const struct matching_row *r)
{
	const struct matching_listing *l = s->l;

	if (r->owner_hash == s->row.owner_hash || !(r->flags & MATCHING_ROW_PLAIN))
		return MATCHING_ROW_ASK;
	if (r->remaining <= 0)
		return MATCHING_ROW_NO;
	if (s->need) {
		if (r->remaining < r->min_order_base || l->remaining < r->min_order_base)
			return MATCHING_ROW_NO;
		if (s->mat_state[r->material] == 0)
			matching_subj_material(s, r->material);
		if (s->mat_state[r->material] != 2 || r->grade_rank < s->mat_min_grade[r->material])
			return MATCHING_ROW_NO;
		if (r->key < 0 || r->key > s->row.key)
			return MATCHING_ROW_NO; /* no price, or above the maximum */
		if (r->key == s->row.key)
			return MATCHING_ROW_ASK; /* equal once floored: the exact test decides */
		if (r->until_ms <= s->now_ms || r->from_ms > l->needed_by_ms)
			return MATCHING_ROW_NO;
		return MATCHING_ROW_YES;
	}
	if (r->remaining < l->min_order_base)
		return MATCHING_ROW_NO;
	if (r->material != s->row.material) {
		/* a need of another material that takes the subject as a substitute */
		if (!r->accept_substitutes || s->mat_state[r->material] != 2)
			return MATCHING_ROW_NO;
		if (r->grade_rank >= MATCHING_GRADES_MAX)
			return MATCHING_ROW_ASK;
		if (r->grade_rank >= 0) {
			uint8_t *g = &s->sub_grade[r->material][r->grade_rank];
			if (*g == 0)
				*g = matching_sub_grade_ok(l, materials_at(r->material),
							   r->grade_rank)
					 ? 2
					 : 1;
			if (*g != 2)
				return MATCHING_ROW_NO;
		}
	} else if (r->grade_rank >= 0 && l->grade_rank < r->grade_rank) {
		return MATCHING_ROW_NO;
	}
	if (r->key < s->price_micro)
		return MATCHING_ROW_NO;
	if (r->key == s->price_micro)
		return MATCHING_ROW_ASK;
	if (r->from_ms <= s->now_ms || l->available_from_ms > r->from_ms)
		return MATCHING_ROW_NO;
	return MATCHING_ROW_YES;
}

/* matching_distance() of the subject and a row whose province is known. */
static inline int64_t matching_row_km(const struct matching_subj *s, const struct matching_row *r,
				      enum matching_distance_from *from)
{
	const struct matching_row *n = s->need ? &s->row : r, *o = s->need ? r : &s->row;
	int64_t km;

	if (n->has_location && o->has_location) {
		*from = MATCHING_FROM_COORDINATES;
		return geo_road_km(n->lat_udeg, n->lon_udeg, o->lat_udeg, o->lon_udeg);
	}
	if (!n->has_location && !o->has_location) {
		km = matching_centre_km[n->province][o->province]; /* built by the plan */
		*from = MATCHING_FROM_PROVINCE_CENTRES;
	} else {
		km = geo_road_km(n->lat_udeg, n->lon_udeg, o->lat_udeg, o->lon_udeg);
		*from = MATCHING_FROM_MIXED;
	}
	if (n->province == o->province && km < MATCHING_INTRA_PROVINCE_KM) {
		km = MATCHING_INTRA_PROVINCE_KM;
		*from = MATCHING_FROM_INTRA_PROVINCE;
	}
	return km;
}

/* matching_row_km(), a row without coordinates from the plan's table. */
static inline int64_t matching_row_km_at(struct matching_subj *s, const struct matching_row *r,
					 enum matching_distance_from *from)
{
	if (r->has_location)
		return matching_row_km(s, r, from);
	uint64_t bit = UINT64_C(1) << r->province;
	if (!(s->prov_known & bit)) {
		enum matching_distance_from f;
		s->prov_km[r->province] = matching_row_km(s, r, &f);
		s->prov_from[r->province] = (uint8_t)f;
		s->prov_known |= bit;
	}
	*from = (enum matching_distance_from)s->prov_from[r->province];
	return s->prov_km[r->province];
}

/*
 * Bounds of matching_row_km() without trigonometry: a great circle is at
 * least as long as its change of latitude, and no longer than a path along
 * a meridian then a parallel (R x (|dlat| + |dlon|)). Metres per
 * micro-degree along a meridian: R x pi / 180 / 10^6 = 0.1111950802; the
 * bounds round down and up from it and allow 2 m for the haversine's own
 * rounding. A row without coordinates is exact, from the plan's table.
 */
static inline void matching_row_km_bounds(struct matching_subj *s, const struct matching_row *r,
					  int64_t *lo, int64_t *hi)
{
	enum matching_distance_from from;
	int64_t dlat, dlon, m;

	if (!r->has_location) {
		*lo = *hi = matching_row_km_at(s, r, &from);
		return;
	}
	dlat = (int64_t)s->row.lat_udeg - r->lat_udeg;
	dlon = (int64_t)s->row.lon_udeg - r->lon_udeg;
	dlat = dlat < 0 ? -dlat : dlat;
	dlon = dlon < 0 ? -dlon : dlon;
	if (dlon > INT64_C(180000000))
		dlon = INT64_C(360000000) - dlon;
	m = dlat * 111195 / 1000000 - 2;
	*lo = m > 0 ? m * GEO_ROAD_NUM / (GEO_ROAD_DEN * 1000) : 0;
	m = (dlat + dlon) * 111196 / 1000000 + 2;
	*hi = (m * GEO_ROAD_NUM + GEO_ROAD_DEN * 1000 - 1) / (GEO_ROAD_DEN * 1000);
	if (!(s->row.has_location && r->has_location) && s->row.province == r->province) {
		*lo = *lo < MATCHING_INTRA_PROVINCE_KM ? MATCHING_INTRA_PROVINCE_KM : *lo;
		*hi = *hi < MATCHING_INTRA_PROVINCE_KM ? MATCHING_INTRA_PROVINCE_KM : *hi;
	}
}

/* The lower bound alone, the centres' distance from a per-plan table. */
static inline int64_t matching_row_km_lo(const struct matching_subj *s,
					 const struct matching_row *r)
{
	if (!s->row.has_location && !r->has_location)
		return s->centre_km[r->province];
	int64_t dlat = (int64_t)s->row.lat_udeg - r->lat_udeg;
	dlat = dlat < 0 ? -dlat : dlat;
	int64_t m = dlat * 111195 / 1000000 - 2;
	int64_t lo = m > 0 ? m * GEO_ROAD_NUM / (GEO_ROAD_DEN * 1000) : 0;
	if (!(s->row.has_location && r->has_location) && s->row.province == r->province &&
	    lo < MATCHING_INTRA_PROVINCE_KM)
		lo = MATCHING_INTRA_PROVINCE_KM;
	return lo;
}

/* The plain plan of the runs' concatenation (skipped rows as NULL). */
static size_t matching_plan_concat(const struct matching_listing *subject,
				   const struct matching_run *runs, size_t n_runs, int64_t now_ms,
				   int64_t rate, struct matching_alloc *out, size_t max_out,
				   size_t *considered)
{
	size_t n = 0, k = 0;
	for (size_t r = 0; r < n_runs; r++)
		n += runs[r].n;
	const struct matching_listing **all = xmalloc((n ? n : 1) * sizeof(*all));
	for (size_t r = 0; r < n_runs; r++)
		for (size_t i = 0; i < runs[r].n; i++)
			all[k++] =
			    runs[r].rows[i].flags & MATCHING_ROW_SKIP ? NULL : runs[r].cands[i];
	k = matching_plan(subject, all, n, now_ms, rate, out, max_out, considered);
	free(all);
	return k;
}

/* A pass's state: the entries costed, the compatible counted, the bound. */
struct matching_pass {
	struct matching_entry *entries;
	size_t count, cap, compatible;
	struct matching_best best[MATCHING_PRUNE_KEEP];
	size_t best_n;
	int bound;
};

/* A compatible candidate costed in full. */
static void matching_pass_push(struct matching_pass *p, const struct matching_entry *e)
{
	p->compatible++;
	matching_entry_push(&p->entries, &p->count, &p->cap, e);
	if (p->bound)
		matching_best_add(p->best, &p->best_n, e->landed_micro, e->deadline);
}

/*
 * A candidate that passes every filter but the distance limits, and whose
 * price is in m's reach: counted when compatible, and costed in full unless
 * the bound shows it cannot rank among the best.
 */
static void matching_pass_yes(struct matching_subj *s, struct matching_pass *p,
			      const struct matching_row *r, const struct matching_listing *cand,
			      size_t index)
{
	const struct matching_listing *need = s->need ? s->l : cand;
	const struct matching_listing *offer = s->need ? cand : s->l;
	struct matching_entry e;
	unsigned m = s->need ? r->material : s->row.material;
	int64_t price = s->need ? r->key : s->price_micro;
	int64_t per_km = s->mat_per_km[m];
	int64_t deadline = s->need ? r->until_ms : r->from_ms;
	int64_t limit = s->limit;

	if (r->max_distance_km > 0 && (limit == 0 || r->max_distance_km < limit))
		limit = r->max_distance_km;
	if (p->bound && p->best_n == MATCHING_PRUNE_KEEP && per_km >= 0) {
		int64_t lo, hi;
		matching_row_km_bounds(s, r, &lo, &hi);
		/* per_km x any km fits; price + that may not */
		matching_i128 lb = (matching_i128)price + lo * per_km;
		if (lb > INT64_MAX || matching_best_after((int64_t)lb, deadline, &p->best[0])) {
			/*
			 * Cannot rank among the best kept: counted when it is
			 * compatible and its cost fits, as matching_plan() would.
			 */
			if (limit > 0 && lo > limit)
				return;
			if ((limit > 0 && hi > limit) || price > s->mat_fits[m]) {
				enum matching_distance_from from;
				int64_t km = matching_row_km_at(s, r, &from);
				if ((limit > 0 && km > limit) ||
				    (matching_i128)price + km * per_km > INT64_MAX)
					return;
			}
			p->compatible++;
			return;
		}
	}
	int64_t km = matching_row_km_at(s, r, &e.from);
	if (!matching_compatible_apart(need, offer, km, NULL) ||
	    !matching_entry_cost(&e, s->mat[m], price, km, s->rate))
		return;
	e.deadline = deadline;
	e.cand = cand;
	e.index = index;
	matching_pass_push(p, &e);
}

/* One candidate that the quick filters did not settle. */
static void matching_pass_row(struct matching_subj *s, struct matching_pass *p,
			      const struct matching_row *r, const struct matching_listing *cand,
			      size_t index)
{
	struct matching_entry e;
	int ok = matching_row_here(s, r);

	if (ok == MATCHING_ROW_YES) {
		matching_pass_yes(s, p, r, cand, index);
	} else if (ok == MATCHING_ROW_ASK) {
		/* the listings decide, as matching_plan() does */
		if (matching_entry_make(s->l, cand, index, s->now_ms, s->rate, &e))
			matching_pass_push(p, &e);
	}
}

/*
 * The filters of the common case, from the row alone: YES when every
 * filter but the distance limits passes and the landed cost fits whatever
 * the distance, NO when one refuses, ASK for the rest (a material not yet
 * worked out, an owner hash or a price equal to the subject's, a
 * substitute, an unknown place), which matching_pass_row() settles.
 */
static inline int matching_row_quick(const struct matching_subj *s, const struct matching_row *r)
{
	unsigned m = r->material;

	if (s->need) {
		if (!(r->flags & MATCHING_ROW_PLAIN) || r->key == s->row.key ||
		    r->owner_hash == s->row.owner_hash || s->mat_state[m] != 2 ||
		    r->key > s->mat_fits[m])
			return s->mat_state[m] == 1 && (r->flags & MATCHING_ROW_PLAIN)
				   ? MATCHING_ROW_NO
				   : MATCHING_ROW_ASK;
		return (r->flags & MATCHING_ROW_OPEN) & (r->key >= 0) &
			       (s->l->remaining >= r->min_order_base) &
			       (r->grade_rank >= s->mat_min_grade[m]) & (r->until_ms > s->now_ms) &
			       (r->from_ms <= s->l->needed_by_ms)
			   ? MATCHING_ROW_YES
			   : MATCHING_ROW_NO;
	}
	if (!(r->flags & MATCHING_ROW_PLAIN) || r->key == s->price_micro ||
	    r->owner_hash == s->row.owner_hash || m != s->row.material ||
	    s->price_micro > s->mat_fits[m])
		return MATCHING_ROW_ASK;
	return (r->flags & MATCHING_ROW_OPEN) & (r->key > s->price_micro) &
		       (r->remaining >= s->l->min_order_base) &
		       ((r->grade_rank < 0) | (s->l->grade_rank >= r->grade_rank)) &
		       (r->from_ms > s->now_ms) & (s->l->available_from_ms <= r->from_ms)
		   ? MATCHING_ROW_YES
		   : MATCHING_ROW_NO;
}

/* matching_pass_count() of one row that is not of the common case. */
static void matching_count_row(struct matching_subj *s, struct matching_pass *p,
			       const struct matching_row *r, const struct matching_listing *cand,
			       size_t index)
{
	int ok = matching_row_quick(s, r);
	if (ok == MATCHING_ROW_NO)
		return;
	if (ok == MATCHING_ROW_YES) {
		int64_t limit = s->limit;
		if (r->max_distance_km > 0 && (limit == 0 || r->max_distance_km < limit))
			limit = r->max_distance_km;
		if (limit == 0) {
			p->compatible++;
			return;
		}
		int64_t lo, hi;
		matching_row_km_bounds(s, r, &lo, &hi);
		if (lo > limit)
			return;
		if (hi <= limit) {
			p->compatible++;
			return;
		}
	}
	if (cand != NULL)
		matching_pass_row(s, p, r, cand, index);
}

void matching_blocks_stale(struct matching_block *blocks, size_t from, size_t n)
{
	if (blocks == NULL)
		return;
	for (size_t b = from / MATCHING_BLOCK_ROWS; b < MATCHING_BLOCKS(n); b++)
		blocks[b].valid = 0;
}

/* Countable rows (see struct matching_block): these flags, and not SKIP. */
#define MATCHING_COUNT_WANT (MATCHING_ROW_OPEN | MATCHING_ROW_PLAIN)
#define MATCHING_COUNT_MASK (MATCHING_COUNT_WANT | MATCHING_ROW_SKIP)

/* Makes *b from its n (1..MATCHING_BLOCK_ROWS) rows. */
static void matching_block_fill(struct matching_block *b, const struct matching_row *rows, size_t n)
{
	b->max_min_order = INT64_MIN;
	b->min_until = INT64_MAX;
	b->max_from = INT64_MIN;
	b->min_grade = INT8_MAX;
	b->other = b->limited = 0;
	b->n_owners = b->n_plain = 0;
	b->material = rows[0].material;
	for (size_t j = 0; j < n; j++) {
		const struct matching_row *r = &rows[j];
		if (r->material != b->material)
			b->material = MATCHING_ROW_NONE;
		if ((r->flags & MATCHING_COUNT_MASK) != MATCHING_COUNT_WANT) {
			b->other |= UINT32_C(1) << j;
			continue;
		}
		b->owners[b->n_owners++] = r->owner_hash;
		if (r->flags & MATCHING_ROW_LIMIT) {
			b->limited |= UINT32_C(1) << j;
		} else {
			b->min_order[b->n_plain] = r->min_order_base;
			b->grade[b->n_plain++] = r->grade_rank;
		}
		if (r->min_order_base > b->max_min_order)
			b->max_min_order = r->min_order_base;
		if (r->until_ms < b->min_until)
			b->min_until = r->until_ms;
		if (r->from_ms > b->max_from)
			b->max_from = r->from_ms;
		if (r->grade_rank < b->min_grade)
			b->min_grade = r->grade_rank;
	}
	/* padded with a hash already there, so a test of all of them is the same */
	for (size_t k = b->n_owners; k < MATCHING_BLOCK_ROWS; k++)
		b->owners[k] = b->n_owners ? b->owners[0] : 0;
	b->valid = 1;
}

/* Whether a countable row of the block may have this owner hash. */
static inline int matching_block_owner(const struct matching_block *b, uint32_t owner)
{
	unsigned hit = 0;
	if (b->n_owners == 0)
		return 0;
	for (size_t k = 0; k < MATCHING_BLOCK_ROWS; k++)
		hit |= b->owners[k] == owner;
	return (int)hit;
}

/*
 * matching_count_row() of a countable row with a distance limit that its
 * block vouches for (the run's material, a price under the maximum that
 * surely fits, an owner hash not the subject's, dates in reach; the
 * subject has no limit): its quantity and grade, then its distance.
 */
static void matching_count_limited(struct matching_subj *s, struct matching_pass *p,
				   const struct matching_row *r,
				   const struct matching_listing *cand, size_t index,
				   int8_t min_grade)
{
	int64_t lo, hi, limit = r->max_distance_km;
	if (s->l->remaining < r->min_order_base || r->grade_rank < min_grade)
		return;
	matching_row_km_bounds(s, r, &lo, &hi);
	if (lo > limit)
		return;
	if (hi <= limit)
		p->compatible++;
	else if (cand != NULL)
		matching_pass_row(s, p, r, cand, index);
}

/*
 * A whole block of a need's run of offers, counted as matching_pass_count()
 * counts its rows one by one (m, stop, min_grade are its): 0 when the
 * block cannot vouch for its rows (they are then counted one by one).
 */
static int matching_count_block(struct matching_subj *s, struct matching_pass *p,
				const struct matching_run *run, size_t i, size_t base, unsigned m,
				int64_t stop, int8_t min_grade)
{
	struct matching_block *b = &run->blocks[i / MATCHING_BLOCK_ROWS];
	const struct matching_row *rows = run->rows;
	size_t end = run->n - i < MATCHING_BLOCK_ROWS ? run->n : i + MATCHING_BLOCK_ROWS;
	const int64_t left = s->l->remaining;

	if (!b->valid)
		matching_block_fill(b, &rows[i], end - i);
	if (b->material != m || rows[end - 1].key >= stop || b->min_until <= s->now_ms ||
	    b->max_from > s->l->needed_by_ms || matching_block_owner(b, s->row.owner_hash))
		return 0;
	if (b->max_min_order <= left && b->min_grade >= min_grade) {
		p->compatible += b->n_plain;
	} else {
		size_t c = 0;
		for (size_t k = 0; k < b->n_plain; k++)
			c += (b->min_order[k] <= left) & (b->grade[k] >= min_grade);
		p->compatible += c;
	}
	/* the rest in the rows' order, as one by one */
	for (uint32_t o = b->other | b->limited; o != 0; o &= o - 1) {
		size_t j = i + (size_t)__builtin_ctz(o);
		const struct matching_row *r = &rows[j];
		if (b->limited >> (j - i) & 1)
			matching_count_limited(s, p, r, run->cands[j], base + j, min_grade);
		else if (!(r->flags & MATCHING_ROW_SKIP))
			matching_count_row(s, p, r, run->cands[j], base + j);
	}
	return 1;
}

/*
 * The rest of a run of offers for a need subject once the bound is full and
 * every price ahead is above it: none of them can rank among the best, so
 * only the compatible are counted. The common case (the run's material,
 * worked out; open; a price under the maximum that surely fits; no
 * distance limit on either side; an owner hash not the subject's) is
 * counted from five fields of the row, on locals the loop keeps in
 * registers; any other row goes through matching_count_row().
 */
static void matching_pass_count(struct matching_subj *s, struct matching_pass *p,
				const struct matching_run *run, size_t i, size_t base)
{
	const struct matching_row *rows = run->rows;
	const int64_t need_key = s->row.key;
	const int64_t now = s->now_ms, needed_by = s->l->needed_by_ms, left = s->l->remaining;
	const uint32_t owner = s->row.owner_hash;
	const unsigned m = i < run->n ? rows[i].material : MATCHING_ROW_NONE;
	const uint8_t want = MATCHING_ROW_OPEN | MATCHING_ROW_PLAIN;
	const uint8_t mask = want | MATCHING_ROW_LIMIT | MATCHING_ROW_SKIP;
	int64_t stop = 0; /* no common case */
	int8_t min_grade = 0;
	size_t counted = 0;

	if (m != MATCHING_ROW_NONE && s->mat_state[m] == 2 && s->limit == 0) {
		stop = need_key < s->mat_fits[m] ? need_key : s->mat_fits[m];
		min_grade = s->mat_min_grade[m];
	}
	for (; i < run->n; i++) {
		const struct matching_row *r = &rows[i];
		if (run->blocks && stop > 0 && i % MATCHING_BLOCK_ROWS == 0 &&
		    matching_count_block(s, p, run, i, base, m, stop, min_grade)) {
			i += MATCHING_BLOCK_ROWS - 1; /* past the end when it was the last */
			continue;
		}
		if ((r->flags & mask) == want && r->key < stop && r->material == m &&
		    r->owner_hash != owner) {
			counted += (left >= r->min_order_base) & (r->grade_rank >= min_grade) &
				   (r->until_ms > now) & (r->from_ms <= needed_by);
			continue;
		}
		if (r->key > need_key)
			break; /* above the maximum, and every one after it */
		if (!(r->flags & MATCHING_ROW_SKIP))
			matching_count_row(s, p, r, run->cands[i], base + i);
	}
	p->compatible += counted;
}

/*
 * One pass of matching_plan_runs(). Each run is read in its order; with
 * bound, the MATCHING_PRUNE_KEEP best seen in every run so far bound the
 * rest, and a need's run whose prices alone pass the bound is only counted.
 */
static size_t matching_plan_pass(struct matching_subj *s, const struct matching_run *runs,
				 size_t n_runs, struct matching_alloc *out, size_t max_out,
				 size_t *considered, int bound, int *redo)
{
	struct matching_pass p = {.bound = bound};
	size_t base = 0, written;
	/* a rows's flags say whether it has a limit; the subject's is known */
	const int subject_open = bound && s->limit == 0;

	for (size_t k = 0; k < n_runs; base += runs[k++].n) {
		const struct matching_run *run = &runs[k];
		/*
		 * A need's common row (its run's material, worked out here as
		 * its first row would have it; open, plain, no limit, a price
		 * under the maximum that surely fits, an owner hash not the
		 * subject's), once the bound is full, is decided from the row
		 * by the filters of matching_row_quick() and the bound inline
		 * below, on locals: the same decisions, without the general
		 * path's tests.
		 */
		const unsigned fm =
		    s->need && run->n > 0 ? run->rows[0].material : MATCHING_ROW_NONE;
		int64_t fstop = 0; /* no row is < 0 here: no fast path */
		if (subject_open && fm != MATCHING_ROW_NONE) {
			if (s->mat_state[fm] == 0)
				matching_subj_material(s, fm);
			if (s->mat_state[fm] == 2)
				fstop = s->row.key < s->mat_fits[fm] ? s->row.key : s->mat_fits[fm];
		}
		const uint8_t fwant = MATCHING_ROW_OPEN | MATCHING_ROW_PLAIN;
		const uint8_t fmask = fwant | MATCHING_ROW_LIMIT | MATCHING_ROW_SKIP;
		for (size_t i = 0; i < run->n; i++) {
			const struct matching_row *r = &run->rows[i];
			/* The run's order: no row after this one passes the price filter. */
			if (s->need ? r->key > s->row.key : r->key < s->price_micro)
				break;
			if (s->need && bound && p.best_n == MATCHING_PRUNE_KEEP &&
			    r->key > p.best[0].landed) {
				matching_pass_count(s, &p, run, i, base);
				break;
			}
			if (r->key < fstop && (r->flags & fmask) == fwant && r->material == fm &&
			    r->owner_hash != s->row.owner_hash && p.best_n == MATCHING_PRUNE_KEEP &&
			    run->cands[i] != NULL) {
				if (!((s->l->remaining >= r->min_order_base) &
				      (r->grade_rank >= s->mat_min_grade[fm]) &
				      (r->until_ms > s->now_ms) &
				      (r->from_ms <= s->l->needed_by_ms)))
					continue;
				int64_t lb = r->key + matching_row_km_lo(s, r) * s->mat_per_km[fm];
				if (matching_best_after(lb, r->until_ms, &p.best[0]))
					p.compatible++;
				else
					matching_pass_yes(s, &p, r, run->cands[i], base + i);
				continue;
			}
			if ((r->flags & MATCHING_ROW_SKIP) || run->cands[i] == NULL)
				continue;
			int ok = matching_row_quick(s, r);
			if (ok == MATCHING_ROW_NO)
				continue;
			if (ok == MATCHING_ROW_YES && subject_open &&
			    !(r->flags & MATCHING_ROW_LIMIT) && p.best_n == MATCHING_PRUNE_KEEP) {
				/*
				 * matching_pass_yes()'s bound, inline for the common
				 * case: a quick YES means the freight per km is known
				 * and price + any freight fits.
				 */
				unsigned m = s->need ? r->material : s->row.material;
				int64_t price = s->need ? r->key : s->price_micro;
				int64_t deadline = s->need ? r->until_ms : r->from_ms;
				int64_t lb = price + matching_row_km_lo(s, r) * s->mat_per_km[m];
				if (matching_best_after(lb, deadline, &p.best[0])) {
					p.compatible++;
					continue;
				}
			}
			if (ok == MATCHING_ROW_YES)
				matching_pass_yes(s, &p, r, run->cands[i], base + i);
			else
				matching_pass_row(s, &p, r, run->cands[i], base + i);
		}
	}
	if (considered)
		*considered = p.count;
	written = matching_allocate(s->l, p.entries, p.count, p.compatible,
				    p.count < p.compatible ? MATCHING_PRUNE_KEEP : p.count, s->rate,
				    out, max_out, redo);
	free(p.entries);
	return written;
}

size_t matching_plan_runs(const struct matching_listing *subject, const struct matching_run *runs,
			  size_t n_runs, int64_t now_ms, int64_t rate, struct matching_alloc *out,
			  size_t max_out, size_t *considered)
{
	struct matching_subj s;
	int redo = 0;
	size_t k;

	if (considered)
		*considered = 0;
	if (subject == NULL || (subject->kind != LISTING_NEED && subject->kind != LISTING_OFFER) ||
	    rate < 0 || rate > MATCHING_RATE_MAX)
		return 0;
	/* Not all 11 KB: what is read before it is written (see the struct). */
	memset(&s, 0, offsetof(struct matching_subj, mat_per_km));
	s.prov_known = 0;
	s.l = subject;
	s.need = subject->kind == LISTING_NEED;
	s.now_ms = now_ms;
	s.rate = rate;
	matching_row_fill(&s.row, subject);
	s.price_micro = s.need ? 0 : matching_price_micro(subject);
	s.limit = subject->max_distance_km;
	/*
	 * What the rows cannot stand for is planned plainly: an unknown place
	 * or material, a price that refuses everything.
	 */
	if (s.row.province == MATCHING_ROW_NONE || s.row.material == MATCHING_ROW_NONE ||
	    (!s.need && s.price_micro < 0) ||
	    (s.need && subject->price_vnd > 0 && subject->price_factor < 1))
		return matching_plan_concat(subject, runs, n_runs, now_ms, rate, out, max_out,
					    considered);
	/* Filters of the subject alone: when one refuses, nothing is compatible. */
	if (subject->remaining <= 0)
		return 0;
	if (s.need ? subject->needed_by_ms <= now_ms
		   : (subject->remaining < subject->min_order_base ||
		      (subject->available_until_ms != 0 && subject->available_until_ms <= now_ms)))
		return 0;
	call_once(&matching_centres_once, matching_centres_build);
	if (!s.need) {
		memset(s.sub_grade, 0, sizeof(s.sub_grade));
		matching_subj_costs(&s, s.row.material);
		for (size_t m = 0; m < materials_count() && m < MATCHING_ROW_NONE; m++)
			s.mat_state[m] =
			    materials_is_substitute(materials_at(m), subject->material) ? 2 : 1;
	}
	for (size_t q = 0; q < provinces_count() && q < MATCHING_MAX_PROVINCES; q++) {
		int64_t km = s.need ? matching_centre_km[s.row.province][q]
				    : matching_centre_km[q][s.row.province];
		if (q == s.row.province && km < MATCHING_INTRA_PROVINCE_KM)
			km = MATCHING_INTRA_PROVINCE_KM;
		s.centre_km[q] = km;
	}
	k = matching_plan_pass(&s, runs, n_runs, out, max_out, considered, 1, &redo);
	if (redo)
		k = matching_plan_pass(&s, runs, n_runs, out, max_out, considered, 0, &redo);
	return k;
}
