"""
e2e: liveness, readiness, request ids, HEAD, and the command line.

Proves: /healthz and /readyz answer with JSON; every response carries an
X-Request-Id, the client's own is echoed only when well-formed; HEAD works;
--help documents every setting with its environment variable and a default
that the parser itself accepts; bad command lines exit 2 with a message.
"""
import re
import unittest

import harness

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# The settings craftmatchd must document in --help: flag -> (env, default).
# (A new setting only needs to follow the conventions checked below.)
SETTINGS = {
    "bind": ("CRAFTMATCH_BIND", "127.0.0.1"),
    "port": ("CRAFTMATCH_PORT", "8080"),
    "redis-url": ("CRAFTMATCH_REDIS_URL", "redis://127.0.0.1:6379"),
    "role": ("CRAFTMATCH_ROLE", "all"),
    "redis-timeout-ms": ("CRAFTMATCH_REDIS_TIMEOUT_MS", None),
    "request-timeout": ("CRAFTMATCH_REQUEST_TIMEOUT", None),
    "idle-timeout": ("CRAFTMATCH_IDLE_TIMEOUT", None),
    "max-connections": ("CRAFTMATCH_MAX_CONNECTIONS", None),
    "max-body-bytes": ("CRAFTMATCH_MAX_BODY_BYTES", None),
    "max-header-bytes": ("CRAFTMATCH_MAX_HEADER_BYTES", None),
    "log-format": ("CRAFTMATCH_LOG_FORMAT", "logfmt"),
    "log-level": ("CRAFTMATCH_LOG_LEVEL", "info"),
    "shutdown-grace": ("CRAFTMATCH_SHUTDOWN_GRACE", None),
}
ACTIONS = {"help", "version", "routes"}

SETTING_LINE = re.compile(r"^  --([a-z][a-z0-9-]*)(?: \| (CRAFTMATCH_[A-Z0-9_]+))? +"
                          r"\(default: ([^)]*)\)$")
ACTION_LINE = re.compile(r"^  --([a-z][a-z0-9-]*)$")


def parse_help(text):
    """{flag: (env or None, default or None, description)} from --help output."""
    lines = text.splitlines()
    out = {}
    for i, line in enumerate(lines):
        m = SETTING_LINE.match(line) or ACTION_LINE.match(line)
        if not m:
            continue
        desc = lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].startswith("      ") \
            else ""
        if m.re is SETTING_LINE:
            out[m.group(1)] = (m.group(2), m.group(3), desc)
        else:
            out[m.group(1)] = (None, None, desc)
    return out


class HealthTest(harness.SharedDaemonTestCase):

    def test_healthz_ok_json(self):
        status, headers, body = self.daemon.request("GET", "/healthz")
        self.assertEqual(status, 200, body)
        self.assertEqual(harness.media_type(headers), "application/json")
        self.assertIsInstance(body, dict)
        self.assertEqual(body["status"], "ok")

    def test_readyz_ok_json(self):
        status, headers, body = self.daemon.request("GET", "/readyz")
        self.assertEqual(status, 200, body)
        self.assertEqual(harness.media_type(headers), "application/json")
        self.assertIsInstance(body, dict)
        self.assertEqual(body.get("status"), "ready", body)

    def test_request_id_generated_and_unique(self):
        ids = set()
        for _ in range(5):
            status, headers, _ = self.daemon.request("GET", "/healthz")
            self.assertEqual(status, 200)
            self.assertIn("X-Request-Id", headers)
            rid = headers["X-Request-Id"]
            self.assertRegex(rid, REQUEST_ID_RE)
            ids.add(rid)
        self.assertEqual(len(ids), 5, "request ids repeat: %r" % ids)

    def test_request_id_echoed_when_valid(self):
        for rid in ("abc-123_x.y", "0f8fad5b-d9cb-469f-a165-70867728950e", "A"):
            status, headers, _ = self.daemon.request("GET", "/healthz",
                                                     headers={"X-Request-Id": rid})
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("X-Request-Id"), rid)
        # also on errors, where the problem's instance names it
        status, headers, body = self.daemon.request("GET", "/v1/no-such-thing",
                                                    headers={"X-Request-Id": "trace-404"})
        self.assertEqual(status, 404)
        self.assertEqual(headers.get("X-Request-Id"), "trace-404")
        if "instance" in body:
            self.assertIn("trace-404", body["instance"])

    def test_request_id_replaced_when_bad(self):
        for bad in ("has spaces in it", "x" * 100, "semi;colon", "quote\"d", "caf\u00e9"):
            with self.subTest(bad=bad):
                raw_value = bad.encode("utf-8")
                with self.daemon.raw() as c:
                    c.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: " + raw_value +
                           b"\r\n\r\n")
                    resp = c.read_response()
                self.assertEqual(resp.status, 200)
                rid = resp.headers.get("X-Request-Id")
                self.assertIsNotNone(rid, "no X-Request-Id in %r" % resp)
                self.assertNotEqual(rid.encode("latin-1"), raw_value)
                self.assertRegex(rid, REQUEST_ID_RE)

    def test_head_healthz(self):
        with self.daemon.client() as c:
            status, headers, body = c.request_raw("HEAD", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        self.assertIn("X-Request-Id", headers)
        self.assertEqual(harness.media_type(headers), "application/json")

    def test_head_sends_no_body_and_keeps_connection_usable(self):
        with self.daemon.raw() as c:
            c.send(b"HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                   b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: after-head\r\n\r\n")
            head = c.read_response(head=True)
            self.assertEqual(head.status, 200)
            second = c.read_response()
        self.assertEqual(second.status, 200)
        self.assertEqual(second.headers.get("X-Request-Id"), "after-head")
        self.assertEqual(second.json()["status"], "ok")


class CommandLineTest(harness.TestCase):

    def test_help_lists_every_setting(self):
        p = harness.run_craftmatchd("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        flags = parse_help(p.stdout)
        for flag, (env, default) in SETTINGS.items():
            with self.subTest(flag=flag):
                self.assertIn(flag, flags, "--%s missing from --help:\n%s" % (flag, p.stdout))
                got_env, got_default, desc = flags[flag]
                self.assertEqual(got_env, env, "--%s names the wrong environment variable" % flag)
                self.assertTrue(got_default, "--%s shows no default" % flag)
                if default is not None:
                    self.assertEqual(got_default, default)
                self.assertTrue(desc, "--%s has no description" % flag)
        for action in ACTIONS:
            self.assertIn(action, flags, "--%s missing from --help" % action)
        # Every "--flag" line was understood (none silently skipped by the parser above).
        listed = re.findall(r"^  --([a-z][a-z0-9-]*)", p.stdout, re.M)
        self.assertEqual(sorted(listed), sorted(flags))
        # Conventions for every setting shown, including ones added later.
        for flag, (env, default, desc) in flags.items():
            with self.subTest(flag=flag):
                self.assertTrue(desc, "--%s has no description" % flag)
                if env is not None:
                    self.assertEqual(env, "CRAFTMATCH_" + flag.upper().replace("-", "_"))

    def test_help_defaults_are_accepted(self):
        # Each documented default, given back as a flag or as its variable, parses.
        flags = parse_help(harness.run_craftmatchd("--help").stdout)
        for flag, (env, default, _) in flags.items():
            if default is None or default == "none":
                continue
            with self.subTest(flag=flag):
                p = harness.run_craftmatchd("--" + flag, default, "--help")
                self.assertEqual(p.returncode, 0, "--%s %s rejected: %s" % (flag, default,
                                                                            p.stderr))
                p = harness.run_craftmatchd("--%s=%s" % (flag, default), "--help")
                self.assertEqual(p.returncode, 0, p.stderr)
                if env:
                    p = harness.run_craftmatchd("--help", env={env: default})
                    self.assertEqual(p.returncode, 0, "%s=%s rejected: %s" % (env, default,
                                                                             p.stderr))

    def test_version(self):
        p = harness.run_craftmatchd("--version")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^craftmatchd \d+\.\d+\.\d+")

    def test_unknown_flag_exits_2(self):
        p = harness.run_craftmatchd("--no-such-flag")
        self.assertEqual(p.returncode, 2)
        self.assertIn("no-such-flag", p.stderr)
        self.assertEqual(p.stdout, "")

    def test_positional_argument_exits_2(self):
        p = harness.run_craftmatchd("serve")
        self.assertEqual(p.returncode, 2)
        self.assertIn("serve", p.stderr)

    def test_bad_values_exit_2(self):
        cases = [
            (["--port", "abc"], "port"),
            (["--port=abc"], "port"),
            (["--port", "70000"], "port"),
            (["--port", "-1"], "port"),
            (["--port", "80x"], "port"),
            (["--max-connections", "0"], "max-connections"),
            (["--role", "janitor"], "role"),
            (["--log-format", "xml"], "log-format"),
            (["--log-level", "loud"], "log-level"),
            (["--port"], "port"),  # missing value
        ]
        for args, name in cases:
            with self.subTest(args=args):
                p = harness.run_craftmatchd(*args)
                self.assertEqual(p.returncode, 2, "%r exited %d: %s" % (args, p.returncode,
                                                                       p.stderr))
                self.assertIn(name, p.stderr)
                self.assertEqual(p.stdout, "")

    def test_bad_environment_value_exits_2(self):
        p = harness.run_craftmatchd(env={"CRAFTMATCH_PORT": "abc"})
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("CRAFTMATCH_PORT", p.stderr)

    def test_bad_redis_url_exits_nonzero(self):
        p = harness.run_craftmatchd("--port", "0", "--redis-url", "http://nope")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("redis", p.stderr.lower())


if __name__ == "__main__":
    harness.main()
