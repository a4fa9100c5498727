"""
streams — tools of the event-stream tests (test_events*.py, test_forums.py):
SseClient, a strict server-sent-events client on a raw socket (the HTTP
head, the chunked transfer coding and the event-stream format all checked:
anything the server should not send fails the test); the visibility oracle
(which cm:events entries an account may see, computed from XRANGE
independently of the server); and StreamTestCase.
"""

import json
import re
import select
import socket
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

    def read_until_cut(self, timeout=10):
        """Reads what the server still sends of a stream it is cutting (a
        reader dropped as too slow), until the end; a cut inside a chunk or an
        event ends the parse there."""
        self.sock.setblocking(True)
        self.sock.settimeout(timeout)
        while not self.eof:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, OSError):
                break
            if not chunk:
                break
            self.raw += chunk
            try:
                self._parse()
            except AssertionError:
                break  # the cut may fall inside a chunk or an event
        self.sock.setblocking(False)

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

