"""
e2e: GET /v1/stats and the business counters of /metrics add up.

Seeded and reproducible in what the test decides (CRAFTMATCH_TEST_SEED=<n>;
the seed is printed): villages and suppliers in four provinces post needs
and offers of two materials, some registered for a forum whose clearing
proposes a batch that the organiser approves; the engine proposes the rest;
then moderator and parties approve, reject, accept, decline, cancel and
fulfil (partly, wholly, nothing) at random, owners change quantities and
close listings, and short review deadlines let proposals expire. Once the
engine has settled, every figure is recomputed here from the listings and
matches themselves (their hashes in Redis: created_at, confirmed_at,
fulfilled_at, delivered, the explanation's goods and freight) and found
equal to the answer, for several groupings and filters, and for each
scope: the admin (everything), a province moderator, a forum moderator, a
village and a supplier (their own, without proposed figures). /metrics'
business counters equal the recomputed totals.

Bad input (an unknown parameter or group name, a bad month, province,
material or forum) is a 400 problem and changes nothing in Redis.
"""
import collections
import datetime
import json
import os
import random
import sys

import fixtures
import harness
import matchkit
from test_export import BOM, expected_bytes

SEED = int(os.environ.get("CRAFTMATCH_TEST_SEED") or random.SystemRandom().randrange(1, 2**31))
DIMS = ("need_province", "offer_province", "material", "forum", "month")
MATERIALS = ("clay", "kaolin")
VILLAGE_PROVINCES = ("HN", "BN", "NB")
SUPPLIER_PROVINCES = ("HP", "BN", "HN")
FIGURE_COLUMNS = [
    "needs.count", "needs.quantity", "offers.count", "offers.quantity", "proposed.count",
    "proposed.quantity", "confirmed.count", "confirmed.quantity", "confirmed.value_vnd",
    "confirmed.freight_vnd", "fulfilled.count", "fulfilled.quantity", "fulfilled.value_vnd",
    "median_seconds_to_first_proposal", "fulfilment_rate"]
FLOW_COLUMNS = ["offer_province", "need_province", "material", "confirmed_quantity",
                "fulfilled_quantity"]


def month(ms):
    return datetime.datetime.fromtimestamp(int(ms) / 1000, datetime.timezone.utc).strftime("%Y-%m")


def half_up(num, den):
    return (2 * num + den) // (2 * den)


def ratio(num, den):
    r = (num * 2000000 + den) // (den * 2)
    return "%d.%06d" % (r // 1000000, r % 1000000)


class Facts:
    """The listings and matches as Redis holds them, reduced to what the
    statistics count: one record per counted event."""

    def __init__(self, rc):
        self.listings, self.matches = [], []
        for lid in rc.execute("ZRANGE", "cm:listings", 0, -1):
            h = fixtures.redis_hash(rc, "cm:listing:" + lid)
            h["id"] = lid
            self.listings.append(h)
        for mid in rc.execute("ZRANGE", "cm:matches", 0, -1):
            h = fixtures.redis_hash(rc, "cm:match:" + mid)
            h["id"] = mid
            self.matches.append(h)
        first = {}
        for m in self.matches:
            for lid in (m["need"], m["offer"]):
                t = int(m["created_at"])
                first[lid] = min(first.get(lid, t), t)
        self.first = first


def expected(facts, scope, group, filters, who=None):
    """The answer GET /v1/stats should give (rows and flows), computed from
    the facts. scope: 'all', ('moderator', provinces, forums) or ('own', id)."""
    own = scope[0] == "own"

    def visible_listing(l):
        if scope == "all":
            return True
        if own:
            return l["owner"] == scope[1]
        return l["province"] in scope[1] or (l.get("forum") and l["forum"] in scope[2])

    def visible_match(m, forum):
        if scope == "all":
            return True
        if own:
            return scope[1] in (m["need_owner"], m["offer_owner"])
        return (m["need_province"] in scope[1] or m["offer_province"] in scope[1] or
                (forum and forum in scope[2]))

    def passes(dims, forum_raw):
        for d, v in filters.items():
            got = forum_raw if d == "forum" else dims[d]
            if got is None or got != v:
                return False
        return True

    rows = {}

    def row(dims):
        key = tuple(dims[g] for g in group)
        if key not in rows:
            rows[key] = collections.Counter(), []
        return rows[key]

    for l in facts.listings:
        if not visible_listing(l):
            continue
        need = l["kind"] == "need"
        dims = {"need_province": l["province"] if need else None,
                "offer_province": None if need else l["province"],
                "material": l["material"], "forum": l.get("forum") or None,
                "month": month(l["created_at"])}
        if not passes(dims, l.get("forum", "")):
            continue
        c, delays = row(dims)
        c["needs_n" if need else "offers_n"] += 1
        c["needs_q" if need else "offers_q"] += int(l["quantity"])
        if l["id"] in facts.first and not own:
            delays.append((facts.first[l["id"]] - int(l["created_at"])) // 1000)
    flows = collections.Counter()
    for m in facts.matches:
        forum = m.get("need_forum") or m.get("offer_forum") or ""
        if not visible_match(m, forum):
            continue
        doc = json.loads(m["doc"])
        goods = doc["explain"]["goods_total_vnd"]
        freight = doc["explain"]["freight"]["total_vnd"]
        q = int(m["quantity"])
        events = []
        if not own:
            events.append((m["created_at"], {"p_n": 1, "p_q": q}))
        if m.get("confirmed_at"):
            events.append((m["confirmed_at"], {"c_n": 1, "c_q": q, "c_v": goods, "c_f": freight}))
        if m["state"] == "fulfilled":
            d = int(m["delivered"])
            events.append((m["fulfilled_at"], {"f_n": 1, "f_q": d,
                                               "f_v": half_up(goods * d, q)}))
        for at, counts in events:
            dims = {"need_province": m["need_province"], "offer_province": m["offer_province"],
                    "material": m["material"], "forum": forum or None, "month": month(at)}
            if not passes(dims, forum):
                continue
            c, _ = row(dims)
            c.update(counts)
            flows[(m["offer_province"], m["need_province"], m["material"], "c")] += \
                counts.get("c_q", 0)
            flows[(m["offer_province"], m["need_province"], m["material"], "f")] += \
                counts.get("f_q", 0)
    if not group and not rows:
        rows[()] = collections.Counter(), []

    def sort_key(item):
        return tuple((v is not None, v or "") for v in item[0])

    out = []
    for key, (c, delays) in sorted(rows.items(), key=sort_key):
        r = {g: v for g, v in zip(group, key)}
        r["needs"] = {"count": c["needs_n"], "quantity": str(c["needs_q"])}
        r["offers"] = {"count": c["offers_n"], "quantity": str(c["offers_q"])}
        r["proposed"] = None if own else {"count": c["p_n"], "quantity": str(c["p_q"])}
        r["confirmed"] = {"count": c["c_n"], "quantity": str(c["c_q"]),
                          "value_vnd": str(c["c_v"]), "freight_vnd": str(c["c_f"])}
        r["fulfilled"] = {"count": c["f_n"], "quantity": str(c["f_q"]),
                          "value_vnd": str(c["f_v"])}
        delays.sort()
        r["median_seconds_to_first_proposal"] = delays[(len(delays) - 1) // 2] if delays else None
        r["fulfilment_rate"] = ratio(c["f_q"], c["c_q"]) if c["c_q"] else None
        out.append(r)
    flow_rows = []
    for (op, np_, mat) in sorted({k[:3] for k in flows}):
        cq, fq = flows[(op, np_, mat, "c")], flows[(op, np_, mat, "f")]
        if cq or fq:
            flow_rows.append({"offer_province": op, "need_province": np_, "material": mat,
                              "confirmed_quantity": str(cq), "fulfilled_quantity": str(fq)})
    return out, flow_rows


class StatsTest(matchkit.MatchHelpers, fixtures.ApiTestCase):
    maxDiff = None
    # proposals and approvals left alone expire within seconds
    daemon_args = ("--review-timeout", "8")

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        cls.rng = random.Random(SEED)
        sys.stderr.write("test_stats: CRAFTMATCH_TEST_SEED=%d\n" % SEED)
        cls.run_world()

    @classmethod
    def actor(cls, account_id):
        return cls.actors[account_id]

    @classmethod
    def run_world(cls):
        api, rng, admin = cls.api, cls.rng, cls.admin
        cls.actors = {}
        villages, suppliers = [], []
        for i, prov in enumerate(VILLAGE_PROVINCES * 2):
            a = api.make_actor(admin, "village", "village-%s-%d" % (prov, i), province=prov)
            villages.append(a)
            cls.actors[a.id] = a
        for i, prov in enumerate(SUPPLIER_PROVINCES * 2):
            a = api.make_actor(admin, "supplier", "supplier-%s-%d" % (prov, i), province=prov)
            suppliers.append(a)
            cls.actors[a.id] = a
        cls.villages, cls.suppliers = villages, suppliers
        # a forum: its listings wait for its clearing, whose batch is approved
        forum = api.create_forum(admin, "open")
        cls.forum = forum["id"]
        cls.mod_prov = api.make_actor(admin, "moderator", "mod-HN", scope={"provinces": ["HN"]})
        cls.mod_forum = api.make_actor(admin, "moderator", "mod-forum",
                                       scope={"forums": [cls.forum]})
        listings = []

        def post(kind, forum_id=None):
            who = rng.choice(villages if kind == "need" else suppliers)
            mat = rng.choice(MATERIALS)
            fields = {"province": who.province}
            if forum_id:
                fields["forum"] = forum_id
            if kind == "need":
                body = dict(material=mat, quantity=str(rng.randint(1, 12)), unit="tan",
                            needed_by=fixtures.vn_date(60), **fields)
            else:
                body = dict(material=mat, grade="A", quantity=str(rng.randint(2, 15)), unit="tan",
                            price_vnd=rng.randint(900, 2500) * 1000 + rng.randint(0, 999),
                            **fields)
            listings.append(matchkit.post_listing(api, who, kind, body))

        # needs of kaolin that wait for an offer: seconds to a first proposal
        for _ in range(4):
            who = rng.choice(villages)
            listings.append(matchkit.post_listing(api, who, "need", dict(
                material="kaolin", quantity=str(rng.randint(1, 5)), unit="tan",
                needed_by=fixtures.vn_date(60), province=who.province)))
        for _ in range(6):
            post("need", cls.forum)
            post("offer", cls.forum)
        api.forum_act(admin, cls.forum, "close-registration")
        api.wait_forum_state(admin, cls.forum, "review", timeout=60)
        resp = api.call(admin, "POST", "/v1/forums/%s/approve-batch" % cls.forum, {})
        if resp[0] not in (200, 409):
            raise AssertionError("approve-batch: %r" % (resp,))
        api.forum_act(admin, cls.forum, "close")
        for _ in range(24):
            post(rng.choice(("need", "offer")))
        cls.listings = listings
        for _ in range(5):
            cls.random_steps(60)
            for _ in range(4):
                post(rng.choice(("need", "offer")))
        cls.drive_some_to_the_end()
        # Still now: every listing closed (its unconfirmed matches cancelled),
        # so no expiry or new proposal moves a figure while the test reads.
        matchkit.wait_engine_idle(cls.rc, [cls.daemon], quiet=2.0, timeout=120)
        for l in listings:
            api.call(cls.actor(l["owner"]["id"]), "DELETE", "/v1/listings/" + l["id"])
        matchkit.wait_engine_idle(cls.rc, [cls.daemon], quiet=2.0, timeout=120)

    @classmethod
    def drive_some_to_the_end(cls):
        """Two live matches taken through to a delivery (whatever the dice
        said), so every kind of figure has something to add up."""
        api = cls.api
        steps = {"proposed": ("approve",), "approved": ("accept-need", "accept-offer"),
                 "accepted": ("accept-need", "accept-offer"), "confirmed": ()}
        live = [m for m in matchkit.matches_all(api, cls.admin)
                if m["state"] in steps]
        for m in live[:2]:
            raw = fixtures.redis_hash(cls.rc, "cm:match:" + m["id"])
            for step in steps[raw["state"]]:
                if step == "approve":
                    matchkit.match_act(api, cls.admin, m["id"], "approve")
                    matchkit.match_act(api, cls.actor(raw["need_owner"]), m["id"], "accept")
                    matchkit.match_act(api, cls.actor(raw["offer_owner"]), m["id"], "accept")
                else:
                    side = step.split("-")[1]
                    matchkit.match_act(api, cls.actor(raw[side + "_owner"]), m["id"], "accept")
            d = max(1, int(raw["quantity"]) // 3)
            matchkit.match_act(api, cls.actor(raw["need_owner"]), m["id"], "fulfil",
                               {"delivered": str(d), "unit": "kg"})

    @classmethod
    def random_steps(cls, n):
        api, rng = cls.api, cls.rng
        live = []
        for step in range(n):
            roll = rng.random()
            if roll < 0.1:
                l = rng.choice(cls.listings)
                owner = cls.actor(l["owner"]["id"]) if isinstance(l.get("owner"), dict) else None
                if owner is None:
                    continue
                if rng.random() < 0.5:
                    api.call(owner, "DELETE", "/v1/listings/" + l["id"])
                else:
                    view = api.call(owner, "GET", "/v1/listings/" + l["id"])[2]
                    if view.get("status") == "open":
                        q = str(rng.randint(1, 20))
                        api.call(owner, "PATCH", "/v1/listings/" + l["id"],
                                 {"quantity": q, "unit": "tan"},
                                 {"If-Match": '"%d"' % view["version"]})
                continue
            if step % 6 == 0:
                live = [m for m in matchkit.matches_all(api, cls.admin)
                        if m["state"] in ("proposed", "approved", "accepted", "confirmed")]
            if not live:
                continue
            m = rng.choice(live)
            raw = fixtures.redis_hash(cls.rc, "cm:match:" + m["id"])
            m = dict(m, state=raw["state"])
            need_owner = cls.actor(raw["need_owner"])
            offer_owner = cls.actor(raw["offer_owner"])
            state = m["state"]
            if state == "proposed":
                action = rng.choice(("approve", "approve", "approve", "reject", "cancel", None))
                if action:
                    body = {"reason": "không phù hợp"} if action in ("reject", "cancel") else None
                    matchkit.match_act(api, cls.admin, m["id"], action, body)
            elif state in ("approved", "accepted"):
                choice = rng.choice(("need", "offer", "need", "offer", "decline", None))
                if choice == "decline":
                    matchkit.match_act(api, rng.choice((need_owner, offer_owner)), m["id"],
                                       "decline", {"reason": "hết hàng"})
                elif choice:
                    matchkit.match_act(api, need_owner if choice == "need" else offer_owner,
                                       m["id"], "accept")
            elif state == "confirmed":
                choice = rng.choice(("all", "part", "none", "cancel", None))
                q = int(raw["quantity"])
                if choice == "cancel":
                    matchkit.match_act(api, cls.admin, m["id"], "cancel", {"reason": "huỷ"})
                elif choice:
                    d = {"all": q, "part": rng.randint(1, max(1, q - 1)), "none": 0}[choice]
                    matchkit.match_act(api, need_owner, m["id"], "fulfil",
                                       {"delivered": str(d), "unit": "kg"})

    # ---- the checks ----------------------------------------------------------

    def stats(self, actor, **params):
        resp = self.api.call(actor, "GET", "/v1/stats" + fixtures.query(params))
        self.assertEqual(resp[0], 200, resp)
        return resp[2]

    def check(self, actor, scope, group, filters):
        facts = Facts(self.rc)
        params = dict(filters)
        if group:
            params["group"] = ",".join(group)
        got = self.stats(actor, **params)
        rows, flows = expected(facts, scope, group, filters)
        label = "%s group=%s filters=%s seed=%d" % (actor, group, filters, SEED)
        self.assertEqual(got["group"], list(group), label)
        self.assertEqual(got["filters"], filters, label)
        self.assertEqual(got["rows"], rows, label)
        self.assertEqual(got["flows"], flows, label)
        return got

    GROUPS = ((), ("need_province",), ("offer_province", "material"),
              ("material", "forum", "month"), DIMS, ("forum",))

    def filter_sets(self):
        now = month(int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000))
        return ({}, {"need_province": "HN"}, {"offer_province": "BN"}, {"material": "clay"},
                {"month": now}, {"forum": self.forum}, {"forum": ""},
                {"material": "kaolin", "need_province": "BN"}, {"month": "2001-01"})

    def test_admin_sees_everything_and_it_adds_up(self):
        facts = Facts(self.rc)
        self.assertGreater(len(facts.matches), 5, "the run made too few matches to prove much")
        self.assertTrue(any(m.get("confirmed_at") for m in facts.matches), "nothing confirmed")
        self.assertTrue(any(m["state"] == "fulfilled" for m in facts.matches), "nothing fulfilled")
        self.assertTrue(any(m.get("need_forum") for m in facts.matches), "no forum match")
        for group in self.GROUPS:
            for filters in self.filter_sets():
                got = self.check(self.admin, "all", group, filters)
                self.assertEqual(got["scope"], "all")
        total = self.stats(self.admin)["rows"][0]
        self.assertEqual(total["needs"]["count"],
                         sum(1 for l in facts.listings if l["kind"] == "need"))

    def test_moderators_see_their_scope(self):
        for actor, scope in ((self.mod_prov, ("moderator", {"HN"}, set())),
                             (self.mod_forum, ("moderator", set(), {self.forum}))):
            for group in self.GROUPS:
                for filters in self.filter_sets()[:4]:
                    got = self.check(actor, scope, group, filters)
                    self.assertEqual(got["scope"], "moderator")

    def test_participants_see_their_own(self):
        for actor in self.villages[:3] + self.suppliers[:3]:
            for group in self.GROUPS[:4]:
                for filters in ({}, {"material": "clay"}):
                    got = self.check(actor, ("own", actor.id), group, filters)
                    self.assertEqual(got["scope"], "own")

    def test_metrics_carry_the_totals(self):
        facts = Facts(self.rc)
        rows, _ = expected(facts, "all", ("material",), {})
        want = {
            'craftmatch_listings_posted_total{kind="need"}':
                sum(r["needs"]["count"] for r in rows),
            'craftmatch_listings_posted_total{kind="offer"}':
                sum(r["offers"]["count"] for r in rows),
            'craftmatch_matches_total{status="proposed"}':
                sum(r["proposed"]["count"] for r in rows),
            'craftmatch_matches_total{status="confirmed"}':
                sum(r["confirmed"]["count"] for r in rows),
            'craftmatch_matches_total{status="fulfilled"}':
                sum(r["fulfilled"]["count"] for r in rows),
            'craftmatch_matches_value_vnd_total{status="confirmed"}':
                sum(int(r["confirmed"]["value_vnd"]) for r in rows),
            'craftmatch_matches_freight_vnd_total':
                sum(int(r["confirmed"]["freight_vnd"]) for r in rows),
        }
        for r in rows:
            want['craftmatch_matches_quantity_total{status="confirmed",material="%s"}'
                 % r["material"]] = int(r["confirmed"]["quantity"])
            want['craftmatch_listings_posted_quantity_total{kind="need",material="%s"}'
                 % r["material"]] = int(r["needs"]["quantity"])
        box = {}

        def same():
            status, _, text = self.daemon.request("GET", "/metrics")
            self.assertEqual(status, 200, text)
            harness.parse_metrics(text)  # strictly well formed
            got = {}
            for line in text.splitlines():
                if line and not line.startswith("#"):
                    name, _, value = line.rpartition(" ")
                    got[name] = value
            box["got"] = {k: got.get(k) for k in want}
            return all(got.get(k) == str(v) for k, v in want.items())
        try:
            harness.wait_for(same, 10, interval=0.5, message="/metrics")
        except AssertionError:
            self.assertEqual(box.get("got"), {k: str(v) for k, v in want.items()})

    def test_tables_as_csv_are_the_json_answer(self):
        actors = (self.admin, self.mod_prov, self.villages[0], self.suppliers[0])
        for actor in actors:
            for group in self.GROUPS[:4]:
                for filters in ({}, {"material": "clay"}, {"forum": ""}):
                    params = dict(filters)
                    if group:
                        params["group"] = ",".join(group)
                    label = "%s %s" % (actor, params)
                    answer = self.stats(actor, **params)
                    for table, columns, name in (
                            ("rows", list(group) + FIGURE_COLUMNS, "stats"),
                            ("flows", FLOW_COLUMNS, "stats-flows")):
                        q = dict(params, format="csv")
                        if table == "flows" or actor is self.admin:
                            q["table"] = table  # rows is the default
                        status, headers, data = self.api.call_raw(
                            actor, "GET", "/v1/stats" + fixtures.query(q))
                        self.assertEqual(status, 200, data[:300])
                        self.assertEqual(headers.get("Content-Type"),
                                         "text/csv; charset=utf-8; header=present")
                        self.assertEqual(headers.get("Content-Disposition"),
                                         'attachment; filename="craftmatch-%s.csv"' % name)
                        self.assertEqual(data, expected_bytes(columns, answer[table]),
                                         label + " " + table)
                    # nothing moved meanwhile: the two reads saw the same counters
                    self.assertEqual(self.stats(actor, **params), answer, label)
        status, _, data = self.api.call_raw(
            self.mod_prov, "GET",
            "/v1/stats?group=material&format=csv&bom=1&headers=vi&table=flows")
        self.assertEqual(status, 200, data[:300])
        self.assertTrue(data.startswith(BOM + "Từ tỉnh,Đến tỉnh,Vật liệu,".encode()), data[:80])
        status, _, data = self.api.call_raw(self.admin, "GET",
                                            "/v1/stats?group=month,forum&format=csv&headers=vi")
        self.assertEqual(status, 200, data[:300])
        self.assertTrue(data.startswith("Tháng,Diễn đàn,Số tin cần,".encode()), data[:80])

    def test_bad_input_is_refused_and_changes_nothing(self):
        before = (self.rc.execute("DBSIZE"), fixtures.last_event_id(self.rc),
                  sorted(self.rc.execute("SMEMBERS", "cm:stats:m")))
        for params in ({"group": "province"}, {"group": "month,month"}, {"group": "month,"},
                       {"grup": "month"}, {"month": "2026-13"}, {"month": "12-2026"},
                       {"need_province": "Atlantis"}, {"offer_province": ""},
                       {"material": "unobtainium"}, {"forum": "Not A Forum"},
                       {"table": "rows"}, {"format": "json", "table": "flows"},
                       {"format": "csv", "table": "columns"}, {"format": "xml"},
                       {"format": "csv", "cursor": "x"}, {"format": "csv", "bom": "yes"},
                       {"headers": "vi"}):
            resp = self.api.call(self.admin, "GET", "/v1/stats" + fixtures.query(params))
            self.assertProblem(resp[0], resp[1], resp[2], 400)
        resp = self.api.call(None, "GET", "/v1/stats")
        self.assertProblem(resp[0], resp[1], resp[2], 401)
        after = (self.rc.execute("DBSIZE"), fixtures.last_event_id(self.rc),
                 sorted(self.rc.execute("SMEMBERS", "cm:stats:m")))
        self.assertEqual(before, after)


if __name__ == "__main__":
    harness.main()
