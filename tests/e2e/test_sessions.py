"""
e2e: browser sessions (POST /v1/sessions, DELETE /v1/sessions/current) and
the CSRF rule for requests authenticated by cookie.

Proves: an access code (a bearer token) signs a browser in: 201 with the
account as GET /v1/me shows it and the expiry, and a cm_session cookie that
is HttpOnly, SameSite=Strict, Path=/, lasts --session-ttl, is Secure behind
a TLS proxy (X-Forwarded-Proto: https) and is not the code; Redis keeps only
the SHA-256 of the cookie's secret. The cookie authenticates reads (GET
/v1/me, /v1/tokens) and, for anything else, only with X-Craftmatch: 1 and
the server's own Origin (or, without Origin, Sec-Fetch-Site: same-origin):
a missing or wrong header, a foreign or "null" Origin, a cross-site fetch
are 403 /problems/csrf and change nothing; bearer requests are unaffected.
Signing in itself passes the same rule. A stream ticket made by cookie opens
the event stream. Sign-out ends the session, clears the cookie and revokes
the code; an admin revoking the code ends the session at once. Neither the
code nor the cookie's secret ever reaches the server log (at debug level),
Redis or its AOF.
"""
import re
import time

import fixtures
import harness

SESSION_TTL = 2592000


class SessionsTest(fixtures.ApiTestCase):
    daemon_args = ("--log-level", "debug")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.secrets = []  # every code and cookie secret used: none may be logged

    # -- helpers --

    def origin(self):
        return "http://127.0.0.1:%d" % self.daemon.port

    def app_headers(self, **extra):
        """What the app sends with every request."""
        h = {"X-Craftmatch": "1", "Origin": self.origin()}
        h.update(extra)
        return h

    def village(self):
        v = self.api.make_actor(self.admin, "village")
        self.secrets.append(v.token)
        return v

    def sign_in(self, code, headers=None):
        resp = self.daemon.request("POST", "/v1/sessions", body={"code": code},
                                   headers=self.app_headers() if headers is None else headers)
        return resp

    def cookie_of(self, resp):
        set_cookie = resp[1].get("Set-Cookie", "")
        m = re.match(r"^cm_session=([^;]*)", set_cookie)
        self.assertTrue(m, "no cm_session cookie in %r" % set_cookie)
        return m.group(1)

    def session_for(self, actor):
        resp = self.sign_in(actor.token)
        self.assertEqual(resp[0], 201, resp[2])
        cookie = self.cookie_of(resp)
        self.secrets.append(cookie)
        return cookie

    def with_cookie(self, cookie, method, path, body=None, headers=None):
        h = {"Cookie": "theme=dark; cm_session=%s; lang=vi" % cookie}
        h.update(headers or {})
        return self.daemon.request(method, path, body=body, headers=h)

    def assertCsrf(self, resp):
        self.assertProblemResp(resp, 403)
        self.assertEqual(resp[2]["type"], "/problems/csrf")

    def assertSessionEnded(self, resp):
        self.assert401(resp)
        self.assertRegex(resp[1].get("Set-Cookie", ""), r"^cm_session=; .*Max-Age=0")

    def needs_of(self, actor):
        return len(self.api.search_all(actor, kind="need"))

    # -- signing in --

    def test_sign_in_sets_a_safe_cookie(self):
        v = self.village()
        before = time.time()
        status, headers, body = resp = self.sign_in(v.token)
        self.assertEqual(status, 201, body)
        me = self.api.call(v, "GET", "/v1/me")[2]
        self.assertEqual(body["account"], me)
        expires = fixtures.rfc3339_to_ms(body["expires_at"]) / 1000
        self.assertAlmostEqual(expires, before + SESSION_TTL, delta=60)
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertEqual(headers.get("Location"), "/v1/sessions/current")
        set_cookie = headers["Set-Cookie"]
        attrs = [a.strip() for a in set_cookie.split(";")]
        self.assertEqual(sorted(attrs[1:]), sorted(["Path=/", "Max-Age=%d" % SESSION_TTL,
                                                    "HttpOnly", "SameSite=Strict"]))
        cookie = self.cookie_of(resp)
        self.secrets.append(cookie)
        self.assertRegex(cookie, r"^cms_[A-Za-z0-9_-]{43}$")
        self.assertNotIn(v.token[3:], cookie)
        # Redis holds the session under the secret's hash, expiring by itself
        key = "cm:session:" + fixtures.sha256_hex(cookie)
        self.assertEqual(fixtures.redis_hash(self.rc, key)["account"], v.id)
        self.assertAlmostEqual(self.rc.execute("TTL", key), SESSION_TTL, delta=60)
        # behind a TLS proxy the cookie is Secure
        resp = self.sign_in(v.token, self.app_headers(**{"X-Forwarded-Proto": "https"}))
        self.assertEqual(resp[0], 201)
        self.secrets.append(self.cookie_of(resp))
        self.assertIn("Secure", [a.strip() for a in resp[1]["Set-Cookie"].split(";")])
        # a code copied with spaces around it still works
        resp = self.sign_in("  %s \n" % v.token)
        self.assertEqual(resp[0], 201, resp[2])
        self.secrets.append(self.cookie_of(resp))

    def test_sign_in_refusals(self):
        v = self.village()
        for code in ("cm_" + "A" * 43, "short", v.token + "x"):
            with self.subTest(code=code[:12]):
                resp = self.sign_in(code)
                self.assert401(resp)
                self.assertNotIn("Set-Cookie", resp[1])
        self.assertValidation(self.sign_in(None), ["code"])
        self.assertValidation(self.daemon.request("POST", "/v1/sessions", body={},
                                                  headers=self.app_headers()), ["code"])
        self.assertValidation(self.daemon.request("POST", "/v1/sessions",
                                                  body={"code": v.token, "remember": True},
                                                  headers=self.app_headers()), ["remember"])
        # signing in passes the CSRF rule too: no signing a browser in from elsewhere
        for headers in ({}, {"Origin": self.origin()}, {"X-Craftmatch": "1"},
                        self.app_headers(Origin="https://evil.example")):
            with self.subTest(headers=headers):
                resp = self.sign_in(v.token, headers)
                self.assertCsrf(resp)
                self.assertNotIn("Set-Cookie", resp[1])

    # -- using the cookie --

    def test_cookie_authenticates_reads(self):
        v = self.village()
        cookie = self.session_for(v)
        status, _, me = self.with_cookie(cookie, "GET", "/v1/me")
        self.assertEqual((status, me["id"]), (200, v.id))
        status, _, toks = self.with_cookie(cookie, "GET", "/v1/tokens")
        self.assertEqual(status, 200)
        self.assertEqual([t["id"] for t in toks["items"] if t["current"]], [v.token_id])
        # reads need no CSRF header, from anywhere (they change nothing)
        self.assertEqual(self.with_cookie(cookie, "GET", "/v1/me",
                                          headers={"Origin": "https://evil.example"})[0], 200)
        # without a cookie or with a forged one: 401, and a bad cookie is cleared
        self.assert401(self.daemon.request("GET", "/v1/me"))
        self.assertSessionEnded(self.with_cookie("cms_" + "x" * 43, "GET", "/v1/me"))
        self.assertSessionEnded(self.with_cookie("", "GET", "/v1/me"))
        # the code itself is not a session cookie, nor the cookie a bearer token
        self.assertSessionEnded(self.with_cookie(v.token, "GET", "/v1/me"))
        self.assert401(self.api.call(cookie, "GET", "/v1/me"))

    def test_csrf_rule_for_unsafe_requests(self):
        v = self.village()
        cookie = self.session_for(v)
        need = fixtures.need_body()
        n0 = self.needs_of(v)
        refused = [
            {},  # neither
            {"Origin": self.origin()},  # no X-Craftmatch
            {"X-Craftmatch": "0", "Origin": self.origin()},
            {"X-Craftmatch": "1"},  # no Origin and no Sec-Fetch-Site
            self.app_headers(Origin="https://evil.example"),
            self.app_headers(Origin="http://127.0.0.1:%d.evil.example" % self.daemon.port),
            self.app_headers(Origin="null"),
            self.app_headers(**{"Sec-Fetch-Site": "cross-site"}),
            self.app_headers(**{"Sec-Fetch-Site": "same-site"}),
            {"X-Craftmatch": "1", "Sec-Fetch-Site": "cross-site"},
        ]
        for headers in refused:
            with self.subTest(headers=headers):
                self.assertCsrf(self.with_cookie(cookie, "POST", "/v1/needs", need, headers))
        self.assertEqual(self.needs_of(v), n0, "a refused request created a need")
        # both right: the request goes through
        status, _, created = self.with_cookie(cookie, "POST", "/v1/needs", need,
                                              self.app_headers())
        self.assertEqual(status, 201, created)
        status, _, _ = self.with_cookie(cookie, "POST", "/v1/needs", need,
                                        {"X-Craftmatch": "1", "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(status, 201)
        self.assertEqual(self.needs_of(v), n0 + 2)
        # PATCH and DELETE are unsafe too
        lid = created["id"]
        self.assertCsrf(self.with_cookie(cookie, "DELETE", "/v1/listings/" + lid, None,
                                         {"Origin": "https://evil.example"}))
        self.assertEqual(self.api.get_listing(v, lid)["status"], "open")
        status, _, _ = self.with_cookie(cookie, "DELETE", "/v1/listings/" + lid, None,
                                        self.app_headers())
        self.assertEqual(status, 200)
        # bearer requests are not cookie requests: no CSRF rule
        status, _, _ = self.api.call(v, "POST", "/v1/needs", need,
                                     headers={"Origin": "https://evil.example"})
        self.assertEqual(status, 201)

    def test_stream_ticket_by_cookie(self):
        v = self.village()
        cookie = self.session_for(v)
        self.assertCsrf(self.with_cookie(cookie, "POST", "/v1/stream-tickets"))
        status, _, body = self.with_cookie(cookie, "POST", "/v1/stream-tickets", None,
                                           self.app_headers())
        self.assertEqual(status, 200, body)
        with self.daemon.raw() as c:
            c.send(("GET /v1/events?ticket=%s HTTP/1.1\r\nHost: x\r\n\r\n"
                    % body["ticket"]).encode())
            deadline = time.monotonic() + 10
            while b"event: ready" not in c.buf and time.monotonic() < deadline:
                c._recv(deadline)
            self.assertIn(b" 200 ", c.buf.split(b"\r\n")[0])
            self.assertIn(b"event: ready", c.buf)

    # -- signing out, revocation --

    def test_sign_out_ends_session_and_code(self):
        v = self.village()
        cookie = self.session_for(v)
        # sign-out is an unsafe request like any other
        self.assertCsrf(self.with_cookie(cookie, "DELETE", "/v1/sessions/current"))
        self.assertEqual(self.with_cookie(cookie, "GET", "/v1/me")[0], 200)
        # a bearer request has no session to end
        self.assertProblemResp(self.api.call(v, "DELETE", "/v1/sessions/current"), 404)
        last = fixtures.last_event_id(self.rc)
        status, headers, _ = self.with_cookie(cookie, "DELETE", "/v1/sessions/current", None,
                                              self.app_headers())
        self.assertEqual(status, 204)
        self.assertRegex(headers.get("Set-Cookie", ""),
                         r"^cm_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict$")
        self.assertSessionEnded(self.with_cookie(cookie, "GET", "/v1/me"))
        self.assertEqual(self.rc.execute("EXISTS", "cm:session:" + fixtures.sha256_hex(cookie)), 0)
        # the code was revoked with it
        self.assert401(self.api.call(v, "GET", "/v1/me"))
        self.assert401(self.sign_in(v.token))
        revoked = [e for e in fixtures.events_after(self.rc, last)
                   if e[1].get("type") == "token.revoked"]
        self.assertEqual([(e[1]["token"], e[1]["by"]) for e in revoked], [(v.token_id, v.id)])

    def test_revoking_the_code_ends_the_session(self):
        v = self.village()
        cookie = self.session_for(v)
        other = self.session_for(v)  # a second browser with the same code
        self.assertEqual(self.with_cookie(cookie, "GET", "/v1/me")[0], 200)
        status, _, _ = self.api.call(self.admin, "DELETE", "/v1/tokens/" + v.token_id)
        self.assertEqual(status, 204)
        self.assertSessionEnded(self.with_cookie(cookie, "GET", "/v1/me"))
        self.assertSessionEnded(self.with_cookie(other, "POST", "/v1/needs", fixtures.need_body(),
                                                 self.app_headers()))

    def test_expired_session_is_refused(self):
        v = self.village()
        cookie = self.session_for(v)
        key = "cm:session:" + fixtures.sha256_hex(cookie)
        self.assertEqual(self.rc.execute("PEXPIRE", key, 1), 1)
        harness.wait_for(lambda: self.rc.execute("EXISTS", key) == 0, 5.0,
                         message="the session key to expire")
        self.assertSessionEnded(self.with_cookie(cookie, "GET", "/v1/me"))
        # the code itself still works: signing in again gives a new session
        self.assertEqual(self.api.call(v, "GET", "/v1/me")[0], 200)
        again = self.session_for(v)
        self.assertNotEqual(again, cookie)
        self.assertEqual(self.with_cookie(again, "GET", "/v1/me")[0], 200)

    def test_zz_secrets_never_leave_the_server(self):
        # runs last (by name): every code and cookie of the class is checked
        v = self.village()
        cookie = self.session_for(v)
        self.with_cookie(cookie, "GET", "/v1/me")
        self.with_cookie(cookie, "POST", "/v1/needs", fixtures.need_body(), self.app_headers())
        self.with_cookie(cookie, "DELETE", "/v1/sessions/current", None, self.app_headers())
        self.assertGreater(len(self.secrets), 10)
        self.assertTrue(any(s.startswith("cms_") for s in self.secrets))
        log = self.daemon.log_text()
        self.assertIn("/v1/sessions", log, "control: the log holds the requests")
        raw = harness.RedisClient(self.redis.port, decode=False)
        try:
            for s in self.secrets:
                with self.subTest(secret=s[:6]):
                    self.assertNotIn(s, log)
                    self.assertNotIn(s[4:30], log)
                    self.assertEqual(fixtures.scan_all(raw, s.encode()), [])
                    self.assertEqual(fixtures.files_containing(self.redis.dir, s.encode()), [])
        finally:
            raw.close()


if __name__ == "__main__":
    harness.main()
