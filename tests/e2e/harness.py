"""
harness — the e2e tests' unittest base classes, over the tools of kit/ (one
module per job: kit.resp, kit.http, kit.rawsock, kit.prom, kit.procs,
kit.servers; see kit/__init__.py), whose names it re-exports so that a test
needs only `import harness`.

Python 3 standard library, plus python3-yaml and python3-jsonschema for the
one check HttpClient makes of every answer (openapi_spec.py: an answer to an
operation of docs/openapi.yaml must be one it documents) and
python3-prometheus-client for /metrics. Every e2e test imports this module:

    import harness
    class T(harness.TestCase):
        def test_x(self):
            redis = self.start_redis()
            d = self.start_daemon(redis, "--max-body-bytes", "1024")
            status, headers, body = d.request("GET", "/healthz")

TestCase.start_redis()/start_daemon() register their teardown with
addCleanup, so a test never leaks a process: at teardown the daemon gets
SIGTERM, must exit 0 within a deadline, and its stderr must be free of
sanitizer reports (AddressSanitizer, LeakSanitizer, UBSan "runtime error:").
Any of those failures fails the test, loudly, with the log excerpt.

The context managers work on their own as well (`with harness.RedisServer()
as redis, harness.Craftmatchd(redis) as d: ...`), with the same checks.

Children get a small, explicit environment (PATH, HOME, locale, TMPDIR and the
sanitizer options; no inherited CRAFTMATCH_* setting can change a test), and
ASAN_OPTIONS always carries detect_leaks=1 unless the caller set detect_leaks
itself. Children started from the main thread die with the test process
(PR_SET_PDEATHSIG), and an atexit hook kills whatever is still running, so an
interrupted run leaves nothing behind.

Timeouts: every wait here is bounded. Deadlines are functional ("the process
exits", "Redis answers"), generous enough for a sanitizer build on a loaded
two-core machine; nothing measures speed.
"""

import unittest

from kit import EXIT_TIMEOUT, HOST, HTTP_TIMEOUT, READY_TIMEOUT, REDIS_START_TIMEOUT
from kit.http import (Headers, HttpClient, check_documented, decode_body, http_request,
                      media_type, set_spec_check, spec_check, undocumented_answers)
from kit.procs import (SANITIZER_PATTERNS, check_sanitizers, child_env, free_port, mkdtemp,
                       popen, rmtree, sanitizer_report, wait_for)
from kit.prom import Metrics, MetricsFormatError, parse_metrics
from kit.rawsock import RawConn, RawResponse, raw_request
from kit.resp import RedisClient, RedisError
from kit.servers import Craftmatchd, RedisServer, craftmatchd_binary, run_craftmatchd

# What a test finds as harness.X: the kits' tools and the base classes below.
__all__ = [
    "EXIT_TIMEOUT", "HOST", "HTTP_TIMEOUT", "READY_TIMEOUT", "REDIS_START_TIMEOUT",
    "Headers", "HttpClient", "check_documented", "decode_body", "http_request", "media_type",
    "set_spec_check", "spec_check", "undocumented_answers",
    "SANITIZER_PATTERNS", "check_sanitizers", "child_env", "free_port", "mkdtemp", "popen",
    "rmtree", "sanitizer_report", "wait_for",
    "Metrics", "MetricsFormatError", "parse_metrics",
    "RawConn", "RawResponse", "raw_request",
    "RedisClient", "RedisError",
    "Craftmatchd", "RedisServer", "craftmatchd_binary", "run_craftmatchd",
    "TestCase", "SharedDaemonTestCase", "main",
]

# The names these had when they lived here, for tests written then.
_mkdtemp, _popen, _rmtree = mkdtemp, popen, rmtree


class TestCase(unittest.TestCase):
    """Starts processes whose teardown (and sanitizer check) is registered with addCleanup."""

    def start_redis(self, **kwargs):
        r = RedisServer(**kwargs)
        self.addCleanup(r.close)
        r.start()
        return r

    def start_daemon(self, redis, *args, env=None, wait="ready", expect_exit=0, binary=None):
        d = Craftmatchd(redis, args=args, env=env, wait=wait, expect_exit=expect_exit,
                        binary=binary)
        self.addCleanup(d.close)
        d.start()
        return d

    def assertProblem(self, status, headers, body, expected_status):
        """A problem+json response (RFC 9457) with the given status."""
        self.assertEqual(status, expected_status, body)
        self.assertEqual(media_type(headers), "application/problem+json", headers)
        self.assertIsInstance(body, dict, body)
        for k in ("type", "title", "status", "detail"):
            self.assertIn(k, body, body)
        self.assertEqual(body["status"], expected_status, body)
        for k in ("type", "title", "detail"):
            self.assertIsInstance(body[k], str, body)
            self.assertTrue(body[k], body)


class SharedDaemonTestCase(TestCase):
    """One Redis and one craftmatchd for the whole class (class attributes
    redis_kwargs, daemon_args, daemon_env configure them). After every test
    the daemon must still be running with no sanitizer report, so a crash or
    report is charged to the test that caused it; the class teardown then
    does the full check (SIGTERM, exit 0, report)."""

    redis_kwargs = {}
    daemon_args = ()
    daemon_env = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = RedisServer(**cls.redis_kwargs)
        cls.daemon = Craftmatchd(cls.redis, args=cls.daemon_args, env=cls.daemon_env)
        try:
            cls.redis.start()
            cls.daemon.start()
            cls.set_up_shared()
        except BaseException:
            cls._close_shared()
            raise

    @classmethod
    def set_up_shared(cls):
        """What a class makes once on its started Redis and daemon (actors,
        listings). Subclasses override it, calling super() first; if it
        fails, the daemon and Redis are closed before setUpClass raises."""

    @classmethod
    def _close_shared(cls):
        try:
            cls.daemon.close()
        finally:
            cls.redis.close()

    @classmethod
    def tearDownClass(cls):
        try:
            cls._close_shared()
        finally:
            super().tearDownClass()

    def tearDown(self):
        self.daemon.check_sanitizers()
        if not self.daemon.running():
            raise AssertionError("craftmatchd died during the test (exit %s):\n%s" % (
                self.daemon.proc.poll(), self.daemon.log_tail()))
        super().tearDown()


def main():
    unittest.main(verbosity=2)
