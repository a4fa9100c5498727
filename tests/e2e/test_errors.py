"""
e2e: errors are problem+json, limits hold against hostile clients, and
HTTP/1.1 connection handling (keep-alive, pipelining, the connection cap).

Proves: 404 and 405 (with Allow) bodies follow RFC 9457; a body over
--max-body-bytes is refused with 413 and a head over --max-header-bytes with
431 (limits inclusive, the server keeps serving, settings also read from the
environment); a stalled request gets 408 after --request-timeout and its
connection is closed; at --max-connections the server stops accepting until
a connection closes; keep-alive and pipelined requests are all answered.
"""
import time
import unittest

import harness


def request_bytes(method, path, headers=(), body=b"", version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, path, version), "Host: test"]
    lines += ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class ProblemTest(harness.SharedDaemonTestCase):
    """404/405 on a daemon with default limits."""

    def test_unknown_route_404(self):
        for path in ("/v1/nope", "/v1/no-such-resource", "/healthz/extra", "/%00", "/v1/" + "a" * 1500):
            with self.subTest(path=path[:40]):
                status, headers, body = self.daemon.request("GET", path)
                self.assertProblem(status, headers, body, 404)
                self.assertIn("X-Request-Id", headers)

    def test_problem_fields(self):
        status, headers, body = self.daemon.request("GET", "/v1/nope")
        self.assertProblem(status, headers, body, 404)
        self.assertEqual(body["title"], "Not found")
        # type is a URI reference ("about:blank" or a path/URL naming the problem)
        self.assertRegex(body["type"], r"^(about:blank|/\S+|https?://\S+)$")

    def test_wrong_method_405_with_allow(self):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                status, headers, body = self.daemon.request(method, "/healthz", body={})
                self.assertProblem(status, headers, body, 405)
                self.assertEqual(headers.get("Allow"), "GET")
                self.assertIn(method, body["detail"])

    def test_server_survives_errors(self):
        for _ in range(3):
            self.daemon.request("POST", "/healthz", body={})
            self.daemon.request("GET", "/v1/nope")
        self.assertEqual(self.daemon.request("GET", "/healthz")[0], 200)

    def test_connection_close_request_is_answered(self):
        with self.daemon.raw() as c:
            c.send(request_bytes("GET", "/healthz", [("Connection", "close")]))
            resp = c.read_response()
            self.assertEqual(resp.status, 200)
            self.assertTrue(c.closed_by_peer(5))

    def test_http10_request_is_answered(self):
        with self.daemon.raw() as c:
            c.send(b"GET /healthz HTTP/1.0\r\n\r\n")
            resp = c.read_response()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.json()["status"], "ok")


class KeepAliveTest(harness.SharedDaemonTestCase):

    def test_two_requests_on_one_connection(self):
        before = self.daemon.metric("craftmatch_http_connections_total")
        with self.daemon.raw() as c:
            for rid in ("ka-1", "ka-2"):
                c.send(request_bytes("GET", "/healthz", [("X-Request-Id", rid)]))
                resp = c.read_response()
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.headers["X-Request-Id"], rid)
                self.assertEqual(resp.json()["status"], "ok")
            self.assertNotEqual(resp.headers.get("Connection", "").lower(), "close")
        after = self.daemon.metric("craftmatch_http_connections_total")
        # our connection plus the two scrapes' own: one connection carried both requests
        self.assertEqual(after - before, 2)

    def test_http_client_keep_alive(self):
        with self.daemon.client() as c:
            self.assertEqual(c.request("GET", "/healthz")[0], 200)
            sock = c.conn.sock
            self.assertEqual(c.request("GET", "/readyz")[0], 200)
            self.assertIs(c.conn.sock, sock, "the connection was not kept alive")

    def test_pipelined_requests(self):
        with self.daemon.raw() as c:
            c.send(request_bytes("GET", "/healthz", [("X-Request-Id", "pipe-1")]) +
                   request_bytes("GET", "/readyz", [("X-Request-Id", "pipe-2")]) +
                   request_bytes("GET", "/v1/nope", [("X-Request-Id", "pipe-3")]))
            r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
        self.assertEqual((r1.status, r1.headers["X-Request-Id"]), (200, "pipe-1"))
        self.assertEqual(r1.json()["status"], "ok")
        self.assertEqual((r2.status, r2.headers["X-Request-Id"]), (200, "pipe-2"))
        self.assertEqual(r2.json()["status"], "ready")
        self.assertEqual((r3.status, r3.headers["X-Request-Id"]), (404, "pipe-3"))

    def test_request_split_into_pieces(self):
        # A request trickling in byte groups (within the timeout) is fine.
        data = request_bytes("GET", "/healthz", [("X-Request-Id", "slow-but-ok")])
        with self.daemon.raw() as c:
            for i in range(0, len(data), 7):
                c.send(data[i:i + 7])
                time.sleep(0.01)
            resp = c.read_response()
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.headers["X-Request-Id"], "slow-but-ok")


class LimitsTest(harness.SharedDaemonTestCase):
    daemon_args = ("--max-body-bytes", "1024", "--max-header-bytes", "2048",
                   "--request-timeout", "1")

    def assertRawProblem(self, resp, status):
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(harness.media_type(resp.headers), "application/problem+json", resp)
        body = resp.json()
        self.assertEqual(body["status"], status)
        for k in ("type", "title", "detail"):
            self.assertTrue(isinstance(body.get(k), str) and body[k], body)

    def assertServing(self):
        status, _, body = self.daemon.request("GET", "/healthz")
        self.assertEqual(status, 200, body)

    def test_body_at_limit_accepted(self):
        # 1024 bytes pass the size check (then POST /healthz is a 405).
        body = b'{"a":"' + b"x" * (1024 - 8) + b'"}'
        self.assertEqual(len(body), 1024)
        with self.daemon.raw() as c:
            c.send(request_bytes("POST", "/healthz", [("Content-Type", "application/json"),
                                                       ("Content-Length", "1024")], body))
            resp = c.read_response()
        self.assertEqual(resp.status, 405, resp)

    def test_body_over_limit_413(self):
        body = b"x" * 1025
        with self.daemon.raw() as c:
            c.send(request_bytes("POST", "/healthz", [("Content-Type", "application/json"),
                                                       ("Content-Length", "1025")], body))
            resp = c.read_response()
            self.assertRawProblem(resp, 413)
            self.assertTrue(c.closed_by_peer(10), "connection left open after 413")
        self.assertServing()

    def test_huge_declared_body_413_before_upload(self):
        # Refused on the declared length alone: the client never sends the body.
        with self.daemon.raw() as c:
            c.send(request_bytes("POST", "/healthz", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(10 ** 9))]))
            resp = c.read_response()
        self.assertRawProblem(resp, 413)
        self.assertServing()

    # Chunked bodies are refused up front (411): the body limit must be
    # checkable before anything is read, and API bodies are small JSON.
    def test_chunked_body_refused_411(self):
        chunk = b"x" * 1500
        with self.daemon.raw() as c:
            c.send(request_bytes("POST", "/healthz", [("Content-Type", "application/json"),
                                                       ("Transfer-Encoding", "chunked")]) +
                   b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
            resp = c.read_response()
        self.assertRawProblem(resp, 411)
        self.assertServing()

    def test_chunked_body_over_limit_not_accepted(self):
        # What holds today: the oversize chunked body is not processed, the
        # connection is closed, and the server keeps serving.
        chunk = b"x" * 1500
        with self.daemon.raw() as c:
            c.send(request_bytes("POST", "/healthz", [("Content-Type", "application/json"),
                                                       ("Transfer-Encoding", "chunked")]) +
                   b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
            data = c.read_until_close(10)
        self.assertFalse(data.startswith(b"HTTP/1.1 2"), data[:200])
        self.assertServing()

    def test_body_over_limit_via_http_client(self):
        status, headers, body = self.daemon.request("POST", "/healthz",
                                                    body={"note": "đ" * 2000})
        self.assertProblem(status, headers, body, 413)
        self.assertServing()

    def test_headers_over_limit_431(self):
        with self.daemon.raw() as c:
            c.send(request_bytes("GET", "/healthz", [("X-Filler", "f" * 3000)]))
            resp = c.read_response()
            self.assertRawProblem(resp, 431)
            self.assertTrue(c.closed_by_peer(10), "connection left open after 431")
        self.assertServing()

    def test_many_small_headers_over_limit_431(self):
        headers = [("X-H%d" % i, "v" * 40) for i in range(60)]
        with self.daemon.raw() as c:
            c.send(request_bytes("GET", "/healthz", headers))
            self.assertRawProblem(c.read_response(), 431)
        self.assertServing()

    def test_headers_under_limit_ok(self):
        with self.daemon.raw() as c:
            c.send(request_bytes("GET", "/healthz", [("X-Filler", "f" * 1500)]))
            self.assertEqual(c.read_response().status, 200)

    def test_stalled_request_408(self):
        before = self.daemon.metric("craftmatch_http_request_timeouts_total")
        with self.daemon.raw() as c:
            t0 = time.monotonic()
            c.send(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")  # never finishes
            resp = c.read_response(timeout=15)
            waited = time.monotonic() - t0
            self.assertRawProblem(resp, 408)
            self.assertGreaterEqual(waited, 0.8, "408 before the 1 s request timeout")
            self.assertTrue(c.closed_by_peer(10), "connection left open after 408")
        self.assertEqual(self.daemon.metric("craftmatch_http_request_timeouts_total") - before, 1)
        self.assertServing()

    def test_stalled_body_408(self):
        with self.daemon.raw() as c:
            c.send(request_bytes("POST", "/healthz", [("Content-Type", "application/json"),
                                                       ("Content-Length", "100")], b'{"a":'))
            resp = c.read_response(timeout=15)
            self.assertRawProblem(resp, 408)
            self.assertTrue(c.closed_by_peer(10))
        self.assertServing()

    def test_idle_connection_without_request_not_408(self):
        # The request timeout starts with the first byte of a request; a
        # connected-but-silent client gets no 408 (the idle timeout governs it).
        with self.daemon.raw() as c:
            self.assertTrue(c.nothing_within(1.8), "server wrote to or closed a silent client")
            c.send(request_bytes("GET", "/healthz"))
            self.assertEqual(c.read_response().status, 200)

    def test_limits_from_environment(self):
        d = self.start_daemon(self.redis, env={"CRAFTMATCH_MAX_HEADER_BYTES": "1024",
                                               "CRAFTMATCH_MAX_BODY_BYTES": "300"})
        with d.raw() as c:
            c.send(request_bytes("GET", "/healthz", [("X-Filler", "f" * 1100)]))
            self.assertRawProblem(c.read_response(), 431)
        with d.raw() as c:
            c.send(request_bytes("POST", "/healthz", [("Content-Length", "301")], b"x" * 301))
            self.assertRawProblem(c.read_response(), 413)


class ConnectionCapTest(harness.SharedDaemonTestCase):
    daemon_args = ("--max-connections", "4")

    def test_cap_pauses_accepting(self):
        d = self.daemon
        pauses0 = d.metric("craftmatch_http_connection_cap_pauses_total")
        idle = [d.raw() for _ in range(3)]
        scrape = d.client()
        try:
            # The scraping keep-alive connection is the fourth: wait until all 4 are counted.
            def four_open():
                text = scrape.request("GET", "/metrics")[2]
                return harness.parse_metrics(text).value("craftmatch_http_connections_open") == 4
            harness.wait_for(four_open, 10, message="4 connections open")
            fifth = d.raw()  # the kernel completes the handshake; the server must not accept
            idle.append(fifth)
            fifth.send(request_bytes("GET", "/healthz", [("X-Request-Id", "fifth")]))
            self.assertTrue(fifth.nothing_within(1.0),
                            "the 5th connection was served while 4 were open")
            idle[0].close()  # one slot frees up: the fifth is accepted and answered
            resp = fifth.read_response(timeout=10)
            self.assertEqual(resp.status, 200)
            self.assertEqual(resp.headers["X-Request-Id"], "fifth")
            # and the scraper's connection still works, at the cap again
            text = scrape.request("GET", "/metrics")[2]
            m = harness.parse_metrics(text)
            self.assertLessEqual(m.value("craftmatch_http_connections_open"), 4)
            self.assertGreater(m.value("craftmatch_http_connection_cap_pauses_total"), pauses0)
        finally:
            scrape.close()
            for c in idle:
                c.close()
        # Below the cap again, everyone is served.
        harness.wait_for(lambda: d.request("GET", "/healthz", timeout=3)[0] == 200, 10,
                         message="service after the cap")


if __name__ == "__main__":
    harness.main()
