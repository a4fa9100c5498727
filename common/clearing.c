/*
 * clearing — the forum's transport problem from its listings, with
 * matching.h's filters and landed costs (see clearing.h).
 */
#include "common/clearing.h"

#include <stdlib.h>
#include <string.h>

#include "common/listing.h"
#include "common/materials.h"
#include "common/xalloc.h"

/* An offer of a bucket: its price key (matching_row_key) and problem index. */
struct clearing_slot {
	int64_t key;
	size_t offer;
};

/*
 * Offers grouped by material: the index into materials_at(), each bucket in
 * ascending (price key, index) order, so that a need's scan stops at the
 * first offer above its maximum price (every later one is above it too).
 */
struct clearing_bucket {
	struct clearing_slot *slot;
	size_t n, cap;
};

static int clearing_slot_cmp(const void *a, const void *b)
{
	const struct clearing_slot *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->offer > y->offer) - (x->offer < y->offer);
}

/* An arc and its distance, sorted together by offer index. */
struct clearing_built {
	struct transport_arc arc;
	int64_t km;
};

static int clearing_built_cmp(const void *a, const void *b)
{
	const struct clearing_built *x = a, *y = b;
	return (x->arc.offer > y->arc.offer) - (x->arc.offer < y->arc.offer);
}

/*
 * Puts arcs [from, to) (one need, one material) in offer index order: the
 * order of a scan of the whole bucket, whatever order the price scan found
 * them in, so the problem is the same arc for arc.
 */
static void clearing_order(struct clearing *c, size_t from, size_t to, struct clearing_built **buf,
			   size_t *buf_cap)
{
	size_t n = to - from;
	if (n < 2)
		return;
	if (n > *buf_cap) {
		*buf_cap = n;
		*buf = xrealloc(*buf, n * sizeof(**buf));
	}
	for (size_t i = 0; i < n; i++)
		(*buf)[i] = (struct clearing_built){c->arcs[from + i], c->distance_km[from + i]};
	qsort(*buf, n, sizeof(**buf), clearing_built_cmp);
	for (size_t i = 0; i < n; i++) {
		c->arcs[from + i] = (*buf)[i].arc;
		c->distance_km[from + i] = (*buf)[i].km;
	}
}

static long clearing_material_index(const struct material *m)
{
	for (size_t k = 0; k < materials_count(); k++)
		if (materials_at(k) == m)
			return (long)k;
	return -1;
}

/* The arc of need j and offer i when the pair is feasible; 1 added, 0 not. */
static int clearing_pair(struct clearing *c, size_t *cap, size_t i, size_t j)
{
	const struct matching_listing *need = c->needs[j], *offer = c->offers[i];
	enum matching_distance_from from;
	int64_t km = matching_distance(need, offer, &from);

	if (!matching_compatible(need, offer, c->now_ms, km, NULL))
		return 0;
	int64_t price = matching_price_micro(offer);
	int64_t freight = matching_freight_micro(offer->material, km, c->rate);
	if (price < 0 || freight < 0 || price > INT64_MAX - freight)
		return 0;
	if (c->problem.n_arcs == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		c->arcs = xrealloc(c->arcs, *cap * sizeof(*c->arcs));
		c->distance_km = xrealloc(c->distance_km, *cap * sizeof(*c->distance_km));
	}
	struct transport_arc *a = &c->arcs[c->problem.n_arcs];
	a->offer = (uint32_t)i;
	a->need = (uint32_t)j;
	a->cost = price + freight;
	a->cap = 0;
	c->distance_km[c->problem.n_arcs++] = km;
	return 1;
}

int clearing_build(struct clearing *c, const struct matching_listing *const *listings, size_t n,
		   int64_t now_ms, int64_t rate, const char **why)
{
	size_t n_mat = materials_count(), no = 0, nn = 0, cap = 0;
	struct clearing_bucket *bucket;

	memset(c, 0, sizeof(*c));
	if (rate < 0 || rate > MATCHING_RATE_MAX) {
		if (why)
			*why = "freight rate out of range";
		return -1;
	}
	c->now_ms = now_ms;
	c->rate = rate;
	c->offers = xmalloc((n ? n : 1) * sizeof(*c->offers));
	c->needs = xmalloc((n ? n : 1) * sizeof(*c->needs));
	for (size_t k = 0; k < n; k++) {
		const struct matching_listing *l = listings[k];
		if (l != NULL && l->kind == LISTING_OFFER)
			c->offers[no++] = l;
		else if (l != NULL && l->kind == LISTING_NEED)
			c->needs[nn++] = l;
	}
	c->supply = xmalloc((no ? no : 1) * sizeof(*c->supply));
	c->min_order = xmalloc((no ? no : 1) * sizeof(*c->min_order));
	c->demand = xmalloc((nn ? nn : 1) * sizeof(*c->demand));
	bucket = xcalloc(n_mat ? n_mat : 1, sizeof(*bucket));
	for (size_t i = 0; i < no; i++) {
		c->supply[i] = c->offers[i]->remaining;
		c->min_order[i] = c->offers[i]->min_order_base;
		long m = clearing_material_index(c->offers[i]->material);
		if (m < 0)
			continue; /* no material: matching_compatible refuses it anyway */
		struct clearing_bucket *b = &bucket[m];
		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 16;
			b->slot = xrealloc(b->slot, b->cap * sizeof(*b->slot));
		}
		b->slot[b->n++] = (struct clearing_slot){matching_row_key(c->offers[i]), i};
	}
	for (size_t m = 0; m < n_mat; m++)
		if (bucket[m].n > 1)
			qsort(bucket[m].slot, bucket[m].n, sizeof(*bucket[m].slot),
			      clearing_slot_cmp);
	struct clearing_built *buf = NULL;
	size_t buf_cap = 0;
	for (size_t j = 0; j < nn; j++) {
		const struct matching_listing *need = c->needs[j];
		c->demand[j] = need->remaining;
		if (need->material == NULL)
			continue;
		/*
		 * An offer whose key is above the need's is above its maximum
		 * price (floor(a) > floor(b) implies a > b), which
		 * matching_compatible refuses: the scan stops there.
		 */
		int64_t ceiling = matching_row_key(need);
		for (size_t m = 0; m < n_mat; m++) {
			const struct material *mat = materials_at(m);
			if (mat != need->material &&
			    !(need->accept_substitutes &&
			      materials_is_substitute(need->material, mat)))
				continue;
			size_t from = c->problem.n_arcs;
			for (size_t k = 0; k < bucket[m].n && bucket[m].slot[k].key <= ceiling; k++)
				clearing_pair(c, &cap, bucket[m].slot[k].offer, j);
			clearing_order(c, from, c->problem.n_arcs, &buf, &buf_cap);
		}
	}
	free(buf);
	for (size_t m = 0; m < n_mat; m++)
		free(bucket[m].slot);
	free(bucket);
	c->need_arcs = xcalloc(nn ? nn : 1, sizeof(*c->need_arcs));
	for (size_t a = 0; a < c->problem.n_arcs; a++)
		c->need_arcs[c->arcs[a].need]++;
	c->problem.n_offers = no;
	c->problem.n_needs = nn;
	c->problem.supply = c->supply;
	c->problem.demand = c->demand;
	c->problem.min_order = c->min_order;
	c->problem.arcs = c->arcs;
	return 0;
}

void clearing_free(struct clearing *c)
{
	free(c->offers);
	free(c->needs);
	free(c->arcs);
	free(c->supply);
	free(c->demand);
	free(c->min_order);
	free(c->distance_km);
	free(c->need_arcs);
	memset(c, 0, sizeof(*c));
}

int clearing_alloc(const struct clearing *c, size_t a, int64_t quantity, struct matching_alloc *out)
{
	const struct transport_arc *arc = &c->arcs[a];
	const struct matching_listing *need = c->needs[arc->need], *offer = c->offers[arc->offer];
	enum matching_distance_from from;

	memset(out, 0, sizeof(*out));
	if (matching_totals(offer, quantity, c->distance_km[a], c->rate, &out->goods_vnd,
			    &out->freight_vnd, &out->landed_vnd) != 0)
		return -1;
	(void)matching_distance(need, offer, &from);
	out->index = arc->offer;
	out->quantity = quantity;
	out->distance_km = c->distance_km[a];
	out->price_micro = matching_price_micro(offer);
	out->freight_micro = matching_freight_micro(offer->material, out->distance_km, c->rate);
	out->landed_micro = arc->cost;
	out->rank = 1;
	out->compatible = c->need_arcs[arc->need];
	out->cand_kind = LISTING_OFFER;
	out->distance_from = (uint8_t)from;
	return 0;
}

void clearing_keep(struct clearing *c,
		   int (*keep)(const struct matching_listing *need,
			       const struct matching_listing *offer, void *arg),
		   void *arg)
{
	size_t k = 0;
	for (size_t a = 0; a < c->problem.n_arcs; a++) {
		const struct transport_arc *arc = &c->arcs[a];
		if (!keep(c->needs[arc->need], c->offers[arc->offer], arg)) {
			c->need_arcs[arc->need]--;
			continue;
		}
		c->arcs[k] = c->arcs[a];
		c->distance_km[k] = c->distance_km[a];
		k++;
	}
	c->problem.n_arcs = k;
}
