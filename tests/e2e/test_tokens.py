"""
e2e: bearer tokens — issuing (POST /v1/tokens), listing, revoking, and
refusing bad credentials.

Proves: any account issues a token for itself and an organiser (admin, or a
moderator for villages and suppliers in its scope) for an account it
manages; the secret is shown once, in the 201, and authenticates as that
account; GET /v1/tokens lists the caller's own tokens (which one is
"current") and never a secret or its hash, with ?account_id= those of an
account the caller manages; DELETE revokes, and the very next request with
the revoked secret gets 401; a token of someone else is a 404 (it is not
even said to exist) unless the caller manages its account (an admin, a
moderator in scope), and stays valid; secrets never reach Redis in clear — not in any key or value, not in
the AOF on disk — nor the server log (Redis holds their SHA-256); malformed
or unknown credentials get 401 with WWW-Authenticate: Bearer.
"""
import json

import fixtures
import harness


class TokensTest(fixtures.ApiTestCase):

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        api, admin = cls.api, cls.admin
        cls.mod_hn = api.make_actor(admin, "moderator", "moderator-HN",
                                    scope={"provinces": ["HN"]})
        cls.mod_nb = api.make_actor(admin, "moderator", "moderator-NB",
                                    scope={"provinces": ["NB"]})
        cls.village_hp = api.make_actor(admin, "village", "village-HP", province="HP")

    def fresh_village(self):
        return self.api.make_actor(self.admin, "village")

    def me(self, token):
        return self.api.call(token, "GET", "/v1/me")

    def assertIsAccount(self, token, account_id):
        status, _, doc = self.me(token)
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["id"], account_id)

    def assertTokenBody(self, resp, account_id, name=""):
        status, headers, body = resp
        self.assertEqual(status, 201, body)
        self.assertRegex(body["id"], fixtures.ID_RE["tok"])
        self.assertEqual(body["account_id"], account_id)
        self.assertEqual(body["name"], name)
        self.assertRegex(body["created_at"], fixtures.TIME_RE)
        # "cm_" + 32 random bytes in unpadded base64url
        self.assertRegex(body["token"], r"^cm_[A-Za-z0-9_-]{43}$")
        self.assertEqual(headers.get("Location"), "/v1/tokens/" + body["id"])
        return body

    # -- issuing --

    def test_token_for_self(self):
        v = self.fresh_village()
        t = self.assertTokenBody(self.api.call(v, "POST", "/v1/tokens", {"name": "điện thoại"}),
                                 v.id, "điện thoại")
        self.assertNotEqual(t["token"], v.token)
        self.assertIsAccount(t["token"], v.id)
        self.assertIsAccount(v.token, v.id)  # the first still works
        # naming yourself explicitly is the same thing
        t2 = self.assertTokenBody(self.api.call(v, "POST", "/v1/tokens", {"account_id": v.id}),
                                  v.id)
        self.assertIsAccount(t2["token"], v.id)
        self.assertEqual(len({v.token, t["token"], t2["token"]}), 3)
        ev = [f for _, f in fixtures.events(self.rc)
              if f.get("type") == "token.created" and f.get("token") == t["id"]]
        self.assertEqual(len(ev), 1, ev)
        self.assertEqual((ev[0]["account"], ev[0]["by"]), (v.id, v.id))

    def test_token_for_managed_account(self):
        v = self.api.create_account(self.admin, "village")  # HN
        t = self.assertTokenBody(self.api.call(self.mod_hn, "POST", "/v1/tokens",
                                               {"account_id": v["id"], "name": "cấp tại hội chợ"}),
                                 v["id"], "cấp tại hội chợ")
        self.assertIsAccount(t["token"], v["id"])
        t2 = self.assertTokenBody(self.api.call(self.admin, "POST", "/v1/tokens",
                                                {"account_id": v["id"]}), v["id"])
        self.assertIsAccount(t2["token"], v["id"])
        # an admin issues for a moderator (the organiser's own first token)
        self.assertTokenBody(self.api.call(self.admin, "POST", "/v1/tokens",
                                           {"account_id": self.mod_hn.id}), self.mod_hn.id)

    def test_forums_only_moderator_issues_only_for_its_forums(self):
        """A moderator whose scope lists only forums cannot mint a token for a
        village or supplier of any province and act as it: only for accounts
        registered for its forums."""
        forum = "dien-dan-" + fixtures.unique("tk")
        mod = self.api.make_actor(self.admin, "moderator", "moderator-forum",
                                  scope={"forums": [forum]})
        # a village of Hà Nội, a supplier of Ninh Bình, a village registered for another forum
        makers = [lambda: self.api.create_account(self.admin, "village"),
                  lambda: self.api.create_account(self.admin, "supplier", province="NB"),
                  lambda: self.api.create_account(self.admin, "village", province="HP",
                                                  forum="dien-dan-khac")]
        for make in makers:
            t = make()
            before = self.rc.execute("XLEN", "cm:events")
            with self.subTest(target=t["name"]):
                self.assertProblemResp(self.api.call(mod, "POST", "/v1/tokens",
                                                     {"account_id": t["id"]}), 403)
                self.assertProblemResp(self.api.call(
                    mod, "GET", "/v1/tokens?account_id=" + t["id"]), 403)
                seen = self.api.call(mod, "GET", "/v1/accounts/" + t["id"])[2]
                self.assertNotIn("contact", seen)
                self.assertEqual(self.rc.execute("SCARD", "cm:account:%s:tokens" % t["id"]), 0)
                self.assertEqual(self.rc.execute("XLEN", "cm:events"), before,
                                 "refusals wrote events")
        # an account registered for its forum, in any province: it acts for it
        mine = self.api.create_account(self.admin, "supplier", province="NB", forum=forum)
        t = self.assertTokenBody(self.api.call(mod, "POST", "/v1/tokens",
                                               {"account_id": mine["id"]}), mine["id"])
        self.assertIsAccount(t["token"], mine["id"])

    def test_issuing_for_others_refused(self):
        v = self.fresh_village()
        other = self.fresh_village()
        refused = [
            (self.mod_hn, self.village_hp.id, 403),   # out of the moderator's scope
            (self.mod_hn, self.admin.id, 403),        # not a village or supplier
            (self.mod_hn, self.api.make_actor(self.admin, "moderator").id, 403),
            (v, other.id, 403),                       # villages manage no one
            (v, self.admin.id, 403),
            (self.admin, "acc_00000000000000000000", 404),
        ]
        before = self.rc.execute("XLEN", "cm:events")
        for actor, target, status in refused:
            with self.subTest(actor=actor.label, target=target):
                self.assertProblemResp(self.api.call(actor, "POST", "/v1/tokens",
                                                     {"account_id": target}), status)
        self.assert401(self.api.call(None, "POST", "/v1/tokens", {"account_id": v.id}))
        for body, fields in (({"account_id": "nope"}, ["account_id"]),
                             ({"account_id": 5}, ["account_id"]),
                             ({"name": "x" * 81}, ["name"]),
                             ({"secret": "mine", "scopes": []}, ["secret", "scopes"])):
            with self.subTest(body=body):
                self.assertValidation(self.api.call(self.admin, "POST", "/v1/tokens", body),
                                      fields)
        self.assertEqual(self.rc.execute("XLEN", "cm:events"), before, "refusals wrote events")
        self.assertEqual(self.token_ids(other), {other.token_id})

    # -- listing --

    def token_ids(self, actor):
        status, _, body = self.api.call(actor, "GET", "/v1/tokens")
        self.assertEqual(status, 200, body)
        return {t["id"] for t in body["items"]}

    def test_list_without_secrets(self):
        v = self.fresh_village()
        extra = [self.api.issue_token(v, name="máy %d" % i) for i in range(2)]
        secrets = [v.token] + [t["token"] for t in extra]
        status, _, raw = self.api.call_raw(v, "GET", "/v1/tokens")
        self.assertEqual(status, 200, raw)
        body = json.loads(raw)
        items = body["items"]
        self.assertEqual({t["id"] for t in items}, {v.token_id} | {t["id"] for t in extra})
        for t in items:
            self.assertEqual(set(t), {"id", "name", "created_at", "current"}, t)
            self.assertRegex(t["created_at"], fixtures.TIME_RE)
        self.assertEqual([t["id"] for t in items if t["current"]], [v.token_id])
        names = {t["id"]: t["name"] for t in items}
        for t in extra:
            self.assertEqual(names[t["id"]], t["name"])
        text = raw.decode("utf-8")
        for s in secrets:
            self.assertNotIn(s, text)
            self.assertNotIn(fixtures.sha256_hex(s), text)
        # asked with another of its tokens, that one is current
        cur = self.api.call(extra[0]["token"], "GET", "/v1/tokens")[2]["items"]
        self.assertEqual([t["id"] for t in cur if t["current"]], [extra[0]["id"]])
        # nobody sees another account's tokens, admins included
        self.assertNotIn(v.token_id, self.token_ids(self.admin))
        self.assertNotIn(v.token_id, self.token_ids(self.mod_hn))

    # -- revoking --

    def test_revoke(self):
        v = self.fresh_village()
        t2 = self.api.issue_token(v, name="cũ")
        self.assertIsAccount(t2["token"], v.id)
        mark = fixtures.last_event_id(self.rc)
        resp = self.api.call(v, "DELETE", "/v1/tokens/" + t2["id"])
        self.assertEqual(resp[0], 204, resp[2])
        self.assertEqual(resp[2], "")
        self.assert401(self.me(t2["token"]))           # the very next request
        self.assertIsAccount(v.token, v.id)            # the other one is untouched
        self.assertEqual(self.token_ids(v), {v.token_id})
        self.assertProblemResp(self.api.call(v, "DELETE", "/v1/tokens/" + t2["id"]), 404)
        ev = [f for _, f in fixtures.events_after(self.rc, mark)
              if f.get("token") == t2["id"]]
        self.assertEqual([f["type"] for f in ev], ["token.revoked"])
        self.assertEqual(self.rc.execute("EXISTS", "cm:tokenid:" + t2["id"],
                                         "cm:token:" + fixtures.sha256_hex(t2["token"])), 0)

    def test_revoke_the_token_in_use(self):
        v = self.fresh_village()
        spare = self.api.issue_token(v)
        resp = self.api.call(v, "DELETE", "/v1/tokens/" + v.token_id)
        self.assertEqual(resp[0], 204, resp[2])
        self.assert401(self.me(v.token))
        self.assert401(self.api.call(v, "GET", "/v1/tokens"))
        self.assertIsAccount(spare["token"], v.id)

    def test_revoke_someone_elses_404(self):
        owner = self.fresh_village()
        other = self.fresh_village()
        before = self.rc.execute("XLEN", "cm:events")
        for actor in (other, self.mod_nb):  # neither manages a village of Hà Nội
            with self.subTest(actor=actor.label):
                self.assertProblemResp(
                    self.api.call(actor, "DELETE", "/v1/tokens/" + owner.token_id), 404)
        for path in ("/v1/tokens/tok_00000000000000000000", "/v1/tokens/nope",
                     "/v1/tokens/" + owner.id):
            with self.subTest(path=path):
                self.assertProblemResp(self.api.call(other, "DELETE", path), 404)
        self.assertEqual(self.rc.execute("XLEN", "cm:events"), before)
        self.assertIsAccount(owner.token, owner.id)
        self.assert401(self.api.call(None, "DELETE", "/v1/tokens/" + owner.token_id))
        # the moderator of Hà Nội manages the village: it may revoke its tokens
        spare = self.api.issue_token(owner)
        resp = self.api.call(self.mod_hn, "DELETE", "/v1/tokens/" + spare["id"])
        self.assertEqual(resp[0], 204, resp[2])
        self.assert401(self.me(spare["token"]))
        # an admin may revoke any token
        resp = self.api.call(self.admin, "DELETE", "/v1/tokens/" + owner.token_id)
        self.assertEqual(resp[0], 204, resp[2])
        self.assert401(self.me(owner.token))

    def test_list_tokens_of_a_managed_account(self):
        v = self.fresh_village()  # in Hà Nội
        extra = self.api.issue_token(v, name="điện thoại")
        want = {v.token_id, extra["id"]}
        for actor in (self.admin, self.mod_hn):
            with self.subTest(actor=actor.label):
                status, _, body = self.api.call(actor, "GET", "/v1/tokens?account_id=" + v.id)
                self.assertEqual(status, 200, body)
                self.assertEqual({t["id"] for t in body["items"]}, want)
                self.assertEqual([t for t in body["items"] if t["current"]], [])
                self.assertNotIn(extra["token"], json.dumps(body))
        for actor in (self.mod_nb, self.village_hp):
            with self.subTest(actor=actor.label):
                self.assertProblemResp(
                    self.api.call(actor, "GET", "/v1/tokens?account_id=" + v.id), 403)
        self.assertProblemResp(self.api.call(
            self.admin, "GET", "/v1/tokens?account_id=acc_00000000000000000000"), 404)
        self.assertValidation(self.api.call(self.admin, "GET", "/v1/tokens?account_id=nope"),
                              ["account_id"])
        self.assertValidation(self.api.call(self.admin, "GET", "/v1/tokens?owner=me"),
                              ["owner"])
        # its own id is its own list
        self.assertEqual(self.token_ids(v), want)
        status, _, body = self.api.call(v, "GET", "/v1/tokens?account_id=" + v.id)
        self.assertEqual({t["id"] for t in body["items"]}, want)

    # -- secrecy --

    def test_secrets_never_stored_or_logged_in_clear(self):
        v = self.fresh_village()
        by_mod = self.api.call(self.mod_hn, "POST", "/v1/tokens", {"account_id": v.id})[2]
        by_self = self.api.issue_token(v, name="tự cấp")
        revoked = self.api.issue_token(v)
        self.assertEqual(self.api.call(v, "DELETE", "/v1/tokens/" + revoked["id"])[0], 204)
        secrets = [self.admin.token, v.token, by_mod["token"], by_self["token"],
                   revoked["token"]]
        # use them: good requests, and refused ones that quote them
        for s in secrets[:4]:
            self.assertEqual(self.me(s)[0], 200)
        self.assert401(self.me(revoked["token"]))
        self.assert401(self.me(by_self["token"] + "x"))
        self.assert401(self.api.call(None, "GET", "/v1/me",
                                     headers={"Authorization": "Basic " + by_self["token"]}))

        with harness.RedisClient(self.redis.port, decode=False) as raw:
            for s in secrets:
                with self.subTest(secret=s[:8]):
                    self.assertEqual(fixtures.scan_all(raw, s.encode()), [],
                                     "a token secret is stored in clear")
                    # nor any long piece of it
                    self.assertEqual(fixtures.scan_all(raw, s[3:27].encode()), [])
            # positive control: what Redis does keep is the SHA-256 of live secrets
            for s in secrets[:4]:
                self.assertEqual(raw.execute("EXISTS", "cm:token:" + fixtures.sha256_hex(s)), 1)
        # not in the AOF either (a secret passed to Redis would be written there)
        for s in secrets:
            self.assertEqual(fixtures.files_containing(self.redis.dir, s.encode()), [])
        self.assertTrue(fixtures.files_containing(self.redis.dir, v.id.encode()),
                        "control: the AOF under %s holds nothing" % self.redis.dir)
        log = self.daemon.log_text()
        self.assertIn("/v1/me", log, "control: the log records requests")
        for s in secrets:
            self.assertNotIn(s, log, "a token secret is in the server log")
            self.assertNotIn(s[3:27], log)

    # -- bad credentials --

    def test_malformed_authorization_401(self):
        v = self.fresh_village()
        good = v.token
        revoked = self.api.issue_token(v)
        self.assertEqual(self.api.call(v, "DELETE", "/v1/tokens/" + revoked["id"])[0], 204)
        cases = [
            None,                                   # no header at all
            "",
            "Bearer",
            "Bearer ",
            "Bearer    ",
            good,                                   # no scheme
            "Basic " + good,
            "Basic dXNlcjpwYXNz",
            "Token " + good,
            "Bearer" + good,                        # no space
            "Bearer\t" + good,
            "Bearer " + good + "x",
            "Bearer " + good[:-1],
            "Bearer " + good.upper(),
            "Bearer " + good + " " + good,
            "Bearer short",
            "Bearer cm_" + "A" * 43,                # well-formed, unknown
            "Bearer " + "x" * 4000,
            "Bearer " + revoked["token"],
            "Bearer " + fixtures.sha256_hex(good),  # the stored hash is not a credential
        ]
        for path in ("/v1/me", "/v1/tokens", "/v1/listings"):
            for h in cases:
                with self.subTest(path=path, authorization=(h or "<none>")[:30]):
                    headers = {} if h is None else {"Authorization": h}
                    resp = self.api.call(None, "GET", path, headers=headers)
                    self.assert401(resp)
                    self.assertNotIn("contact", resp[2])
        # control: the scheme is case-insensitive (RFC 9110 11.1), the token is not
        self.assertEqual(self.api.call(None, "GET", "/v1/me",
                                       headers={"Authorization": "bearer " + good})[0], 200)
        self.assertEqual(self.api.call(None, "GET", "/v1/me",
                                       headers={"Authorization": "Bearer " + good})[0], 200)
        # public routes need nothing, and a bad token does not break them
        self.assertEqual(self.api.call(None, "GET", "/v1/materials",
                                       headers={"Authorization": "Bearer junk"})[0], 200)


if __name__ == "__main__":
    harness.main()
