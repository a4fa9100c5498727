/*
 * callplan — a call market round over a snapshot (see callplan.h).
 */
#include "server/engine/callplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clearing.h"
#include "common/listing.h"
#include "common/materials.h"
#include "common/xalloc.h"

/* materials_at() index of m, or -1. */
static long callplan_material(const struct material *m)
{
	for (size_t k = 0; k < materials_count(); k++)
		if (materials_at(k) == m)
			return (long)k;
	return -1;
}

/*
 * The price screen (callplan.h): keep[i] = 1 for the listings that may
 * trade with someone in the snapshot. Per material: the least offer key
 * and the greatest need key (all needs, and the needs that take
 * substitutes); then a need is kept when an offer it would take asks no
 * more than its maximum, an offer when a need that would take it pays at
 * least its price.
 */
static size_t callplan_screen(const struct matching_listing *ls, size_t n, unsigned char *keep)
{
	size_t nm = materials_count();
	int64_t *min_offer = xmalloc((nm ? nm : 1) * sizeof(*min_offer));
	int64_t *max_need = xmalloc((nm ? nm : 1) * sizeof(*max_need));
	int64_t *max_need_sub = xmalloc((nm ? nm : 1) * sizeof(*max_need_sub));
	long *mat = xmalloc((n ? n : 1) * sizeof(*mat));
	size_t kept = 0;
	for (size_t m = 0; m < nm; m++) {
		min_offer[m] = INT64_MAX;
		max_need[m] = INT64_MIN;
		max_need_sub[m] = INT64_MIN;
	}
	for (size_t i = 0; i < n; i++) {
		const struct matching_listing *l = &ls[i];
		mat[i] = l->remaining > 0 ? callplan_material(l->material) : -1;
		if (mat[i] < 0)
			continue;
		int64_t key = matching_row_key(l);
		if (l->kind == LISTING_OFFER && key < min_offer[mat[i]])
			min_offer[mat[i]] = key;
		if (l->kind == LISTING_NEED) {
			if (key > max_need[mat[i]])
				max_need[mat[i]] = key;
			if (l->accept_substitutes && key > max_need_sub[mat[i]])
				max_need_sub[mat[i]] = key;
		}
	}
	for (size_t i = 0; i < n; i++) {
		keep[i] = 0;
		if (mat[i] < 0)
			continue;
		const struct matching_listing *l = &ls[i];
		const struct material *lm = materials_at((size_t)mat[i]);
		int64_t key = matching_row_key(l);
		int ok = 0;
		if (l->kind == LISTING_NEED) {
			ok = min_offer[mat[i]] <= key;
			for (size_t m = 0; !ok && l->accept_substitutes && m < nm; m++)
				ok = (long)m != mat[i] && min_offer[m] <= key &&
				     materials_is_substitute(lm, materials_at(m));
		} else if (l->kind == LISTING_OFFER) {
			ok = max_need[mat[i]] >= key;
			for (size_t m = 0; !ok && m < nm; m++)
				ok = (long)m != mat[i] && max_need_sub[m] >= key &&
				     materials_is_substitute(materials_at(m), lm);
		}
		keep[i] = (unsigned char)ok;
		kept += (size_t)ok;
	}
	free(mat);
	free(max_need_sub);
	free(max_need);
	free(min_offer);
	return kept;
}

static int callplan_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* clearing_keep()'s rule: the pair is not among the excluded ones. */
static int callplan_keep(const struct matching_listing *need, const struct matching_listing *offer,
			 void *arg)
{
	const struct callplan_input *in = arg;
	char pair[2 * IDS_MAX + 2];
	const char *key = pair;
	if (in->n_excluded == 0)
		return 1;
	snprintf(pair, sizeof(pair), "%s|%s", need->id, offer->id);
	return bsearch(&key, in->excluded, in->n_excluded, sizeof(*in->excluded), callplan_cmp) ==
	       NULL;
}

int callplan_run(const struct callplan_input *in, struct callplan *out, const char **why)
{
	size_t n = in->n;
	unsigned char *keep = xmalloc(n ? n : 1);
	const struct matching_listing **ptrs = xmalloc((n ? n : 1) * sizeof(*ptrs));
	struct clearing c;
	int64_t *flow = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->screened = callplan_screen(in->listings, n, keep);
	size_t used = 0;
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			ptrs[used++] = &in->listings[i];
	if (clearing_build(&c, ptrs, used, in->now_ms, in->rate, why) != 0)
		goto done;
	clearing_keep(&c, callplan_keep, (void *)in);
	out->arcs = c.problem.n_arcs;
	flow = xcalloc(c.problem.n_arcs ? c.problem.n_arcs : 1, sizeof(*flow));
	if (transport_solve(&c.problem, flow, &out->tr, why) != 0) {
		clearing_free(&c);
		goto done;
	}
	size_t k = 0;
	for (size_t a = 0; a < c.problem.n_arcs; a++)
		k += flow[a] > 0;
	out->allocs = xcalloc(k ? k : 1, sizeof(*out->allocs));
	for (size_t a = 0; a < c.problem.n_arcs; a++) {
		struct callplan_alloc *al = &out->allocs[out->n];
		if (flow[a] <= 0 || clearing_alloc(&c, a, flow[a], &al->a) != 0)
			continue;
		al->need = (size_t)(c.needs[c.problem.arcs[a].need] - in->listings);
		al->offer = (size_t)(c.offers[c.problem.arcs[a].offer] - in->listings);
		out->quantity += al->a.quantity;
		out->landed_vnd += al->a.landed_vnd;
		out->n++;
	}
	clearing_free(&c);
	rc = 0;
done:
	free(flow);
	free(ptrs);
	free(keep);
	return rc;
}

void callplan_free(struct callplan *p)
{
	free(p->allocs);
	memset(p, 0, sizeof(*p));
}
