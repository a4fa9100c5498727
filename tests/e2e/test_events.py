"""
e2e: GET /v1/events (server-sent events) and POST /v1/stream-tickets.

Proves, against a real redis-server and craftmatchd:
- the stream's form: 200 text/event-stream, no-store, X-Request-Id; first a
  retry: hint; "ready" whose id is the position the stream starts from;
  every event with id: = its cm:events entry id, event: = its type, data: =
  the entry's fields plus id and type, exactly as XRANGE shows them, less
  the fields for the servers ('_' names: the engine record a listing event
  carries);
- heartbeats (": ping") keep a stream open well past --idle-timeout, while
  a silent keep-alive connection is still closed at it;
- the query is checked (unknown or repeated parameters, bad types, listing
  and event ids: 400) before the caller (no credentials: 401), and a bearer
  token in the URL (token=, access_token=) is refused with 400 pointing at
  tickets; the types and listing filters narrow what arrives;
- tickets: POST /v1/stream-tickets needs a bearer token; a ticket opens one
  stream as its account, once; a used, expired, malformed or unknown ticket,
  or one whose token was revoked since, is 401;
- revoking the token a stream was opened with ends that stream after
  telling it token.revoked;
- visibility, as a table over roles and relations: admin, moderator in
  scope by province and by forum, moderator out of scope, the village that
  owns a need, another village, the supplier party of a match before and
  after its approval, an unrelated supplier — each receives exactly the
  entries of cm:events its account may see (computed here independently
  from XRANGE), live and again when replayed from its first position;
- resume: Last-Event-ID (header, winning over last_event_id=) replays what
  was missed; a position older than what the stream keeps (XTRIM) or not of
  this stream gets "reset" first, then the live tail; a stream never trimmed
  replays everything from 0-0;
- /metrics counts open subscribers, delivered events and resets;
- SIGTERM ends open streams cleanly (last chunk sent) and the process exits 0
  with no sanitizer report;
- two craftmatchd on one Redis: an event caused through one (role api) reaches
  a subscriber of the other (role push); the api-only node answers 503;
- a Redis restart (AOF) leaves open streams open; the hub reads on where it
  was, and a stream resumed meanwhile replays from Redis;
- scripts/watch prints one line per event, resumes with Last-Event-ID across
  a server restart (nothing missed, nothing twice), never prints the token,
  and ends with status 2 and a clear message on 401, 400 or no token.

The SSE client here (SseClient) reads raw sockets, chunked transfer coding
and the event-stream format strictly; test_events_resume.py and
test_events_scale.py use it too.
"""
import json
import os
import re
import select
import shutil
import signal
import socket
import tempfile
import time

import fixtures
import harness

TICKET_RE = re.compile(r"^cmst_[A-Za-z0-9_-]{43}$")
ID_RE = re.compile(r"^(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$")
CONTROL = ("ready", "reset")


def id_key(eid):
    ms, seq = eid.split("-")
    return int(ms), int(seq)


# ---------------------------------------------------------------------------
# A strict SSE client on a raw socket
# ---------------------------------------------------------------------------

class Event:
    """One dispatched event: id, type (the event: field) and data (parsed JSON)."""

    def __init__(self, eid, etype, data):
        self.id, self.type, self.data = eid, etype, data

    def __repr__(self):
        return "Event(%s %s)" % (self.type, self.id)


class SseClient:
    """GET /v1/events on a raw, non-blocking socket, parsed as it arrives.

    The HTTP head, the chunked transfer coding and the event-stream format are
    all checked: anything the server should not send fails the test. events
    holds every dispatched event in order (control events included), comments
    the comment lines (": ping"), retry the retry: hint. pump() reads what is
    there; wait() blocks on select() until a predicate holds. fileno() lets a
    selector watch many clients at once.
    """

    def __init__(self, port, path="/v1/events", token=None, headers=None, rcvbuf=None,
                 timeout=harness.HTTP_TIMEOUT):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((harness.HOST, port))
        lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (harness.HOST, port),
                 "Accept: text/event-stream"]
        if token:
            lines.append("Authorization: Bearer " + token)
        for k, v in (headers or {}).items():
            lines.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
        self.sock.setblocking(False)
        self.raw = b""
        self.mode = "head"
        self.need = 0
        self.status = None
        self.headers = None
        self.body = b""  # a non-200 answer's body
        self.text = b""  # event-stream bytes not yet split into lines
        self.block = {}
        self.events = []
        self.comments = []
        self.retry = None
        self.eof = False
        self.ended = False  # the last chunk (0) arrived: the server ended the stream

    # -- reading --

    def fileno(self):
        return self.sock.fileno()

    def pump(self):
        """Reads whatever is there without blocking; returns the bytes read."""
        total = 0
        while self.sock is not None and not self.eof:
            try:
                chunk = self.sock.recv(262144)
            except (BlockingIOError, InterruptedError):
                break
            except (ConnectionResetError, BrokenPipeError):
                self.eof = True
                break
            if not chunk:
                self.eof = True
                break
            total += len(chunk)
            self.raw += chunk
            self._parse()
        return total

    def _parse(self):
        while True:
            if self.mode == "head":
                i = self.raw.find(b"\r\n\r\n")
                if i < 0:
                    return
                head, self.raw = self.raw[:i].decode("latin-1"), self.raw[i + 4:]
                lines = head.split("\r\n")
                m = re.match(r"^HTTP/1\.1 (\d{3}) ", lines[0] + " ")
                if not m:
                    raise AssertionError("bad status line %r" % lines[0])
                self.status = int(m.group(1))
                self.headers = harness.Headers(
                    (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:]))
                if self.status != 200:
                    self.mode, self.need = "length", int(self.headers.get("Content-Length", 0))
                    continue
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    raise AssertionError("a stream must be chunked: %r" % self.headers)
                self.mode = "size"
            elif self.mode == "size":
                i = self.raw.find(b"\r\n")
                if i < 0:
                    return
                line, self.raw = self.raw[:i], self.raw[i + 2:]
                if not re.match(rb"^[0-9a-f]+$", line):
                    raise AssertionError("bad chunk size line %r" % line)
                self.need = int(line, 16)
                self.mode = "data" if self.need else "trailer"
            elif self.mode == "data":
                if not self.raw:
                    return
                take = self.raw[:self.need]
                self.raw = self.raw[len(take):]
                self.need -= len(take)
                self._stream(take)
                if self.need:
                    return
                self.mode = "crlf"
            elif self.mode == "crlf":
                if len(self.raw) < 2:
                    return
                if self.raw[:2] != b"\r\n":
                    raise AssertionError("chunk not followed by CRLF: %r" % self.raw[:20])
                self.raw = self.raw[2:]
                self.mode = "size"
            elif self.mode == "trailer":
                if len(self.raw) < 2:
                    return
                if self.raw[:2] != b"\r\n":
                    raise AssertionError("bad end of the chunked body: %r" % self.raw[:20])
                self.raw = self.raw[2:]
                self.ended = True
                self.mode = "done"
                if self.text:
                    raise AssertionError("stream ended inside an event: %r" % self.text)
            elif self.mode == "length":
                self.body += self.raw
                self.raw = b""
                return
            else:  # done: nothing may follow on this connection unasked
                if self.raw:
                    raise AssertionError("bytes after the end of the stream: %r" % self.raw[:80])
                return

    def _stream(self, data):
        self.text += data
        while b"\n" in self.text:
            line, self.text = self.text.split(b"\n", 1)
            if b"\r" in line:
                raise AssertionError("CR in an event-stream line: %r" % line)
            line = line.decode("utf-8")
            if line == "":
                self._dispatch()
            elif line.startswith(":"):
                self.comments.append(line[1:].strip())
            else:
                name, sep, value = line.partition(":")
                if not sep or name not in ("id", "event", "data", "retry"):
                    raise AssertionError("unexpected event-stream line %r" % line)
                if name in self.block:
                    raise AssertionError("field %s twice in one event" % name)
                self.block[name] = value[1:] if value.startswith(" ") else value
        return

    def _dispatch(self):
        b, self.block = self.block, {}
        if not b:
            return
        if set(b) == {"retry"}:
            self.retry = int(b["retry"])
            return
        if set(b) != {"id", "event", "data"}:
            raise AssertionError("an event needs exactly id, event and data: %r" % b)
        if not ID_RE.match(b["id"]):
            raise AssertionError("id %r is not a stream id" % b["id"])
        data = json.loads(b["data"])
        if data.get("id") != b["id"] or data.get("type") != b["event"]:
            raise AssertionError("data does not repeat id and type: %r" % b)
        self.events.append(Event(b["id"], b["event"], data))

    # -- waiting --

    def wait(self, predicate, timeout=20.0, what="a condition"):
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            if predicate(self):
                return self
            if self.eof or self.ended:
                raise AssertionError("the stream closed before %s (status %s, last events %r, "
                                     "body %r)" % (what, self.status, self.events[-5:],
                                                   self.body[:300]))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out after %.0fs waiting for %s (status %s, last "
                                     "events %r)" % (timeout, what, self.status,
                                                     self.events[-5:]))
            select.select([self.sock], [], [], min(left, 0.5))

    def wait_status(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while self.status is None or (self.status != 200 and self.mode == "length" and
                                      len(self.body) < self.need):
            self.pump()
            if self.status is not None and self.status != 200 and len(self.body) >= self.need:
                break
            if self.eof and self.status is None:
                raise AssertionError("closed before a response head")
            if time.monotonic() > deadline:
                raise AssertionError("no response head within %.0fs" % timeout)
            select.select([self.sock], [], [], 0.2)
        return self.status

    def problem(self):
        self.wait_status()
        return json.loads(self.body.decode("utf-8"))

    @property
    def ready(self):
        for e in self.events:
            if e.type == "ready":
                return e
        return None

    def wait_ready(self, timeout=20.0):
        self.wait(lambda s: s.ready is not None, timeout, "the ready event")
        return self.ready

    def data_events(self):
        """The events that are stream entries (not ready/reset)."""
        return [e for e in self.events if e.type not in CONTROL]

    def has(self, eid):
        return any(e.id == eid for e in self.events if e.type not in CONTROL)

    def wait_id(self, eid, timeout=20.0):
        return self.wait(lambda s: s.has(eid), timeout, "event %s" % eid)

    def wait_end(self, timeout=20.0):
        """Waits until the server ends the stream (last chunk) or closes."""
        deadline = time.monotonic() + timeout
        while not (self.ended or self.eof):
            self.pump()
            if self.ended or self.eof:
                break
            if time.monotonic() > deadline:
                raise AssertionError("the stream did not end within %.0fs" % timeout)
            select.select([self.sock], [], [], 0.2)

    def close(self, abort=False):
        if self.sock is not None:
            if abort:  # RST instead of FIN
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.sock.close()
            self.sock = None


# ---------------------------------------------------------------------------
# Who may see what, written independently of the server
# ---------------------------------------------------------------------------

def visible(viewer, f):
    """Whether an account (its document) may see an entry (its fields)."""
    role, me = viewer["role"], viewer["id"]
    if role == "admin":
        return True
    scope = viewer.get("scope") or {}

    def covers(province, forum):
        return role == "moderator" and (
            (province and province in (scope.get("provinces") or [])) or
            (forum and forum in (scope.get("forums") or [])))
    t = f.get("type", "")
    if t.startswith("listing."):
        return f.get("owner") == me or bool(covers(f.get("province"), f.get("forum")))
    if t.startswith("match."):
        if covers(f.get("need_province"), f.get("need_forum")) or \
                covers(f.get("offer_province"), f.get("offer_forum")):
            return True
        return f.get("approved") == "1" and me in (f.get("need_owner"), f.get("offer_owner"))
    if t.startswith(("account.", "token.")):
        return f.get("account") == me
    if t.startswith("forum."):
        if f.get("organiser") == me or covers(None, f.get("forum")) or \
                any(covers(p, None) for p in f.get("provinces", "").split(",") if p):
            return True
        return t != "forum.created" and f.get("state") != "draft" and \
            bool(viewer.get("forum")) and viewer.get("forum") == f.get("forum")
    return False


def about_listing(f, lid):
    return lid in (f.get("listing"), f.get("need"), f.get("offer"))


def expected(rc, viewer, after, until, types=None, listing=None):
    """[(id, data)] of the entries in (after, until] the viewer receives."""
    out = []
    for eid, f in fixtures.events_after(rc, after):
        if id_key(eid) > id_key(until):
            break
        if types and f.get("type") not in types:
            continue
        if listing and not about_listing(f, listing):
            continue
        if visible(viewer, f):
            out.append((eid, dict(pushed(f), id=eid)))
    return out


def pushed(fields):
    """An entry's fields as a client gets them: without the servers' '_' fields."""
    return {k: v for k, v in fields.items() if not k.startswith("_")}


def received(client):
    return [(e.id, e.data) for e in client.data_events()]


def doc_of(actor):
    """What visible() needs of an Actor."""
    d = dict(actor.doc)
    d["id"], d["role"] = actor.id, actor.role
    return d


def stream_tail(rc):
    """The last generated id of cm:events ('0-0' when it does not exist)."""
    if not rc.execute("EXISTS", "cm:events"):
        return "0-0"
    info = rc.execute("XINFO", "STREAM", "cm:events")
    return dict(zip(info[0::2], info[1::2]))["last-generated-id"]


def new_ticket(api, actor):
    resp = api.call(actor, "POST", "/v1/stream-tickets")
    if resp[0] != 200:
        raise AssertionError("POST /v1/stream-tickets: %r" % (resp,))
    return resp[2]


def compatible_pair_bodies(forum=None):
    """A need and an offer the engine matches: same clay, grade A, price and minimum order fit."""
    need = {"grade": "A"}
    if forum:
        need["forum"] = forum
    return need, {"grade": "A", "min_order": "1"}


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

class StreamTestCase(fixtures.ApiTestCase):
    """ApiTestCase with helpers to open streams (closed at teardown)."""

    def stream(self, token=None, query="", headers=None, daemon=None, **kw):
        d = daemon or self.daemon
        c = SseClient(d.port, "/v1/events" + query, token=token, headers=headers, **kw)
        self.addCleanup(c.close)
        return c

    def open_ready(self, actor, query="", headers=None):
        token = actor.token if isinstance(actor, fixtures.Actor) else actor
        c = self.stream(token, query, headers)
        self.assertEqual(c.wait_status(), 200, c.body)
        c.wait_ready()
        return c


class EventsTest(StreamTestCase):
    daemon_args = ("--events-heartbeat", "1", "--idle-timeout", "3", "--stream-ticket-ttl", "2",
                   "--events-retry-ms", "1500")

    def test_stream_form_and_one_event_as_xrange_shows_it(self):
        tail = stream_tail(self.rc)
        c = self.stream(self.admin.token)
        self.assertEqual(c.wait_status(), 200, c.body)
        self.assertEqual(harness.media_type(c.headers), "text/event-stream")
        self.assertEqual(c.headers.get("Cache-Control"), "no-store")
        self.assertRegex(c.headers.get("X-Request-Id", ""), r"^[A-Za-z0-9._-]{1,64}$")
        ready = c.wait_ready()
        self.assertEqual(c.retry, 1500)
        self.assertEqual(c.events[0].type, "ready", "ready comes before any event")
        # A fresh stream starts where the hub is: the end of cm:events, once the hub has read it.
        self.assertLessEqual(id_key(ready.id), id_key(tail))

        def starts_at_tail():
            probe = self.stream(self.admin.token)
            return probe.wait_ready().id == tail
        harness.wait_for(starts_at_tail, 10, interval=0.1, message="a stream starting at the tail")
        village = self.api.make_actor(self.admin, "village")
        need = self.api.post_need(village)
        want = expected(self.rc, doc_of(self.admin), ready.id, fixtures.last_event_id(self.rc))
        self.assertTrue(any(d.get("listing") == need["id"] for _, d in want))
        c.wait_id(want[-1][0])
        self.assertEqual(received(c), want)
        # The stored entry carries the engine's record; the pushed one does not.
        created = [f for _, f in fixtures.listing_events(self.rc, need["id"])
                   if f["type"] == "listing.created"]
        self.assertTrue(created and created[0]["_eng"].startswith("m1 "), created)
        self.assertEqual(set(created[0]) - set(pushed(created[0])), {"_eng", "_seq"})
        sent = [d for _, d in received(c) if d.get("listing") == need["id"]]
        self.assertFalse([k for d in sent for k in d if k.startswith("_")], sent)

    def test_heartbeats_keep_a_stream_open_past_the_idle_timeout(self):
        c = self.open_ready(self.admin)
        idle = self.daemon.raw()
        self.addCleanup(idle.close)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 7.5:  # 2.5 idle timeouts
            c.pump()
            self.assertFalse(c.eof or c.ended, "the stream was closed while heartbeats flowed")
            time.sleep(0.2)
        self.assertGreaterEqual(c.comments.count("ping"), 3, c.comments)
        self.assertTrue(idle.closed_by_peer(1), "a silent connection outlived --idle-timeout")
        village = self.api.make_actor(self.admin, "village")
        c.wait(lambda s: any(e.data.get("account") == village.id for e in s.data_events()),
               what="an event after the idle period")

    def test_query_is_checked_before_the_caller(self):
        tok = self.admin.token
        cases = [
            ("?bogus=1", None, {}, ["bogus"]),
            ("?types=listing.created&types=match.approved", tok, {}, ["types"]),
            ("?types=listing.create", tok, {}, ["types"]),
            ("?types=", tok, {}, ["types"]),
            ("?types=listing.created,,match.approved", tok, {}, ["types"]),
            ("?listing=lst_nope", tok, {}, ["listing"]),
            ("?last_event_id=abc", None, {}, ["last_event_id"]),
            ("?last_event_id=01-1", tok, {}, ["last_event_id"]),
            ("?last_event_id=1-", tok, {}, ["last_event_id"]),
            ("?last_event_id=-1-0", tok, {}, ["last_event_id"]),
            ("?last_event_id=1-2-3", tok, {}, ["last_event_id"]),
            ("?last_event_id=18446744073709551616-0", tok, {}, ["last_event_id"]),
            ("", tok, {"Last-Event-ID": "1700000000000"}, ["Last-Event-ID"]),
            ("?last_event_id=1-0", tok, {"Last-Event-ID": "x"}, ["Last-Event-ID"]),
            ("?ticket=" + "cmst_" + "A" * 43, tok, {}, ["ticket"]),
        ]
        for query, token, headers, fields in cases:
            with self.subTest(query=query, headers=headers):
                h = dict(headers)
                if token:
                    h["Authorization"] = "Bearer " + token
                resp = self.daemon.request("GET", "/v1/events" + query, headers=h)
                self.assertValidation(resp, fields)
        for name in ("token", "access_token"):
            with self.subTest(param=name):
                resp = self.daemon.request("GET", "/v1/events?%s=%s" % (name, tok))
                self.assertProblemResp(resp, 400)
                self.assertEqual(resp[2]["type"], "/problems/bad-request")
                self.assertIn("stream-tickets", resp[2]["detail"])
                self.assertNotIn(tok, json.dumps(resp[2]))
        self.assert401(self.daemon.request("GET", "/v1/events"))
        self.assert401(self.daemon.request("GET", "/v1/events", token="cm_" + "A" * 43))
        self.assert401(self.daemon.request("GET", "/v1/events?types=listing.created"))

    def test_types_and_listing_filters(self):
        village = self.api.make_actor(self.admin, "village")
        first = self.api.post_need(village)
        c_types = self.open_ready(self.admin, "?types=listing.updated,listing.closed")
        c_listing = self.open_ready(self.admin, "?listing=" + first["id"])
        start = min(c_types.ready.id, c_listing.ready.id, key=id_key)
        second = self.api.post_need(village)
        for lst in (first, second):
            resp = self.api.call(village, "PATCH", "/v1/listings/" + lst["id"],
                                 {"quantity": "20"}, {"If-Match": '"1"'})
            self.assertStatus(resp, 200)
        self.assertStatus(self.api.call(village, "DELETE", "/v1/listings/" + first["id"]), 200)
        until = fixtures.last_event_id(self.rc)
        admin = doc_of(self.admin)
        want_types = expected(self.rc, admin, c_types.ready.id, until,
                              types={"listing.updated", "listing.closed"})
        want_listing = expected(self.rc, admin, c_listing.ready.id, until, listing=first["id"])
        self.assertEqual([d["type"] for _, d in want_types],
                         ["listing.updated", "listing.updated", "listing.closed"])
        self.assertEqual([d["type"] for _, d in want_listing], ["listing.updated", "listing.closed"])
        self.assertTrue(id_key(start) < id_key(until))
        c_types.wait_id(want_types[-1][0])
        c_listing.wait_id(want_listing[-1][0])
        self.assertEqual(received(c_types), want_types)
        self.assertEqual(received(c_listing), want_listing)

    def test_head_answers_without_a_stream(self):
        status, headers, body = self.daemon.request("HEAD", "/v1/events", token=self.admin.token)
        self.assertEqual(status, 200)
        self.assertEqual(harness.media_type(headers), "text/event-stream")
        self.assertEqual(body, "")

    # -- tickets --

    def test_ticket_needs_a_bearer_token(self):
        self.assert401(self.daemon.request("POST", "/v1/stream-tickets"))
        self.assert401(self.daemon.request("POST", "/v1/stream-tickets", token="cm_" + "B" * 43))
        resp = self.api.call(self.admin, "POST", "/v1/stream-tickets", {"ttl": 5})
        self.assertValidation(resp, ["ttl"])
        resp = self.api.call(self.admin, "POST", "/v1/stream-tickets", {})
        self.assertStatus(resp, 200)

    def test_ticket_opens_one_stream_as_its_account_once(self):
        village = self.api.make_actor(self.admin, "village")
        t0 = time.time()
        t = new_ticket(self.api, village)
        self.assertEqual(set(t), {"ticket", "expires_at"})
        self.assertRegex(t["ticket"], TICKET_RE)
        expires = fixtures.rfc3339_to_ms(t["expires_at"]) / 1000.0
        self.assertTrue(t0 + 1 <= expires <= time.time() + 2 + 1, (t0, expires))
        # Only its hash is kept, with an expiry.
        key = "cm:ticket:" + fixtures.sha256_hex(t["ticket"])
        self.assertEqual(self.rc.execute("HGET", key, "account"), village.id)
        self.assertGreater(self.rc.execute("PTTL", key), 0)
        c = self.stream(query="?ticket=" + t["ticket"])
        self.assertEqual(c.wait_status(), 200, c.body)
        c.wait_ready()
        self.assertEqual(self.rc.execute("EXISTS", key), 0, "a used ticket is gone")
        # It streams as the village: its own listing, not another village's.
        other = self.api.make_actor(self.admin, "village")
        theirs = self.api.post_need(other)
        mine = self.api.post_need(village)
        c.wait(lambda s: any(e.data.get("listing") == mine["id"] for e in s.data_events()),
               what="the village's own listing")
        self.assertFalse(any(e.data.get("listing") == theirs["id"] for e in c.events))
        again = self.stream(query="?ticket=" + t["ticket"])
        self.assertEqual(again.wait_status(), 401)
        self.assertIn("used", again.problem()["detail"])

    def test_ticket_expires(self):
        t = new_ticket(self.api, self.admin)
        time.sleep(3.2)  # --stream-ticket-ttl 2
        resp = self.daemon.request("GET", "/v1/events?ticket=" + t["ticket"])
        self.assert401(resp)

    def test_wrong_tickets_are_401(self):
        good = new_ticket(self.api, self.admin)["ticket"]
        for bad in ("cmst_" + "A" * 43, "cmst_short", good[:-1] + ("A" if good[-1] != "A" else "B"),
                    "cm_" + good[5:], "cmst_" + "!" * 43):
            with self.subTest(ticket=bad):
                self.assert401(self.daemon.request("GET", "/v1/events?ticket=" + bad))

    def test_a_ticket_dies_with_its_token(self):
        village = self.api.make_actor(self.admin, "village")
        t = new_ticket(self.api, village)
        self.assertStatus(self.api.call(village, "DELETE", "/v1/tokens/" + village.token_id), 204)
        self.assert401(self.daemon.request("GET", "/v1/events?ticket=" + t["ticket"]))

    def test_revoking_the_token_ends_the_stream(self):
        village = self.api.make_actor(self.admin, "village")
        c = self.open_ready(village)
        self.assertStatus(self.api.call(self.admin, "DELETE", "/v1/tokens/" + village.token_id),
                          204)
        c.wait_end()
        self.assertTrue(c.ended, "the stream should end with its last chunk")
        self.assertEqual([(e.type, e.data["token"]) for e in c.data_events()][-1:],
                         [("token.revoked", village.token_id)])
        harness.wait_for(lambda: c.pump() or c.eof, 10,
                         message="the connection to close after the stream's end")

    def test_metrics(self):
        before = self.daemon.metrics()
        n0 = before.value("craftmatch_events_subscribers")
        d0 = before.value("craftmatch_events_delivered_total")
        self.assertEqual(before.value("craftmatch_events_hub_live"), 1)
        for name in ("craftmatch_events_delivered_total", "craftmatch_events_dropped_slow_total",
                     "craftmatch_events_resets_total"):
            self.assertEqual(before.type_of(name), "counter", name)
        self.assertEqual(before.type_of("craftmatch_events_subscribers"), "gauge")
        streams = [self.open_ready(self.admin) for _ in range(3)]
        self.assertEqual(self.daemon.metric("craftmatch_events_subscribers"), n0 + 3)
        village = self.api.make_actor(self.admin, "village")
        last = fixtures.last_event_id(self.rc)
        for c in streams:
            c.wait_id(last)
        delivered = sum(len(c.data_events()) for c in streams)
        self.assertGreaterEqual(self.daemon.metric("craftmatch_events_delivered_total"),
                                d0 + delivered)
        for c in streams:
            c.close()
        harness.wait_for(lambda: self.daemon.metric("craftmatch_events_subscribers") == n0, 10,
                         message="closed streams to be counted out")
        self.assertTrue(village.id)


class ResumeTest(StreamTestCase):
    """Resume points: replay, the seam, trimmed and foreign positions."""

    def post_some(self, village, n):
        for _ in range(n):
            self.api.post_need(village)

    def test_replay_from_a_position_then_live(self):
        village = self.api.make_actor(self.admin, "village")
        start = fixtures.last_event_id(self.rc)
        self.post_some(village, 3)
        mid = fixtures.last_event_id(self.rc)
        self.post_some(village, 2)
        admin = doc_of(self.admin)
        # The header wins over the parameter (a browser reconnects with both).
        c = self.open_ready(self.admin, "?last_event_id=" + start, {"Last-Event-ID": mid})
        self.post_some(village, 2)
        until = fixtures.last_event_id(self.rc)
        c.wait_id(until)
        self.assertEqual(received(c), expected(self.rc, admin, mid, until))
        self.assertFalse(any(e.type == "reset" for e in c.events))
        # The parameter alone.
        c2 = self.open_ready(self.admin, "?last_event_id=" + start)
        c2.wait_id(until)
        self.assertEqual(received(c2), expected(self.rc, admin, start, until))
        # "ready" comes once, when the catch-up reached the live tail, at the last id replayed.
        self.assertEqual([e.type for e in c2.events].count("ready"), 1)
        self.assertEqual(c2.ready.id, c2.events[c2.events.index(c2.ready) - 1].id)


    def test_trimmed_history_sends_reset_then_the_live_tail(self):
        village = self.api.make_actor(self.admin, "village")
        self.post_some(village, 2)
        old = fixtures.last_event_id(self.rc)
        self.post_some(village, 6)
        resets0 = self.daemon.metric("craftmatch_events_resets_total")
        self.rc.execute("XTRIM", "cm:events", "MAXLEN", "3")  # exact: the entry after `old` goes
        first_kept = self.rc.execute("XRANGE", "cm:events", "-", "+", "COUNT", "1")[0][0]
        self.assertLess(id_key(old), id_key(first_kept))
        c = self.open_ready(self.admin, headers={"Last-Event-ID": old})
        kinds = [e.type for e in c.events]
        self.assertEqual(kinds[:2], ["reset", "ready"], kinds)
        reset = c.events[0]
        self.assertEqual(reset.data["reason"], "trimmed")
        self.assertEqual(reset.data["after"], old)
        self.assertIn("reload", reset.data["detail"])
        self.assertEqual(reset.id, stream_tail(self.rc), "reset names the live position")
        self.assertEqual(c.ready.id, reset.id)
        self.assertEqual(received(c), [], "nothing is replayed after a reset")
        self.assertEqual(self.daemon.metric("craftmatch_events_resets_total"), resets0 + 1)
        self.post_some(village, 1)
        until = fixtures.last_event_id(self.rc)
        c.wait_id(until)
        self.assertEqual(received(c), expected(self.rc, doc_of(self.admin), reset.id, until))
        # A client resuming from the reset's id carries on without another reset.
        c2 = self.open_ready(self.admin, headers={"Last-Event-ID": reset.id})
        c2.wait_id(until)
        self.assertFalse(any(e.type == "reset" for e in c2.events))

    def test_a_position_from_elsewhere_sends_reset(self):
        future = "%d-0" % (int(time.time() * 1000) + 10 ** 9)
        c = self.open_ready(self.admin, "?last_event_id=" + future)
        self.assertEqual(c.events[0].type, "reset")
        self.assertEqual(c.events[0].data["reason"], "unknown")
        village = self.api.make_actor(self.admin, "village")
        c.wait(lambda s: any(e.data.get("account") == village.id for e in s.data_events()),
               what="the live tail after the reset")


class ReplayAllTest(StreamTestCase):
    """A stream of its own, never trimmed."""

    def test_zero_replays_everything_kept_when_nothing_was_trimmed(self):
        village = self.api.make_actor(self.admin, "village")
        for _ in range(3):
            self.api.post_need(village)
        c = self.open_ready(self.admin, headers={"Last-Event-ID": "0-0"})
        until = c.ready.id
        self.assertEqual(until, fixtures.last_event_id(self.rc))
        self.assertEqual(received(c), expected(self.rc, doc_of(self.admin), "0-0", until))
        self.assertFalse(any(e.type == "reset" for e in c.events))


class VisibilityTest(StreamTestCase):
    """Who receives what: a table over roles and relations to a match."""

    FORUM = "dien-dan-kiem-thu"

    def test_each_role_receives_exactly_what_it_may_see(self):
        api, admin = self.api, self.admin
        mk = api.make_actor
        actors = {
            "admin": admin,
            "mod_in": mk(admin, "moderator", "mod_in", scope={"provinces": ["HN"]}),
            "mod_forum": mk(admin, "moderator", "mod_forum", scope={"forums": [self.FORUM]}),
            "mod_out": mk(admin, "moderator", "mod_out", scope={"provinces": ["QN"]}),
            "village": mk(admin, "village", "village"),
            "other_village": mk(admin, "village", "other_village"),
            "supplier": mk(admin, "supplier", "supplier"),
            "other_supplier": mk(admin, "supplier", "other_supplier"),
        }
        docs = {k: doc_of(a) for k, a in actors.items()}
        # the forum the need registers for: organised by the admin, in Lạng Sơn (nobody's scope)
        api.create_forum(admin, "open", id=self.FORUM, provinces=["LS"])
        streams = {k: self.open_ready(a) for k, a in actors.items()}
        # The village also listens through a ticket, as a browser would.
        t = new_ticket(api, actors["village"])
        streams["village_ticket"] = self.stream(query="?ticket=" + t["ticket"])
        self.assertEqual(streams["village_ticket"].wait_status(), 200)
        streams["village_ticket"].wait_ready()
        docs["village_ticket"] = docs["village"]

        need_over, offer_over = compatible_pair_bodies(forum=self.FORUM)
        need = api.post_need(actors["village"], **need_over)
        offer = api.post_offer(actors["supplier"], **offer_over)
        other_need = api.post_need(actors["other_village"], quantity="5")  # below min order
        other_offer = api.post_offer(actors["other_supplier"])  # grade B: fits nothing
        # the need waits for its forum: closing the forum sends it to the market
        for action in ("close-registration", "close"):
            if action == "close":
                api.wait_forum_state(admin, self.FORUM, "review")
            api.forum_act(admin, self.FORUM, action)

        def proposal():
            page = api.call(admin, "GET", "/v1/matches?listing=" + need["id"])[2]
            return page.get("items")
        m = harness.wait_for(proposal, 20, interval=0.2, message="the engine's proposal")[0]
        self.assertEqual((m["need"]["id"], m["offer"]["id"]), (need["id"], offer["id"]))
        proposed_at = fixtures.last_event_id(self.rc)
        act = "/v1/matches/%s/%%s" % m["id"]
        self.assertStatus(api.call(actors["mod_in"], "POST", act % "approve"), 200)
        self.assertStatus(api.call(actors["village"], "POST", act % "accept"), 200)
        self.assertStatus(api.call(actors["supplier"], "POST", act % "accept"), 200)
        # Sentinels: each account's own new token, which only it and admins see.
        sentinel = {}
        for k, a in actors.items():
            api.issue_token(a)
            sentinel[k] = fixtures.last_event_id(self.rc)
        sentinel["village_ticket"] = sentinel["village"]
        until = max(sentinel.values(), key=id_key)
        for k, c in streams.items():
            c.wait_id(sentinel[k] if k != "admin" else until)

        got, want = {}, {}
        for k, c in streams.items():
            want[k] = expected(self.rc, docs[k], c.ready.id, until)
            got[k] = [x for x in received(c) if id_key(x[0]) <= id_key(until)]
            self.assertEqual(got[k], want[k], "stream of %s" % k)

        # The table, spelled out: (listing or match event) -> who sees it.
        def seen(k, pred):
            return any(pred(d) for _, d in got[k])

        def lst(lid, etype="listing.created"):
            return lambda d: d["type"] == etype and d.get("listing") == lid

        def mat(etype):
            return lambda d: d["type"] == etype and d.get("match") == m["id"]

        table = [
            # event                      admin mod_in forum mod_out village other_v supplier other_s
            ("need created", lst(need["id"]), (1, 1, 1, 0, 1, 0, 0, 0)),
            ("offer created", lst(offer["id"]), (1, 0, 0, 0, 0, 0, 1, 0)),
            ("other need created", lst(other_need["id"]), (1, 1, 0, 0, 0, 1, 0, 0)),
            ("other offer created", lst(other_offer["id"]), (1, 0, 0, 0, 0, 0, 0, 1)),
            ("match proposed", mat("match.proposed"), (1, 1, 1, 0, 0, 0, 0, 0)),
            ("match approved", mat("match.approved"), (1, 1, 1, 0, 1, 0, 1, 0)),
            ("match accepted", mat("match.accepted"), (1, 1, 1, 0, 1, 0, 1, 0)),
            ("match confirmed", mat("match.confirmed"), (1, 1, 1, 0, 1, 0, 1, 0)),
        ]
        who = ("admin", "mod_in", "mod_forum", "mod_out", "village", "other_village", "supplier",
               "other_supplier")
        for name, pred, row in table:
            for k, expect in zip(who, row):
                with self.subTest(event=name, viewer=k):
                    self.assertEqual(seen(k, pred), bool(expect))
        for k in who:
            with self.subTest(own_token=k):
                ids = {eid for eid, _ in got[k]}
                self.assertIn(sentinel[k], ids)
                accounts = {d["account"] for _, d in got[k] if d["type"].startswith("token.")}
                if k == "admin":
                    self.assertTrue(all(sentinel[j] in ids for j in who))
                else:
                    self.assertEqual(accounts, {actors[k].id})
        self.assertLess(id_key(proposed_at), id_key(until))
        # The ticket stream opened later, and a stream starts at the position the process's
        # reader had reached (which may trail the newest entry): compare from its start on.
        start = id_key(streams["village_ticket"].ready.id)
        self.assertEqual(got["village_ticket"],
                         [x for x in got["village"] if id_key(x[0]) > start])

        # Replayed from each stream's first position: the same, through catch-up.
        for k in who:
            with self.subTest(replay=k):
                c = self.stream(actors[k].token, headers={"Last-Event-ID": streams[k].ready.id})
                self.assertEqual(c.wait_status(), 200)
                c.wait_ready()
                self.assertEqual([x for x in received(c) if id_key(x[0]) <= id_key(until)],
                                 want[k])
                c.close()


class ListingEndEventsTest(fixtures.MatchHelpers, StreamTestCase):
    """Closing a need tells everyone concerned, live, that its unconfirmed
    matches are cancelled: the parties of an approved one and the
    moderators; a proposal the parties never saw stays unseen."""

    def test_closing_a_need_tells_the_parties_of_its_matches(self):
        mod = self.moderator(provinces=["HN"], label="mod-HN")
        village = self.party("village", "HN")
        sa, sb = self.party("supplier", "HP", label="sa"), self.party("supplier", "HP", label="sb")
        oa = self.offer(sa, "rattan", 4, 15000000)
        ob = self.offer(sb, "rattan", 4, 16000000)
        need = self.need(village, "rattan", 8)
        ms = self.by_offer(self.wait_for_matches(need["id"], 2))
        ma, mb = ms[oa["id"]], ms[ob["id"]]
        self.act_ok(mod, ma["id"], "approve")
        who = {"village": village, "sa": sa, "sb": sb, "mod": mod}
        streams = {k: self.open_ready(a) for k, a in who.items()}
        after = max((c.ready.id for c in streams.values()), key=id_key)
        self.assertStatus(self.api.call(village, "DELETE", "/v1/listings/" + need["id"]), 200)
        until = fixtures.last_event_id(self.rc)
        got = {}
        for k, c in streams.items():
            want = expected(self.rc, doc_of(who[k]), after, until)
            if want:
                c.wait_id(want[-1][0])
            got[k] = [(d["type"], d.get("match") or d.get("listing"), d.get("state"))
                      for _, d in received(c) if id_key(d["id"]) > id_key(after)]
            self.assertEqual(received(c)[-len(want):] if want else [], want, k)
        closed = ("listing.closed", need["id"], None)
        gone_a = ("match.cancelled", ma["id"], "cancelled")
        gone_b = ("match.cancelled", mb["id"], "cancelled")
        self.assertEqual(got["village"], [closed, gone_a])
        self.assertEqual(got["sa"], [gone_a])
        self.assertEqual(got["sb"], [])
        self.assertEqual(got["mod"], [closed, gone_a, gone_b])
        for _, d in received(streams["sa"]):
            if d.get("match") == ma["id"]:
                self.assertEqual((d["by"], d["need_remaining"], d["offer_remaining"]),
                                 (village.id, "4000", "4000"), d)
                self.assertFalse([k for k in d if k.startswith("_")], d)


class ShutdownTest(harness.TestCase):

    def test_sigterm_ends_open_streams_and_exits_0(self):
        redis = self.start_redis()
        admin = fixtures.bootstrap_admin(redis)
        with harness.Craftmatchd(redis, args=("--shutdown-grace", "30")) as d:
            streams = []
            try:
                for i in range(5):
                    c = SseClient(d.port, "/v1/events", token=admin.token)
                    streams.append(c)
                for c in streams:
                    self.assertEqual(c.wait_status(), 200)
                    c.wait_ready()
                # One mid catch-up: resumed from the start of the stream.
                c = SseClient(d.port, "/v1/events", token=admin.token,
                              headers={"Last-Event-ID": "0-0"})
                streams.append(c)
                self.assertEqual(c.wait_status(), 200)
                t0 = time.monotonic()
                d.send_signal(signal.SIGTERM)
                self.assertEqual(d.wait_exit(15), 0)
                self.assertLess(time.monotonic() - t0, 10, "streams held the drain")
                for c in streams:
                    c.wait_end(10)
                    self.assertTrue(c.ended, "a stream should end with its last chunk")
            finally:
                for c in streams:
                    c.close()
            d.check_sanitizers()
            log = d.log_text()
            self.assertEqual(log.count('msg="stream over" '), 6, log[-3000:])


class RedisRestartTest(harness.TestCase):

    def test_streams_outlive_a_redis_restart(self):
        redis = self.start_redis()
        admin = fixtures.bootstrap_admin(redis)
        d = self.start_daemon(redis, "--events-heartbeat", "1")
        api = fixtures.Api(d)
        village = api.make_actor(admin, "village")
        live = SseClient(d.port, "/v1/events", token=admin.token)
        self.addCleanup(live.close)
        live.wait_ready()
        first = api.post_need(village)
        live.wait(lambda s: any(e.data.get("listing") == first["id"] for e in s.data_events()),
                  what="the first listing")
        redis.restart()  # AOF: cm:events survives
        d.wait_ready()
        # Opened while the hub's reader may still be reconnecting: it resumes from 0-0.
        resumed = SseClient(d.port, "/v1/events", token=admin.token,
                            headers={"Last-Event-ID": "0-0"})
        self.addCleanup(resumed.close)
        second = api.post_need(village)
        with harness.RedisClient(redis.port) as rc:
            until = fixtures.last_event_id(rc)
            live.wait_id(until, 30)
            resumed.wait_id(until, 30)
            self.assertEqual(received(live), expected(rc, doc_of(admin), live.ready.id, until))
            self.assertEqual(received(resumed), expected(rc, doc_of(admin), "0-0", until))
        self.assertTrue(second["id"])


class TwoProcessTest(StreamTestCase):
    """Role push serves the stream of events caused through another process."""
    daemon_args = ("--role", "push")

    def test_event_through_one_node_reaches_a_subscriber_of_another(self):
        api_node = self.start_daemon(self.redis, "--role", "api")
        through_a = fixtures.Api(api_node)
        c = self.open_ready(self.admin)  # on the push node
        village = through_a.make_actor(self.admin, "village")
        need = through_a.post_need(village)
        until = fixtures.last_event_id(self.rc)
        c.wait_id(until)
        self.assertEqual(received(c), expected(self.rc, doc_of(self.admin), c.ready.id, until))
        self.assertTrue(any(d.get("listing") == need["id"] for _, d in received(c)))
        # The api-only node serves tickets but no stream.
        t = new_ticket(through_a, self.admin)
        resp = api_node.request("GET", "/v1/events", token=self.admin.token)
        self.assertProblemResp(resp, 503)
        self.assertIn("Retry-After", resp[1])
        # Its ticket opens the stream on the push node.
        c2 = self.stream(query="?ticket=" + t["ticket"])
        self.assertEqual(c2.wait_status(), 200)
        c2.wait_ready()


WATCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), "scripts", "watch")


class FixedPortDaemon(harness.Craftmatchd):
    """A craftmatchd that always listens on the same port (a restart keeps its address)."""

    def __init__(self, redis, port, **kw):
        super().__init__(redis, **kw)
        self.fixed_port = port

    def argv(self):
        self.port = self.fixed_port
        return super().argv()


class WatchTest(harness.TestCase):
    """scripts/watch: one line per event, resumes across a restart, clear errors."""

    def make_tmp(self):
        self.tmp = tempfile.mkdtemp(prefix="cm-e2e-watch-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_watch(self, port, token, *args):
        env = harness.child_env({"CRAFTMATCH_TOKEN": token} if token else None)
        out = open(os.path.join(self.tmp, "watch.out"), "wb")
        err = open(os.path.join(self.tmp, "watch.err"), "wb")
        self.addCleanup(out.close)
        self.addCleanup(err.close)
        p = harness.popen([WATCH, "--url", "http://%s:%d" % (harness.HOST, port)] + list(args),
                           env, out, err)
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait()))
        return p

    def text(self, name):
        with open(os.path.join(self.tmp, name), encoding="utf-8") as f:
            return f.read()

    def test_watch_prints_events_and_resumes_after_a_restart(self):
        self.make_tmp()
        redis = self.start_redis()
        admin = fixtures.bootstrap_admin(redis)
        port = harness.free_port()
        args = ("--events-retry-ms", "200")
        d1 = FixedPortDaemon(redis, port, args=args)
        d1.start()
        try:
            w = self.run_watch(port, admin.token, "--types", "token.created,token.revoked")
            harness.wait_for(lambda: "ready" in self.text("watch.out"), 20,
                             message="watch to be live")
            first = fixtures.Api(d1).issue_token(admin, name="a")
            harness.wait_for(lambda: first["id"] in self.text("watch.out"), 20,
                             message="the first event printed")
        finally:
            d1.send_signal(signal.SIGTERM)  # the stream ends; watch keeps reconnecting
            d1.close()
        d2 = FixedPortDaemon(redis, port, args=args)
        self.addCleanup(d2.close)
        d2.start()
        second = fixtures.Api(d2).issue_token(admin, name="b")
        harness.wait_for(lambda: second["id"] in self.text("watch.out"), 30,
                         message="the event posted while watch was away")
        lines = [ln for ln in self.text("watch.out").splitlines() if "token.created" in ln]
        self.assertEqual(len([ln for ln in lines if first["id"] in ln]), 1, lines)
        self.assertEqual(len([ln for ln in lines if second["id"] in ln]), 1, lines)
        self.assertRegex(lines[-1], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d token\.created +"
                                    r"account=acc_\S+ token=tok_\S+ by=acc_\S+$")
        err = self.text("watch.err")
        self.assertIn("reconnecting", err)
        self.assertNotIn(admin.token, err + self.text("watch.out"))
        self.assertIsNone(w.poll(), "watch should keep running")

    def test_watch_errors_are_clear(self):
        self.make_tmp()
        redis = self.start_redis()
        d = self.start_daemon(redis)
        for token, args, needle in (("cm_" + "C" * 43, (), "401"),
                                    (None, (), "no token"),
                                    ("cm_" + "C" * 43, ("--types", "nope"), "types")):
            with self.subTest(args=args, token=bool(token)):
                p = self.run_watch(d.port, token, *args)
                self.assertEqual(p.wait(30), 2)
                err = self.text("watch.err")
                self.assertIn(needle, err)
                if token:
                    self.assertNotIn(token, err)


if __name__ == "__main__":
    harness.main()
