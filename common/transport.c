/*
 * transport — checks a transport_problem, splits it into connected
 * components and solves each with the network simplex, repairing minimum
 * orders where the relaxed flow breaks them (see transport.h).
 */
#include "common/transport.h"

#include <stdlib.h>
#include <string.h>

#include "common/transport_simplex.h"
#include "common/xalloc.h"

static const char *const transport_status_names[] = {
    [TRANSPORT_OPTIMAL] = "optimal",
    [TRANSPORT_FEASIBLE] = "feasible",
    [TRANSPORT_EINVAL] = "invalid",
    [TRANSPORT_ERANGE] = "out of range",
};

const char *transport_status_str(enum transport_status s)
{
	return (unsigned)s <= TRANSPORT_ERANGE ? transport_status_names[s] : "unknown";
}

/* ---- the whole problem -------------------------------------------------- */

static int transport_fail(struct transport_result *r, enum transport_status s, const char **why,
			  const char *reason)
{
	r->status = s;
	if (why)
		*why = reason;
	return -1;
}

/* Union-find with path halving. */
static uint32_t transport_find(uint32_t *up, uint32_t x)
{
	while (up[x] != x) {
		up[x] = up[up[x]];
		x = up[x];
	}
	return x;
}

/* The checks of transport.h's bounds; 0, or -1 with r and *why set. */
static int transport_check(const struct transport_problem *p, struct transport_result *r,
			   const char **why)
{
	tns_i128 sum_s = 0, sum_d = 0;

	if (p->n_offers + p->n_needs > TRANSPORT_NODES_MAX || p->n_arcs > TRANSPORT_ARCS_MAX)
		return transport_fail(r, TRANSPORT_ERANGE, why, "too many offers, needs or arcs");
	if ((p->n_offers && !p->supply) || (p->n_needs && !p->demand) || (p->n_arcs && !p->arcs))
		return transport_fail(r, TRANSPORT_EINVAL, why, "missing array");
	for (size_t i = 0; i < p->n_offers; i++) {
		if (p->supply[i] < 0 || p->supply[i] > TRANSPORT_QUANTITY_MAX)
			return transport_fail(r, TRANSPORT_EINVAL, why, "supply out of range");
		if (p->min_order &&
		    (p->min_order[i] < 0 || p->min_order[i] > TRANSPORT_QUANTITY_MAX))
			return transport_fail(r, TRANSPORT_EINVAL, why,
					      "minimum order out of range");
		sum_s += p->supply[i];
	}
	for (size_t j = 0; j < p->n_needs; j++) {
		if (p->demand[j] < 0 || p->demand[j] > TRANSPORT_QUANTITY_MAX)
			return transport_fail(r, TRANSPORT_EINVAL, why, "demand out of range");
		sum_d += p->demand[j];
	}
	if (sum_s > INT64_MAX || sum_d > INT64_MAX)
		return transport_fail(r, TRANSPORT_ERANGE, why, "total quantity out of range");
	for (size_t a = 0; a < p->n_arcs; a++) {
		const struct transport_arc *arc = &p->arcs[a];
		if (arc->offer >= p->n_offers || arc->need >= p->n_needs)
			return transport_fail(r, TRANSPORT_EINVAL, why, "arc end out of range");
		if (arc->cost < 0 || arc->cap < 0)
			return transport_fail(r, TRANSPORT_EINVAL, why,
					      "negative cost or capacity");
	}
	return 0;
}

/* An arc that can carry something: both ends have a quantity, and its
 * offer's minimum order fits within both ends and its capacity. */
static int transport_usable(const struct transport_problem *p, const struct transport_arc *a)
{
	int64_t s = p->supply[a->offer], d = p->demand[a->need];
	int64_t mo = p->min_order ? p->min_order[a->offer] : 0;
	int64_t cap = a->cap ? a->cap : INT64_MAX;
	return s > 0 && d > 0 && mo <= s && mo <= d && mo <= cap;
}

/* The working set: components of the usable arcs' graph. */
struct transport_split {
	uint32_t *comp_of; /* node -> component (offers, then needs) */
	int32_t *local;	   /* node -> index within its side of the component */
	size_t *arc_order; /* usable arcs grouped by component */
	size_t *arc_start; /* n_comp + 1 offsets into arc_order */
	int32_t *n_off, *n_need;
	size_t n_comp;
};

static void transport_split(const struct transport_problem *p, struct transport_split *s)
{
	const size_t no = p->n_offers, n = p->n_offers + p->n_needs;
	uint32_t *up = xmalloc((n ? n : 1) * sizeof(*up));

	memset(s, 0, sizeof(*s));
	for (size_t u = 0; u < n; u++)
		up[u] = (uint32_t)u;
	for (size_t a = 0; a < p->n_arcs; a++) {
		if (!transport_usable(p, &p->arcs[a]))
			continue;
		uint32_t x = transport_find(up, p->arcs[a].offer);
		uint32_t y = transport_find(up, (uint32_t)(no + p->arcs[a].need));
		if (x != y)
			up[x] = y;
	}
	s->comp_of = xmalloc((n ? n : 1) * sizeof(*s->comp_of));
	s->local = xmalloc((n ? n : 1) * sizeof(*s->local));
	/* number the components that have an arc, in order of their first arc */
	for (size_t u = 0; u < n; u++)
		s->comp_of[u] = UINT32_MAX;
	size_t *count = NULL;
	for (size_t a = 0; a < p->n_arcs; a++) {
		if (!transport_usable(p, &p->arcs[a]))
			continue;
		uint32_t root = transport_find(up, p->arcs[a].offer);
		if (s->comp_of[root] == UINT32_MAX) {
			s->comp_of[root] = (uint32_t)s->n_comp++;
			count = xrealloc(count, s->n_comp * sizeof(*count));
			count[s->n_comp - 1] = 0;
		}
		count[s->comp_of[root]]++;
	}
	s->n_off = xcalloc(s->n_comp ? s->n_comp : 1, sizeof(*s->n_off));
	s->n_need = xcalloc(s->n_comp ? s->n_comp : 1, sizeof(*s->n_need));
	for (size_t u = 0; u < n; u++) {
		uint32_t root = transport_find(up, (uint32_t)u);
		uint32_t k = s->comp_of[root];
		if (u != root)
			s->comp_of[u] = k;
		if (k == UINT32_MAX)
			continue;
		s->local[u] = u < no ? s->n_off[k]++ : s->n_need[k]++;
	}
	s->arc_start = xcalloc(s->n_comp + 1, sizeof(*s->arc_start));
	for (size_t k = 0; k < s->n_comp; k++)
		s->arc_start[k + 1] = s->arc_start[k] + count[k];
	s->arc_order = xmalloc((s->arc_start[s->n_comp] ? s->arc_start[s->n_comp] : 1) *
			       sizeof(*s->arc_order));
	for (size_t k = 0; k < s->n_comp; k++)
		count[k] = s->arc_start[k];
	for (size_t a = 0; a < p->n_arcs; a++)
		if (transport_usable(p, &p->arcs[a]))
			s->arc_order[count[s->comp_of[p->arcs[a].offer]]++] = a;
	free(count);
	free(up);
}

static void transport_split_free(struct transport_split *s)
{
	free(s->comp_of);
	free(s->local);
	free(s->arc_order);
	free(s->arc_start);
	free(s->n_off);
	free(s->n_need);
}

/* Component k of s as a tcomp (arrays allocated; tcomp_free frees). */
static void transport_comp_make(const struct transport_problem *p, const struct transport_split *s,
				size_t k, struct tcomp *c)
{
	const size_t no = p->n_offers;
	const size_t *arcs = s->arc_order + s->arc_start[k];

	c->n_offers = s->n_off[k];
	c->n_needs = s->n_need[k];
	c->m = (int64_t)(s->arc_start[k + 1] - s->arc_start[k]);
	c->supply = xmalloc((size_t)c->n_offers * sizeof(*c->supply));
	c->min_order = xmalloc((size_t)c->n_offers * sizeof(*c->min_order));
	c->demand = xmalloc((size_t)c->n_needs * sizeof(*c->demand));
	c->a_offer = xmalloc((size_t)c->m * sizeof(*c->a_offer));
	c->a_need = xmalloc((size_t)c->m * sizeof(*c->a_need));
	c->a_cost = xmalloc((size_t)c->m * sizeof(*c->a_cost));
	c->a_cap = xmalloc((size_t)c->m * sizeof(*c->a_cap));
	c->a_global = xmalloc((size_t)c->m * sizeof(*c->a_global));
	for (int64_t a = 0; a < c->m; a++) {
		const struct transport_arc *arc = &p->arcs[arcs[a]];
		int32_t i = s->local[arc->offer], j = s->local[no + arc->need];
		c->a_offer[a] = i;
		c->a_need[a] = j;
		c->a_cost[a] = arc->cost;
		c->a_cap[a] = arc->cap ? arc->cap : TNS_INF;
		c->a_global[a] = arcs[a];
		c->supply[i] = p->supply[arc->offer];
		c->min_order[i] = p->min_order ? p->min_order[arc->offer] : 0;
		c->demand[j] = p->demand[arc->need];
	}
}

static void transport_comp_free(struct tcomp *c)
{
	free(c->supply);
	free(c->min_order);
	free(c->demand);
	free(c->a_offer);
	free(c->a_need);
	free(c->a_cost);
	free(c->a_cap);
	free(c->a_global);
}

/* 1 when some arc of c carries less than its offer's minimum order. */
static int transport_breaks_minimums(const struct tcomp *c, const int64_t *flow)
{
	for (int64_t a = 0; a < c->m; a++)
		if (flow[a] > 0 && flow[a] < c->min_order[c->a_offer[a]])
			return 1;
	return 0;
}

int transport_solve(const struct transport_problem *p, int64_t *flow, struct transport_result *r,
		    const char **why)
{
	struct transport_split s;
	tns_i128 cost = 0, bound_cost = 0;
	int64_t quantity = 0, bound_quantity = 0;
	int proven = 1;

	memset(r, 0, sizeof(*r));
	if (transport_check(p, r, why) != 0)
		return -1;
	for (size_t a = 0; a < p->n_arcs; a++)
		flow[a] = 0;
	transport_split(p, &s);
	r->components = s.n_comp;
	for (size_t k = 0; k < s.n_comp; k++) {
		struct tcomp c;
		int64_t q, rq;
		tns_i128 cc, rcost;

		transport_comp_make(p, &s, k, &c);
		int64_t *relaxed = xmalloc((size_t)c.m * sizeof(*relaxed));
		int64_t *pos = xmalloc((size_t)c.m * sizeof(*pos));
		int64_t *fixed = relaxed;
		struct tns t;
		/*
		 * Without lower bounds nothing can fail: the slack tree is
		 * feasible and every cycle costs >= 0.
		 */
		(void)tcomp_load(&c, NULL, NULL, &t, pos);
		(void)tns_run(&t);
		r->pivots += t.pivots;
		tcomp_read(&c, &t, pos, NULL, relaxed, &rq, &rcost);
		q = rq;
		cc = rcost;
		if (p->min_order && transport_breaks_minimums(&c, relaxed)) {
			fixed = xmalloc((size_t)c.m * sizeof(*fixed));
			tcomp_repair(&c, &t, pos, relaxed, fixed, &q, &cc, &r->pivots, &r->rounds);
			if (q != rq || cc != rcost)
				proven = 0;
		}
		tns_free(&t);
		free(pos);
		for (int64_t a = 0; a < c.m; a++)
			flow[c.a_global[a]] = fixed[a];
		quantity += q;
		cost += cc;
		bound_quantity += rq;
		bound_cost += rcost;
		if (fixed != relaxed)
			free(fixed);
		free(relaxed);
		transport_comp_free(&c);
	}
	transport_split_free(&s);
	/* costs >= 0: both totals are; (2x + 10^6) / (2 x 10^6) rounds half up */
	tns_i128 vnd = (2 * cost + 1000000) / 2000000;
	tns_i128 bound_vnd = (2 * bound_cost + 1000000) / 2000000;
	if (vnd > INT64_MAX || bound_vnd > INT64_MAX)
		return transport_fail(r, TRANSPORT_ERANGE, why, "total cost out of range");
	r->quantity = quantity;
	r->cost = cost > INT64_MAX ? -1 : (int64_t)cost;
	r->cost_vnd = (int64_t)vnd;
	r->bound_quantity = bound_quantity;
	r->bound_cost = bound_cost > INT64_MAX ? -1 : (int64_t)bound_cost;
	r->bound_cost_vnd = (int64_t)bound_vnd;
	r->status = proven ? TRANSPORT_OPTIMAL : TRANSPORT_FEASIBLE;
	return 0;
}
