"""
e2e: authorisation — who may do what, as one table.

Rows: (endpoint) × columns: (caller) → the expected status. Callers: no
token, an admin, a moderator whose scope covers the resources (Hà Nội) and
one whose scope does not (Ninh Bình), the village that owns the need, another
village, the supplier that owns the offer, another supplier — every account
in Hà Nội. Every cell is run and every mismatch is reported at once.

The rules the table encodes: every /v1 route except the reference data needs
a token (401 with WWW-Authenticate otherwise); admins and moderators create
accounts, moderators only villages and suppliers in their scope, and issue
tokens for the accounts they may create; a token is revoked by its owner or
an admin, anyone else is told it does not exist (404); villages post needs,
suppliers post offers; every account reads every listing; only the owner
changes one; the owner, a moderator in scope and an admin close one.
A refused request changes nothing (checked on the two listings at the end).
"""
import fixtures
import harness

ROLES = ("anonymous", "admin", "mod_in", "mod_out", "village", "other_village", "supplier",
         "other_supplier")


def row(*statuses):
    assert len(statuses) == len(ROLES)
    return dict(zip(ROLES, statuses))


class AuthzTest(fixtures.ApiTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            api, admin = cls.api, cls.admin
            cls.actors = {
                "anonymous": fixtures.ANONYMOUS,
                "admin": admin,
                "mod_in": api.make_actor(admin, "moderator", "mod_in",
                                         scope={"provinces": ["HN"]}),
                "mod_out": api.make_actor(admin, "moderator", "mod_out",
                                          scope={"provinces": ["NB"]}),
                "village": api.make_actor(admin, "village", "village"),
                "other_village": api.make_actor(admin, "village", "other_village"),
                "supplier": api.make_actor(admin, "supplier", "supplier", province="HN"),
                "other_supplier": api.make_actor(admin, "supplier", "other_supplier",
                                                 province="HN"),
            }
            # an account outside the table whose tokens others try to issue and revoke
            cls.third = api.make_actor(admin, "village", "third")
            cls.need = api.post_need(cls.actors["village"])
            cls.offer = api.post_offer(cls.actors["supplier"], province="HN")
        except BaseException:
            cls._close_shared()
            raise

    def fresh_third_token_id(self):
        return self.api.issue_token(self.admin, self.third.id)["id"]

    def fresh_need_id(self):
        return self.api.post_need(self.actors["village"])["id"]

    def table(self):
        need, offer, village = self.need["id"], self.offer["id"], self.actors["village"]
        new_village = lambda: ("POST", "/v1/accounts", fixtures.account_body("village"))
        return [
            ("GET /v1/me", lambda: ("GET", "/v1/me", None),
             row(401, 200, 200, 200, 200, 200, 200, 200)),
            ("POST /v1/accounts (village in HN)", new_village,
             row(401, 201, 201, 403, 403, 403, 403, 403)),
            ("GET /v1/accounts/{village}", lambda: ("GET", "/v1/accounts/" + village.id, None),
             row(401, 200, 200, 200, 200, 200, 200, 200)),
            ("POST /v1/tokens (for self)", lambda: ("POST", "/v1/tokens", {}),
             row(401, 201, 201, 201, 201, 201, 201, 201)),
            ("POST /v1/tokens (for another account)",
             lambda: ("POST", "/v1/tokens", {"account_id": self.third.id}),
             row(401, 201, 201, 403, 403, 403, 403, 403)),
            ("GET /v1/tokens", lambda: ("GET", "/v1/tokens", None),
             row(401, 200, 200, 200, 200, 200, 200, 200)),
            ("DELETE /v1/tokens/{someone else's}",
             lambda: ("DELETE", "/v1/tokens/" + self.fresh_third_token_id(), None),
             row(401, 204, 404, 404, 404, 404, 404, 404)),
            ("POST /v1/needs", lambda: ("POST", "/v1/needs", fixtures.need_body()),
             row(401, 403, 403, 403, 201, 201, 403, 403)),
            ("POST /v1/offers", lambda: ("POST", "/v1/offers", fixtures.offer_body()),
             row(401, 403, 403, 403, 403, 403, 201, 201)),
            ("GET /v1/listings", lambda: ("GET", "/v1/listings", None),
             row(401, 200, 200, 200, 200, 200, 200, 200)),
            ("GET /v1/needs", lambda: ("GET", "/v1/needs", None),
             row(401, 200, 200, 200, 200, 200, 200, 200)),
            ("GET /v1/listings/{id}", lambda: ("GET", "/v1/listings/" + need, None),
             row(401, 200, 200, 200, 200, 200, 200, 200)),
            ("PATCH /v1/listings/{village's need}",
             lambda: ("PATCH", "/v1/listings/" + need, {"note": "sửa"}),
             row(401, 403, 403, 403, 200, 403, 403, 403)),
            ("PATCH /v1/listings/{supplier's offer}",
             lambda: ("PATCH", "/v1/listings/" + offer, {"note": "sửa"}),
             row(401, 403, 403, 403, 403, 403, 200, 403)),
            ("DELETE /v1/listings/{village's need}",
             lambda: ("DELETE", "/v1/listings/" + self.fresh_need_id(), None),
             row(401, 200, 200, 403, 200, 403, 403, 403)),
        ]

    def test_authorization_table(self):
        failures = []
        cells = 0
        for name, make, expected in self.table():
            for role in ROLES:
                cells += 1
                actor = self.actors[role]
                method, path, body = make()
                try:
                    status, headers, resp = self.api.call(actor, method, path, body)
                except Exception as e:  # a broken connection is a mismatch too
                    failures.append("%-40s %-15s expected %d, got %r" % (name, role,
                                                                         expected[role], e))
                    continue
                want = expected[role]
                problem = None
                if status != want:
                    detail = resp.get("detail") if isinstance(resp, dict) else resp
                    problem = "expected %d, got %d (%s)" % (want, status, str(detail)[:120])
                elif status >= 400:
                    if harness.media_type(headers) != "application/problem+json" or \
                            not isinstance(resp, dict) or resp.get("status") != status:
                        problem = "%d is not a problem+json body: %r" % (status, resp)
                    elif status == 401 and not headers.get("WWW-Authenticate", "").startswith(
                            "Bearer"):
                        problem = "401 without WWW-Authenticate: Bearer"
                if problem:
                    failures.append("%-40s %-15s %s" % (name, role, problem))
        self.assertEqual(cells, 15 * len(ROLES))

        # refusals changed nothing: one PATCH each succeeded (version 1 → 2)
        for lst, owner in ((self.need, "village"), (self.offer, "supplier")):
            doc = self.api.get_listing(self.admin, lst["id"])
            if (doc["version"], doc["status"], doc.get("note")) != (2, "open", "sửa"):
                failures.append("%s of %s is now version %s, %s, note %r; expected 2, open, "
                                "'sửa'" % (lst["kind"], owner, doc["version"], doc["status"],
                                           doc.get("note")))
            types = [t for t, _ in fixtures.listing_events(self.rc, lst["id"])]
            if types != ["listing.created", "listing.updated"]:
                failures.append("events of the %s: %r" % (lst["kind"], types))
        if failures:
            self.fail("%d of %d cells wrong:\n" % (len(failures), cells) + "\n".join(failures))


if __name__ == "__main__":
    harness.main()
