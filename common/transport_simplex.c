/*
 * transport_simplex — primal network simplex on one component (see
 * transport_simplex.h). The spanning tree is stored as LEMON stores it:
 * parent, the arc to the parent (pred) and its direction, the preorder
 * "thread" and its reverse, each node's subtree size and the last node of
 * its subtree in thread order; a pivot touches only the cycle and the
 * subtree that moves.
 */
#include "common/transport_simplex.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

enum { TNS_UPPER = -1, TNS_TREE = 0, TNS_LOWER = 1 };
enum { TNS_DOWN = -1, TNS_UP = 1 };

void tns_alloc(struct tns *t, int32_t n, int32_t n_offers, int64_t m)
{
	size_t arcs = (size_t)m + (size_t)n, nodes = (size_t)n + 1;

	memset(t, 0, sizeof(*t));
	t->n = n;
	t->n_offers = n_offers;
	t->m = m;
	t->src = xmalloc(arcs * sizeof(*t->src));
	t->tgt = xmalloc(arcs * sizeof(*t->tgt));
	t->cost = xmalloc(arcs * sizeof(*t->cost));
	t->cap = xmalloc(arcs * sizeof(*t->cap));
	t->prim = xcalloc(arcs, sizeof(*t->prim));
	t->flow = xmalloc(arcs * sizeof(*t->flow));
	t->state = xmalloc(arcs * sizeof(*t->state));
	t->quantity = xmalloc(nodes * sizeof(*t->quantity));
	t->pi = xmalloc(nodes * sizeof(*t->pi));
	t->pi64 = xmalloc(nodes * sizeof(*t->pi64));
	t->parent = xmalloc(nodes * sizeof(*t->parent));
	t->pred = xmalloc(nodes * sizeof(*t->pred));
	t->thread = xmalloc(nodes * sizeof(*t->thread));
	t->rev_thread = xmalloc(nodes * sizeof(*t->rev_thread));
	t->succ_num = xmalloc(nodes * sizeof(*t->succ_num));
	t->last_succ = xmalloc(nodes * sizeof(*t->last_succ));
	t->pred_dir = xmalloc(nodes * sizeof(*t->pred_dir));
	t->dirty = xmalloc(nodes * sizeof(*t->dirty));
}

void tns_copy(struct tns *dst, const struct tns *src)
{
	size_t arcs = (size_t)src->m + (size_t)src->n, nodes = (size_t)src->n + 1;

	tns_alloc(dst, src->n, src->n_offers, src->m);
	memcpy(dst->src, src->src, arcs * sizeof(*src->src));
	memcpy(dst->tgt, src->tgt, arcs * sizeof(*src->tgt));
	memcpy(dst->cost, src->cost, arcs * sizeof(*src->cost));
	memcpy(dst->cap, src->cap, arcs * sizeof(*src->cap));
	memcpy(dst->prim, src->prim, arcs * sizeof(*src->prim));
	memcpy(dst->flow, src->flow, arcs * sizeof(*src->flow));
	memcpy(dst->state, src->state, arcs * sizeof(*src->state));
	memcpy(dst->quantity, src->quantity, nodes * sizeof(*src->quantity));
	memcpy(dst->pi, src->pi, nodes * sizeof(*src->pi));
	memcpy(dst->pi64, src->pi64, nodes * sizeof(*src->pi64));
	dst->narrow = src->narrow;
	memcpy(dst->parent, src->parent, nodes * sizeof(*src->parent));
	memcpy(dst->pred, src->pred, nodes * sizeof(*src->pred));
	memcpy(dst->thread, src->thread, nodes * sizeof(*src->thread));
	memcpy(dst->rev_thread, src->rev_thread, nodes * sizeof(*src->rev_thread));
	memcpy(dst->succ_num, src->succ_num, nodes * sizeof(*src->succ_num));
	memcpy(dst->last_succ, src->last_succ, nodes * sizeof(*src->last_succ));
	memcpy(dst->pred_dir, src->pred_dir, nodes * sizeof(*src->pred_dir));
	dst->block = src->block;
	dst->next = src->next;
}

void tns_free(struct tns *t)
{
	free(t->src);
	free(t->tgt);
	free(t->cost);
	free(t->cap);
	free(t->prim);
	free(t->flow);
	free(t->state);
	free(t->quantity);
	free(t->pi);
	free(t->pi64);
	free(t->parent);
	free(t->pred);
	free(t->thread);
	free(t->rev_thread);
	free(t->succ_num);
	free(t->last_succ);
	free(t->pred_dir);
	free(t->dirty);
	memset(t, 0, sizeof(*t));
}

/* The pivot under way: its cycle and the arcs that swap. */
struct tns_pivot {
	int64_t in_arc;
	int32_t join, u_in, v_in, u_out;
	int64_t delta;
};

/* The full (primary, secondary) cost of arc e. */
static inline tns_i128 tns_cost(const struct tns *t, int64_t e)
{
	return (tns_i128)t->cost[e] + ((tns_i128)t->prim[e] << TNS_PRIMARY_SHIFT);
}

/* The same in the narrow encoding (valid while t->narrow). */
static inline int64_t tns_cost64(const struct tns *t, int64_t e)
{
	return t->cost[e] + ((int64_t)t->prim[e] << TNS_NARROW_SHIFT);
}

/* The reduced cost of e: < 0 means e should enter from its lower bound. */
static inline tns_i128 tns_reduced(const struct tns *t, int64_t e)
{
	if (t->narrow)
		return tns_cost64(t, e) + t->pi64[t->src[e]] - t->pi64[t->tgt[e]];
	return tns_cost(t, e) + t->pi[t->src[e]] - t->pi[t->tgt[e]];
}

/* Reduced cost of e signed by its state: < 0 means e should enter. */
static inline tns_i128 tns_violation(const struct tns *t, int64_t e)
{
	tns_i128 rc = tns_reduced(t, e);
	return t->state[e] == TNS_LOWER ? rc : t->state[e] == TNS_UPPER ? -rc : 0;
}

/*
 * Block search: scan blocks of arcs from where the last scan stopped,
 * cyclically, and take the most violating arc of the first block that has
 * one. 0 when no arc violates: the tree is optimal.
 */
static int tns_price(struct tns *t, struct tns_pivot *p)
{
	tns_i128 best = 0;
	int64_t cnt = t->block, e = t->next;
	const int64_t n = t->m + t->n;

	for (int64_t seen = 0; seen < n; seen++) {
		tns_i128 rc;
		if (t->state[e] != TNS_TREE) {
			rc = tns_reduced(t, e);
			if (t->state[e] == TNS_UPPER)
				rc = -rc;
			if (rc < best) {
				best = rc;
				p->in_arc = e;
			}
		}
		if (++e == n)
			e = 0;
		if (--cnt == 0) {
			if (best < 0)
				break;
			cnt = t->block;
		}
	}
	t->next = e;
	return best < 0;
}

/* The cycle's apex: the deepest common ancestor of the entering arc's ends. */
static void tns_find_join(const struct tns *t, struct tns_pivot *p)
{
	int32_t u = t->src[p->in_arc], v = t->tgt[p->in_arc];

	while (u != v) {
		if (t->succ_num[u] < t->succ_num[v])
			u = t->parent[u];
		else
			v = t->parent[v];
	}
	p->join = u;
}

/* What arc e (the tree arc above node u) can still carry toward the cycle's
 * direction: its flow when the cycle runs against it, else cap - flow. */
static inline int64_t tns_room(const struct tns *t, int64_t e, int against)
{
	if (against)
		return t->flow[e];
	return t->cap[e] >= TNS_INF ? TNS_INF : t->cap[e] - t->flow[e];
}

/*
 * The leaving arc. The cycle runs along the entering arc from "first" to
 * "second", then from second up to the join and down to first. Ties are
 * broken toward the last blocking arc met when walking the cycle from the
 * join in its direction, which keeps the tree strongly feasible: strictly
 * smaller on first's side, smaller or equal on second's. Sets delta (how
 * much flows round the cycle), u_out (the node under the leaving arc) and
 * u_in / v_in (the entering arc's ends: u_in on the side that moves).
 * Returns 0 when the entering arc is itself the bottleneck (it only flips
 * between its bounds).
 */
static int tns_find_leaving(const struct tns *t, struct tns_pivot *p)
{
	int32_t first, second;
	int side = 0;

	if (t->state[p->in_arc] == TNS_LOWER) {
		first = t->src[p->in_arc];
		second = t->tgt[p->in_arc];
	} else {
		first = t->tgt[p->in_arc];
		second = t->src[p->in_arc];
	}
	p->delta = t->cap[p->in_arc];
	for (int32_t u = first; u != p->join; u = t->parent[u]) {
		/* the cycle goes up from first: against an arc pointing down */
		int64_t d = tns_room(t, t->pred[u], t->pred_dir[u] == TNS_UP);
		if (d < p->delta) {
			p->delta = d;
			p->u_out = u;
			side = 1;
		}
	}
	for (int32_t u = second; u != p->join; u = t->parent[u]) {
		/* the cycle goes down to second: against an arc pointing up */
		int64_t d = tns_room(t, t->pred[u], t->pred_dir[u] == TNS_DOWN);
		if (d <= p->delta) {
			p->delta = d;
			p->u_out = u;
			side = 2;
		}
	}
	if (side == 1) {
		p->u_in = first;
		p->v_in = second;
	} else {
		p->u_in = second;
		p->v_in = first;
	}
	return side != 0;
}

/* Pushes delta round the cycle and sets the states of the arcs that swap. */
static void tns_change_flow(struct tns *t, const struct tns_pivot *p, int change)
{
	int64_t e = p->in_arc;

	if (p->delta > 0) {
		int64_t val = t->state[e] * p->delta;
		t->flow[e] += val;
		for (int32_t u = t->src[e]; u != p->join; u = t->parent[u])
			t->flow[t->pred[u]] -= t->pred_dir[u] * val;
		for (int32_t u = t->tgt[e]; u != p->join; u = t->parent[u])
			t->flow[t->pred[u]] += t->pred_dir[u] * val;
	}
	if (change) {
		int64_t out = t->pred[p->u_out];
		t->state[e] = TNS_TREE;
		t->state[out] = t->flow[out] == 0 ? TNS_LOWER : TNS_UPPER;
	} else {
		t->state[e] = (int8_t)-t->state[e];
	}
}

/*
 * Re-hangs the subtree under the leaving arc: the path ("stem") from u_in
 * up to u_out is reversed so that u_in hangs from v_in by the entering
 * arc, each stem node's subtree minus the next stem node's is cut out of
 * the thread and spliced in after its new parent, and the subtree sizes
 * and last successors are corrected on the stem and on both paths to the
 * join.
 */
static void tns_update_tree(struct tns *t, const struct tns_pivot *p)
{
	const int32_t u_in = p->u_in, v_in = p->v_in, u_out = p->u_out, join = p->join;
	const int32_t old_rev_thread = t->rev_thread[u_out];
	const int32_t old_succ_num = t->succ_num[u_out];
	const int32_t old_last_succ = t->last_succ[u_out];
	const int32_t v_out = t->parent[u_out];
	int32_t *thread = t->thread, *rev = t->rev_thread, *parent = t->parent;
	int32_t *last_succ = t->last_succ, *succ_num = t->succ_num;

	if (u_in == u_out) {
		/* only the one subtree moves, whole: re-parent and splice */
		parent[u_in] = v_in;
		t->pred[u_in] = (int32_t)p->in_arc;
		t->pred_dir[u_in] = u_in == t->src[p->in_arc] ? TNS_UP : TNS_DOWN;
		if (thread[v_in] != u_out) {
			int32_t after = thread[old_last_succ];
			thread[old_rev_thread] = after;
			rev[after] = old_rev_thread;
			after = thread[v_in];
			thread[v_in] = u_out;
			rev[u_out] = v_in;
			thread[old_last_succ] = after;
			rev[after] = old_last_succ;
		}
	} else {
		/* when v_in precedes u_out in the thread, join == v_out */
		int32_t thread_continue =
		    old_rev_thread == v_in ? thread[old_last_succ] : thread[v_in];
		int32_t stem = u_in, par_stem = v_in, next_stem;
		int32_t last = last_succ[u_in], before, after = thread[last];
		size_t n_dirty = 0;

		thread[v_in] = u_in;
		t->dirty[n_dirty++] = v_in;
		while (stem != u_out) {
			next_stem = parent[stem];
			thread[last] = next_stem;
			t->dirty[n_dirty++] = last;
			/* cut stem's subtree out of where it was in the thread */
			before = rev[stem];
			thread[before] = after;
			rev[after] = before;
			parent[stem] = par_stem;
			par_stem = stem;
			stem = next_stem;
			/* the last node of stem's subtree once par_stem's is gone */
			last = last_succ[stem] == last_succ[par_stem] ? rev[par_stem]
								      : last_succ[stem];
			after = thread[last];
		}
		parent[u_out] = par_stem;
		thread[last] = thread_continue;
		rev[thread_continue] = last;
		last_succ[u_out] = last;
		if (old_rev_thread != v_in) {
			thread[old_rev_thread] = after;
			rev[after] = old_rev_thread;
		}
		for (size_t i = 0; i < n_dirty; i++)
			rev[thread[t->dirty[i]]] = t->dirty[i];

		/* the stem's arcs shift down one node and turn round */
		int32_t sizes = 0, tmp_last = last_succ[u_out];
		for (int32_t u = u_out, q = parent[u]; u != u_in; u = q, q = parent[u]) {
			t->pred[u] = t->pred[q];
			t->pred_dir[u] = (int8_t)-t->pred_dir[q];
			sizes += succ_num[u] - succ_num[q];
			succ_num[u] = sizes;
			last_succ[q] = tmp_last;
		}
		t->pred[u_in] = (int32_t)p->in_arc;
		t->pred_dir[u_in] = u_in == t->src[p->in_arc] ? TNS_UP : TNS_DOWN;
		succ_num[u_in] = old_succ_num;
	}

	/* last successors on the path from v_in up, and from v_out up */
	int32_t up_limit_out = last_succ[join] == v_in ? join : -1;
	int32_t last_succ_out = last_succ[u_out];
	for (int32_t u = v_in; u != -1 && last_succ[u] == v_in; u = parent[u])
		last_succ[u] = last_succ_out;
	if (join != old_rev_thread && v_in != old_rev_thread) {
		for (int32_t u = v_out; u != up_limit_out && last_succ[u] == old_last_succ;
		     u = parent[u])
			last_succ[u] = old_rev_thread;
	} else if (last_succ_out != old_last_succ) {
		for (int32_t u = v_out; u != up_limit_out && last_succ[u] == old_last_succ;
		     u = parent[u])
			last_succ[u] = last_succ_out;
	}
	/* subtree sizes between the moved subtree's old and new places and the join */
	for (int32_t u = v_in; u != join; u = parent[u])
		succ_num[u] += old_succ_num;
	for (int32_t u = v_out; u != join; u = parent[u])
		succ_num[u] -= old_succ_num;
}

/* The moved subtree's potentials shift so that the entering arc's reduced
 * cost is 0. */
static void tns_update_potential(struct tns *t, const struct tns_pivot *p)
{
	int32_t end = t->thread[t->last_succ[p->u_in]];

	if (t->narrow) {
		int64_t c = tns_cost64(t, p->in_arc);
		int64_t sigma =
		    t->pi64[p->v_in] - t->pi64[p->u_in] - (t->pred_dir[p->u_in] == TNS_UP ? c : -c);
		for (int32_t u = p->u_in; u != end; u = t->thread[u])
			t->pi64[u] += sigma;
		return;
	}
	tns_i128 c = tns_cost(t, p->in_arc);
	tns_i128 sigma =
	    t->pi[p->v_in] - t->pi[p->u_in] - (t->pred_dir[p->u_in] == TNS_UP ? c : -c);
	for (int32_t u = p->u_in; u != end; u = t->thread[u])
		t->pi[u] += sigma;
}

/* One pivot on the entering arc p->in_arc; 0, or -1 when unbounded. */
static int tns_pivot_on(struct tns *t, struct tns_pivot *p)
{
	tns_find_join(t, p);
	int change = tns_find_leaving(t, p);
	if (p->delta >= TNS_INF)
		return -1;
	tns_change_flow(t, p, change);
	if (change) {
		tns_update_tree(t, p);
		tns_update_potential(t, p);
	}
	t->pivots++;
	return 0;
}

/* The starting tree: every node hangs from the root by its slack arc. */
static void tns_init(struct tns *t, struct tns_pivot *p)
{
	const int32_t n = t->n, root = n;
	const int64_t m = t->m;

	for (int64_t e = 0; e < m; e++) {
		t->flow[e] = 0;
		t->state[e] = TNS_LOWER;
	}
	t->parent[root] = -1;
	t->pred[root] = -1;
	t->thread[root] = 0;
	t->rev_thread[0] = root;
	t->succ_num[root] = n + 1;
	t->last_succ[root] = root - 1;
	t->pi[root] = 0;
	t->pi64[root] = 0;
	/* narrow when (2n + 1) x the largest cost < 2^60 (transport_simplex.h) */
	int64_t cmax = 0;
	for (int64_t e = 0; e < m; e++)
		if (t->cost[e] > cmax)
			cmax = t->cost[e];
	t->narrow = (tns_i128)cmax * (2 * (tns_i128)n + 1) < ((tns_i128)1 << TNS_NARROW_SHIFT);
#ifdef TNS_FORCE_WIDE
	t->narrow = 0; /* the oracle's second build: the wide path on every instance */
#endif
	for (int32_t u = 0; u < n; u++) {
		int64_t e = m + u;
		t->parent[u] = root;
		t->pred[u] = (int32_t)e;
		t->thread[u] = u + 1;
		t->rev_thread[u + 1] = u;
		t->succ_num[u] = 1;
		t->last_succ[u] = u;
		t->cap[e] = TNS_INF;
		t->cost[e] = 0;
		t->prim[e] = u < t->n_offers ? 0 : 1;
		t->state[e] = TNS_TREE;
		t->flow[e] = t->quantity[u];
		if (u < t->n_offers) {
			t->src[e] = u;
			t->tgt[e] = root;
			t->pred_dir[u] = TNS_UP;
			t->pi[u] = 0;
			t->pi64[u] = 0;
		} else {
			t->src[e] = root;
			t->tgt[e] = u;
			t->pred_dir[u] = TNS_DOWN;
			t->pi[u] = (tns_i128)1 << TNS_PRIMARY_SHIFT;
			t->pi64[u] = INT64_C(1) << TNS_NARROW_SHIFT;
		}
	}
	t->pivots = 0;
	memset(p, 0, sizeof(*p));
	t->next = 0;
	t->block = (int64_t)sqrt((double)(m + n));
	if (t->block < 10)
		t->block = 10;
}

/* Each need's cheapest arc enters first: most of them stay. */
static int tns_initial_pivots(struct tns *t, struct tns_pivot *p)
{
	const int32_t no = t->n_offers, nn = t->n - no;
	int64_t *best = xmalloc((size_t)(nn > 0 ? nn : 1) * sizeof(*best));
	int rc = 0;

	for (int32_t j = 0; j < nn; j++)
		best[j] = -1;
	for (int64_t e = 0; e < t->m; e++) {
		int32_t j = t->tgt[e] - no;
		if (best[j] < 0 || t->cost[e] < t->cost[best[j]])
			best[j] = e;
	}
	for (int32_t j = 0; j < nn && rc == 0; j++) {
		if (best[j] < 0 || tns_violation(t, best[j]) >= 0)
			continue;
		p->in_arc = best[j];
		rc = tns_pivot_on(t, p);
	}
	free(best);
	return rc;
}

static int tns_loop(struct tns *t, struct tns_pivot *p)
{
	while (tns_price(t, p))
		if (tns_pivot_on(t, p) != 0)
			return -1;
	return 0;
}

int tns_run(struct tns *t)
{
	struct tns_pivot p;

	tns_init(t, &p);
	if (tns_initial_pivots(t, &p) != 0)
		return -1;
	return tns_loop(t, &p);
}

void tns_forbid(struct tns *t, int64_t e)
{
	t->prim[e] = 2;
}

int tns_resume(struct tns *t)
{
	struct tns_pivot p;
	const int32_t root = t->n;

	/* potentials from the root down the thread (preorder: parents first),
	 * wide from now on: a forbidden arc's primary 2 may pile up on a path */
	memset(&p, 0, sizeof(p));
	t->narrow = 0;
	t->pi[root] = 0;
	for (int32_t u = t->thread[root]; u != root; u = t->thread[u]) {
		tns_i128 c = tns_cost(t, t->pred[u]);
		t->pi[u] = t->pi[t->parent[u]] + (t->pred_dir[u] == TNS_UP ? -c : c);
	}
	return tns_loop(t, &p);
}
