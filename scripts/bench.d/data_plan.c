/*
 * cmbench-data plan: the engine's plan (matching_plan_runs over the index's
 * rows, as index_plan calls it) timed alone, or the plain full plan.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data_int.h"

/* ---- plan timing ------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int listing_to_matching(enum listing_kind kind, const json_t *body, const struct acct *a,
			       int64_t seq, struct matching_listing *out)
{
	json_t *errors = NULL;
	json_t *rb = as_received(body);
	json_t *doc = listing_from_request(kind, rb, now_ms(), &errors);
	json_decref(rb);
	if (doc == NULL)
		die("plan: body refused");
	char id[IDS_MAX];
	ids_new("lst", id);
	json_object_set_new(doc, "id", json_string(id));
	json_object_set_new(doc, "owner", json_string(a->id));
	const char *why = NULL;
	int rc = matching_listing_from_doc(out, doc, listing_quantity_base(doc), 1, seq, &why);
	json_decref(doc);
	if (rc < 0)
		die("plan: matching_listing_from_doc: %s", why ? why : "?");
	return 0;
}

#define PLAN_LISTS_MAX 8

/* The order of the engine's lists (matching_row_key): offers ascending, needs descending. */
static int plan_by_key(const void *pa, const void *pb)
{
	const struct matching_listing *a = *(const struct matching_listing *const *)pa;
	const struct matching_listing *b = *(const struct matching_listing *const *)pb;
	int64_t x = matching_row_key(a), y = matching_row_key(b);
	int c = (x > y) - (x < y);
	return a->kind == LISTING_OFFER ? c : -c;
}

/* One material's background listings of a kind, as the engine's index keeps them. */
struct plan_list {
	struct matching_listing *ls;
	const struct matching_listing **ptrs;
	struct matching_row *rows;
	struct matching_block *blocks;
	size_t n;
};

static void plan_list_make(struct plan_list *pl, enum listing_kind kind, const struct material *m,
			   long n, int64_t *seq)
{
	pl->n = (size_t)n;
	pl->ls = calloc(pl->n ? pl->n : 1, sizeof(*pl->ls));
	pl->ptrs = calloc(pl->n ? pl->n : 1, sizeof(*pl->ptrs));
	pl->rows = calloc(pl->n ? pl->n : 1, sizeof(*pl->rows));
	pl->blocks = calloc(MATCHING_BLOCKS(pl->n) + 1, sizeof(*pl->blocks));
	for (size_t i = 0; i < pl->n; i++) {
		const struct acct *a;
		json_t *b = listing_body(kind, PROFILE_BACKGROUND, m, &a);
		listing_to_matching(kind, b, a, ++*seq, &pl->ls[i]);
		json_decref(b);
		pl->ptrs[i] = &pl->ls[i];
	}
	qsort(pl->ptrs, pl->n, sizeof(*pl->ptrs), plan_by_key);
	for (size_t i = 0; i < pl->n; i++)
		matching_row_fill(&pl->rows[i], pl->ptrs[i]);
}

/*
 * The engine's planning step alone, as server/engine/index.c makes it:
 * `cands` background listings of the other kind in key order with their
 * rows and blocks (made by the first plan, as the index's are), one list per material (the
 * material's, and with --substitutes yes its substitutes' too, the candidates split evenly; needs
 * as subjects then accept substitutes), and matching_plan_runs, timed in thread CPU per subject:
 * new listings of --profile (default wide: crossing every candidate on price) of --subject
 * need|offer. --method full times matching_plan over the same candidates instead: the plain plan
 * that offers and substitute-taking needs got before matching_plan_runs.
 */
int cmd_plan(long ncand, long nsubj, const char *material, const char *subject, const char *profile,
	     const char *substitutes, const char *method)
{
	enum listing_kind skind = LISTING_NEED;
	if (subject && strcmp(subject, "offer") == 0)
		skind = LISTING_OFFER;
	else if (subject && strcmp(subject, "need") != 0)
		die("--subject need|offer");
	enum listing_kind ckind = skind == LISTING_NEED ? LISTING_OFFER : LISTING_NEED;
	int subst = substitutes && strcmp(substitutes, "yes") == 0;
	int full = method && strcmp(method, "full") == 0;
	if (method && !full && strcmp(method, "runs") != 0)
		die("--method runs|full");
	const struct material *m = materials_find(material ? material
						  : subst  ? "white_clay"
							   : "clay");
	if (m == NULL)
		die("unknown material");
	enum profile prof = profile ? profile_parse(profile) : PROFILE_WIDE;
	/* owners: the plan only compares owner ids */
	static struct acct fake[2];
	snprintf(fake[0].id, IDS_MAX, "acc_00000000000000000000");
	snprintf(fake[0].role, 16, "village");
	snprintf(fake[0].province, 8, "HN");
	snprintf(fake[1].id, IDS_MAX, "acc_11111111111111111111");
	snprintf(fake[1].role, 16, "supplier");
	snprintf(fake[1].province, 8, "HN");
	if (n_accts == 0) {
		accts = fake;
		n_accts = 2;
		static size_t v0 = 0, s1 = 1;
		by_role[0] = &v0;
		by_role[1] = &s1;
		n_by_role[0] = n_by_role[1] = 1;
	}

	/* the lists: the material's, then its substitutes' (either way), as the index */
	const struct material *mats[PLAN_LISTS_MAX];
	size_t n_mats = 0;
	mats[n_mats++] = m;
	for (size_t i = 0; subst && i < materials_count() && n_mats < PLAN_LISTS_MAX; i++) {
		const struct material *o = materials_at(i);
		if (o != m && (materials_is_substitute(m, o) || materials_is_substitute(o, m)))
			mats[n_mats++] = o;
	}
	if (subst && n_mats == 1)
		die("%s has no substitutes", m->code);
	struct plan_list lists[PLAN_LISTS_MAX];
	struct matching_run runs[PLAN_LISTS_MAX];
	int64_t seq = 0;
	for (size_t k = 0; k < n_mats; k++) {
		long share = ncand / (long)n_mats + ((long)k < ncand % (long)n_mats);
		plan_list_make(&lists[k], ckind, mats[k], share, &seq);
		runs[k] = (struct matching_run){lists[k].ptrs, lists[k].rows, lists[k].n,
						lists[k].blocks};
	}
	const struct matching_listing **all = calloc((size_t)ncand + 1, sizeof(*all));
	size_t n_all = 0;
	for (size_t k = 0; k < n_mats; k++)
		for (size_t i = 0; i < lists[k].n; i++)
			all[n_all++] = lists[k].ptrs[i];

	uint64_t *ns = calloc((size_t)nsubj, sizeof(*ns));
	size_t total_considered = 0, total_allocs = 0, total_compatible = 0;
	struct matching_alloc allocs[5];
	for (long s = 0; s < nsubj; s++) {
		const struct acct *a;
		struct matching_listing subj;
		json_t *b = listing_body(skind, prof, m, &a);
		listing_to_matching(skind, b, a, ++seq, &subj);
		json_decref(b);
		if (subst && skind == LISTING_NEED)
			subj.accept_substitutes = 1;
		size_t considered = 0, k;
		int64_t now = now_ms();
		uint64_t t0 = thread_ns();
		if (full)
			k = matching_plan(&subj, all, n_all, now, 3000, allocs, 5, &considered);
		else
			k = matching_plan_runs(&subj, runs, n_mats, now, 3000, allocs, 5,
					       &considered);
		ns[s] = thread_ns() - t0;
		total_considered += considered;
		total_allocs += k;
		total_compatible += k ? allocs[0].compatible : 0;
	}
	qsort(ns, (size_t)nsubj, sizeof(*ns), cmp_u64);
	double sum = 0;
	for (long s = 0; s < nsubj; s++)
		sum += (double)ns[s];
	printf(
	    "{\"candidates\": %ld, \"subjects\": %ld, \"material\": \"%s\", \"subject\": \"%s\", "
	    "\"lists\": %zu, \"method\": \"%s\", "
	    "\"median_us\": %.1f, \"mean_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
	    "\"considered_mean\": %.1f, \"allocations_mean\": %.2f, "
	    "\"compatible_mean\": %.1f}\n",
	    ncand, nsubj, m->code, skind == LISTING_NEED ? "need" : "offer", n_mats,
	    full ? "full" : "runs", ns[nsubj / 2] / 1e3, sum / nsubj / 1e3,
	    ns[(size_t)(nsubj * 0.9)] / 1e3, ns[(size_t)(nsubj * 0.99)] / 1e3,
	    (double)total_considered / nsubj, (double)total_allocs / nsubj,
	    (double)total_compatible / nsubj);
	for (size_t k = 0; k < n_mats; k++) {
		free(lists[k].ls);
		free(lists[k].ptrs);
		free(lists[k].rows);
		free(lists[k].blocks);
	}
	free(all);
	free(ns);
	return 0;
}
