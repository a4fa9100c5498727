"""
e2e: the organiser's desk — GET /v1/accounts (search) and PATCH
/v1/accounts/{id} (contact, suspend, reactivate).

Proves: the search folds accents ("Bat Trang" finds "Bát Tràng"); paging
with a small limit lists every account the caller may manage exactly once,
against an oracle read straight from Redis (cm:accounts and each account's
record, with account_may_manage's rule restated); a moderator sees only the
villages and suppliers of its scope, with their contacts; villages and
suppliers get 403. A PATCH changes the contact (ETag/If-Match versions, 412
on a stale version); suspending refuses the account's token at once (401
on the next request) and its browser session, closes its open listings with
the reason account_suspended and cancels their unconfirmed matches, with
one account.suspended event; reactivating lets the token in again and
reopens nothing. Bad input gets problem+json and changes nothing in Redis.
"""
import fixtures
import harness
import matchkit
from stored import dump_all, events_after, last_event_id, listing_events, match_events


class AccountsDeskTest(matchkit.MatchHelpers, fixtures.ApiTestCase):

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        api, admin = cls.api, cls.admin
        cls.mod_hn = api.make_actor(admin, "moderator", "moderator-HN",
                                    scope={"provinces": ["HN"]})
        cls.mod_forum = api.make_actor(admin, "moderator", "moderator-forum",
                                       scope={"forums": ["hoi-cho-desk"]})
        # A mix to search and page over: villages of Hà Nội (one with
        # accents in its name), suppliers of Hải Phòng, a moderator.
        cls.accounts = []
        for i in range(7):
            cls.accounts.append(api.create_account(admin, "village", province="HN"))
        for i in range(5):
            cls.accounts.append(api.create_account(admin, "supplier", province="HP"))
        cls.bat_trang = api.create_account(admin, "village", province="HN",
                                           name="Làng gốm Bát Tràng Đặc Biệt")

    def get(self, actor, **params):
        return self.api.call(actor, "GET", "/v1/accounts" + fixtures.query(params))

    def all_pages(self, actor, **params):
        ids, cursor, pages = [], None, 0
        while True:
            p = dict(params)
            if cursor:
                p["cursor"] = cursor
            status, _, body = self.get(actor, **p)
            self.assertEqual(status, 200, body)
            ids.extend(a["id"] for a in body["items"])
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                return ids, pages

    def oracle(self, viewer):
        """The accounts viewer may manage, newest first, straight from Redis."""
        out = []
        for aid in self.rc.execute("ZRANGE", "cm:accounts", 0, -1, "REV"):
            h = dict(zip(*[iter(self.rc.execute("HGETALL", "cm:account:" + aid))] * 2))
            if viewer.role == "admin":
                out.append(aid)
                continue
            scope = viewer.doc.get("scope", {})
            if h["role"] not in ("village", "supplier"):
                continue
            if h.get("province") in scope.get("provinces", []) or \
                    h.get("forum") in scope.get("forums", []):
                out.append(aid)
        return out

    # -- search --

    def test_search_folds_accents(self):
        for q in ("Bat Trang dac", "bát tràng", "BAT TRANG DAC BIET"):
            with self.subTest(q=q):
                status, _, body = self.get(self.admin, q=q)
                self.assertEqual(status, 200, body)
                ids = [a["id"] for a in body["items"]]
                self.assertIn(self.bat_trang["id"], ids)
        status, _, body = self.get(self.admin, q="Bat Trang Dac Biet")
        self.assertEqual([a["id"] for a in body["items"]], [self.bat_trang["id"]])

    def test_paging_matches_a_scan_of_redis(self):
        for viewer in (self.admin, self.mod_hn, self.mod_forum):
            with self.subTest(viewer=viewer.label):
                ids, pages = self.all_pages(viewer, limit=2)
                self.assertEqual(len(ids), len(set(ids)), "a duplicate across pages")
                self.assertEqual(ids, self.oracle(viewer))
        ids, pages = self.all_pages(self.admin, limit=2)
        self.assertGreater(pages, 3)

    def test_filters(self):
        ids, _ = self.all_pages(self.admin, role="supplier", limit=3)
        want = [a for a in self.oracle(self.admin)
                if self.rc.execute("HGET", "cm:account:" + a, "role") == "supplier"]
        self.assertEqual(ids, want)
        self.assertGreaterEqual(len(ids), 5)
        ids, _ = self.all_pages(self.admin, province="Hải Phòng", role="supplier")
        self.assertEqual(ids, want)

    def test_moderator_sees_its_scope_with_contacts(self):
        status, _, body = self.get(self.mod_hn, limit=100)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["items"])
        for a in body["items"]:
            self.assertIn(a["role"], ("village", "supplier"))
            self.assertEqual(a["province"]["code"], "HN")
            self.assertIn("contact", a)
        self.assertEqual(self.all_pages(self.mod_forum)[0], [])

    def test_villages_and_suppliers_are_refused(self):
        v = self.party("village")
        s = self.party("supplier", "HP")
        for actor in (v, s):
            resp = self.get(actor)
            self.assertProblemResp(resp, 403)
            resp = self.api.call(actor, "PATCH", "/v1/accounts/" + v.id, {"suspended": True})
            self.assertProblemResp(resp, 403)

    def test_bad_queries(self):
        for params, field in (({"role": "king"}, "role"), ({"province": "Atlantis"}, "province"),
                              ({"q": "!!!"}, "q"), ({"limit": "0"}, "limit"),
                              ({"cursor": "x"}, "cursor"), ({"colour": "red"}, "colour")):
            with self.subTest(params=params):
                self.assertValidation(self.get(self.admin, **params), [field])

    # -- PATCH --

    def test_contact_change_with_versions(self):
        acc = self.api.create_account(self.admin, "village", province="HN")
        path = "/v1/accounts/" + acc["id"]
        mark = last_event_id(self.rc)
        status, headers, doc = self.api.call(self.mod_hn, "PATCH", path,
                                             {"contact": {"phone": "0912 345 678"}},
                                             {"If-Match": '"1"'})
        self.assertEqual(status, 200, doc)
        self.assertEqual(headers.get("ETag"), '"2"')
        self.assertEqual(doc["contact"], {"phone": "0912 345 678"})
        self.assertEqual(doc["version"], 2)
        evs = [f for _, f in events_after(self.rc, mark) if f.get("account") == acc["id"]]
        self.assertEqual([e["type"] for e in evs], ["account.updated"])
        self.assertEqual(evs[0]["by"], self.mod_hn.id)
        # A stale version is refused and changes nothing.
        before = dump_all(self.rc)
        resp = self.api.call(self.mod_hn, "PATCH", path, {"contact": {"phone": "0900000000"}},
                             {"If-Match": '"1"'})
        self.assertProblemResp(resp, 412)
        self.assertEqual(dump_all(self.rc), before)
        status, _, got = self.api.call(self.admin, "GET", path)
        self.assertEqual(got["contact"], {"phone": "0912 345 678"})

    def test_bad_patches_change_nothing(self):
        acc = self.api.create_account(self.admin, "village", province="HN")
        path = "/v1/accounts/" + acc["id"]
        hp = self.api.create_account(self.admin, "supplier", province="HP")
        cases = (
            ({"suspended": "yes"}, ["suspended"]),
            ({"contact": {"phone": "12"}}, ["contact.phone"]),
            ({"name": "x"}, ["name", "body"]),
            ({}, ["body"]),
        )
        for body, fields in cases:
            with self.subTest(body=body):
                before = dump_all(self.rc)
                self.assertValidation(self.api.call(self.admin, "PATCH", path, body), fields)
                self.assertEqual(dump_all(self.rc), before)
        before = dump_all(self.rc)
        self.assertValidation(self.api.call(self.admin, "PATCH", "/v1/accounts/" + self.admin.id,
                                            {"suspended": True}), ["suspended"])
        self.assertProblemResp(self.api.call(self.mod_hn, "PATCH", "/v1/accounts/" + hp["id"],
                                             {"suspended": True}), 403)
        self.assertProblemResp(self.api.call(self.admin, "PATCH",
                                             "/v1/accounts/acc_0000000000000000000z",
                                             {"suspended": True}), 404)
        self.assertEqual(dump_all(self.rc), before)

    def test_suspension_refuses_credentials_and_closes_listings(self):
        village, (s1,), (oa,), need = self.world("clay", [(20, 1500000)])
        (m,) = self.wait_for_matches(need["id"], 1, actor=self.mod_hn)
        other = self.need(village, "glaze_ash", 3)
        # A browser session of the village, made from a second code.
        code = self.api.issue_token(self.mod_hn, village.id)["token"]
        resp = self.daemon.request("POST", "/v1/sessions", body={"code": code},
                                   headers={"X-Craftmatch": "1",
                                            "Origin": "http://127.0.0.1:%d" % self.daemon.port})
        self.assertEqual(resp[0], 201, resp[2])
        cookie = resp[1]["Set-Cookie"].split(";")[0]
        self.assertEqual(self.api.call(village, "GET", "/v1/me")[0], 200)
        self.assertEqual(self.daemon.request("GET", "/v1/me", headers={"Cookie": cookie})[0],
                         200)

        mark = last_event_id(self.rc)
        status, _, doc = self.api.call(self.mod_hn, "PATCH", "/v1/accounts/" + village.id,
                                       {"suspended": True})
        self.assertEqual(status, 200, doc)
        self.assertIs(doc["suspended"], True)
        # Refused at once: the token and the session.
        self.assert401(self.api.call(village, "GET", "/v1/me"))
        resp = self.daemon.request("GET", "/v1/me", headers={"Cookie": cookie})
        self.assertProblem(resp[0], resp[1], resp[2], 401)
        # Its open listings are closed, their unconfirmed matches cancelled.
        for lid in (need["id"], other["id"]):
            self.assertEqual(self.rc.execute("HGET", "cm:listing:" + lid, "status"), "closed")
            self.assertEqual([t for t, _ in listing_events(self.rc, lid, mark)],
                             ["listing.closed"])
        self.assertEqual(self.rc.execute("HGET", "cm:match:" + m["id"], "state"), "cancelled")
        evs = match_events(self.rc, m["id"], mark)
        self.assertEqual([f["type"] for _, f in evs], ["match.cancelled"])
        self.assertEqual(self.rc.execute("HGET", "cm:match:" + m["id"], "reason"),
                         "account_suspended")
        acc_evs = [f for _, f in events_after(self.rc, mark) if f.get("account") == village.id
                   and f["type"].startswith("account.")]
        self.assertEqual([e["type"] for e in acc_evs], ["account.suspended"])
        self.assertEqual(acc_evs[0]["closed_listings"], "2")
        # Listed as suspended.
        ids = {a["id"]: a for a in self.get(self.mod_hn, limit=100)[2]["items"]}
        self.assertIs(ids[village.id]["suspended"], True)

        # Reactivation lets the token in again and reopens nothing.
        mark = last_event_id(self.rc)
        status, _, doc = self.api.call(self.admin, "PATCH", "/v1/accounts/" + village.id,
                                       {"suspended": False})
        self.assertEqual(status, 200, doc)
        self.assertNotIn("suspended", doc)
        self.assertEqual(self.api.call(village, "GET", "/v1/me")[0], 200)
        self.assertEqual(self.rc.execute("HGET", "cm:listing:" + need["id"], "status"), "closed")
        self.assertEqual([f["type"] for _, f in events_after(self.rc, mark)
                          if f.get("account") == village.id], ["account.reactivated"])

    def test_moderator_revokes_the_codes_of_its_accounts(self):
        v = self.party("village")
        tok = self.api.issue_token(self.mod_hn, v.id)
        status, _, body = self.api.call(self.mod_hn, "GET", "/v1/tokens?account_id=" + v.id)
        self.assertEqual(status, 200, body)
        self.assertIn(tok["id"], [t["id"] for t in body["items"]])
        self.assertEqual(self.api.call(self.mod_hn, "DELETE", "/v1/tokens/" + tok["id"])[0], 204)
        self.assert401(self.api.call(tok["token"], "GET", "/v1/me"))
        other = self.party("supplier", "HP")
        self.assertProblemResp(self.api.call(self.mod_hn, "DELETE",
                                             "/v1/tokens/" + other.token_id), 404)


if __name__ == "__main__":
    harness.main()
