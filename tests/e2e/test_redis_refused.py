"""
e2e: a Redis that accepts the connection but refuses every command is dialled
ever more slowly (docs/operations.md, "While Redis is not ready").

Proves, against a redis-server with requirepass, and one in protected mode
reached on a non-loopback address:
- craftmatchd without the password (NOAUTH), with a wrong one (WRONGPASS), or
  refused by protected mode (DENIED, then the connection closed) is not ready, and /readyz says Redis refused the connection and why;
- it logs one line per refused dial, whose waits double from 50 ms up to
  2 s for each link, and Redis counts about as many connections (a handful
  a second at most, where resetting the wait on every connect made ~20);
- once the password is right (requirepass cleared) the node becomes ready,
  and when a refusal comes back the waits start again from 50 ms.
"""
import re
import socket
import time

import harness

PASSWORD = "mật-khẩu-redis"
WATCH = 5.0  # seconds of refused dials watched, once backed off


def outside_address():
    """This host's address on a non-loopback interface, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if addr.startswith("127.") else addr


def refused_waits(d):
    """{link: [retry_ms, ...]} of the 'link refused' lines, in order."""
    out = {}
    for m in re.finditer(r'msg="link refused" link=(\w+) reason="([^"]*)" retry_ms=(\d+)',
                         d.log_text()):
        out.setdefault(m.group(1), []).append((int(m.group(3)), m.group(2)))
    return out


class RedisRefusedTest(harness.TestCase):

    def start_redis_with_password(self):
        redis = self.start_redis(extra_args=["--requirepass", PASSWORD])
        admin = redis.client()
        admin.execute("AUTH", PASSWORD)
        # Teardown shuts Redis down without a password.
        self.addCleanup(lambda: admin.execute("CONFIG", "SET", "requirepass", ""))
        return redis, admin

    def connections(self, admin):
        stats = admin.execute("INFO", "stats")
        return int(re.search(r"total_connections_received:(\d+)", stats).group(1))

    def check_backs_off(self, d, admin, reason, counted=True):
        """counted: Redis counts the refused connections in INFO (protected
        mode closes them before it counts)."""
        # The waits reach their ceiling after 50 + 100 + ... + 1600 ms.
        harness.wait_for(lambda: any(w == 2000 for w, _ in refused_waits(d).get("store", [])),
                         15, interval=0.1, message="a refused dial waiting 2 s")
        t0 = time.monotonic()
        c0 = self.connections(admin)
        lines0 = d.log_text().count('msg="link refused"')
        time.sleep(WATCH)
        dials = self.connections(admin) - c0
        lines = d.log_text().count('msg="link refused"') - lines0
        elapsed = time.monotonic() - t0
        status, headers, body = d.request("GET", "/readyz")
        self.assertProblem(status, headers, body, 503)
        self.assertRegex(headers.get("Retry-After", ""), r"^\d+$")
        self.assertTrue(body["detail"].startswith("Redis refused the connection: " + reason),
                        body)
        waits = refused_waits(d)
        self.assertIn("store", waits, d.log_tail())
        for link, seq in waits.items():
            ms = [w for w, _ in seq]
            self.assertTrue(all(why.startswith(reason) for _, why in seq), seq)
            self.assertEqual(ms[:6], [50, 100, 200, 400, 800, 1600][:len(ms[:6])], (link, ms))
            self.assertTrue(all(w == 2000 for w in ms[6:]), (link, ms))
            self.assertGreaterEqual(len(ms), 5, (link, ms))
        # Backed off, each link dials once per 2 s, with one log line each
        # (about 20 dials and 57 lines a second when every connect reset it).
        most = len(waits) * (elapsed / 2.0 + 1)
        self.assertLessEqual(dials, most, "%d connections in %.1fs" % (dials, elapsed))
        if counted:
            self.assertGreater(dials, 0)
        self.assertLessEqual(lines, most, "%d log lines in %.1fs" % (lines, elapsed))
        self.assertGreaterEqual(lines, 1)
        return waits

    def test_no_password(self):
        redis, admin = self.start_redis_with_password()
        d = self.start_daemon(redis, wait="live")
        self.check_backs_off(d, admin, "NOAUTH")

        # The right password from now on: ready within one wait (at most 2 s).
        admin.execute("CONFIG", "SET", "requirepass", "")
        d.wait_ready(timeout=10)
        self.assertIn('msg="connected" link=store', d.log_text())
        # A refusal after a usable link starts the waits over from 50 ms.
        n = len(refused_waits(d)["store"])
        admin.execute("CONFIG", "SET", "requirepass", PASSWORD)
        admin.execute("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        harness.wait_for(lambda: len(refused_waits(d).get("store", [])) > n, 10,
                         message="a refused dial after the password came back")
        # (the lost link was redialled after 50 ms; that dial, refused, waits 100 ms)
        self.assertEqual(refused_waits(d)["store"][n][0], 100, refused_waits(d)["store"])

    def test_wrong_password(self):
        redis, admin = self.start_redis_with_password()
        d = self.start_daemon("redis://:wrong@127.0.0.1:%d" % redis.port, wait="live")
        self.check_backs_off(d, admin, "WRONGPASS")

    def test_protected_mode(self):
        # No password, reached on a non-loopback address: Redis answers
        # DENIED and closes every connection.
        addr = outside_address()
        self.assertIsNotNone(addr, "no non-loopback IPv4 address: protected mode cannot be "
                             "tested here")
        redis = self.start_redis(extra_args=["--bind", "127.0.0.1 " + addr,
                                             "--protected-mode", "yes"])
        admin = redis.client()
        d = self.start_daemon("redis://%s:%d" % (addr, redis.port), wait="live")
        self.check_backs_off(d, admin, "DENIED", counted=False)


if __name__ == "__main__":
    harness.main()
