"""
cluster: the randomised engine test through failovers — the world, threads
and checks of tests/e2e/test_engine_random.py (imported, not copied), run on
a Redis primary with two replicas (AOF always), three redis-sentinel and two
craftmatchd --role all nodes with --sentinels and --durability replicated.

Once a quarter of the listings are posted the primary is killed (kill -9);
each poster then waits at the half of its plan until the old primary is back
as a replica, and a few posts after they go on the new primary is frozen
(SIGSTOP): each time until the sentinels promote a replica
(tests/cluster/cluster.py). The wait changes the pace, not the world: the
same plans, changes and decisions as on one Redis. Every client retries a 503 after
its Retry-After: a POST with the same Idempotency-Key, a PATCH with the same
If-Match (the version the mutator read), so that a change a failover left
"maybe applied" is made once. A retry that finds its first attempt applied
(PATCH answered 412, DELETE 409) reads the listing to learn so; a POST whose
end "seconds ahead" passed while it was retried (422) is looked for in
Redis at the end: the only writes whose outcome the client cannot know. (A
PATCH retried past such an end is refused, 400, and the read of the
listing's version tells it was not applied.)

Proves, besides everything test_engine_random proves of the final state
(read from the final primary):
- a failover really happened in the middle: the sentinels named another
  primary each time, the posters still had listings to post at each fault,
  requests met the switch (503, each with Retry-After), writes were
  acknowledged after each switch, and each node followed every switch and
  rebuilt its engine from the new primary;
- the engines proposed matches before the first fault and after the last
  switch;
- no listing over-allocated (quantity - remaining is what its matches hold),
  no proposal made twice (one match.proposed per match, the counters'
  proposals never above the matches), every acknowledged write present
  (listings at the versions answered, decisions at the versions answered).
"""
import collections
import random
import sys
import threading
import time
import uuid

import cluster
import fixtures
import harness
import test_engine_random as world

RETRY_BOUND = 90.0  # a request is retried this long at most (functional bound)
DEADLINE_FIELDS = ("needed_by", "available_until")
EXPECTED_STATUSES = {200, 201, 409, 412, "422 retried", "400 retried", 503}


def past_deadlines(body):
    """The deadlines "seconds ahead" of a request body that have passed."""
    now = time.time() * 1000
    return [world.ms_of(body[f]) for f in DEADLINE_FIELDS
            if "T" in str(body.get(f, "")) and world.ms_of(body[f]) <= now]


class Calls:
    """What the retrying clients of every thread saw, under one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = collections.Counter()
        self.no_retry_after = 0
        self.retried = collections.Counter()  # method -> requests retried after a 503
        self.resolved = collections.Counter()  # how a retried PATCH/DELETE was settled
        self.acked = []  # monotonic times acknowledged writes were sent
        self.odd = []  # (method, path, status, answer) of a status no client should meet

    def first_ack_after(self, t):
        with self.lock:
            later = [s for s in self.acked if s > t]
        return min(later) if later else None


class RetryingClient:
    """A thread's connection to one node, retrying 503 answers as a client must."""

    def __init__(self, daemon, calls):
        self.c = daemon.client(timeout=30.0)
        self.calls = calls

    def close(self):
        self.c.close()

    def _send(self, method, path, body, headers, token):
        deadline = time.monotonic() + RETRY_BOUND
        retried = False
        while True:
            status, h, view = self.c.request(method, path, body=body, headers=headers,
                                             token=token)
            with self.calls.lock:  # a 422 may only answer a retry past its end
                # a retry past the end its body gave seconds ahead: refused,
                # 422 (a POST) or 400 (a PATCH: the deadline must be ahead)
                past = retried and status in (400, 422) and past_deadlines(body or {})
                key = "%d retried" % status if past else status
                self.calls.statuses[key] += 1
                if key not in EXPECTED_STATUSES:
                    self.calls.odd.append((method, path, status, view))
            if status != 503 or time.monotonic() > deadline:
                return status, h, view, retried
            after = h.get("Retry-After")
            if not after:
                with self.calls.lock:
                    self.calls.no_retry_after += 1
            if not retried:
                retried = True
                with self.calls.lock:
                    self.calls.retried[method] += 1
            time.sleep(float(after) if after else 1.0)

    def request(self, method, path, body=None, headers=None, token=None):
        headers = dict(headers or {})
        if method == "POST":
            headers.setdefault("Idempotency-Key", "rw-" + uuid.uuid4().hex)
        sent = time.monotonic()
        status, h, view, retried = self._send(method, path, body, headers, token)
        if retried and method in ("PATCH", "DELETE") and status != 200:
            status, view = self._settle(method, path, headers, token, status, view)
        if method != "GET" and status in (200, 201):
            with self.calls.lock:
                self.calls.acked.append(sent)
        return status, h, view

    def _settle(self, method, path, headers, token, status, answer):
        """A retried PATCH or DELETE refused: was its first attempt applied?
        Only the mutator changes a listing, and an end is its last change, so
        the listing's version tells: a PATCH made on version v was applied
        when the listing is at v+1 and open, or past v+1 (ended after it)."""
        st, _, got, _ = self._send("GET", path, None, {}, token)
        if st != 200:
            return status, answer
        if method == "DELETE":
            applied = got["status"] == "closed"
            view = got
        else:
            v = int(headers["If-Match"].strip('"'))
            applied = got["version"] > v + 1 or (got["version"] == v + 1 and
                                                  got["status"] == "open")
            # the listing as the PATCH left it: an end changes status and version only
            view = got if got["version"] == v + 1 else dict(got, version=v + 1, status="open")
        with self.calls.lock:
            self.calls.resolved["%s %s" % (method, "applied" if applied else "not applied")] += 1
        if applied:
            return 200, view
        return (412 if method == "PATCH" else status), answer


class EngineFailoverTest(world.RandomWorld, harness.TestCase):

    def setUp(self):
        sys.stderr.write("\ntest_engine_failover: seed=%d (CRAFTMATCH_TEST_SEED=%d reproduces "
                         "it)\n" % (world.SEED, world.SEED))
        self.rng = random.Random(world.SEED)
        self.cluster = cluster.Cluster(min_replicas=1, max_lag=2, replicas=2)
        self.addCleanup(self.cluster.close)
        self.cluster.start()
        self.daemons = tuple(self.start_daemon(None, "--role", "all",
                                               *self.cluster.daemon_args("replicated"))
                             for _ in range(2))
        self.api = fixtures.Api(self.daemons[0])
        self.admin = fixtures.bootstrap_admin(self.cluster.primary())
        self.rc = None  # the final primary's, once the faults are over
        self.load_reference()
        self.calls = Calls()
        self.faults = []
        self.unsettled = []  # (kind, actor, body) of POSTs whose outcome is unknown
        self.node_checks = []
        self.gate = threading.Event()  # opens the second half of each poster's plan
        self.parked = 0

    # -- the hooks of RandomWorld ------------------------------------------------------

    def http_client(self, daemon):
        return RetryingClient(daemon, self.calls)

    def before_post(self, i, n):
        """Each poster waits at the half of its plan until the second fault
        is due, so that the posts of the second half meet it."""
        if i == n // 2:
            with self.calls.lock:
                self.parked += 1
            self.gate.wait(world.SETTLE_TIMEOUT)

    def patch_headers(self, view):
        return {"If-Match": '"%d"' % view["version"]}

    def post_unsettled(self, shared, kind, actor, body, status, answer):
        """A POST retried past the end it gave seconds ahead: refused (422)
        now, maybe made by its first attempt; looked for at the end."""
        due = past_deadlines(body)
        if status != 422 or not due:
            return False
        with shared.lock:
            shared.counts["post_unsettled"] += 1
        shared.ended_by(max(due))
        self.unsettled.append((kind, actor, body))
        return True

    def patch_unsettled(self, shared, patch, status, answer):
        """A PATCH retried past the end it gave seconds ahead: refused (400,
        the deadline must be ahead). Its first attempt was not applied: the
        retry's read of the listing (RetryingClient._settle) found its
        version unchanged, else the answer would be 200."""
        fields = {e.get("field") for e in (answer or {}).get("errors", [])}
        if status != 400 or not past_deadlines(patch) or not fields <= set(DEADLINE_FIELDS):
            return False
        with shared.lock:
            shared.counts["patch_past_end"] += 1
        return True

    def while_running(self, shared):
        try:
            self.faults_while_posting(shared)
        finally:
            self.gate.set()
        self.rc = self.cluster.primary().client(timeout=30.0)

    def faults_while_posting(self, shared):
        for how, at in (("kill", world.N_LISTINGS // 4), ("stop", world.N_LISTINGS // 2 + 8)):
            if how == "stop":  # the posters wait at their half; the fault meets their next posts
                harness.wait_for(lambda: self.parked == world.N_POSTERS or shared.errors,
                                 world.SETTLE_TIMEOUT, message="the posters at their half")
                self.gate.set()
            harness.wait_for(lambda: shared.counts["posted"] >= at or shared.errors,
                             world.SETTLE_TIMEOUT, message="%d listings posted" % at)
            if shared.errors:
                return
            old = self.cluster.primary()
            fault = {"how": how, "old": old.port, "posted": shared.counts["posted"],
                     "matches": int(old.client(timeout=10.0).execute("GET", "cm:seq:matches")
                                    or 0)}
            switched = self.cluster.failover(how)
            fault.update(new=self.cluster.named_primary(), switched=switched,
                         t0=self.cluster.fault_at, ms=self.cluster.fault_at_ms,
                         switched_ms=self.cluster.fault_at_ms + switched * 1000)
            self.faults.append(fault)

    def before_freeze(self, shared):
        self.adopt_unsettled(shared)
        for d in self.daemons:
            m = d.metrics()
            self.node_checks.append((m.value("craftmatch_sentinel_primary_changes_total"),
                                     m.value("craftmatch_engine_primary_restarts_total")))

    def adopt_unsettled(self, shared):
        """Each unsettled POST made by its first attempt is the one listing
        in Redis no answer named with its owner, kind and end (to the ms)."""
        unknown = [lid for lid in self.rc.execute("ZRANGE", "cm:listings", 0, -1)
                   if lid not in shared.listings]
        views = {}
        for lid in unknown:
            status, _, view = self.api.call(self.admin, "GET", "/v1/listings/" + lid)
            self.assertEqual(status, 200, view)
            views[lid] = view
        adopted = 0
        for kind, actor, body in self.unsettled:
            ends = {f: world.ms_of(body[f]) for f in DEADLINE_FIELDS if "T" in str(body.get(f))}
            found = [lid for lid, v in views.items()
                     if v["kind"] == kind and v["owner"]["id"] == actor.id and
                     all(v.get(f) and world.ms_of(v[f]) == ms for f, ms in ends.items())]
            self.assertLessEqual(len(found), 1, found)
            for lid in found:
                v = views.pop(lid)
                shared.listings[lid] = (kind, actor)
                shared.record(dict(v, version=1, status="open"))  # as created
                adopted += 1
        sys.stderr.write("test_engine_failover: %d POST(s) retried past their end, %d of them "
                         "made by the first attempt\n" % (len(self.unsettled), adopted))

    # -- the run ------------------------------------------------------------------------

    def test_random_world_through_failovers(self):
        t_start = time.monotonic()
        self.run_random_world()
        matches = fixtures.stored_matches(self.rc)
        c = self.calls
        sys.stderr.write("test_engine_failover: faults (how, primary old -> new, listings "
                         "posted then, matches then, s to the switch, s to the first write "
                         "sent after it acknowledged):\n")
        for f in self.faults:
            first = c.first_ack_after(f["t0"] + f["switched"])
            f["writable"] = first - f["t0"] if first else None
            sys.stderr.write("  %-4s %d -> %s  posted %d/%d  matches %d  switch %.2f s  "
                             "writable %s\n" % (
                                 f["how"], f["old"], f["new"], f["posted"], world.N_LISTINGS,
                                 f["matches"], f["switched"],
                                 "%.2f s" % f["writable"] if first else "never"))
        sys.stderr.write("  statuses %r, retried after a 503 %r, settled by a read %r; "
                         "%.0f s in all\n" % (dict(c.statuses), dict(c.retried),
                                              dict(c.resolved), time.monotonic() - t_start))
        # a failover happened in the middle of the writes, each time
        self.assertEqual([f["how"] for f in self.faults], ["kill", "stop"])
        for f in self.faults:
            self.assertNotIn(f["new"], (None, f["old"]), "the primary did not change: %r" % f)
            self.assertLess(f["posted"], world.N_LISTINGS, "the fault came after the last post")
            self.assertIsNotNone(f["writable"], "no write acknowledged after the switch %r" % f)
        self.assertGreater(c.statuses[503], 0, "no request met a switch")
        self.assertEqual(c.no_retry_after, 0, "503 without Retry-After")
        self.assertEqual(c.odd, [], "%r; %r" % (c.statuses, c.odd))
        for changes, restarts in self.node_checks:
            self.assertGreaterEqual(changes, len(self.faults) + 1, "a node missed a switch")
            self.assertGreaterEqual(restarts, 1, "an engine never rebuilt from a new primary")
        # the engines proposed before the first fault and after the last switch
        created = sorted(int(m["created_at"]) for m in matches.values())
        before = sum(1 for t in created if t < self.faults[0]["ms"])
        after = sum(1 for t in created if t > self.faults[-1]["switched_ms"])
        sys.stderr.write("test_engine_failover: %d matches, %d proposed before the first fault, "
                         "%d after the last switch\n" % (len(created), before, after))
        self.assertGreater(before, 0, "no match proposed before the first fault")
        self.assertGreater(after, 0, "no match proposed after the last switch")


if __name__ == "__main__":
    harness.main()
