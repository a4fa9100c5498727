"""
fixtures — shared helpers for the e2e tests of accounts, tokens and listings.

Python 3 standard library only; builds on harness.py (processes, HTTP, RESP)
and adds the domain: a bootstrap admin (craftmatchd --create-admin against the
test Redis), accounts of every role with their bearer tokens, valid needs and
offers with overridable fields, and readers for what Redis holds (the event
stream, a scan of every key and value).

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
import hashlib
import itertools
import json
import os
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
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.api = Api(cls.daemon)
            cls.admin = bootstrap_admin(cls.redis)
            cls.rc = harness.RedisClient(cls.redis.port)
        except BaseException:
            cls._close_shared()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.rc.close()
        finally:
            super().tearDownClass()

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


# ---------------------------------------------------------------------------
# Redis readers
# ---------------------------------------------------------------------------

def events(rc, start="-"):
    """Every entry of cm:events from start: [(id, {field: value})]."""
    out = []
    for eid, flat in rc.execute("XRANGE", "cm:events", start, "+"):
        out.append((eid, dict(zip(flat[0::2], flat[1::2]))))
    return out


def last_event_id(rc):
    entries = rc.execute("XREVRANGE", "cm:events", "+", "-", "COUNT", "1")
    return entries[0][0] if entries else "0-0"


def events_after(rc, after_id):
    """Entries strictly after after_id."""
    return events(rc, "(" + after_id) if after_id != "0-0" else events(rc)


def listing_events(rc, lid, after="0-0"):
    """The events about listing lid: [(type, fields)] in stream order."""
    return [(f["type"], f) for _, f in events_after(rc, after) if f.get("listing") == lid]


def scan_all(rc_bytes, needle):
    """Every place needle (bytes) occurs in Redis: key names and values of every type.

    rc_bytes must be a RedisClient with decode=False. Returns a list of
    (key, where) pairs; empty when the needle is nowhere.
    """
    hits = []
    cursor = b"0"
    n_keys = 0
    while True:
        cursor, keys = rc_bytes.execute("SCAN", cursor, "COUNT", "1000")
        for k in keys:
            n_keys += 1
            if needle in k:
                hits.append((k, "key name"))
            t = rc_bytes.execute("TYPE", k)
            t = t.decode() if isinstance(t, bytes) else t
            if t == "string":
                vals = [rc_bytes.execute("GET", k)]
            elif t == "hash":
                vals = rc_bytes.execute("HGETALL", k)
            elif t == "list":
                vals = rc_bytes.execute("LRANGE", k, 0, -1)
            elif t == "set":
                vals = rc_bytes.execute("SMEMBERS", k)
            elif t == "zset":
                vals = rc_bytes.execute("ZRANGE", k, 0, -1)
            elif t == "stream":
                vals = []
                for _, flat in rc_bytes.execute("XRANGE", k, "-", "+"):
                    vals += flat
            else:
                vals = []
            for v in vals:
                if isinstance(v, bytes) and needle in v:
                    hits.append((k, "value (%s)" % t))
                    break
        if cursor in (b"0", "0"):
            break
    if n_keys == 0:
        raise AssertionError("scan_all: Redis holds no keys at all")
    return hits


def files_containing(directory, needle):
    """Files under directory whose bytes contain needle (e.g. the AOF)."""
    hits = []
    for root, _, files in os.walk(directory):
        for f in files:
            p = os.path.join(root, f)
            try:
                with open(p, "rb") as fh:
                    if needle in fh.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


def sha256_hex(s):
    return hashlib.sha256(s.encode() if isinstance(s, str) else s).hexdigest()


# Progress markers of the matching engine (e.g. cm:engine:cursor, the last
# event it has read): they advance on their own, asynchronously, so a keyspace
# comparison leaves them out.
ENGINE_KEYS = ("cm:engine:",)


def dump_all(rc, ignore=ENGINE_KEYS):
    """Every key of Redis with its type and whole value: {key: (type, value)}.

    For comparing the keyspace before and after a restart. rc: a decoding
    RedisClient. Keys starting with a prefix in ignore are left out.
    """
    out = {}
    cursor = "0"
    while True:
        cursor, keys = rc.execute("SCAN", cursor, "COUNT", "1000")
        for k in keys:
            if k.startswith(tuple(ignore)):
                continue
            t = rc.execute("TYPE", k)
            if t == "string":
                v = rc.execute("GET", k)
            elif t == "hash":
                flat = rc.execute("HGETALL", k)
                v = dict(zip(flat[0::2], flat[1::2]))
            elif t == "list":
                v = rc.execute("LRANGE", k, 0, -1)
            elif t == "set":
                v = sorted(rc.execute("SMEMBERS", k))
            elif t == "zset":
                v = rc.execute("ZRANGE", k, 0, -1, "WITHSCORES")
            elif t == "stream":
                v = rc.execute("XRANGE", k, "-", "+")
            else:
                v = None
            out[k] = (t, v)
        if cursor == "0":
            return out


def dump_diff(before, after, width=300):
    """A readable account of how two dump_all() results differ ('' when equal)."""
    lines = []
    for k in sorted(set(before) | set(after)):
        if k not in after:
            lines.append("removed %s: %.*s" % (k, width, before[k]))
        elif k not in before:
            lines.append("added   %s: %.*s" % (k, width, after[k]))
        elif before[k] != after[k]:
            b, a = before[k], after[k]
            if b[0] == a[0] == "stream":
                ids_b = {e[0] for e in b[1]}
                new = [e for e in a[1] if e[0] not in ids_b]
                gone = [e for e in b[1] if e[0] not in {x[0] for x in a[1]}]
                lines.append("changed %s: %d entries appended %.*s, %d gone %.*s" % (
                    k, len(new), width, new, len(gone), width, gone))
            else:
                lines.append("changed %s:\n   before %.*s\n   after  %.*s" % (k, width, b, width,
                                                                           a))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# matches and the matching engine (test_matches, test_engine, test_engine_random)
# ---------------------------------------------------------------------------
#
# Compatible pairs: the default need and offer above never match. For a pair
# that does, start from matchable_offer_body(): the default offer made
# compatible with the default need (grade A, no minimum order), or override
# both sides explicitly.

import math  # noqa: E402 (kept with the helpers that use it)

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


def redis_hash(rc, key):
    """HGETALL as a dict ({} when the key is absent)."""
    flat = rc.execute("HGETALL", key)
    return dict(zip(flat[0::2], flat[1::2]))


def listing_remaining(rc, lid):
    """The remaining quantity (base units) Redis holds for a listing."""
    return int(rc.execute("HGET", "cm:listing:" + lid, "remaining"))


def stored_matches(rc):
    """Every match hash in Redis: {match id: {field: value}} (via the cm:matches index)."""
    out = {}
    for mid in rc.execute("ZRANGE", "cm:matches", 0, -1):
        out[mid] = redis_hash(rc, "cm:match:" + mid)
    return out


def failed_pairs(rc):
    """cm:pairs:failed: {(need id, offer id): (need version, offer version)} of
    the pairs whose last match failed, with both listings' versions then."""
    flat = rc.execute("HGETALL", "cm:pairs:failed")
    return {tuple(k.split("|")): tuple(int(x) for x in v.split())
            for k, v in zip(flat[0::2], flat[1::2])}


def match_events(rc, match_id, after="0-0"):
    """The events about one match: [(stream id, fields)] in stream order."""
    return [(eid, f) for eid, f in events_after(rc, after) if f.get("match") == match_id]


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
