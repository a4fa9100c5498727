"""
e2e: reputation — every account's record of keeping its word.

- A randomized run of match lifecycles (seeded: approvals, rejections,
  declines by either side, cancels by a moderator, listings closed by their
  owner or an admin, matches left to expire before or after one side
  accepted, confirmations, deliveries in full, in part or of nothing),
  after which every account's reputation is RECOMPUTED from the event log
  and the matches (docs/api.md, "Reputation", says whose record each event
  counts against) and found equal to GET /v1/accounts/{id}/reputation and
  to the engine's scores (cm:rep:scores).
- Who sees it: the route (the account, moderators, admins; 403 for other
  participants, 401 anonymous, 404 an unknown account), and the match views
  (a party sees the other party's from approval on, never on a proposal; a
  moderator of the match and admins both parties').
- The engine uses it only as a tie-breaker: two offers of equal landed cost,
  the one posted first belonging to a supplier that declined before, the
  other to one that delivered: the second wins, and its explanation says
  reputation decided.

Expiry is driven by moving a match's deadline in cm:match_expiry to 0 (the
sweeper then ends it with cm_match_expire as if its time had run out), so no
step of the run races a clock.
"""
import random

import fixtures
import harness
from fixtures import MatchHelpers, ApiTestCase, match_act, matches_all, wait_matches
from stored import events, redis_hash

MATERIALS = ("clay", "feldspar")
PARTY_STATES = ("approved", "accepted")


def zero():
    return {"confirmed": 0, "fulfilled": 0, "declined": 0, "cancelled": 0, "expired": 0,
            "quantity_fulfilled": 0, "quantity_delivered": 0}


def recompute(event_log, delivered):
    """Every account's counts, from cm:events alone (and each fulfilled
    match's delivered quantity), by the rules of docs/api.md."""
    reps = {}
    ended = set()       # listings that left the market, as of the event read
    state = {}          # match -> (state, approved, {sides that accepted})

    def add(acc, **counts):
        r = reps.setdefault(acc, zero())
        for k, v in counts.items():
            r[k] += v

    for _, f in event_log:
        t = f["type"]
        if t in ("listing.closed", "listing.expired", "listing.filled"):
            ended.add(f["listing"])
            continue
        if not t.startswith("match."):
            continue
        mid = f["match"]
        owners = {"need": f["need_owner"], "offer": f["offer_owner"]}
        side_of = {v: k for k, v in owners.items()}
        prev, approved, accepted = state.get(mid, ("", False, set()))
        by = f["by"]
        if t == "match.approved":
            approved = True
        elif t in ("match.accepted", "match.confirmed"):
            accepted = accepted | {side_of[by]}
            if t == "match.confirmed":
                for acc in owners.values():
                    add(acc, confirmed=1)
        elif t == "match.fulfilled":
            for acc in owners.values():
                add(acc, fulfilled=1, quantity_fulfilled=int(f["quantity"]),
                    quantity_delivered=delivered[mid])
        elif t == "match.declined":
            add(by, declined=1)
        elif t == "match.cancelled" and approved:
            if by in side_of:
                add(by, cancelled=1)
            elif prev in PARTY_STATES:
                gone = [s for s in ("need", "offer") if f[s] in ended]
                if gone:
                    add(owners[gone[0]], cancelled=1)
        elif t == "match.expired" and approved:
            for s in ("need", "offer"):
                if s not in accepted:
                    add(owners[s], expired=1)
        state[mid] = (f["state"], approved, accepted)
    return reps


def as_served(acc, r):
    """The document GET /v1/accounts/{id}/reputation answers for counts r."""
    kept = r["fulfilled"]
    ended = kept + r["declined"] + r["cancelled"] + r["expired"]
    return dict(r, account_id=acc,
                delivered_share={"numerator": r["quantity_delivered"],
                                 "denominator": r["quantity_fulfilled"]},
                fulfilment_rate={"numerator": kept, "denominator": ended})


class ReputationTest(MatchHelpers, ApiTestCase):
    daemon_args = ("--expiry-interval-ms", "100")

    def settle(self):
        return fixtures.wait_engine_idle(self.rc, [self.daemon])

    def expire(self, mid):
        """Its deadline passes now: the sweeper ends it (cm_match_expire)."""
        self.rc.execute("ZADD", "cm:match_expiry", "0", mid)
        harness.wait_for(lambda: redis_hash(self.rc, "cm:match:" + mid)["state"] == "expired",
                         20.0, interval=0.05, message="match %s expired" % mid)

    def act(self, actor, mid, action, body=None):
        """An action that may be refused (another step of the run moved the
        match first): a refusal is a problem and changes nothing."""
        before = redis_hash(self.rc, "cm:match:" + mid)
        status, headers, view = match_act(self.api, actor, mid, action, body)
        if status != 200:
            self.assertProblem(status, headers, view, status)
            self.assertIn(status, (403, 404, 409), view)
            self.assertEqual(redis_hash(self.rc, "cm:match:" + mid), before)
        return status

    def reputation(self, actor, acc):
        return self.api.call(actor, "GET", "/v1/accounts/%s/reputation" % acc)

    # -- the randomized run ----------------------------------------------------

    def test_randomized_lifecycles_recompute(self):
        rng = random.Random(20261203)
        villages = [self.party("village", "HN", label="lang-%d" % i) for i in range(4)]
        suppliers = [self.party("supplier", "HP", label="co-so-%d" % i) for i in range(4)]
        actor_of = {a.id: a for a in villages + suppliers}
        mod = self.moderator(provinces=["HN"], label="mod-rep")
        fates = ("reject", "leave", "expire_proposed", "cancel_proposed", "decline_need",
                 "decline_offer", "accept_then_decline", "expire_none", "expire_need",
                 "expire_offer", "close_need", "close_offer", "admin_close", "cancel_approved",
                 "fulfil_all", "fulfil_part", "fulfil_none", "cancel_confirmed", "stay")
        seen = set()
        for rnd in range(4):
            for _ in range(6):
                material = rng.choice(MATERIALS)
                if rng.random() < 0.5:
                    self.offer(rng.choice(suppliers), material, rng.randint(1, 4),
                               1000000 + 10000 * rng.randint(0, 3))
                else:
                    self.need(rng.choice(villages), material, rng.randint(1, 4))
            self.settle()
            proposed = [m for m in matches_all(self.api, self.admin, state="proposed")
                        if m["id"] not in seen and m["need"]["owner"] in actor_of]
            for m in proposed:
                seen.add(m["id"])
                mid = m["id"]
                fate = rng.choice(fates)
                village = actor_of[m["need"]["owner"]]
                supplier = actor_of[m["offer"]["owner"]]
                q = m["quantity"]["base"]
                if fate == "reject":
                    self.act(mod, mid, "reject", {"reason": "không phù hợp"})
                    continue
                if fate == "leave":
                    continue
                if fate == "expire_proposed":
                    if redis_hash(self.rc, "cm:match:" + mid)["state"] == "proposed":
                        self.expire(mid)
                    continue
                if fate == "cancel_proposed":
                    self.act(self.admin, mid, "cancel", {"reason": "trùng"})
                    continue
                if self.act(mod, mid, "approve") != 200:
                    continue
                if fate == "decline_need":
                    self.act(village, mid, "decline", {"reason": "đổi ý"})
                elif fate == "decline_offer":
                    self.act(supplier, mid, "decline", {"reason": "hết hàng"})
                elif fate == "accept_then_decline":
                    self.act(village, mid, "accept")
                    self.act(supplier, mid, "decline", {"reason": "hết hàng"})
                elif fate.startswith("expire_"):
                    if fate == "expire_need":
                        self.act(village, mid, "accept")
                    elif fate == "expire_offer":
                        self.act(supplier, mid, "accept")
                    if redis_hash(self.rc, "cm:match:" + mid)["state"] in PARTY_STATES:
                        self.expire(mid)
                elif fate == "close_need":
                    self.api.call(village, "DELETE", "/v1/listings/" + m["need"]["id"])
                elif fate == "close_offer":
                    self.api.call(supplier, "DELETE", "/v1/listings/" + m["offer"]["id"])
                elif fate == "admin_close":
                    self.api.call(self.admin, "DELETE", "/v1/listings/" +
                                  m[rng.choice(("need", "offer"))]["id"])
                elif fate == "cancel_approved":
                    self.act(self.admin, mid, "cancel", {"reason": "hai bên hủy"})
                else:
                    first, second = rng.sample([village, supplier], 2)
                    self.act(first, mid, "accept")
                    if self.act(second, mid, "accept") != 200:
                        continue
                    if fate == "fulfil_all":
                        self.act(village, mid, "fulfil")
                    elif fate == "fulfil_part":
                        self.act(village, mid, "fulfil",
                                 {"delivered": str(rng.randint(1, q)), "unit": "kg"})
                    elif fate == "fulfil_none":
                        self.act(village, mid, "fulfil", {"delivered": "0", "unit": "kg"})
                    elif fate == "cancel_confirmed":
                        self.act(self.admin, mid, "cancel", {"reason": "không giao được"})
            self.settle()

        every = matches_all(self.api, self.admin, state="any")
        delivered = {m["id"]: m["delivered_base"] for m in every if m["state"] == "fulfilled"}
        want = recompute(events(self.rc), delivered)
        # the run went every way (what the recomputation is worth)
        totals = zero()
        for r in want.values():
            for k in totals:
                totals[k] += r[k]
        for k in ("confirmed", "fulfilled", "declined", "cancelled", "expired"):
            self.assertGreater(totals[k], 0, (k, totals))
        self.assertLess(totals["quantity_delivered"], totals["quantity_fulfilled"], totals)
        for acc, actor in actor_of.items():
            expected = as_served(acc, want.get(acc, zero()))
            for viewer in (actor, self.admin, mod):
                status, _, body = self.reputation(viewer, acc)
                self.assertEqual(status, 200, body)
                self.assertEqual(body, expected, (acc, viewer))
            score = self.rc.execute("HGET", "cm:rep:scores", acc)
            if acc in want:
                self.assertEqual(score, "%d %d" % (
                    expected["fulfilment_rate"]["numerator"],
                    expected["fulfilment_rate"]["denominator"]))
            else:
                self.assertIsNone(score)

    # -- who sees it -------------------------------------------------------------

    def test_route_visibility(self):
        village, other = self.party("village", "HN"), self.party("village", "HN")
        supplier = self.party("supplier", "HP")
        mod_far = self.moderator(provinces=["CB"], label="mod-far")
        for viewer in (village, self.admin, mod_far):
            status, _, body = self.reputation(viewer, village.id)
            self.assertEqual(status, 200, body)
            self.assertEqual(body, as_served(village.id, zero()))
        for viewer in (other, supplier):
            self.assertProblemResp(self.reputation(viewer, village.id), 403)
        self.assert401(self.api.call(None, "GET", "/v1/accounts/%s/reputation" % village.id))
        self.assertProblemResp(self.reputation(self.admin, "acc_" + "0" * 20), 404)
        self.assertProblemResp(self.reputation(self.admin, "nope"), 404)

    def test_match_views(self):
        village, supplier = self.party("village", "HN"), self.party("supplier", "HP")
        mod = self.moderator(provinces=["HN"], label="mod-views")
        mod_out = self.moderator(provinces=["CB"], label="mod-out")
        offer = self.offer(supplier, "quartz_sand", 2, 900000)
        need = self.need(village, "quartz_sand", 2)
        (m,) = self.wait_for_matches(need["id"], 1)
        mid = m["id"]
        both = {"need": as_served(village.id, zero()), "offer": as_served(supplier.id, zero())}

        def one(actor):
            return self.api.call(actor, "GET", "/v1/matches/" + mid)

        def listed(actor):
            return [x for x in matches_all(self.api, actor) if x["id"] == mid]

        # proposed: the parties see neither the match nor each other's record
        for who in (village, supplier):
            self.assertProblemResp(one(who), 404)
            self.assertEqual(listed(who), [])
        for who in (mod, self.admin):
            self.assertEqual(one(who)[2]["reputation"], both)
            self.assertEqual(listed(who)[0]["reputation"], both)
        self.assertProblemResp(one(mod_out), 404)

        # approved: each party sees the other's, not its own
        self.act_ok(mod, mid, "approve", state="approved")
        self.assertEqual(one(village)[2]["reputation"], {"offer": both["offer"]})
        self.assertEqual(one(supplier)[2]["reputation"], {"need": both["need"]})
        self.assertEqual(listed(village)[0]["reputation"], {"offer": both["offer"]})
        self.assertEqual(listed(supplier)[0]["reputation"], {"need": both["need"]})
        for who in (mod, self.admin):
            self.assertEqual(one(who)[2]["reputation"], both)

        # confirmed and fulfilled: the counts move on every view at once
        self.act_ok(village, mid, "accept")
        self.act_ok(supplier, mid, "accept", state="confirmed")
        self.act_ok(village, mid, "fulfil", {"delivered": "1.5", "unit": "tan"},
                    state="fulfilled")
        got = one(village)[2]
        self.assertEqual(got["reputation"]["offer"]["fulfilled"], 1)
        self.assertEqual(got["reputation"]["offer"]["delivered_share"],
                         {"numerator": 1500, "denominator": 2000})
        self.assertEqual(got["reputation"]["offer"]["fulfilment_rate"],
                         {"numerator": 1, "denominator": 1})
        self.assertIn("counterparty", got)
        self.assertEqual(self.reputation(village, village.id)[2]["confirmed"], 1)
        self.assertEqual(offer["id"], got["offer"]["id"])


class ReputationTieBreakTest(MatchHelpers, ApiTestCase):
    """The engine's tie-break, on a daemon of its own (no other listing)."""

    def settle(self):
        return fixtures.wait_engine_idle(self.rc, [self.daemon])

    def record(self, supplier, material, fate):
        """One match of supplier's through approval, then declined by it or
        fulfilled; both listings closed after, so nothing is left open."""
        village = self.party("village", "HN")
        offer = self.offer(supplier, material, 1, 1000000)
        need = self.need(village, material, 1)
        (m,) = self.wait_for_matches(need["id"], 1)
        self.act_ok(self.admin, m["id"], "approve")
        if fate == "decline":
            self.act_ok(supplier, m["id"], "decline", {"reason": "hết hàng"})
        else:
            self.act_ok(village, m["id"], "accept")
            self.act_ok(supplier, m["id"], "accept", state="confirmed")
            self.act_ok(village, m["id"], "fulfil", state="fulfilled")
        self.settle()
        for actor, lid in ((village, need["id"]), (supplier, offer["id"])):
            if self.api.get_listing(self.admin, lid)["status"] == "open":
                self.assertStatus(self.api.call(actor, "DELETE", "/v1/listings/" + lid), 200)
        self.settle()

    def test_equal_landed_cost_goes_to_the_better_record(self):
        careless = self.party("supplier", "HP", label="careless")
        reliable = self.party("supplier", "HP", label="reliable")
        self.record(careless, "copper", "decline")
        self.record(reliable, "copper", "fulfil")
        self.assertEqual(self.rc.execute("HGET", "cm:rep:scores", careless.id), "0 1")
        self.assertEqual(self.rc.execute("HGET", "cm:rep:scores", reliable.id), "1 1")
        # the same price, the same place: equal landed cost; the careless one
        # posted first, so without reputation its offer would rank first
        first = self.offer(careless, "brass", 5, 1200000)
        second = self.offer(reliable, "brass", 5, 1200000)
        self.settle()
        need = self.need(self.party("village", "HN"), "brass", 2)
        (m,) = self.wait_for_matches(need["id"], 1)
        self.assertEqual(m["offer"]["id"], second["id"], m["explain"])
        ex = m["explain"]
        self.assertEqual(ex["tie_break"], {"by": "reputation", "chosen": {"kept": 1, "ended": 1},
                                           "runner_up": {"kept": 0, "ended": 1}})
        self.assertIn("better fulfilment record", ex["why"])
        self.assertEqual(ex["candidates"], 2)
        self.assertNotEqual(first["id"], second["id"])

    def test_a_restarted_engine_knows_the_records(self):
        """The scores come back from cm:rep:scores after a restart."""
        careless = self.party("supplier", "HP", label="careless-2")
        reliable = self.party("supplier", "HP", label="reliable-2")
        self.record(careless, "tin", "decline")
        self.record(reliable, "tin", "fulfil")
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log_tail())
        self.daemon.start()
        harness.wait_for(lambda: self.daemon.metrics().value("craftmatch_engine_ready") == 1,
                         30.0, interval=0.1, message="the engine is ready again")
        self.offer(careless, "feldspar", 5, 1200000)
        second = self.offer(reliable, "feldspar", 5, 1200000)
        self.settle()
        need = self.need(self.party("village", "HN"), "feldspar", 2)
        (m,) = self.wait_for_matches(need["id"], 1)
        self.assertEqual(m["offer"]["id"], second["id"], m["explain"])
        self.assertEqual(m["explain"]["tie_break"]["by"], "reputation")


if __name__ == "__main__":
    harness.main()
