"""
e2e: forums — the resource and the listings that register for one, over HTTP
against a real Redis.

- the whole life: a moderator creates a draft, opens it, villages and
  suppliers register listings; those stay unmatched while registration is
  open even though a crossing listing outside the forum exists (and the
  outside pair is matched meanwhile); closing registration moves the forum
  through clearing to review; closing it sends what remains of each listing
  where its after_forum says (the market, where it is matched, or closed);
  every state change is one event, seen on /v1/events;
- the cancel path, and a cancelled forum refusing every further action;
- permissions: the organiser and admins manage a forum, another moderator
  (even one scoped to the forum) and the participants do not; a forum-scoped
  moderator registers participants from any province for its forum; drafts
  are hidden from villages and suppliers; who receives a forum's events;
- bad input: problem+json naming the fields, and nothing changed in Redis;
- list filters (state, province) and pagination; Idempotency-Key replay;
- the clearing in pages: test_forum_paging.py.
"""
import json
import time
import urllib.parse

import fixtures
import harness
from test_events import SseClient

CONTROL = ("ready", "reset")


def forum_events(client):
    return [(e.type, e.data) for e in client.data_events() if e.type.startswith("forum.")]


class ForumsTest(fixtures.MatchHelpers, fixtures.ApiTestCase):

    def open_stream(self, actor):
        c = SseClient(self.daemon.port, "/v1/events", token=actor.token)
        self.addCleanup(c.close)
        self.assertEqual(c.wait_status(), 200, c.body)
        c.wait_ready()
        return c

    def organiser(self, label="organiser"):
        return self.moderator(provinces=["HN"], label=label)

    def forum_state(self, fid):
        return self.rc.execute("HGET", "cm:forum:" + fid, "state")

    def held(self, lid):
        h = fixtures.redis_hash(self.rc, "cm:listing:" + lid)
        return h.get("held") == "1"

    def in_engine(self, lid):
        h = fixtures.redis_hash(self.rc, "cm:listing:" + lid)
        return bool(self.rc.execute("HEXISTS", "cm:eng:%s:%s" % (h["kind"], h["material"]), lid))

    # -- the whole life -----------------------------------------------------------

    def test_whole_life(self):
        api = self.api
        org = self.organiser()
        stream = self.open_stream(org)
        village = self.party("village", "HN")
        supplier = self.party("supplier", "BN")
        outsider = self.party("supplier", "HP")
        other_village = self.party("village", "HN")

        status, headers, draft = api.call(org, "POST", "/v1/forums", fixtures.forum_body())
        self.assertEqual(status, 201, draft)
        fid = draft["id"]
        self.assertEqual((draft["state"], draft["version"], draft["organiser"], draft["listings"]),
                         ("draft", 1, org.id, 0))
        self.assertEqual(headers["Location"], "/v1/forums/" + fid)
        self.assertEqual(headers["ETag"], '"1"')
        self.assertEqual(draft["provinces"], ["HN", "BN"])
        # a draft takes no registrations
        resp = api.call(village, "POST", "/v1/needs", fixtures.need_body(forum=fid))
        self.assertProblemResp(resp, 409)

        opened = api.forum_act(org, fid, "open")
        self.assertEqual((opened["state"], opened["version"]), ("open", 2))

        # the forum's pair crosses, and an offer outside the forum crosses its need too
        need = self.need(village, "kaolin", 15, forum=fid, price_vnd=6000000)
        offer = self.offer(supplier, "kaolin", 10, 2000000, province="BN", forum=fid,
                           after_forum="close")
        self.assertEqual((need["forum"], need["after_forum"]), (fid, "market"))
        self.assertEqual(offer["after_forum"], "close")
        outside = self.offer(outsider, "kaolin", 30, 2100000)
        control = self.need(other_village, "kaolin", 5, price_vnd=6000000)
        # the engine is at work: the outside pair is matched...
        self.wait_for_matches(control["id"], 1)
        for lid in (need["id"], offer["id"]):
            self.assertTrue(self.held(lid))
            self.assertFalse(self.in_engine(lid))
        self.assertFalse(self.held(outside["id"]))
        # ... and a change to a held listing keeps it held
        resp = api.call(village, "PATCH", "/v1/listings/" + need["id"], {"note": "Cao lanh trắng"})
        self.assertStatus(resp, 200)
        self.assertTrue(self.held(need["id"]))
        fixtures.wait_engine_idle(self.rc, [self.daemon])
        # ... while the forum's listings stay unmatched
        self.assertEqual(self.matches_of(need["id"]), [])
        self.assertEqual(self.matches_of(offer["id"]), [])
        self.assertEqual(api.call(org, "GET", "/v1/forums/" + fid)[2]["listings"], 2)
        self.assertEqual([l["id"] for l in api.search_all(org, forum=fid)],
                         [offer["id"], need["id"]])

        clearing = api.forum_act(org, fid, "close-registration")
        self.assertEqual(clearing["state"], "clearing")
        review = api.wait_forum_state(org, fid, "review")
        self.assertEqual(review["version"], 4)
        # registration is over
        resp = api.call(village, "POST", "/v1/needs", fixtures.need_body(forum=fid))
        self.assertProblemResp(resp, 409)
        fixtures.wait_engine_idle(self.rc, [self.daemon])
        # the clearing proposed the forum's pair, and nothing else
        (batch,) = self.matches_of(need["id"])
        self.assertEqual((batch["offer"]["id"], batch["quantity"]["base"], batch["state"]),
                         (offer["id"], 10000, "proposed"))
        self.assertEqual(self.rc.execute("HGET", "cm:match:" + batch["id"], "batch"), fid)

        mark = fixtures.last_event_id(self.rc)
        closed = api.forum_act(org, fid, "close")
        self.assertEqual((closed["state"], closed["version"]), ("closed", 5))
        # the offer said close: closed, which cancels its unconfirmed batch match;
        # the need, whole again, joins the market and meets the outside offer
        self.assertEqual(api.get_listing(org, offer["id"])["status"], "closed")
        self.assertFalse(self.held(need["id"]))
        items = self.wait_for_matches(need["id"], 2)
        self.assertEqual(sorted((m["offer"]["id"], m["state"], m["quantity"]["base"])
                                for m in items),
                         sorted([(offer["id"], "cancelled", 10000),
                                 (outside["id"], "proposed", 15000)]))
        # one event per change, in the same call: listing events then the forum's
        evs = [f for _, f in fixtures.events_after(self.rc, mark)][:4]
        self.assertEqual([f["match"] for f in evs if f["type"] == "match.cancelled"],
                         [batch["id"]])
        evs = [f for f in evs if f["type"] != "match.cancelled"]
        self.assertEqual(sorted((f["type"], f.get("listing")) for f in evs[:2]),
                         sorted([("listing.closed", offer["id"]),
                                 ("listing.updated", need["id"])]))
        self.assertEqual((evs[2]["type"], evs[2]["joined_market"], evs[2]["closed_listings"]),
                         ("forum.closed", "1", "1"))

        # every state change was seen on the organiser's stream, in order
        stream.wait(lambda s: any(t == "forum.closed" for t, _ in forum_events(s)), 20,
                    "forum.closed")
        seen = [(t, d["forum"], d["state"], d["version"]) for t, d in forum_events(stream)]
        self.assertEqual(seen, [("forum.created", fid, "draft", "1"),
                                ("forum.open", fid, "open", "2"),
                                ("forum.clearing", fid, "clearing", "3"),
                                ("forum.review", fid, "review", "4"),
                                ("forum.closed", fid, "closed", "5")])
        # a closed forum refuses every action and changes nothing
        before = fixtures.dump_all(self.rc)
        for action in ("open", "close-registration", "close", "cancel"):
            self.assertProblemResp(api.call(org, "POST", "/v1/forums/%s/%s" % (fid, action)), 409)
        self.assertProblemResp(api.call(org, "PATCH", "/v1/forums/" + fid, {"venue": "Khác"}), 409)
        self.assertEqual(fixtures.dump_all(self.rc), before)

    def test_cancel_path(self):
        api = self.api
        org = self.organiser()
        fid = api.create_forum(org, "open")["id"]
        village, supplier = self.party("village", "HN"), self.party("supplier", "HN")
        need = self.need(village, "clay", 4, forum=fid, after_forum="close")
        offer = self.offer(supplier, "glaze_ash", 4, 900000, forum=fid)
        mark = fixtures.last_event_id(self.rc)
        view = api.forum_act(org, fid, "cancel")
        self.assertEqual(view["state"], "cancelled")
        self.assertEqual(api.get_listing(org, need["id"])["status"], "closed")
        self.assertEqual(api.get_listing(org, offer["id"])["status"], "open")
        self.assertTrue(self.in_engine(offer["id"]))
        types = [f["type"] for _, f in fixtures.events_after(self.rc, mark)]
        self.assertEqual(types[-1], "forum.cancelled")
        self.assertEqual(sorted(types[:-1]), ["listing.closed", "listing.updated"])
        before = fixtures.dump_all(self.rc)
        for action in ("open", "close-registration", "close", "cancel"):
            self.assertProblemResp(api.call(org, "POST", "/v1/forums/%s/%s" % (fid, action)), 409)
        self.assertEqual(fixtures.dump_all(self.rc), before)
        # a draft may be cancelled too
        draft = api.create_forum(org)
        self.assertEqual(api.forum_act(org, draft["id"], "cancel")["state"], "cancelled")

    # -- the clearing -----------------------------------------------------------------

    def clearing_totals(self, fid):
        return json.loads(self.rc.execute("HGET", "cm:forum:" + fid, "clearing"))

    def test_clearing_beats_first_come(self):
        """The issue's kaolin case: a 40 t need and two offers, the dearer one
        posted first. First come would give the need the dearer offer; the
        clearing proposes the cheaper one, as one batch, and records the gain."""
        api = self.api
        org = self.organiser()
        fid = api.create_forum(org, "open")["id"]
        village = self.party("village", "HN")
        truc_thon, dong_trieu = self.party("supplier", "BN"), self.party("supplier", "BN")
        dear = self.offer(truc_thon, "kaolin", 40, 2400000, province="BN", forum=fid)
        need = self.need(village, "kaolin", 40, forum=fid, price_vnd=6000000)
        cheap = self.offer(dong_trieu, "kaolin", 40, 2200000, province="BN", forum=fid)
        # a need nobody in the forum can serve: it stays whole
        lonely = self.need(village, "clay", 3, forum=fid)
        api.forum_act(org, fid, "close-registration")
        review = api.wait_forum_state(org, fid, "review")
        self.assertEqual(review["version"], 4)

        (m,) = self.matches_of(need["id"])
        self.assertEqual((m["offer"]["id"], m["quantity"]["base"], m["state"]),
                         (cheap["id"], 40000, "proposed"))
        self.assertEqual(self.rc.execute("HGET", "cm:match:" + m["id"], "batch"), fid)
        self.assertEqual(self.matches_of(dear["id"]), [])
        self.assertEqual(self.matches_of(lonely["id"]), [])
        self.assertEqual(self.remaining(cheap["id"]), 0)
        self.assertEqual(self.remaining(dear["id"]), 40000)
        ex = m["explain"]
        landed = ex["landed"]["total_vnd"]
        self.assertEqual(landed, ex["goods_total_vnd"] + ex["freight"]["total_vnd"])
        self.assertEqual(ex["goods_total_vnd"], 40 * 2200000)
        # first come would have taken the dearer offer over the same road
        greedy = 40 * 2400000 + ex["freight"]["total_vnd"]
        self.assertEqual(self.clearing_totals(fid), {
            "status": "optimal", "proposed": 1, "matched_quantity": 40000,
            "landed_vnd": landed, "refused": [],
            "greedy": {"matched_quantity": 40000, "landed_vnd": greedy},
            "pages": 1, "resumed": False})
        self.assertEqual(greedy - landed, 8000000)
        # the batch is reviewed with the match actions; the forum closes after
        self.act_ok(org, m["id"], "approve", state="approved")
        self.assertEqual(api.forum_act(org, fid, "close")["state"], "closed")

        # the report adds up from the batch's matches, and shows the gain
        status, _, report = api.call(org, "GET", "/v1/forums/%s/report" % fid)
        self.assertEqual(status, 200, report)
        batch = [x for lid in (need["id"], lonely["id"]) for x in self.matches_of(lid)
                 if self.rc.execute("HGET", "cm:match:" + x["id"], "batch") == fid]
        self.assertEqual([x["id"] for x in batch], [m["id"]])
        row = {"matched_base": sum(x["quantity"]["base"] for x in batch),
               "matched_vnd": sum(x["explain"]["landed"]["total_vnd"] for x in batch),
               "confirmed_base": 0, "confirmed_vnd": 0, "fulfilled_base": 0, "fulfilled_vnd": 0}
        self.assertEqual(report["by_material"], [dict(row, material="kaolin")])
        self.assertEqual(report["by_province"], [dict(row, province="HN")])
        self.assertEqual((report["forum"], report["state"], report["participants"],
                          report["needs"], report["offers"]), (fid, "closed", 3, 2, 2))
        self.assertEqual(report["clearing"], self.clearing_totals(fid))
        self.assertEqual(report["gain"], {"more_quantity_base": 0, "landed_vnd_saved": 8000000})
        # it is the organiser's (and admins'): a party of the forum is refused
        self.assertProblemResp(api.call(village, "GET", "/v1/forums/%s/report" % fid), 403)

    def test_clearing_refuses_stale_proposals(self):
        """A proposal whose listing was withdrawn or edited after the solve read
        it is refused, nothing is over-allocated, and the batch says so."""
        api = self.api
        org = self.organiser()
        fid = api.create_forum(org, "open")["id"]
        village, supplier = self.party("village", "HN"), self.party("supplier", "BN")
        need = self.need(village, "kaolin", 10, forum=fid, price_vnd=6000000)
        edited = self.need(village, "kaolin", 5, forum=fid, price_vnd=6000000)
        offer = self.offer(supplier, "kaolin", 30, 2000000, province="BN", forum=fid)
        gone = self.offer(supplier, "kaolin", 30, 2100000, province="BN", forum=fid)
        versions = {l["id"]: self.rc.execute("HGET", "cm:listing:" + l["id"], "version")
                    for l in (need, edited, offer, gone)}
        # registration closes in Redis alone, so the solve below is the test's
        self.rc.execute("FCALL", "cm_forum_transition", "1", "cm:forum:" + fid,
                        "close-registration", "open", "clearing", org.id, str(int(time.time() * 1000)),
                        "1000", "", "")
        # meanwhile one offer is withdrawn and one need edited
        self.assertStatus(api.call(supplier, "DELETE", "/v1/listings/" + gone["id"]), 200)
        self.assertStatus(api.call(village, "PATCH", "/v1/listings/" + edited["id"],
                                   {"note": "Cần gấp"}), 200)

        now = int(time.time() * 1000)
        ok_id, gone_id, edit_id = ("mat_%s" % (c * 20) for c in "abc")

        def proposal(mid, n, o, q, landed):
            return [mid, n["id"], o["id"], str(q), versions[n["id"]], versions[o["id"]],
                    json.dumps({"explain": {}}), str(landed)]
        args = [str(now), "1000", str(now + 3600000), "optimal", "10000", "30000000"]
        args += proposal(ok_id, need, offer, 10000, 20000000)
        args += proposal(gone_id, need, gone, 5000, 11000000)
        args += proposal(edit_id, edited, offer, 5000, 10000000)
        view, text = self.rc.execute("FCALL", "cm_forum_clear", "1", "cm:forum:" + fid, *args)
        self.assertEqual(self.forum_state(fid), "review")
        totals = json.loads(text)
        self.assertEqual(totals, self.clearing_totals(fid))
        self.assertEqual((totals["proposed"], totals["matched_quantity"], totals["landed_vnd"]),
                         (1, 10000, 20000000))
        self.assertEqual(sorted((r["match"], r["reason"]) for r in totals["refused"]),
                         [(gone_id, "listing not open"), (edit_id, "listing changed")])
        self.assertEqual(totals["greedy"], {"matched_quantity": 10000, "landed_vnd": 30000000})
        # only the fresh proposal was written; nothing else moved
        self.assertEqual([m["id"] for m in self.matches_of(need["id"])], [ok_id])
        self.assertEqual(self.matches_of(edited["id"]), [])
        self.assertEqual(self.remaining(need["id"]), 0)
        self.assertEqual(self.remaining(offer["id"]), 20000)
        self.assertEqual(self.remaining(edited["id"]), 5000)
        self.assertEqual(self.rc.execute("EXISTS", "cm:match:" + gone_id), 0)
        # a forum not in clearing is not cleared again
        with self.assertRaises(Exception) as e:
            self.rc.execute("FCALL", "cm_forum_clear", "1", "cm:forum:" + fid, *args)
        self.assertIn("CM_REFUSED", str(e.exception))

    # -- the batch's review -------------------------------------------------------------

    def cleared_forum(self, org, pairs):
        """An open forum where each (material, quantity) of pairs is one need and
        one offer that only cross each other; registration closed and the batch
        proposed. Returns (forum id, {material: match view}, parties)."""
        api = self.api
        fid = api.create_forum(org, "open")["id"]
        village, supplier = self.party("village", "HN"), self.party("supplier", "BN")
        needs = {}
        for material, qty in pairs:
            needs[material] = self.need(village, material, qty, forum=fid)
            self.offer(supplier, material, qty, 900000, province="BN", forum=fid)
        api.forum_act(org, fid, "close-registration")
        api.wait_forum_state(org, fid, "review")
        batch = {}
        for material, need in needs.items():
            (m,) = self.matches_of(need["id"])
            self.assertEqual(m["state"], "proposed")
            batch[material] = m
        return fid, batch, (village, supplier)

    def review(self, actor, fid, action, body=None, headers=None):
        return self.api.call(actor, "POST", "/v1/forums/%s/%s-batch" % (fid, action), body,
                             headers)

    def test_batch_approved_as_one(self):
        """The whole batch approved in one call: each match as a single approve
        leaves it (same fields, same event), the parties are told, a repeat
        with its key replays, and the report adds up once a match is confirmed."""
        api = self.api
        org = self.organiser()
        fid, batch, (village, supplier) = self.cleared_forum(
            org, [("kaolin", 4), ("clay", 3), ("glaze_ash", 2)])
        streams = {a.id: self.open_stream(a) for a in (village, supplier)}
        single = batch["kaolin"]["id"]
        self.act_ok(org, single, "approve", state="approved")

        status, _, view = api.call(org, "GET", "/v1/forums/%s/batch" % fid)
        self.assertEqual(status, 200, view)
        self.assertEqual((view["total"], view["by_state"], view["truncated"]),
                         (3, {"approved": 1, "proposed": 2}, False))
        self.assertEqual(sorted(m["id"] for m in view["items"]),
                         sorted(m["id"] for m in batch.values()))
        for m in view["items"]:
            self.assertEqual(m["need"]["owner_name"], village.name)
            self.assertEqual(m["offer"]["owner_name"], supplier.name)
            self.assertGreater(m["explain"]["landed"]["total_vnd"], 0)

        rest = sorted(batch[k]["id"] for k in ("clay", "glaze_ash"))
        mark = fixtures.last_event_id(self.rc)
        key = {"Idempotency-Key": fixtures.unique("batch")}
        status, _, done = self.review(org, fid, "approve", None, key)
        self.assertEqual(status, 200, done)
        self.assertEqual((done["action"], sorted(done["matches"]), done["count"],
                          done["proposed_left"]), ("approve", rest, 2, 0))
        evs = [f for _, f in fixtures.events_after(self.rc, mark)]
        self.assertEqual(sorted((f["type"], f["match"]) for f in evs),
                         [("match.approved", mid) for mid in rest])
        # the same change and the same event as the single approve made
        (_, one), = fixtures.match_events(self.rc, single)[-1:]
        one_hash = fixtures.redis_hash(self.rc, "cm:match:" + single)
        for ev in evs:
            self.assertEqual(sorted(ev), sorted(one))
            for field in ("state", "approved", "version", "by", "_failed"):
                self.assertEqual(ev[field], one[field], field)
            h = fixtures.redis_hash(self.rc, "cm:match:" + ev["match"])
            self.assertEqual(sorted(h), sorted(one_hash))
            self.assertEqual((h["state"], h["reviewed_by"], h["by"]), ("approved", org.id, org.id))
        # the parties see their approved matches come
        for s in streams.values():
            s.wait(lambda c: {e.data.get("match") for e in c.data_events()
                              if e.type == "match.approved"} >= set(rest) | {single}, 20,
                   "match.approved")

        # a repeat with the key replays the answer and changes nothing
        before = fixtures.dump_all(self.rc)
        status, headers, again = self.review(org, fid, "approve", None, key)
        self.assertEqual((status, headers.get("Idempotent-Replayed")), (200, "true"), again)
        self.assertEqual(again, done)
        # without a key, nothing is left to approve
        self.assertProblemResp(self.review(org, fid, "approve"), 409)
        self.assertEqual(fixtures.dump_all(self.rc), before)

        # both parties accept one match: the report counts it confirmed
        confirmed = batch["clay"]
        self.act_ok(village, confirmed["id"], "accept")
        self.act_ok(supplier, confirmed["id"], "accept", state="confirmed")
        self.assertEqual(api.forum_act(org, fid, "close")["state"], "closed")
        report = api.call(org, "GET", "/v1/forums/%s/report" % fid)[2]
        views = {m["id"]: m for m in (self.api.call(org, "GET", "/v1/matches/" + mid)[2]
                                      for mid in rest + [single])}
        expect = {}
        for m in views.values():
            row = expect.setdefault(m["material"]["code"], {
                "material": m["material"]["code"], "matched_base": 0, "matched_vnd": 0,
                "confirmed_base": 0, "confirmed_vnd": 0, "fulfilled_base": 0,
                "fulfilled_vnd": 0})
            row["matched_base"] += m["quantity"]["base"]
            row["matched_vnd"] += m["explain"]["landed"]["total_vnd"]
            if m["state"] == "confirmed":
                row["confirmed_base"] += m["quantity"]["base"]
                row["confirmed_vnd"] += m["explain"]["landed"]["total_vnd"]
        self.assertEqual(report["by_material"], [expect[k] for k in sorted(expect)])
        self.assertEqual(views[confirmed["id"]]["state"], "confirmed")
        # a batch is reviewed only while its forum is in review
        self.assertProblemResp(self.review(org, fid, "reject", {"reason": "muộn"}), 409)

    def test_batch_selection_refusals_and_reject(self):
        """A selection is reviewed whole or not at all: an id of another forum's
        batch, one already approved, or one that is no match refuses the call
        (409 naming them) and nothing changes; rejecting takes a reason."""
        api = self.api
        org = self.organiser()
        fid, batch, (village, supplier) = self.cleared_forum(
            org, [("kaolin", 4), ("clay", 3), ("glaze_ash", 2)])
        other, foreign, _ = self.cleared_forum(org, [("kaolin", 1)])
        k, c, g = (batch[x]["id"] for x in ("kaolin", "clay", "glaze_ash"))

        status, _, done = self.review(org, fid, "approve", {"matches": [k]})
        self.assertEqual(status, 200, done)
        self.assertEqual((done["matches"], done["count"], done["proposed_left"]), ([k], 1, 2))
        self.assertEqual(fixtures.redis_hash(self.rc, "cm:match:" + c)["state"], "proposed")

        stranger = self.moderator(provinces=["HN"], label="other-moderator")
        before = fixtures.dump_all(self.rc)
        nowhere = "mat_" + "z" * 20
        cases = [
            ("approve", {"matches": [c, k]}, [k]),
            ("approve", {"matches": [foreign["kaolin"]["id"], g]}, [foreign["kaolin"]["id"]]),
            ("reject", {"reason": "Sai giá", "matches": [nowhere, c, k]}, [nowhere, k]),
        ]
        for action, body, offenders in cases:
            with self.subTest(body=body):
                status, _, problem = self.review(org, fid, action, body)
                self.assertEqual(status, 409, problem)
                self.assertEqual([e["message"].split(":")[0] for e in problem["errors"]],
                                 offenders)
                for mid in offenders:
                    self.assertIn(mid, problem["detail"])
        # bad bodies name their fields
        for action, body, fields in [
                ("approve", {"matches": []}, ["matches"]),
                ("approve", {"matches": "all"}, ["matches"]),
                ("approve", {"matches": [c, c]}, ["matches"]),
                ("approve", {"matches": ["lst_" + "a" * 20]}, ["matches"]),
                ("approve", {"reason": "x"}, ["reason"]),
                ("reject", {"matches": [c]}, ["reason"]),
                ("reject", None, ["reason"])]:
            with self.subTest(body=body):
                self.assertValidation(self.review(org, fid, action, body), fields)
        # not the organiser's: refused
        self.assertProblemResp(self.review(stranger, fid, "approve"), 403)
        self.assertProblemResp(self.review(village, fid, "approve"), 403)
        self.assertProblemResp(self.review(org, "no-such-forum", "approve"), 404)
        self.assertEqual(fixtures.dump_all(self.rc), before)

        # a rejection with its reason, as a single reject: the quantity returns
        mark = fixtures.last_event_id(self.rc)
        status, _, done = self.review(org, fid, "reject", {"reason": "Giá chưa hợp lý",
                                                           "matches": [c]})
        self.assertEqual((status, done["matches"], done["proposed_left"]), (200, [c], 1), done)
        h = fixtures.redis_hash(self.rc, "cm:match:" + c)
        self.assertEqual((h["state"], h["reason"], h["reviewed_by"]),
                         ("rejected", "Giá chưa hợp lý", org.id))
        self.assertEqual(self.remaining(batch["clay"]["need"]["id"]), 3000)
        (ev,) = [f for _, f in fixtures.events_after(self.rc, mark)]
        self.assertEqual((ev["type"], ev["match"], ev["by"], ev["_failed"]),
                         ("match.rejected", c, org.id, "1"))
        # the rest of the batch, rejected whole
        status, _, done = self.review(org, fid, "reject", {"reason": "Hết hạn xem xét"})
        self.assertEqual((status, done["matches"], done["proposed_left"]), (200, [g], 0), done)
        view = api.call(org, "GET", "/v1/forums/%s/batch" % fid)[2]
        self.assertEqual(view["by_state"], {"approved": 1, "rejected": 2})
        # the other forum's batch was never touched
        self.assertEqual(fixtures.redis_hash(self.rc, "cm:match:" + foreign["kaolin"]["id"])
                         ["state"], "proposed")
        self.assertEqual(api.forum_act(org, fid, "close")["state"], "closed")
        self.assertEqual(api.forum_act(org, other, "close")["state"], "closed")

    # -- registration closing by date ---------------------------------------------------

    def test_registration_closes_by_date(self):
        """An open forum whose registration_closes moment passes goes to clearing
        by itself, as if its organiser had closed registration, and on to review."""
        api = self.api
        org = self.organiser()
        fid = api.create_forum(org, "open")["id"]
        closes = fixtures.vn_day_end_ms(fixtures.vn_date(10)) + 1
        self.assertEqual(self.rc.execute("ZSCORE", "cm:forums:closing", fid), str(closes))
        village, supplier = self.party("village", "HN"), self.party("supplier", "BN")
        need = self.need(village, "kaolin", 5, forum=fid)
        offer = self.offer(supplier, "kaolin", 5, 900000, province="BN", forum=fid)
        # a draft and a cancelled forum are never closed by date
        draft = api.create_forum(org)["id"]
        gone = api.create_forum(org, "cancelled")["id"]
        for f in (draft, gone):
            self.assertIsNone(self.rc.execute("ZSCORE", "cm:forums:closing", f))
        # registration now closes a second from now
        text, ms = fixtures.rfc3339_in(1.0)
        mark = fixtures.last_event_id(self.rc)
        view = api.call(org, "PATCH", "/v1/forums/" + fid, {"registration_closes": text})
        self.assertStatus(view, 200)
        self.assertEqual(view[2]["registration_closes"], text)
        self.assertEqual(self.rc.execute("ZSCORE", "cm:forums:closing", fid), str(ms))
        review = api.wait_forum_state(org, fid, "review")
        self.assertEqual(review["version"], 5)
        self.assertGreaterEqual(int(self.rc.execute("HGET", "cm:forum:" + fid, "clearing_at")), ms)
        self.assertIsNone(self.rc.execute("ZSCORE", "cm:forums:closing", fid))
        evs = [f for _, f in fixtures.events_after(self.rc, mark) if f["type"].startswith("forum.")]
        self.assertEqual([(f["type"], f["from"] if "from" in f else "", f["by"]) for f in evs],
                         [("forum.updated", "", org.id), ("forum.clearing", "open", "system"),
                          ("forum.review", "clearing", "system")])
        (m,) = self.matches_of(need["id"])
        self.assertEqual((m["offer"]["id"], m["state"]), (offer["id"], "proposed"))
        # registration is over; the organiser's own close-registration is refused now
        self.assertProblemResp(api.call(village, "POST", "/v1/needs",
                                        fixtures.need_body(forum=fid)), 409)
        self.assertProblemResp(api.call(org, "POST", "/v1/forums/%s/close-registration" % fid),
                               409)
        for f in (draft, gone):
            self.assertIn(self.forum_state(f), ("draft", "cancelled"))
        # a forum opened after its moment has passed closes at once
        past = api.create_forum(org, registration_closes=fixtures.rfc3339_in(-60)[0],
                                registration_opens=fixtures.vn_date(-1))
        api.forum_act(org, past["id"], "open")
        api.wait_forum_state(org, past["id"], "review")

    def test_registration_closes_once_when_daemons_race(self):
        """Two daemons sweep the same Redis, one every 50 ms: each forum whose
        moment passes goes through clearing exactly once (one forum.clearing,
        one batch), the slower sweep being refused."""
        api = self.api
        other = self.start_daemon(self.redis, "--role", "api", "--expiry-interval-ms", "50")
        org = self.organiser()
        village, supplier = self.party("village", "HN"), self.party("supplier", "BN")
        forums, needs = [], {}
        for _ in range(3):
            fid = api.create_forum(org, "open")["id"]
            needs[fid] = self.need(village, "kaolin", 2, forum=fid)
            self.offer(supplier, "kaolin", 2, 900000, province="BN", forum=fid)
            forums.append(fid)
        mark = fixtures.last_event_id(self.rc)
        text, _ = fixtures.rfc3339_in(1.0)
        for fid in forums:
            self.assertStatus(api.call(org, "PATCH", "/v1/forums/" + fid,
                                       {"registration_closes": text}), 200)
        for fid in forums:
            self.assertEqual(api.wait_forum_state(org, fid, "review")["version"], 5)
        evs = [f for _, f in fixtures.events_after(self.rc, mark) if f["type"].startswith("forum.")]
        for fid in forums:
            self.assertEqual([f["type"] for f in evs if f["forum"] == fid],
                             ["forum.updated", "forum.clearing", "forum.review"])
            self.assertEqual(len(self.matches_of(needs[fid]["id"])), 1)
        self.assertEqual(other.stop(), 0)

    # -- permissions ------------------------------------------------------------------

    def test_permissions(self):
        api = self.api
        org = self.organiser()
        other = self.moderator(provinces=["HN"], label="other-moderator")
        body = fixtures.forum_body()
        fid = body["id"]
        scoped = self.moderator(forums=[fid], label="forum-moderator")
        participant = self.party("village", "HN", forum=fid)
        draft = api.call(org, "POST", "/v1/forums", body)[2]
        self.assertEqual(draft["state"], "draft")

        # drafts: hidden from villages and suppliers, shown to moderators
        self.assertProblemResp(api.call(participant, "GET", "/v1/forums/" + fid), 404)
        self.assertNotIn(fid, [f["id"] for f in api.call(participant, "GET", "/v1/forums")[2]["items"]])
        self.assertStatus(api.call(other, "GET", "/v1/forums/" + fid), 200)

        stranger = self.party("supplier", "HN")
        before = fixtures.dump_all(self.rc)
        for who in (other, scoped):
            self.assertProblemResp(api.call(who, "PATCH", "/v1/forums/" + fid, {"venue": "X"}), 403)
            self.assertProblemResp(api.call(who, "POST", "/v1/forums/%s/open" % fid), 403)
            self.assertProblemResp(api.call(who, "POST", "/v1/forums/%s/cancel" % fid), 403)
        self.assertProblemResp(api.call(participant, "POST", "/v1/forums/%s/open" % fid), 404)
        # only admins name another organiser; an organiser is a moderator or an admin
        self.assertProblemResp(api.call(other, "POST", "/v1/forums",
                                        fixtures.forum_body(organiser=org.id)), 403)
        self.assertValidation(api.call(self.admin, "POST", "/v1/forums",
                                       fixtures.forum_body(organiser=participant.id)),
                              ["organiser"])
        for who in (participant, stranger):
            self.assertProblemResp(api.call(who, "POST", "/v1/forums", fixtures.forum_body()), 403)
        self.assertEqual(fixtures.dump_all(self.rc), before)

        # the organiser and admins manage it
        view = api.call(org, "PATCH", "/v1/forums/" + fid, {"venue": "Cung Văn hóa Hữu nghị"})
        self.assertStatus(view, 200)
        self.assertEqual(view[2]["venue"], "Cung Văn hóa Hữu nghị")
        self.assertEqual(view[2]["version"], 2)
        mark = fixtures.last_event_id(self.rc)
        mod_stream, part_stream, scoped_stream = (self.open_stream(a)
                                                  for a in (org, participant, scoped))
        outsider = self.party("village", "NB")
        out_stream = self.open_stream(outsider)
        self.assertEqual(api.forum_act(self.admin, fid, "open")["state"], "open")
        admin_made = api.create_forum(self.admin, organiser=org.id)
        self.assertEqual(admin_made["organiser"], org.id)

        # a moderator scoped to the forum registers participants of any province for it
        far = api.call(scoped, "POST", "/v1/accounts",
                       fixtures.account_body("supplier", province="Cao Bằng", forum=fid))
        self.assertStatus(far, 201)
        self.assertProblemResp(api.call(scoped, "POST", "/v1/accounts",
                                        fixtures.account_body("supplier", province="Cao Bằng")),
                               403)

        # who receives the forum's events: organiser, moderators in scope, participants
        api.issue_token(outsider)
        sentinel = fixtures.last_event_id(self.rc)
        for s in (mod_stream, scoped_stream):
            s.wait(lambda c: any(t == "forum.open" for t, _ in forum_events(c)), 20, "forum.open")
        part_stream.wait(lambda c: any(t == "forum.open" for t, _ in forum_events(c)), 20,
                         "forum.open")
        out_stream.wait_id(sentinel)
        self.assertEqual(forum_events(out_stream), [])
        self.assertIn(("forum.created", admin_made["id"]),
                      [(t, d["forum"]) for t, d in forum_events(mod_stream)])
        self.assertNotIn("forum.created", [t for t, _ in forum_events(part_stream)])
        self.assertLess(mark, sentinel)

    # -- bad input ----------------------------------------------------------------------

    def test_bad_input_changes_nothing(self):
        api = self.api
        org = self.organiser()
        fid = api.create_forum(org, "open")["id"]
        village = self.party("village", "HN")
        before = fixtures.dump_all(self.rc)
        cases = [
            ({"id": "Diễn đàn"}, ["id"]),
            ({"id": "ab"}, ["id"]),
            ({"id": fixtures.DELETE, "name": fixtures.DELETE}, ["id", "name"]),
            ({"provinces": ["Atlantis"], "materials": ["gold"]}, ["provinces", "materials"]),
            ({"registration_closes": fixtures.vn_date(20)}, ["forum_day"]),
            ({"forum_day": "2026-02-30", "colour": "red"}, ["forum_day", "colour"]),
        ]
        for over, fields in cases:
            with self.subTest(body=over):
                self.assertValidation(api.call(org, "POST", "/v1/forums",
                                               fixtures.forum_body(**over)), fields)
        self.assertProblemResp(api.call(org, "POST", "/v1/forums", fixtures.forum_body(id=fid)),
                               409)
        self.assertValidation(api.call(org, "PATCH", "/v1/forums/" + fid, {"organiser": org.id}),
                              ["organiser"])
        self.assertValidation(api.call(org, "PATCH", "/v1/forums/" + fid,
                                       {"registration_opens": fixtures.vn_date(30)}),
                              ["registration_closes"])
        self.assertProblemResp(api.call(org, "PATCH", "/v1/forums/" + fid, {"venue": "X"},
                                        {"If-Match": '"1"'}), 412)
        for path in ("/v1/forums/AB", "/v1/forums/no-such-forum", "/v1/forums/a--b/open"):
            self.assertProblemResp(api.call(org, "GET" if path.count("/") == 3 else "POST",
                                            path), 404)
        for q in ("?state=done", "?province=Atlantis", "?limit=0", "?colour=red"):
            resp = api.call(org, "GET", "/v1/forums" + q)
            self.assertProblemResp(resp, 400)
        # a listing's forum must be an open forum
        self.assertValidation(api.call(village, "POST", "/v1/needs",
                                       fixtures.need_body(forum="no-such-forum")), ["forum"])
        self.assertValidation(api.call(village, "POST", "/v1/needs",
                                       fixtures.need_body(forum="ab")), ["forum"])
        self.assertValidation(api.call(village, "POST", "/v1/needs",
                                       fixtures.need_body(after_forum="close")), ["after_forum"])
        self.assertEqual(fixtures.dump_all(self.rc), before)

    # -- lists and replays ------------------------------------------------------------------

    def test_list_filters_pages_and_replay(self):
        api = self.api
        org = self.moderator(provinces=["QN"], label="qn-organiser")
        made = [api.create_forum(org, "open", provinces=["Quảng Ninh"]) for _ in range(3)]
        made.append(api.create_forum(org, "draft", provinces=["QN", "LS"]))
        ids = [f["id"] for f in made]
        got, cursor = [], None
        while True:
            q = "?province=QN&limit=1" + ("&cursor=" + cursor if cursor else "")
            status, _, page = api.call(org, "GET", "/v1/forums" + q)
            self.assertEqual(status, 200, page)
            self.assertLessEqual(len(page["items"]), 1)
            got += [f["id"] for f in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(got, ids[::-1])
        opened = api.call(org, "GET", "/v1/forums?province=QN&state=open")[2]["items"]
        self.assertEqual([f["id"] for f in opened], ids[:3][::-1])
        lang_son = api.call(org, "GET", "/v1/forums?province=" + urllib.parse.quote("Lạng Sơn"))[2]["items"]
        self.assertEqual([f["id"] for f in lang_son], [ids[3]])

        body = fixtures.forum_body()
        h = {"Idempotency-Key": fixtures.unique("idem")}
        first = api.call(org, "POST", "/v1/forums", body, h)
        self.assertStatus(first, 201)
        again = api.call(org, "POST", "/v1/forums", body, h)
        self.assertStatus(again, 201)
        self.assertEqual(again[1].get("Idempotent-Replayed"), "true")
        self.assertEqual(again[2], first[2])
        self.assertProblemResp(api.call(org, "POST", "/v1/forums", fixtures.forum_body(), h), 409)


if __name__ == "__main__":
    harness.main()
