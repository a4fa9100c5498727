"""
matchkit — helpers for the tests of matches and the matching engine
(test_matches*, test_engine*, test_explain): matchable bodies, the match
routes over all pages, waits for the engine, exact distances and totals as
common/ computes them, and MatchHelpers, a mixin for fixtures.ApiTestCase
whose actions are checked against the event log.
"""

import json
import math
import re
import time

import harness
from fixtures import DELETE, ApiTestCase, offer_body, query, vn_date
from stored import last_event_id, listing_remaining, match_events, redis_hash

# Compatible pairs: the default need and offer of fixtures.py never match. For a pair
# that does, start from matchable_offer_body(): the default offer made
# compatible with the default need (grade A, no minimum order), or override
# both sides explicitly.

MATCH_STATES = ("proposed", "approved", "rejected", "accepted", "confirmed", "fulfilled",
                "declined", "cancelled", "expired")
# States in which a match holds its quantity on both listings.
MATCH_HOLDING = ("proposed", "approved", "accepted", "confirmed")
# The event type each action writes (accept writes match.confirmed when it is
# the second party's).
MATCH_EVENT_OF = {"approve": "match.approved", "reject": "match.rejected",
                  "accept": "match.accepted", "decline": "match.declined",
                  "fulfil": "match.fulfilled", "cancel": "match.cancelled"}
MATCH_ID_RE = re.compile(r"^mat_[0-9a-hjkmnp-tv-z]{20}$")


def matchable_offer_body(**overrides):
    """offer_body() that the default need_body() accepts (grade A, no minimum order)."""
    return offer_body(**dict({"grade": "A", "min_order": DELETE}, **overrides))


def post_listing(api, actor, kind, body, headers=None):
    """POST /v1/needs or /v1/offers with a whole body; returns the 201 body."""
    resp = api.call(actor, "POST", "/v1/%ss" % kind, body, headers)
    if resp[0] != 201:
        raise AssertionError("post %s: expected 201, got %d: %r" % (kind, resp[0], resp[2]))
    return resp[2]


def matches_page(api, actor, **params):
    """GET /v1/matches?params: (status, headers, body)."""
    return api.call(actor, "GET", "/v1/matches" + query(params))


def matches_all(api, actor, limit=100, **params):
    """Every match actor may see with these filters, over all pages (as served)."""
    items, cursor, pages = [], None, 0
    while True:
        p = dict(params, limit=limit)
        if cursor:
            p["cursor"] = cursor
        status, _, body = matches_page(api, actor, **p)
        if status != 200:
            raise AssertionError("GET /v1/matches%s: %d %r" % (query(p), status, body))
        items += body["items"]
        cursor = body["next_cursor"]
        pages += 1
        if not cursor:
            return items
        if pages > 1000:
            raise AssertionError("match pagination does not end")


def wait_matches(api, actor, predicate, timeout=30.0, message="matches", **params):
    """Polls matches_all(actor, **params) until predicate(items) is true; returns the items."""
    box = {}

    def ok():
        box["items"] = matches_all(api, actor, **params)
        return predicate(box["items"])
    try:
        harness.wait_for(ok, timeout, interval=0.1, message=message)
    except AssertionError as e:
        raise AssertionError("%s; last seen: %s" % (e, json.dumps(
            [(m["id"], m["state"], m["need"]["id"], m["offer"]["id"], m["quantity"]["base"])
             for m in box.get("items", [])])))
    return box["items"]


def match_act(api, actor, match_id, action, body=None, headers=None):
    """POST /v1/matches/{id}/{action}: (status, headers, body)."""
    return api.call(actor, "POST", "/v1/matches/%s/%s" % (match_id, action), body, headers)












def engine_counters(daemon):
    """(queue, rounds in flight, runs, events applied) of a daemon's engine, from /metrics."""
    m = daemon.metrics()
    return (m.value("craftmatch_engine_queue"), m.value("craftmatch_engine_rounds_in_flight"),
            m.value("craftmatch_engine_runs_total"), m.value("craftmatch_engine_events_total"))


def wait_engine_idle(rc, daemons, quiet=2.0, timeout=90.0):
    """Waits until the engines of daemons have settled: each one's queue is
    empty, no proposal round is in flight, and neither its run and event counters nor cm:events moved for
    `quiet` seconds. Returns the last event id."""
    deadline = time.monotonic() + timeout
    last = None
    since = time.monotonic()
    while True:
        state = (last_event_id(rc), tuple(engine_counters(d) for d in daemons))
        busy = any(q[0] != 0 or q[1] != 0 for q in state[1])
        if state != last or busy:
            last, since = state, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return state[0]
        if time.monotonic() > deadline:
            raise AssertionError("the engine did not settle within %.0fs (last state %r)" % (
                timeout, state))
        time.sleep(0.1)


# Distances, as common/geo.c computes them: great circle x 13/10, rounded up
# per started km. Python's math does the same IEEE double operations, so the
# result is exact except for a metre rounding right at a km boundary.
GEO_EARTH_RADIUS_M = 6371008.8


def geo_distance_m(lat1, lon1, lat2, lon2):
    """Haversine metres between two points given in micro-degrees (ints)."""
    if lat1 == lat2 and lon1 == lon2:
        return 0
    rad = lambda u: u / 1e6 * (math.pi / 180.0)
    phi1, phi2 = rad(lat1), rad(lat2)
    sdphi = math.sin((phi2 - phi1) / 2.0)
    sdlam = math.sin((rad(lon2) - rad(lon1)) / 2.0)
    h = sdphi * sdphi + math.cos(phi1) * math.cos(phi2) * sdlam * sdlam
    h = min(1.0, max(0.0, h))
    m = 2.0 * GEO_EARTH_RADIUS_M * math.asin(math.sqrt(h))
    return int(math.floor(m + 0.5))


def geo_road_km(lat1, lon1, lat2, lon2):
    m = geo_distance_m(lat1, lon1, lat2, lon2)
    return (m * 13 + 10000 - 1) // 10000


def udeg(deg):
    """Degrees (float) to micro-degrees as the server rounds them."""
    return int(math.floor(deg * 1e6 + 0.5)) if deg >= 0 else -int(math.floor(-deg * 1e6 + 0.5))


def half_up(num, den):
    """num / den rounded half up (num >= 0, den > 0), as matching_totals does."""
    return (2 * num + den) // (2 * den)


class MatchHelpers:
    """Mixin for test cases with self.api, self.admin and self.rc (ApiTestCase):
    parties, listings built field by field, and actions checked against the
    event log (invariant 4: one event per change, none for a refusal)."""

    def party(self, role, province="HN", label=None, **overrides):
        return self.api.make_actor(self.admin, role, label or "%s-%s" % (role, province),
                                   province=province, **overrides)

    def moderator(self, provinces=(), forums=(), label=None):
        scope = {}
        if provinces:
            scope["provinces"] = list(provinces)
        if forums:
            scope["forums"] = list(forums)
        return self.api.make_actor(self.admin, "moderator", label or "moderator", scope=scope)

    def need(self, village, material, qty, unit="tan", **fields):
        """A need of qty unit of material (no minimum grade, no price cap unless given)."""
        body = {"material": material, "quantity": str(qty), "unit": unit, "province": "HN",
                "needed_by": vn_date(60)}
        body.update(fields)
        return post_listing(self.api, village, "need", {k: v for k, v in body.items()
                                                        if v is not DELETE})

    def offer(self, supplier, material, qty, price_vnd, unit="tan", **fields):
        """An offer of qty unit at price_vnd per unit (grade A, from Hải Phòng unless given)."""
        body = {"material": material, "grade": "A", "quantity": str(qty), "unit": unit,
                "price_vnd": price_vnd, "province": "HP"}
        body.update(fields)
        return post_listing(self.api, supplier, "offer", {k: v for k, v in body.items()
                                                          if v is not DELETE})

    def world(self, material, offers, need_tan=12, need_fields=None):
        """Suppliers post offers [(tan, price per tấn)] first, then a village
        posts a need of need_tan tấn; returns
        (village, suppliers, offers, need)."""
        village = self.party("village", "HN")
        suppliers, posted = [], []
        for tan, price in offers:
            s = self.party("supplier", "HP", name="Cơ sở %s %d" % (material, len(suppliers)))
            suppliers.append(s)
            posted.append(self.offer(s, material, tan, price, grade="B"))
        self.assertEqual(self.matches_of(posted[0]["id"]), [],
                         "no proposal without a need")
        need = self.need(village, material, need_tan, grade="B", price_vnd=1800000,
                         price_unit="tan", max_distance_km=300, **(need_fields or {}))
        return village, suppliers, posted, need

    def remaining(self, lid, actor=None):
        """remaining.base as GET /v1/listings/{id} answers it (and Redis agrees)."""
        view = self.api.get_listing(actor or self.admin, lid)
        self.assertEqual(view["remaining"]["base"], listing_remaining(self.rc, lid), view)
        return view["remaining"]["base"]

    def matches_of(self, lid, actor=None):
        return matches_all(self.api, actor or self.admin, listing=lid)

    def wait_for_matches(self, lid, n, actor=None, timeout=30.0):
        """Polls until listing lid has exactly n matches (admin's view); returns them."""
        return wait_matches(self.api, actor or self.admin, lambda items: len(items) == n,
                            timeout, "%d match(es) of %s" % (n, lid), listing=lid)

    def by_offer(self, items):
        return {m["offer"]["id"]: m for m in items}

    def act_ok(self, actor, mid, action, body=None, state=None):
        """A successful action: 200 with the new state, and exactly one event
        for the match, of the action's type, carrying that state, the new
        version and the actor; returns (view, event fields)."""
        before_hash = redis_hash(self.rc, "cm:match:" + mid)
        mark = last_event_id(self.rc)
        status, headers, view = match_act(self.api, actor, mid, action, body)
        self.assertEqual(status, 200, "%s %s by %s: %r" % (action, mid, actor, view))
        if state is not None:
            self.assertEqual(view["state"], state, view)
        self.assertEqual(view["id"], mid)
        self.assertEqual(view["version"], int(before_hash["version"]) + 1, view)
        self.assertEqual(headers.get("ETag"), '"%d"' % view["version"])
        evs = match_events(self.rc, mid, mark)
        self.assertEqual(len(evs), 1, "one event per change: %r" % (evs,))
        ev = evs[0][1]
        etype = MATCH_EVENT_OF[action]
        if action == "accept" and view["state"] == "confirmed":
            etype = "match.confirmed"
        self.assertEqual(ev["type"], etype, ev)
        self.assertEqual(ev["state"], view["state"], ev)
        self.assertEqual(ev["version"], str(view["version"]), ev)
        self.assertEqual(ev["by"], actor.id, ev)
        self.assertEqual((ev["need"], ev["offer"]), (view["need"]["id"], view["offer"]["id"]))
        self.assertEqual(ev["quantity"], str(view["quantity"]["base"]), ev)
        self.assertEqual(redis_hash(self.rc, "cm:match:" + mid)["state"], view["state"])
        return view, ev

    def act_refused(self, actor, mid, action, status, body=None, headers=None):
        """A refused action: the status, a problem body, no event, the match unchanged."""
        before_hash = redis_hash(self.rc, "cm:match:" + mid)
        mark = last_event_id(self.rc)
        resp = match_act(self.api, actor, mid, action, body, headers)
        self.assertProblem(resp[0], resp[1], resp[2], status)
        self.assertEqual(match_events(self.rc, mid, mark), [],
                         "a refused %s wrote an event" % action)
        self.assertEqual(redis_hash(self.rc, "cm:match:" + mid), before_hash,
                         "a refused %s changed the match" % action)
        return resp


class HanoiModeratorCase(MatchHelpers, ApiTestCase):
    """One daemon and a moderator whose scope is Hà Nội (cls.mod), for the
    match tests that review matches between parties in Hà Nội."""

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        cls.mod = cls.api.make_actor(cls.admin, "moderator", "moderator-HN",
                                     scope={"provinces": ["HN"]})


def check_explain_numbers(test, ex, q, vnd, factor, km, mass_g=1000, rate=3000):
    """Checks a proposal's explanation against its inputs, exactly (integers):
    quantity q (base units), the offer's price vnd per factor base units,
    km road kilometres, the material's mass per base unit and the rate."""
    price_micro = vnd * 1000000 // factor
    freight_micro = km * mass_g * rate
    test.assertEqual(ex["quantity_base"], q, ex)
    test.assertEqual(ex["unit_price"]["vnd"], vnd, ex)
    test.assertEqual(ex["unit_price"]["per_base_micro_vnd"], price_micro, ex)
    test.assertEqual(ex["distance_km"], km, ex)
    test.assertEqual(ex["freight"]["rate_vnd_per_tonne_km"], rate, ex)
    test.assertEqual(ex["freight"]["mass_g_per_base_unit"], mass_g, ex)
    test.assertEqual(ex["freight"]["per_base_micro_vnd"], freight_micro, ex)
    goods = half_up(q * vnd, factor)
    freight = half_up(q * freight_micro, 1000000)
    test.assertEqual(ex["goods_total_vnd"], goods, ex)
    test.assertEqual(ex["freight"]["total_vnd"], freight, ex)
    test.assertEqual(ex["landed"]["per_base_micro_vnd"], price_micro + freight_micro, ex)
    test.assertEqual(ex["landed"]["total_vnd"], goods + freight, ex)

