/*
 * transport_comp — one connected component of a transport_problem loaded
 * into the network simplex and its flows read back (see
 * transport_simplex.h). Both the whole solve (transport.c) and the repair
 * of minimum orders (transport_repair.c) use them, so they live below both.
 */
#include <stdint.h>

#include "common/transport_simplex.h"

int tcomp_load(const struct tcomp *c, const uint8_t *forbid, const int64_t *lower, struct tns *t,
	       int64_t *pos)
{
	const int32_t no = c->n_offers, n = c->n_offers + c->n_needs;
	int64_t m = 0;
	int rc = 0;

	for (int64_t a = 0; a < c->m; a++)
		m += !(forbid && forbid[a]);
	tns_alloc(t, n, no, m);
	for (int32_t i = 0; i < no; i++)
		t->quantity[i] = c->supply[i];
	for (int32_t j = 0; j < c->n_needs; j++)
		t->quantity[no + j] = c->demand[j];
	/*
	 * Arcs in a mixed order, as LEMON stores them: consecutive arcs of one
	 * offer land a stride apart, so one pricing block sees many offers.
	 */
	int64_t stride = n > 0 && m / n > 3 ? m / n : 3, slot = 0, start = 0;
	for (int64_t a = 0; a < c->m; a++) {
		int64_t low = lower ? lower[a] : 0;
		pos[a] = -1;
		if (forbid && forbid[a])
			continue;
		t->quantity[c->a_offer[a]] -= low;
		t->quantity[no + c->a_need[a]] -= low;
		pos[a] = slot;
		t->src[slot] = c->a_offer[a];
		t->tgt[slot] = no + c->a_need[a];
		t->cost[slot] = c->a_cost[a];
		t->cap[slot] = c->a_cap[a] >= TNS_INF ? TNS_INF : c->a_cap[a] - low;
		if (t->cap[slot] < 0)
			rc = -1;
		if ((slot += stride) >= m)
			slot = ++start;
	}
	for (int32_t u = 0; u < n && rc == 0; u++)
		if (t->quantity[u] < 0)
			rc = -1;
	return rc;
}

void tcomp_read(const struct tcomp *c, const struct tns *t, const int64_t *pos,
		const int64_t *lower, int64_t *flow, int64_t *quantity, tns_i128 *cost)
{
	*quantity = 0;
	*cost = 0;
	for (int64_t a = 0; a < c->m; a++) {
		flow[a] = (lower ? lower[a] : 0) + (pos[a] >= 0 ? t->flow[pos[a]] : 0);
		*quantity += flow[a];
		*cost += (tns_i128)flow[a] * c->a_cost[a];
	}
}
