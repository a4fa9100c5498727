"""
e2e: accounts — creating them (POST /v1/accounts) and reading them.

Proves: an admin creates every role and the record reads back the same
(Location, id form, province as {code, name}, no internal fields); the
account's token authenticates as it (GET /v1/me). Validation lists every bad
field at once, with field names, in one problem+json; an unknown field, a
duplicate JSON key, a body that is not a JSON object, invalid UTF-8 and a
wrong Content-Type (415) are refused — and a refused request creates nothing
(cm:accounts and cm:events unchanged, invariant 7). Former province names
("Hải Dương", "Hà Tây", "Nam Định", "Yên Bái") are accepted and stored as the
current province's code. Contact details show to the account itself, admins
and moderators whose scope covers the account's province, and to no one else.
Moderators create only villages and suppliers in their scope (403 otherwise):
of their provinces, or registered for one of their forums ("forum"), so a
moderator whose scope lists only forums registers nobody else; villages and
suppliers create nothing. Idempotency-Key: a retry returns the
first account and creates nothing; the same key with another body is a 409;
keys are per caller.
"""
import json

import fixtures
import harness

ACC = "cm:accounts"


class AccountsTest(fixtures.ApiTestCase):

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        api, admin = cls.api, cls.admin
        cls.mod_hn = api.make_actor(admin, "moderator", "moderator-HN",
                                    scope={"provinces": ["HN"]})
        cls.mod_nb = api.make_actor(admin, "moderator", "moderator-NB",
                                    scope={"provinces": ["Ninh Bình"]})
        cls.village = api.make_actor(admin, "village", "village-HN")
        cls.other_village = api.make_actor(admin, "village", "other-village-HN")
        cls.supplier = api.make_actor(admin, "supplier", "supplier-HN", province="HN")

    def n_accounts(self):
        return self.rc.execute("ZCARD", ACC)

    def stream_len(self):
        return self.rc.execute("XLEN", "cm:events")

    def assertNothingCreated(self, before_accounts, before_events):
        self.assertEqual(self.n_accounts(), before_accounts, "an account was created")
        self.assertEqual(self.stream_len(), before_events, "an event was appended")

    def post(self, actor, body, headers=None):
        return self.api.call(actor, "POST", "/v1/accounts", body, headers)

    # -- creation --

    def test_admin_creates_each_role(self):
        for role in ("village", "supplier", "moderator", "admin"):
            with self.subTest(role=role):
                before = self.n_accounts()
                body = fixtures.account_body(role)
                status, headers, doc = self.post(self.admin, body)
                self.assertEqual(status, 201, doc)
                self.assertEqual(harness.media_type(headers), "application/json")
                self.assertRegex(doc["id"], fixtures.ID_RE["acc"])
                self.assertEqual(headers.get("Location"), "/v1/accounts/" + doc["id"])
                self.assertEqual(doc["role"], role)
                self.assertEqual(doc["name"], body["name"])
                self.assertRegex(doc["created_at"], fixtures.TIME_RE)
                self.assertNotIn("created_by", doc)  # internal
                if role in ("village", "supplier"):
                    expected = {"village": "HN", "supplier": "HP"}[role]
                    self.assertEqual(doc["province"]["code"], expected)
                    self.assertIsInstance(doc["province"]["name"], str)
                    self.assertEqual(doc["commune"], body["commune"])
                if "contact" in body:
                    self.assertEqual(doc["contact"], body["contact"])  # admin sees it
                if role == "moderator":
                    self.assertEqual(doc["scope"], {"provinces": ["HN"], "forums": []})
                self.assertEqual(self.n_accounts(), before + 1)
                self.assertIsNotNone(self.rc.execute("ZSCORE", ACC, doc["id"]))
                created = [f for _, f in fixtures.events(self.rc)
                           if f.get("type") == "account.created" and f.get("account") == doc["id"]]
                self.assertEqual(len(created), 1, created)
                self.assertEqual(created[0]["role"], role)
                self.assertEqual(created[0]["by"], self.admin.id)

                # reads back the same, and its token is the account
                got = self.api.call(self.admin, "GET", "/v1/accounts/" + doc["id"])
                self.assertEqual(got[0], 200, got[2])
                self.assertEqual(got[2], doc)
                tok = self.api.issue_token(self.admin, doc["id"])
                me = self.api.call(tok["token"], "GET", "/v1/me")
                self.assertEqual(me[0], 200, me[2])
                self.assertEqual(me[2]["id"], doc["id"])
                self.assertEqual(me[2]["role"], role)

    def test_strings_are_trimmed_and_nfc(self):
        # "Bát" typed with a combining acute (NFD) is stored as the NFC form.
        doc = self.api.create_account(self.admin, "village", name="  Ba\u0301t Tra\u0300ng  ")
        self.assertEqual(doc["name"], "B\u00e1t Tr\u00e0ng")

    # -- validation --

    def test_every_bad_field_listed_at_once(self):
        before = self.n_accounts(), self.stream_len()
        body = {"role": "village", "name": "x" * 121, "province": "Atlantis", "commune": 7,
                "contact": {"phone": "gọi tôi", "email": "not-an-email", "fax": "1"},
                "scope": {"provinces": ["HN"]}, "website": "https://example.vn"}
        resp = self.post(self.admin, body)
        self.assertValidation(resp, ["name", "province", "commune", "contact.phone",
                                     "contact.email", "contact.fax", "scope", "website"])
        self.assertIn("fields are not valid", resp[2]["detail"])
        self.assertNothingCreated(*before)

    def test_bad_role_and_missing_fields(self):
        before = self.n_accounts(), self.stream_len()
        cases = [
            ({}, ["role", "name"]),
            ({"role": "chief", "name": "A"}, ["role"]),
            ({"role": 3, "name": "A"}, ["role"]),
            ({"role": "village", "name": "A"}, ["province"]),
            ({"role": "supplier", "name": "   ", "province": "HN"}, ["name"]),
            ({"role": "moderator", "name": "M"}, ["scope"]),
            ({"role": "moderator", "name": "M", "scope": {"provinces": []}}, ["scope"]),
            ({"role": "moderator", "name": "M",
              "scope": {"provinces": ["Atlantis"], "forums": ["Bad Forum"]}},
             ["scope.provinces", "scope.forums"]),
            ({"role": "village", "name": "A", "province": "HN", "contact": "0912345678"},
             ["contact"]),
            ({"role": "village", "name": "A", "province": "HN",
              "contact": {"phone": "12"}}, ["contact.phone"]),
            ({"role": "village", "name": "A\u0007", "province": "HN"}, ["name"]),
        ]
        for body, fields in cases:
            with self.subTest(body=body):
                self.assertValidation(self.post(self.admin, body), fields)
        self.assertNothingCreated(*before)

    def test_unknown_field(self):
        before = self.n_accounts(), self.stream_len()
        resp = self.post(self.admin, fixtures.account_body("village", website="x"))
        self.assertValidation(resp, ["website"])
        self.assertEqual(resp[2]["errors"][0]["message"], "unknown field")
        body = fixtures.account_body("village")
        body["contact"] = dict(body["contact"], zalo="0912")
        self.assertValidation(self.post(self.admin, body), ["contact.zalo"])
        self.assertNothingCreated(*before)

    def raw_post(self, data, content_type="application/json", actor=None):
        headers = {"Content-Type": content_type} if content_type is not None else {}
        return self.api.call(actor or self.admin, "POST", "/v1/accounts", data, headers)

    def test_duplicate_json_key_400(self):
        before = self.n_accounts(), self.stream_len()
        for data in (b'{"role":"village","name":"A","name":"B","province":"HN"}',
                     b'{"role":"village","name":"A","province":"HN","province":"HP"}',
                     b'{"role":"village","name":"A","province":"HN",'
                     b'"contact":{"phone":"0912345678","phone":"0987654321"}}'):
            with self.subTest(data=data):
                self.assertProblemResp(self.raw_post(data), 400)
        self.assertNothingCreated(*before)

    def test_body_not_a_json_object_400(self):
        before = self.n_accounts(), self.stream_len()
        for data in (b'[{"role":"village","name":"A","province":"HN"}]', b'"village"', b"42",
                     b"null", b"true", b"", b"{", b'{"role":"village",}', b"{'role':'x'}",
                     b'{"role":"village","name":"A","province":"HN"} {}'):
            with self.subTest(data=data):
                self.assertProblemResp(self.raw_post(data), 400)
        self.assertNothingCreated(*before)

    def test_wrong_content_type_415(self):
        before = self.n_accounts(), self.stream_len()
        data = json.dumps(fixtures.account_body("village")).encode()
        for ct in (None, "text/plain", "application/x-www-form-urlencoded", "text/json",
                   "application/jsonp", "application/json-patch+json", "multipart/form-data"):
            with self.subTest(content_type=ct):
                self.assertProblemResp(self.raw_post(data, ct), 415)
        self.assertNothingCreated(*before)
        # control: the same bytes as application/json (with a charset) are fine
        resp = self.raw_post(data, "application/json; charset=utf-8")
        self.assertEqual(resp[0], 201, resp[2])

    def test_invalid_utf8_400(self):
        before = self.n_accounts(), self.stream_len()
        bad = (b"\xff",                 # never valid
               b"B\xe1t Tr\xe0ng",      # Latin-1, not UTF-8
               b"\xc0\xaf",             # overlong '/'
               b"\xed\xa0\x80",         # UTF-16 surrogate
               b"\xe1\xba",             # truncated sequence
               b"\xf4\x90\x80\x80")     # above U+10FFFF
        for seq in bad:
            for where in ("value", "key"):
                with self.subTest(seq=seq, where=where):
                    if where == "value":
                        data = b'{"role":"village","name":"' + seq + b'","province":"HN"}'
                    else:
                        data = b'{"role":"village","name":"A","province":"HN","' + seq + b'":1}'
                    self.assertProblemResp(self.raw_post(data), 400)
        # escapes that decode to no valid character
        for esc in (b"\\ud800", b"\\udc00x", b"A\\u0000B"):
            with self.subTest(escape=esc):
                data = b'{"role":"village","name":"' + esc + b'","province":"HN"}'
                self.assertProblemResp(self.raw_post(data), 400)
        self.assertNothingCreated(*before)

    def test_old_province_names(self):
        cases = [("Hải Dương", "HP"), ("Hà Tây", "HN"), ("Nam Định", "NB"), ("Yên Bái", "LCI"),
                 ("Bắc Giang", "BN"), ("Hải Phòng", "HP"), ("HP", "HP")]
        for given, code in cases:
            with self.subTest(province=given):
                doc = self.api.create_account(self.admin, "supplier", province=given)
                self.assertEqual(doc["province"]["code"], code)
                self.assertEqual(self.rc.execute("HGET", "cm:account:" + doc["id"], "province"),
                                 code)
                got = self.api.call(self.admin, "GET", "/v1/accounts/" + doc["id"])[2]
                self.assertEqual(got["province"]["code"], code)
        # and moderator scopes take them too
        doc = self.api.create_account(self.admin, "moderator",
                                      scope={"provinces": ["Hải Dương", "Hà Tây"]})
        self.assertEqual(doc["scope"]["provinces"], ["HP", "HN"])

    # -- reading --

    def test_contact_visibility(self):
        subject = self.village
        contact = subject.doc["contact"]
        self.assertTrue(contact.get("phone") and contact.get("email"), subject.doc)
        viewers = [
            (subject, True),
            (self.admin, True),
            (self.mod_hn, True),           # scope covers HN
            (self.mod_nb, False),          # scope is NB only
            (self.other_village, False),
            (self.supplier, False),
        ]
        for viewer, sees in viewers:
            with self.subTest(viewer=viewer.label):
                status, headers, raw = self.api.call_raw(viewer, "GET",
                                                         "/v1/accounts/" + subject.id)
                self.assertEqual(status, 200, raw)
                doc = json.loads(raw.decode("utf-8"))
                self.assertEqual(doc["id"], subject.id)
                self.assertEqual(doc["name"], subject.name)
                self.assertEqual(doc["province"]["code"], "HN")
                text = raw.decode("utf-8")
                if sees:
                    self.assertEqual(doc.get("contact"), contact)
                else:
                    self.assertNotIn("contact", doc)
                    for v in contact.values():
                        self.assertNotIn(v, text, "contact detail leaked")
        # a moderator's own contact: self and admins only
        for viewer, sees in ((self.mod_hn, True), (self.admin, True), (self.mod_nb, False),
                             (self.village, False)):
            with self.subTest(subject="moderator", viewer=viewer.label):
                doc = self.api.call(viewer, "GET", "/v1/accounts/" + self.mod_hn.id)[2]
                self.assertEqual("contact" in doc, sees, doc)

    def test_me(self):
        for actor in (self.admin, self.mod_hn, self.village, self.supplier):
            with self.subTest(actor=actor.label):
                status, _, doc = self.api.call(actor, "GET", "/v1/me")
                self.assertEqual(status, 200, doc)
                self.assertEqual(doc["id"], actor.id)
                self.assertEqual(doc["role"], actor.role)
                if "contact" in actor.doc:
                    self.assertEqual(doc["contact"], actor.doc["contact"])

    def test_get_unknown_account_404(self):
        for path in ("/v1/accounts/acc_00000000000000000000", "/v1/accounts/nope",
                     "/v1/accounts/" + self.village.token_id, "/v1/accounts/acc_%00"):
            with self.subTest(path=path):
                self.assertProblemResp(self.api.call(self.admin, "GET", path), 404)
        self.assert401(self.api.call(None, "GET", "/v1/accounts/" + self.village.id))

    # -- who may create what --

    def test_moderator_creates_only_villages_and_suppliers_in_scope(self):
        mod = self.mod_hn
        ok = [("village", {}), ("supplier", {"province": "HN"}),
              ("supplier", {"province": "Hà Tây"})]       # a former name of a part of HN
        for role, over in ok:
            with self.subTest(role=role, **over):
                body = fixtures.account_body(role, **over)
                status, _, doc = self.post(mod, body)
                self.assertEqual(status, 201, doc)
                self.assertEqual(doc["province"]["code"], "HN")
                self.assertEqual(doc["contact"], body["contact"])  # in scope: it sees them
        before = self.n_accounts(), self.stream_len()
        refused = [("village", {"province": "Hải Dương"}), ("supplier", {}),   # HP
                   ("village", {"province": "NB"}),
                   ("moderator", {"scope": {"provinces": ["HN"]}}), ("admin", {})]
        for role, over in refused:
            with self.subTest(role=role, refused=over):
                self.assertProblemResp(self.post(mod, fixtures.account_body(role, **over)), 403)
        self.assertNothingCreated(*before)

        # a moderator of two provinces creates in either
        mod2 = self.api.make_actor(self.admin, "moderator",
                                   scope={"provinces": ["HN", "Bắc Ninh"]})
        for prov in ("HN", "BN"):
            status, _, doc = self.post(mod2, fixtures.account_body("village", province=prov))
            self.assertEqual(status, 201, doc)

    def test_forums_only_moderator_registers_only_for_its_forums(self):
        forum = "dien-dan-cung-cau-" + fixtures.unique("f")
        mod = self.api.make_actor(self.admin, "moderator", "moderator-forum",
                                  scope={"forums": [forum]})
        before = self.n_accounts(), self.stream_len()
        refused = [("village", {}), ("supplier", {"province": "NB"}),   # no forum: not its
                   ("village", {"forum": "dien-dan-khac"}),              # another forum
                   ("moderator", {"scope": {"forums": [forum]}}), ("admin", {})]
        for role, over in refused:
            with self.subTest(role=role, refused=over):
                self.assertProblemResp(self.post(mod, fixtures.account_body(role, **over)), 403)
        self.assertNothingCreated(*before)
        for role, prov in (("village", "NB"), ("supplier", "HN")):
            with self.subTest(role=role, province=prov):
                body = fixtures.account_body(role, province=prov, forum=forum)
                status, _, doc = self.post(mod, body)
                self.assertEqual(status, 201, doc)
                self.assertEqual(doc["forum"], forum)
                self.assertEqual(doc["contact"], body["contact"])  # it manages it: it sees them
                # the province's moderator manages it too; another province's does not
                seen = self.api.call(self.mod_hn, "GET", "/v1/accounts/" + doc["id"])[2]
                self.assertEqual("contact" in seen, prov == "HN", seen)
                self.assertEqual(self.api.call(mod, "GET", "/v1/accounts/" + doc["id"])[2]
                                 .get("contact"), body["contact"])
        # only villages and suppliers register for a forum; the id is checked
        for role, over in (("moderator", {"forum": forum}), ("admin", {"forum": forum}),
                           ("village", {"forum": "Diễn đàn"}), ("village", {"forum": 7})):
            with self.subTest(role=role, invalid=over):
                self.assertValidation(self.post(self.admin, fixtures.account_body(role, **over)),
                                      ["forum"])

    def test_villages_and_suppliers_create_nothing(self):
        before = self.n_accounts(), self.stream_len()
        for actor in (self.village, self.supplier):
            for role in ("village", "supplier", "moderator", "admin"):
                with self.subTest(actor=actor.label, role=role):
                    self.assertProblemResp(self.post(actor, fixtures.account_body(role)), 403)
        self.assert401(self.post(None, fixtures.account_body("village")))
        self.assertNothingCreated(*before)

    # -- Idempotency-Key --

    def test_idempotency_key(self):
        key = fixtures.unique("acct")
        body = fixtures.account_body("village")
        before = self.n_accounts()
        s1, h1, d1 = self.post(self.admin, body, {"Idempotency-Key": key})
        self.assertEqual(s1, 201, d1)
        self.assertNotIn("Idempotent-Replayed", h1)
        self.assertEqual(self.n_accounts(), before + 1)
        events_before = self.stream_len()
        for _ in range(2):
            s2, h2, d2 = self.post(self.admin, body, {"Idempotency-Key": key})
            self.assertEqual(s2, 201, d2)
            self.assertEqual(d2["id"], d1["id"])
            self.assertEqual(d2, d1)
            self.assertEqual(h2.get("Idempotent-Replayed"), "true")
            self.assertEqual(h2.get("Location"), "/v1/accounts/" + d1["id"])
        self.assertEqual(self.n_accounts(), before + 1, "a retry created an account")
        self.assertEqual(self.stream_len(), events_before, "a retry appended an event")

        # same key, another body: 409, nothing created
        other = dict(body, name=body["name"] + " (khác)")
        self.assertProblemResp(self.post(self.admin, other, {"Idempotency-Key": key}), 409)
        self.assertEqual(self.n_accounts(), before + 1)
        self.assertEqual(self.stream_len(), events_before)

        # another key, same body: a second account
        s3, _, d3 = self.post(self.admin, body, {"Idempotency-Key": key + "-2"})
        self.assertEqual(s3, 201, d3)
        self.assertNotEqual(d3["id"], d1["id"])
        # keys belong to their caller: the moderator's same key is a new request
        s4, h4, d4 = self.post(self.mod_hn, body, {"Idempotency-Key": key})
        self.assertEqual(s4, 201, d4)
        self.assertNotIn(d4["id"], (d1["id"], d3["id"]))
        self.assertNotIn("Idempotent-Replayed", h4)
        self.assertEqual(self.n_accounts(), before + 3)

    def test_bad_idempotency_key_400(self):
        before = self.n_accounts(), self.stream_len()
        for key in ("k" * 256, "clé-tiếng-việt".encode("utf-8").decode("latin-1")):
            with self.subTest(key=key[:20]):
                self.assertProblemResp(self.post(self.admin, fixtures.account_body("village"),
                                                 {"Idempotency-Key": key}), 400)
        self.assertNothingCreated(*before)


if __name__ == "__main__":
    harness.main()
