"""
fixtures — shared helpers for the e2e tests of accounts, tokens and listings.

Python 3 standard library only; builds on harness.py (processes, HTTP, RESP)
and adds the domain: a bootstrap admin (craftmatchd --create-admin against the
test Redis), accounts of every role with their bearer tokens, valid needs,
offers and forums with overridable fields, and ApiTestCase. Readers for what
Redis holds are in stored.py, the helpers of the match tests in matchkit.py.

    import fixtures
    class T(fixtures.ApiTestCase):
        def test_x(self):
            village = self.api.make_actor(self.admin, "village")
            need = self.api.post_need(village, quantity="12.5", unit="ta")

Matching: the default need (grade A at least, 12.5 tạ) and the default offer
(grade B, minimum order 2 tấn) are incompatible on purpose — grade and minimum
order both rule the pair out — so the matching engine, which runs in the same
daemon, never allocates from them and remaining quantities stay as posted.
Tests that override grade or quantities must keep that in mind.

Reference data: the listings use the clay of GET /v1/materials (base unit kg;
units kg, yến, tạ, tấn; grades A, B, C). check_reference() asserts those facts
against the running server, so a test that relies on them says so loudly when
the reference data changes instead of failing obscurely.
"""

import datetime
import itertools
import json
import re
import time
import urllib.parse

import harness

# What the reference data must say for the fixtures below to be valid.
CLAY = "clay"
CLAY_UNITS = {"kg": 1, "yen": 10, "ta": 100, "tan": 1000}
CLAY_GRADES = ["A", "B", "C"]
TIMBER = "timber_go_trac"  # Gỗ trắc, in dm³ and m³
TIMBER_UNITS = {"dm3": 1, "m3": 1000}

ID_RE = {
    "acc": re.compile(r"^acc_[0-9a-hjkmnp-tv-z]{20}$"),
    "tok": re.compile(r"^tok_[0-9a-hjkmnp-tv-z]{20}$"),
    "lst": re.compile(r"^lst_[0-9a-hjkmnp-tv-z]{20}$"),
}
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

DELETE = object()  # an override value that removes the field from a body

ICT = datetime.timezone(datetime.timedelta(hours=7))  # Vietnam, no DST

_seq = itertools.count(1)


def unique(prefix="t"):
    """A short slug unique within this process and across runs: [a-z0-9-]."""
    return "%s-%x-%d" % (prefix, int(time.time() * 1000) & 0xFFFFFFF, next(_seq))


# ---------------------------------------------------------------------------
# dates
# ---------------------------------------------------------------------------

def vn_date(days_from_now):
    """A calendar day in Vietnam (YYYY-MM-DD), days_from_now days ahead."""
    return (datetime.datetime.now(ICT) + datetime.timedelta(days=days_from_now)).strftime(
        "%Y-%m-%d")


def vn_day_end_ms(day):
    """ms since the epoch of the end of a Vietnamese calendar day (23:59:59.999 +07:00)."""
    d = datetime.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=ICT)
    return int((d + datetime.timedelta(days=1)).timestamp() * 1000) - 1


def vn_day_start_ms(day):
    d = datetime.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=ICT)
    return int(d.timestamp() * 1000)


def rfc3339_in(seconds):
    """An RFC 3339 UTC timestamp with milliseconds, `seconds` from now; returns (text, ms)."""
    ms = int(time.time() * 1000) + int(seconds * 1000)
    return ms_to_rfc3339(ms), ms


def ms_to_rfc3339(ms):
    dt = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def rfc3339_to_ms(text):
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z$", text)
    if not m:
        raise AssertionError("not a UTC RFC 3339 time with milliseconds: %r" % (text,))
    dt = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000 + int(m.group(2))


# ---------------------------------------------------------------------------
# actors
# ---------------------------------------------------------------------------

class Actor:
    """An account and one bearer token for it (token None: anonymous)."""

    def __init__(self, role, id=None, token=None, doc=None, token_id=None, label=None):
        self.role = role
        self.id = id
        self.token = token
        self.token_id = token_id
        self.doc = doc or {}
        self.label = label or role

    @property
    def name(self):
        return self.doc.get("name")

    @property
    def province(self):
        p = self.doc.get("province")
        return p.get("code") if isinstance(p, dict) else p

    def __repr__(self):
        return "Actor(%s %s)" % (self.label, self.id)


ANONYMOUS = Actor("anonymous", label="anonymous")


def bootstrap_admin(redis, name="Quản trị hệ thống"):
    """Runs `craftmatchd --create-admin NAME --redis-url URL`; returns the admin Actor.

    Checks the printed lines and that the secret is not on stderr (it is
    meant to be shown once, on stdout).
    """
    url = redis.url if isinstance(redis, harness.RedisServer) else redis
    p = harness.run_craftmatchd("--create-admin", name, "--redis-url", url)
    if p.returncode != 0:
        raise AssertionError("--create-admin exited %d:\nstdout: %s\nstderr: %s" % (
            p.returncode, p.stdout, p.stderr[-2000:]))
    acc = re.search(r"^admin account: (\S+)$", p.stdout, re.M)
    tok = re.search(r"^token: (cm_\S+)$", p.stdout, re.M)
    tok_id = re.search(r"^token id: (\S+)$", p.stdout, re.M)
    if not (acc and tok and tok_id):
        raise AssertionError("--create-admin printed no account/token:\n%s" % p.stdout)
    if tok.group(1) in p.stderr:
        raise AssertionError("--create-admin wrote the secret to stderr")
    return Actor("admin", acc.group(1), tok.group(1),
                 {"id": acc.group(1), "role": "admin", "name": name},
                 token_id=tok_id.group(1), label="admin")


def served_routes():
    """[(method, pattern)] as `craftmatchd --routes` prints them, in table order."""
    p = harness.run_craftmatchd("--routes")
    if p.returncode != 0:
        raise AssertionError("craftmatchd --routes exited %d: %s" % (p.returncode, p.stderr))
    routes = []
    for line in p.stdout.splitlines():
        m = re.match(r"^([A-Z]+) (/\S*)$", line)
        if not m:
            raise AssertionError("unexpected --routes line %r" % line)
        routes.append((m.group(1), m.group(2)))
    if not routes:
        raise AssertionError("craftmatchd --routes printed nothing")
    return routes


def _apply(body, overrides):
    out = dict(body)
    for k, v in overrides.items():
        if v is DELETE:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def account_body(role, **overrides):
    """A valid POST /v1/accounts body for role; overrides replace (DELETE removes) fields."""
    n = next(_seq)
    if role == "village":
        body = {"role": "village", "name": "HTX Gốm sứ Bát Tràng %d" % n, "province": "HN",
                "commune": "Bát Tràng",
                "contact": {"phone": "0243 874 %04d" % (n % 10000),
                            "email": "gom.battrang%d@example.vn" % n,
                            "address": "Xóm 3, Bát Tràng, Gia Lâm, Hà Nội"}}
    elif role == "supplier":
        body = {"role": "supplier", "name": "Cơ sở khai thác đất sét Chí Linh %d" % n,
                "province": "Hải Dương", "commune": "Chí Linh",
                "contact": {"phone": "+84 220 388 %04d" % (n % 10000),
                            "email": "datset.chilinh%d@example.vn" % n}}
    elif role == "moderator":
        body = {"role": "moderator", "name": "Trung tâm Khuyến công %d" % n,
                "scope": {"provinces": ["HN"]},
                "contact": {"phone": "024 3825 %04d" % (n % 10000),
                            "email": "khuyencong%d@example.vn" % n}}
    elif role == "admin":
        body = {"role": "admin", "name": "Quản trị %d" % n}
    else:
        raise ValueError(role)
    return _apply(body, overrides)


def need_body(**overrides):
    """A valid POST /v1/needs body: 12.5 tạ of grade-A clay for Bát Tràng, by a day 60 days out.

    No default offer can fill it (see the module notes on matching)."""
    body = {"material": CLAY, "grade": "A", "quantity": "12.5", "unit": "ta",
            "price_vnd": 1800000, "price_unit": "tan", "province": "HN",
            "commune": "Bát Tràng", "needed_by": vn_date(60), "max_distance_km": 300,
            "accept_substitutes": False, "note": "Đất sét cho lò gốm, giao tận xưởng"}
    return _apply(body, overrides)


def offer_body(**overrides):
    """A valid POST /v1/offers body: 20 tấn of grade-B clay from Chí Linh (Hải Dương → HP).

    It fills no default need (grade B < A; minimum order 2 tấn > 12.5 tạ)."""
    body = {"material": CLAY, "grade": "B", "quantity": "20", "unit": "tan",
            "price_vnd": 1500000, "price_unit": "tan", "province": "Hải Dương",
            "commune": "Chí Linh", "available_from": vn_date(1), "available_until": vn_date(120),
            "min_order": "2", "max_distance_km": 400, "note": "Đất sét đã lọc, có xe giao"}
    return _apply(body, overrides)


def forum_body(**overrides):
    """A valid POST /v1/forums body: a fresh id, Hà Nội and Bắc Ninh, registration open now."""
    body = {"id": unique("dien-dan").lower().replace("_", "-"),
            "name": "Diễn đàn kết nối cung cầu nguyên vật liệu làng nghề",
            "provinces": ["HN", "Bắc Ninh"], "venue": "Trung tâm Khuyến công Hà Nội",
            "registration_opens": vn_date(0), "registration_closes": vn_date(10),
            "forum_day": vn_date(12), "materials": [CLAY, "kaolin"]}
    return _apply(body, overrides)


# The actions that take a new forum to each state (close-registration lands
# in review once the clearing has proposed its batch).
FORUM_PATH = {"draft": (), "open": ("open",), "review": ("open", "close-registration"),
              "closed": ("open", "close-registration", "close"), "cancelled": ("cancel",)}


class Api:
    """Requests against one craftmatchd on behalf of Actors.

    Holds the Craftmatchd object, not its port, so it keeps working after the
    daemon is restarted (on a new port).
    """

    def __init__(self, daemon, test=None):
        self.d = daemon
        self.test = test

    def call(self, actor, method, path, body=None, headers=None):
        """(status, Headers, body) for actor (an Actor, a token string, or None)."""
        token = actor.token if isinstance(actor, Actor) else actor
        return self.d.request(method, path, body=body, headers=headers, token=token)

    def call_raw(self, actor, method, path, body=None, headers=None):
        """(status, Headers, body bytes) for actor, on a fresh connection."""
        token = actor.token if isinstance(actor, Actor) else actor
        with self.d.client() as c:
            return c.request_raw(method, path, body, headers, token)

    def _expect(self, what, resp, status):
        if resp[0] != status:
            raise AssertionError("%s: expected %d, got %d: %r" % (what, status, resp[0],
                                                                 resp[2]))
        return resp

    # -- accounts and tokens --

    def create_account(self, creator, role, headers=None, **overrides):
        """POST /v1/accounts; returns the 201 body (raises unless 201)."""
        resp = self.call(creator, "POST", "/v1/accounts", account_body(role, **overrides),
                         headers)
        self._expect("create %s account" % role, resp, 201)
        return resp[2]

    def issue_token(self, issuer, account_id=None, name=None):
        """POST /v1/tokens (for account_id, or the issuer); returns the 201 body."""
        body = {}
        if account_id is not None:
            body["account_id"] = account_id
        if name is not None:
            body["name"] = name
        resp = self.call(issuer, "POST", "/v1/tokens", body)
        self._expect("issue token", resp, 201)
        return resp[2]

    def make_actor(self, creator, role, label=None, **overrides):
        """An account of role created by creator, with a token the creator issued."""
        doc = self.create_account(creator, role, **overrides)
        tok = self.issue_token(creator, doc["id"])
        return Actor(role, doc["id"], tok["token"], doc, token_id=tok["id"],
                     label=label or role)

    # -- forums --

    def create_forum(self, actor, state="draft", **overrides):
        """POST /v1/forums, then the actions that bring it to state; returns the view."""
        resp = self._expect("create forum", self.call(actor, "POST", "/v1/forums",
                                                      forum_body(**overrides)), 201)
        view = resp[2]
        for action in FORUM_PATH[state]:
            view = self.forum_act(actor, view["id"], action)
            if action == "close-registration":
                view = self.wait_forum_state(actor, view["id"], "review")
        return view

    def wait_forum_state(self, actor, fid, state, timeout=20.0):
        """Polls GET /v1/forums/{id} until the forum is in state; returns the view."""
        box = {}

        def ok():
            box["view"] = self._expect("get forum", self.call(actor, "GET", "/v1/forums/" + fid),
                                       200)[2]
            return box["view"]["state"] == state
        harness.wait_for(ok, timeout, interval=0.05, message="forum %s %s" % (fid, state))
        return box["view"]

    def forum_act(self, actor, fid, action, body=None):
        """POST /v1/forums/{id}/{action}; returns the 200 body (raises unless 200)."""
        resp = self.call(actor, "POST", "/v1/forums/%s/%s" % (fid, action), body)
        return self._expect("%s forum %s" % (action, fid), resp, 200)[2]

    # -- listings --

    def post_need(self, actor, headers=None, **overrides):
        resp = self.call(actor, "POST", "/v1/needs", need_body(**overrides), headers)
        self._expect("post need", resp, 201)
        return resp[2]

    def post_offer(self, actor, headers=None, **overrides):
        resp = self.call(actor, "POST", "/v1/offers", offer_body(**overrides), headers)
        self._expect("post offer", resp, 201)
        return resp[2]

    def get_listing(self, actor, lid):
        resp = self.call(actor, "GET", "/v1/listings/" + lid)
        self._expect("get listing %s" % lid, resp, 200)
        return resp[2]

    def search(self, actor, **params):
        """GET /v1/listings?params; returns the 200 body."""
        resp = self.call(actor, "GET", "/v1/listings" + query(params))
        self._expect("search %r" % (params,), resp, 200)
        return resp[2]

    def search_all(self, actor, limit=100, **params):
        """Every item over all pages (ids in the order served)."""
        items, cursor, pages = [], None, 0
        while True:
            p = dict(params, limit=limit)
            if cursor:
                p["cursor"] = cursor
            page = self.search(actor, **p)
            items += page["items"]
            cursor = page["next_cursor"]
            pages += 1
            if not cursor:
                return items
            if pages > 1000:
                raise AssertionError("pagination does not end")

    def materials(self):
        resp = self.call(None, "GET", "/v1/materials")
        self._expect("GET /v1/materials", resp, 200)
        return {m["code"]: m for m in resp[2]["materials"]}


def query(params):
    """'?k=v&...' (URL-encoded), or '' for no params."""
    if not params:
        return ""
    return "?" + urllib.parse.urlencode([(k, v) for k, v in params.items()])


def check_reference(test, api):
    """Asserts the reference facts the listing fixtures rely on."""
    mats = api.materials()
    for code, units in ((CLAY, CLAY_UNITS), (TIMBER, TIMBER_UNITS)):
        test.assertIn(code, mats)
        got = {u["code"]: u["factor"] for u in mats[code]["units"]}
        test.assertEqual(got, {**got, **units}, "units of %s changed" % code)
    test.assertEqual(mats[CLAY]["base_unit"], "kg")
    test.assertEqual(mats[CLAY]["grades"][:3], CLAY_GRADES)
    test.assertEqual(mats[TIMBER]["base_unit"], "dm3")
    return mats


# ---------------------------------------------------------------------------
# test case base
# ---------------------------------------------------------------------------

class ApiTestCase(harness.SharedDaemonTestCase):
    """SharedDaemonTestCase plus a bootstrap admin (cls.admin), cls.api and a
    RESP client to the test Redis (cls.rc, replies decoded)."""

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        cls.api = Api(cls.daemon)
        cls.admin = bootstrap_admin(cls.redis)
        cls.rc = harness.RedisClient(cls.redis.port)

    @classmethod
    def _close_shared(cls):
        try:
            if getattr(cls, "rc", None) is not None:
                cls.rc.close()
        finally:
            super()._close_shared()

    # -- assertions --

    def assertStatus(self, resp, status, msg=None):
        self.assertEqual(resp[0], status, msg or resp[2])

    def assertProblemResp(self, resp, status):
        self.assertProblem(resp[0], resp[1], resp[2], status)

    def assertValidation(self, resp, fields):
        """A 400 problem whose errors[] names exactly these fields (each with a message)."""
        assert_validation(self, resp, fields)

    def assert401(self, resp):
        self.assertProblemResp(resp, 401)
        self.assertTrue(resp[1].get("WWW-Authenticate", "").startswith("Bearer"), resp[1])


def assert_validation(test, resp, fields):
    status, headers, body = resp
    test.assertProblem(status, headers, body, 400)
    errors = body.get("errors")
    test.assertIsInstance(errors, list, body)
    for e in errors:
        test.assertIsInstance(e, dict, body)
        test.assertIsInstance(e.get("field"), str, body)
        test.assertIsInstance(e.get("message"), str, body)
        test.assertTrue(e["message"], body)
    test.assertEqual(sorted(set(e["field"] for e in errors)), sorted(set(fields)),
                     json.dumps(body, ensure_ascii=False, indent=1))


# The Redis readers (stored.py) and the match helpers (matchkit.py) lived
# here; fixtures.X still finds them, for the tests written then.
def __getattr__(name):
    import matchkit
    import stored
    for mod in (stored, matchkit):
        if name in vars(mod):
            return vars(mod)[name]
    raise AttributeError("module 'fixtures' has no attribute %r" % name)
