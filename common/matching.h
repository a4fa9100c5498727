/*
 * matching — the continuous-mode matching engine's pure core: the compact
 * in-memory candidate built from a stored listing, exact landed costs, the
 * hard filters, and the greedy split allocation of one new or changed
 * listing over the open listings on the other side, with an explanation a
 * moderator reads at a glance.
 *
 * Never does I/O, never reads the clock (now_ms is a parameter) and never
 * uses floating point for money or quantities (DESIGN invariant 8): every
 * cost below is an integer, computed through __int128 where a product can
 * pass int64, and checked against the caps before it is narrowed.
 *
 * Units of the numbers:
 *   quantities        whole base units of the material (kg, dm3, cay…)
 *   prices            price_vnd whole VND per price_factor base units
 *   per-base costs    micro-VND (10^-6 VND) per base unit, so that per-unit
 *                     prices and freight compare exactly as integers
 *   totals            whole VND, rounded half up (see matching_totals)
 *   distances         whole road kilometres (geo.h: great circle x 13/10,
 *                     rounded up per started km)
 *   freight rate      whole VND per tonne-km
 *
 * Landed cost per base unit = price per base unit + freight per base unit:
 *   price_micro   = floor(price_vnd x 10^6 / price_factor). Exact for every
 *                   factor the materials table has (1, 10, 100, 1000,
 *                   10^6: all divide 10^6); a factor that did not would be
 *                   floored, i.e. rounded toward the buyer, by less than one
 *                   micro-VND per base unit.
 *   freight_micro = distance_km x mass_g_per_base_unit x rate. 1 g is
 *                   10^-6 tonne, so this is exactly micro-VND: no rounding.
 *
 * Distance between a need and an offer (matching_distance):
 *   - both sides gave coordinates: geo_road_km between them;
 *   - otherwise a side without coordinates stands at its province's
 *     administrative centre, and the same geo_road_km is taken (basis
 *     "province centres" when both did, "coordinates and a province
 *     centre" when one did);
 *   - when a centre stood in and both sides are in the same province, the
 *     distance is at least MATCHING_INTRA_PROVINCE_KM: "0 km" would make the
 *     freight free, yet the two may be at opposite ends of the province.
 *
 * Grades across substitutes: a need's minimum grade is on its own
 * material's scale. When the offer is a substitute (another material), the
 * minimum's name (e.g. "B") is looked up on the offer material's scale and
 * compared there; when the offer's scale has no grade of that name the two
 * scales are not comparable and the grade filter does not apply (every
 * substitute pair in today's table shares the A/B/C scale, so this does not
 * happen yet). A need's minimum is not stored as text: it is
 * material->grades[n_grades - grade_rank], the scale's own spelling.
 *
 * Ranking (matching_plan), ascending, the first difference decides:
 *   1. landed cost per base unit (micro-VND);
 *   2. (a tie-breaker only) the candidate owner's reputation, better first:
 *      its fulfilment record as Laplace's rule of succession,
 *      (kept + 1) / (ended + 2) compared exactly (matching_rep_cmp), so an
 *      account with no ended match stands at 1/2, between a good record and
 *      a bad one; equal records fall through;
 *   3. the deadline: for offer candidates (a need is the subject) the
 *      offer's available_until, earlier first, open-ended (0) last; for
 *      need candidates (an offer is the subject) the need's needed_by,
 *      earlier first;
 *   4. the candidate's posting seq, earlier first;
 *   5. the candidate's id (strcmp), then its index in cands, so the order is
 *      total and the plan is the same on every run and every engine.
 * An offer as the subject has one price for all needs, so its ranking is by
 * freight: nearest (per unit of freight) first.
 *
 * The engine plans over rows (matching_plan_runs): the fields a plan reads,
 * packed one cache line per candidate, in lists ordered by price, so a plan
 * stops where prices go out of reach and only counts the candidates that a
 * lower bound shows cannot rank among the best. Its allocations, the count
 * of compatible candidates included, are matching_plan()'s.
 *
 * Allocation is greedy in that order: q = min(what the subject has left,
 * the candidate's remaining); a candidate whose offer side has a minimum
 * order above q is skipped (the next, smaller-need or larger-offer one may
 * still fit), as is one whose totals would pass MATCHING_TOTAL_VND_MAX.
 * Nothing is allocated past either side's remaining, and only compatible
 * pairs are allocated.
 *
 * One interface, one file per concern: matching_record.c (from a stored
 * document; the engine's record), matching_cost.c (prices, distances,
 * freight, totals), matching_filter.c (the hard filters), matching_plan.c
 * (the plain plan and the greedy allocation), matching_row.c (rows),
 * matching_rows.c (the pruned plan and its count by blocks), matching_explain.c; what they share is
 * matching_int.h.
 */
#ifndef CM_MATCHING_H
#define CM_MATCHING_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/ids.h"
#include "common/listing.h"

struct material;
struct province;

/*
 * Default freight rate, VND per tonne-km, for the server's configuration:
 * small-lot road haulage in the north (a few tạ to a few tấn on a light
 * truck, often one way), dearer per tonne-km than full-truckload trunk
 * rates. At 3000, one kg over 100 km costs 300 VND. An assumption to tune,
 * hence a parameter everywhere below.
 */
#define MATCHING_FREIGHT_VND_PER_TONNE_KM INT64_C(3000)
/* Largest rate accepted; matching_plan() plans nothing above it. */
#define MATCHING_RATE_MAX INT64_C(1000000)
/*
 * Least road distance between two parties in one province when either
 * side's location is the province centre. The units since 2025 are large:
 * the delta ones, where most villages and their suppliers are, cover
 * 2,500–5,000 km²; two points at random in a square of area A lie about
 * 0.52 x sqrt(A) apart (26–37 km straight). 30 km is the conservative end
 * once the 1.3 road factor is added: freight is never free, and is not
 * overstated for a supplier one commune away either.
 */
#define MATCHING_INTRA_PROVINCE_KM INT64_C(30)
/* Micro-VND in one VND. */
#define MATCHING_MICRO INT64_C(1000000)
/*
 * Largest total (goods, freight or landed) of one allocation, whole VND:
 * 10^18 VND is beyond any real lot, and nine such totals still add up
 * within int64. An allocation that would pass it is not made.
 */
#define MATCHING_TOTAL_VND_MAX INT64_C(1000000000000000000)

/*
 * Where a distance came from (explain's "distance_from"); explain's
 * "location_basis" says which point stood for each side.
 */
enum matching_distance_from {
	MATCHING_FROM_COORDINATES,	/* "coordinates": both sides' own points */
	MATCHING_FROM_PROVINCE_CENTRES, /* "province centres": both sides' centres */
	MATCHING_FROM_INTRA_PROVINCE,	/* "intra-province minimum": the floor */
	MATCHING_FROM_MIXED		/* "coordinates and a province centre": one
					 * side's own point, the other's centre */
};

/*
 * An owner's record of keeping its word (store/lua/1-reputation.lua):
 * kept = matches fulfilled, ended = kept + declined, cancelled and expired
 * against it. The engine keeps one per owner; listings point to it.
 */
struct matching_rep {
	int64_t kept, ended;
};

/*
 * <0 when a's record is the better one by (kept + 1) / (ended + 2), >0 when
 * b's, 0 when equal; NULL counts as no record (0, 0). Exact (cross
 * products in 128 bits).
 */
int matching_rep_cmp(const struct matching_rep *a, const struct matching_rep *b);

/*
 * One open listing as the engine keeps it in memory (up to a million of
 * them): flat, no heap pointers; material and province point into the
 * static reference tables. Fields of the other kind are 0.
 */
struct matching_listing {
	char id[IDS_MAX];		 /* "lst_…" */
	char owner[IDS_MAX];		 /* account id of the poster */
	const struct material *material; /* never NULL once filled */
	const struct province *province; /* never NULL once filled */
	int64_t remaining;		 /* base units still open, >= 0 */
	int64_t price_vnd;		 /* offer: asking; need: maximum, 0 none */
	int64_t price_factor;		 /* base units per price unit, >= 1 */
	int64_t needed_by_ms;		 /* needs: deadline */
	int64_t available_from_ms;	 /* offers */
	int64_t available_until_ms;	 /* offers; 0 = open-ended */
	int64_t min_order_base;		 /* offers; 0 = none */
	int64_t seq;			 /* posting order, smaller = earlier */
	int64_t version;		 /* the listing's version when read */
	int32_t lat_udeg, lon_udeg;	 /* valid when has_location */
	int32_t max_distance_km;	 /* 0 = no limit */
	int8_t grade_rank;		 /* materials_grade_rank(); -1 none */
	uint8_t kind;			 /* enum listing_kind */
	uint8_t has_location;		 /* 0 or 1 */
	uint8_t accept_substitutes;	 /* needs: 0 or 1 */
	/* the owner's reputation (the engine's table); NULL: none known */
	const struct matching_rep *rep;
};

/* One allocation of matching_plan(). */
struct matching_alloc {
	size_t index;	       /* of the candidate in cands */
	int64_t quantity;      /* base units, > 0 */
	int64_t distance_km;   /* matching_distance() */
	int64_t price_micro;   /* offer's price, micro-VND per base unit */
	int64_t freight_micro; /* micro-VND per base unit */
	int64_t landed_micro;  /* price_micro + freight_micro */
	int64_t goods_vnd;     /* matching_totals() for quantity */
	int64_t freight_vnd;
	int64_t landed_vnd;
	size_t rank;	       /* 1-based place among the compatible, sorted */
	size_t compatible;     /* how many candidates passed every filter */
	uint8_t cand_kind;     /* enum listing_kind of the candidates */
	uint8_t distance_from; /* enum matching_distance_from */
	/*
	 * 1 when reputation decided: the runner-up (the next in rank) had the
	 * same landed cost and a worse record. rep and runner_up: both
	 * records then (kept, ended).
	 */
	uint8_t by_reputation;
	struct matching_rep rep, runner_up;
};

/*
 * Fills *out from a stored listing document (listing.h's shape plus "id"
 * and "owner" strings). remaining (0..UNITS_MAX_BASE), version and seq come
 * from the store, beside the document. 0, or -1 with a static English *why
 * ("missing id", "unknown material", "offer without a price", …) and *out
 * unspecified. doc is borrowed; nothing is kept from it.
 */
int matching_listing_from_doc(struct matching_listing *out, const json_t *doc, int64_t remaining,
			      int64_t version, int64_t seq, const char **why);

/*
 * The engine record: a listing's struct matching_listing (less remaining,
 * version and seq, which the store keeps beside it) as one short line of
 * text, stored with each open listing so a restarting engine loads a
 * million listings without parsing a million JSON documents:
 *   "m1 KIND MATERIAL PROVINCE GRADE_RANK SUBST PRICE_VND PRICE_FACTOR
 *    NEEDED_BY AVAILABLE_FROM AVAILABLE_UNTIL MIN_ORDER MAX_KM HAS_LOC LAT LON
 *    ID OWNER"
 * encode returns 0, or -1 when buf is too small (MATCHING_RECORD_MAX is
 * enough); decode returns 0, or -1 with a static *why.
 */
#define MATCHING_RECORD_MAX 256
int matching_listing_encode(const struct matching_listing *l, char *buf, size_t len);
int matching_listing_decode(struct matching_listing *out, const char *text, int64_t remaining,
			    int64_t version, int64_t seq, const char **why);

/* floor(price_vnd x 10^6 / price_factor): micro-VND per base unit; -1 when
 * the listing has no price or a factor below 1. */
int64_t matching_price_micro(const struct matching_listing *offer);

/*
 * Road km between a and b (see the header comment); *from (may be NULL)
 * says how it was found. Symmetric. Needs both provinces when a side has no
 * coordinates; a missing one counts as 0 km before the floor.
 */
int64_t matching_distance(const struct matching_listing *a, const struct matching_listing *b,
			  enum matching_distance_from *from);
/* matching_distance() without the basis. */
int64_t matching_distance_km(const struct matching_listing *a, const struct matching_listing *b);

/* Name of a basis: "coordinates", "province centres", "intra-province
 * minimum", "coordinates and a province centre". Static storage. */
const char *matching_distance_from_str(enum matching_distance_from from);

/*
 * distance_km x mass_g x rate: freight in micro-VND per base unit of m.
 * -1 when an argument is negative or the result passes INT64_MAX.
 */
int64_t matching_freight_micro(const struct material *m, int64_t distance_km, int64_t rate);

/*
 * Whole-VND totals of q base units bought from offer and carried
 * distance_km at rate, each rounded half up:
 *   goods   = q x price_vnd / price_factor
 *   freight = q x distance_km x mass_g x rate / 10^6
 *   landed  = goods + freight (the two rounded parts, so an invoice adds up;
 *             it may differ by 1 VND from rounding q x landed_micro / 10^6)
 * 0, or -1 when q or an input is out of range or a total would pass
 * MATCHING_TOTAL_VND_MAX (outputs then untouched). Outputs may be NULL.
 */
int matching_totals(const struct matching_listing *offer, int64_t q, int64_t distance_km,
		    int64_t rate, int64_t *goods_vnd, int64_t *freight_vnd, int64_t *landed_vnd);

/*
 * 1 when need and offer may be matched at now_ms, distance_km apart (the
 * caller's matching_distance_km()); 0 with *why (may be NULL) naming the
 * first failing filter, in this order:
 *   "not a need and an offer"
 *   "same owner"
 *   "the need has nothing remaining"
 *   "the offer has nothing remaining"
 *   "the offer's remaining is below its minimum order"
 *   "the need's remaining is below the offer's minimum order"
 *   "different material" (no substitutes accepted, or missing material)
 *   "not an accepted substitute"
 *   "grade below the need's minimum"
 *   "price above the need's maximum"  (exact: offer.vnd x need.factor >
 *                                      need.vnd x offer.factor)
 *   "the need's deadline has passed"  (needed_by <= now)
 *   "the offer is no longer available" (available_until set and <= now)
 *   "available only after the need's deadline" (available_from > needed_by)
 *   "beyond the need's maximum distance"
 *   "beyond the offer's maximum distance"
 * Static strings.
 */
int matching_compatible(const struct matching_listing *need, const struct matching_listing *offer,
			int64_t now_ms, int64_t distance_km, const char **why);

/*
 * Plans the allocation of subject (a need or an offer, its remaining as
 * the quantity to place) over cands, the open listings of the other kind
 * (the caller pre-selects them by material and substitutes; every filter
 * is applied here anyway; NULL entries are skipped). Ranks and allocates as
 * the header comment says, writing at most max_out allocations to out in
 * rank order. Returns how many were written; *considered (may be NULL) = n.
 * Plans nothing when rate is outside 0..MATCHING_RATE_MAX or the subject is
 * neither a need nor an offer. Allocates scratch memory (xmalloc: aborts on
 * exhaustion) and frees it before returning.
 */
size_t matching_plan(const struct matching_listing *subject,
		     const struct matching_listing *const *cands, size_t n, int64_t now_ms,
		     int64_t rate, struct matching_alloc *out, size_t max_out, size_t *considered);

/*
 * The fields of one candidate that a plan reads, packed into one cache line
 * so that a plan streams through an array of rows instead of following a
 * pointer to a 176-byte listing per candidate. matching_row_fill() makes a
 * row from its listing; remaining is the one field that changes without a
 * refill, and whoever changes a listing's remaining sets the row's too.
 */
struct matching_row {
	int64_t key;		    /* matching_row_key(): the order of a run */
	int64_t remaining;	    /* = the listing's */
	int64_t min_order_base;	    /* offers; 0 for needs */
	int64_t from_ms;	    /* offers: available_from; needs: needed_by */
	int64_t until_ms;	    /* offers: available_until, INT64_MAX when open-ended */
	uint32_t owner_hash;	    /* of the owner id: equal hashes are compared in full */
	int32_t max_distance_km;    /* 0 = no limit */
	int32_t lat_udeg, lon_udeg; /* the listing's point, or its province's centre */
	uint8_t material;	    /* materials_at() index; MATCHING_ROW_NONE unknown */
	uint8_t province;	    /* provinces_at() index; MATCHING_ROW_NONE unknown, or
				     * coordinates off the globe: planned from the listing */
	int8_t grade_rank;
	uint8_t has_location;
	uint8_t accept_substitutes;
	uint8_t flags; /* MATCHING_ROW_* */
};
#define MATCHING_ROW_NONE 0xff
/* remaining > 0 and not below the listing's own minimum order */
#define MATCHING_ROW_OPEN 1
/* province and material known, coordinates on the globe, (offers) a price */
#define MATCHING_ROW_PLAIN 2
/* a maximum distance */
#define MATCHING_ROW_LIMIT 4
/* the caller's mark: not a candidate this time (matching_row_fill clears it) */
#define MATCHING_ROW_SKIP 8

/*
 * The order of a run of rows. Offers: matching_price_micro(), and a run of
 * offers is in ascending key order. Needs: the maximum price per base unit,
 * floor(price_vnd x 10^6 / price_factor), INT64_MAX when the need has none
 * (or it does not fit), and a run of needs is in descending key order.
 */
int64_t matching_row_key(const struct matching_listing *l);
/* Fills *r from l (not marked MATCHING_ROW_SKIP). */
void matching_row_fill(struct matching_row *r, const struct matching_listing *l);
/* Sets the row's remaining (and its MATCHING_ROW_OPEN flag). */
void matching_row_set_remaining(struct matching_row *r, int64_t remaining);

/*
 * What a plan counts of MATCHING_BLOCK_ROWS consecutive rows of a run at
 * once, instead of row by row: the rows that need only the row's own
 * fields to count (open, plain, not skipped: "countable"), the extremes of
 * the fields their count tests, their owners, and for those without a
 * distance limit ("plain" here) the two fields a subject's quantity and
 * grade test, side by side. A block whose extremes pass adds its plain
 * rows to the count at once (or tests the two arrays when the minimum
 * order or grade extremes do not pass), measures only its limited rows'
 * distances, and hands only the others to the row-by-row filters; any
 * other block is read row by row. Made by the plan itself from the rows
 * when it needs one and finds it stale (valid 0); whoever changes a row,
 * or moves rows, marks the blocks that held them stale
 * (matching_blocks_stale), so the count is always the row-by-row one.
 */
#define MATCHING_BLOCK_ROWS 32
struct matching_block {
	int64_t max_min_order;		      /* of the countable rows: the largest minimum order */
	int64_t min_until;		      /* the earliest until_ms */
	int64_t max_from;		      /* the latest from_ms */
	uint32_t other;			      /* bit j: row j of the block is not countable */
	uint32_t limited;		      /* bit j: row j is countable, with a distance limit */
	uint8_t valid;			      /* 0: stale, made again before use */
	uint8_t n_owners;		      /* countable rows */
	uint8_t n_plain;		      /* countable rows without a limit */
	uint8_t material;		      /* of every row of the block, or MATCHING_ROW_NONE */
	int8_t min_grade;		      /* the least grade_rank of the countable rows */
	int8_t grade[MATCHING_BLOCK_ROWS];    /* the plain rows' grade ranks */
	uint32_t owners[MATCHING_BLOCK_ROWS]; /* the countable rows' owner hashes (padded) */
	int64_t min_order[MATCHING_BLOCK_ROWS]; /* the plain rows' minimum orders */
};
/* Blocks for n rows. */
#define MATCHING_BLOCKS(n) (((n) + MATCHING_BLOCK_ROWS - 1) / MATCHING_BLOCK_ROWS)
/* Marks stale the blocks that hold rows from..n-1 of a run of n rows. */
void matching_blocks_stale(struct matching_block *blocks, size_t from, size_t n);

/*
 * Candidates of one list: cands[i] is described by rows[i], in key order.
 * blocks (may be NULL: counted row by row): MATCHING_BLOCKS(n) of them,
 * blocks[b] of rows b x MATCHING_BLOCK_ROWS on; a plan may remake stale
 * ones (so several plans must not share them at once).
 */
struct matching_run {
	const struct matching_listing *const *cands;
	const struct matching_row *rows;
	size_t n;
	struct matching_block *blocks;
};

/*
 * matching_plan() over the concatenation of the runs' cands (an allocation's
 * index is its place in that concatenation; a row marked MATCHING_ROW_SKIP
 * counts as a
 * NULL candidate): exactly the same allocations, every field equal, the
 * number of compatible candidates included, so that every explanation is
 * the same; found without costing every candidate. Each run must be in its
 * key order (see matching_row_key()) and hold the other kind than subject:
 * a material's list, and the lists of its substitutes. How:
 *   - a run stops at the first row whose price is out of the subject's
 *     reach (an offer above a need's maximum, a need whose maximum is below
 *     an offer's price): every row after it refuses the price too;
 *   - the filters run on the row first, and only what the row cannot settle
 *     (an equal owner hash, a price equal to the bound once floored, a
 *     substitute need's grade) reads the listings; a distance is measured
 *     from the table of province centres when neither side has coordinates;
 *   - the MATCHING_PRUNE_KEEP least landed costs seen so far are a bound:
 *     a candidate whose price plus a lower bound of its freight (from the
 *     change of latitude alone) is above them cannot
 *     rank among them, so it is only counted when compatible, never costed
 *     in full; in a need's run of offers, once the price alone passes the
 *     bound, the rest is counted from the rows, a block at a time where
 *     the run has blocks (struct matching_block). When the allocation needs
 *     more ranks than the bound vouches for, the plan is made again without
 *     it.
 * *considered (may be NULL) = how many candidates were costed in full.
 */
#define MATCHING_PRUNE_KEEP 16
size_t matching_plan_runs(const struct matching_listing *subject, const struct matching_run *runs,
			  size_t n_runs, int64_t now_ms, int64_t rate, struct matching_alloc *out,
			  size_t max_out, size_t *considered);

/*
 * Why a match was proposed, for the moderator: a new object
 *   {"need", "offer": ids, "material", "base_unit", "quantity_base",
 *    "unit_price": {"vnd", "unit", "per_base_micro_vnd"},
 *    "distance_km", "distance_from": "coordinates" | "province centres" |
 *                                    "coordinates and a province centre" |
 *                                    "intra-province minimum",
 *    "location_basis": {"need", "offer": "coordinates" | "province centre"}
 *      (the point each side's distance was measured from),
 *    "freight": {"rate_vnd_per_tonne_km", "mass_g_per_base_unit",
 *                "per_base_micro_vnd", "total_vnd"},
 *    "goods_total_vnd", "landed": {"per_base_micro_vnd", "total_vnd"},
 *    "rank", "candidates", "substitute": bool (+ "need_material" when
 *    true), "why": "cheapest landed cost among 3 compatible offers" …,
 *    and when reputation broke a tie (a->by_reputation)
 *    "tie_break": {"by": "reputation", "chosen": {"kept", "ended"},
 *    "runner_up": {"kept", "ended"}}, the why saying so}.
 * a is one of matching_plan()'s allocations for this pair and rate the one
 * it was planned with. Returns a new reference; caller json_decref()s it.
 * All arguments borrowed.
 */
json_t *matching_explain(const struct matching_listing *need, const struct matching_listing *offer,
			 const struct matching_alloc *a, int64_t rate);

#endif
