/*
 * matching_best — the pruned plan's bound (see matching_int.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "common/matching.h"
#include "common/matching_int.h"

static void matching_best_sift(struct matching_best *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && matching_best_after(h[l].landed, h[l].deadline, &h[m]))
			m = l;
		if (r < n && matching_best_after(h[r].landed, h[r].deadline, &h[m]))
			m = r;
		if (m == i)
			return;
		struct matching_best t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

void matching_best_add(struct matching_best *best, size_t *best_n, int64_t landed, int64_t deadline)
{
	if (*best_n < MATCHING_PRUNE_KEEP) {
		best[*best_n].landed = landed;
		best[(*best_n)++].deadline = deadline;
		if (*best_n == MATCHING_PRUNE_KEEP)
			for (size_t k = *best_n / 2; k-- > 0;)
				matching_best_sift(best, *best_n, k);
	} else if (matching_best_after(best[0].landed, best[0].deadline,
				       &(struct matching_best){landed, deadline})) {
		best[0].landed = landed;
		best[0].deadline = deadline;
		matching_best_sift(best, *best_n, 0);
	}
}
