/*
 * Unit tests for server/search/sindex: after any sequence of puts (new
 * listings, changes in place, moves to another material or province, puts
 * out of posting order as a replay over a snapshot makes), remaining changes
 * and removals, every query's pages, read to the end, are exactly the
 * listings a plain scan of a copy of what was put finds, newest first; and
 * lookups by id stay right while the table grows and entries leave it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/search/sindex.h"

#define N_IDS 400

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static const char *const kinds[] = {"need", "offer"};
static const char *const mats[] = {"white_clay", "kaolin", "clay", "rattan"};
static const char *const provs[] = {"HN", "HP", "QN", "BN", "NB"};
static const char *const forums[] = {"", "", "hn-2026", "bn-spring"};
static const char *const words[] = {
    "bat trang", "gom", "tre", "may tre dan", "son ta", "dong ky", "van phuc to tam"};
static const char *const needles[] = {"bat", "gom", "tre", "ta", "ky", "xyz", "phuc to"};

/* The model: what was put last for each id, or not present. */
struct model {
	int present;
	char id[IDS_MAX];
	int kind, mat, prov, forum, word;
	int64_t seq, remaining, version;
};

static struct model m[N_IDS];

static void put(struct sindex *ix, struct model *e)
{
	char doc[64];
	snprintf(doc, sizeof(doc), "{\"id\":\"%s\"}", e->id);
	struct sindex_listing l = {
	    .id = e->id,
	    .kind = kinds[e->kind],
	    .material = mats[e->mat],
	    .province = provs[e->prov],
	    .forum = forums[e->forum],
	    .owner_name = "Hợp tác xã",
	    .doc = doc,
	    .fold = words[e->word],
	    .seq = e->seq,
	    .version = e->version,
	    .remaining = e->remaining,
	    .created_at = 1,
	    .updated_at = 2,
	};
	assert_non_null(sindex_put(ix, &l));
	e->present = 1;
}

static int model_matches(const struct model *e, const struct sindex_query *q)
{
	if (!e->present)
		return 0;
	if (q->kind >= 0 && e->kind != q->kind)
		return 0;
	if (q->material && strcmp(mats[e->mat], q->material) != 0)
		return 0;
	if (q->province && strcmp(provs[e->prov], q->province) != 0)
		return 0;
	if (q->forum && strcmp(forums[e->forum], q->forum) != 0)
		return 0;
	if (q->text && strstr(words[e->word], q->text) == NULL)
		return 0;
	return 1;
}

/* Every page of q read to the end equals the plain scan, newest first. */
static void check_query(struct sindex *ix, struct sindex_query q)
{
	/* the expected listings: by seq, descending */
	const struct model *want[N_IDS];
	size_t nw = 0;
	for (size_t i = 0; i < N_IDS; i++)
		if (model_matches(&m[i], &q))
			want[nw++] = &m[i];
	for (size_t i = 1; i < nw; i++)
		for (size_t j = i; j > 0 && want[j - 1]->seq < want[j]->seq; j--) {
			const struct model *t = want[j];
			want[j] = want[j - 1];
			want[j - 1] = t;
		}
	size_t got = 0;
	q.before = 0;
	for (int pages = 0;; pages++) {
		assert_true(pages <= N_IDS + 1);
		struct sindex_item *out[N_IDS];
		int64_t next;
		size_t n = sindex_find(ix, &q, out, &next);
		assert_true(n <= (size_t)q.limit);
		for (size_t i = 0; i < n; i++) {
			assert_true(got < nw);
			assert_string_equal(out[i]->id, want[got]->id);
			assert_int_equal(out[i]->remaining, want[got]->remaining);
			assert_int_equal(out[i]->version, want[got]->version);
			got++;
		}
		if (n < (size_t)q.limit)
			assert_int_equal(next, 0);
		if (next == 0)
			break;
		assert_int_equal(next, out[n - 1]->seq);
		q.before = next;
	}
	assert_int_equal(got, nw);
}

static void random_query(uint64_t *x, struct sindex *ix)
{
	struct sindex_query q = {.kind = -1, .limit = 1 + (int)(rnd(x) % 7)};
	if (rnd(x) % 3 == 0)
		q.kind = (int)(rnd(x) % 2);
	if (rnd(x) % 3 == 0)
		q.material = mats[rnd(x) % 4];
	if (rnd(x) % 3 == 0)
		q.province = provs[rnd(x) % 5];
	if (rnd(x) % 4 == 0)
		q.forum = forums[2 + rnd(x) % 2];
	if (rnd(x) % 3 == 0)
		q.text = needles[rnd(x) % 7];
	check_query(ix, q);
}

static void test_random_changes(void **state)
{
	(void)state;
	uint64_t x = 88172645463325252ULL;
	for (int round = 0; round < 4; round++) {
		memset(m, 0, sizeof(m));
		struct sindex *ix = sindex_new();
		int64_t seq = 0;
		for (int step = 0; step < 3000; step++) {
			struct model *e = &m[rnd(&x) % N_IDS];
			snprintf(e->id, sizeof(e->id), "lst_%04d", (int)(e - m));
			uint64_t op = rnd(&x) % 10;
			if (!e->present || op < 3) {
				/* posted (again: a new seq), or a replayed older put */
				e->kind = (int)(rnd(&x) % 2);
				e->mat = (int)(rnd(&x) % 4);
				e->prov = (int)(rnd(&x) % 5);
				e->forum = (int)(rnd(&x) % 4);
				e->word = (int)(rnd(&x) % 7);
				e->seq = rnd(&x) % 4 == 0 && seq > 10
					     ? seq - 1 - (int64_t)(rnd(&x) % 10)
					     : ++seq;
				e->version = 1;
				e->remaining = (int64_t)(rnd(&x) % 100);
				/* a seq is one listing's: clear any other holding it */
				for (size_t i = 0; i < N_IDS; i++)
					if (&m[i] != e && m[i].present && m[i].seq == e->seq) {
						sindex_remove(ix, m[i].id);
						m[i].present = 0;
					}
				put(ix, e);
			} else if (op < 5) {
				/* updated in place: text, forum, or moved */
				e->version++;
				e->word = (int)(rnd(&x) % 7);
				if (rnd(&x) % 2)
					e->prov = (int)(rnd(&x) % 5);
				put(ix, e);
			} else if (op < 8) {
				e->remaining = (int64_t)(rnd(&x) % 100);
				sindex_set_remaining(ix, e->id, e->remaining);
			} else {
				sindex_remove(ix, e->id);
				e->present = 0;
			}
			if (step % 50 == 0)
				random_query(&x, ix);
		}
		size_t present = 0;
		for (size_t i = 0; i < N_IDS; i++) {
			if (m[i].id[0] == '\0')
				continue;
			struct sindex_item *it = sindex_get(ix, m[i].id);
			assert_true((it != NULL) == (m[i].present != 0));
			present += m[i].present;
		}
		assert_int_equal(sindex_size(ix), present);
		for (int i = 0; i < 200; i++)
			random_query(&x, ix);
		assert_true(sindex_bytes(ix) > present * sizeof(struct sindex_item));
		sindex_free(ix);
	}
}

static void test_views_dropped_on_change(void **state)
{
	(void)state;
	struct sindex *ix = sindex_new();
	struct model e = {.kind = 1, .mat = 1, .prov = 2, .seq = 5, .version = 1, .remaining = 9};
	snprintf(e.id, sizeof(e.id), "lst_view");
	put(ix, &e);
	struct sindex_item *it = sindex_get(ix, "lst_view");
	sindex_set_view(ix, it, strdup("{}"), 2);
	sindex_set_remaining(ix, "lst_view", 9); /* unchanged: kept */
	assert_non_null(it->view);
	sindex_set_remaining(ix, "lst_view", 4);
	assert_null(it->view);
	sindex_set_view(ix, it, strdup("{}"), 2);
	e.version = 2;
	put(ix, &e);
	assert_null(sindex_get(ix, "lst_view")->view);
	/* an unknown kind removes what was there */
	struct sindex_listing bad = {.id = "lst_view", .kind = "barter", .seq = 5};
	assert_null(sindex_put(ix, &bad));
	assert_null(sindex_get(ix, "lst_view"));
	assert_int_equal(sindex_size(ix), 0);
	sindex_free(ix);
}

static void test_unknown_codes_find_nothing(void **state)
{
	(void)state;
	struct sindex *ix = sindex_new();
	struct model e = {.kind = 0, .mat = 0, .prov = 0, .seq = 1, .version = 1};
	snprintf(e.id, sizeof(e.id), "lst_one");
	put(ix, &e);
	struct sindex_item *out[4];
	int64_t next;
	struct sindex_query q = {.kind = -1, .material = "no_such", .limit = 4};
	assert_int_equal(sindex_find(ix, &q, out, &next), 0);
	q.material = NULL;
	q.province = "no such province";
	assert_int_equal(sindex_find(ix, &q, out, &next), 0);
	q.province = NULL;
	assert_int_equal(sindex_find(ix, &q, out, &next), 1);
	assert_int_equal(next, 0);
	sindex_free(ix);
}

/* Loaded in any order (a scan of Redis hashes), some twice, some moved meanwhile. */
static void test_load_in_any_order(void **state)
{
	(void)state;
	uint64_t x = 1181783497276652981ULL;
	memset(m, 0, sizeof(m));
	size_t order[N_IDS];
	for (size_t i = 0; i < N_IDS; i++) {
		struct model *e = &m[i];
		snprintf(e->id, sizeof(e->id), "lst_%04d", (int)i);
		e->kind = (int)(rnd(&x) % 2);
		e->mat = (int)(rnd(&x) % 4);
		e->prov = (int)(rnd(&x) % 5);
		e->forum = (int)(rnd(&x) % 4);
		e->word = (int)(rnd(&x) % 7);
		e->seq = (int64_t)(i * 3 + 1 + (i % 7) * 300); /* sparse, several bytes */
		e->version = 1;
		e->remaining = (int64_t)(rnd(&x) % 100);
		order[i] = i;
	}
	for (size_t i = N_IDS - 1; i > 0; i--) {
		size_t j = rnd(&x) % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	struct sindex *ix = sindex_new();
	sindex_load(ix, 1);
	for (size_t i = 0; i < N_IDS; i++) {
		struct model *e = &m[order[i]];
		if (rnd(&x) % 4 == 0)
			continue; /* not in the load */
		put(ix, e);
		if (rnd(&x) % 5 == 0)
			put(ix, e); /* given twice */
		if (rnd(&x) % 9 == 0) {
			e->prov = (e->prov + 1) % 5; /* moved: out of its place, then back in */
			put(ix, e);
		}
	}
	sindex_load(ix, 0);
	size_t present = 0;
	for (size_t i = 0; i < N_IDS; i++)
		present += m[i].present;
	assert_int_equal(sindex_size(ix), present);
	for (int i = 0; i < 300; i++)
		random_query(&x, ix);
	/* loading again after that (the listings a load reads by id after its scan):
	 * the ones left out, in any order, some given twice or moved */
	sindex_load(ix, 1);
	for (size_t i = 0; i < N_IDS; i++) {
		struct model *e = &m[order[i]];
		if (!e->present || rnd(&x) % 6 == 0)
			put(ix, e);
		if (rnd(&x) % 9 == 0) {
			e->prov = (e->prov + 1) % 5;
			put(ix, e);
		}
	}
	sindex_load(ix, 0);
	present = 0;
	for (size_t i = 0; i < N_IDS; i++)
		present += m[i].present;
	assert_int_equal(sindex_size(ix), present);
	assert_int_equal(present, N_IDS);
	for (int i = 0; i < 300; i++)
		random_query(&x, ix);
	/* and the lists stay right through later changes */
	for (size_t i = 0; i < N_IDS; i += 3)
		if (m[i].present) {
			sindex_remove(ix, m[i].id);
			m[i].present = 0;
		}
	for (int i = 0; i < 100; i++)
		random_query(&x, ix);
	sindex_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_changes),
	    cmocka_unit_test(test_views_dropped_on_change),
	    cmocka_unit_test(test_unknown_codes_find_nothing),
	    cmocka_unit_test(test_load_in_any_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
