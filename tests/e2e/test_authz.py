"""
e2e: authorisation — the whole matrix, in one table.

Rows: every route that `craftmatchd --routes` prints (a route without a row
fails the test, so a new route cannot arrive without its expectations).
Columns: the caller's role — anonymous, a village, a supplier, a moderator
whose scope is a province (Hà Nội), a moderator whose scope is a forum only,
an admin — and, for routes that name a resource, whose resource it is:

  own  the caller's own (its account, token, listing, a match it is party to)
  in   someone else's, inside the caller's scope (for the province moderator
       in Hà Nội; for the forum moderator registered for / posted in its
       forum, from Ninh Bình; for everyone else the Hà Nội one)
  out  someone else's, outside the caller's scope (each moderator gets the
       other one's "in"; everyone else one of Ninh Bình with no forum)

Each cell is an outcome: the status, or 200+c / 200-c for an account shown
with / without its contact details; "-" where the cell does not exist (an
anonymous caller owns nothing, a moderator owns no listing and is party to no
match). Every cell is run against the real server; every mismatch is listed
at once. A refused request changes nothing: the resource it aimed at (the
account count, the target's tokens, the listing or match hash in Redis) is
the same after it. Every 4xx is problem+json, every 401 carries
WWW-Authenticate: Bearer.

The rule behind the account rows is account_may_manage() (common/account.c):
registering an account, issuing, listing and revoking its tokens and seeing
its contact details need the same authority — admins, or a moderator whose
scope holds the account's province or the forum it was registered for.
"""
import json
import socket

import fixtures
import harness

ROLES = ("anonymous", "village", "supplier", "mod_prov", "mod_forum", "admin")
TARGETS = ("own", "in", "out")

# route -> {target: outcomes in ROLES order}; "-" as the target: the route
# names no resource.
EXPECT = {
    "GET /healthz":                   {"-": "200   200   200   200   200   200"},
    "GET /readyz":                    {"-": "200   200   200   200   200   200"},
    "GET /metrics":                   {"-": "200   200   200   200   200   200"},
    "GET /v1/provinces":              {"-": "200   200   200   200   200   200"},
    "GET /v1/materials":              {"-": "200   200   200   200   200   200"},
    "GET /v1/me":                     {"-": "401   200   200   200   200   200"},
    "POST /v1/accounts":              {"in":  "401   403   403   201   201   201",
                                       "out": "401   403   403   403   403   201"},
    "GET /v1/accounts":               {"-": "401   403   403   200   200   200"},
    # a new contact; a moderator manages villages and suppliers only, not itself
    "PATCH /v1/accounts/{id}":        {"own": "-     403   403   403   403   200",
                                       "in":  "401   403   403   200   200   200",
                                       "out": "401   403   403   403   403   200"},
    "GET /v1/accounts/{id}":          {"own": "-   200+c 200+c 200+c 200+c 200+c",
                                       "in":  "401 200-c 200-c 200+c 200+c 200+c",
                                       "out": "401 200-c 200-c 200-c 200-c 200+c"},
    # the account itself, every moderator, admins (the other party of an
    # approved match sees it on the match instead)
    "GET /v1/accounts/{id}/reputation":
                                      {"own": "-     200   200   200   200   200",
                                       "in":  "401   403   403   200   200   200",
                                       "out": "401   403   403   200   200   200"},
    "POST /v1/tokens":                {"own": "-     201   201   201   201   201",
                                       "in":  "401   403   403   201   201   201",
                                       "out": "401   403   403   403   403   201"},
    "GET /v1/tokens":                 {"own": "-     200   200   200   200   200",
                                       "in":  "401   403   403   200   200   200",
                                       "out": "401   403   403   403   403   200"},
    "DELETE /v1/tokens/{id}":         {"own": "-     204   204   204   204   204",
                                       "in":  "401   404   404   204   204   204",
                                       "out": "401   404   404   404   404   204"},
    "POST /v1/needs":                 {"-": "401   201   403   403   403   403"},
    "GET /v1/needs":                  {"-": "401   200   200   200   200   200"},
    "POST /v1/offers":                {"-": "401   403   201   403   403   403"},
    "GET /v1/offers":                 {"-": "401   200   200   200   200   200"},
    "GET /v1/listings":               {"-": "401   200   200   200   200   200"},
    "GET /v1/listings/{id}":          {"own": "-     200   200   -     -     -",
                                       "in":  "401   200   200   200   200   200",
                                       "out": "401   200   200   200   200   200"},
    "PATCH /v1/listings/{id}":        {"own": "-     200   200   -     -     -",
                                       "in":  "401   403   403   403   403   403",
                                       "out": "401   403   403   403   403   403"},
    "DELETE /v1/listings/{id}":       {"own": "-     200   200   -     -     -",
                                       "in":  "401   403   403   200   200   200",
                                       "out": "401   403   403   403   403   200"},
    "GET /v1/matches":                {"-": "401   200   200   200   200   200"},
    # every role its own scope: everything, its provinces and forums, its own
    "GET /v1/stats":                  {"-": "401   200   200   200   200   200"},
    # an approved match (parties see it from approval on)
    "GET /v1/matches/{id}":           {"own": "-     200   200   -     -     -",
                                       "in":  "401   404   404   200   200   200",
                                       "out": "401   404   404   404   404   200"},
    # a proposed match: the parties do not see it yet
    "POST /v1/matches/{id}/approve":  {"own": "-     404   404   -     -     -",
                                       "in":  "401   404   404   200   200   200",
                                       "out": "401   404   404   404   404   200"},
    "POST /v1/matches/{id}/reject":   {"own": "-     404   404   -     -     -",
                                       "in":  "401   404   404   200   200   200",
                                       "out": "401   404   404   404   404   200"},
    # an approved match
    "POST /v1/matches/{id}/accept":   {"own": "-     200   200   -     -     -",
                                       "in":  "401   404   404   403   403   403",
                                       "out": "401   404   404   404   404   403"},
    "POST /v1/matches/{id}/decline":  {"own": "-     200   200   -     -     -",
                                       "in":  "401   404   404   403   403   403",
                                       "out": "401   404   404   404   404   403"},
    "POST /v1/matches/{id}/cancel":   {"own": "-     403   403   -     -     -",
                                       "in":  "401   404   404   200   200   200",
                                       "out": "401   404   404   404   404   200"},
    # a confirmed match: only the village records the delivery
    "POST /v1/matches/{id}/fulfil":   {"own": "-     200   403   -     -     -",
                                       "in":  "401   404   404   403   403   403",
                                       "out": "401   404   404   404   404   403"},
    "POST /v1/forums":                {"-": "401   403   403   201   201   201"},
    "GET /v1/forums":                 {"-": "401   200   200   200   200   200"},
    # an open forum; "own": one the caller organises
    "GET /v1/forums/{id}":            {"own": "-     -     -     200   200   200",
                                       "in":  "401   200   200   200   200   200",
                                       "out": "401   200   200   200   200   200"},
    # the organiser's and admins' (an open forum)
    "GET /v1/forums/{id}/report":     {"own": "-     -     -     200   200   200",
                                       "in":  "401   403   403   403   403   200",
                                       "out": "401   403   403   403   403   200"},
    # a draft: villages and suppliers do not see it; only its organiser and admins manage it
    "PATCH /v1/forums/{id}":          {"own": "-     -     -     200   200   200",
                                       "in":  "401   404   404   403   403   200",
                                       "out": "401   404   404   403   403   200"},
    "POST /v1/forums/{id}/open":      {"own": "-     -     -     200   200   200",
                                       "in":  "401   404   404   403   403   200",
                                       "out": "401   404   404   403   403   200"},
    # an open forum
    "POST /v1/forums/{id}/close-registration":
                                      {"own": "-     -     -     200   200   200",
                                       "in":  "401   403   403   403   403   200",
                                       "out": "401   403   403   403   403   200"},
    "POST /v1/forums/{id}/cancel":    {"own": "-     -     -     200   200   200",
                                       "in":  "401   403   403   403   403   200",
                                       "out": "401   403   403   403   403   200"},
    # a forum in review
    "POST /v1/forums/{id}/close":     {"own": "-     -     -     200   200   200",
                                       "in":  "401   403   403   403   403   200",
                                       "out": "401   403   403   403   403   200"},
    # the clearing's batch: the organiser's and admins' (a forum in review with a proposal)
    "GET /v1/forums/{id}/batch":      {"own": "-     -     -     200   200   200",
                                       "in":  "401   403   403   403   403   200",
                                       "out": "401   403   403   403   403   200"},
    "POST /v1/forums/{id}/approve-batch":
                                      {"own": "-     -     -     200   200   200",
                                       "in":  "401   403   403   403   403   200",
                                       "out": "401   403   403   403   403   200"},
    "POST /v1/forums/{id}/reject-batch":
                                      {"own": "-     -     -     200   200   200",
                                       "in":  "401   403   403   403   403   200",
                                       "out": "401   403   403   403   403   200"},
    # a one-row sheet: accounts (admins and moderators), needs (villages), offers
    # (suppliers); each caller imports the kind it may, for the others accounts
    "GET /v1/imports/template":       {"-": "200   200   200   200   200   200"},
    "POST /v1/imports":               {"-": "401   403   403   202   202   202"},
    # "own": an import of the caller's; "in": one of another moderator's
    "GET /v1/imports/{id}":           {"own": "-     200   200   200   200   200",
                                       "in":  "401   404   404   404   404   200"},
    "GET /v1/events":                 {"-": "401   200   200   200   200   200"},
    "POST /v1/stream-tickets":        {"-": "401   200   200   200   200   200"},
    # signing in is public and takes the code in its body; without the app's
    # X-Craftmatch header and a same-origin Origin it is refused (CSRF rule,
    # test_sessions covers the browser's way)
    "POST /v1/sessions":              {"-": "403   403   403   403   403   403"},
    # a bearer caller has no session to end
    "DELETE /v1/sessions/current":    {"-": "401   404   404   404   404   404"},
}

# The state a match must be in for each route that acts on one.
MATCH_STATE = {"GET /v1/matches/{id}": "approved", "POST /v1/matches/{id}/approve": "proposed",
               "POST /v1/matches/{id}/reject": "proposed",
               "POST /v1/matches/{id}/accept": "approved",
               "POST /v1/matches/{id}/decline": "approved",
               "POST /v1/matches/{id}/cancel": "approved",
               "POST /v1/matches/{id}/fulfil": "confirmed"}
MATCH_BODY = {"reject": {"reason": "Thiếu hồ sơ"}, "decline": {"reason": "Hết hàng"},
              "cancel": {"reason": "Hai bên hủy"}}
MATCH_MATERIAL = "brass"  # no other listing of this test uses it
# The forum world's matches: needs registered for a forum that has since
# closed (a forum's listings meet offers only once it ends), in this material.
FORUM_MATCH_MATERIAL = "tin"
FORUM_MATCH_NEEDS = 8
# The state a forum must be in for each route that names one.
FORUM_STATE = {"GET /v1/forums/{id}": "open", "GET /v1/forums/{id}/report": "open",
               "PATCH /v1/forums/{id}": "draft",
               "POST /v1/forums/{id}/open": "draft",
               "POST /v1/forums/{id}/close-registration": "open",
               "POST /v1/forums/{id}/cancel": "open", "POST /v1/forums/{id}/close": "review"}
ENDS_MATCH = {"reject", "decline", "cancel"}
# The routes that review a forum's batch, with their bodies.
BATCH_ROUTES = {"GET /v1/forums/{id}/batch": None,
                "POST /v1/forums/{id}/approve-batch": None,
                "POST /v1/forums/{id}/reject-batch": {"reason": "Giá chưa hợp lý"}}
BATCH_MATERIAL = "feldspar"  # no other listing of this test uses it


def outcomes(text):
    cells = text.split()
    assert len(cells) == len(ROLES), text
    return dict(zip(ROLES, cells))


def stream_status(port, path, token):
    """GET an SSE stream: (status, headers, body) — the body only when it is not the stream."""
    with socket.create_connection((harness.HOST, port), timeout=harness.HTTP_TIMEOUT) as s:
        auth = "Authorization: Bearer %s\r\n" % token if token else ""
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (path, harness.HOST, auth))
                  .encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the response head: %r" % buf)
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = harness.Headers([tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]])
        if status == 200:
            return status, headers, None
        n = int(headers.get("Content-Length", "0"))
        while len(rest) < n:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        return status, headers, json.loads(rest[:n].decode("utf-8"))


class AuthzMatrixTest(fixtures.MatchHelpers, fixtures.ApiTestCase):

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        cls.forum = "dien-dan-" + fixtures.unique("authz")
        cls.forum_done = "dien-dan-" + fixtures.unique("authz-done")
        api, admin = cls.api, cls.admin
        mk = lambda role, label, **kw: api.make_actor(admin, role, label, **kw)
        # the forums of the forum world (organised by a moderator who is none of the
        # callers): one open for registrations, one whose needs reached the market
        cls.mod_org = mk("moderator", "mod_org", scope={"provinces": ["NB"]})
        api.create_forum(cls.mod_org, "open", id=cls.forum, provinces=["NB"])
        api.create_forum(cls.mod_org, "open", id=cls.forum_done, provinces=["NB"])
        cls.actors = {
            "anonymous": fixtures.ANONYMOUS,
            "village": mk("village", "village", province="HN"),
            "supplier": mk("supplier", "supplier", province="HN"),
            "mod_prov": mk("moderator", "mod_prov", scope={"provinces": ["HN"]}),
            "mod_forum": mk("moderator", "mod_forum",
                            scope={"forums": [cls.forum, cls.forum_done]}),
            # an admin with contact details of its own (the bootstrap one has none)
            "admin": mk("admin", "admin", contact={"phone": "024 3825 0000",
                                                    "email": "quantri@example.vn"}),
        }
        # the three worlds others' resources live in: (province, forum),
        # a village owning the accounts' and listings' side, a supplier
        cls.worlds = {
            "prov": ("HN", None, mk("village", "v-prov", province="HN"),
                     mk("supplier", "s-prov", province="HP")),
            "forum": ("NB", cls.forum, mk("village", "v-forum", province="NB",
                                          forum=cls.forum),
                      mk("supplier", "s-nb", province="NB")),
            "out": ("NB", None, mk("village", "v-out", province="NB"),
                    mk("supplier", "s-out", province="NB")),
        }
        cls.own_need = api.post_need(cls.actors["village"])
        cls.own_offer = api.post_offer(cls.actors["supplier"])
        cls.world_need = {w: api.post_need(v, province=p, **({"forum": f} if f else {}))
                          for w, (p, f, v, _) in cls.worlds.items()}
        cls.pool = {}  # (world, state) -> match id, until an action moves it on
        village_f = cls.worlds["forum"][2]
        for _ in range(FORUM_MATCH_NEEDS):
            post = fixtures.post_listing(api, village_f, "need", {
                "material": FORUM_MATCH_MATERIAL, "quantity": "5", "unit": "tan",
                "province": "NB", "needed_by": fixtures.vn_date(60),
                "forum": cls.forum_done})
            assert post["forum"] == cls.forum_done, post
        for action in ("close-registration", "close"):
            if action == "close":
                api.wait_forum_state(cls.mod_org, cls.forum_done, "review")
            api.forum_act(cls.mod_org, cls.forum_done, action)

    # -- whose resource ---------------------------------------------------------

    @staticmethod
    def world_of(role, target):
        """The world of someone else's resource in ('in') or out of the caller's scope."""
        if target == "in":
            return "forum" if role == "mod_forum" else "prov"
        if role == "mod_prov":
            return "forum"
        if role == "mod_forum":
            return "prov"
        return "out"

    def fields(self, world):
        prov, forum, _, _ = self.worlds[world]
        return dict(province=prov, **({"forum": forum} if forum else {}))

    def account_id(self, role, target):
        if target == "own":
            return self.actors[role].id
        return self.worlds[self.world_of(role, target)][2].id

    def own_listing(self, role, fresh=False):
        actor = self.actors[role]
        if role == "village":
            return self.api.post_need(actor) if fresh else self.own_need
        if role == "supplier":
            return self.api.post_offer(actor) if fresh else self.own_offer
        return None

    def listing(self, role, target, fresh=False):
        if target == "own":
            return self.own_listing(role, fresh)
        world = self.world_of(role, target)
        if not fresh:
            return self.world_need[world]
        return self.api.post_need(self.worlds[world][2], **self.fields(world))

    def parties(self, world):
        if world == "own":
            return self.actors["village"], self.actors["supplier"], {"province": "HN"}
        _, _, village, supplier = self.worlds[world]
        return village, supplier, self.fields(world)

    def match(self, role, target, state):
        """A match of the target's world in state, from the pool or made now."""
        if target == "own" and role not in ("village", "supplier"):
            return None
        world = "own" if target == "own" else self.world_of(role, target)
        mid = self.pool.get((world, state))
        if mid:
            return mid
        village, supplier, where = self.parties(world)
        if world == "forum":
            # one of the needs that waited for forum_done meets this offer
            offer = self.offer(supplier, FORUM_MATCH_MATERIAL, 5, 1500000, province="NB")
            items = self.wait_for_matches(offer["id"], 1)
        else:
            self.offer(supplier, MATCH_MATERIAL, 5, 1500000, province=where["province"])
            need = self.need(village, MATCH_MATERIAL, 5, **where)
            items = self.wait_for_matches(need["id"], 1)
        mid = items[0]["id"]
        steps = {"proposed": [], "approved": [(self.admin, "approve")],
                 "confirmed": [(self.admin, "approve"), (village, "accept"),
                               (supplier, "accept")]}[state]
        for actor, action in steps:
            self.act_ok(actor, mid, action)
        self.pool[(world, state)] = mid
        return mid

    def spend_match(self, mid, action):
        """The action moved the match on: out of the pool; a match that ended
        gives its listings back, so they are closed before the engine pairs
        them with the next match of this test."""
        for k, v in list(self.pool.items()):
            if v == mid:
                del self.pool[k]
        if action in ENDS_MATCH:
            m = fixtures.redis_hash(self.rc, "cm:match:" + mid)
            for lid in (m["need"], m["offer"]):
                resp = self.api.call(self.admin, "DELETE", "/v1/listings/" + lid)
                self.assertIn(resp[0], (200, 409), resp[2])

    # -- the request of each cell --------------------------------------------

    def cell(self, route, role, target):
        """(method, path, body, snapshot(), after(status)) for one cell; None if it does not exist.

        snapshot() reads what a refusal must leave unchanged; after(status)
        tidies up once the request went through."""
        method, pattern = route.split(" ", 1)
        rc = self.rc
        nothing = lambda: None
        done = lambda status: None
        if pattern == "/v1/imports/template":
            return method, pattern + "?kind=needs", None, nothing, done
        if pattern == "/v1/imports":
            return method, pattern + "?kind=accounts", self.import_sheet("accounts"), \
                lambda: rc.execute("ZCARD", "cm:accounts"), done
        if pattern == "/v1/imports/{id}":
            if target == "own" and role == "anonymous":
                return None
            if target == "own":
                return method, "/v1/imports/" + self.import_of(self.actors[role]), None, \
                    nothing, done
            return method, "/v1/imports/" + self.import_of(self.mod_org), None, nothing, done
        if target == "-":
            return method, pattern, self.default_body(route), nothing, done
        if target == "own" and role == "anonymous":
            return None
        if pattern == "/v1/accounts":
            world = self.world_of(role, target)
            body = fixtures.account_body("village", **self.fields(world))
            return method, pattern, body, lambda: rc.execute("ZCARD", "cm:accounts"), done
        if pattern.startswith("/v1/accounts/"):
            acc = self.account_id(role, target)
            if method == "PATCH":
                return method, "/v1/accounts/" + acc, {"contact": {"phone": "0912 345 678"}}, \
                    lambda: fixtures.redis_hash(rc, "cm:account:" + acc), done
            return method, pattern.replace("{id}", acc), None, \
                lambda: fixtures.redis_hash(rc, "cm:rep:" + acc), done
        if route in ("POST /v1/tokens", "GET /v1/tokens"):
            acc = self.account_id(role, target)
            tokens = lambda: sorted(rc.execute("SMEMBERS", "cm:account:%s:tokens" % acc))
            if method == "POST":
                return method, pattern, {} if target == "own" else {"account_id": acc}, \
                    tokens, done
            return method, pattern + ("" if target == "own" else "?account_id=" + acc), None, \
                tokens, done
        if pattern == "/v1/tokens/{id}":
            acc = self.account_id(role, target)
            issuer = self.actors[role] if target == "own" else self.admin
            tok = self.api.issue_token(issuer, acc)["id"]
            return method, "/v1/tokens/" + tok, None, \
                lambda: rc.execute("EXISTS", "cm:tokenid:" + tok), done
        if pattern == "/v1/listings/{id}":
            lst = self.listing(role, target, fresh=(method == "DELETE"))
            if lst is None:
                return None
            body = {"note": "sửa"} if method == "PATCH" else None
            return method, "/v1/listings/" + lst["id"], body, \
                lambda: fixtures.redis_hash(rc, "cm:listing:" + lst["id"]), done
        if route in BATCH_ROUTES:
            # a proposal to review where the request is to go through
            fid = self.forum_of(role, target, "review",
                                batch=outcomes(EXPECT[route][target])[role] == "200")
            if fid is None:
                return None
            return method, pattern.replace("{id}", fid), BATCH_ROUTES[route], \
                lambda: self.batch_state(fid), done
        if route in FORUM_STATE:
            fid = self.forum_of(role, target, FORUM_STATE[route])
            if fid is None:
                return None
            body = {"venue": "Nhà văn hóa xã"} if method == "PATCH" else None
            return method, pattern.replace("{id}", fid), body, \
                lambda: fixtures.redis_hash(rc, "cm:forum:" + fid), done
        if route in MATCH_STATE:
            mid = self.match(role, target, MATCH_STATE[route])
            if mid is None:
                return None
            action = pattern.rsplit("/", 1)[1]
            after = (lambda status: self.spend_match(mid, action)) if method == "POST" else done
            return method, pattern.replace("{id}", mid), MATCH_BODY.get(action), \
                lambda: fixtures.redis_hash(rc, "cm:match:" + mid), after
        raise AssertionError("no request for %s (%s)" % (route, target))

    @staticmethod
    def import_sheet(kind):
        """A one-row sheet of kind, valid for its importer (rows of the out world)."""
        key = fixtures.unique("row")
        if kind == "accounts":
            text = "Khóa dòng,Vai trò,Tên,Tỉnh/Thành phố\r\n%s,village,Làng %s,NB\r\n" % (
                key, key)
        elif kind == "needs":
            text = "Khóa dòng,Vật liệu,Số lượng,Tỉnh/Thành phố,Cần trước ngày\r\n" \
                   "%s,brass,1,HN,%s\r\n" % (key, fixtures.vn_date(60))
        else:
            text = "Khóa dòng,Vật liệu,Loại,Số lượng,Đơn giá (VND),Tỉnh/Thành phố\r\n" \
                   "%s,tin,A,1,100000,HN\r\n" % key
        return text.encode("utf-8")

    def import_of(self, actor):
        """The id of an import actor made now (of the kind its role may import)."""
        kind = {"village": "needs", "supplier": "offers"}.get(actor.role, "accounts")
        status, headers, body = self.api.call(actor, "POST", "/v1/imports?kind=" + kind,
                                              self.import_sheet(kind),
                                              headers={"Content-Type": "text/csv"})
        assert status == 202, body
        return body["id"]

    def forum_of(self, role, target, state, batch=False):
        """A forum in state: the caller's own (organised by it), or of the target's
        world; with batch, one in review whose clearing proposed one match."""
        if target == "own":
            if role not in ("mod_prov", "mod_forum", "admin"):
                return None
            organiser, province = self.actors[role], "HN"
        else:
            world = self.world_of(role, target)
            if world == "forum":
                return self.forum  # refused before its state matters
            organiser, province = self.mod_org, self.worlds[world][0]
        if not batch:
            return self.api.create_forum(organiser, state, provinces=[province])["id"]
        fid = self.api.create_forum(organiser, "open", provinces=[province])["id"]
        village, supplier = self.party("village", province), self.party("supplier", province)
        self.need(village, BATCH_MATERIAL, 2, province=province, forum=fid)
        self.offer(supplier, BATCH_MATERIAL, 2, 500000, province=province, forum=fid)
        self.api.forum_act(organiser, fid, "close-registration")
        self.api.wait_forum_state(organiser, fid, "review")
        return fid

    def batch_state(self, fid):
        """The forum and every match of its batch, as Redis holds them."""
        out = [fixtures.redis_hash(self.rc, "cm:forum:" + fid)]
        for lid in self.rc.execute("SMEMBERS", "cm:forum:%s:listings" % fid):
            for mid in self.rc.execute("ZRANGE", "cm:matches:listing:" + lid, "0", "-1"):
                out.append(fixtures.redis_hash(self.rc, "cm:match:" + mid))
        return out

    def default_body(self, route):
        return {"POST /v1/needs": fixtures.need_body(), "POST /v1/offers": fixtures.offer_body(),
                "POST /v1/stream-tickets": {},
                "POST /v1/sessions": {"code": self.actors["village"].token},
                "POST /v1/forums": fixtures.forum_body()}.get(route)

    def send(self, role, method, path, body):
        actor = self.actors[role]
        if path == "/v1/events":
            return stream_status(self.daemon.port, path, actor.token)
        if isinstance(body, bytes):  # a spreadsheet
            return self.api.call(actor, method, path, body, headers={"Content-Type": "text/csv"})
        return self.api.call(actor, method, path, body)

    @staticmethod
    def outcome(route, status, resp):
        if route == "GET /v1/accounts/{id}" and status == 200:
            return "200+c" if "contact" in resp else "200-c"
        return str(status)

    # -- the tests ----------------------------------------------------------------

    def test_every_served_route_has_a_row(self):
        served = ["%s %s" % r for r in fixtures.served_routes()]
        self.assertEqual(sorted(set(served) - set(EXPECT)), [],
                         "routes without expectations: add their row to EXPECT")
        self.assertEqual(sorted(set(EXPECT) - set(served)), [], "rows for routes not served")
        for route, row in EXPECT.items():
            self.assertTrue(set(row) == {"-"} or set(row) <= set(TARGETS), route)
            for target, text in row.items():
                cells = outcomes(text)
                self.assertTrue(all(c == "-" or c in ("200+c", "200-c") or c.isdigit()
                                    for c in cells.values()), (route, target))
                self.assertEqual(cells["anonymous"] == "-", target == "own", (route, target))

    def test_csv_exports_answer_as_their_rows(self):
        """format=csv on a list route is the same route: each role gets the
        status of the route's row, a CSV file for 200, problem+json else."""
        failures = []
        for route in ("GET /v1/listings", "GET /v1/needs", "GET /v1/offers", "GET /v1/matches",
                      "GET /v1/accounts"):
            for role, want in outcomes(EXPECT[route]["-"]).items():
                path = route.split(" ", 1)[1] + "?format=csv&bom=1"
                status, headers, resp = self.send(role, "GET", path, None)
                mt = harness.media_type(headers)
                if str(status) != want:
                    failures.append("%s %s: expected %s, got %d" % (path, role, want, status))
                elif status == 200 and (mt != "text/csv" or not resp.startswith("\ufeffid,")):
                    failures.append("%s %s: not a CSV file: %s %r" % (path, role, mt, resp[:50]))
                elif status >= 400 and mt != "application/problem+json":
                    failures.append("%s %s: %d is not problem+json" % (path, role, status))
        self.assertEqual(failures, [])

    def test_matrix(self):
        failures, cells = [], 0
        for method, pattern in fixtures.served_routes():
            route = "%s %s" % (method, pattern)
            for target, text in EXPECT.get(route, {}).items():
                for role, want in outcomes(text).items():
                    spec = self.cell(route, role, target)
                    if (spec is None) != (want == "-"):
                        failures.append("%-34s %-4s %-10s the table says %s, but the cell %s" % (
                            route, target, role, want,
                            "does not exist" if spec is None else "exists"))
                        continue
                    if spec is None:
                        continue
                    cells += 1
                    m, path, body, snapshot, after = spec
                    before = snapshot()
                    try:
                        status, headers, resp = self.send(role, m, path, body)
                    except Exception as e:  # a broken connection is a mismatch too
                        failures.append("%-34s %-4s %-10s expected %s, got %r" % (
                            route, target, role, want, e))
                        continue
                    got = self.outcome(route, status, resp)
                    problem = None
                    if got != want:
                        detail = resp.get("detail") if isinstance(resp, dict) else resp
                        problem = "expected %s, got %s (%s)" % (want, got, str(detail)[:100])
                    elif status >= 400:
                        if harness.media_type(headers) != "application/problem+json" or \
                                not isinstance(resp, dict) or resp.get("status") != status:
                            problem = "%d is not a problem+json body: %r" % (status, resp)
                        elif status == 401 and not headers.get(
                                "WWW-Authenticate", "").startswith("Bearer"):
                            problem = "401 without WWW-Authenticate: Bearer"
                        elif snapshot() != before:
                            problem = "refused with %d but changed its target" % status
                    if status < 300:
                        after(status)
                    if problem:
                        failures.append("%-34s %-4s %-10s %s" % (route, target, role, problem))
        self.assertEqual(cells, sum(1 for row in EXPECT.values() for text in row.values()
                                    for c in text.split() if c != "-"))
        if failures:
            self.fail("%d of %d cells wrong:\n" % (len(failures), cells) + "\n".join(failures))


if __name__ == "__main__":
    harness.main()
