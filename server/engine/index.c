/*
 * index — open listings by id and by material and kind (see index.h).
 */
#include "server/engine/index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/materials.h"
#include "common/xalloc.h"

struct index_list {
	struct index_entry **items;
	size_t n, cap;
};

struct index {
	struct index_entry **table; /* open addressing by id */
	size_t table_size, count;
	size_t n_materials;
	struct index_list *lists; /* [material * 2 + kind] */
	unsigned char *substitutes; /* [a * n + b]: b substitutes for a (either way) */
	const struct matching_listing **scratch;
	size_t scratch_cap;
};

static uint64_t index_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static unsigned index_material(const struct index *ix, const struct material *m)
{
	for (size_t i = 0; i < ix->n_materials; i++)
		if (materials_at(i) == m)
			return (unsigned)i;
	return 0;
}

struct index *index_new(void)
{
	struct index *ix = xcalloc(1, sizeof(*ix));
	ix->n_materials = materials_count();
	ix->lists = xcalloc(ix->n_materials * 2, sizeof(*ix->lists));
	ix->substitutes = xcalloc(ix->n_materials * ix->n_materials, 1);
	for (size_t a = 0; a < ix->n_materials; a++)
		for (size_t b = 0; b < ix->n_materials; b++)
			ix->substitutes[a * ix->n_materials + b] =
				a != b && (materials_is_substitute(materials_at(a), materials_at(b)) ||
					   materials_is_substitute(materials_at(b), materials_at(a)));
	ix->table_size = 1024;
	ix->table = xcalloc(ix->table_size, sizeof(*ix->table));
	return ix;
}

void index_free(struct index *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; i < ix->table_size; i++)
		if (ix->table[i]) {
			free(ix->table[i]->paired);
			free(ix->table[i]);
		}
	for (size_t i = 0; i < ix->n_materials * 2; i++)
		free(ix->lists[i].items);
	free(ix->lists);
	free(ix->table);
	free(ix->substitutes);
	free(ix->scratch);
	free(ix);
}

size_t index_size(const struct index *ix)
{
	return ix->count;
}

static size_t index_find_slot(const struct index *ix, const char *id)
{
	size_t mask = ix->table_size - 1;
	size_t i = (size_t)index_hash(id) & mask;
	while (ix->table[i] && strcmp(ix->table[i]->l.id, id) != 0)
		i = (i + 1) & mask;
	return i;
}

struct index_entry *index_get(struct index *ix, const char *id)
{
	return ix->table[index_find_slot(ix, id)];
}

/*
 * Needs are kept in any order (swap-remove by slot). Offers are kept ordered
 * by price per base unit, cheapest first, so a need's plan can stop early
 * (matching_plan_by_price); an offer is found again by binary search on its
 * price, then among the offers of that same price.
 */
static size_t index_offer_lower(const struct index_list *l, int64_t price)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->items[mid]->price_key < price)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void index_list_add(struct index *ix, struct index_entry *e)
{
	struct index_list *l = &ix->lists[e->material * 2 + e->l.kind];
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	if (e->l.kind == LISTING_OFFER) {
		e->price_key = matching_price_micro(&e->l);
		size_t at = index_offer_lower(l, e->price_key + 1); /* after equal prices */
		memmove(&l->items[at + 1], &l->items[at], (l->n - at) * sizeof(*l->items));
		l->items[at] = e;
		l->n++;
		return;
	}
	e->slot = l->n;
	l->items[l->n++] = e;
}

static void index_list_del(struct index *ix, struct index_entry *e)
{
	struct index_list *l = &ix->lists[e->material * 2 + e->l.kind];
	if (e->l.kind == LISTING_OFFER) {
		for (size_t at = index_offer_lower(l, e->price_key); at < l->n; at++)
			if (l->items[at] == e) {
				memmove(&l->items[at], &l->items[at + 1],
					(l->n - at - 1) * sizeof(*l->items));
				l->n--;
				return;
			}
		return;
	}
	struct index_entry *last = l->items[--l->n];
	l->items[e->slot] = last;
	last->slot = e->slot;
}

static void index_grow(struct index *ix)
{
	struct index_entry **old = ix->table;
	size_t old_size = ix->table_size;
	ix->table_size *= 2;
	ix->table = xcalloc(ix->table_size, sizeof(*ix->table));
	for (size_t i = 0; i < old_size; i++)
		if (old[i])
			ix->table[index_find_slot(ix, old[i]->l.id)] = old[i];
	free(old);
}

struct index_entry *index_put(struct index *ix, const struct matching_listing *l)
{
	size_t i = index_find_slot(ix, l->id);
	struct index_entry *e = ix->table[i];
	if (e) {
		index_list_del(ix, e);
	} else {
		if ((ix->count + 1) * 2 > ix->table_size) {
			index_grow(ix);
			i = index_find_slot(ix, l->id);
		}
		e = xcalloc(1, sizeof(*e));
		ix->table[i] = e;
		ix->count++;
	}
	e->l = *l;
	e->material = index_material(ix, l->material);
	e->retries = 0;
	index_set_known(e, l->remaining); /* reservations in flight stand */
	index_list_add(ix, e);
	return e;
}

static void index_refresh(struct index_entry *e)
{
	int64_t avail = e->known - e->reserved;
	e->l.remaining = avail > 0 ? avail : 0;
}

void index_set_known(struct index_entry *e, int64_t known)
{
	e->known = known > 0 ? known : 0;
	index_refresh(e);
}

void index_reserve(struct index_entry *e, int64_t q)
{
	e->reserved += q;
	if (e->reserved < 0)
		e->reserved = 0;
	index_refresh(e);
}

void index_remove(struct index *ix, const char *id)
{
	size_t mask = ix->table_size - 1;
	size_t i = index_find_slot(ix, id);
	struct index_entry *e = ix->table[i];
	if (e == NULL)
		return;
	index_list_del(ix, e);
	free(e->paired);
	free(e);
	ix->table[i] = NULL;
	ix->count--;
	/* Re-seat the rest of the cluster so lookups never stop early. */
	for (size_t j = (i + 1) & mask; ix->table[j]; j = (j + 1) & mask) {
		struct index_entry *m = ix->table[j];
		ix->table[j] = NULL;
		ix->table[index_find_slot(ix, m->l.id)] = m;
	}
}

static void index_pair_one(struct index_entry *e, const char *other)
{
	for (unsigned i = 0; i < e->n_paired; i++)
		if (strcmp(e->paired[i], other) == 0)
			return;
	if (e->n_paired == e->cap_paired) {
		e->cap_paired = e->cap_paired ? e->cap_paired * 2 : 4;
		e->paired = xrealloc(e->paired, e->cap_paired * sizeof(*e->paired));
	}
	snprintf(e->paired[e->n_paired++], IDS_MAX, "%s", other);
}

void index_pair(struct index *ix, const char *a, const char *b)
{
	struct index_entry *ea = index_get(ix, a), *eb = index_get(ix, b);
	if (ea)
		index_pair_one(ea, b);
	if (eb)
		index_pair_one(eb, a);
}

static void index_scratch_add(struct index *ix, size_t *n, const struct index_list *l)
{
	if (*n + l->n > ix->scratch_cap) {
		ix->scratch_cap = (*n + l->n) * 2;
		ix->scratch = xrealloc(ix->scratch, ix->scratch_cap * sizeof(*ix->scratch));
	}
	for (size_t i = 0; i < l->n; i++)
		if (!l->items[i]->excluded)
			ix->scratch[(*n)++] = &l->items[i]->l;
}

/* Marks (or clears) the subject's earlier counterparts. */
static void index_mark_paired(struct index *ix, const struct index_entry *subject, int on)
{
	for (unsigned i = 0; i < subject->n_paired; i++) {
		struct index_entry *e = index_get(ix, subject->paired[i]);
		if (e)
			e->excluded = on ? 1 : 0;
	}
}

size_t index_candidates(struct index *ix, const struct index_entry *subject,
			const struct matching_listing *const **out, int *by_price)
{
	unsigned other = subject->l.kind == LISTING_NEED ? LISTING_OFFER : LISTING_NEED;
	size_t n = 0, lists = 0;
	index_mark_paired(ix, subject, 1);
	index_scratch_add(ix, &n, &ix->lists[subject->material * 2 + other]);
	for (size_t b = 0; b < ix->n_materials; b++)
		if (ix->substitutes[subject->material * ix->n_materials + b] &&
		    ix->lists[b * 2 + other].n > 0) {
			index_scratch_add(ix, &n, &ix->lists[b * 2 + other]);
			lists++;
		}
	index_mark_paired(ix, subject, 0);
	/* One offer list alone is in price order; several put together are not. */
	*by_price = other == LISTING_OFFER && lists == 0;
	*out = ix->scratch;
	return n;
}
