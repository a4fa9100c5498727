"""
e2e: the matching engine — hard filters, landed-cost ranking with freight,
the split allocation, the index rebuilt after a restart, and its metrics.

Proves:
- Hard filters, end to end (offers posted first, then one need): of eleven
  kaolin/white-clay offers only the three that pass every filter are
  proposed — grade below the need's minimum, a price above the need's
  maximum when the two are quoted per kg, per tạ and per tấn (equal passes,
  1 VND more per unit does not), available only after the need's deadline,
  beyond the need's maximum distance, beyond the offer's own maximum
  distance, a minimum order above the whole need, and a substitute the need
  did not accept are all left untouched; the explanation counts 3
  candidates and ranks them by landed cost. A need that accepts
  substitutes gets the white clay; substitutes are one-way where the table
  says so (cattle horn may replace buffalo horn, not the other way round).
- The greedy split honours minimum orders: need 12 tấn, A 10 tấn cheapest,
  B (minimum 5 tấn) next, C last → A 10 tấn, B skipped, C 2 tấn (rank 3).
- Landed cost with freight: a cheaper offer 330 km away loses to a dearer
  one 20 km away (distances from coordinates, checked against the same
  great-circle × 1.3 computed here); with --freight-rate 0 the far one wins.
- Restart: listings posted through an --role api daemon while no engine
  runs get no proposal; an engine started afterwards rebuilds its index
  from Redis (an offer it never saw an event for is matched), follows
  cm:events from the persisted cursor cm:engine:cursor and moves it on.
- The engine's entries (cm:eng:<kind>:<material>, what a restarting engine
  reads) say each open listing's remaining, version and seq through a
  proposal, a rejection, a PATCH and a close, which removes the entry.
  Nothing converts data in a layout no release wrote: no backfill function,
  no marker, and an entry without an engine record is skipped.
- Metrics: craftmatch_engine_proposals_total moves by the number of
  proposals, craftmatch_engine_event_to_proposal_seconds_count by at least
  one per round, runs and events applied move, the queue drains to 0, and
  an --role api daemon exposes no engine metrics.

- A PATCH that makes a pair compatible (a lower asking price, a higher
  maximum, quoted in another unit) gets it proposed.
- Re-matching strands no stock: a 6 tấn need split 5 + 1 whose 5 tấn
  supplier declines gets the rest from the 1 tấn supplier, which still had
  2; the declined pair is not proposed again until one side PATCHes its
  listing, and then is proposed what is left (cm:pairs:failed).

Known server bugs kept as expected failures (see the tests' comments):
- a need whose quantity came back while no engine ran is never re-matched
  after the engine starts;
- new stock on an offer (PATCH quantity up) is offered again only to the
  need it was already paired with, refused, and never reaches another need;
- the engine's index subtracts each proposal twice (event, then reply), so
  the next need gets less than what is left.
"""
import time
import unittest

import fixtures
import harness
import streams

DELETE = fixtures.DELETE
WAIT = 30.0  # functional deadline for proposals

BAT_TRANG = {"lat": 20.9755, "lon": 105.9116}
HN_WEST = {"lat": 21.05, "lon": 105.80}       # Hà Nội, ~20 road km from Bát Tràng
LAO_CAI_CITY = {"lat": 22.4856, "lon": 103.9707}  # ~340 road km from Bát Tràng
HN_HP_KM = fixtures.geo_road_km(21028000, 105854000, 20860000, 106680000)


def road_km(a, b):
    return fixtures.geo_road_km(fixtures.udeg(a["lat"]), fixtures.udeg(a["lon"]),
                                fixtures.udeg(b["lat"]), fixtures.udeg(b["lon"]))


class EngineFiltersTest(fixtures.MatchHelpers, fixtures.ApiTestCase):
    """One daemon; each test its own materials."""

    def settle(self):
        return fixtures.wait_engine_idle(self.rc, [self.daemon])

    def test_hard_filters(self):
        village = self.party("village", "HN")
        s1, s2 = self.party("supplier", "HP"), self.party("supplier", "HP")
        needed_by = fixtures.vn_date(30)
        mk = lambda s, **f: self.offer(s, f.pop("material", "kaolin"), f.pop("qty", 10),
                                       f.pop("price", 1000000), **f)
        passing = {
            "grade A, 1 700 000/tấn": mk(s1, price=1700000),
            "grade B, 180 000/tạ = the maximum": mk(s2, grade="B", price=180000,
                                                     price_unit="ta"),
            "grade B, 1 790/kg": mk(s1, grade="B", price=1790, price_unit="kg"),
        }
        failing = {
            "grade C": mk(s2, grade="C"),
            "1 801/kg": mk(s1, price=1801, price_unit="kg"),
            "180 001/tạ": mk(s2, price=180001, price_unit="ta"),
            "available after the deadline": mk(s1, available_from=fixtures.vn_date(31),
                                               available_until=fixtures.vn_date(90)),
            "beyond the need's 300 km": mk(s2, province="HCM"),
            "beyond the offer's own 50 km": mk(s1, max_distance_km=50),
            "minimum order above the need": mk(s2, qty=300, min_order="250"),
            "white clay, substitutes not accepted": mk(s1, material="white_clay"),
        }
        need = self.need(village, "kaolin", 200, grade="B", price_vnd=1800000,
                         price_unit="tan", needed_by=needed_by, max_distance_km=300,
                         accept_substitutes=False)
        items = self.wait_for_matches(need["id"], 3)
        self.settle()
        items = self.matches_of(need["id"])
        got = self.by_offer(items)
        names = {o["id"]: k for k, o in dict(passing, **failing).items()}
        self.assertEqual(sorted(names[i] for i in got), sorted(passing),
                         "offers proposed for the need")
        for name, o in failing.items():
            self.assertEqual(self.matches_of(o["id"]), [], name)
            self.assertEqual(self.remaining(o["id"]), o["quantity"]["base"], name)
        ranked = sorted(items, key=lambda m: m["explain"]["rank"])
        self.assertEqual([names[m["offer"]["id"]] for m in ranked],
                         ["grade A, 1 700 000/tấn", "grade B, 1 790/kg",
                          "grade B, 180 000/tạ = the maximum"])
        for m, (vnd, factor) in zip(ranked, ((1700000, 1000), (1790, 1), (180000, 100))):
            self.assertEqual(m["quantity"]["base"], 10000)
            self.assertEqual(m["explain"]["candidates"], 3)
            self.assertIs(m["explain"]["substitute"], False)
            fixtures.check_explain_numbers(self, m["explain"], 10000, vnd, factor, HN_HP_KM)
        self.assertEqual(self.remaining(need["id"]), 170000)

        # a need that accepts substitutes takes the white clay, and only that
        need2 = self.need(village, "kaolin", 5, grade="B", price_vnd=1800000, price_unit="tan",
                          needed_by=needed_by, max_distance_km=300, accept_substitutes=True)
        (m,) = self.wait_for_matches(need2["id"], 1)
        self.settle()
        self.assertEqual(len(self.matches_of(need2["id"])), 1)
        wc = failing["white clay, substitutes not accepted"]
        self.assertEqual(m["offer"]["id"], wc["id"])
        self.assertEqual(m["material"]["code"], "white_clay")
        self.assertIs(m["explain"]["substitute"], True)
        self.assertEqual(m["explain"]["need_material"], "kaolin")
        self.assertEqual(m["quantity"]["base"], 5000)
        self.assertEqual(m["explain"]["candidates"], 1)
        for name, o in failing.items():
            if o is not wc:
                self.assertEqual(self.matches_of(o["id"]), [], name)

    def test_substitutes_one_way(self):
        # materials: cattle_horn lists buffalo_horn as a substitute; buffalo_horn lists none
        mats = self.api.materials()
        self.assertIn("buffalo_horn", mats["cattle_horn"]["substitutes"])
        self.assertNotIn("cattle_horn", mats["buffalo_horn"]["substitutes"])
        village, supplier = self.party("village", "HN"), self.party("supplier", "HP")
        cattle = self.offer(supplier, "cattle_horn", 1, 30000000)
        buffalo_need = self.need(village, "buffalo_horn", 1, accept_substitutes=True)
        self.settle()
        self.assertEqual(self.matches_of(buffalo_need["id"]), [],
                         "cattle horn offered for a buffalo-horn need")
        for lst, who in ((cattle, supplier), (buffalo_need, village)):
            self.assertStatus(self.api.call(who, "DELETE", "/v1/listings/" + lst["id"]), 200)
        buffalo = self.offer(supplier, "buffalo_horn", 1, 30000000)
        cattle_need = self.need(village, "cattle_horn", 1, accept_substitutes=True)
        (m,) = self.wait_for_matches(cattle_need["id"], 1)
        self.assertEqual(m["offer"]["id"], buffalo["id"])
        self.assertIs(m["explain"]["substitute"], True)
        self.assertEqual(m["explain"]["need_material"], "cattle_horn")

    def test_minimum_order_in_the_split(self):
        village = self.party("village", "HN")
        sa, sb, sc = (self.party("supplier", "HP") for _ in range(3))
        a = self.offer(sa, "tin", 10, 150000000)
        b = self.offer(sb, "tin", 20, 155000000, min_order="5")
        c = self.offer(sc, "tin", 20, 160000000)
        before = self.daemon.metrics()
        need = self.need(village, "tin", 12)
        self.wait_for_matches(need["id"], 2)
        self.settle()
        got = self.by_offer(self.matches_of(need["id"]))
        self.assertEqual(sorted(got), sorted([a["id"], c["id"]]))
        self.assertEqual(got[a["id"]]["quantity"]["base"], 10000)
        self.assertEqual(got[c["id"]]["quantity"]["base"], 2000)
        self.assertEqual(got[a["id"]]["explain"]["rank"], 1)
        self.assertEqual(got[c["id"]]["explain"]["rank"], 3)
        self.assertEqual(got[c["id"]]["explain"]["candidates"], 3)
        self.assertEqual(self.remaining(b["id"]), 20000)
        self.assertEqual(self.remaining(c["id"]), 18000)
        self.assertEqual(self.remaining(need["id"]), 0)

        # metrics moved with it
        after = self.daemon.metrics()
        delta = lambda name: after.value(name) - before.value(name)
        self.assertEqual(delta("craftmatch_engine_proposals_total"), 2)
        self.assertGreaterEqual(delta("craftmatch_engine_event_to_proposal_seconds_count"), 1)
        self.assertGreater(delta("craftmatch_engine_event_to_proposal_seconds_sum"), 0)
        self.assertGreaterEqual(delta("craftmatch_engine_runs_total"), 1)
        self.assertGreaterEqual(delta("craftmatch_engine_events_total"), 3)  # need + 2 proposals
        self.assertGreaterEqual(delta("craftmatch_engine_plan_cpu_seconds_count"), 1)
        self.assertEqual(after.value("craftmatch_engine_queue"), 0)
        self.assertEqual(after.value("craftmatch_engine_ready"), 1)
        self.assertEqual(after.type_of("craftmatch_engine_proposals_total"), "counter")
        self.assertEqual(after.type_of("craftmatch_engine_event_to_proposal_seconds"),
                         "histogram")
        open_listings = self.rc.execute("ZCARD", "cm:listings:status:open")
        self.assertEqual(after.value("craftmatch_engine_listings"), open_listings)

    def test_a_patch_that_makes_a_pair_compatible_matches_it(self):
        village, supplier = self.party("village", "HN"), self.party("supplier", "HP")
        offer = self.offer(supplier, "feldspar", 10, 1600000)
        need = self.need(village, "feldspar", 4, price_vnd=1500000, price_unit="tan")
        self.settle()
        self.assertEqual(self.matches_of(need["id"]), [], "price above the need's maximum")
        # the supplier lowers its price (quoted per kg now): the engine re-plans
        resp = self.api.call(supplier, "PATCH", "/v1/listings/" + offer["id"],
                             {"price_vnd": 1450, "price_unit": "kg"})
        self.assertStatus(resp, 200)
        (m,) = self.wait_for_matches(need["id"], 1)
        self.assertEqual(m["quantity"]["base"], 4000)
        fixtures.check_explain_numbers(self, m["explain"], 4000, 1450, 1, HN_HP_KM)
        self.assertEqual(self.remaining(offer["id"]), 6000)
        # and a need raising its maximum is re-planned the same way (a fresh
        # offer: see test_second_need_gets_what_is_left for why)
        offer2 = self.offer(supplier, "glaze_ash", 10, 1450000)
        need2 = self.need(village, "glaze_ash", 3, price_vnd=1400000, price_unit="tan")
        self.settle()
        self.assertEqual(self.matches_of(need2["id"]), [])
        resp = self.api.call(village, "PATCH", "/v1/listings/" + need2["id"],
                             {"price_vnd": 14600, "price_unit": "yen"})  # 1 460 000/tấn
        self.assertStatus(resp, 200)
        (m2,) = self.wait_for_matches(need2["id"], 1)
        self.assertEqual((m2["offer"]["id"], m2["quantity"]["base"]), (offer2["id"], 3000))
        self.assertEqual(self.remaining(offer2["id"]), 7000)

    def test_second_need_gets_what_is_left(self):
        village, supplier = self.party("village", "HN"), self.party("supplier", "HP")
        for material in ("bronze_scrap", "incense_sticks", "shell_abalone"):
            offer = self.offer(supplier, material, 10, 1600000)
            first = self.need(village, material, 4)
            self.wait_for_matches(first["id"], 1)
            self.settle()
            second = self.need(village, material, 3)
            (m,) = self.wait_for_matches(second["id"], 1)
            self.settle()
            self.assertEqual(m["quantity"]["base"], 3000,
                             "%s: the second need got %d of the 6000 left" % (
                                 material, m["quantity"]["base"]))
            self.assertEqual(self.remaining(offer["id"]), 3000)

    def test_new_stock_goes_to_another_need(self):
        village_near, village_far = self.party("village", "HP"), self.party("village", "HN")
        supplier = self.party("supplier", "HP")
        offer = self.offer(supplier, "brass", 5, 150000000)
        # the near need takes all 5 tấn and is covered (were it not, the new
        # stock would go to it first: nearer, and its pair may be matched again)
        near = self.need(village_near, "brass", 5, province="HP")
        (m,) = self.wait_for_matches(near["id"], 1)
        self.assertEqual(m["quantity"]["base"], 5000)
        far = self.need(village_far, "brass", 12)
        self.settle()
        self.assertEqual(self.matches_of(far["id"]), [])  # nothing left to give
        resp = self.api.call(supplier, "PATCH", "/v1/listings/" + offer["id"],
                             {"quantity": "15", "unit": "tan"})
        self.assertStatus(resp, 200)
        self.assertEqual(resp[2]["remaining"]["base"], 10000)
        self.settle()
        got = self.matches_of(far["id"])
        self.assertEqual(len(got), 1, "the new 10 tấn went to no one")
        self.assertEqual(got[0]["quantity"]["base"], 10000)

    def test_a_failed_share_goes_to_the_offer_already_matched(self):
        # Need 6 tấn: A has 5 (cheapest), B 3 (dearer) → A 5, B 1. A's
        # supplier declines: the 5 tấn come back, and B, which still has 2,
        # must be proposed them, though B and the need are matched already.
        village = self.party("village", "HN")
        sa, sb = self.party("supplier", "HP"), self.party("supplier", "HP")
        oa = self.offer(sa, "copper", 5, 150000000)
        ob = self.offer(sb, "copper", 3, 160000000)
        need = self.need(village, "copper", 6)
        ms = self.by_offer(self.wait_for_matches(need["id"], 2))
        ma, mb1 = ms[oa["id"]], ms[ob["id"]]
        self.assertEqual((ma["quantity"]["base"], mb1["quantity"]["base"]), (5000, 1000))
        self.settle()
        self.act_ok(self.admin, ma["id"], "approve")
        self.act_ok(sa, ma["id"], "decline", {"reason": "Hết hàng"})
        items = self.wait_for_matches(need["id"], 3)
        (mb2,) = [m for m in items if m["id"] not in (ma["id"], mb1["id"])]
        self.assertEqual((mb2["offer"]["id"], mb2["quantity"]["base"], mb2["state"]),
                         (ob["id"], 2000, "proposed"))
        self.assertEqual(mb2["explain"]["candidates"], 1, "the declined offer is no candidate")
        self.settle()
        # the failed pair waits: A still has its 5 tấn, the need 3 tấn left
        self.assertEqual(len(self.matches_of(need["id"])), 3)
        self.assertEqual((self.remaining(need["id"]), self.remaining(oa["id"]),
                          self.remaining(ob["id"])), (3000, 5000, 0))
        self.assertEqual(fixtures.failed_pairs(self.rc).get((need["id"], oa["id"])), (1, 1))
        # ... until A changes its listing: then it is proposed what is left
        self.assertStatus(self.api.call(sa, "PATCH", "/v1/listings/" + oa["id"],
                                        {"note": "Có hàng lại"}), 200)
        items = self.wait_for_matches(need["id"], 4)
        (ma2,) = [m for m in items if m["id"] not in (ma["id"], mb1["id"], mb2["id"])]
        self.assertEqual((ma2["offer"]["id"], ma2["quantity"]["base"]), (oa["id"], 3000))
        self.settle()
        self.assertEqual(self.remaining(need["id"]), 0)
        self.assertNotIn((need["id"], oa["id"]), fixtures.failed_pairs(self.rc))

    def test_a_failed_pair_waits_for_either_side_to_change(self):
        # rejected: not proposed again while neither changes; a PATCH of the
        # need (not the offer) lifts it as well
        village, supplier = self.party("village", "HN"), self.party("supplier", "HP")
        offer = self.offer(supplier, "quartz_sand", 10, 1600000)
        need = self.need(village, "quartz_sand", 4)
        (m,) = self.wait_for_matches(need["id"], 1)
        self.act_ok(self.admin, m["id"], "reject", {"reason": "Chưa rõ nguồn gốc"})
        self.settle()
        self.assertEqual(len(self.matches_of(need["id"])), 1)
        self.assertEqual(self.remaining(need["id"]), 4000)
        self.assertEqual(fixtures.failed_pairs(self.rc)[(need["id"], offer["id"])], (1, 1))
        self.assertStatus(self.api.call(village, "PATCH", "/v1/listings/" + need["id"],
                                        {"note": "Đã bổ sung giấy tờ"}), 200)
        items = self.wait_for_matches(need["id"], 2)
        self.assertEqual(sorted((x["offer"]["id"], x["quantity"]["base"], x["state"])
                                for x in items),
                         [(offer["id"], 4000, "proposed"), (offer["id"], 4000, "rejected")])

    def test_same_province_without_coordinates(self):
        # both at the Hà Nội centre: the 30 km intra-province floor, not 0 km
        village, supplier = self.party("village", "HN"), self.party("supplier", "HN")
        self.offer(supplier, "do_bark", 2, 20000000, province="HN")
        need = self.need(village, "do_bark", 1)
        (m,) = self.wait_for_matches(need["id"], 1)
        self.assertEqual(m["explain"]["distance_from"], "intra-province minimum")
        fixtures.check_explain_numbers(self, m["explain"], 1000, 20000000, 1000, 30)

    def test_landed_cost_beats_price(self):
        far_km, near_km = road_km(BAT_TRANG, LAO_CAI_CITY), road_km(BAT_TRANG, HN_WEST)
        self.assertGreater(far_km, 300)
        self.assertLess(near_km, 30)
        village = self.party("village", "HN")
        s_far, s_near = self.party("supplier", "LCI"), self.party("supplier", "HN")
        far = self.offer(s_far, "glaze", 10, 1500000, province="LCI", location=LAO_CAI_CITY)
        near = self.offer(s_near, "glaze", 10, 1900000, province="HN", location=HN_WEST)
        need = self.need(village, "glaze", 5, price_vnd=3000000, price_unit="tan",
                         location=BAT_TRANG)
        (m,) = self.wait_for_matches(need["id"], 1)
        self.settle()
        self.assertEqual(len(self.matches_of(need["id"])), 1)
        self.assertEqual(m["offer"]["id"], near["id"], "the dearer offer nearby wins")
        ex = m["explain"]
        self.assertEqual(ex["distance_from"], "coordinates")
        self.assertEqual((ex["rank"], ex["candidates"]), (1, 2))
        fixtures.check_explain_numbers(self, ex, 5000, 1900000, 1000, near_km)
        self.assertEqual(self.remaining(far["id"]), 10000)
        # what the far one would have cost per kg, from the same formula
        far_landed = 1500000 * 1000000 // 1000 + far_km * 1000 * 3000
        self.assertGreater(far_landed, ex["landed"]["per_base_micro_vnd"])


class FreeFreightTest(fixtures.MatchHelpers, fixtures.ApiTestCase):
    """The same two offers with --freight-rate 0: price alone decides."""

    daemon_args = ("--freight-rate", "0")

    def test_cheaper_far_offer_wins_without_freight(self):
        village = self.party("village", "HN")
        s_far, s_near = self.party("supplier", "LCI"), self.party("supplier", "HN")
        far = self.offer(s_far, "glaze", 10, 1500000, province="LCI", location=LAO_CAI_CITY)
        self.offer(s_near, "glaze", 10, 1900000, province="HN", location=HN_WEST)
        need = self.need(village, "glaze", 5, price_vnd=3000000, price_unit="tan",
                         location=BAT_TRANG)
        (m,) = self.wait_for_matches(need["id"], 1)
        self.assertEqual(m["offer"]["id"], far["id"])
        fixtures.check_explain_numbers(self, m["explain"], 5000, 1500000, 1000,
                                       road_km(BAT_TRANG, LAO_CAI_CITY), rate=0)
        self.assertEqual(m["explain"]["freight"]["total_vnd"], 0)


class EngineRestartTest(fixtures.MatchHelpers, harness.TestCase):
    """One Redis; daemons started and stopped around it."""

    def setUp(self):
        self.redis = self.start_redis()
        self.admin = fixtures.bootstrap_admin(self.redis)
        self.rc = self.redis.client()

    def use(self, daemon):
        self.api = fixtures.Api(daemon)

    def cursor(self):
        return self.rc.execute("GET", "cm:engine:cursor")

    def stop_engine(self, d):
        """Waits until the engine has saved its cursor at the log's end, then SIGTERM."""
        last = fixtures.wait_engine_idle(self.rc, [d])
        harness.wait_for(lambda: self.cursor() == last, WAIT, interval=0.1,
                         message="cm:engine:cursor at %s" % last)
        self.assertEqual(d.stop(), 0)
        return last

    def test_index_rebuilt_and_cursor_followed(self):
        e1 = self.start_daemon(self.redis)
        self.use(e1)
        mod = self.moderator(provinces=["HN"])
        village = self.party("village", "HN")
        s_old, s_new = self.party("supplier", "HP"), self.party("supplier", "HP")
        old = self.offer(s_old, "sedge", 6, 1200000)
        saved = self.stop_engine(e1)

        # no engine: an API-only daemon takes posts, nothing is proposed
        api_d = self.start_daemon(self.redis, "--role", "api")
        self.use(api_d)
        m = api_d.metrics()
        self.assertFalse(any(n.startswith("craftmatch_engine") for n in m.families),
                         "an api-only daemon exposes engine metrics")
        need = self.need(village, "sedge", 10)
        new = self.offer(s_new, "sedge", 8, 1300000)
        time.sleep(1.5)
        self.assertEqual(self.rc.execute("ZCARD", "cm:matches"), 0)
        self.assertEqual(self.cursor(), saved, "the cursor moved without an engine")
        self.assertEqual(fixtures.matches_all(self.api, mod), [])

        # an engine again: the old offer comes from the snapshot, the need and
        # the new offer from the events after the cursor
        e2 = self.start_daemon(self.redis, "--role", "engine")
        items = self.wait_for_matches(need["id"], 2, actor=mod)
        got = self.by_offer(items)
        self.assertEqual(sorted(got), sorted([old["id"], new["id"]]))
        self.assertEqual(got[old["id"]]["quantity"]["base"], 6000)  # cheaper first
        self.assertEqual(got[new["id"]]["quantity"]["base"], 4000)
        last = fixtures.wait_engine_idle(self.rc, [e2])
        harness.wait_for(lambda: self.cursor() == last, WAIT, interval=0.1,
                         message="cm:engine:cursor moved on to %s" % last)
        mt = e2.metrics()
        self.assertEqual(mt.value("craftmatch_engine_ready"), 1)
        self.assertEqual(mt.value("craftmatch_engine_listings"), 3)
        self.assertEqual(mt.value("craftmatch_engine_proposals_total"), 2)
        self.assertGreaterEqual(mt.value("craftmatch_engine_event_to_proposal_seconds_count"), 1)
        self.assertEqual(mt.value("craftmatch_engine_queue"), 0)
        # the api daemon serves what the engine proposed
        self.use(api_d)
        self.assertEqual(len(fixtures.matches_all(self.api, mod)), 2)
        self.assertEqual(self.remaining(need["id"]), 0)
        self.assertEqual(self.remaining(new["id"]), 4000)

    def test_role_all_engine_catches_up_behind_the_push_hub(self):
        # One cm:events reader per process: the hub follows the tail at once,
        # the engine joins after its snapshot from its older cursor, catches
        # up alone, then shares the live read; each sees every entry once.
        e1 = self.start_daemon(self.redis)
        self.use(e1)
        mod = self.moderator(provinces=["HN"])
        village, supplier = self.party("village", "HN"), self.party("supplier", "HP")
        saved = self.stop_engine(e1)
        api_d = self.start_daemon(self.redis, "--role", "api")
        self.use(api_d)
        need = self.need(village, "sedge", 10)
        offer = self.offer(supplier, "sedge", 8, 1300000)
        self.assertEqual(self.cursor(), saved)
        tail = fixtures.last_event_id(self.rc)

        d = self.start_daemon(self.redis)  # role all
        sub = streams.SseClient(d.port, "/v1/events", token=self.admin.token,
                                headers={"Last-Event-ID": tail})
        self.addCleanup(sub.close)
        items = self.wait_for_matches(need["id"], 1, actor=mod)
        self.assertEqual(self.by_offer(items)[offer["id"]]["quantity"]["base"], 8000)
        last = fixtures.wait_engine_idle(self.rc, [d])
        harness.wait_for(lambda: self.cursor() == last, WAIT, interval=0.1,
                         message="cm:engine:cursor moved on to %s" % last)
        sub.wait_id(last)
        admin = streams.doc_of(self.admin)
        self.assertEqual(streams.received(sub), streams.expected(self.rc, admin, tail, last))
        self.assertEqual(d.metrics().value("craftmatch_engine_proposals_total"), 1)
        # one reader of the stream for both (the second one to join, the engine unless it
        # was ready before the hub had positioned itself, catches up on a page link)
        self.assertEqual(d.log_text().count("reading cm:events"), 1, d.log_text())
        mt = d.metrics()
        self.assertEqual(mt.value("craftmatch_feed_consumers"), 3)  # engine, hub, search
        self.assertGreater(mt.value("craftmatch_feed_batches_total"), 0)

    def test_quantity_returned_while_down_is_rematched(self):
        e1 = self.start_daemon(self.redis)
        self.use(e1)
        mod = self.moderator(provinces=["HN"])
        village = self.party("village", "HN")
        sa, sb, sc = (self.party("supplier", "HP") for _ in range(3))
        a = self.offer(sa, "incense_powder", 8, 1500000)
        self.offer(sb, "incense_powder", 4, 1550000)
        c = self.offer(sc, "incense_powder", 20, 1700000)
        need = self.need(village, "incense_powder", 12)
        ma = self.by_offer(self.wait_for_matches(need["id"], 2, actor=mod))[a["id"]]
        self.stop_engine(e1)

        api_d = self.start_daemon(self.redis, "--role", "api")
        self.use(api_d)
        # closing A cancels its proposal in the same step: 8 tấn come back
        resp = self.api.call(sa, "DELETE", "/v1/listings/" + a["id"])
        self.assertEqual(resp[0], 200, resp[2])
        gone = self.api.call(mod, "GET", "/v1/matches/" + ma["id"])[2]
        self.assertEqual((gone["state"], gone["reason"]), ("cancelled", "listing_closed"))
        self.assertEqual(self.remaining(need["id"]), 8000)

        e2 = self.start_daemon(self.redis, "--role", "engine")
        harness.wait_for(lambda: e2.metric("craftmatch_engine_ready") == 1, WAIT,
                         message="engine ready")
        fixtures.wait_engine_idle(self.rc, [e2])
        got = self.by_offer(self.matches_of(need["id"]))
        self.assertIn(c["id"], got, "the need was not re-matched after the restart")
        self.assertEqual(got[c["id"]]["quantity"]["base"], 8000)

    def hash_of(self, lid):
        flat = self.rc.execute("HGETALL", "cm:listing:" + lid)
        return dict(zip(flat[0::2], flat[1::2]))

    def entry(self, h, lid):
        return self.rc.execute("HGET", "cm:eng:%s:%s" % (h["kind"], h["material"]), lid)

    def assertEntriesMirror(self, *lids):
        """Each open listing has its cm:eng entry saying the hash's remaining,
        version and seq, then its engine record, then on a line of its own
        what the search index keeps of it (store/lua, eng_put), as the hash
        has it; a listing no longer open has no entry."""
        for lid in lids:
            h = self.hash_of(lid)
            e = self.entry(h, lid)
            if h["status"] != "open":
                self.assertIsNone(e, "%s is %s but has an entry" % (lid, h["status"]))
                continue
            self.assertIsNotNone(e, "open listing %s has no entry" % lid)
            e, search = e.split("\n", 1)
            head = search.split(" ", 7)
            strings = [h["province"], h.get("forum", ""), h["owner_name"], h["fold"]]
            self.assertEqual(head[:7], ["s1", h["created_at"], h["updated_at"]] +
                             [str(len(x.encode())) for x in strings], search)
            self.assertEqual(head[7], "".join(strings) + h["doc"], search)
            words = e.split(" ")
            self.assertEqual(words[:3], [h["remaining"], h["version"], h["seq"]], e)
            self.assertEqual((len(words), words[3], words[-2]), (21, "m1", lid), e)

    def test_entries_follow_every_change(self):
        d = self.start_daemon(self.redis)
        self.use(d)
        mod = self.moderator(provinces=["HN"])
        village = self.party("village", "HN")
        sa, sb = self.party("supplier", "HP"), self.party("supplier", "HP")
        a = self.offer(sa, "rattan", 8, 900000)
        b = self.offer(sb, "rattan", 30, 950000)
        self.assertEntriesMirror(a["id"], b["id"])
        need = self.need(village, "rattan", 12)
        got = self.by_offer(self.wait_for_matches(need["id"], 2, actor=mod))
        fixtures.wait_engine_idle(self.rc, [d])
        self.assertEqual(self.remaining(b["id"]), 26000)
        self.assertEntriesMirror(a["id"], b["id"], need["id"])
        self.assertEqual(self.entry(self.hash_of(a["id"]), a["id"]).split(" ")[0], "0")
        # quantity back to both sides (the engine may propose again: only
        # the mirror is checked)
        self.act_ok(mod, got[b["id"]]["id"], "reject", {"reason": "Giá vận chuyển chưa rõ"})
        self.assertEntriesMirror(a["id"], b["id"], need["id"])
        status, _, _ = self.api.call(sb, "PATCH", "/v1/listings/" + b["id"],
                                     {"quantity": "40", "unit": "tan"})
        self.assertEqual(status, 200)
        fixtures.wait_engine_idle(self.rc, [d])
        self.assertEntriesMirror(a["id"], b["id"], need["id"])
        status, _, _ = self.api.call(sb, "DELETE", "/v1/listings/" + b["id"])
        self.assertEqual(status, 200)
        self.assertEntriesMirror(a["id"], b["id"], need["id"])
        self.assertIsNone(self.entry(self.hash_of(b["id"]), b["id"]))

    def test_no_conversion_of_data_no_release_wrote(self):
        # Nothing converts stored data from before the first release: the
        # library has no backfill function, an engine start writes no
        # marker, and an entry without an engine record (a layout no release
        # wrote) is skipped with a log line, not read from the document.
        e1 = self.start_daemon(self.redis)
        libs = self.rc.execute("FUNCTION", "LIST", "LIBRARYNAME", "craftmatch")
        names = [f[1] for lib in libs for f in lib[lib.index("functions") + 1]]
        self.assertIn("cm_listing_create", names)
        self.assertFalse([n for n in names if "backfill" in n], names)
        self.use(e1)
        sa, sb = self.party("supplier", "HP"), self.party("supplier", "HP")
        a = self.offer(sa, "sedge", 6, 1200000)
        b = self.offer(sb, "sedge", 8, 1300000)
        self.stop_engine(e1)
        h = self.hash_of(b["id"])
        words = self.entry(h, b["id"]).split(" ", 3)
        self.rc.execute("HSET", "cm:eng:offer:sedge", b["id"], " ".join(words[:3]) + " ")

        e2 = self.start_daemon(self.redis, "--role", "engine")
        harness.wait_for(lambda: e2.metric("craftmatch_engine_ready") == 1, WAIT,
                         message="engine ready")
        self.assertEqual(e2.metric("craftmatch_engine_listings"), 1)
        self.assertIn('reason="no engine record"', e2.log_text())
        self.assertEqual(self.rc.execute("KEYS", "cm:engine:backfill*"), [])
        self.assertEntriesMirror(a["id"])


if __name__ == "__main__":
    harness.main()
