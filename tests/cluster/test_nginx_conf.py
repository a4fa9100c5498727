"""
cluster: docs/nginx.conf, checked by nginx and against craftmatchd.

- scripts/nginx-conf renders it for one, two or three nodes and `nginx -t`
  accepts every rendering; a template missing a line it rewrites is refused;
- its limits and timeouts are the ones craftmatchd documents as defaults in
  `craftmatchd --help` (body, import body, header, request and idle times,
  and the SSE read timeout above the idle timeout the heartbeat beats);
- through a real nginx to real craftmatchd nodes: what nginx refuses itself
  is answered as craftmatchd would (problem+json, same type and status),
  what craftmatchd accepts passes; Host (with its port) and X-Request-Id
  reach the node, X-Forwarded-Proto is nginx's; a stream's events and
  heartbeats pass as they are sent (that /v1/events is unbuffered, so a
  subscriber that stops reading is craftmatchd's to drop, is checked in the
  file: nginx flushes small chunks either way); a dead node is routed around, and with no node
  left a client gets 503 problem+json with Retry-After, never an HTML page.
"""

import os
import re
import subprocess
import tempfile

import clusterkit
import fixtures
import harness
from kit import REPO
from streams import SseClient

CONF = os.path.join(REPO, "docs", "nginx.conf")


def conf_text():
    with open(CONF) as f:
        return f.read()


def defaults():
    """{flag: default} as `craftmatchd --help` prints them."""
    out = harness.run_craftmatchd("--help").stdout
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^\s+--([a-z-]+) \| \S+ \(default: ([^)]*)\)", out, re.M)}


def size(text):
    m = re.match(r"^(\d+)([km]?)$", text)
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2)]


def seconds(text):
    m = re.match(r"^(\d+)s$", text)
    return int(m.group(1))


def block(text, header):
    """The body of the first `header {` block (braces balanced)."""
    i = text.index(header + " {") + len(header) + 2
    depth, j = 1, i
    while depth:
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        j += 1
    return text[i:j - 1]


def directive(text, name):
    """Values of `name` at the top level of text (nested blocks left out)."""
    flat, depth = [], 0
    for line in text.splitlines():
        s = line.split("#")[0].strip()
        if depth == 0 and s.startswith(name + " "):
            flat.append(s[len(name):].strip().rstrip(";").strip())
        depth += s.count("{") - s.count("}")
    return flat


class RenderTest(harness.TestCase):

    def test_every_rendering_passes_nginx_t(self):
        for n in (1, 2, 3):
            with self.subTest(nodes=n):
                ng = clusterkit.Nginx([harness.free_port() for _ in range(n)])
                self.addCleanup(ng.close)
                ng.port = harness.free_port()
                ng.write_conf()
                rc, out = ng.check_conf()
                self.assertEqual(rc, 0, out)
                self.assertIn("test is successful", out)
                with open(ng.conf) as f:
                    text = f.read()
                servers = re.findall(r"^\s*server (127\.0\.0\.1:\d+) (.*);$", text, re.M)
                self.assertEqual([s for s, _ in servers],
                                 ["127.0.0.1:%d" % p for p in ng.node_ports])
                self.assertEqual({p for _, p in servers}, {"max_fails=1 fail_timeout=10s"})
                self.assertIsNone(re.search(r"^\s*server node", text, re.M))
                self.assertIn("listen 127.0.0.1:%d;" % ng.port, text)
                # Nothing but the places changes: same lines otherwise.
                original = [ln for ln in conf_text().splitlines()
                            if not re.search(r"server node|listen 8080|^pid |^error_log |"
                                             r"access_log /dev/stdout", ln)]
                rendered = text.splitlines()
                for ln in original:
                    self.assertIn(ln, rendered)

    def test_a_template_without_a_rewritten_line_is_refused(self):
        d = tempfile.mkdtemp(prefix="cm-cluster-conf-")
        self.addCleanup(harness.rmtree, d)
        bad = os.path.join(d, "nginx.conf")
        with open(bad, "w") as f:
            f.write(conf_text().replace("listen 8080;", "listen 9090;"))
        p = subprocess.run([clusterkit.NGINX_CONF, "--conf", bad, "--listen", "127.0.0.1:1",
                            "--node", "127.0.0.1:2", "--dir", d], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn('"listen"', p.stderr)
        for args in (["--node", "127.0.0.1:2", "--dir", d],
                     ["--listen", "127.0.0.1:1", "--dir", d],
                     ["--listen", "127.0.0.1:1", "--node", "x", "--dir", d],
                     ["--listen", "127.0.0.1:1", "--node", "127.0.0.1:2", "--dir", "rel"]):
            p = subprocess.run([clusterkit.NGINX_CONF] + args, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 1, (args, p.stdout))


class LimitsTest(harness.TestCase):
    """The numbers in docs/nginx.conf are craftmatchd's defaults."""

    def test_limits_match_craftmatchd_defaults(self):
        d = defaults()
        server = block(block(conf_text(), "http"), "server")
        imports = block(server, "location = /v1/imports")
        events = block(server, "location = /v1/events")
        upstream = block(conf_text(), "upstream craftmatch")
        self.assertEqual(size(directive(server, "client_max_body_size")[0]),
                         int(d["max-body-bytes"]))
        self.assertEqual(size(directive(imports, "client_max_body_size")[0]),
                         int(d["import-max-bytes"]))
        # Bodies up to the limit stay in memory.
        self.assertEqual(size(directive(server, "client_body_buffer_size")[0]),
                         int(d["max-body-bytes"]))
        # Each header line may be as long as craftmatchd's whole head, so that
        # craftmatchd (431 problem+json) decides about the whole.
        n, each = directive(server, "large_client_header_buffers")[0].split()
        self.assertGreaterEqual(size(each), int(d["max-header-bytes"]))
        for name in ("client_header_timeout", "client_body_timeout"):
            self.assertEqual(seconds(directive(server, name)[0]), int(d["request-timeout"]),
                             name)
        self.assertEqual(seconds(directive(server, "keepalive_timeout")[0]),
                         int(d["idle-timeout"]))
        self.assertEqual(seconds(directive(server, "send_timeout")[0]), int(d["idle-timeout"]))
        # nginx drops idle upstream connections before a node would.
        self.assertLess(seconds(directive(upstream, "keepalive_timeout")[0]),
                        int(d["idle-timeout"]))
        # A stream is never cut by nginx while its heartbeat comes.
        self.assertGreater(seconds(directive(events, "proxy_read_timeout")[0]),
                           int(d["idle-timeout"]))
        self.assertGreater(int(d["idle-timeout"]), int(d["events-heartbeat"]))
        # One credential, one node (read your own writes); anonymous in turns.
        self.assertEqual(directive(upstream, "hash"),
                         ["$http_authorization$cookie_cm_session consistent"])
        self.assertEqual(directive(events, "proxy_buffering"), ["off"])
        self.assertEqual(directive(server, "proxy_http_version"), ["1.1"])
        self.assertEqual(directive(server, "proxy_set_header")[0], 'Connection ""')
        # POST and PATCH are never repeated by nginx (no non_idempotent).
        self.assertEqual(directive(server, "proxy_next_upstream"), ["error timeout"])


class ThroughNginxTest(harness.TestCase):
    """One Redis, two nodes, nginx in front."""

    def setUp(self):
        self.redis = self.start_redis()
        self.admin = fixtures.bootstrap_admin(self.redis)
        self.nodes = [self.start_daemon(self.redis, "--events-heartbeat", "1")
                      for _ in range(2)]
        self.nginx = clusterkit.Nginx([d.port for d in self.nodes])
        self.addCleanup(self.nginx.close)
        self.nginx.start()
        self.front = clusterkit.Front(self.nginx.port)
        self.api = fixtures.Api(self.front)

    def assertProblem503(self, resp):
        self.assertProblem(resp[0], resp[1], resp[2], 503)
        self.assertEqual(resp[2]["type"], "/problems/unavailable")
        self.assertEqual(resp[1].get("Retry-After"), "1")

    def test_what_nginx_refuses_it_answers_as_craftmatchd_does(self):
        token = self.admin.token
        too_big = b"{" + b" " * 65536 + b"}"
        for port in (self.nodes[0].port, self.nginx.port):
            with self.subTest(port=port), harness.HttpClient(port) as c:
                status, headers, body = c.request_raw(
                    "POST", "/v1/needs", too_big, {"Content-Type": "application/json"}, token)
                self.assertEqual(status, 413)
                self.assertEqual(harness.media_type(headers), "application/problem+json")
                self.assertIn(b'"type":"/problems/payload-too-large"', body)
        # At the limit it reaches craftmatchd, which reads it (an admin posts
        # no need: 403).
        at_limit = b"{" + b" " * (65536 - 2) + b"}"
        with harness.HttpClient(self.nginx.port) as c:
            status, headers, body = c.request("POST", "/v1/needs", at_limit,
                                              {"Content-Type": "application/json"}, token)
        self.assertEqual(status, 403, body)
        self.assertIn("instance", body)  # craftmatchd's answer, not nginx's
        # Imports take up to --import-max-bytes: a 100 kB sheet reaches the node.
        sheet = b"a,b\n" + b"x,y\n" * 25000
        with harness.HttpClient(self.nginx.port) as c:
            status, _, body = c.request("POST", "/v1/imports", sheet,
                                        {"Content-Type": "text/csv"}, token)
        self.assertNotEqual(status, 413, body)
        self.assertIn("instance", body)
        # A head over craftmatchd's 16 KiB: 431 problem+json, by nginx or the node.
        with harness.RawConn(self.nginx.port) as raw:
            raw.send(("GET /readyz HTTP/1.1\r\nHost: x\r\nX-A: %s\r\nX-B: %s\r\n\r\n" % (
                "a" * 9000, "b" * 9000)).encode())
            r = raw.read_response()
        self.assertEqual(r.status, 431)
        self.assertEqual(harness.media_type(r.headers), "application/problem+json")
        self.assertIn(b"/problems/headers-too-large", r.body)
        for bad in (b"GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2"
                    b"\r\n\r\n", b"BLAH\r\n\r\n"):
            with harness.RawConn(self.nginx.port) as raw:
                raw.send(bad)
                r = raw.read_response()
            self.assertEqual(r.status, 400)
            self.assertIn(b'"type":"/problems/bad-request"', r.body)

    def test_host_request_id_and_proto_reach_the_node(self):
        village = self.api.make_actor(self.admin, "village")
        origin = "http://127.0.0.1:%d" % self.nginx.port
        resp = self.front.request("POST", "/v1/sessions", {"code": village.token},
                                  {"X-Craftmatch": "1", "Origin": origin,
                                   "X-Forwarded-Proto": "https"})
        # craftmatchd saw the Host with nginx's port (the CSRF rule passed)
        # and nginx's own X-Forwarded-Proto (http: no Secure cookie).
        self.assertEqual(resp[0], 201, resp[2])
        self.assertNotIn("Secure", resp[1]["Set-Cookie"])
        resp = self.front.request("GET", "/v1/me", token=village.token,
                                  headers={"X-Request-Id": "cluster-rid-1"})
        self.assertEqual(resp[1]["X-Request-Id"], "cluster-rid-1")
        # An id craftmatchd would not keep is replaced by nginx's, which both log.
        resp = self.front.request("GET", "/v1/me", token=village.token,
                                  headers={"X-Request-Id": "not ok!"})
        rid = resp[1]["X-Request-Id"]
        self.assertRegex(rid, r"^[0-9a-f]{32}$")
        harness.wait_for(lambda: any("rid=%s " % rid in ln for ln in self.nginx.access_lines()),
                         10, message="nginx's log line of the request")
        self.assertTrue(any(rid in d.log_text() for d in self.nodes))

    def test_events_and_heartbeats_pass_as_sent(self):
        c = SseClient(self.nginx.port, "/v1/events", token=self.admin.token)
        self.addCleanup(c.close)
        self.assertEqual(c.wait_status(), 200)
        c.wait_ready()
        village = self.api.make_actor(self.admin, "village")
        need = self.api.post_need(village)
        c.wait(lambda s: any(e.data.get("listing") == need["id"] for e in s.data_events()),
               what="the listing's event through nginx")
        # Heartbeats (one a second here) arrive one by one, as sent.
        n = len(c.comments)
        c.wait(lambda s: len(s.comments) >= n + 2, what="two heartbeats through nginx")

    def test_one_credential_one_node_anonymous_requests_spread(self):
        ports = {d.port for d in self.nodes}
        village = self.api.make_actor(self.admin, "village")
        self.assertIn(self.nginx.node_of(village.token), ports)
        self.assertEqual({self.nginx.node_of(village.token) for _ in range(8)},
                         {self.nginx.node_of(village.token)})
        spread = set()
        for i in range(8):
            rid = "anon-%d" % i
            self.front.request("GET", "/readyz", headers={"X-Request-Id": rid})
            spread.update(self.nginx.upstream_of(rid))
        self.assertEqual(spread, ports)

    def test_a_dead_node_is_routed_around_and_none_left_is_503(self):
        village = self.api.make_actor(self.admin, "village")
        # Kill the node this village's requests go to.
        victim = [d for d in self.nodes if d.port == self.nginx.node_of(village.token)][0]
        victim.kill()
        for _ in range(6):  # reads and writes: none reaches the dead node
            self.assertEqual(self.front.request("GET", "/v1/me", token=village.token)[0], 200)
            self.api.post_need(village)
        for d in self.nodes:
            d.kill()
        self.assertProblem503(self.front.request("GET", "/v1/me", token=village.token))
        self.assertProblem503(self.front.request("POST", "/v1/needs", fixtures.need_body(),
                                                 token=village.token))


if __name__ == "__main__":
    harness.main()
