"""
e2e: the matching engine under load, randomised — two engines on one Redis,
concurrent clients, and every invariant checked from Redis afterwards.

The world, its threads and its checks are RandomWorld; EngineRandomTest
runs them on one Redis, tests/cluster/test_engine_failover.py on a primary
that fails over twice in the middle of the run.

Seeded and reproducible: the seed is printed; CRAFTMATCH_TEST_SEED=<n>
replays the same accounts, listings, changes and decisions (which listing
or match a change or decision lands on, and the interleaving of threads
and of the two engines, are the operating system's).

The world: one Redis, two craftmatchd --role all (two engines, two API
front ends), villages and suppliers in ten northern
provinces. Four posting threads send a few hundred needs and offers to
either daemon: eight materials (two substitute pairs, a silk scale 6A…A,
timber in dm³/m³, bamboo by the pole), grades, prices quoted per kg, tạ,
tấn, m³ or cây, quantities, minimum orders, distance limits, coordinates
or not, delivery windows (a few ending within seconds), substitutes
accepted or not. Meanwhile one thread PATCHes (quantity, price, minimum
order, distance, and the end date to a few seconds away, so listings
expire with matches under way) and closes listings, and one plays
moderator and parties: approves, rejects, cancels, accepts, declines and
fulfils (partial deliveries too, and whole ones that fill listings); a
step on a match that a close or an expiry cancelled meanwhile is a 409.
Then it waits until every end given seconds ahead has passed and been swept,
and until both engines have settled (queues empty, counters and
cm:events still) and stops them.

Proves, from Redis directly:
- No over-allocation (invariant 3): for every listing remaining >= 0 and
  quantity - remaining == the sum of its proposed/approved/accepted/
  confirmed matches' quantities + what its fulfilled matches delivered;
  so every released quantity came back, exactly once.
- No match breaks a hard filter, re-checked from the listings as they were
  when the match was proposed (their version then, replayed from the event
  log): material or accepted substitute, grade, maximum price
  cross-multiplied across price units, minimum order, delivery window,
  distances (recomputed here as the server does) within both limits,
  different owners; and the explanation's costs add up for that version.
- Ended listings: a closed, expired or filled listing has no match left
  proposed, approved or accepted; a filled one has remaining 0 and its
  fulfilled matches delivered its whole quantity; an open one less than
  that.
- Re-matching: a pair is proposed again after a failed match (rejected,
  declined, cancelled, expired, nothing delivered) only when one of the two
  listings has a new version since the failure; cm:pairs:failed is exactly
  the failures of open pairs the replay leaves.
- The two engines' craftmatch_engine_proposals_total add up to at most the
  number of matches, and at least it less their craftmatch_engine_unknown_total
  (proposals of calls that failed, which Redis may have made); each engine's
  index holds exactly the open listings, and its queue is empty.
- Every acknowledged write is there: each listing at or past the version
  its last answer gave, each decided match at or past its decision's.
- The event log is consistent with the final state (invariant 4): replaying
  cm:events, each match.* event's need/offer remaining equals the replayed
  value, no remaining ever goes below 0, each listing ends with the
  remaining, status and version its hash holds, each match's events are one
  per version along legal transitions and end in its hash's state; a
  listing's end is followed, in the same step, by the cancellation of its
  unconfirmed matches (reason listing_closed / listing_expired).
"""
import collections
import json
import os
import random
import sys
import threading
import time

import fixtures
import harness

SEED = int(os.environ.get("CRAFTMATCH_TEST_SEED") or random.SystemRandom().randrange(1, 2**31))

N_POSTERS = 4
N_LISTINGS = 320  # needs and offers together
N_VILLAGES = 10
N_SUPPLIERS = 10
PROVINCES = ("HN", "HP", "BN", "HY", "NB", "PT", "TN", "QN", "LS", "TQ")
SETTLE_TIMEOUT = 180.0
DEADLINE_SLACK_MS = 2000  # a plan's clock reading precedes the write by a moment

# material: (base price per base unit in VND, [(unit, factor)], quantity range in base units)
MATERIALS = {
    "clay": (1500, [("kg", 1), ("ta", 100), ("tan", 1000)], (500, 30000)),
    "kaolin": (2200, [("kg", 1), ("tan", 1000)], (1000, 40000)),
    "white_clay": (1900, [("kg", 1), ("tan", 1000)], (1000, 40000)),
    "sedge": (9000, [("kg", 1), ("yen", 10), ("ta", 100)], (100, 5000)),
    "seagrass": (8000, [("kg", 1), ("ta", 100)], (100, 5000)),
    "silk_yarn": (1200000, [("kg", 1)], (5, 300)),
    "timber_go_lim": (30000, [("dm3", 1), ("m3", 1000)], (500, 20000)),
    "bamboo_luong": (45000, [("cay", 1)], (50, 3000)),
}

TRANSITIONS = {  # event type -> states it may leave
    "match.approved": {"proposed"},
    "match.rejected": {"proposed"},
    "match.accepted": {"approved"},
    "match.confirmed": {"accepted"},
    "match.declined": {"approved", "accepted"},
    "match.fulfilled": {"confirmed"},
    "match.cancelled": {"proposed", "approved", "accepted", "confirmed"},
    "match.expired": {"proposed", "approved", "accepted"},
}
RELEASING = {"match.rejected", "match.declined", "match.cancelled", "match.expired"}
ENDED = {"closed", "expired", "filled"}
UNCONFIRMED = {"proposed", "approved", "accepted"}


class Shared:
    """What the threads share, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.listings = {}  # id -> (kind, owner Actor)
        self.views = collections.defaultdict(dict)  # id -> {version: view}
        self.errors = []
        self.stop = threading.Event()
        self.counts = collections.Counter()
        self.ends_by = 0  # the latest end (ms) given seconds ahead, as posted or patched
        self.decisions = {}  # match id -> the latest version a decision on it was answered with

    def ended_by(self, ms):
        with self.lock:
            self.ends_by = max(self.ends_by, ms)

    def record(self, view):
        with self.lock:
            self.views[view["id"]][view["version"]] = view

    def decided(self, mid, version):
        with self.lock:
            self.decisions[mid] = max(version, self.decisions.get(mid, 0))

    def fail(self, what):
        with self.lock:
            self.errors.append(what)


def ms_of(text):
    return fixtures.rfc3339_to_ms(text)


class RandomWorld(fixtures.MatchHelpers):
    """The world, its threads and its checks, for a test case that has set up
    self.daemons (craftmatchd --role all: two engines, two API front ends on
    one truth), self.api, self.admin and self.rng, and whose self.rc is a
    client of the Redis that holds the truth when settle_and_check reads it.

    EngineRandomTest runs it on one Redis. tests/cluster/test_engine_failover.py
    runs the same world on a Sentinel-watched primary that fails over in the
    middle, through clients that retry 503 answers; the hooks below are what
    that run changes, and the world and every check stay these.
    """

    # -- hooks ----------------------------------------------------------------------

    def http_client(self, daemon):
        """The connection a thread sends its requests to daemon on."""
        return daemon.client(timeout=30.0)

    def before_post(self, i, n):
        """A poster is about to send the i-th of its n listings."""

    def patch_headers(self, view):
        """Headers of a PATCH made on the listing the mutator knows as view."""
        return None

    def post_unsettled(self, shared, kind, actor, body, status, answer):
        """A POST of the plan not answered 201: True when the run accounts
        for it itself, False (here: always) when it is an error."""
        return False

    def patch_unsettled(self, shared, patch, status, answer):
        """A PATCH answered neither 200 nor 409/412: True when the run
        accounts for it itself, False (here: always) when it is an error."""
        return False

    def while_running(self, shared):
        """Runs in the main thread while the threads post, change and decide."""

    def before_freeze(self, shared):
        """Runs once the engines have settled, before the daemons stop."""

    # -- the world ----------------------------------------------------------------

    def load_reference(self):
        self.mats = self.api.materials()
        status, _, body = self.api.call(None, "GET", "/v1/provinces")
        self.centres = {p["code"]: (fixtures.udeg(p["centre"]["lat"]),
                                    fixtures.udeg(p["centre"]["lon"]))
                        for p in body["provinces"]}

    def msg(self, text):
        return "%s [seed=%d]" % (text, SEED)

    def make_parties(self):
        rng = self.rng
        self.villages = [self.party("village", rng.choice(PROVINCES), label="v%d" % i)
                         for i in range(N_VILLAGES)]
        self.suppliers = [self.party("supplier", rng.choice(PROVINCES), label="s%d" % i)
                          for i in range(N_SUPPLIERS)]
        self.accounts = {a.id: a for a in self.villages + self.suppliers}

    def location(self, rng, province):
        lat, lon = self.centres[province]
        return {"lat": round(lat / 1e6 + rng.uniform(-0.25, 0.25), 4),
                "lon": round(lon / 1e6 + rng.uniform(-0.25, 0.25), 4)}

    def amount(self, rng, material, lo=None, hi=None):
        """(amount text, unit, base) within the material's range."""
        _, units, (qlo, qhi) = MATERIALS[material]
        lo, hi = lo or qlo, hi or qhi
        for _ in range(20):
            unit, factor = rng.choice(units)
            if hi // factor >= max(1, -(-lo // factor)):
                n = rng.randint(max(1, -(-lo // factor)), hi // factor)
                return str(n), unit, n * factor
        return str(lo), units[0][0], lo * units[0][1]

    def price(self, rng, material, lo, hi):
        base, units, _ = MATERIALS[material]
        unit, factor = rng.choice(units)
        return max(1, int(base * factor * rng.uniform(lo, hi))), unit

    def grade(self, rng, material):
        return rng.choice(self.mats[material]["grades"])

    def need_body(self, rng, village):
        m = rng.choice(list(MATERIALS))
        amount, unit, _ = self.amount(rng, m)
        province = rng.choice(PROVINCES) if rng.random() < 0.3 else village.province
        body = {"material": m, "quantity": amount, "unit": unit, "province": province,
                "needed_by": fixtures.vn_date(rng.randint(5, 90))}
        if rng.random() < 0.05:
            body["needed_by"] = ("in", rng.uniform(4, 20))  # resolved when posted
        if rng.random() < 0.6:
            body["grade"] = self.grade(rng, m)
        if rng.random() < 0.7:
            body["price_vnd"], body["price_unit"] = self.price(rng, m, 0.9, 1.5)
        if rng.random() < 0.5:
            body["max_distance_km"] = rng.randint(60, 600)
        if rng.random() < 0.5:
            body["accept_substitutes"] = True
        if rng.random() < 0.4:
            body["location"] = self.location(rng, province)
        return body

    def offer_body(self, rng, supplier):
        m = rng.choice(list(MATERIALS))
        amount, unit, _ = self.amount(rng, m)
        province = rng.choice(PROVINCES) if rng.random() < 0.3 else supplier.province
        price, price_unit = self.price(rng, m, 0.7, 1.3)
        body = {"material": m, "grade": self.grade(rng, m), "quantity": amount, "unit": unit,
                "price_vnd": price, "price_unit": price_unit, "province": province}
        if rng.random() < 0.4:  # in the offer's unit, at most half the quantity
            body["min_order"] = str(rng.randint(1, max(1, int(amount) // 2)))
        if rng.random() < 0.3:
            body["available_from"] = fixtures.vn_date(rng.randint(0, 40))
        if rng.random() < 0.5:
            body["available_until"] = fixtures.vn_date(rng.randint(45, 150))
        if rng.random() < 0.05:
            body.pop("available_from", None)
            body["available_until"] = ("in", rng.uniform(4, 20))
        if rng.random() < 0.3:
            body["max_distance_km"] = rng.randint(60, 600)
        if rng.random() < 0.4:
            body["location"] = self.location(rng, province)
        return body

    # -- the threads --------------------------------------------------------------

    def poster(self, k, shared, plan):
        rng = random.Random(SEED * 101 + k)
        clients = [self.http_client(d) for d in self.daemons]
        try:
            for i, (kind, actor, body) in enumerate(plan):
                self.before_post(i, len(plan))
                # a deadline seconds away is taken from the clock at posting time
                soon = {k: fixtures.rfc3339_in(v[1]) for k, v in body.items()
                        if isinstance(v, tuple)}
                body = dict(body, **{k: text for k, (text, _) in soon.items()})
                c = rng.choice(clients)
                status, _, view = c.request("POST", "/v1/%ss" % kind, body=body,
                                            token=actor.token)
                if status != 201:
                    if not self.post_unsettled(shared, kind, actor, body, status, view):
                        shared.fail("POST %s %r -> %d %r" % (kind, body, status, view))
                    continue
                for _, ms in soon.values():
                    shared.ended_by(ms)
                with shared.lock:
                    shared.listings[view["id"]] = (kind, actor)
                    shared.counts["posted"] += 1
                shared.record(view)
                if rng.random() < 0.3:
                    time.sleep(rng.uniform(0, 0.02))
        except Exception as e:  # surfaced by the main thread
            shared.fail("poster %d: %r" % (k, e))
        finally:
            for c in clients:
                c.close()

    def mutator(self, shared):
        rng = random.Random(SEED * 101 + 50)
        clients = [self.http_client(d) for d in self.daemons]
        try:
            rounds = 0
            while not shared.stop.is_set() and rounds < 400:
                rounds += 1
                time.sleep(rng.uniform(0.01, 0.05))
                with shared.lock:
                    ids = sorted(shared.listings)
                if not ids:
                    continue
                lid = rng.choice(ids)
                kind, owner = shared.listings[lid]
                with shared.lock:
                    cur = shared.views[lid][max(shared.views[lid])]
                if cur["status"] != "open":
                    continue
                c = rng.choice(clients)
                if rng.random() < 0.12:
                    status, _, body = c.request("DELETE", "/v1/listings/" + lid,
                                                token=owner.token)
                    if status == 200:
                        shared.record(body)
                        shared.counts["closed"] += 1
                    elif status != 409:
                        shared.fail("DELETE %s -> %d %r" % (lid, status, body))
                    continue
                m = cur["material"]["code"]
                patch, ends = {}, 0
                r = rng.random()
                now_ms = int(time.time() * 1000)
                if r < 0.06 and (kind == "need" or ms_of(cur["available_from"]) <= now_ms):
                    # ends within seconds, maybe with matches under way
                    patch["needed_by" if kind == "need" else "available_until"], ends = \
                        fixtures.rfc3339_in(rng.uniform(2, 8))
                elif r < 0.4:
                    amount, unit, _ = self.amount(rng, m)
                    patch = {"quantity": amount, "unit": unit}
                    if kind == "offer" and "min_order" in cur:
                        patch["min_order"] = None
                elif r < 0.7:
                    lo, hi = (0.9, 1.5) if kind == "need" else (0.7, 1.3)
                    patch["price_vnd"], patch["price_unit"] = self.price(rng, m, lo, hi)
                elif r < 0.85:
                    patch["max_distance_km"] = rng.choice([None, rng.randint(60, 600)])
                elif kind == "offer":
                    q = cur["quantity"]
                    patch["min_order"] = rng.choice(
                        [None, str(rng.randint(1, max(1, int(q["amount"].split(".")[0]) // 2)))])
                    if patch["min_order"] is not None:
                        patch["unit"] = q["unit"]
                        patch["quantity"] = q["amount"]
                else:
                    patch["note"] = "ghi chú %d" % rng.randint(0, 10**6)
                status, _, body = c.request("PATCH", "/v1/listings/" + lid, body=patch,
                                            headers=self.patch_headers(cur), token=owner.token)
                if status == 200:
                    shared.record(body)
                    shared.counts["patched"] += 1
                    shared.ended_by(ends)
                elif status in (409, 412):
                    # below what is allocated, or closed; 412: If-Match (patch_headers)
                    shared.counts["patch_%d" % status] += 1
                elif not self.patch_unsettled(shared, patch, status, body):
                    shared.fail("PATCH %s %r -> %d %r" % (lid, patch, status, body))
        except Exception as e:
            shared.fail("mutator: %r" % (e,))
        finally:
            for c in clients:
                c.close()

    def reviewer(self, shared):
        """Moderator and parties: every decision a real round would make."""
        rng = random.Random(SEED * 101 + 70)
        clients = [self.http_client(d) for d in self.daemons]
        admin = self.admin

        def act(c, who, mid, action, body=None):
            status, _, view = c.request("POST", "/v1/matches/%s/%s" % (mid, action), body=body,
                                        token=who.token)
            if status == 200:
                shared.counts[action] += 1
                shared.decided(mid, view["version"])
                return status
            if status == 409:  # a close or an expiry may have cancelled it meanwhile
                _, _, now = c.request("GET", "/v1/matches/" + mid, token=admin.token)
                if now.get("state") == "cancelled" and now.get("reason") in (
                        "listing_closed", "listing_expired"):
                    shared.counts["raced_listing_end"] += 1
                    return status
            shared.fail("%s %s by %s -> %d %r" % (action, mid, who, status, view))
            return status

        try:
            rounds = 0
            while not shared.stop.is_set() and rounds < 300:
                rounds += 1
                time.sleep(rng.uniform(0.02, 0.08))
                c = rng.choice(clients)
                state = rng.choice(["proposed", "proposed", "approved", "accepted", "confirmed"])
                status, _, page = c.request("GET", "/v1/matches?state=%s&limit=20" % state,
                                            token=admin.token)
                if status != 200:
                    shared.fail("GET matches -> %d %r" % (status, page))
                    continue
                for m in page["items"]:
                    if rng.random() < 0.5:
                        continue
                    mid = m["id"]
                    village = self.accounts[m["need"]["owner"]]
                    supplier = self.accounts[m["offer"]["owner"]]
                    r = rng.random()
                    if state == "proposed":
                        if r < 0.6:
                            act(c, admin, mid, "approve")
                        elif r < 0.85:
                            act(c, admin, mid, "reject", {"reason": "Không đạt yêu cầu"})
                        else:
                            act(c, admin, mid, "cancel", {"reason": "Trùng"})
                    elif state == "approved":
                        who = village if r < 0.5 else supplier
                        act(c, who, mid, "accept" if rng.random() < 0.8 else "decline")
                    elif state == "accepted":
                        who = supplier if m["accepted"]["need"] else village
                        act(c, who, mid, "accept" if r < 0.8 else "decline")
                    else:
                        if r < 0.15:
                            act(c, admin, mid, "cancel", {"reason": "Hai bên hủy"})
                        else:
                            q = m["quantity"]["base"]
                            d = q if rng.random() < 0.6 else rng.randint(1, q)
                            act(c, village, mid, "fulfil", {"delivered": str(d)})
        except Exception as e:
            shared.fail("reviewer: %r" % (e,))
        finally:
            for c in clients:
                c.close()

    # -- the run ----------------------------------------------------------------------

    def run_random_world(self):
        """Posts, changes and decides; then waits for the world to settle and checks it."""
        self.make_parties()
        rng = self.rng
        plans = [[] for _ in range(N_POSTERS)]
        for i in range(N_LISTINGS):
            if rng.random() < 0.5:
                v = rng.choice(self.villages)
                plans[i % N_POSTERS].append(("need", v, self.need_body(rng, v)))
            else:
                s = rng.choice(self.suppliers)
                plans[i % N_POSTERS].append(("offer", s, self.offer_body(rng, s)))
        shared = Shared()
        threads = [threading.Thread(target=self.poster, args=(k, shared, plans[k]))
                   for k in range(N_POSTERS)]
        helpers = [threading.Thread(target=self.mutator, args=(shared,)),
                   threading.Thread(target=self.reviewer, args=(shared,))]
        for t in threads + helpers:
            t.start()
        try:
            self.while_running(shared)
        finally:
            for t in threads:
                t.join(SETTLE_TIMEOUT)
            time.sleep(2.0)  # let changes and decisions run on a little after the last post
            shared.stop.set()
            for t in helpers:
                t.join(SETTLE_TIMEOUT)
        self.assertFalse(any(t.is_alive() for t in threads + helpers), self.msg("threads hung"))
        self.assertEqual(shared.errors, [], self.msg("client errors"))
        self.assertEqual(shared.counts["posted"] + shared.counts["post_unsettled"], N_LISTINGS,
                         self.msg("posted"))
        self.settle_and_check(shared)
        return shared

    def settle_and_check(self, shared):
        # Every end given seconds ahead passes, and the expiry sweep ends
        # those listings, before the state is frozen: the run ends listings
        # by expiry whatever its pace.
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while (time.time() * 1000 <= shared.ends_by or
               int(self.rc.execute("ZCOUNT", "cm:expiry", "-inf", str(shared.ends_by)))):
            self.assertLess(time.monotonic(), deadline, self.msg("listings left unexpired"))
            time.sleep(0.1)
        fixtures.wait_engine_idle(self.rc, self.daemons, quiet=3.0, timeout=SETTLE_TIMEOUT)
        self.before_freeze(shared)
        per_engine = [(d.metric("craftmatch_engine_proposals_total"),
                       d.metric("craftmatch_engine_refused_total")) for d in self.daemons]
        proposals = sum(p for p, _ in per_engine)
        # A propose call that failed (a deadline missed; with sentinels also the
        # link lost or a write not confirmed) may still have been carried out:
        # the engine counts its proposals as unknown, never as proposed.
        uncounted = sum(d.metric("craftmatch_engine_unknown_total") for d in self.daemons)
        open_listings = self.rc.execute("ZCARD", "cm:listings:status:open")
        for d in self.daemons:
            m = d.metrics()
            self.assertEqual(m.value("craftmatch_engine_queue"), 0, self.msg("queue"))
            self.assertEqual(m.value("craftmatch_engine_rounds_in_flight"), 0, self.msg("rounds"))
            # every reservation of a round was given back (none leaks stock from planning)
            self.assertEqual(m.value("craftmatch_engine_reserved_base_units"), 0,
                             self.msg("reserved"))
            self.assertEqual(m.value("craftmatch_engine_listings"), open_listings,
                             self.msg("an engine's index vs the open listings in Redis"))
        # freeze Redis: stop both daemons (each must exit 0, sanitizers clean)
        for d in self.daemons:
            self.assertEqual(d.stop(), 0, self.msg("craftmatchd exit"))
            d.check_sanitizers()

        listings, matches = self.load_state(shared)
        sys.stderr.write("test_engine_random: %d listings, %d matches (%s), actions %s, "
                         "engines (proposed, refused) %r\n" % (
                             len(listings), len(matches),
                             dict(collections.Counter(m["state"] for m in matches.values())),
                             dict(shared.counts), per_engine))
        self.assertGreater(len(matches), 20, self.msg("too few matches to prove anything"))
        self.assertLessEqual(proposals, len(matches),
                             self.msg("the engines' proposals_total vs matches in Redis"))
        self.assertLessEqual(len(matches), proposals + uncounted,
                             self.msg("matches in Redis vs the engines' proposals_total "
                                      "and proposals they could not count (%d)" % uncounted))
        self.check_acknowledged(shared, listings, matches)
        self.check_allocation(listings, matches)
        self.check_ended(listings, matches)
        versions_at = self.check_event_log(listings, matches)
        self.check_filters(shared, listings, matches, versions_at)
        self.report_left_unmatched(shared, listings)

    # -- checks -------------------------------------------------------------------------

    def load_state(self, shared):
        listings = {}
        for lid in self.rc.execute("ZRANGE", "cm:listings", 0, -1):
            h = fixtures.redis_hash(self.rc, "cm:listing:" + lid)
            h["doc"] = json.loads(h["doc"])
            listings[lid] = h
        self.assertEqual(set(listings), set(shared.listings), self.msg("listings in Redis"))
        matches = fixtures.stored_matches(self.rc)
        self.assertEqual(len(matches), int(self.rc.execute("GET", "cm:seq:matches") or 0),
                         self.msg("every match written is indexed"))
        return listings, matches

    def check_acknowledged(self, shared, listings, matches):
        """Every acknowledged write is there: each listing at or past the
        latest version an answer gave it, each decided match at or past the
        version its decision was answered with."""
        for lid, versions in shared.views.items():
            self.assertGreaterEqual(int(listings[lid]["version"]), max(versions),
                                    self.msg("listing %s lost an acknowledged change" % lid))
        for mid, version in shared.decisions.items():
            self.assertIn(mid, matches, self.msg("decided match %s is gone" % mid))
            self.assertGreaterEqual(int(matches[mid]["version"]), version,
                                    self.msg("match %s lost an acknowledged decision" % mid))
        sys.stderr.write("test_engine_random: acknowledged and present: %d listings (%d "
                         "versions), %d decided matches\n" % (
                             len(shared.views), sum(len(v) for v in shared.views.values()),
                             len(shared.decisions)))

    def check_allocation(self, listings, matches):
        held = collections.Counter()
        for mid, m in matches.items():
            q = int(m["quantity"])
            if m["state"] in fixtures.MATCH_HOLDING:
                take = q
            elif m["state"] == "fulfilled":
                take = int(m["delivered"])
                self.assertTrue(0 <= take <= q, self.msg("delivered %r" % m))
            else:
                take = 0
            held[m["need"]] += take
            held[m["offer"]] += take
        for lid, h in listings.items():
            rem, qty = int(h["remaining"]), int(h["quantity"])
            self.assertGreaterEqual(rem, 0, self.msg("remaining of %s" % lid))
            self.assertEqual(qty - rem, held[lid],
                             self.msg("over- or under-allocated %s (%s, %s): quantity %d "
                                      "remaining %d, matches hold %d" % (
                                          lid, h["kind"], h["status"], qty, rem, held[lid])))

    def check_ended(self, listings, matches):
        """A listing that ended holds no unconfirmed match; filled means all delivered."""
        live = collections.defaultdict(list)
        delivered = collections.Counter()
        for mid, m in matches.items():
            if m["state"] in UNCONFIRMED:
                live[m["need"]].append(mid)
                live[m["offer"]].append(mid)
            elif m["state"] == "fulfilled":
                delivered[m["need"]] += int(m["delivered"])
                delivered[m["offer"]] += int(m["delivered"])
        counts = collections.Counter(h["status"] for h in listings.values())
        for lid, h in listings.items():
            where = self.msg("%s %s %s" % (h["kind"], lid, h["status"]))
            if h["status"] in ENDED:
                self.assertEqual(live[lid], [], where + ": unconfirmed matches left")
            if h["status"] == "filled":
                self.assertEqual(int(h["remaining"]), 0, where)
                self.assertEqual(delivered[lid], int(h["quantity"]), where)
            elif h["status"] == "open":
                self.assertLess(delivered[lid], int(h["quantity"]), where + ": not filled")
            self.assertEqual(int(h.get("fulfilled", 0)), delivered[lid], where + ": fulfilled")
        sys.stderr.write("test_engine_random: listings by status %s\n" % dict(counts))
        for status in ("closed", "expired"):
            self.assertGreater(counts[status], 0, self.msg("no listing was " + status))

    def check_event_log(self, listings, matches):
        """Replays cm:events; returns {match id: (need version, offer version)} at proposal."""
        rem, version, status = {}, {}, {}
        mstate, mversion = {}, {}
        at = {}
        failed = {}  # (need, offer) -> (need version, offer version) at the failure
        expect_cancel = []  # [(match id, by, reason)]: what a listing's end cancels next
        n_events = 0
        rematched = 0
        for eid, f in fixtures.events(self.rc):
            n_events += 1
            t = f["type"]
            where = self.msg("event %s %r" % (eid, f))
            if expect_cancel:
                mid, by, reason = expect_cancel.pop(0)
                self.assertEqual((t, f.get("match"), f["by"]), ("match.cancelled", mid, by),
                                 where + ": the end of a listing cancels its unconfirmed matches")
                self.assertEqual(matches[mid]["reason"], reason, where)
            if t.startswith("listing."):
                lid = f["listing"]
                if lid not in listings:
                    continue
                if t == "listing.created":
                    self.assertNotIn(lid, rem, where)
                    self.assertEqual((f["version"], f["status"]), ("1", "open"), where)
                elif t == "listing.updated":
                    self.assertEqual(int(f["version"]), version[lid] + 1, where)
                elif t in ("listing.closed", "listing.expired", "listing.filled"):
                    self.assertEqual(int(f["remaining"]), rem[lid], where)
                    self.assertEqual(int(f["version"]), version[lid] + 1, where)
                    self.assertEqual(f["status"], t.split(".")[1], where)
                    self.assertEqual(status[lid], "open", where)
                    live = sorted((int(matches[mid]["seq"]), mid) for mid, st in mstate.items()
                                  if st in UNCONFIRMED and lid in (matches[mid]["need"],
                                                                   matches[mid]["offer"]))
                    if t == "listing.filled":
                        self.assertEqual(live, [], where + ": filled with matches under way")
                    expect_cancel = [(mid, f["by"], "listing_" + f["status"]) for _, mid in live]
                    for pair in [p for p in failed if lid in p]:
                        del failed[pair]
                rem[lid] = int(f["remaining"])
                version[lid] = int(f["version"])
                status[lid] = f["status"]
            elif t.startswith("match."):
                mid = f["match"]
                m = matches[mid]
                q = int(f["quantity"])
                self.assertEqual(q, int(m["quantity"]), where)
                n, o = f["need"], f["offer"]
                if t == "match.proposed":
                    self.assertNotIn(mid, mstate, where)
                    self.assertEqual(f["version"], "1", where)
                    at[mid] = (version[n], version[o])
                    # a failed pair comes back only after one side changed
                    was = failed.pop((n, o), None)
                    self.assertNotEqual(was, at[mid], where + ": failed pair proposed again "
                                        "with neither listing changed")
                    rematched += was is not None
                    self.assertEqual(status[n], "open", where)
                    self.assertEqual(status[o], "open", where)
                    rem[n] -= q
                    rem[o] -= q
                else:
                    self.assertIn(mstate.get(mid), TRANSITIONS[t], where)
                    self.assertEqual(int(f["version"]), mversion[mid] + 1, where)
                    if t in RELEASING:
                        rem[n] += q
                        rem[o] += q
                    elif t == "match.fulfilled":
                        rem[n] += q - int(m["delivered"])
                        rem[o] += q - int(m["delivered"])
                    if (t in RELEASING or (t == "match.fulfilled" and m["delivered"] == "0")) \
                            and status[n] == "open" and status[o] == "open":
                        failed[(n, o)] = (version[n], version[o])
                mstate[mid] = f["state"]
                mversion[mid] = int(f["version"])
                self.assertEqual(f["state"], {"match.proposed": "proposed"}.get(
                    t, t.split(".")[1]), where)
                self.assertEqual(int(f["need_remaining"]), rem[n], where)
                self.assertEqual(int(f["offer_remaining"]), rem[o], where)
                self.assertGreaterEqual(rem[n], 0, where)
                self.assertGreaterEqual(rem[o], 0, where)
        self.assertEqual(expect_cancel, [], self.msg("cancellations missing at the end"))
        self.assertLess(n_events, 1000000, "the stream was trimmed; replay impossible")
        self.assertEqual(fixtures.failed_pairs(self.rc), failed, self.msg("cm:pairs:failed"))
        sys.stderr.write("test_engine_random: %d failed pair(s) proposed again after a change, "
                         "%d waiting\n" % (rematched, len(failed)))
        for lid, h in listings.items():
            self.assertEqual(rem[lid], int(h["remaining"]), self.msg("replayed remaining " + lid))
            self.assertEqual(version[lid], int(h["version"]), self.msg("version " + lid))
            self.assertEqual(status[lid], h["status"], self.msg("status " + lid))
        for mid, m in matches.items():
            self.assertEqual(mstate.get(mid), m["state"], self.msg("state of " + mid))
            self.assertEqual(mversion.get(mid), int(m["version"]), self.msg("version of " + mid))
        return at

    def distance(self, a, b):
        """Road km between two stored listings, as common/matching.c measures it."""
        la, lb = a["doc"].get("location"), b["doc"].get("location")
        pa, pb = a["doc"]["province"], b["doc"]["province"]
        pta = (la["lat_udeg"], la["lon_udeg"]) if la else self.centres[pa]
        ptb = (lb["lat_udeg"], lb["lon_udeg"]) if lb else self.centres[pb]
        km = fixtures.geo_road_km(pta[0], pta[1], ptb[0], ptb[1])
        if not (la and lb) and pa == pb and km < 30:
            km = 30
        return km

    def rank(self, material, grade):
        grades = self.mats[material]["grades"]
        return len(grades) - grades.index(grade) if grade in grades else None

    def check_filters(self, shared, listings, matches, versions_at):
        checked = 0
        for mid, m in matches.items():
            nv, ov = versions_at[mid]
            need = shared.views[m["need"]].get(nv)
            offer = shared.views[m["offer"]].get(ov)
            where = self.msg("match %s (need %s v%d, offer %s v%d, %s)" % (
                mid, m["need"], nv, m["offer"], ov, m["state"]))
            self.assertIsNotNone(need, where + ": no record of the need at that version")
            self.assertIsNotNone(offer, where + ": no record of the offer at that version")
            q = int(m["quantity"])
            created = int(m["created_at"])
            self.assertEqual((need["kind"], offer["kind"]), ("need", "offer"), where)
            self.assertNotEqual(need["owner"]["id"], offer["owner"]["id"], where)
            nm, om = need["material"]["code"], offer["material"]["code"]
            if nm != om:
                self.assertTrue(need.get("accept_substitutes"), where + ": substitute refused")
                self.assertIn(om, self.mats[nm]["substitutes"], where + ": not a substitute")
            if need.get("grade"):
                self.assertGreaterEqual(self.rank(om, offer["grade"]),
                                        self.rank(om, need["grade"]), where + ": grade")
            if need.get("price"):
                self.assertLessEqual(offer["price"]["vnd"] * need["price"]["factor"],
                                     need["price"]["vnd"] * offer["price"]["factor"],
                                     where + ": price")
            if offer.get("min_order"):
                self.assertGreaterEqual(q, offer["min_order"]["base"], where + ": min order")
            self.assertGreater(q, 0, where)
            self.assertLessEqual(q, need["quantity"]["base"], where)
            self.assertLessEqual(q, offer["quantity"]["base"], where)
            needed_by = ms_of(need["needed_by"])
            self.assertLessEqual(ms_of(offer["available_from"]), needed_by,
                                 where + ": available after the deadline")
            self.assertGreater(needed_by, created - DEADLINE_SLACK_MS, where + ": need past due")
            if offer.get("available_until"):
                self.assertGreater(ms_of(offer["available_until"]),
                                   created - DEADLINE_SLACK_MS, where + ": offer past due")
            doc = json.loads(m["doc"])
            ex = doc["explain"]
            # recomputed here with the same formula; +-1 km only for a float
            # rounding right at a kilometre boundary
            mine = self.distance(listings[m["need"]], listings[m["offer"]])
            km = ex["distance_km"]
            self.assertLessEqual(abs(km - mine), 1, where + ": distance %d, here %d" % (km, mine))
            for side in (need, offer):
                if side.get("max_distance_km"):
                    self.assertLessEqual(km, side["max_distance_km"],
                                         where + ": beyond %s's limit" % side["kind"])
            fixtures.check_explain_numbers(self, ex, q, offer["price"]["vnd"],
                                           offer["price"]["factor"], km,
                                           mass_g=self.mats[om]["mass_g"])
            self.assertEqual(ex["substitute"], nm != om, where)
            checked += 1
        self.assertEqual(checked, len(matches))

    def report_left_unmatched(self, shared, listings):
        """Diagnostic only (the engine's completeness is not asserted here):
        open pairs, never proposed, that pass every filter now with enough
        on both sides for the offer's minimum order. Each is stock the
        engine left on the table (see test_matches: test_rematch_with_another_offer)."""
        now = int(time.time() * 1000)
        failed = fixtures.failed_pairs(self.rc)
        latest = {lid: v[max(v)] for lid, v in shared.views.items()}
        open_ = {lid: h for lid, h in listings.items()
                 if h["status"] == "open" and int(h["remaining"]) > 0}
        left = []
        for nid, nh in open_.items():
            if nh["kind"] != "need":
                continue
            need = latest[nid]
            for oid, oh in open_.items():
                if oh["kind"] != "offer" or failed.get((nid, oid)) == (
                        int(nh["version"]), int(oh["version"])):
                    continue
                offer = latest[oid]
                nm, om = need["material"]["code"], offer["material"]["code"]
                if nm != om and not (need.get("accept_substitutes") and
                                     om in self.mats[nm]["substitutes"]):
                    continue
                if need["owner"]["id"] == offer["owner"]["id"]:
                    continue
                if need.get("grade") and self.rank(om, offer["grade"]) < self.rank(
                        om, need["grade"]):
                    continue
                if need.get("price") and offer["price"]["vnd"] * need["price"]["factor"] > \
                        need["price"]["vnd"] * offer["price"]["factor"]:
                    continue
                q = min(int(nh["remaining"]), int(oh["remaining"]))
                if offer.get("min_order") and q < offer["min_order"]["base"]:
                    continue
                nb = ms_of(need["needed_by"])
                if nb <= now or ms_of(offer["available_from"]) > nb or (
                        offer.get("available_until") and ms_of(offer["available_until"]) <= now):
                    continue
                km = self.distance(nh, oh)
                if any(side.get("max_distance_km") and km > side["max_distance_km"]
                       for side in (need, offer)):
                    continue
                left.append((nid, oid, q))
        sys.stderr.write("test_engine_random: %d compatible open pair(s) never proposed%s\n" % (
            len(left), (": " + ", ".join("%s|%s (%d)" % p for p in left[:5])) if left else ""))


class EngineRandomTest(RandomWorld, harness.TestCase):

    def setUp(self):
        sys.stderr.write("\ntest_engine_random: seed=%d (CRAFTMATCH_TEST_SEED=%d reproduces it)\n"
                         % (SEED, SEED))
        self.rng = random.Random(SEED)
        self.redis = self.start_redis()
        self.d1 = self.start_daemon(self.redis, "--role", "all")
        self.d2 = self.start_daemon(self.redis, "--role", "all")
        self.daemons = (self.d1, self.d2)
        self.api = fixtures.Api(self.d1)
        self.admin = fixtures.bootstrap_admin(self.redis)
        self.rc = self.redis.client(timeout=30.0)
        self.load_reference()

    def test_random_world(self):
        self.run_random_world()


if __name__ == "__main__":
    harness.main()
