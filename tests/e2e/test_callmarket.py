"""
e2e: the engine as a call market (--call-interval N > 0) beside the
continuous engine (the default), on the same listings.

Two books where first come, first served does worse than an optimal
allocation:
- kaolin (the issue's case): a 40 tấn need, then a dearer 40 tấn offer,
  then a cheaper one. Continuous: the dearer offer, posted first, gets the
  whole need. Call market: the cheaper one.
- sedge: need N1 (no distance limit), offer A (same province), need N2
  (at most 50 km: only A is near enough), offer B (Lào Cai, far). Continuous:
  A goes to N1 and nothing else can be matched (40 tấn). Call market: N1 <- B
  and N2 <- A (80 tấn, every listing filled).

Proves:
- continuous mode (no --call-interval) behaves as before: the greedy
  allocations above, proposal by proposal as the listings come;
- a call market engine started on the same book (posted through an
  --role api daemon while no engine ran, so the first round sees all of
  it) proposes the optimal allocations: the cheaper kaolin, both sedge
  pairs, each quantity whole, the explanation's landed total the one
  recomputed here from its unit price and freight; a listing posted while
  it runs is proposed in a later round; the round metrics move
  (craftmatch_callmarket_rounds_total, _proposals_total, _refused_total
  0, round and solve histograms) and the continuous engine's own
  proposal counter does not;
- two call market engines on one Redis take turns through
  cm:engine:callmarket: one runs every round, the other skips, and no
  proposal is made twice or refused.
"""
import re
import time
import unittest

import fixtures
import harness

WAIT = 30.0


class Book:
    """The two books, posted in the order that makes greedy go wrong."""

    def __init__(self, t, live=False):
        """live: a continuous engine runs; each later listing is posted once the
        engine has proposed for the earlier ones ("a little later"), so that
        the order is the one the engine saw."""
        self.t = t
        village = lambda: t.party("village", "HN")
        supplier = lambda p: t.party("supplier", p)
        settle = (lambda need: t.wait_for_matches(need["id"], 1, timeout=WAIT)) if live else (
            lambda need: None)
        # kaolin: the need, the dearer offer, then the cheaper one
        self.kaolin_need = t.need(village(), "kaolin", 40)
        self.kaolin_dear = t.offer(supplier("HP"), "kaolin", 40, 2300000)
        settle(self.kaolin_need)
        self.kaolin_cheap = t.offer(supplier("HP"), "kaolin", 40, 2100000)
        # sedge: N1, A (near both), N2 (A only), B (far: N1 only)
        self.n1 = t.need(village(), "sedge", 40)
        self.a = t.offer(supplier("HN"), "sedge", 40, 1200000, province="HN")
        settle(self.n1)
        self.n2 = t.need(village(), "sedge", 40, max_distance_km=50)
        self.b = t.offer(supplier("LCI"), "sedge", 40, 1100000, province="LCI")


class CallMarketTest(fixtures.MatchHelpers, harness.TestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.admin = fixtures.bootstrap_admin(self.redis)
        self.rc = self.redis.client()

    def use(self, daemon):
        self.api = fixtures.Api(daemon)

    def pairs(self):
        """{(need id, offer id): quantity in base units} of every match in Redis."""
        return {(m["need"], m["offer"]): int(m["quantity"])
                for m in fixtures.stored_matches(self.rc).values()}

    def test_continuous_is_first_come_first_served(self):
        d = self.start_daemon(self.redis)
        self.use(d)
        book = Book(self, live=True)
        fixtures.wait_engine_idle(self.rc, [d])
        self.maxDiff = None
        names = {v["id"]: k for k, v in vars(book).items() if isinstance(v, dict)}
        self.assertEqual({(names[n], names[o]): q for (n, o), q in self.pairs().items()}, {
            ("kaolin_need", "kaolin_dear"): 40000, ("n1", "a"): 40000})
        self.assertEqual(self.pairs(), {
            (book.kaolin_need["id"], book.kaolin_dear["id"]): 40000,
            (book.n1["id"], book.a["id"]): 40000,
        })
        self.assertEqual(self.remaining(book.n2["id"]), 40000)
        self.assertEqual(self.remaining(book.b["id"]), 40000)
        m = d.metrics()
        self.assertFalse(any(n.startswith("craftmatch_callmarket") for n in m.families),
                         "a continuous engine exposes call market metrics")

    def test_call_market_allocates_optimally(self):
        api_d = self.start_daemon(self.redis, "--role", "api")
        self.use(api_d)
        book = Book(self)
        self.assertEqual(self.pairs(), {})

        e = self.start_daemon(self.redis, "--role", "engine", "--call-interval", "1")
        expected = {
            (book.kaolin_need["id"], book.kaolin_cheap["id"]): 40000,
            (book.n1["id"], book.b["id"]): 40000,
            (book.n2["id"], book.a["id"]): 40000,
        }
        harness.wait_for(lambda: self.pairs() == expected, WAIT, interval=0.1,
                         message="the optimal proposals (have %r)" % (self.pairs(),))
        for lid in (book.kaolin_need, book.kaolin_cheap, book.n1, book.n2, book.a, book.b):
            self.assertEqual(self.remaining(lid["id"]), 0)
        self.assertEqual(self.remaining(book.kaolin_dear["id"]), 40000)

        # what the moderator reads: a proposed match, its landed cost explained
        mod = self.moderator(provinces=["HN"])
        (m,) = self.matches_of(book.kaolin_need["id"], actor=mod)
        self.assertEqual(m["state"], "proposed")
        ex = m["explain"]
        self.assertEqual(ex["quantity_base"], 40000)
        self.assertEqual(ex["landed"]["total_vnd"],
                         ex["goods_total_vnd"] + ex["freight"]["total_vnd"])
        self.assertEqual(ex["goods_total_vnd"], 40 * 2100000)

        # a listing posted while the market runs waits for a round, then gets
        # what is left: the dearer kaolin
        village = self.party("village", "HN")
        late = self.need(village, "kaolin", 10)
        items = self.wait_for_matches(late["id"], 1, timeout=WAIT)
        self.assertEqual(items[0]["offer"]["id"], book.kaolin_dear["id"])
        self.assertEqual(items[0]["quantity"]["base"], 10000)

        mt = e.metrics()
        self.assertGreaterEqual(mt.value("craftmatch_callmarket_rounds_total"), 2)
        self.assertEqual(mt.value("craftmatch_callmarket_proposals_total"), 4)
        self.assertEqual(mt.value("craftmatch_callmarket_refused_total"), 0)
        self.assertGreaterEqual(mt.value("craftmatch_callmarket_round_seconds_count"), 2)
        self.assertGreaterEqual(mt.value("craftmatch_callmarket_solve_cpu_seconds_count"), 2)
        self.assertEqual(mt.value("craftmatch_engine_proposals_total"), 0)
        self.assertEqual(mt.value("craftmatch_engine_queue"), 0)

    def test_one_node_runs_the_rounds(self):
        api_d = self.start_daemon(self.redis, "--role", "api")
        self.use(api_d)
        e1 = self.start_daemon(self.redis, "--role", "engine", "--call-interval", "1")
        harness.wait_for(lambda: e1.metric("craftmatch_callmarket_rounds_total", 0) >= 1, WAIT,
                         message="a first round")
        e2 = self.start_daemon(self.redis, "--role", "engine", "--call-interval", "1")
        book = Book(self)
        harness.wait_for(lambda: len(self.pairs()) == 3, WAIT, interval=0.1,
                         message="the optimal proposals (have %r)" % (self.pairs(),))
        # the turn outlives a few more ticks of both
        before = e2.metric("craftmatch_callmarket_skipped_total", 0)
        harness.wait_for(lambda: e2.metric("craftmatch_callmarket_skipped_total", 0) >= before + 2,
                         WAIT, message="the second node skipping")
        node = re.search(r"call market.*node=(node_\w+)", e1.log_text()).group(1)
        self.assertEqual(self.rc.execute("GET", "cm:engine:callmarket"), node)
        self.assertEqual(e2.metric("craftmatch_callmarket_rounds_total"), 0)
        self.assertEqual(e1.metric("craftmatch_callmarket_proposals_total"), 3)
        for d in (e1, e2):
            self.assertEqual(d.metric("craftmatch_callmarket_refused_total"), 0)
        self.assertEqual(len(fixtures.stored_matches(self.rc)), 3)
        self.assertEqual(book.kaolin_cheap["id"], next(
            o for (n, o) in self.pairs() if n == book.kaolin_need["id"]))


class CallIntervalConfigTest(harness.TestCase):

    def test_bad_interval_is_refused(self):
        for bad in ("-1", "86401", "x"):
            p = harness.run_craftmatchd("--call-interval", bad)
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn("--call-interval", p.stderr)

    def test_help_says_the_mode(self):
        p = harness.run_craftmatchd("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("--call-interval", p.stdout)
        self.assertIn("call market", p.stdout)


if __name__ == "__main__":
    harness.main()
