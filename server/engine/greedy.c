/*
 * greedy — the continuous engine's rule replayed over a forum's listings
 * (see greedy.h).
 */
#include "server/engine/greedy.h"

#include <stdlib.h>

#include "common/xalloc.h"
#include "server/engine/index.h"

static int greedy_by_seq(const void *a, const void *b)
{
	const struct matching_listing *x = *(const struct matching_listing *const *)a;
	const struct matching_listing *y = *(const struct matching_listing *const *)b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	/* equal seqs (never from the store): keep the input order */
	return x < y ? -1 : x > y;
}

void greedy_totals(const struct matching_listing *ls, size_t n, int64_t now_ms, int64_t rate,
		   int64_t *quantity, int64_t *landed_vnd)
{
	*quantity = 0;
	*landed_vnd = 0;
	if (n == 0)
		return;
	const struct matching_listing **order = xmalloc(n * sizeof(*order));
	for (size_t i = 0; i < n; i++)
		order[i] = &ls[i];
	qsort(order, n, sizeof(*order), greedy_by_seq);
	struct index *ix = index_new();
	struct matching_alloc *out = xmalloc(n * sizeof(*out));
	const struct matching_listing **picked = xmalloc(n * sizeof(*picked));
	for (size_t i = 0; i < n; i++) {
		/*
		 * The listing joins the index as it is posted: it is a candidate
		 * for every later one (its own list is of its kind, so it is
		 * never its own candidate).
		 */
		struct index_entry *e = index_put(ix, order[i]);
		size_t k = index_plan(ix, e, now_ms, rate, out, n, NULL, picked);
		for (size_t a = 0; a < k; a++) {
			struct index_entry *c = index_get(ix, picked[a]->id);
			index_set_known(ix, c, c->known - out[a].quantity);
			index_set_known(ix, e, e->known - out[a].quantity);
			*quantity += out[a].quantity;
			*landed_vnd += out[a].landed_vnd;
		}
	}
	free(picked);
	free(out);
	index_free(ix);
	free(order);
}
