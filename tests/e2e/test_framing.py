"""
e2e: request framing over raw sockets, pipelined and not (RFC 9112 §6.3,
§11.2; docs/decisions.md, "HTTP").

Proves: every request of a connection gets the same checks, not only the
first of a write: a pipelined second request with a chunked body is 411, one
with a head over --max-header-bytes is 431, one with a body over
--max-body-bytes is 413, and a second request that stops half-way gets 408
after --request-timeout (not the idle timeout). Ambiguous framing is refused
with 400, never guessed: Content-Length twice (differing or not),
Transfer-Encoding with Content-Length, whitespace before a field's colon, a
field name that is not a token, a Content-Length that is signed, hex, a list
or overflows, obsolete line folding, a control byte (NUL, ESC, DEL, bare CR)
in the request line or a field, a malformed request line, a body on HEAD,
HTTP/1.1 without one valid Host. The bytes after a refused head are never run
as a request (the smuggled request's id never reaches a response or the
log). Unknown methods (FOO, TRACE, CONNECT) are 501 problem+json. Every
refusal is problem+json with a documented type, comes after the answers to
the requests before it, and closes the connection; the server keeps serving.
"""
import time
import unittest

import fixtures
import harness

LIMITS = ("--max-body-bytes", "1024", "--max-header-bytes", "2048", "--request-timeout", "1")


def req(method="GET", path="/healthz", headers=(("Host", "t"),), body=b"", version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version)] + ["%s: %s" % kv for kv in headers]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body


def get(rid, path="/healthz"):
    return req("GET", path, (("Host", "t"), ("X-Request-Id", rid)))


SMUGGLED = get("smuggled-request")


class FramingCase(fixtures.ApiTestCase):
    daemon_args = LIMITS

    def assertRefusal(self, resp, status, slug, head=False):
        """A problem+json refusal with the documented type, closing the connection
        (to a HEAD: the head alone)."""
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(harness.media_type(resp.headers), "application/problem+json", resp)
        self.assertEqual(resp.headers.get("Connection", "").lower(), "close", resp)
        if head:
            return
        body = resp.json()
        self.assertEqual(body["status"], status, body)
        self.assertEqual(body["type"], "/problems/" + slug, body)
        for k in ("title", "detail"):
            self.assertTrue(isinstance(body.get(k), str) and body[k], body)

    def refused(self, data, status, slug, answered=(), head=False):
        """Sends data on a fresh connection: the answers to `answered` (request ids,
        each 200), then the refusal, then the connection closes with nothing more."""
        with self.daemon.raw() as c:
            c.send(data)
            for rid in answered:
                resp = c.read_response()
                self.assertEqual((resp.status, resp.headers.get("X-Request-Id")), (200, rid), resp)
            resp = c.read_response(head=head)
            self.assertRefusal(resp, status, slug, head)
            rest = c.read_until_close(10)
        self.assertEqual(rest, b"", "bytes after the refusal: %r" % (rest[:200],))
        self.assertServing()
        return resp

    def assertServing(self):
        status, _, body = self.daemon.request("GET", "/healthz")
        self.assertEqual(status, 200, body)

    def assertNeverRun(self, rid):
        self.assertNotIn("id=%s " % rid, self.daemon.log_text())


class PipelinedTest(FramingCase):
    """The second request of one write gets the checks the first gets."""

    def test_second_request_chunked_411(self):
        body = b"5\r\nhello\r\n0\r\n\r\n"
        self.refused(get("first-ok") + req("POST", "/healthz", (
            ("Host", "t"), ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"))) + body, 411, "length-required", ["first-ok"])

    def test_second_request_header_over_limit_431(self):
        self.refused(get("first-ok") + req("GET", "/healthz", (
            ("Host", "t"), ("X-Filler", "f" * 2100))), 431, "headers-too-large", ["first-ok"])

    def test_second_request_body_over_limit_413(self):
        self.refused(get("first-ok") + req("POST", "/healthz", (
            ("Host", "t"), ("Content-Length", "1025"))) + b"x" * 1025, 413,
            "payload-too-large", ["first-ok"])

    def test_third_request_refused_after_two_answers(self):
        self.refused(get("one") + get("two") + req("FOO", "/healthz"), 501, "not-implemented",
                     ["one", "two"])

    def test_nothing_after_a_closing_answer(self):
        # The first answer ends the connection (HTTP/1.0 without keep-alive:
        # its body ends with the connection; or Connection: close): the
        # refusal of what follows is not appended to it.
        for first in (req("GET", "/healthz", (("X-Request-Id", "first-ok"),), version="HTTP/1.0"),
                      req("GET", "/healthz", (("Host", "t"), ("Connection", "close"),
                                              ("X-Request-Id", "first-ok")))):
            with self.subTest(first=first[:40]):
                with self.daemon.raw() as c:
                    c.send(first + b"Host: t\r\n\r\n" + SMUGGLED)
                    resp = c.read_response()
                    self.assertTrue(c.closed_by_peer(10))
                    rest = c.buf
                self.assertEqual((resp.status, resp.headers["X-Request-Id"]), (200, "first-ok"))
                self.assertEqual(resp.json()["status"], "ok")  # the whole body, nothing else
                self.assertEqual(rest, b"")
        self.assertNeverRun("smuggled-request")

    def test_partial_second_request_408_within_request_timeout(self):
        before = self.daemon.metric("craftmatch_http_request_timeouts_total")
        with self.daemon.raw() as c:
            c.send(get("first-ok") + b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
            self.assertEqual(c.read_response().status, 200)
            t0 = time.monotonic()
            resp = c.read_response(timeout=6)  # the idle timeout is 60 s
            waited = time.monotonic() - t0
            self.assertRefusal(resp, 408, "request-timeout")
            self.assertLess(waited, 5, "408 took the idle timeout, not the request timeout")
            self.assertTrue(c.closed_by_peer(10))
        self.assertEqual(self.daemon.metric("craftmatch_http_request_timeouts_total") - before, 1)

    def test_partial_second_body_408(self):
        with self.daemon.raw() as c:
            c.send(get("first-ok") + req("POST", "/healthz", (
                ("Host", "t"), ("Content-Length", "50"))) + b'{"a":')
            self.assertEqual(c.read_response().status, 200)
            self.assertRefusal(c.read_response(timeout=6), 408, "request-timeout")

    def test_deadline_is_per_request(self):
        # Requests that each arrive within the timeout are served, however long
        # the connection lives: the deadline is re-armed for every request.
        with self.daemon.raw() as c:
            for i in range(3):
                data = get("slow-%d" % i)
                c.send(data[:10])
                time.sleep(0.6)
                c.send(data[10:])
                self.assertEqual(c.read_response().headers["X-Request-Id"], "slow-%d" % i)

    def test_well_framed_pipeline_all_answered(self):
        body = b'{"x":1}'
        data = (b"\r\n" + get("p1") + req("POST", "/healthz", (
            ("Host", "t"), ("Content-Length", str(len(body))), ("X-Request-Id", "p2"))) + body +
            req("HEAD", "/healthz", (("Host", "t"), ("X-Request-Id", "p3"))) +
            req("GET", "/healthz", (("X-Request-Id", "p4"),), version="HTTP/1.0"))
        with self.daemon.raw() as c:
            c.send(data)
            r1, r2 = c.read_response(), c.read_response()
            r3, r4 = c.read_response(head=True), c.read_response()
        self.assertEqual([(r.status, r.headers["X-Request-Id"]) for r in (r1, r2, r3, r4)],
                         [(200, "p1"), (405, "p2"), (200, "p3"), (200, "p4")])


class AmbiguousFramingTest(FramingCase):
    """Where a message could be framed two ways, it is refused (400)."""

    def smuggle(self, headers, method="POST", status=400, slug="bad-request"):
        """A head with `headers`, then SMUGGLED as its would-be body or next request."""
        self.refused(req(method, "/healthz", (("Host", "t"),) + tuple(headers)) + SMUGGLED,
                     status, slug, head=method == "HEAD")
        self.assertNeverRun("smuggled-request")

    def test_differing_content_lengths(self):
        self.smuggle([("Content-Length", "0"), ("Content-Length", str(len(SMUGGLED)))])
        self.smuggle([("Content-Length", str(len(SMUGGLED))), ("Content-Length", "0")])

    def test_identical_content_lengths(self):
        n = str(len(SMUGGLED))
        self.smuggle([("Content-Length", n), ("content-length", n)])

    def test_content_length_list(self):
        n = len(SMUGGLED)
        self.smuggle([("Content-Length", "%d, %d" % (n, n))])

    def test_transfer_encoding_with_content_length(self):
        self.smuggle([("Transfer-Encoding", "chunked"), ("Content-Length", "0")])
        self.smuggle([("Content-Length", "0"), ("Transfer-Encoding", "chunked")])

    def test_whitespace_before_colon(self):
        self.smuggle([("Content-Length ", str(len(SMUGGLED)))])
        self.smuggle([("Transfer-Encoding\t", "chunked")])

    def test_field_name_not_a_token(self):
        self.smuggle([("Content(Length)", "5")])
        self.smuggle([("X\x01Y", "z")])

    def test_content_length_not_decimal(self):
        n = len(SMUGGLED)
        for value in ("+%d" % n, "-1", "0x%x" % n, "%da" % n, "", "1 0", "9" * 25):
            with self.subTest(value=value):
                self.smuggle([("Content-Length", value)])

    def test_obsolete_line_folding(self):
        self.smuggle([("X-A", "a\r\n b")], method="GET")
        self.smuggle([("X-A", "a\r\n\tb")], method="GET")

    def test_head_with_a_body(self):
        self.smuggle([("Content-Length", str(len(SMUGGLED)))], method="HEAD")

    def test_second_request_ambiguous(self):
        self.refused(get("first-ok") + req("POST", "/healthz", (
            ("Host", "t"), ("Content-Length", "0"), ("Content-Length", str(len(SMUGGLED))))) +
            SMUGGLED, 400, "bad-request", ["first-ok"])
        self.assertNeverRun("smuggled-request")


class ControlBytesTest(FramingCase):
    """A control byte (HTAB aside, in values) anywhere in a head is 400."""

    def test_nul_in_authorization(self):
        token = self.admin.token
        status, _, _ = self.daemon.request("GET", "/v1/me", token=token)
        self.assertEqual(status, 200)  # the token is good: only the NUL is wrong
        for junk in (b"\x00", b"\x00junk", b"\x00 \x00"):
            with self.subTest(junk=junk):
                self.refused(req("GET", "/v1/me", (("Host", "t"),)).replace(
                    b"\r\n\r\n", b"\r\nAuthorization: Bearer " + token.encode() + junk +
                    b"\r\n\r\n"), 400, "bad-request")

    def test_control_bytes_in_values(self):
        for value in ("a\x00b", "a\x1b[31mb", "a\x7fb", "a\x0bb", "a\x0cb", "a\rb"):
            with self.subTest(value=value):
                self.refused(req("GET", "/healthz", (("Host", "t"), ("X-A", value))), 400,
                             "bad-request")

    def test_control_bytes_in_request_line(self):
        for line in (b"GET /heal\x00thz HTTP/1.1", b"GET /heal\x01thz HTTP/1.1",
                     b"G\x00T /healthz HTTP/1.1", b"GET /healthz\x00 HTTP/1.1",
                     b"GET /healthz HTTP/1.1\x00", b"GET /heal\x7fthz HTTP/1.1",
                     b"GET /healthz\tHTTP/1.1"):
            with self.subTest(line=line):
                self.refused(line + b"\r\nHost: t\r\n\r\n", 400, "bad-request")

    def test_bare_cr(self):
        for data in (b"GET /healthz HTTP/1.1\rHost: t\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: t\r\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\r\n",
                     b"\rGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"):
            with self.subTest(data=data):
                self.refused(data, 400, "bad-request")

    def test_bare_cr_between_pipelined_requests(self):
        self.refused(get("first-ok") + b"\r" + get("second"), 400, "bad-request", ["first-ok"])
        self.assertNeverRun("second")


class RequestLineTest(FramingCase):

    def test_malformed_request_lines(self):
        for line in (b"GET  /healthz HTTP/1.1", b"GET /healthz  HTTP/1.1",
                     b"GET /healthz HTTP/1.1 ", b" GET /healthz HTTP/1.1", b"GET /healthz",
                     b"GET HTTP/1.1", b"GET /healthz HTTP/2.0", b"GET /healthz HTTP/1.2",
                     b"GET /healthz http/1.1", b"GET /healthz HTTP/1", b"/healthz HTTP/1.1",
                     b"G(T /healthz HTTP/1.1", b"GET healthz HTTP/1.1", b"GET * HTTP/1.1",
                     b"GET http://t/healthz HTTP/1.1", b"GET //t/healthz HTTP/1.1",
                     b"GET /a%zz HTTP/1.1", b"GET /a%4 HTTP/1.1", b"GET /a#b HTTP/1.1",
                     b"GET /\xc4\x91 HTTP/1.1", b"GET /a<b> HTTP/1.1", b"GET /a\\b HTTP/1.1"):
            with self.subTest(line=line):
                self.refused(line + b"\r\nHost: t\r\n\r\n", 400, "bad-request")

    def test_characters_browsers_leave_unescaped(self):
        # Not RFC 3986, but harmless to framing: routed as usual (here a 404:
        # an API path, since the web app answers the others).
        with self.daemon.raw() as c:
            c.send(b"GET /v1/nope?a[]=1&b={x}|^` HTTP/1.1\r\nHost: t\r\n\r\n")
            resp = c.read_response()
        self.assertEqual(resp.status, 404, resp)
        self.assertEqual(resp.json()["type"], "/problems/not-found")

    def test_refused_head_gets_no_body(self):
        for data in (b"HEAD /a<b> HTTP/1.1\r\nHost: t\r\n\r\n",
                     b"HEAD /healthz HTTP/1.1\r\nHost: t\r\nX: a\x00\r\n\r\n",
                     req("HEAD", "/healthz", (("Host", "t"), ("Content-Length", "5"))) + b"GET /"):
            with self.subTest(data=data[:40]):
                with self.daemon.raw() as c:
                    c.send(data)
                    raw = c.read_until_close(10)
                head, sep, body = raw.partition(b"\r\n\r\n")
                self.assertTrue(head.startswith(b"HTTP/1.1 400 "), raw)
                self.assertIn(b"Content-Type: application/problem+json", head)
                self.assertEqual((sep, body), (b"\r\n\r\n", b""), raw)

    def test_host_rules(self):
        for headers in ((), (("Host", "t"), ("Host", "t")), (("Host", "a b"),),
                        (("Host", "t/x"),), (("Host", "user@t"),)):
            with self.subTest(headers=headers):
                self.refused(req("GET", "/healthz", headers), 400, "bad-request")
        # HTTP/1.0 needs no Host, and an IP literal with a port is a host
        self.assertEqual(harness.raw_request(self.daemon.port,
                                             b"GET /healthz HTTP/1.0\r\n\r\n").status, 200)
        self.assertEqual(harness.raw_request(self.daemon.port, req(
            "GET", "/healthz", (("Host", "[::1]:80"),))).status, 200)

    def test_unknown_methods_501(self):
        for method in ("FOO", "TRACE", "CONNECT", "PROPFIND", "get", "GETS", "M-SEARCH"):
            with self.subTest(method=method):
                resp = self.refused(req(method, "/healthz"), 501, "not-implemented")
                self.assertIn("GET", resp.json()["detail"])
        # a method the server serves elsewhere is still 405 with Allow
        with self.daemon.raw() as c:
            c.send(req("DELETE", "/healthz"))
            resp = c.read_response()
        self.assertEqual(resp.status, 405, resp)
        self.assertIn("GET", resp.headers.get("Allow", ""), resp)
        self.assertEqual(resp.json()["type"], "/problems/method-not-allowed")

    def test_expect_other_than_continue_417(self):
        self.refused(req("POST", "/healthz", (("Host", "t"), ("Expect", "teapot"),
                                              ("Content-Length", "2"))) + b"{}",
                     417, "expectation-failed")


class NoHtmlEverTest(FramingCase):
    """Every malformed request that once reached libevent's own HTML pages."""

    CASES = (
        b"FOO /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        b"TRACE /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        b"CONNECT t:443 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /healthz\r\n\r\n",
        b"GET\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello
        b"GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nNoColon\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nX: a\rb\r\n\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2a\r\n\r\n{}",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: -2\r\n\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nExpect: nope\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nX: " + b"x" * 3000 + b"\r\n\r\n",
        b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET //x:y/ HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET http://[::1/ HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: [bad\r\n\r\n".replace(b"[bad", b"b\x00d"),
        b"GET /healthz HTTP/1.1\r\n\x00: x\r\n\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n",
    )

    def test_every_error_is_problem_json(self):
        for data in self.CASES:
            with self.subTest(data=data[:60]):
                with self.daemon.raw() as c:
                    c.send(data)
                    resp = c.read_response()
                    self.assertGreaterEqual(resp.status, 400, resp)
                    self.assertEqual(harness.media_type(resp.headers),
                                     "application/problem+json", resp)
                    body = resp.json()
                    self.assertEqual(body["status"], resp.status)
                    self.assertRegex(body["type"], r"^/problems/[a-z-]+$")
                    self.assertTrue(c.closed_by_peer(10), "connection left open")
        self.assertServing()


if __name__ == "__main__":
    harness.main()
