/*
 * Unit tests for common/matching_rows.c: the pruned plan over rows gives the
 * plain plan's allocations on random worlds (the oracle), and a row is what
 * the plan reads of its listing.
 */
#include "matching_kit.h"

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* A run's order (matching_row_key): offers ascending, needs descending. */
static int by_key(const void *pa, const void *pb)
{
	const struct matching_listing *a = *(const struct matching_listing *const *)pa;
	const struct matching_listing *b = *(const struct matching_listing *const *)pb;
	int64_t x = matching_row_key(a), y = matching_row_key(b);
	int c = (x > y) - (x < y);
	return a->kind == LISTING_OFFER ? c : -c;
}

static const char *const world_provs[] = {"HN", "HP", "QN", "BN", "NB", "TH", "LCI", "PT"};

/* A random listing of kind and material for the worlds below. */
static struct matching_listing world_listing(uint64_t *x, enum listing_kind kind, const char *id,
					     const char *material)
{
	static const char *const owners[] = {"acc_a", "acc_b", "acc_c", "acc_d", "acc_e",
					     "acc_f", "acc_g", "acc_h", "acc_i", "acc_j"};
	/* same-owner pairs happen; prices per kg or per tonne, so keys tie */
	int64_t factor = xorshift(x) % 2 ? 1 : 1000;
	struct matching_listing l =
	    mk(kind, id, owners[xorshift(x) % 10], material,
	       xorshift(x) % 25 == 0 ? 0 : 100 + (int64_t)(xorshift(x) % 20000),
	       (500 + (int64_t)(xorshift(x) % 3000)) * factor, factor);
	l.province = provinces_find(world_provs[xorshift(x) % 8]);
	l.has_location = xorshift(x) % 3 == 0;
	l.lat_udeg = LAT0 + (int32_t)(xorshift(x) % 2000000) - 1000000;
	l.lon_udeg = LON0 + (int32_t)(xorshift(x) % 2000000) - 1000000;
	l.grade_rank = (int8_t)(xorshift(x) % 5) - 1;
	l.max_distance_km = xorshift(x) % 5 == 0 ? 20 + (int32_t)(xorshift(x) % 300) : 0;
	l.seq = (int64_t)(xorshift(x) % 50); /* ties reach the id */
	if (kind == LISTING_OFFER) {
		l.min_order_base = xorshift(x) % 4 == 0 ? (int64_t)(xorshift(x) % 5000) : 0;
		l.available_until_ms =
		    xorshift(x) % 3 == 0 ? NOW + (int64_t)(xorshift(x) % 3) * 20 * DAY - DAY : 0;
		l.available_from_ms = NOW - DAY + (int64_t)(xorshift(x) % 3) * 20 * DAY;
	} else {
		if (xorshift(x) % 3 == 0)
			l.price_vnd = 0; /* no maximum */
		l.accept_substitutes = xorshift(x) % 2;
		l.needed_by_ms = NOW + (int64_t)(xorshift(x) % 4) * 20 * DAY - DAY;
	}
	return l;
}

static void assert_same_allocs(const struct matching_alloc *a, const struct matching_alloc *b,
			       size_t k)
{
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(a[i].index, b[i].index);
		assert_int_equal(a[i].quantity, b[i].quantity);
		assert_int_equal(a[i].distance_km, b[i].distance_km);
		assert_int_equal(a[i].price_micro, b[i].price_micro);
		assert_int_equal(a[i].freight_micro, b[i].freight_micro);
		assert_int_equal(a[i].landed_micro, b[i].landed_micro);
		assert_int_equal(a[i].goods_vnd, b[i].goods_vnd);
		assert_int_equal(a[i].freight_vnd, b[i].freight_vnd);
		assert_int_equal(a[i].landed_vnd, b[i].landed_vnd);
		assert_int_equal(a[i].rank, b[i].rank);
		assert_int_equal(a[i].compatible, b[i].compatible);
		assert_int_equal(a[i].cand_kind, b[i].cand_kind);
		assert_int_equal(a[i].distance_from, b[i].distance_from);
		assert_int_equal(a[i].by_reputation, b[i].by_reputation);
		assert_int_equal(a[i].rep.kept, b[i].rep.kept);
		assert_int_equal(a[i].rep.ended, b[i].rep.ended);
		assert_int_equal(a[i].runner_up.kept, b[i].runner_up.kept);
		assert_int_equal(a[i].runner_up.ended, b[i].runner_up.ended);
	}
}

/*
 * A plan over rows makes exactly the allocations of the full plan over the
 * same candidates (every field, the count of compatible ones included, so
 * every explanation is the same), over many random worlds (seeded,
 * reproducible): needs and offers as the subject, one run or a material, its
 * substitute and a material that is none in up to three, skipped rows, same owners, coordinates or
 * province centres, distance limits, minimum orders, grades, prices that
 * tie once floored, dates. The worlds are checked to exercise each fast
 * path: the bound, the stop at the price, allocations past the bound's
 * ranks (the plan again without it).
 */
static void test_plan_runs_same_allocations(void **state)
{
	(void)state;
	uint64_t x = 0x2545F4914F6CDD1Dull;
	int pruned[2] = {0, 0}, stopped = 0, merged = 0, deep = 0, by_rep = 0, blocked = 0;
	/* owners' records: none, good, bad, and two equal by the rule (1/2) */
	static const struct matching_rep reps[] = {{9, 10}, {0, 3}, {1, 2}, {0, 0}, {3, 4}};
	for (int world = 0; world < 1200; world++) {
		enum listing_kind skind = world % 2 ? LISTING_OFFER : LISTING_NEED;
		enum listing_kind ckind = skind == LISTING_NEED ? LISTING_OFFER : LISTING_NEED;
		/* the third is no substitute: the plan must refuse it all the same */
		size_t n_runs = 1 + xorshift(&x) % 3, n = 0;
		static const char *const mats[] = {"white_clay", "kaolin", "clay"};
		struct matching_listing *ls[3];
		const struct matching_listing **cands[3];
		struct matching_row *rows[3];
		struct matching_block *blocks[3];
		struct matching_run runs[3];
		/*
		 * Calm worlds: every offer available from before now until
		 * after every deadline, so whole blocks pass the date filters
		 * and are counted at once (the others are read row by row).
		 */
		int calm = world % 4 == 2; /* needs as subjects */
		const struct matching_listing **all;
		char id[32];

		for (size_t r = 0; r < n_runs; r++) {
			size_t m =
			    xorshift(&x) % 2 ? 1 + xorshift(&x) % 400 : 1 + xorshift(&x) % 40;
			ls[r] = calloc(m, sizeof(*ls[r]));
			cands[r] = calloc(m, sizeof(*cands[r]));
			rows[r] = calloc(m, sizeof(*rows[r]));
			for (size_t i = 0; i < m; i++) {
				snprintf(id, sizeof(id), "lst_%zu_%zu", r, i);
				ls[r][i] = world_listing(&x, ckind, id, mats[r]);
				if (calm && ckind == LISTING_OFFER) {
					ls[r][i].available_from_ms = NOW - DAY;
					if (ls[r][i].available_until_ms != 0)
						ls[r][i].available_until_ms = NOW + 400 * DAY;
				}
				if (world % 5 == 0) /* many small ones: deep allocations */
					ls[r][i].remaining /= 40;
				if (world % 7 == 3) {
					/* on one meridian: the latitude bound is tight */
					ls[r][i].lon_udeg = LON0;
					ls[r][i].has_location = xorshift(&x) % 4 != 0;
				}
				/* a sixth of them with no record (NULL) */
				size_t k = xorshift(&x) % 6;
				ls[r][i].rep = k < 5 ? &reps[k] : NULL;
				if (world % 11 == 4 && i > 0) {
					/* the same price and place: ties of the landed cost */
					ls[r][i].price_vnd = ls[r][0].price_vnd;
					ls[r][i].price_factor = ls[r][0].price_factor;
					ls[r][i].has_location = ls[r][0].has_location;
					ls[r][i].lat_udeg = ls[r][0].lat_udeg;
					ls[r][i].lon_udeg = ls[r][0].lon_udeg;
					ls[r][i].province = ls[r][0].province;
				}
				cands[r][i] = &ls[r][i];
			}
			qsort(cands[r], m, sizeof(*cands[r]), by_key);
			for (size_t i = 0; i < m; i++) {
				matching_row_fill(&rows[r][i], cands[r][i]);
				if (xorshift(&x) % 30 == 0)
					rows[r][i].flags |= MATCHING_ROW_SKIP;
			}
			/* blocks in most worlds: the count must not change with them */
			blocks[r] =
			    world % 8 == 7 ? NULL : calloc(MATCHING_BLOCKS(m), sizeof(**blocks));
			runs[r] = (struct matching_run){cands[r], rows[r], m, blocks[r]};
			n += m;
		}
		all = calloc(n, sizeof(*all));
		n = 0;
		for (size_t r = 0; r < n_runs; r++)
			for (size_t i = 0; i < runs[r].n; i++, n++)
				all[n] = rows[r][i].flags & MATCHING_ROW_SKIP ? NULL : cands[r][i];

		struct matching_listing subj = world_listing(&x, skind, "lst_subject", mats[0]);
		if (calm && skind == LISTING_NEED) {
			subj.needed_by_ms = NOW + 60 * DAY;
			if (xorshift(&x) % 2)
				subj.max_distance_km = 0;
		}
		if (world % 7 == 3) {
			subj.lon_udeg = LON0;
			subj.has_location = 1;
		}
		subj.remaining = 1 + (int64_t)(xorshift(&x) % 60000);
		if (skind == LISTING_OFFER)
			subj.price_vnd =
			    (1500 + (int64_t)(xorshift(&x) % 2000)) * subj.price_factor;
		else if (xorshift(&x) % 2)
			subj.price_vnd = 0;
		size_t max_out = xorshift(&x) % 3 == 0 ? 40 : 5;
		if (world % 3 == 2) {
			/*
			 * Exactly as many ranks as the bound vouches for, each
			 * candidate taken whole: a bound that pruned one of them
			 * would show here, not be planned again.
			 */
			max_out = MATCHING_PRUNE_KEEP;
			subj.remaining = UNITS_MAX_BASE;
		}
		struct matching_alloc full[40], fast[40];
		size_t considered = 0;
		size_t kf = matching_plan(&subj, all, n, NOW, RATE, full, max_out, NULL);
		size_t kp =
		    matching_plan_runs(&subj, runs, n_runs, NOW, RATE, fast, max_out, &considered);
		assert_int_equal(kf, kp);
		assert_same_allocs(full, fast, kf);
		/* again, with the blocks the first plan made */
		kp = matching_plan_runs(&subj, runs, n_runs, NOW, RATE, fast, max_out, NULL);
		assert_int_equal(kf, kp);
		assert_same_allocs(full, fast, kf);
		/*
		 * Then change some rows as the index does (a remaining, a skip
		 * mark), marking their blocks stale, and plan again.
		 */
		for (size_t r = 0; r < n_runs; r++)
			for (size_t i = 0; i < runs[r].n; i++) {
				if (xorshift(&x) % 10 != 0)
					continue;
				struct matching_listing *l =
				    (struct matching_listing *)(uintptr_t)cands[r][i];
				if (xorshift(&x) % 2) {
					l->remaining = l->remaining / 2;
					matching_row_set_remaining(&rows[r][i], l->remaining);
				} else {
					rows[r][i].flags ^= MATCHING_ROW_SKIP;
				}
				matching_blocks_stale(blocks[r], i, i + 1);
			}
		n = 0;
		for (size_t r = 0; r < n_runs; r++)
			for (size_t i = 0; i < runs[r].n; i++, n++)
				all[n] = rows[r][i].flags & MATCHING_ROW_SKIP ? NULL : cands[r][i];
		kf = matching_plan(&subj, all, n, NOW, RATE, full, max_out, NULL);
		kp = matching_plan_runs(&subj, runs, n_runs, NOW, RATE, fast, max_out, NULL);
		assert_int_equal(kf, kp);
		assert_same_allocs(full, fast, kf);
		for (size_t r = 0; r < n_runs; r++)
			for (size_t b = 0; blocks[r] && b < MATCHING_BLOCKS(runs[r].n); b++)
				blocked |= calm && blocks[r][b].valid;

		/* what the world exercised */
		if (kf > 0 && considered < full[0].compatible)
			pruned[skind == LISTING_OFFER] = 1;
		for (size_t i = 0; i < kf; i++)
			by_rep |= full[i].by_reputation;
		if (kf > 0 && full[kf - 1].rank > MATCHING_PRUNE_KEEP)
			deep = 1; /* past the bound's ranks: planned again */
		for (size_t i = 0; n_runs >= 2 && i < kf; i++)
			merged |= full[i].index >= runs[0].n; /* from a later run */
		if (skind == LISTING_OFFER && kf > 0) {
			/* needs whose maximum is below the offer's price: the scan stops */
			for (size_t i = 0; i < runs[0].n; i++)
				if (matching_row_key(cands[0][i]) < matching_price_micro(&subj))
					stopped = 1;
		}
		free(all);
		for (size_t r = 0; r < n_runs; r++) {
			free(ls[r]);
			free(cands[r]);
			free(rows[r]);
			free(blocks[r]);
		}
	}
	/* the worlds do exercise every fast path */
	assert_true(pruned[0]);
	assert_true(pruned[1]);
	assert_true(stopped);
	assert_true(merged);
	assert_true(deep);
	assert_true(by_rep);  /* reputation broke ties */
	assert_true(blocked); /* calm worlds' plans counted by blocks */
}

/*
 * A need's plan counts the offers past its bound by blocks: a block made
 * by one plan stands for its rows in the next, so a row changed without
 * marking its block stale is not seen (what the index must never do), and
 * once marked it is, and the count is the full plan's again.
 */
static void test_blocks_stand_for_their_rows(void **state)
{
	(void)state;
	enum { N = 200 };
	static struct matching_listing ls[N];
	const struct matching_listing *cands[N];
	struct matching_row rows[N];
	struct matching_block blocks[MATCHING_BLOCKS(N)];
	char id[32];

	memset(blocks, 0, sizeof(blocks));
	for (size_t i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "lst_o%zu", i);
		/* dearer by 100 VND/kg each: the bound is full after the first few */
		ls[i] = offer(id, 1000, 1000 + 100 * (int64_t)i, 1);
		if (i % 7 == 3)
			ls[i].max_distance_km = 500; /* limited rows, measured */
		if (i % 5 == 1)
			ls[i].min_order_base = 600; /* above a small need's quantity */
		cands[i] = &ls[i];
		matching_row_fill(&rows[i], &ls[i]);
	}
	struct matching_run run = {cands, rows, N, blocks};
	struct matching_listing n = need("lst_n", 100000);
	struct matching_alloc out[5], full[5];

	assert_int_equal(matching_plan(&n, cands, N, NOW, RATE, full, 5, NULL), 5);
	assert_int_equal(matching_plan_runs(&n, &run, 1, NOW, RATE, out, 5, NULL), 5);
	assert_same_allocs(full, out, 5);
	assert_int_equal(out[0].compatible, N);
	assert_true(blocks[MATCHING_BLOCKS(N) - 1].valid);

	/* a small need: the minimum orders refuse a fifth, counted per block */
	n.remaining = 500;
	assert_int_equal(matching_plan(&n, cands, N, NOW, RATE, full, 5, NULL), 1);
	assert_int_equal(matching_plan_runs(&n, &run, 1, NOW, RATE, out, 5, NULL), 1);
	assert_same_allocs(full, out, 1);
	assert_int_equal(out[0].compatible, N - N / 5);
	n.remaining = 100000;

	/* row 152 empties behind its block's back: the block still counts it */
	ls[152].remaining = 0;
	matching_row_set_remaining(&rows[152], 0);
	assert_int_equal(matching_plan_runs(&n, &run, 1, NOW, RATE, out, 5, NULL), 5);
	assert_int_equal(out[0].compatible, N);
	/* marked stale, it is read again: the full plan's count */
	matching_blocks_stale(blocks, 152, 153);
	assert_int_equal(matching_plan(&n, cands, N, NOW, RATE, full, 5, NULL), 5);
	assert_int_equal(matching_plan_runs(&n, &run, 1, NOW, RATE, out, 5, NULL), 5);
	assert_same_allocs(full, out, 5);
	assert_int_equal(out[0].compatible, N - 1);
}

/* A row is what the plan reads of its listing, and keys order the runs. */
static void test_rows(void **state)
{
	(void)state;
	struct matching_listing o = offer("lst_o", 5000, 2000000, 1000);
	struct matching_listing n = need("lst_n", 100);
	struct matching_row r;

	o.available_until_ms = 0;
	matching_row_fill(&r, &o);
	assert_int_equal(r.key, matching_price_micro(&o));
	assert_int_equal(r.key, 2000000000);
	assert_int_equal(r.until_ms, INT64_MAX); /* open-ended */
	assert_int_equal(r.from_ms, o.available_from_ms);
	assert_int_equal(r.remaining, 5000);
	assert_int_equal(r.lat_udeg, LAT0);
	o.has_location = 0;
	matching_row_fill(&r, &o);
	assert_int_equal(r.lat_udeg, provinces_find("HN")->lat_udeg);
	assert_int_equal(matching_row_key(&n), INT64_MAX); /* no maximum */
	n.price_vnd = 1500;
	n.price_factor = 1000;
	assert_int_equal(matching_row_key(&n), 1500000);
	n.price_factor = 7; /* floored */
	assert_int_equal(matching_row_key(&n), 214285714);

	/*
	 * Keys equal once floored, prices not: 1 VND per 3 kg is 333,333.33
	 * micro-VND per kg, above a maximum of 333,333 VND per tonne. The runs
	 * plan asks the listings, as the full plan does, both ways round.
	 */
	struct matching_listing o3 = offer("lst_o3", 5000, 1, 3);
	struct matching_listing n3 = need("lst_n3", 100);
	n3.price_vnd = 333333;
	n3.price_factor = 1000000;
	assert_int_equal(matching_row_key(&o3), matching_row_key(&n3));
	const struct matching_listing *oc[] = {&o3}, *nc[] = {&n3};
	struct matching_row orow, nrow;
	matching_row_fill(&orow, &o3);
	matching_row_fill(&nrow, &n3);
	struct matching_run orun = {oc, &orow, 1, NULL}, nrun = {nc, &nrow, 1, NULL};
	struct matching_alloc out[1];
	assert_int_equal(matching_plan(&n3, oc, 1, NOW, RATE, out, 1, NULL), 0);
	assert_int_equal(matching_plan_runs(&n3, &orun, 1, NOW, RATE, out, 1, NULL), 0);
	assert_int_equal(matching_plan(&o3, nc, 1, NOW, RATE, out, 1, NULL), 0);
	assert_int_equal(matching_plan_runs(&o3, &nrun, 1, NOW, RATE, out, 1, NULL), 0);
	n3.price_vnd = 333334; /* now above the offer's price: both plan it */
	matching_row_fill(&nrow, &n3);
	assert_int_equal(matching_plan_runs(&o3, &nrun, 1, NOW, RATE, out, 1, NULL), 1);
	assert_int_equal(matching_plan_runs(&n3, &orun, 1, NOW, RATE, out, 1, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_runs_same_allocations),
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_blocks_stand_for_their_rows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
