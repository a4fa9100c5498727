/*
 * audience — subscribers that receive the same bytes (see audience.h).
 */
#include "server/push/audience.h"

#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct audience *audience_join(struct audiences *set, struct filter *f)
{
	for (size_t i = 0; i < set->n; i++) {
		if (filter_same(&set->a[i]->f, f)) {
			set->a[i]->members++;
			filter_clear(f);
			return set->a[i];
		}
	}
	struct audience *a = xcalloc(1, sizeof(*a));
	a->f = *f;
	memset(f, 0, sizeof(*f));
	a->members = 1;
	if (set->n == set->cap) {
		set->cap = set->cap ? set->cap * 2 : 16;
		set->a = xrealloc(set->a, set->cap * sizeof(*set->a));
	}
	set->a[set->n++] = a;
	return a;
}

static void audience_free(struct audience *a)
{
	sse_block_release(a->block);
	filter_clear(&a->f);
	free(a);
}

void audience_leave(struct audiences *set, struct audience *a)
{
	if (--a->members > 0)
		return;
	for (size_t i = 0; i < set->n; i++) {
		if (set->a[i] == a) {
			set->a[i] = set->a[--set->n];
			break;
		}
	}
	audience_free(a);
}

void audiences_free(struct audiences *set)
{
	for (size_t i = 0; i < set->n; i++)
		audience_free(set->a[i]);
	free(set->a);
	memset(set, 0, sizeof(*set));
}

void audience_build(struct audience *a, const struct events_entry *entries, const int *ok, size_t n,
		    audience_frame_fn frame, void *arg)
{
	if (a->built)
		return;
	a->built = 1;
	const char **frames = xcalloc(n ? n : 1, sizeof(*frames));
	size_t *lens = xcalloc(n ? n : 1, sizeof(*lens));
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ok[i] || !filter_match(&a->f, &entries[i]))
			continue;
		frames[k] = frame(i, &lens[k], arg);
		k++;
	}
	a->block = sse_block_new(frames, lens, k);
	a->count = k;
	free(frames);
	free(lens);
}

void audiences_batch_done(struct audiences *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct audience *a = set->a[i];
		sse_block_release(a->block);
		a->block = NULL;
		a->built = 0;
		a->count = 0;
	}
}
