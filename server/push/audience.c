/*
 * audience — subscribers that receive the same bytes (see audience.h).
 */
#include "server/push/audience.h"

#include <stdlib.h>
#include <string.h>

#include "common/account.h"
#include "common/xalloc.h"

/* The audiences that share one key (filter_viewer_keys), in the key table. */
struct audience_ix {
	struct audience_ix *next;
	uint64_t hash;
	enum filter_key kind;
	struct audience **a;
	size_t n, cap;
	size_t len;
	char key[];
};

#define FNV_BASIS 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

/* ---- the join table: audiences by their key ---- */

/* What filter_same compares: the narrowing, and the viewer's id or "an admin". */
static uint64_t audience_key_hash(const struct filter *f, int admin)
{
	uint64_t h = fnv(FNV_BASIS, &f->types, sizeof(f->types));
	h = fnv(h, f->listing, strlen(f->listing) + 1);
	if (admin)
		return fnv(h, "\1", 1);
	const char *id = json_string_value(json_object_get(f->viewer, "id"));
	return id ? fnv(h, id, strlen(id)) : h;
}

static void join_put(struct audiences *set, struct audience *a)
{
	size_t i = (size_t)a->hash & (set->join_size - 1);
	a->join_next = set->join[i];
	set->join[i] = a;
}

static void join_grow(struct audiences *set)
{
	struct audience **old = set->join;
	size_t old_size = set->join_size;
	set->join_size = old_size ? old_size * 2 : 64;
	set->join = xcalloc(set->join_size, sizeof(*set->join));
	for (size_t i = 0; i < old_size; i++) {
		for (struct audience *a = old[i], *next; a; a = next) {
			next = a->join_next;
			join_put(set, a);
		}
	}
	free(old);
}

static void join_del(struct audiences *set, struct audience *a)
{
	struct audience **p = &set->join[(size_t)a->hash & (set->join_size - 1)];
	while (*p && *p != a)
		p = &(*p)->join_next;
	if (*p)
		*p = a->join_next;
}

/* ---- the key table: audiences by the keys of their viewer ---- */

static uint64_t ix_hash(enum filter_key kind, const char *value, size_t len)
{
	unsigned char k = (unsigned char)kind;
	return fnv(fnv(FNV_BASIS, &k, 1), value, len);
}

static struct audience_ix **ix_find(struct audiences *set, enum filter_key kind, const char *value,
				    size_t len, uint64_t h)
{
	struct audience_ix **p = &set->ix[(size_t)h & (set->ix_size - 1)];
	while (*p && !((*p)->hash == h && (*p)->kind == kind && (*p)->len == len &&
		       memcmp((*p)->key, value, len) == 0))
		p = &(*p)->next;
	return p;
}

static void ix_grow(struct audiences *set)
{
	struct audience_ix **old = set->ix;
	size_t old_size = set->ix_size;
	set->ix_size = old_size ? old_size * 2 : 64;
	set->ix = xcalloc(set->ix_size, sizeof(*set->ix));
	for (size_t i = 0; i < old_size; i++) {
		for (struct audience_ix *x = old[i], *next; x; x = next) {
			next = x->next;
			size_t j = (size_t)x->hash & (set->ix_size - 1);
			x->next = set->ix[j];
			set->ix[j] = x;
		}
	}
	free(old);
}

struct ix_arg {
	struct audiences *set;
	struct audience *a;
};

static void ix_add(enum filter_key kind, const char *value, size_t len, void *arg)
{
	struct ix_arg *x = arg;
	struct audiences *set = x->set;
	if (set->ix_n >= set->ix_size)
		ix_grow(set);
	uint64_t h = ix_hash(kind, value, len);
	struct audience_ix **p = ix_find(set, kind, value, len, h);
	if (*p == NULL) {
		struct audience_ix *node = xcalloc(1, sizeof(*node) + len + 1);
		node->hash = h;
		node->kind = kind;
		node->len = len;
		memcpy(node->key, value, len);
		*p = node;
		set->ix_n++;
	}
	struct audience_ix *node = *p;
	if (node->n == node->cap) {
		node->cap = node->cap ? node->cap * 2 : 2;
		node->a = xrealloc(node->a, node->cap * sizeof(*node->a));
	}
	node->a[node->n++] = x->a;
}

/* Takes the audience off the key (every time it is there); the last one frees the key. */
static void ix_del(enum filter_key kind, const char *value, size_t len, void *arg)
{
	struct ix_arg *x = arg;
	struct audiences *set = x->set;
	if (set->ix_size == 0)
		return;
	struct audience_ix **p = ix_find(set, kind, value, len, ix_hash(kind, value, len));
	struct audience_ix *node = *p;
	if (node == NULL)
		return;
	for (size_t i = 0; i < node->n;) {
		if (node->a[i] == x->a)
			node->a[i] = node->a[--node->n];
		else
			i++;
	}
	if (node->n == 0) {
		*p = node->next;
		free(node->a);
		free(node);
		set->ix_n--;
	}
}

/* ---- joining and leaving ---- */

static void list_del(struct audience **list, size_t *n, const struct audience *a)
{
	for (size_t i = 0; i < *n; i++) {
		if (list[i] == a) {
			list[i] = list[--*n];
			return;
		}
	}
}

struct audience *audience_join(struct audiences *set, struct filter *f)
{
	int admin = account_role_of(f->viewer) == ACCOUNT_ADMIN;
	uint64_t h = audience_key_hash(f, admin);
	if (set->join_size) {
		for (struct audience *a = set->join[(size_t)h & (set->join_size - 1)]; a;
		     a = a->join_next) {
			if (a->hash == h && filter_same(&a->f, f)) {
				a->members++;
				filter_clear(f);
				return a;
			}
		}
	}
	struct audience *a = xcalloc(1, sizeof(*a));
	a->f = *f;
	memset(f, 0, sizeof(*f));
	a->members = 1;
	a->admin = admin;
	a->hash = h;
	if (set->n >= set->join_size)
		join_grow(set);
	join_put(set, a);
	set->n++;
	if (admin) {
		if (set->n_admins == set->cap_admins) {
			set->cap_admins = set->cap_admins ? set->cap_admins * 2 : 8;
			set->admins = xrealloc(set->admins, set->cap_admins * sizeof(*set->admins));
		}
		set->admins[set->n_admins++] = a;
	} else {
		struct ix_arg x = {set, a};
		filter_viewer_keys(a->f.viewer, ix_add, &x);
	}
	return a;
}

static void audience_free(struct audience *a)
{
	sse_block_release(a->block);
	filter_clear(&a->f);
	free(a->sel);
	free(a);
}

void audience_leave(struct audiences *set, struct audience *a)
{
	if (--a->members > 0)
		return;
	join_del(set, a);
	set->n--;
	if (a->admin) {
		list_del(set->admins, &set->n_admins, a);
	} else {
		struct ix_arg x = {set, a};
		filter_viewer_keys(a->f.viewer, ix_del, &x);
	}
	/* Left between a batch and its end (it cannot be: batches end in one callback). */
	list_del(set->touched, &set->n_touched, a);
	audience_free(a);
}

void audiences_free(struct audiences *set)
{
	for (size_t i = 0; i < set->join_size; i++) {
		for (struct audience *a = set->join[i], *next; a; a = next) {
			next = a->join_next;
			audience_free(a);
		}
	}
	for (size_t i = 0; i < set->ix_size; i++) {
		for (struct audience_ix *x = set->ix[i], *next; x; x = next) {
			next = x->next;
			free(x->a);
			free(x);
		}
	}
	free(set->join);
	free(set->ix);
	free(set->admins);
	free(set->touched);
	memset(set, 0, sizeof(*set));
}

/* ---- a live batch ---- */

struct batch_arg {
	struct audiences *set;
	const struct events_entry *e;
	size_t i;
	uint64_t mark;
};

/* Offers entry i to a, once per entry whichever keys led to it; filter_match decides. */
static void batch_offer(struct batch_arg *b, struct audience *a)
{
	if (a->mark == b->mark)
		return;
	a->mark = b->mark;
	if (!filter_match(&a->f, b->e))
		return;
	struct audiences *set = b->set;
	if (a->n_sel == 0) {
		if (set->n_touched == set->cap_touched) {
			set->cap_touched = set->cap_touched ? set->cap_touched * 2 : 64;
			set->touched =
			    xrealloc(set->touched, set->cap_touched * sizeof(*set->touched));
		}
		set->touched[set->n_touched++] = a;
	}
	if (a->n_sel == a->cap_sel) {
		a->cap_sel = a->cap_sel ? a->cap_sel * 2 : 4;
		a->sel = xrealloc(a->sel, a->cap_sel * sizeof(*a->sel));
	}
	a->sel[a->n_sel++] = b->i;
}

static void batch_key(enum filter_key kind, const char *value, size_t len, void *arg)
{
	struct batch_arg *b = arg;
	struct audiences *set = b->set;
	if (set->ix_size == 0)
		return;
	struct audience_ix *node = *ix_find(set, kind, value, len, ix_hash(kind, value, len));
	for (size_t k = 0; node && k < node->n; k++)
		batch_offer(b, node->a[k]);
}

void audiences_batch(struct audiences *set, const struct events_entry *entries, const int *ok,
		     size_t n, audience_frame_fn frame, void *arg)
{
	set->batches++;
	for (size_t i = 0; i < n; i++) {
		if (!ok[i])
			continue;
		/* A mark per entry of every batch: batches and entries both fit. */
		struct batch_arg b = {set, &entries[i], i, (set->batches << 24) + i + 1};
		for (size_t k = 0; k < set->n_admins; k++)
			batch_offer(&b, set->admins[k]);
		filter_entry_keys(&entries[i], batch_key, &b);
	}
	for (size_t t = 0; t < set->n_touched; t++) {
		struct audience *a = set->touched[t];
		const char **frames = xcalloc(a->n_sel, sizeof(*frames));
		size_t *lens = xcalloc(a->n_sel, sizeof(*lens));
		for (size_t k = 0; k < a->n_sel; k++)
			frames[k] = frame(a->sel[k], &lens[k], arg);
		a->block = sse_block_new(frames, lens, a->n_sel);
		a->count = a->n_sel;
		free(frames);
		free(lens);
	}
}

void audiences_batch_done(struct audiences *set)
{
	for (size_t t = 0; t < set->n_touched; t++) {
		struct audience *a = set->touched[t];
		sse_block_release(a->block);
		a->block = NULL;
		a->count = 0;
		a->n_sel = 0;
	}
	set->n_touched = 0;
}
