"""
e2e: craftmatchd through Redis outages (DESIGN invariant 1: the loop never
blocks; Redis work has a deadline and a miss is a 503 with Retry-After).

Proves: with Redis killed, /readyz says 503 + Retry-After at once while
/healthz stays 200; when Redis is back on the same port the link reconnects,
the function library is loaded again (into an empty Redis) and /readyz is 200;
with Redis stalled (SIGSTOP) every /readyz is answered within the Redis
deadline and counted as a timeout, and service resumes on SIGCONT; a function
library flushed behind the server's back is reloaded.
"""
import time
import unittest

import harness

LIBRARY = "craftmatch"


def library_loaded(redis):
    with harness.RedisClient(redis.port) as c:
        libs = c.execute("FUNCTION", "LIST", "LIBRARYNAME", LIBRARY)
    return any(LIBRARY in lib for lib in libs)


class RedisOutageTest(harness.TestCase):

    def assertUnavailable(self, status, headers, body):
        self.assertProblem(status, headers, body, 503)
        self.assertIn("Retry-After", headers, headers)
        self.assertRegex(headers["Retry-After"], r"^\d+$")

    def readyz_timed(self, d, timeout=5.0):
        t0 = time.monotonic()
        status, headers, body = d.request("GET", "/readyz", timeout=timeout)
        return status, headers, body, time.monotonic() - t0

    def test_killed_redis_then_restarted(self):
        # AOF off: the restarted Redis is empty, so the library must be loaded anew.
        redis = self.start_redis(appendonly=False)
        d = self.start_daemon(redis)
        m0 = d.metrics()
        self.assertEqual(m0.value("craftmatch_redis_up"), 1)

        redis.kill()
        # The lost link is noticed at once; every /readyz answers, none hangs.
        seen = []

        def unavailable():
            status, headers, body, _ = self.readyz_timed(d)
            seen.append(status)
            if status == 503:
                self.assertUnavailable(status, headers, body)
                return True
            return False
        harness.wait_for(unavailable, 5, interval=0.05, message="/readyz 503 after SIGKILL")
        for _ in range(3):
            status, headers, body, elapsed = self.readyz_timed(d)
            self.assertUnavailable(status, headers, body)
            self.assertLess(elapsed, 3.0, "503 took %.1fs with Redis gone" % elapsed)
        # Liveness does not depend on Redis.
        self.assertEqual(d.request("GET", "/healthz")[0], 200)
        self.assertEqual(d.metric("craftmatch_redis_up"), 0)

        redis.start()  # same port, same (empty) dir
        d.wait_ready(timeout=20)
        m1 = d.metrics()
        self.assertGreater(m1.value("craftmatch_redis_reconnects_total"),
                           m0.value("craftmatch_redis_reconnects_total"))
        self.assertGreater(m1.value("craftmatch_redis_function_loads_total"),
                           m0.value("craftmatch_redis_function_loads_total"))
        self.assertGreater(m1.value("craftmatch_redis_disconnects_total"),
                           m0.value("craftmatch_redis_disconnects_total"))
        self.assertEqual(m1.value("craftmatch_redis_up"), 1)
        self.assertTrue(library_loaded(redis), "the library is not in the restarted Redis")

    def test_redis_shut_down_cleanly_then_restarted(self):
        # AOF on (the default): Redis comes back with its data; the link still recovers.
        redis = self.start_redis()
        d = self.start_daemon(redis)
        loads0 = d.metric("craftmatch_redis_function_loads_total")
        redis.stop()
        harness.wait_for(lambda: d.request("GET", "/readyz")[0] == 503, 5,
                         message="/readyz 503 after SHUTDOWN")
        redis.start()
        d.wait_ready(timeout=20)
        self.assertGreater(d.metric("craftmatch_redis_function_loads_total"), loads0)
        self.assertEqual(d.metric("craftmatch_redis_up"), 1)

    def test_daemon_starts_before_redis(self):
        # Redis not there yet: the daemon serves /healthz, says 503 on /readyz,
        # and becomes ready once Redis appears.
        redis = harness.RedisServer(appendonly=False, port=harness.free_port())
        self.addCleanup(redis.close)
        d = self.start_daemon("redis://127.0.0.1:%d" % redis.port, wait="live")
        status, headers, body, elapsed = self.readyz_timed(d)
        self.assertUnavailable(status, headers, body)
        redis.start()
        d.wait_ready(timeout=20)
        self.assertTrue(library_loaded(redis))

    def test_stalled_redis_answers_within_deadline(self):
        redis = self.start_redis()
        d = self.start_daemon(redis, "--redis-timeout-ms", "300")
        timeouts0 = d.metric("craftmatch_redis_timeouts_total")
        redis.pause()
        try:
            # Fewer than the watchdog's three missed pings: the link stays up.
            for _ in range(2):
                status, headers, body, elapsed = self.readyz_timed(d)
                self.assertUnavailable(status, headers, body)
                self.assertLess(elapsed, 1.5, "/readyz took %.2fs with a 300 ms deadline"
                                % elapsed)
            # The loop is not blocked meanwhile.
            self.assertEqual(d.request("GET", "/healthz", timeout=3)[0], 200)
        finally:
            redis.resume()
        self.assertGreater(d.metric("craftmatch_redis_timeouts_total"), timeouts0)
        d.wait_ready(timeout=15)
        self.assertEqual(d.metric("craftmatch_redis_up"), 1)

    def test_long_stall_answers_within_deadline(self):
        # Long enough for the watchdog to give up on the link and redial.
        redis = self.start_redis()
        d = self.start_daemon(redis, "--redis-timeout-ms", "300")
        redis.pause()
        try:
            t_end = time.monotonic() + 5
            while time.monotonic() < t_end:
                status, headers, body, elapsed = self.readyz_timed(d)
                self.assertUnavailable(status, headers, body)
                self.assertLess(elapsed, 1.5, "/readyz took %.2fs with a 300 ms deadline"
                                % elapsed)
                time.sleep(0.2)
        finally:
            redis.resume()
        d.wait_ready(timeout=15)

    def test_long_stall_then_flush_recovers(self):
        redis = self.start_redis()
        d = self.start_daemon(redis, "--redis-timeout-ms", "300")
        redis.pause()
        try:
            harness.wait_for(lambda: "redialling" in d.log_text(), 15, interval=0.2,
                             message="the watchdog to redial")
            time.sleep(1.0)  # the FUNCTION LOAD on the new link times out too
        finally:
            redis.resume()
        d.wait_ready(timeout=15)
        harness.wait_for(lambda: d.metric("craftmatch_redis_up") == 1, 10,
                         message="craftmatch_redis_up back to 1 after the stall")
        redis.client().execute("FUNCTION", "FLUSH")
        d.wait_ready(timeout=15)

    def test_function_flush_is_repaired(self):
        redis = self.start_redis()
        d = self.start_daemon(redis)
        loads0 = d.metric("craftmatch_redis_function_loads_total")
        redis.client().execute("FUNCTION", "FLUSH")
        self.assertFalse(library_loaded(redis))
        # The first probe may find it missing (503) and start the reload; later ones are 200.
        statuses = []

        def ready():
            status, headers, body = d.request("GET", "/readyz")
            statuses.append(status)
            if status != 200:
                self.assertUnavailable(status, headers, body)
            return status == 200
        harness.wait_for(ready, 15, interval=0.1, message="/readyz 200 after FUNCTION FLUSH")
        self.assertTrue(library_loaded(redis), "library not reloaded (statuses %r)" % statuses)
        self.assertGreater(d.metric("craftmatch_redis_function_loads_total"), loads0)
        self.assertEqual(d.metric("craftmatch_redis_up"), 1)


if __name__ == "__main__":
    harness.main()
