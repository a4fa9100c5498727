"""
e2e: SIGTERM and SIGINT drain and exit cleanly.

Proves: with no traffic SIGTERM and SIGINT end the process with exit code 0
(and, under the sanitizers, no leak or error report); a request in flight
when SIGTERM arrives is still answered before the process exits 0; once
draining starts the listening socket is closed (new connections refused),
while the process still waits for the request in flight; open idle
connections do not stop a clean exit; the shutdown grace period bounds the
wait; a second signal ends the drain at once.

Several tests run the daemon inside the test body (`with
harness.Craftmatchd(...)`), so its exit code and sanitizer check belong to
the test itself.
"""
import signal
import socket
import time
import unittest

import harness


def connect_refused(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((harness.HOST, port))
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        s.close()
    return False


class ShutdownTest(harness.TestCase):

    def start_inflight(self, d, redis):
        """Pauses Redis and sends GET /readyz, which then waits on Redis. Returns the RawConn."""
        redis.pause()
        c = d.raw(timeout=30)
        self.addCleanup(c.close)
        c.send(b"GET /readyz HTTP/1.1\r\nHost: t\r\nX-Request-Id: in-flight\r\n\r\n")

        def inflight():
            # this scrape counts itself too
            return d.metric("craftmatch_http_requests_inflight") >= 2
        harness.wait_for(inflight, 10, message="the /readyz request to be in flight")
        return c

    def sigterm_and_wait_draining(self, d):
        d.send_signal(signal.SIGTERM)
        harness.wait_for(lambda: connect_refused(d.port), 10,
                         message="the listener to close after SIGTERM")

    def test_sigterm_idle_exits_0(self):
        redis = self.start_redis()
        d = self.start_daemon(redis)
        self.assertEqual(d.request("GET", "/healthz")[0], 200)
        d.quiesce()
        self.assertEqual(d.stop(signal.SIGTERM, timeout=15), 0)
        d.check_sanitizers()
        self.assertIn("stopping", d.log_text())
        self.assertTrue(connect_refused(d.port))

    def test_sigint_exits_0(self):
        redis = self.start_redis()
        d = self.start_daemon(redis)
        self.assertEqual(d.request("GET", "/readyz")[0], 200)
        d.quiesce()
        self.assertEqual(d.stop(signal.SIGINT, timeout=15), 0)
        d.check_sanitizers()

    def test_sigterm_without_redis_exits_0(self):
        # Redis gone for good (the link keeps retrying): shutdown still exits 0.
        redis = self.start_redis()
        d = self.start_daemon(redis)
        redis.kill()
        harness.wait_for(lambda: d.request("GET", "/readyz")[0] == 503, 5,
                         message="/readyz 503")
        d.quiesce()
        self.assertEqual(d.stop(signal.SIGTERM, timeout=15), 0)
        d.check_sanitizers()

    def test_inflight_request_holds_exit_until_answered(self):
        # The process keeps running while a request is in flight, refuses new
        # connections meanwhile, completes the request once Redis answers, exits 0.
        redis = self.start_redis()
        d = self.start_daemon(redis, "--redis-timeout-ms", "20000", "--shutdown-grace", "30")
        self.start_inflight(d, redis)
        try:
            self.sigterm_and_wait_draining(d)
            time.sleep(0.5)
            self.assertTrue(d.running(), "exited with a request in flight")
        finally:
            redis.resume()
        self.assertEqual(d.wait_exit(15), 0)
        after = d.log_text().split("stopping", 1)[1]
        self.assertRegex(after, r'id=in-flight .*path="/readyz".* status=200',
                         "the in-flight request was not completed after SIGTERM")
        d.check_sanitizers()

    def test_inflight_request_answered_after_sigterm(self):
        redis = self.start_redis()
        with harness.Craftmatchd(redis, args=("--redis-timeout-ms", "20000",
                                              "--shutdown-grace", "30")) as d:
            c = self.start_inflight(d, redis)
            try:
                self.sigterm_and_wait_draining(d)
                self.assertTrue(d.running(), "exited with a request in flight")
            finally:
                redis.resume()
            resp = c.read_response(timeout=15)
            self.assertEqual(resp.status, 200, resp)
            self.assertEqual(resp.headers.get("X-Request-Id"), "in-flight")
            self.assertEqual(resp.json()["status"], "ready")
            self.assertEqual(d.wait_exit(15), 0)

    def test_sigterm_with_open_idle_connections_exits_0(self):
        redis = self.start_redis()
        with harness.Craftmatchd(redis) as d:
            conns = [d.raw() for _ in range(3)]
            try:
                with d.client() as c:  # one that has served a request
                    self.assertEqual(c.request("GET", "/healthz")[0], 200)
                    harness.wait_for(lambda: d.metric("craftmatch_http_connections_open") >= 4,
                                     10, message="4 connections open")
                    self.assertEqual(d.stop(signal.SIGTERM, timeout=15), 0)
                for conn in conns:
                    self.assertTrue(conn.closed_by_peer(5))
            finally:
                for conn in conns:
                    conn.close()
            d.check_sanitizers()

    def test_grace_period_bounds_the_drain(self):
        redis = self.start_redis()
        with harness.Craftmatchd(redis, args=("--redis-timeout-ms", "60000",
                                              "--shutdown-grace", "1")) as d:
            c = self.start_inflight(d, redis)
            try:
                t0 = time.monotonic()
                d.send_signal(signal.SIGTERM)
                rc = d.wait_exit(20)
                waited = time.monotonic() - t0
            finally:
                redis.resume()
            self.assertGreaterEqual(waited, 0.8, "exited before the grace period")
            self.assertIn("grace period over", d.log_text())
            d.check_sanitizers()
            self.assertEqual(rc, 0)
            # the client is not left hanging: it gets a response or a close
            try:
                c.read_response(timeout=5)
            except ConnectionError:
                pass

    def test_second_signal_exits_at_once(self):
        redis = self.start_redis()
        with harness.Craftmatchd(redis, args=("--redis-timeout-ms", "60000",
                                              "--shutdown-grace", "60")) as d:
            self.start_inflight(d, redis)
            try:
                self.sigterm_and_wait_draining(d)
                self.assertTrue(d.running())
                d.send_signal(signal.SIGINT)
                rc = d.wait_exit(15)
            finally:
                redis.resume()
            self.assertIn("second signal", d.log_text())
            d.check_sanitizers()
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    harness.main()
