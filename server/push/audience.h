/*
 * audience — the subscribers of GET /v1/events that receive the same bytes:
 * the same narrowing and viewers alike as far as visibility goes
 * (filter_same). The hub decides once per audience which entries of a live
 * batch it receives and formats them once, as one chunk (sse_block) that
 * every member's connection is given by reference.
 */
#ifndef CM_PUSH_AUDIENCE_H
#define CM_PUSH_AUDIENCE_H

#include <stddef.h>

#include "server/push/filter.h"
#include "server/push/sse.h"

struct audience {
	struct filter f;
	size_t members;
	/* the live batch being handed out: built on first use */
	int built;
	struct sse_block *block; /* NULL when it receives none of the batch */
	size_t count;		 /* entries in block */
};

struct audiences {
	struct audience **a;
	size_t n, cap;
};

/*
 * The audience of a subscriber with filter *f, made or joined; *f is moved
 * in (its reference released when an audience had it already).
 */
struct audience *audience_join(struct audiences *set, struct filter *f);
/* One member fewer; the last one frees it. */
void audience_leave(struct audiences *set, struct audience *a);
void audiences_free(struct audiences *set);

/*
 * Builds a's block for the batch once: the frames (frames[i], lens[i],
 * made on demand by make) of the entries ok[i] that it receives.
 */
typedef const char *(*audience_frame_fn)(size_t i, size_t *len, void *arg);
void audience_build(struct audience *a, const struct events_entry *entries, const int *ok, size_t n,
		    audience_frame_fn frame, void *arg);
/* Releases every audience's block of the batch. */
void audiences_batch_done(struct audiences *set);

#endif
