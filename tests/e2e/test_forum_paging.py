"""
e2e: a forum's clearing proposed in pages, over HTTP against a real Redis.

- the clearing in pages (--clearing-page 2): several calls, one forum.review,
  totals exact beyond 2^53 (digit for digit, not cjson's 14 digits); a page
  applied twice, out of order, or of a run another run took over; a daemon
  stopped mid-clearing resumes it at start without proposing twice;
- a page Redis answered late is sent again, never proposed twice.
"""

import json
import time

import fixtures
import harness


def clearing_args(now, run, page, last, proposals, greedy=("0", "0"), status="optimal"):
    """ARGV of cm_forum_clear_page (the states of common/forum.c's forum_cleared)."""
    args = [str(now), "1000", str(now + 3600000), status, greedy[0], greedy[1], run, str(page),
            "1" if last else "0", "clearing", "review"]
    for p in proposals:
        args += p
    return args


class ForumPagingTest(fixtures.MatchHelpers, fixtures.ApiTestCase):
    """The clearing's batch proposed two proposals per call."""

    daemon_args = ("--clearing-page", "2")

    def organiser(self):
        return self.moderator(provinces=["HN"], label="organiser")

    def clearing_totals(self, fid):
        return json.loads(self.rc.execute("HGET", "cm:forum:" + fid, "clearing"))

    def version(self, lid):
        return self.rc.execute("HGET", "cm:listing:" + lid, "version")

    def close_in_redis(self, fid, org):
        self.rc.execute("FCALL", "cm_forum_transition", "1", "cm:forum:" + fid,
                        "close-registration", "open", "clearing", org.id,
                        str(int(time.time() * 1000)), "1000", "", "")

    def proposal(self, mid, need, offer, q, landed):
        return [mid, need["id"], offer["id"], str(q), self.version(need["id"]),
                self.version(offer["id"]), json.dumps({"explain": {}}), str(landed)]

    def test_pages_and_exact_big_totals(self):
        """Five pairs, each a need and its one affordable offer at a price near
        LISTING_PRICE_MAX: five proposals in three calls, totals past 2^53
        exact, one forum.review after the last page."""
        api = self.api
        org = self.organiser()
        fid = api.create_forum(org, "open")["id"]
        pairs = []
        for i in range(5):
            village, supplier = self.party("village", "HN"), self.party("supplier", "BN")
            need = self.need(village, "kaolin", 2000, forum=fid)
            offer = self.offer(supplier, "kaolin", 2000, 987654321987 - i, province="BN",
                               forum=fid)
            pairs.append((need, offer))
        mark = fixtures.last_event_id(self.rc)
        api.forum_act(org, fid, "close-registration")
        api.wait_forum_state(org, fid, "review")
        matches = [m for need, _ in pairs for m in self.matches_of(need["id"])]
        self.assertEqual(len(matches), 5)
        # every need got all it asked, from some offer of the forum, nothing twice
        self.assertEqual(sorted(m["quantity"]["base"] for m in matches), [2000000] * 5)
        for need, offer in pairs:
            self.assertEqual(self.remaining(need["id"]), 0)
            self.assertEqual(self.remaining(offer["id"]), 0)
        landed = sum(m["explain"]["landed"]["total_vnd"] for m in matches)
        self.assertGreater(landed, 2 ** 53)
        text = self.rc.execute("HGET", "cm:forum:" + fid, "clearing")
        totals = json.loads(text)
        self.assertEqual((totals["pages"], totals["proposed"], totals["matched_quantity"],
                          totals["landed_vnd"], totals["resumed"], totals["refused"]),
                         (3, 5, 10000000, landed, False, []))
        # written digit for digit, as an integer, not a rounded float
        self.assertIn('"landed_vnd":%d,' % landed, text)
        self.assertIsInstance(totals["greedy"]["landed_vnd"], int)
        self.assertEqual(totals["greedy"]["matched_quantity"], 10000000)
        # the report carries them exactly too
        status, _, report = api.call(org, "GET", "/v1/forums/%s/report" % fid)
        self.assertEqual(status, 200, report)
        self.assertEqual(report["clearing"], totals)
        self.assertEqual(report["by_material"][0]["matched_vnd"], landed)
        # the forum moved once, after the last page
        types = [f["type"] for _, f in fixtures.events_after(self.rc, mark)]
        self.assertEqual(types.count("forum.review"), 1)
        self.assertEqual(types.count("match.proposed"), 5)
        self.assertGreater(types.index("forum.review"),
                           max(i for i, t in enumerate(types) if t == "match.proposed"))

    def test_page_protocol(self):
        """A page applied again is answered, not applied; a page out of order
        is refused; a new run takes over an unfinished one, whose proposals
        stand and count, and whose later pages are then refused."""
        api = self.api
        org = self.organiser()
        fid = api.create_forum(org, "open")["id"]
        village, supplier = self.party("village", "HN"), self.party("supplier", "BN")
        needs = [self.need(village, "kaolin", 10, forum=fid, price_vnd=6000000) for _ in range(3)]
        offers = [self.offer(supplier, "kaolin", 10, 2000000, province="BN", forum=fid)
                  for _ in range(3)]
        self.close_in_redis(fid, org)
        key = "cm:forum:" + fid
        now = int(time.time() * 1000)
        p1 = self.proposal("mat_" + "a" * 20, needs[0], offers[0], 10000, 9007199254740993)
        first = clearing_args(now, "clr_old", 1, False, [p1], greedy=("7", "9007199254740995"))
        self.assertEqual(self.rc.execute("FCALL", "cm_forum_clear_page", "1", key, *first),
                         ["page", "1", "0"])
        # the same page again: answered as applied, nothing written twice
        before = fixtures.dump_all(self.rc)
        again = self.rc.execute("FCALL", "cm_forum_clear_page", "1", key, *first)
        self.assertEqual(again[0], "applied")
        self.assertEqual(fixtures.dump_all(self.rc), before)
        # a page out of order is refused and changes nothing
        p2 = self.proposal("mat_" + "b" * 20, needs[1], offers[1], 10000, 5)
        with self.assertRaises(Exception) as e:
            self.rc.execute("FCALL", "cm_forum_clear_page", "1", key,
                            *clearing_args(now, "clr_old", 3, True, [p2]))
        self.assertIn("CM_REFUSED", str(e.exception))
        self.assertEqual(fixtures.dump_all(self.rc), before)
        # a new run takes over from its first page
        p3 = self.proposal("mat_" + "c" * 20, needs[2], offers[2], 10000, 7)
        self.assertEqual(self.rc.execute("FCALL", "cm_forum_clear_page", "1", key,
                                         *clearing_args(now, "clr_new", 1, False, [p2],
                                                        greedy=("1", "1"))),
                         ["page", "1", "0"])
        with self.assertRaises(Exception) as e:
            self.rc.execute("FCALL", "cm_forum_clear_page", "1", key,
                            *clearing_args(now, "clr_old", 2, True, [p3]))
        self.assertIn("another clearing run", str(e.exception))
        kind, view, text = self.rc.execute("FCALL", "cm_forum_clear_page", "1", key,
                                           *clearing_args(now, "clr_new", 2, True, [p3]))
        self.assertEqual((kind, view[1]), ("done", "review"))
        totals = json.loads(text)
        # the old run's proposal stands and counts; the sums are exact past 2^53;
        # the comparison is the first run's; the result is no longer proven optimal
        self.assertEqual(totals, {
            "status": "feasible", "proposed": 3, "matched_quantity": 30000,
            "landed_vnd": 9007199254740993 + 5 + 7, "refused": [],
            "greedy": {"matched_quantity": 7, "landed_vnd": 9007199254740995},
            "pages": 2, "resumed": True})
        for n in needs:
            self.assertEqual(len(self.matches_of(n["id"])), 1)
            self.assertEqual(self.remaining(n["id"]), 0)
        # the last page again: answered with the totals; a forum in review is not cleared
        self.assertEqual(self.rc.execute("FCALL", "cm_forum_clear_page", "1", key,
                                         *clearing_args(now, "clr_new", 2, True, [p3]))[2], text)
        with self.assertRaises(Exception) as e:
            self.rc.execute("FCALL", "cm_forum_clear_page", "1", key,
                            *clearing_args(now, "clr_other", 1, True, []))
        self.assertIn("CM_REFUSED", str(e.exception))

    def test_restart_resumes_an_unfinished_clearing(self):
        """A daemon that stopped after the first page of a clearing: the next
        one finds the forum in clearing, solves what is left, and hands it to
        review; the first page's proposal is not made twice."""
        api = self.api
        org = self.organiser()
        fid = api.create_forum(org, "open")["id"]
        village, supplier = self.party("village", "HN"), self.party("supplier", "BN")
        needs = [self.need(village, "kaolin", 10, forum=fid, price_vnd=6000000) for _ in range(2)]
        offers = [self.offer(supplier, "kaolin", 10, 2000000, province="BN", forum=fid)
                  for _ in range(2)]
        self.daemon.stop()
        self.close_in_redis(fid, org)
        now = int(time.time() * 1000)
        p1 = self.proposal("mat_" + "d" * 20, needs[0], offers[0], 10000, 20000000)
        self.rc.execute("FCALL", "cm_forum_clear_page", "1", "cm:forum:" + fid,
                        *clearing_args(now, "clr_dead", 1, False, [p1], greedy=("20000", "3")))
        self.daemon.start()
        deadline = time.monotonic() + 30
        while self.rc.execute("HGET", "cm:forum:" + fid, "state") != "review":
            self.assertLess(time.monotonic(), deadline, "the clearing was not resumed")
            time.sleep(0.05)
        totals = self.clearing_totals(fid)
        self.assertEqual((totals["status"], totals["resumed"], totals["proposed"],
                          totals["matched_quantity"], totals["greedy"]),
                         ("feasible", True, 2, 20000,
                          {"matched_quantity": 20000, "landed_vnd": 3}))
        for n in needs:
            self.assertEqual(len(self.matches_of(n["id"])), 1)
            self.assertEqual(self.remaining(n["id"]), 0)
        for o in offers:
            self.assertEqual(self.remaining(o["id"]), 0)


class ForumPageRetryTest(fixtures.MatchHelpers, fixtures.ApiTestCase):
    """Pages sent two at a time, one proposal each, with a short Redis
    deadline: a page that Redis holds past it is sent again, with the page
    behind it, and nothing is proposed twice."""

    daemon_args = ("--clearing-page", "1", "--redis-timeout-ms", "500")

    def test_late_pages_sent_again(self):
        api = self.api
        org = self.moderator(provinces=["HN"], label="organiser")
        failed = False
        for attempt in range(5):  # until a page met the pause (the solve may beat it)
            mark = self.daemon.log_text().count("page failed; sending it again")
            fid = api.create_forum(org, "open")["id"]
            village, supplier = self.party("village", "HN"), self.party("supplier", "BN")
            needs = [self.need(village, "kaolin", 10, forum=fid, price_vnd=6000000)
                     for _ in range(3)]
            offers = [self.offer(supplier, "kaolin", 10, 2000000, province="BN", forum=fid)
                      for _ in range(3)]
            api.forum_act(org, fid, "close-registration")
            # writes wait 1.5 s: the pages then in flight pass their deadline
            self.rc.execute("CLIENT", "PAUSE", "1500", "WRITE")
            deadline = time.monotonic() + 60
            while self.rc.execute("HGET", "cm:forum:" + fid, "state") != "review":
                self.assertLess(time.monotonic(), deadline, "the clearing did not finish")
                time.sleep(0.05)
            totals = json.loads(self.rc.execute("HGET", "cm:forum:" + fid, "clearing"))
            self.assertEqual((totals["pages"], totals["proposed"], totals["matched_quantity"],
                              totals["refused"]), (3, 3, 30000, []))
            for lid in [n["id"] for n in needs] + [o["id"] for o in offers]:
                self.assertEqual(self.remaining(lid), 0)
            for n in needs:
                self.assertEqual(len(self.matches_of(n["id"])), 1)
            if self.daemon.log_text().count("page failed; sending it again") > mark:
                failed = True
                break
        self.assertTrue(failed, "no page ever met the pause")

if __name__ == "__main__":
    harness.main()
