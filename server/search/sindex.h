/*
 * sindex — the marketplace search index: every open listing in memory,
 * answering GET /v1/listings' filters newest first.
 *
 * Listings by id (a hash table) and, in posting order (seq), in one list of
 * all, one per kind, one per material and one per province; each list
 * entry holds the listing's kind, material and province beside its seq. A
 * search walks the shortest list its filters allow backwards from its
 * cursor, checks the other filters on each listing and stops at a full
 * page. Text is matched as the Redis search did: the folded query
 * (common/textfold.h) as a plain substring of the listing's folded search
 * text (listing_search_text), after a check of their bigram sets.
 *
 * Pure: no I/O; search.c fills it from Redis and cm:events. Each listing
 * keeps its document's text and, once a search has shown it, its rendered
 * view (sindex_item.view), dropped whenever the listing changes.
 */
#ifndef CM_SEARCH_SINDEX_H
#define CM_SEARCH_SINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/ids.h"

struct sindex;

/* One open listing as stored or carried by its event; strings are copied. */
struct sindex_listing {
	const char *id, *kind, *material, *province, *forum; /* forum "" for none */
	const char *owner_name, *doc, *fold;
	int64_t seq, version, remaining, created_at, updated_at;
	/* sized 1: forum, owner_name, doc and fold are these many bytes, not
	 * NUL-terminated (a load decodes them in place, without a copy) */
	int sized;
	size_t forum_len, owner_name_len, doc_len, fold_len;
};

struct sindex_item {
	char id[IDS_MAX];
	int64_t seq, version, remaining, created_at, updated_at;
	int kind;	   /* enum listing_kind: 0 need, 1 offer */
	int material;	   /* materials_at() index, -1 unknown */
	int province;	   /* provinces_at() index, -1 unknown */
	char *forum;	   /* "" for none */
	char *owner_name;  /* "" when unknown */
	char *doc;	   /* the stored document's text */
	char *fold;	   /* folded search text */
	char *view;	   /* the rendered API view (JSON text), or NULL until asked */
	uint64_t grams[4]; /* the bigrams of fold (sindex.c: a filter before strstr) */
	size_t view_len;
};

struct sindex *sindex_new(void);
void sindex_free(struct sindex *ix);
size_t sindex_size(const struct sindex *ix);
/* Bytes held by the index and its listings (for /metrics and the bench). */
size_t sindex_bytes(const struct sindex *ix);

struct sindex_item *sindex_get(struct sindex *ix, const char *id);
/*
 * Inserts or replaces the listing (by id). Returns the item, or NULL when
 * the listing is unusable (bad id, kind other than need/offer); an item
 * that was there is then removed.
 */
struct sindex_item *sindex_put(struct sindex *ix, const struct sindex_listing *l);
/* Sets the remaining quantity (the view is made again when next shown). */
void sindex_set_remaining(struct sindex *ix, const char *id, int64_t remaining);
void sindex_remove(struct sindex *ix, const char *id);
/*
 * sindex_load(ix, 1) before putting many listings in any order (a load
 * from Redis), sindex_load(ix, 0) after: meanwhile only the table and an
 * unordered list are kept (sindex_find must not be called), and the end
 * sorts once instead of inserting each listing in order. sindex_load(ix, 1)
 * again after that is allowed (more listings in any order): the lists are
 * made again at the next sindex_load(ix, 0).
 */
void sindex_load(struct sindex *ix, int on);
/* Keeps view (malloc'd JSON text of len bytes, or NULL) as the item's rendered view. */
void sindex_set_view(struct sindex *ix, struct sindex_item *it, char *view, size_t len);

struct sindex_query {
	int kind;				 /* -1 any, else enum listing_kind */
	const char *material, *province, *forum; /* codes; NULL any */
	const char *text;			 /* folded; NULL any */
	int64_t before;				 /* seq bound, exclusive; 0: first page */
	int limit;
};

/*
 * Up to q->limit listings matching every filter, newest (highest seq)
 * first, into out[]; *next is the seq to pass as before for the next page
 * (the last one's when the page is full), 0 when there is none. Returns
 * how many. The items stay valid until the index next changes.
 */
size_t sindex_find(struct sindex *ix, const struct sindex_query *q, struct sindex_item **out,
		   int64_t *next);

#endif
