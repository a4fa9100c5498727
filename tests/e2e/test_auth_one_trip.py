"""
e2e: a write checks its own credential (cm_as): one Redis round trip, and
revocation and suspension still stop the very next write on every node.

Two craftmatchd on one Redis. A credential seen once by node A lets A run its
later writes (POST /v1/needs and /v1/offers, PATCH and DELETE
/v1/listings/{id}, the match actions, the forum writes, the account and token
writes) on the account it last saw, the write's own function
checking the credential in the same atomic call. Proves:
- after a warm-up, a write asks Redis nothing read-only: no cm_auth
  (FCALL_RO) per POST, one FCALL each;
- a token revoked through node B, an account suspended through node B, a
  session signed out through node B: the next write on node A with that
  credential is 401 (the session's cookie cleared), whatever the write (a
  good one, one that would be refused 400/403/404/412), and Redis is exactly
  as before (every key but the engine's progress marks);
- an account changed through node B (contact; suspended and reactivated:
  its version moved on) is served again on node A: the write is built from
  what Redis says now and succeeds once.
"""

import fixtures
import harness
from stored import dump_all, dump_diff


# The expiry sweep asks Redis (FCALL_RO) every second on each node: kept out
# of the count of round trips.
QUIET = ("--expiry-interval-ms", "600000")


class OneTripTest(fixtures.ApiTestCase):
    daemon_args = QUIET

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        cls.node_b = harness.Craftmatchd(cls.redis, args=("--role", "api") + QUIET)
        cls.node_b.start()
        cls.api_b = fixtures.Api(cls.node_b)

    @classmethod
    def _close_shared(cls):
        try:
            if getattr(cls, "node_b", None) is not None:
                cls.node_b.close()
        finally:
            super()._close_shared()

    # -- helpers --

    def warm(self, actor):
        """A need posted by actor through node A: the credential is seen there."""
        return self.api.post_need(actor)

    def attempts(self, actor, lid, version):
        """Every kind of write node A serves in one trip, good and bad."""
        token = actor.token if isinstance(actor, fixtures.Actor) else actor
        return [
            ("POST /v1/needs", self.api.call(token, "POST", "/v1/needs", fixtures.need_body())),
            ("POST /v1/needs, invalid", self.api.call(token, "POST", "/v1/needs", {"kind": 1})),
            ("POST /v1/offers by a village", self.api.call(token, "POST", "/v1/offers",
                                                           fixtures.offer_body())),
            ("PATCH", self.api.call(token, "PATCH", "/v1/listings/" + lid, {"note": "x"},
                                    {"If-Match": '"%d"' % version})),
            ("PATCH, stale If-Match", self.api.call(token, "PATCH", "/v1/listings/" + lid,
                                                    {"note": "x"}, {"If-Match": '"999"'})),
            ("PATCH, no such listing", self.api.call(token, "PATCH",
                                                     "/v1/listings/lst_0000000000000000000000",
                                                     {"note": "x"})),
            ("DELETE", self.api.call(token, "DELETE", "/v1/listings/" + lid)),
        ]

    def assertAll401(self, attempts):
        for what, resp in attempts:
            with self.subTest(what):
                self.assert401(resp)

    def fcall_counts(self):
        stats = self.rc.execute("INFO", "commandstats")
        out = {"fcall": 0, "fcall_ro": 0}
        for line in stats.splitlines():
            for name in out:
                if line.startswith("cmdstat_%s:" % name):
                    out[name] = int(line.split("calls=")[1].split(",")[0])
        return out

    # -- tests --

    def test_a_warm_write_is_one_round_trip(self):
        v = self.api.make_actor(self.admin, "village")
        self.warm(v)
        before = self.fcall_counts()
        ids = [self.api.post_need(v)["id"] for _ in range(20)]
        after = self.fcall_counts()
        self.assertEqual(len(set(ids)), 20)
        # Authentication first would be 20 FCALL_RO alone; nothing else here
        # reads through a function meanwhile (the engine plans from memory).
        self.assertLess(after["fcall_ro"] - before["fcall_ro"], 3, (before, after))
        self.assertGreaterEqual(after["fcall"] - before["fcall"], 20, (before, after))
        for lid in ids:
            self.assertEqual(self.rc.execute("HGET", "cm:listing:" + lid, "owner"), v.id)

    def test_revoked_through_another_node(self):
        v = self.api.make_actor(self.admin, "village")
        need = self.warm(v)
        self.assertEqual(self.api.call(v, "PATCH", "/v1/listings/" + need["id"],
                                       {"note": "ổn"})[0], 200)
        resp = self.api_b.call(self.admin, "DELETE", "/v1/tokens/" + v.token_id)
        self.assertEqual(resp[0], 204, resp[2])
        before = dump_all(self.rc)
        self.assertAll401(self.attempts(v, need["id"], 2))
        self.assertEqual(dump_diff(before, dump_all(self.rc)), "")

    def test_suspended_through_another_node(self):
        v = self.api.make_actor(self.admin, "village")
        self.warm(v)
        need = self.warm(v)
        resp = self.api_b.call(self.admin, "PATCH", "/v1/accounts/" + v.id, {"suspended": True})
        self.assertEqual(resp[0], 200, resp[2])
        before = dump_all(self.rc)
        self.assertAll401(self.attempts(v, need["id"], 2))
        self.assertEqual(dump_diff(before, dump_all(self.rc)), "")
        # Reactivated: the same token writes again, on the account as it is now.
        resp = self.api_b.call(self.admin, "PATCH", "/v1/accounts/" + v.id,
                               {"suspended": False})
        self.assertEqual(resp[0], 200, resp[2])
        self.assertEqual(self.api.post_need(v)["owner"]["id"], v.id)

    def test_account_changed_through_another_node(self):
        v = self.api.make_actor(self.admin, "village")
        need = self.warm(v)
        contact = {"phone": "0912 345 678"}
        resp = self.api_b.call(self.admin, "PATCH", "/v1/accounts/" + v.id,
                               {"contact": contact})
        self.assertEqual(resp[0], 200, resp[2])
        version = int(self.rc.execute("HGET", "cm:account:" + v.id, "version"))
        self.assertGreater(version, 1)
        # Each write is made once, on the account as Redis has it now.
        mark = fixtures.last_event_id(self.rc)
        second = self.api.post_need(v)
        resp = self.api.call(v, "PATCH", "/v1/listings/" + need["id"], {"note": "mới"})
        self.assertEqual(resp[0], 200, resp[2])
        created = [f for _, f in fixtures.events_after(self.rc, mark)
                   if f.get("type") == "listing.created"]
        self.assertEqual([f["listing"] for f in created], [second["id"]])
        self.assertEqual(second["owner"], {"id": v.id, "name": v.name})
        # A stale If-Match is still answered 412 (checked: the credential stands).
        resp = self.api.call(v, "PATCH", "/v1/listings/" + need["id"], {"note": "x"},
                             {"If-Match": '"1"'})
        self.assertProblemResp(resp, 412)
        resp = self.api.call(v, "POST", "/v1/offers", fixtures.offer_body())
        self.assertProblemResp(resp, 403)

    def test_forum_match_account_token_writes_revoked_through_another_node(self):
        mod = self.api.make_actor(self.admin, "admin", label="second admin")
        forum = self.api.create_forum(mod)  # through node A: the token is seen there
        v = self.api.make_actor(mod, "village")
        spare = self.api.issue_token(mod, v.id)
        self.assertEqual(self.api.call(mod, "PATCH", "/v1/forums/" + forum["id"],
                                       {"venue": "Nhà văn hoá"})[0], 200)
        resp = self.api_b.call(self.admin, "DELETE", "/v1/tokens/" + mod.token_id)
        self.assertEqual(resp[0], 204, resp[2])
        before = dump_all(self.rc)
        path = "/v1/forums/" + forum["id"]
        for what, resp in [
                ("open", self.api.call(mod, "POST", path + "/open")),
                ("cancel", self.api.call(mod, "POST", path + "/cancel")),
                ("PATCH", self.api.call(mod, "PATCH", path, {"venue": "Đình làng"})),
                ("POST /v1/forums", self.api.call(mod, "POST", "/v1/forums",
                                                  fixtures.forum_body())),
                ("approve-batch", self.api.call(mod, "POST", path + "/approve-batch",
                                                {"matches": []})),
                ("approve a match", self.api.call(mod, "POST",
                                                  "/v1/matches/mat_0000000000000000000000/approve")),
                ("POST /v1/accounts", self.api.call(mod, "POST", "/v1/accounts",
                                                    fixtures.account_body("village"))),
                ("PATCH /v1/accounts", self.api.call(mod, "PATCH", "/v1/accounts/" + v.id,
                                                     {"suspended": True})),
                ("POST /v1/tokens", self.api.call(mod, "POST", "/v1/tokens",
                                                  {"account_id": v.id})),
                ("DELETE /v1/tokens", self.api.call(mod, "DELETE", "/v1/tokens/" + spare["id"])),
        ]:
            with self.subTest(what):
                self.assert401(resp)
        self.assertEqual(dump_diff(before, dump_all(self.rc)), "")

    def test_session_signed_out_through_another_node(self):
        v = self.api.make_actor(self.admin, "village")
        origin = "http://127.0.0.1:%d" % self.daemon.port
        resp = self.daemon.request("POST", "/v1/sessions", body={"code": v.token},
                                   headers={"X-Craftmatch": "1", "Origin": origin})
        self.assertEqual(resp[0], 201, resp[2])
        cookie = resp[1]["Set-Cookie"].split(";")[0]
        app = {"X-Craftmatch": "1", "Origin": origin, "Cookie": cookie}
        for _ in range(2):  # the second on the session as seen by the first
            resp = self.daemon.request("POST", "/v1/needs", body=fixtures.need_body(),
                                       headers=app)
            self.assertEqual(resp[0], 201, resp[2])
        # The code the session was made from is revoked through node B.
        resp = self.api_b.call(self.admin, "DELETE", "/v1/tokens/" + v.token_id)
        self.assertEqual(resp[0], 204, resp[2])
        before = dump_all(self.rc)
        resp = self.daemon.request("POST", "/v1/needs", body=fixtures.need_body(), headers=app)
        self.assert401(resp)
        self.assertIn("Max-Age=0", resp[1].get("Set-Cookie", ""))
        self.assertEqual(dump_diff(before, dump_all(self.rc)), "")


if __name__ == "__main__":
    harness.main()
