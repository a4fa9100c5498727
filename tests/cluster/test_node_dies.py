"""
cluster: a craftmatchd node dies under load behind nginx.

One Redis, two craftmatchd nodes, nginx with the rendered docs/nginx.conf,
all on free loopback ports. Writers post needs and offers through nginx,
each with its own Idempotency-Key, retrying a 503 with the same key after
Retry-After, as docs/api.md tells clients to; SSE subscribers (an admin and
villages, who see only their own listings) are connected through nginx to
both nodes (nginx keeps each credential on one node: the test picks the
credentials so that each node has an admin and two villages). One node is
killed with SIGKILL in the middle. Then:

- the subscribers of the dead node see their stream cut and reconnect
  through nginx with Last-Event-ID; nginx sends them to the other node, and
  every subscriber has received every event it may see exactly once, in
  stream order (the visibility oracle of streams.py over XRANGE);
- what a client sees of the kill: the requests the dead node was handling
  when it died, and only those, answer 503 problem+json `unavailable` with
  Retry-After (nginx's answer for a node that failed mid-request); no other
  status, no connection error, nothing before the kill. Their retries with
  the same key land on the living node;
- a reader whose credential went to the dead node never sees a failure:
  nginx sends the read the dead node held, and the next ones, to the other;
- writes go on through the living node, and each intended write exists
  exactly once: the listings answered are the listings created (one
  listing.created event each), none lost and none made twice.

Every wait is bounded; every process is killed at the end, pass or fail.
"""

import http.client
import itertools
import select
import sys
import threading
import time

import clusterkit
import fixtures
import harness
from streams import SseClient, doc_of, expected, id_key, received

WRITES_BEFORE = 20  # successful writes before the kill
WRITES_AFTER = 20  # and after it, through the living node
SUBSCRIBERS = 6  # three on each node
LOAD_TIMEOUT = 120.0
CATCH_UP_TIMEOUT = 60.0


class Subscriber:
    """One client of /v1/events through nginx, reconnecting with Last-Event-ID."""

    def __init__(self, port, actor):
        self.port, self.actor = port, actor
        self.segments = []
        self.start = None  # the position of the first ready event
        self.cuts = []  # monotonic times the stream was cut
        self.refused = []  # non-200 answers to a reconnect
        self.open()

    def open(self):
        last = self.last_id()
        headers = {"Last-Event-ID": last} if last else None
        self.segments.append(SseClient(self.port, "/v1/events", token=self.actor.token,
                                       headers=headers))

    @property
    def current(self):
        return self.segments[-1]

    def last_id(self):
        for seg in reversed(self.segments):
            data = seg.data_events()
            if data:
                return data[-1].id
        return self.start

    def events(self):
        out = []
        for seg in self.segments:
            out += received(seg)
        return out

    def pump(self):
        """Reads; on a cut stream or a refused reconnect, connects again."""
        c = self.current
        c.pump()
        if self.start is None and c.ready is not None:
            self.start = c.ready.id
        if c.status not in (None, 200) and len(c.body) >= c.need:
            self.refused.append((c.status, c.body[:200]))
            c.close()
            if len(self.refused) > 20:
                raise AssertionError("reconnecting keeps being refused: %r" % self.refused)
            time.sleep(0.2)
            self.open()
        elif c.eof or c.ended:
            self.cuts.append(time.monotonic())
            c.close()
            if self.start is None:
                raise AssertionError("a stream ended before its ready event")
            self.open()

    def close(self):
        for seg in self.segments:
            seg.close()


class Writer(threading.Thread):
    """Posts listings through nginx, each with its key, retrying 503 with the same key."""

    def __init__(self, name, port, actor, kind, stop):
        super().__init__(name=name, daemon=True)
        self.port, self.actor, self.kind, self.stop = port, actor, kind, stop
        self.ok = []  # (key, listing id, replayed, t_end)
        self.failed = []  # dicts: rid, t0, t1, status, headers, body or error
        self.gave_up = []
        self.error = None
        self.seq = itertools.count(1)

    def run(self):
        try:
            self.loop()
        except BaseException as e:  # reported by the test
            self.error = e

    def loop(self):
        client = None
        path = "/v1/needs" if self.kind == "need" else "/v1/offers"
        while not self.stop.is_set():
            key = "%s-%d" % (self.name, next(self.seq))
            body = (fixtures.need_body if self.kind == "need" else fixtures.offer_body)(note=key)
            for attempt in range(1, 31):
                rid = "%s-%d" % (key, attempt)
                t0 = time.monotonic()
                try:
                    if client is None:
                        client = harness.HttpClient(self.port, timeout=30.0)
                    status, headers, answer = client.request(
                        "POST", path, body, {"Idempotency-Key": key, "X-Request-Id": rid},
                        self.actor.token)
                except (OSError, http.client.HTTPException) as e:
                    self.failed.append({"rid": rid, "t0": t0, "t1": time.monotonic(),
                                        "status": None, "error": repr(e)})
                    if client is not None:
                        client.close()
                    client = None
                    time.sleep(0.2)
                    continue
                t1 = time.monotonic()
                if status == 201:
                    self.ok.append((key, answer["id"],
                                    headers.get("Idempotent-Replayed") == "true", t1))
                    break
                self.failed.append({"rid": rid, "t0": t0, "t1": t1, "status": status,
                                    "headers": headers, "body": answer})
                if status != 503:
                    break
                time.sleep(min(float(headers.get("Retry-After", "1")), 1.0))
            else:
                self.gave_up.append(key)
        if client is not None:
            client.close()


class Reader(threading.Thread):
    """Searches through nginx in a loop; nginx retries a read the dead node held."""

    def __init__(self, port, actor, stop):
        super().__init__(name="reader", daemon=True)
        self.port, self.actor, self.stop = port, actor, stop
        self.ok = []  # t_end of each 200
        self.failed = []
        self.error = None

    def run(self):
        try:
            with harness.HttpClient(self.port, timeout=30.0) as c:
                for i in itertools.count(1):
                    if self.stop.is_set():
                        return
                    rid = "read-%d" % i
                    try:
                        status, _, body = c.request("GET", "/v1/listings?material=clay&limit=5",
                                                    headers={"X-Request-Id": rid},
                                                    token=self.actor.token)
                    except (OSError, http.client.HTTPException) as e:
                        self.failed.append((rid, repr(e)))
                        return
                    if status == 200:
                        self.ok.append(time.monotonic())
                    else:
                        self.failed.append((rid, status, body))
        except BaseException as e:
            self.error = e


class NodeDiesTest(harness.TestCase):

    def test_a_node_killed_under_load(self):
        redis = self.start_redis()
        rc = redis.client()
        admin = fixtures.bootstrap_admin(redis)
        nodes = [self.start_daemon(redis) for _ in range(2)]
        ng = clusterkit.Nginx([d.port for d in nodes])
        self.addCleanup(ng.close)
        ng.start()
        api = fixtures.Api(clusterkit.Front(ng.port))
        victim, survivor = nodes

        # nginx sends each credential to one node: pick, for each node, an
        # admin token and two villages whose requests it serves, so that
        # both nodes have subscribers and writers when one dies.
        per_node = {d.port: {"admin": [], "village": []} for d in nodes}
        for _ in range(40):
            if all(len(v["admin"]) >= 1 and len(v["village"]) >= 2 for v in per_node.values()):
                break
            tok = api.issue_token(admin, admin.id)
            a = fixtures.Actor("admin", admin.id, tok["token"], admin.doc, token_id=tok["id"],
                               label="admin")
            per_node[ng.node_of(a.token)]["admin"].append(a)
            v = api.make_actor(admin, "village")
            per_node[ng.node_of(v.token)]["village"].append(v)
        else:
            raise AssertionError("no credentials for both nodes: %r" % per_node)
        chosen = {p: v["admin"][:1] + v["village"][:2] for p, v in per_node.items()}
        writers_actors = [(v, "need") for d in nodes for v in per_node[d.port]["village"][:2]] + \
            [(api.make_actor(admin, "supplier"), "offer")]

        # Subscribers: three per node, each ready before the next opens.
        subs = []
        self.addCleanup(lambda: [s.close() for s in subs])
        for actor in chosen[victim.port] + chosen[survivor.port]:
            s = Subscriber(ng.port, actor)
            subs.append(s)
            self.assertEqual(s.current.wait_status(), 200, s.current.body)
            s.current.wait_ready()
            s.start = s.current.ready.id

        stop = threading.Event()
        writers = [Writer("w%d" % i, ng.port, actor, kind, stop)
                   for i, (actor, kind) in enumerate(writers_actors)]
        # A reader whose credential goes to the node that will die.
        reader = Reader(ng.port, per_node[victim.port]["admin"][0], stop)
        self.addCleanup(lambda: (stop.set(), [w.join(30) for w in writers + [reader]]))
        for w in writers + [reader]:
            w.start()

        def pump_until(predicate, what, timeout):
            deadline = time.monotonic() + timeout
            while not predicate():
                for w in writers:
                    if w.error:
                        raise AssertionError("writer %s failed: %r" % (w.name, w.error))
                if time.monotonic() > deadline:
                    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout,
                                                                                 what))
                socks = [s.current.sock for s in subs if s.current.sock is not None]
                select.select(socks, [], [], 0.1)
                for s in subs:
                    s.pump()

        def successes(after=None):
            return sum(1 for w in writers for ok in w.ok if after is None or ok[3] > after)

        pump_until(lambda: successes() >= WRITES_BEFORE, "writes before the kill", LOAD_TIMEOUT)
        self.assertEqual([s.cuts for s in subs], [[]] * SUBSCRIBERS, "a stream cut before the kill")
        t_kill = time.monotonic()
        victim.kill()  # SIGKILL
        pump_until(lambda: successes(t_kill) >= WRITES_AFTER and
                   all(s.current.status == 200 for s in subs),
                   "writes and reconnected streams after the kill", LOAD_TIMEOUT)
        stop.set()
        for w in writers + [reader]:
            w.join(LOAD_TIMEOUT)
            self.assertFalse(w.is_alive(), "%s did not stop" % w.name)
            self.assertIsNone(w.error)
        # Reads never failed: nginx sent the ones the dead node held to the other.
        self.assertEqual(reader.failed, [])
        self.assertTrue(any(t > t_kill for t in reader.ok), "no read after the kill")
        self.assertIn(survivor.port, ng.upstream_of("read-%d" % len(reader.ok)))

        # --- the streams: every visible event once, in order ---------------
        until = fixtures.last_event_id(rc)
        wanted = {}
        for s in subs:
            wanted[id(s)] = expected(rc, doc_of(s.actor), s.start, until)

        def caught_up():
            for s in subs:
                want = wanted[id(s)]
                if want and not any(eid == want[-1][0] for eid, _ in s.events()):
                    return False
            return True
        pump_until(caught_up, "every subscriber at the stream's end", CATCH_UP_TIMEOUT)
        # The dead node's subscribers, and only they, were cut and resumed.
        cut = [s for s in subs if s.cuts]
        self.assertEqual(cut, subs[:3])
        for s in subs:
            self.assertTrue(all(t > t_kill for t in s.cuts))
            got = [(eid, data) for eid, data in s.events() if id_key(eid) <= id_key(until)]
            self.assertEqual([e for e, _ in got], [e for e, _ in wanted[id(s)]],
                             "events of %s (cut %d times)" % (s.actor, len(s.cuts)))
            self.assertEqual(got, wanted[id(s)])
            self.assertTrue(wanted[id(s)], "a subscriber with nothing to receive tests nothing")

        # --- what the clients saw --------------------------------------------
        access = ng.access_lines()
        victim_addr = "127.0.0.1:%d" % victim.port
        failures = [f for w in writers for f in w.failed]
        at_kill, by_node = [], []
        for f in failures:
            self.assertIsNotNone(f["status"], "a connection failed: %r" % (f,))
            self.assertEqual(f["status"], 503, f)
            self.assertEqual(f["body"]["type"], "/problems/unavailable", f)
            self.assertIn("Retry-After", f["headers"], f)
            self.assertGreater(f["t1"], t_kill, "a failure before the kill: %r" % (f,))
            line = [ln for ln in access if "rid=%s " % f["rid"] in ln]
            self.assertEqual(len(line), 1, (f["rid"], line))
            if "upstream_status=503" in line[0]:
                by_node.append(f)  # the living node's own "not now"
            else:
                # nginx's answer: the request was with the node that died.
                self.assertIn("upstream=" + victim_addr, line[0])
                at_kill.append(f)
        gave_up = [k for w in writers for k in w.gave_up]
        self.assertEqual(gave_up, [])

        # --- the writes: each once ------------------------------------------
        answered = {}
        for w in writers:
            for key, lid, _, _ in w.ok:
                self.assertNotIn(key, answered)
                answered[key] = lid
        self.assertEqual(len(set(answered.values())), len(answered), "two keys, one listing")
        owners = {a.id for a, _ in writers_actors}
        created = [f["listing"] for _, f in fixtures.events_after(rc, "0-0")
                   if f.get("type") == "listing.created" and f.get("owner") in owners]
        self.assertEqual(len(created), len(set(created)))
        self.assertEqual(sorted(created), sorted(answered.values()))
        replayed = sum(1 for w in writers for ok in w.ok if ok[2])
        moved = sum(1 for ln in access if " rid=read-" in ln and ", " in ln.split(" upstream=")[1])
        sys.stderr.write(
            "node dies: %d writes (%d after the kill), %d failed requests at the kill "
            "(503 from nginx: %d, from the living node: %d), %d answered as replays, "
            "%d of %d streams cut and resumed, %d reads (none failed; %d sent on after the "
            "dead node failed them)\n" % (
                len(answered), successes(t_kill), len(failures), len(at_kill), len(by_node),
                replayed, len(cut), SUBSCRIBERS, len(reader.ok), moved))
        self.assertEqual(survivor.request("GET", "/readyz")[0], 200)


if __name__ == "__main__":
    harness.main()
