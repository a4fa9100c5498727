"""
e2e: GET /v1/events across processes (the rest is in test_events.py).

Proves, against a real redis-server and craftmatchd:
- SIGTERM ends open streams cleanly (last chunk sent) and the process exits 0
  with no sanitizer report;
- two craftmatchd on one Redis: an event caused through one (role api) reaches
  a subscriber of the other (role push); the api-only node answers 503;
- a Redis restart (AOF) leaves open streams open; the hub reads on where it
  was, and a stream resumed meanwhile replays from Redis;
- scripts/watch prints one line per event, resumes with Last-Event-ID across
  a server restart (nothing missed, nothing twice), never prints the token,
  and ends with status 2 and a clear message on 401, 400 or no token.
"""

import os
import shutil
import signal
import tempfile
import time

import fixtures
import harness
from streams import (SseClient, StreamTestCase, doc_of, expected, new_ticket, received)


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
