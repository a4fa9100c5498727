"""
e2e: the push hub under many subscribers and a slow one.

Proves:
- one craftmatchd holds 1,000 concurrent /v1/events subscribers (the test
  raises its own open-file limit; the clients are non-blocking sockets on a
  selector, no threads), /metrics counts them, and every event reaches every
  one of them, exactly as XRANGE shows it; closing them all brings the count
  back to zero;
- a subscriber that never reads (a small socket buffer, never drained) is
  dropped once more than --events-buffer-bytes sit unsent for it, counted in
  /metrics, while the others go on receiving every event; the daemon keeps
  serving and exits cleanly. The bulk events for this one are appended to
  cm:events directly (type test.bulk, 1 KB each, which only admins see), in
  bursts the other subscribers read as they come, so that the slow one's
  buffers fill without a thousand HTTP requests.

No speed is measured: the deadlines only bound how long a failure takes.
"""
import resource
import selectors
import time

import fixtures
import harness
from streams import SseClient, StreamTestCase, doc_of, expected, received

SUBSCRIBERS = 1000


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, max(need, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


class ManySubscribersTest(StreamTestCase):

    def pump_until(self, clients, done, timeout, what):
        sel = selectors.DefaultSelector()
        try:
            for c in clients:
                sel.register(c, selectors.EVENT_READ, c)
            deadline = time.monotonic() + timeout
            while True:
                waiting = [c for c in clients if not done(c)]
                if not waiting:
                    return
                for c in waiting:
                    if c.eof or c.ended or (c.status is not None and c.status != 200):
                        raise AssertionError("a subscriber failed (status %s, eof %s): %r" % (
                            c.status, c.eof, c.body[:300]))
                if time.monotonic() > deadline:
                    raise AssertionError("%d of %d subscribers still waiting for %s" % (
                        len(waiting), len(clients), what))
                for key, _ in sel.select(timeout=0.5):
                    key.data.pump()
        finally:
            sel.close()

    def test_a_thousand_subscribers_each_get_every_event(self):
        limit = raise_fd_limit(SUBSCRIBERS + 200)
        # Not a skip: a run that cannot open the sockets has not tested the fan-out.
        self.assertGreaterEqual(limit, SUBSCRIBERS + 100,
                                "the open-file limit (%d) is too low for %d sockets: raise "
                                "ulimit -n" % (limit, SUBSCRIBERS))
        village = self.api.make_actor(self.admin, "village")
        n0 = self.daemon.metric("craftmatch_events_subscribers")
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        for i in range(SUBSCRIBERS):
            clients.append(SseClient(self.daemon.port, "/v1/events", token=self.admin.token))
            if i % 100 == 99:  # let the server accept and answer before the next batch
                self.pump_until(clients, lambda c: c.ready is not None, 120, "ready")
        self.pump_until(clients, lambda c: c.ready is not None, 120, "ready")
        self.assertEqual(self.daemon.metric("craftmatch_events_subscribers"), n0 + SUBSCRIBERS)
        for _ in range(5):
            lst = self.api.post_need(village)
            resp = self.api.call(village, "PATCH", "/v1/listings/" + lst["id"],
                                 {"quantity": "30"}, {"If-Match": '"1"'})
            self.assertStatus(resp, 200)
        until = fixtures.last_event_id(self.rc)
        self.pump_until(clients, lambda c: c.has(until), 180, "the last event")
        admin = doc_of(self.admin)
        wants = {}
        for c in clients:
            start = c.ready.id
            if start not in wants:
                wants[start] = expected(self.rc, admin, start, until)
            self.assertEqual(received(c), wants[start])
        self.assertGreaterEqual(min(len(w) for w in wants.values()), 10)
        for c in clients:
            c.close()
        harness.wait_for(lambda: self.daemon.metric("craftmatch_events_subscribers") == n0, 60,
                         interval=0.2, message="every subscriber counted out")


class SlowReaderTest(StreamTestCase):
    daemon_args = ("--events-buffer-bytes", "65536")

    def test_a_reader_that_never_reads_is_dropped_and_the_others_go_on(self):
        slow = self.stream(self.admin.token, rcvbuf=4096)
        self.assertEqual(slow.wait_status(), 200)
        slow.wait_ready()  # from here on it never reads
        others = [self.open_ready(self.admin) for _ in range(3)]
        dropped0 = self.daemon.metric("craftmatch_events_dropped_slow_total")
        n0 = self.daemon.metric("craftmatch_events_subscribers")
        blob = "x" * 1000
        ids = []
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        for c in others:
            sel.register(c, selectors.EVENT_READ, c)
        deadline = time.monotonic() + 120

        def read_up_to(last):
            while not all(c.has(last) for c in others):
                self.assertLess(time.monotonic(), deadline, "the others did not get every event")
                for key, _ in sel.select(timeout=0.5):
                    key.data.pump()
        # Bursts of 20 KB: the others read each one before the next; the slow one never does.
        for batch in range(40):
            ids += self.rc.pipeline(*[("XADD", "cm:events", "*", "type", "test.bulk", "n",
                                       str(batch * 20 + i), "blob", blob) for i in range(20)])
            read_up_to(ids[-1])
        for c in others:
            got = [e.id for e in c.data_events() if e.type == "test.bulk"]
            self.assertEqual(got, ids)
            self.assertEqual(c.data_events()[-1].data["blob"], blob)
        harness.wait_for(
            lambda: self.daemon.metric("craftmatch_events_dropped_slow_total") == dropped0 + 1,
            30, message="the slow reader to be dropped")
        self.assertEqual(self.daemon.metric("craftmatch_events_subscribers"), n0 - 1)
        # The slow reader finds its stream cut: what did arrive is a clean prefix.
        slow.read_until_cut()
        got = [e.id for e in slow.data_events() if e.type == "test.bulk"]
        self.assertFalse(slow.ended, "a dropped stream is cut, not ended cleanly")
        self.assertLess(len(got), len(ids))
        self.assertEqual(got, ids[:len(got)])
        # The others still stream.
        village = self.api.make_actor(self.admin, "village")
        last = fixtures.last_event_id(self.rc)
        for c in others:
            c.wait_id(last)
        self.assertTrue(village.id)


if __name__ == "__main__":
    harness.main()
