/*
 * sindex — the marketplace search index (see sindex.h).
 */
#include "server/search/sindex.h"

#include <stdlib.h>
#include <string.h>

#include "common/ids.h"
#include "common/listing.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/xalloc.h"

/*
 * A listing's place in a list: its seq and the filters every list holds
 * (kind, material, province), so a search checks them without reading the
 * item itself (a cache miss per listing).
 */
struct sindex_ref {
	int64_t seq;
	uint32_t attrs; /* sindex_attrs() */
	struct sindex_item *it;
};

/* Refs in ascending seq; seqs are unique (one per listing). */
struct sindex_list {
	struct sindex_ref *v;
	size_t n, cap;
};

/* kind (1 bit), material + 1 and province + 1 (12 bits each; 0: unknown). */
static uint32_t sindex_attrs(int kind, int material, int province)
{
	return (uint32_t)kind | (uint32_t)(material + 1) << 1 | (uint32_t)(province + 1) << 13;
}

#define SINDEX_ATTR_KIND 0x1u
#define SINDEX_ATTR_MATERIAL (0xfffu << 1)
#define SINDEX_ATTR_PROVINCE (0xfffu << 13)

/*
 * The bigrams of a folded text as a 256-bit set: a needle can be a
 * substring of a text only when each of its bigrams is in the text's set,
 * which rules most texts out without reading them.
 */
static void sindex_grams(const char *s, uint64_t grams[4])
{
	memset(grams, 0, 4 * sizeof(grams[0]));
	for (; s[0] && s[1]; s++) {
		unsigned h = ((unsigned char)s[0] * 31u + (unsigned char)s[1]) * 2654435761u >> 24;
		grams[h >> 6] |= UINT64_C(1) << (h & 63);
	}
}

struct sindex {
	/* open addressing, linear probing, backward-shift deletion; each slot's
	 * item's id hash beside it, so a probe or a rehash reads no item */
	struct sindex_item **slots;
	uint32_t *tags;
	size_t nslots, count;
	size_t bytes; /* strings and items */
	struct sindex_list all, kind[2];
	struct sindex_list *material; /* materials_count() */
	struct sindex_list *province; /* provinces_count() */
	int loading;		      /* sindex_load(): only `all` is kept, in any order */
};

struct sindex *sindex_new(void)
{
	struct sindex *ix = xcalloc(1, sizeof(*ix));
	ix->nslots = 1024;
	ix->slots = xcalloc(ix->nslots, sizeof(*ix->slots));
	ix->tags = xcalloc(ix->nslots, sizeof(*ix->tags));
	ix->material = xcalloc(materials_count() + 1, sizeof(*ix->material));
	ix->province = xcalloc(provinces_count() + 1, sizeof(*ix->province));
	return ix;
}

static size_t sindex_item_bytes(const struct sindex_item *it)
{
	return sizeof(*it) + strlen(it->forum) + strlen(it->owner_name) + strlen(it->doc) +
	       strlen(it->fold) + 4 + (it->view ? it->view_len + 1 : 0);
}

/* forum, owner_name, doc and fold: one block, at forum (sindex_put). */
static void sindex_item_free(struct sindex_item *it)
{
	free(it->forum);
	free(it->view);
	free(it);
}

void sindex_free(struct sindex *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; i < ix->nslots; i++)
		if (ix->slots[i])
			sindex_item_free(ix->slots[i]);
	free(ix->slots);
	free(ix->tags);
	free(ix->all.v);
	free(ix->kind[0].v);
	free(ix->kind[1].v);
	for (size_t i = 0; i < materials_count(); i++)
		free(ix->material[i].v);
	for (size_t i = 0; i < provinces_count(); i++)
		free(ix->province[i].v);
	free(ix->material);
	free(ix->province);
	free(ix);
}

size_t sindex_size(const struct sindex *ix)
{
	return ix->count;
}

size_t sindex_bytes(const struct sindex *ix)
{
	size_t lists = ix->all.cap + ix->kind[0].cap + ix->kind[1].cap;
	for (size_t i = 0; i < materials_count(); i++)
		lists += ix->material[i].cap;
	for (size_t i = 0; i < provinces_count(); i++)
		lists += ix->province[i].cap;
	return sizeof(*ix) + ix->bytes + ix->nslots * (sizeof(void *) + sizeof(uint32_t)) +
	       lists * sizeof(struct sindex_ref);
}

/* ---- the table ---- */

static uint32_t sindex_hash(const char *id)
{
	return (uint32_t)ids_hash(id);
}

/* id's slot, or the empty one where it goes; tag: sindex_hash(id). */
static size_t sindex_slot_tag(const struct sindex *ix, const char *id, uint32_t tag)
{
	size_t mask = ix->nslots - 1, i = tag & mask;
	while (ix->slots[i] && (ix->tags[i] != tag || strcmp(ix->slots[i]->id, id) != 0))
		i = (i + 1) & mask;
	return i;
}

static size_t sindex_slot(const struct sindex *ix, const char *id)
{
	return sindex_slot_tag(ix, id, sindex_hash(id));
}

struct sindex_item *sindex_get(struct sindex *ix, const char *id)
{
	return ix->slots[sindex_slot(ix, id)];
}

static void sindex_grow(struct sindex *ix)
{
	struct sindex_item **old = ix->slots;
	uint32_t *old_tags = ix->tags;
	size_t n = ix->nslots;
	ix->nslots *= 2;
	ix->slots = xcalloc(ix->nslots, sizeof(*ix->slots));
	ix->tags = xcalloc(ix->nslots, sizeof(*ix->tags));
	size_t mask = ix->nslots - 1;
	for (size_t i = 0; i < n; i++) {
		if (old[i] == NULL)
			continue;
		size_t j = old_tags[i] & mask;
		while (ix->slots[j])
			j = (j + 1) & mask;
		ix->slots[j] = old[i];
		ix->tags[j] = old_tags[i];
	}
	free(old);
	free(old_tags);
}

static void sindex_unslot(struct sindex *ix, size_t i)
{
	size_t mask = ix->nslots - 1, j = i;
	ix->slots[i] = NULL;
	for (;;) {
		j = (j + 1) & mask;
		if (ix->slots[j] == NULL)
			return;
		size_t home = ix->tags[j] & mask;
		/* move j back to i when its home is not within (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			ix->slots[i] = ix->slots[j];
			ix->tags[i] = ix->tags[j];
			ix->slots[j] = NULL;
			i = j;
		}
	}
}

/* ---- the lists ---- */

/* The first position whose seq is >= seq. */
static size_t sindex_lower(const struct sindex_list *l, int64_t seq)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void sindex_list_add(struct sindex_list *l, struct sindex_item *it)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	/* posting order: almost always at the end */
	size_t at = l->n == 0 || l->v[l->n - 1].seq < it->seq ? l->n : sindex_lower(l, it->seq);
	memmove(l->v + at + 1, l->v + at, (l->n - at) * sizeof(*l->v));
	l->v[at].seq = it->seq;
	l->v[at].attrs = sindex_attrs(it->kind, it->material, it->province);
	l->v[at].it = it;
	l->n++;
}

static void sindex_list_del(struct sindex_list *l, const struct sindex_item *it)
{
	size_t at = sindex_lower(l, it->seq);
	while (at < l->n && l->v[at].it != it && l->v[at].seq == it->seq)
		at++;
	if (at >= l->n || l->v[at].it != it)
		return;
	memmove(l->v + at, l->v + at + 1, (l->n - at - 1) * sizeof(*l->v));
	l->n--;
}

/* While loading: appended to `all` in any order, or taken out of it. */
static void sindex_lists_loading(struct sindex *ix, struct sindex_item *it, int add)
{
	struct sindex_list *l = &ix->all;
	if (add) {
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 1024;
			l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		l->v[l->n].seq = it->seq;
		l->v[l->n].attrs = sindex_attrs(it->kind, it->material, it->province);
		l->v[l->n].it = it;
		l->n++;
		return;
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].it == it) {
			l->v[i] = l->v[--l->n];
			return;
		}
}

/* The refs in ascending seq: a radix sort, a byte a pass (seqs are positive). */
static void sindex_sort_refs(struct sindex_list *l)
{
	int64_t max = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].seq > max)
			max = l->v[i].seq;
	struct sindex_ref *tmp = xmalloc((l->n ? l->n : 1) * sizeof(*tmp)), *a = l->v, *b = tmp;
	for (int shift = 0; shift < 64 && (max >> shift) > 0; shift += 8) {
		size_t count[257] = {0};
		for (size_t i = 0; i < l->n; i++)
			count[((uint64_t)a[i].seq >> shift & 0xff) + 1]++;
		for (int k = 0; k < 256; k++)
			count[k + 1] += count[k];
		for (size_t i = 0; i < l->n; i++)
			b[count[(uint64_t)a[i].seq >> shift & 0xff]++] = a[i];
		struct sindex_ref *t = a;
		a = b;
		b = t;
	}
	if (a != l->v)
		memcpy(l->v, a, l->n * sizeof(*a));
	free(tmp);
}

void sindex_load(struct sindex *ix, int on)
{
	if (on && !ix->loading) {
		/* `all` keeps its order (more are appended in any); the other lists are
		 * made again from it at the end */
		ix->kind[0].n = ix->kind[1].n = 0;
		for (size_t i = 0; i < materials_count(); i++)
			ix->material[i].n = 0;
		for (size_t i = 0; i < provinces_count(); i++)
			ix->province[i].n = 0;
	}
	if (on || !ix->loading) {
		ix->loading = on;
		return;
	}
	ix->loading = 0;
	/* `all` in posting order, then every other list appended from it in that order */
	sindex_sort_refs(&ix->all);
	for (size_t i = 0; i < ix->all.n; i++) {
		struct sindex_item *it = ix->all.v[i].it;
		struct sindex_list *ls[3] = {
		    &ix->kind[it->kind], it->material >= 0 ? &ix->material[it->material] : NULL,
		    it->province >= 0 ? &ix->province[it->province] : NULL};
		for (int k = 0; k < 3; k++)
			if (ls[k])
				sindex_list_add(ls[k], it);
	}
}

static void sindex_lists(struct sindex *ix, struct sindex_item *it, int add)
{
	if (ix->loading) {
		sindex_lists_loading(ix, it, add);
		return;
	}
	struct sindex_list *ls[4] = {&ix->all, &ix->kind[it->kind],
				     it->material >= 0 ? &ix->material[it->material] : NULL,
				     it->province >= 0 ? &ix->province[it->province] : NULL};
	for (int i = 0; i < 4; i++) {
		if (ls[i] == NULL)
			continue;
		if (add)
			sindex_list_add(ls[i], it);
		else
			sindex_list_del(ls[i], it);
	}
}

/* ---- changes ---- */

static int sindex_material_at(const char *code)
{
	const struct material *m = code ? materials_find(code) : NULL;
	return m ? (int)(m - materials_at(0)) : -1;
}

static int sindex_province_at(const char *code)
{
	const struct province *p = code && *code ? provinces_find(code) : NULL;
	return p ? (int)(p - provinces_at(0)) : -1;
}

void sindex_remove(struct sindex *ix, const char *id)
{
	size_t i = sindex_slot(ix, id);
	struct sindex_item *it = ix->slots[i];
	if (it == NULL)
		return;
	sindex_lists(ix, it, 0);
	sindex_unslot(ix, i);
	ix->count--;
	ix->bytes -= sindex_item_bytes(it);
	sindex_item_free(it);
}

struct sindex_item *sindex_put(struct sindex *ix, const struct sindex_listing *l)
{
	enum listing_kind k = listing_kind_parse(l->kind);
	int kind = (int)k;
	if (l->id == NULL || strlen(l->id) >= IDS_MAX || k == LISTING_KIND_UNKNOWN) {
		if (l->id)
			sindex_remove(ix, l->id);
		return NULL;
	}
	int material = sindex_material_at(l->material), province = sindex_province_at(l->province);
	uint32_t tag = sindex_hash(l->id);
	size_t slot = sindex_slot_tag(ix, l->id, tag);
	struct sindex_item *it = ix->slots[slot];
	if (it && it->seq == l->seq && it->kind == kind && it->material == material &&
	    it->province == province) {
		/* the same place in every list: changed where it is */
		ix->bytes -= sindex_item_bytes(it);
		free(it->forum);
		free(it->view);
		it->view = NULL;
		it->view_len = 0;
	} else {
		int moved = 0;
		if (it) {
			sindex_remove(ix, l->id);
			moved = 1;
		}
		if ((ix->count + 1) * 4 > ix->nslots * 3) {
			sindex_grow(ix);
			moved = 1;
		}
		if (moved)
			slot = sindex_slot_tag(ix, l->id, tag);
		it = xcalloc(1, sizeof(*it));
		strcpy(it->id, l->id);
		it->seq = l->seq;
		it->kind = kind;
		it->material = material;
		it->province = province;
		ix->slots[slot] = it;
		ix->tags[slot] = tag;
		ix->count++;
		sindex_lists(ix, it, 1);
	}
	it->version = l->version;
	it->remaining = l->remaining;
	it->created_at = l->created_at;
	it->updated_at = l->updated_at;
	const char *str[4] = {l->forum ? l->forum : "", l->owner_name ? l->owner_name : "",
			      l->doc ? l->doc : "", l->fold ? l->fold : ""};
	const size_t given[4] = {l->forum ? l->forum_len : 0, l->owner_name ? l->owner_name_len : 0,
				 l->doc ? l->doc_len : 0, l->fold ? l->fold_len : 0};
	size_t len[4], total = 0;
	for (int i = 0; i < 4; i++)
		total += (len[i] = l->sized ? given[i] : strlen(str[i])) + 1;
	char *block = xmalloc(total), *at = block;
	char **dst[4] = {&it->forum, &it->owner_name, &it->doc, &it->fold};
	for (int i = 0; i < 4; i++) {
		memcpy(at, str[i], len[i]);
		at[len[i]] = '\0';
		*dst[i] = at;
		at += len[i] + 1;
	}
	sindex_grams(it->fold, it->grams);
	ix->bytes += sindex_item_bytes(it);
	return it;
}

void sindex_set_remaining(struct sindex *ix, const char *id, int64_t remaining)
{
	struct sindex_item *it = sindex_get(ix, id);
	if (it == NULL || it->remaining == remaining)
		return;
	it->remaining = remaining;
	if (it->view) {
		ix->bytes -= it->view_len + 1;
		free(it->view);
		it->view = NULL;
		it->view_len = 0;
	}
}

/* ---- searching ---- */

/* Forum and text: what the lists do not hold. */
static int sindex_matches(const struct sindex_item *it, const struct sindex_query *q,
			  const uint64_t grams[4])
{
	if (q->forum && strcmp(it->forum, q->forum) != 0)
		return 0;
	if (q->text) {
		for (int k = 0; k < 4; k++)
			if ((it->grams[k] & grams[k]) != grams[k])
				return 0;
		if (strstr(it->fold, q->text) == NULL)
			return 0;
	}
	return 1;
}

size_t sindex_find(struct sindex *ix, const struct sindex_query *q, struct sindex_item **out,
		   int64_t *next)
{
	*next = 0;
	int material = q->material ? sindex_material_at(q->material) : -1;
	int province = q->province ? sindex_province_at(q->province) : -1;
	if ((q->material && material < 0) || (q->province && province < 0) || q->limit <= 0)
		return 0;
	/* the shortest list every match is in */
	const struct sindex_list *l = &ix->all;
	if (q->kind >= 0 && ix->kind[q->kind].n < l->n)
		l = &ix->kind[q->kind];
	if (q->material && ix->material[material].n < l->n)
		l = &ix->material[material];
	if (q->province && ix->province[province].n < l->n)
		l = &ix->province[province];
	uint32_t mask = 0, want = sindex_attrs(q->kind > 0, material, province);
	if (q->kind >= 0)
		mask |= SINDEX_ATTR_KIND;
	if (q->material)
		mask |= SINDEX_ATTR_MATERIAL;
	if (q->province)
		mask |= SINDEX_ATTR_PROVINCE;
	want &= mask;
	uint64_t grams[4] = {0, 0, 0, 0};
	if (q->text)
		sindex_grams(q->text, grams);
	size_t i = q->before > 0 ? sindex_lower(l, q->before) : l->n, n = 0;
	while (i > 0) {
		const struct sindex_ref *ref = &l->v[--i];
		if ((ref->attrs & mask) != want)
			continue;
		if ((q->forum || q->text) && !sindex_matches(ref->it, q, grams))
			continue;
		out[n++] = ref->it;
		if (n == (size_t)q->limit) {
			*next = ref->seq;
			break;
		}
	}
	return n;
}

void sindex_set_view(struct sindex *ix, struct sindex_item *it, char *view, size_t len)
{
	if (it->view)
		ix->bytes -= it->view_len + 1;
	free(it->view);
	it->view = view;
	it->view_len = len;
	if (view)
		ix->bytes += len + 1;
}
