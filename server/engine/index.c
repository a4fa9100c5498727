/*
 * index — open listings by id and by material and kind (see index.h).
 */
#include "server/engine/index.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/materials.h"
#include "common/xalloc.h"

/*
 * The open listings of one material and kind, in key order (matching_row_key:
 * offers by price ascending, needs by maximum price descending), with each
 * one's matching_row beside it: a plan reads the rows as a contiguous array.
 */
struct index_list {
	const struct matching_listing **items; /* &entry->l */
	struct matching_row *rows;	       /* rows[i] describes items[i]->l */
	/*
	 * What a plan counts of each MATCHING_BLOCK_ROWS rows at once, made
	 * by the plan when stale: a change to a row marks its block stale, a
	 * move of rows (an insertion or a removal) every block from there on.
	 */
	struct matching_block *blocks;
	size_t n, cap;
	int ascending;
	int unsorted; /* appended while loading (index_load): in no order yet */
};

struct index {
	struct index_entry **table; /* open addressing by id */
	/*
	 * Per slot, the low 32 bits of its id's hash: a probe reads an entry
	 * only when they agree, and growing places entries without reading
	 * them (at 1M listings each read is a cache miss).
	 */
	uint32_t *tags;
	size_t table_size, count;
	size_t n_materials;
	struct index_list *lists;   /* [material * 2 + kind] */
	unsigned char *substitutes; /* [a * n + b]: b substitutes for a (either way) */
	struct matching_run *runs;  /* n_materials of them: a plan's lists */
	int loading;		    /* index_load(): listings appended, put in order at its end */
	const struct material *last_material; /* index_material()'s last answer */
	unsigned last_material_at;
	/*
	 * Owners' reputations by owner id (open addressing), each allocated
	 * once and kept until index_free, so listings may point to them.
	 */
	struct index_rep **reps;
	size_t reps_size, reps_count;
};

struct index_rep {
	struct matching_rep rep;
	char owner[IDS_MAX];
};

static unsigned index_material(struct index *ix, const struct material *m)
{
	/* Listings come in runs of one material (a snapshot page is one). */
	if (m == ix->last_material)
		return ix->last_material_at;
	for (size_t i = 0; i < ix->n_materials; i++)
		if (materials_at(i) == m) {
			ix->last_material = m;
			ix->last_material_at = (unsigned)i;
			return (unsigned)i;
		}
	return 0;
}

struct index *index_new(void)
{
	struct index *ix = xcalloc(1, sizeof(*ix));
	ix->n_materials = materials_count();
	ix->lists = xcalloc(ix->n_materials * 2, sizeof(*ix->lists));
	for (size_t i = 0; i < ix->n_materials; i++)
		ix->lists[i * 2 + LISTING_OFFER].ascending = 1;
	ix->substitutes = xcalloc(ix->n_materials * ix->n_materials, 1);
	ix->runs = xcalloc(ix->n_materials, sizeof(*ix->runs));
	for (size_t a = 0; a < ix->n_materials; a++)
		for (size_t b = 0; b < ix->n_materials; b++)
			ix->substitutes[a * ix->n_materials + b] =
			    a != b && (materials_is_substitute(materials_at(a), materials_at(b)) ||
				       materials_is_substitute(materials_at(b), materials_at(a)));
	ix->table_size = 1024;
	ix->table = xcalloc(ix->table_size, sizeof(*ix->table));
	ix->tags = xcalloc(ix->table_size, sizeof(*ix->tags));
	ix->reps_size = 256;
	ix->reps = xcalloc(ix->reps_size, sizeof(*ix->reps));
	return ix;
}

void index_free(struct index *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; i < ix->table_size; i++)
		if (ix->table[i]) {
			free(ix->table[i]->failed);
			free(ix->table[i]);
		}
	for (size_t i = 0; i < ix->n_materials * 2; i++) {
		free(ix->lists[i].items);
		free(ix->lists[i].rows);
		free(ix->lists[i].blocks);
	}
	for (size_t i = 0; i < ix->reps_size; i++)
		free(ix->reps[i]);
	free(ix->reps);
	free(ix->lists);
	free(ix->table);
	free(ix->tags);
	free(ix->substitutes);
	free(ix->runs);
	free(ix);
}

size_t index_size(const struct index *ix)
{
	return ix->count;
}

/* The slot holding id, or the empty one where it goes; *tag is its tag. */
static size_t index_find_slot(const struct index *ix, const char *id, uint32_t *tag)
{
	size_t mask = ix->table_size - 1;
	uint32_t t = (uint32_t)ids_hash(id);
	size_t i = t & mask;
	while (ix->table[i] && (ix->tags[i] != t || strcmp(ix->table[i]->l.id, id) != 0))
		i = (i + 1) & mask;
	*tag = t;
	return i;
}

/* Puts e (whose id has tag) in the first empty slot from its place. */
static void index_place(struct index *ix, struct index_entry *e, uint32_t tag)
{
	size_t mask = ix->table_size - 1;
	size_t i = tag & mask;
	while (ix->table[i])
		i = (i + 1) & mask;
	ix->table[i] = e;
	ix->tags[i] = tag;
}

struct index_entry *index_get(struct index *ix, const char *id)
{
	uint32_t tag;
	return ix->table[index_find_slot(ix, id, &tag)];
}

/*
 * Both kinds are kept in key order so a plan can stop early or bound its
 * costs (matching_plan_runs). Listings of an equal key (needs without a
 * maximum price all share one) are ordered by the address of their
 * listing, which a plan never looks at, so that a listing is found again,
 * and a new one placed, by binary search rather than a walk over its ties.
 */
static int index_before(const struct index_list *l, size_t at, int64_t key,
			const struct matching_listing *item)
{
	int64_t k = l->rows[at].key;
	if (k != key)
		return l->ascending ? k < key : k > key;
	return (uintptr_t)l->items[at] < (uintptr_t)item;
}

/* The first position not before (key, item). */
static size_t index_lower(const struct index_list *l, int64_t key,
			  const struct matching_listing *item)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (index_before(l, mid, key, item))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The position of e in its list, or l->n when it is not there. */
static size_t index_position(const struct index_list *l, const struct index_entry *e)
{
	if (l->unsorted) { /* loading: a replacement is rare */
		for (size_t at = 0; at < l->n; at++)
			if (l->items[at] == &e->l)
				return at;
		return l->n;
	}
	size_t at = index_lower(l, e->key, &e->l);
	return at < l->n && l->items[at] == &e->l ? at : l->n;
}

static struct index_list *index_list_of(struct index *ix, const struct index_entry *e)
{
	return &ix->lists[e->material * 2 + e->l.kind];
}

static void index_list_add(struct index *ix, struct index_entry *e)
{
	struct index_list *l = index_list_of(ix, e);
	if (l->n == l->cap) {
		size_t had = MATCHING_BLOCKS(l->cap);
		l->cap = l->cap ? l->cap * 2 : 64;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
		l->rows = xrealloc(l->rows, l->cap * sizeof(*l->rows));
		l->blocks = xrealloc(l->blocks, MATCHING_BLOCKS(l->cap) * sizeof(*l->blocks));
		memset(&l->blocks[had], 0, (MATCHING_BLOCKS(l->cap) - had) * sizeof(*l->blocks));
	}
	e->key = matching_row_key(&e->l);
	if (ix->loading) {
		l->items[l->n] = &e->l;
		matching_row_fill(&l->rows[l->n], &e->l);
		l->n++;
		l->unsorted = 1;
		matching_blocks_stale(l->blocks, l->n - 1, l->n);
		return;
	}
	size_t at = index_lower(l, e->key, &e->l);
	memmove(&l->items[at + 1], &l->items[at], (l->n - at) * sizeof(*l->items));
	memmove(&l->rows[at + 1], &l->rows[at], (l->n - at) * sizeof(*l->rows));
	l->items[at] = &e->l;
	matching_row_fill(&l->rows[at], &e->l);
	l->n++;
	matching_blocks_stale(l->blocks, at, l->n);
}

static void index_list_del(struct index *ix, struct index_entry *e)
{
	struct index_list *l = index_list_of(ix, e);
	size_t at = index_position(l, e);
	if (at == l->n)
		return;
	memmove(&l->items[at], &l->items[at + 1], (l->n - at - 1) * sizeof(*l->items));
	memmove(&l->rows[at], &l->rows[at + 1], (l->n - at - 1) * sizeof(*l->rows));
	l->n--;
	matching_blocks_stale(l->blocks, at, l->n);
}

void index_set_remaining(struct index *ix, struct index_entry *e, int64_t remaining)
{
	struct index_list *l = index_list_of(ix, e);
	size_t at = index_position(l, e);
	e->l.remaining = remaining;
	if (at < l->n) {
		matching_row_set_remaining(&l->rows[at], remaining);
		matching_blocks_stale(l->blocks, at, at + 1);
	}
}

/* A list's sort key, copied out so sorting reads one array. */
struct index_order {
	int64_t key;
	uintptr_t item;
	size_t at;
};

static int index_order_up(const void *a, const void *b)
{
	const struct index_order *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

static int index_order_down(const void *a, const void *b)
{
	const struct index_order *x = a, *y = b;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return (x->item > y->item) - (x->item < y->item);
}

/* Puts a list loaded in any order in index_before's order, rows alongside. */
static void index_list_sort(struct index_list *l)
{
	size_t n = l->n ? l->n : 1;
	struct index_order *o = xcalloc(n, sizeof(*o));
	const struct matching_listing **items = xcalloc(n, sizeof(*items));
	struct matching_row *rows = xcalloc(n, sizeof(*rows));
	for (size_t i = 0; i < l->n; i++)
		o[i] = (struct index_order){l->rows[i].key, (uintptr_t)l->items[i], i};
	qsort(o, l->n, sizeof(*o), l->ascending ? index_order_up : index_order_down);
	for (size_t i = 0; i < l->n; i++) {
		items[i] = l->items[o[i].at];
		rows[i] = l->rows[o[i].at];
	}
	memcpy(l->items, items, l->n * sizeof(*items));
	memcpy(l->rows, rows, l->n * sizeof(*rows));
	free(o);
	free(items);
	free(rows);
	l->unsorted = 0;
	matching_blocks_stale(l->blocks, 0, l->n);
}

void index_load(struct index *ix, int on)
{
	if (ix->loading && !on)
		for (size_t i = 0; i < ix->n_materials * 2; i++)
			if (ix->lists[i].unsorted)
				index_list_sort(&ix->lists[i]);
	ix->loading = on;
}

static void index_grow(struct index *ix)
{
	struct index_entry **old = ix->table;
	uint32_t *old_tags = ix->tags;
	size_t old_size = ix->table_size;
	ix->table_size *= 2;
	ix->table = xcalloc(ix->table_size, sizeof(*ix->table));
	ix->tags = xcalloc(ix->table_size, sizeof(*ix->tags));
	for (size_t i = 0; i < old_size; i++)
		if (old[i])
			index_place(ix, old[i], old_tags[i]);
	free(old);
	free(old_tags);
}

static int64_t index_avail(const struct index_entry *e);

/* The slot of owner's reputation in reps, or the empty one where it goes. */
static size_t index_rep_slot(struct index_rep *const *reps, size_t size, const char *owner)
{
	size_t i = (size_t)ids_hash(owner) & (size - 1);
	while (reps[i] && strcmp(reps[i]->owner, owner) != 0)
		i = (i + 1) & (size - 1);
	return i;
}

/* owner's reputation record, made (no record yet) when absent. */
static struct index_rep *index_rep_of(struct index *ix, const char *owner)
{
	size_t i = index_rep_slot(ix->reps, ix->reps_size, owner);
	if (ix->reps[i])
		return ix->reps[i];
	if ((ix->reps_count + 1) * 2 > ix->reps_size) {
		size_t size = ix->reps_size * 2;
		struct index_rep **reps = xcalloc(size, sizeof(*reps));
		for (size_t k = 0; k < ix->reps_size; k++)
			if (ix->reps[k])
				reps[index_rep_slot(reps, size, ix->reps[k]->owner)] = ix->reps[k];
		free(ix->reps);
		ix->reps = reps;
		ix->reps_size = size;
		i = index_rep_slot(ix->reps, ix->reps_size, owner);
	}
	struct index_rep *r = xcalloc(1, sizeof(*r));
	snprintf(r->owner, sizeof(r->owner), "%s", owner);
	ix->reps[i] = r;
	ix->reps_count++;
	return r;
}

void index_rep_set(struct index *ix, const char *owner, int64_t kept, int64_t ended)
{
	struct index_rep *r = index_rep_of(ix, owner);
	r->rep.kept = kept;
	r->rep.ended = ended;
}

struct index_entry *index_put(struct index *ix, const struct matching_listing *l)
{
	uint32_t tag;
	size_t i = index_find_slot(ix, l->id, &tag);
	struct index_entry *e = ix->table[i];
	if (e) {
		index_list_del(ix, e);
		/* A new version of this listing: its failures no longer hold. */
		if (e->l.version != l->version)
			e->n_failed = 0;
	} else {
		e = xcalloc(1, sizeof(*e));
		if ((ix->count + 1) * 2 > ix->table_size) {
			index_grow(ix);
			index_place(ix, e, tag);
		} else {
			ix->table[i] = e;
			ix->tags[i] = tag;
		}
		ix->count++;
	}
	e->l = *l;
	e->l.rep = &index_rep_of(ix, l->owner)->rep;
	e->material = index_material(ix, l->material);
	e->retries = 0;
	/* Reservations in flight stand; the row is made from l by index_list_add. */
	e->known = l->remaining > 0 ? l->remaining : 0;
	e->l.remaining = index_avail(e);
	index_list_add(ix, e);
	return e;
}

/* What a plan may allocate: known less reserved, never below 0. */
static int64_t index_avail(const struct index_entry *e)
{
	int64_t avail = e->known - e->reserved;
	return avail > 0 ? avail : 0;
}

void index_set_known(struct index *ix, struct index_entry *e, int64_t known)
{
	e->known = known > 0 ? known : 0;
	index_set_remaining(ix, e, index_avail(e));
}

void index_reserve(struct index *ix, struct index_entry *e, int64_t q)
{
	e->reserved += q;
	if (e->reserved < 0)
		e->reserved = 0;
	index_set_remaining(ix, e, index_avail(e));
}

void index_remove(struct index *ix, const char *id)
{
	size_t mask = ix->table_size - 1;
	uint32_t tag;
	size_t i = index_find_slot(ix, id, &tag);
	struct index_entry *e = ix->table[i];
	if (e == NULL)
		return;
	index_list_del(ix, e);
	free(e->failed);
	free(e);
	ix->table[i] = NULL;
	ix->count--;
	/* Re-seat the rest of the cluster so lookups never stop early. */
	for (size_t j = (i + 1) & mask; ix->table[j]; j = (j + 1) & mask) {
		struct index_entry *m = ix->table[j];
		ix->table[j] = NULL;
		index_place(ix, m, ix->tags[j]);
	}
}

/* Records (or updates) e's failure with other. */
static void index_fail_one(struct index_entry *e, const char *other, int64_t mine, int64_t theirs)
{
	struct index_failed *f = NULL;
	for (unsigned i = 0; i < e->n_failed && f == NULL; i++)
		if (strcmp(e->failed[i].other, other) == 0)
			f = &e->failed[i];
	if (f == NULL) {
		if (e->n_failed == e->cap_failed) {
			e->cap_failed = e->cap_failed ? e->cap_failed * 2 : 4;
			e->failed = xrealloc(e->failed, e->cap_failed * sizeof(*e->failed));
		}
		f = &e->failed[e->n_failed++];
		snprintf(f->other, IDS_MAX, "%s", other);
	}
	f->mine = mine;
	f->theirs = theirs;
}

void index_fail(struct index *ix, const char *need, int64_t need_version, const char *offer,
		int64_t offer_version)
{
	struct index_entry *en = index_get(ix, need), *eo = index_get(ix, offer);
	if (en)
		index_fail_one(en, offer, need_version, offer_version);
	if (eo)
		index_fail_one(eo, need, offer_version, need_version);
}

/*
 * Marks (or clears) the counterparts whose last match with the subject
 * failed, when neither side has changed since: not candidates.
 */
static void index_mark_failed(struct index *ix, const struct index_entry *subject, int on)
{
	for (unsigned i = 0; i < subject->n_failed; i++) {
		const struct index_failed *f = &subject->failed[i];
		struct index_entry *e = index_get(ix, f->other);
		if (e == NULL || e->l.kind == subject->l.kind || f->mine != subject->l.version ||
		    f->theirs != e->l.version)
			continue;
		struct index_list *l = index_list_of(ix, e);
		size_t at = index_position(l, e);
		if (at < l->n) {
			l->rows[at].flags = (uint8_t)(on ? l->rows[at].flags | MATCHING_ROW_SKIP
							 : l->rows[at].flags & ~MATCHING_ROW_SKIP);
			matching_blocks_stale(l->blocks, at, at + 1);
		}
	}
}

size_t index_plan(struct index *ix, const struct index_entry *subject, int64_t now_ms, int64_t rate,
		  struct matching_alloc *out, size_t max_out, size_t *considered,
		  const struct matching_listing **picked)
{
	unsigned other = subject->l.kind == LISTING_NEED ? LISTING_OFFER : LISTING_NEED;
	struct matching_run *runs = ix->runs;
	size_t n_runs = 0;
	const struct index_list *l = &ix->lists[subject->material * 2 + other];

	runs[n_runs++] = (struct matching_run){l->items, l->rows, l->n, l->blocks};
	/* A need that takes no substitute finds none of them compatible. */
	for (size_t b = 0; b < ix->n_materials; b++) {
		l = &ix->lists[b * 2 + other];
		if (ix->substitutes[subject->material * ix->n_materials + b] && l->n > 0 &&
		    (other == LISTING_NEED || subject->l.accept_substitutes))
			runs[n_runs++] = (struct matching_run){l->items, l->rows, l->n, l->blocks};
	}
	index_mark_failed(ix, subject, 1);
	size_t k =
	    matching_plan_runs(&subject->l, runs, n_runs, now_ms, rate, out, max_out, considered);
	index_mark_failed(ix, subject, 0);
	for (size_t i = 0; i < k; i++) {
		size_t at = out[i].index, r = 0;
		while (at >= runs[r].n)
			at -= runs[r++].n;
		picked[i] = runs[r].cands[at];
	}
	return k;
}

void index_each(struct index *ix, void (*fn)(struct index_entry *e, void *arg), void *arg)
{
	for (size_t i = 0; i < ix->table_size; i++)
		if (ix->table[i])
			fn(ix->table[i], arg);
}
