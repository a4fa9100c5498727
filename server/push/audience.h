/*
 * audience — the subscribers of GET /v1/events that receive the same bytes:
 * the same narrowing and viewers alike as far as visibility goes
 * (filter_same). The hub decides once per live batch which audiences each
 * entry reaches and formats each audience's entries once, as one chunk
 * (sse_block) that every member's connection is given by reference.
 *
 * Two tables keep that cheap with thousands of audiences: joining looks the
 * audience up by a hash of its key (the narrowing and the viewer's id, or
 * "an admin"), and an entry is put only to the audiences that share one of
 * its keys (filter_entry_keys: owners and parties by account, moderators
 * by the provinces and forums of their scope, accounts by the forum they
 * were registered for) and to every admin audience; filter_match decides
 * for each of those, so what each audience receives is what asking every
 * audience would give.
 */
#ifndef CM_PUSH_AUDIENCE_H
#define CM_PUSH_AUDIENCE_H

#include <stddef.h>
#include <stdint.h>

#include "server/push/filter.h"
#include "server/push/sse.h"

struct audience {
	struct filter f;
	size_t members;
	int admin;		    /* the viewer is an admin: reached by every entry */
	uint64_t hash;		    /* of its key, in the join table */
	struct audience *join_next; /* the join table's chain */
	/* the live batch being handed out */
	uint64_t mark; /* the batch and entry it was last offered (once per entry) */
	size_t *sel;   /* the entries of the batch it receives */
	size_t n_sel, cap_sel;
	struct sse_block *block; /* NULL when it receives none of the batch */
	size_t count;		 /* entries in block */
};

struct audience_ix; /* the audiences sharing one key */

struct audiences {
	size_t n;
	struct audience **join; /* chained by hash, join_size a power of 2 */
	size_t join_size;
	struct audience_ix **ix; /* keys -> audiences, chained, ix_size a power of 2 */
	size_t ix_size, ix_n;
	struct audience **admins;
	size_t n_admins, cap_admins;
	struct audience **touched; /* those with entries in the batch */
	size_t n_touched, cap_touched;
	uint64_t batches;
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
 * Decides for a live batch which entries (of those with ok[i]) each
 * audience receives, and builds the block of each that receives any: the
 * frames made on demand by frame(i). Every other audience's block is NULL.
 */
typedef const char *(*audience_frame_fn)(size_t i, size_t *len, void *arg);
void audiences_batch(struct audiences *set, const struct events_entry *entries, const int *ok,
		     size_t n, audience_frame_fn frame, void *arg);
/* Releases every audience's block of the batch. */
void audiences_batch_done(struct audiences *set);

#endif
