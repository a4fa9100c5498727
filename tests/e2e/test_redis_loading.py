"""
e2e: Redis not ready yet is 503 with Retry-After, never 500, and /readyz
agrees with writes (docs/operations.md, "While Redis is not ready").

Proves:
- a Redis restarted on a large AOF answers LOADING for seconds (key-load-delay
  makes the load slow and sure); every write and /readyz meanwhile is 503
  with Retry-After, none is 500, and some said LOADING; /readyz is 200
  exactly when a write goes through: never a 201 while it says 503 right
  before and after, never a 503 write right after it said 200;
- a long script holding Redis (BUSY, after busy-reply-threshold) makes the
  requests that reach it 503 with Retry-After, not 500, and service resumes.
"""
import threading
import time

import fixtures
import harness

FILL = "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'bulk:' .. i, i) end return 1"
SPIN = ("local t0 = tonumber(redis.call('TIME')[1]) "
        "while tonumber(redis.call('TIME')[1]) - t0 < tonumber(ARGV[1]) do end return 1")


class RedisNotReadyTest(harness.TestCase):

    def assertUnavailable(self, resp, what):
        status, headers, body = resp
        self.assertNotEqual(status, 500, "%s: %r" % (what, body))
        self.assertProblem(status, headers, body, 503)
        self.assertRegex(headers.get("Retry-After", ""), r"^\d+$", "%s: %r" % (what, headers))
        return body["detail"]

    def write(self, d, admin):
        return d.request("POST", "/v1/accounts", fixtures.account_body("village"),
                         token=admin.token)

    def test_loading_is_503_and_readyz_agrees_with_writes(self):
        # 300 µs per key while loading: 10,000 keys keep Redis LOADING for seconds.
        redis = self.start_redis(extra_args=["--key-load-delay", "300"])
        admin = fixtures.bootstrap_admin(redis)
        d = self.start_daemon(redis)
        redis.client(timeout=60).execute("EVAL", FILL, 0, 10000)
        self.assertEqual(self.write(d, admin)[0], 201)

        redis.stop()
        redis.start(wait="answer")
        with self.assertRaisesRegex(harness.RedisError, "^LOADING"):
            redis.client().execute("PING")

        seen, details = [], []
        deadline = time.monotonic() + 120
        while True:
            self.assertLess(time.monotonic(), deadline, "no write went through: %r" % seen[-20:])
            before = d.request("GET", "/readyz")
            w = self.write(d, admin)
            after = d.request("GET", "/readyz")
            seen.append((before[0], w[0], after[0]))
            for what, resp in (("readyz before", before), ("write", w), ("readyz after", after)):
                if resp[0] != 200 and resp[0] != 201:
                    details.append(self.assertUnavailable(resp, what))
            if before[0] == 200:
                self.assertEqual(w[0], 201, "/readyz said 200, then the write got %r" % (w,))
            if w[0] == 201:
                self.assertEqual(after[0], 200, "a write went through but /readyz said %r"
                                 % (after[2],))
                break
        self.assertTrue([x for x in details if "LOADING" in x],
                        "no request met Redis loading (details %r)" % sorted(set(details)))
        self.assertEqual(d.request("GET", "/readyz")[0], 200)

    def test_busy_script_is_503(self):
        redis = self.start_redis(extra_args=["--busy-reply-threshold", "100"])
        admin = fixtures.bootstrap_admin(redis)
        d = self.start_daemon(redis)
        spin = redis.client(timeout=30)
        done = []
        t = threading.Thread(target=lambda: done.append(spin.execute("EVAL", SPIN, 0, 3)))
        t.start()
        try:
            time.sleep(0.5)
            detail = self.assertUnavailable(self.write(d, admin), "write while BUSY")
            self.assertIn("BUSY", detail)
            # Reads too: authentication itself reaches Redis.
            self.assertUnavailable(d.request("GET", "/v1/me", token=admin.token), "read")
        finally:
            t.join(30)
        self.assertEqual(done, [1])
        d.wait_ready(timeout=15)
        self.assertEqual(self.write(d, admin)[0], 201)


if __name__ == "__main__":
    harness.main()
