/*
 * transport_simplex — the primal network simplex on one connected component
 * of a transportation problem; internal to transport.c, transport_comp.c
 * and transport_repair.c (the engine calls transport.h).
 *
 * The component is a bipartite graph plus a root: offers are nodes
 * 0..n_offers-1, needs n_offers..n-1, the root is n. Arcs 0..m-1 are the
 * real ones (offer -> need); arc m + u is node u's slack arc: u -> root for
 * an offer (supply left unused, cost 0), root -> u for a need (demand left
 * unmet, cost (1, 0)). An arc the repair forbids costs (2, c): worse than
 * leaving its unit unmet, so an optimum carries nothing on it. Costs are
 * lexicographic pairs (primary, secondary):
 * every real arc costs (0, c), so the least-cost circulation first leaves
 * the least demand unmet (= matches the most) and then pays the least
 * secondary cost. Potentials hold the pair exactly in one __int128 as
 * primary x 2^TNS_PRIMARY_SHIFT + secondary: no big-M constant to choose,
 * nothing to overflow (the bounds are in transport.h).
 *
 * The simplex is the textbook one as LEMON's NetworkSimplex runs it: the
 * spanning tree kept in parent / thread / reverse-thread / subtree-size /
 * last-successor arrays, block-search pricing (blocks of sqrt(arcs)), the
 * leaving arc chosen so that the tree stays strongly feasible (no cycling
 * on degenerate pivots), and a first pass that brings in each need's
 * cheapest arc. The starting tree is all slack arcs: every offer unused,
 * every need unmet, which is feasible, so no phase one is needed.
 *
 * No I/O, no floating point but the block size (a square root, on counts).
 */
#ifndef CM_TRANSPORT_SIMPLEX_H
#define CM_TRANSPORT_SIMPLEX_H

#include <stddef.h>
#include <stdint.h>

__extension__ typedef __int128 tns_i128;

/* A pair's primary unit: secondaries stay far below it (transport.h). */
#define TNS_PRIMARY_SHIFT 100
/*
 * The same pair in one int64, when a component's numbers allow it: with
 * primaries 0 or 1 (nothing forbidden yet), potentials' secondaries stay
 * within (nodes + 1) x the largest cost, and when (2 nodes + 1) x that cost
 * is below 2^60 every reduced cost fits int64 with its sign right. The
 * pricing loop, which is most of a solve, then reads half the bytes.
 */
#define TNS_NARROW_SHIFT 60
#define TNS_INF INT64_MAX

struct tns {
	/* the problem, filled by the caller (tns_alloc sizes the arrays) */
	int32_t n;	    /* real nodes */
	int32_t n_offers;   /* nodes 0..n_offers-1 are offers */
	int64_t m;	    /* real arcs */
	int32_t *src, *tgt; /* m + n entries; the slack part set by tns_run */
	int64_t *cost;	    /* secondary cost, >= 0; m + n */
	int64_t *cap;	    /* TNS_INF when unlimited; m + n */
	int8_t *prim;	    /* primary cost: 0, or 2 once forbidden; m + n */
	int64_t *quantity;  /* n: an offer's supply or a need's demand, >= 0 */
	/* the solution, after tns_run */
	int64_t *flow; /* m + n */
	size_t pivots;
	/* working state */
	int64_t block, next; /* pricing: arcs per block, where the next starts */
	int8_t *state;
	int narrow; /* potentials in pi64 (TNS_NARROW_SHIFT), else in pi */
	tns_i128 *pi;
	int64_t *pi64;
	int32_t *parent, *pred, *thread, *rev_thread, *succ_num, *last_succ;
	int8_t *pred_dir;
	int32_t *dirty;
};

/* Sizes every array for n nodes and m arcs (xmalloc: aborts on exhaustion). */
void tns_alloc(struct tns *t, int32_t n, int32_t n_offers, int64_t m);
void tns_free(struct tns *t);
/* dst (uninitialised) becomes a copy of src, arrays and tree. */
void tns_copy(struct tns *dst, const struct tns *src);

/* Solves; 0, or -1 when a pivot found an unbounded cycle (cannot happen
 * with the costs >= 0 that transport.c passes; kept as a guard). */
int tns_run(struct tns *t);

/*
 * After tns_run: forbids arc e (its primary cost becomes 2), for
 * tns_resume. Only costs change, so the tree stays feasible and the next
 * solve starts from it (warm) instead of from the slack tree.
 */
void tns_forbid(struct tns *t, int64_t e);
/* Solves again from the current tree after tns_forbid; as tns_run. */
int tns_resume(struct tns *t);

/*
 * One connected component of a transport_problem, in local numbering:
 * offers 0..n_offers-1, needs 0..n_needs-1, arcs 0..m-1 (a_global: the
 * arc's index in the problem). Made by transport.c.
 */
struct tcomp {
	int32_t n_offers, n_needs;
	int64_t m;
	int64_t *supply, *demand, *min_order; /* min_order: 0 = none */
	int32_t *a_offer, *a_need;
	int64_t *a_cost, *a_cap; /* a_cap: TNS_INF when unlimited */
	size_t *a_global;
};

/*
 * transport_comp.c: the simplex problem of c with every arc a for which
 * forbid[a] is set left out and every other one carrying at least lower[a]
 * (either may be NULL): *t allocated and filled, pos[a] = a's arc in t or
 * -1 (c->m entries). 0, or -1 when the lower bounds ask more than a side
 * or an arc has (t is allocated either way; tns_free it).
 */
int tcomp_load(const struct tcomp *c, const uint8_t *forbid, const int64_t *lower, struct tns *t,
	       int64_t *pos);
/* Flows of t back in c's numbering (lower bounds added) and their totals. */
void tcomp_read(const struct tcomp *c, const struct tns *t, const int64_t *pos,
		const int64_t *lower, int64_t *flow, int64_t *quantity, tns_i128 *cost);

/*
 * transport_repair.c: from the solved relaxation (t, solved by tns_run on
 * tcomp_load(c, NULL, NULL, t, pos); its flow relaxed breaks some minimum
 * order), an allocation where every arc carries 0 or at least its offer's
 * minimum order: flow, *quantity, *cost. t is left as it was. *pivots and
 * *rounds (solves made) grow.
 */
void tcomp_repair(const struct tcomp *c, const struct tns *t, const int64_t *pos,
		  const int64_t *relaxed, int64_t *flow, int64_t *quantity, tns_i128 *cost,
		  size_t *pivots, size_t *rounds);

#endif
