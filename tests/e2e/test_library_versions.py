"""
e2e: two versions of the function library against one Redis (a rolling
upgrade). craftmatchd-nextlib is craftmatchd built with the same library one
version newer, serving no older build (tests/CMakeLists.txt).

Proves:
- a node never replaces a newer library with its older one: with the newer
  library loaded, an older node stays not ready (/readyz 503, Retry-After,
  a reason naming both versions, one log line however long it waits), its
  requests are 503 and change nothing, while the newer node is ready and
  writes; the library in Redis stays the newer one;
- a newer node replaces an older library, and the older node, ready until
  then, stops being ready by itself (no /readyz needed to notice);
- a newer library that declares it serves this build (LIBRARY_SERVES_FROM)
  is used as it is: the node is ready, writes, and leaves it loaded.
"""
import os
import re
import time

import fixtures
import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LUA_DIR = os.path.join(ROOT, "server", "store", "lua")


def source_library():
    """The library as craftmatchd embeds it: lua/*.lua joined in name order."""
    text = ""
    for name in sorted(os.listdir(LUA_DIR)):
        if name.endswith(".lua"):
            with open(os.path.join(LUA_DIR, name), encoding="utf-8") as f:
                text += f.read()
    return text


def source_version():
    return int(re.search(r"^local LIBRARY_VERSION = (\d+)$", source_library(), re.M).group(1))


def source_serves_from():
    return int(re.search(r"^local LIBRARY_SERVES_FROM = (\d+)$", source_library(),
                         re.M).group(1))


def nextlib_binary():
    path = os.environ.get("CRAFTMATCHD_NEXTLIB")
    if not path:
        path = os.path.join(os.path.dirname(harness.craftmatchd_binary()), "tests",
                            "craftmatchd-nextlib")
    if not os.access(path, os.X_OK):
        raise AssertionError("no craftmatchd-nextlib at %r (build the tests)" % path)
    return path


def loaded(redis):
    """(version, serves from) of the library in Redis."""
    with harness.RedisClient(redis.port) as c:
        v = c.execute("FCALL_RO", "cm_version", "0")
    return int(v[0]), int(v[1])


class LibraryVersionsTest(harness.TestCase):

    def setUp(self):
        self.v = source_version()
        self.redis = self.start_redis()
        self.admin = fixtures.bootstrap_admin(self.redis)  # loads this build's library

    def assertUnavailable(self, resp):
        status, headers, body = resp
        self.assertProblem(status, headers, body, 503)
        self.assertRegex(headers.get("Retry-After", ""), r"^\d+$", headers)
        return body["detail"]

    def refused_detail(self):
        return ("Redis holds version %d of the craftmatch function library, which serves "
                "craftmatchd built with version %d or later; this craftmatchd has version "
                "%d: upgrade it" % (self.v + 1, self.v + 1, self.v))

    def test_older_node_never_replaces_a_newer_library(self):
        new = self.start_daemon(self.redis, binary=nextlib_binary())
        self.assertEqual(loaded(self.redis), (self.v + 1, self.v + 1))
        self.assertEqual(new.request("GET", "/readyz")[2]["functions"], str(self.v + 1))

        old = self.start_daemon(self.redis, wait="live")
        harness.wait_for(lambda: "function library not usable" in old.log_text(), 15,
                         message="the older node's log line")
        detail = self.assertUnavailable(old.request("GET", "/readyz"))
        self.assertEqual(detail, self.refused_detail())
        # It keeps checking (every 3 s) without replacing or logging again.
        time.sleep(4)
        self.assertEqual(loaded(self.redis), (self.v + 1, self.v + 1))
        self.assertEqual(old.log_text().count("function library not usable"), 1,
                         old.log_tail())
        self.assertEqual(self.assertUnavailable(old.request("GET", "/readyz")),
                         self.refused_detail())
        self.assertEqual(old.metric("craftmatch_redis_up"), 0)
        self.assertEqual(old.metric("craftmatch_redis_function_loads_total"), 0)

        # Requests to the older node are 503 and write nothing; the newer one writes.
        accounts = self.redis.client().execute("KEYS", "cm:account:*")
        resp = old.request("POST", "/v1/accounts", fixtures.account_body("village"),
                           token=self.admin.token)
        self.assertEqual(self.assertUnavailable(resp), self.refused_detail())
        self.assertEqual(sorted(self.redis.client().execute("KEYS", "cm:account:*")),
                         sorted(accounts))
        self.assertEqual(new.request("GET", "/readyz")[0], 200)
        resp = new.request("POST", "/v1/accounts", fixtures.account_body("village"),
                           token=self.admin.token)
        self.assertEqual(resp[0], 201, resp[2])

    def test_newer_node_upgrades_and_the_older_steps_back(self):
        old = self.start_daemon(self.redis)
        self.assertEqual(loaded(self.redis), (self.v, source_serves_from()))
        new = self.start_daemon(self.redis, binary=nextlib_binary())
        self.assertEqual(loaded(self.redis), (self.v + 1, self.v + 1))
        self.assertEqual(new.metric("craftmatch_redis_function_loads_total"), 1)
        # The older node notices by itself, within its check period.
        harness.wait_for(lambda: old.metric("craftmatch_redis_up") == 0, 10,
                         message="the older node not ready")
        self.assertEqual(self.assertUnavailable(old.request("GET", "/readyz")),
                         self.refused_detail())
        self.assertEqual(loaded(self.redis), (self.v + 1, self.v + 1))
        self.assertEqual(new.request("GET", "/readyz")[0], 200)

    def test_newer_library_that_serves_this_build_is_used(self):
        text = source_library()
        text = re.sub(r"^local LIBRARY_VERSION = \d+$", "local LIBRARY_VERSION = %d"
                      % (self.v + 1), text, flags=re.M)
        text = re.sub(r"^local LIBRARY_SERVES_FROM = \d+$", "local LIBRARY_SERVES_FROM = %d"
                      % self.v, text, flags=re.M)
        self.redis.client().execute("FUNCTION", "LOAD", "REPLACE", text)
        d = self.start_daemon(self.redis)
        self.assertEqual(loaded(self.redis), (self.v + 1, self.v))
        self.assertEqual(d.metric("craftmatch_redis_function_loads_total"), 0)
        self.assertEqual(d.request("GET", "/readyz")[2]["functions"], str(self.v + 1))
        self.assertIn("using a newer function library", d.log_text())
        resp = d.request("POST", "/v1/accounts", fixtures.account_body("village"),
                         token=self.admin.token)
        self.assertEqual(resp[0], 201, resp[2])
        self.assertEqual(loaded(self.redis), (self.v + 1, self.v))


if __name__ == "__main__":
    harness.main()
