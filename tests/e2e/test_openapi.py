"""
e2e: docs/openapi.yaml describes the API the server really serves.

Proves: the (method, path) pairs of docs/openapi.yaml are exactly those that
`craftmatchd --routes` prints (a failure names what is missing on either
side); every operation declares responses, and every 4xx/5xx one is an
application/problem+json Problem; every operation except the five public
ones requires bearerAuth and documents 401, and a real craftmatchd answers
each of them 401 without a token (and the public ones without 401); every
path parameter is declared, every POST that creates takes Idempotency-Key,
PATCH takes If-Match, GET /v1/listings declares exactly its filters. Then
walks through the accounts, tokens, listings and matches operations against
a real redis-server + craftmatchd check that each answer -- status, media
type, the headers documented as always sent, and the JSON body against its
schema -- is one the description documents, including the 503 with
Retry-After of a stalled Redis.

The description is read with PyYAML and its schemas applied with jsonschema's
Draft 2020-12 validator (tests/e2e/openapi_spec.py); the harness applies the
same check to every answer of every e2e test, this file walks the operations
on purpose.
"""
import re
import unittest

import jsonschema

import harness
import openapi_spec

# Routes registered with ROUTE_PUBLIC in server/api/routes.c.
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
          ("GET", "/v1/provinces"), ("GET", "/v1/materials"), ("GET", "/v1/imports/template")}
# The query a public route needs to answer (its required parameters).
PUBLIC_QUERY = {("GET", "/v1/imports/template"): "?kind=accounts"}
# Public routes that take a credential in their body instead (signing in):
# no security requirement, but 401 for a bad credential.
SIGN_IN = {("POST", "/v1/sessions")}
# POST routes that ignore Idempotency-Key: a stream ticket is a one-shot
# (server/api/events.c never reads the key), and so is signing in.
# An import's rows carry their own keys ("Khóa dòng"; server/api/import_run.c).
NO_IDEMPOTENCY_KEY = {("POST", "/v1/stream-tickets"), ("POST", "/v1/imports")} | SIGN_IN
LISTING_FILTERS = {"kind", "material", "province", "status", "forum", "owner", "q", "cursor",
                   "limit", "format", "bom", "headers"}


SPEC = openapi_spec.load()


def resolve(node):
    return SPEC.resolve(node)


def fill_path(op, template, ids=None):
    """The template with each {param} replaced: from ids, else a well-formed unknown id
    built from the parameter's pattern ('^acc_...' -> acc_000...)."""
    params = {}
    for p in op.get("parameters", []):
        p = resolve(p)
        if p.get("in") == "path":
            params[p["name"]] = resolve(p.get("schema", {}))

    def one(m):
        name = m.group(1)
        if ids and name in ids:
            return ids[name]
        pat = (params.get(name) or {}).get("pattern", "")
        pm = re.match(r"^\^([a-z]+)_", pat)
        return (pm.group(1) + "_" + "0" * 20) if pm else "x"
    return re.sub(r"\{([^}/]+)\}", one, template)


def create_admin(redis_url, name="Quản trị kiểm thử"):
    p = harness.run_craftmatchd("--create-admin", name, "--redis-url", redis_url)
    if p.returncode != 0:
        raise AssertionError("craftmatchd --create-admin failed (%d): %s" % (p.returncode,
                                                                             p.stderr))
    m = re.search(r"^token: (cm_\S+)$", p.stdout, re.M)
    if not m:
        raise AssertionError("no 'token: cm_...' line in --create-admin's output: %r" % p.stdout)
    return m.group(1)


class SpecAssertions:
    """Checks a real answer against the description (mixed into TestCases)."""

    spec = SPEC.doc

    def assertDocumented(self, op_key, status, headers, body):
        """status is documented for the operation, with its media type, its always-sent
        headers and (for JSON) a body valid against its schema."""
        self.assertIn(op_key, SPEC.ops, "%s %s is not in docs/openapi.yaml" % op_key)
        self.assertEqual(SPEC.template(*op_key), op_key[1],
                         "%s %s falls under another template" % op_key)
        errs = SPEC.answer_errors(op_key[0], op_key[1], status, headers, body)
        if errs:
            self.fail("\n".join(errs))


# ---------------------------------------------------------------------------
# The description as a document: YAML that is JSON, schemas that are 2020-12
# ---------------------------------------------------------------------------

class DocumentTest(unittest.TestCase):

    def test_yaml_holds_only_json_values(self):
        # PyYAML reads YAML 1.1: an unquoted 2099-12-31 is a date, 200: an int key.
        self.assertEqual(openapi_spec.non_json_values(SPEC.doc), [],
                         "quote these in docs/openapi.yaml")

    def test_every_schema_is_draft_2020_12(self):
        schemas = dict((SPEC.doc.get("components") or {}).get("schemas") or {})
        for (method, path), op in SPEC.ops.items():
            for code, resp in (op.get("responses") or {}).items():
                for mt, c in (resolve(resp).get("content") or {}).items():
                    if "schema" in (c or {}):
                        schemas["%s %s %s %s" % (method, path, code, mt)] = c["schema"]
        self.assertTrue(schemas)
        for name, schema in sorted(schemas.items()):
            with self.subTest(schema=name):
                jsonschema.Draft202012Validator.check_schema(schema)

    def test_every_ref_resolves(self):
        refs = []

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("$ref"), str):
                    refs.append(node["$ref"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(SPEC.doc)
        self.assertTrue(refs)
        for ref in sorted(set(refs)):
            with self.subTest(ref=ref):
                self.assertIsInstance(resolve({"$ref": ref}), dict)

    def test_the_checker_refuses_what_the_description_does_not_say(self):
        # The check every e2e answer goes through must be able to fail.
        problem = {"type": "/problems/not-found", "title": "Not found", "status": 404,
                   "detail": "no such thing"}
        h = harness.Headers([("Content-Type", "application/problem+json"),
                             ("X-Request-Id", "r1"), ("Cache-Control", "no-store")])
        self.assertEqual(SPEC.answer_errors("GET", "/v1/accounts/acc_1", 404, h, problem), [])
        self.assertEqual(SPEC.answer_errors("GET", "/nowhere", 418, h, problem), [])
        for status, headers, body, why in (
                (418, h, problem, "does not document"),
                (404, h, dict(problem, status="404"), "is not of type"),
                (404, h, {k: v for k, v in problem.items() if k != "title"},
                 "'title' is a required property"),
                (404, harness.Headers([("Content-Type", "text/plain")]), "x", "documented as"),
                (404, h, b"{", "not JSON")):
            with self.subTest(status=status, why=why):
                errs = SPEC.answer_errors("GET", "/v1/accounts/acc_1?x=1", status, headers, body)
                self.assertTrue(any(why in e for e in errs), errs)
        # HEAD is GET without the body: its status must be documented for GET.
        self.assertEqual(SPEC.answer_errors("HEAD", "/v1/accounts/acc_1", 404, h, b""), [])
        self.assertTrue(SPEC.answer_errors("HEAD", "/v1/accounts/acc_1", 418, h, b""))
        with self.assertRaisesRegex(AssertionError, "not documented"):
            harness.check_documented("GET", "/v1/accounts/acc_1", 418, h, b"")
        with harness.undocumented_answers():
            harness.check_documented("GET", "/v1/accounts/acc_1", 418, h, b"")
        with self.assertRaisesRegex(AssertionError, "not documented"):
            harness.check_documented("GET", "/v1/accounts/acc_1", 418, h, b"")

    def test_the_harness_checks_every_answer(self):
        # E2E_SPEC_CHECK=0 is for debugging one file; a full run must check.
        self.assertTrue(harness.spec_check(), "E2E_SPEC_CHECK=0 turned the answer check off")


# ---------------------------------------------------------------------------
# The description against the binary's route table
# ---------------------------------------------------------------------------

class DescriptionTest(SpecAssertions, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.spec = SPEC.doc
        cls.ops = SPEC.ops

    def test_is_openapi_3_1(self):
        self.assertRegex(str(self.spec.get("openapi")), r"^3\.1\.\d+$")
        for k in ("title", "version"):
            self.assertTrue((self.spec.get("info") or {}).get(k), "info.%s missing" % k)

    def test_operations_equal_served_routes(self):
        p = harness.run_craftmatchd("--routes")
        self.assertEqual(p.returncode, 0, p.stderr)
        served = []
        for line in p.stdout.splitlines():
            m = re.match(r"^([A-Z]+) (/\S*)$", line)
            self.assertTrue(m, "unexpected --routes line %r" % line)
            served.append((m.group(1), m.group(2)))
        self.assertEqual(len(served), len(set(served)), "--routes repeats a route: %r" % served)
        documented = set(self.ops)
        missing = sorted(set(served) - documented)
        extra = sorted(documented - set(served))
        msg = []
        if missing:
            msg.append("served but not in docs/openapi.yaml: " +
                       ", ".join("%s %s" % r for r in missing))
        if extra:
            msg.append("in docs/openapi.yaml but not served: " +
                       ", ".join("%s %s" % r for r in extra))
        if msg:
            self.fail("; ".join(msg))

    def test_every_operation_declares_responses(self):
        ids = set()
        for (method, path), op in sorted(self.ops.items()):
            with self.subTest(op="%s %s" % (method, path)):
                self.assertTrue(op.get("operationId"), "no operationId")
                self.assertNotIn(op["operationId"], ids, "operationId repeats")
                ids.add(op["operationId"])
                responses = op.get("responses")
                self.assertIsInstance(responses, dict, "no responses")
                self.assertTrue(responses, "no responses")
                self.assertTrue(any(str(c).startswith("2") for c in responses),
                                "no 2xx response")
                for code, resp in responses.items():
                    self.assertIsInstance(code, str, "response code %r must be a quoted "
                                          "string" % (code,))
                    self.assertRegex(code, r"^[1-5][0-9][0-9]$")
                    resp = resolve(resp)
                    self.assertTrue(resp.get("description"), "%s has no description" % code)
                    if code[0] in "45":
                        content = resp.get("content") or {}
                        self.assertEqual(list(content), ["application/problem+json"],
                                         "%s must be application/problem+json" % code)
                        schema = content["application/problem+json"].get("schema")
                        self.assertEqual(schema, {"$ref": "#/components/schemas/Problem"}, code)

    def test_problem_schema(self):
        problem = resolve({"$ref": "#/components/schemas/Problem"})
        props = problem.get("properties") or {}
        for k in ("type", "title", "status", "detail", "instance", "errors"):
            self.assertIn(k, props)
        item = resolve(props["errors"].get("items"))
        self.assertEqual(set(item.get("required", [])), {"field", "message"})

    def test_security(self):
        schemes = (self.spec.get("components") or {}).get("securitySchemes") or {}
        self.assertEqual(schemes.get("bearerAuth", {}).get("type"), "http")
        self.assertEqual(schemes.get("bearerAuth", {}).get("scheme"), "bearer")
        for key, op in sorted(self.ops.items()):
            with self.subTest(op="%s %s" % key):
                security = op.get("security", self.spec.get("security"))
                if key in SIGN_IN:
                    self.assertEqual(security, [], "signing in needs no earlier credential")
                    self.assertIn("401", op["responses"])
                elif key in PUBLIC:
                    self.assertEqual(security, [], "a public route must say security: []")
                    self.assertNotIn("401", op["responses"])
                else:
                    self.assertIsInstance(security, list, "no security requirement")
                    self.assertIn({"bearerAuth": []}, security)
                    self.assertNotIn({}, security, "{} would make authentication optional")
                    self.assertIn("401", op["responses"])

    def test_parameters_and_headers(self):
        for (method, path), op in sorted(self.ops.items()):
            with self.subTest(op="%s %s" % (method, path)):
                params = [resolve(p) for p in op.get("parameters", [])]
                declared = {p["name"] for p in params if p.get("in") == "path"}
                for p in params:
                    if p.get("in") == "path":
                        self.assertIs(p.get("required"), True, p["name"])
                self.assertEqual(declared, set(re.findall(r"\{([^}/]+)\}", path)),
                                 "path parameters")
                header_params = {p["name"] for p in params if p.get("in") == "header"}
                if method == "POST":
                    self.assertIn("requestBody", op)
                # Every POST honours Idempotency-Key (creates replay the first
                # result, match actions the match as it stands; test_matches
                # proves the actions do) except the one-shots above.
                if method == "POST" and (method, path) not in NO_IDEMPOTENCY_KEY:
                    self.assertIn("Idempotency-Key", header_params)
                if (method, path) in NO_IDEMPOTENCY_KEY:
                    self.assertNotIn("Idempotency-Key", header_params)
                if method == "PATCH":
                    self.assertIn("If-Match", header_params)
                    self.assertIn("requestBody", op)
                for code, resp in op["responses"].items():
                    headers = resolve(resp).get("headers") or {}
                    if code == "503":
                        self.assertIn("Retry-After", headers)
                    if code == "201":
                        self.assertIn("Location", headers)
                    if code not in ("411", "413"):  # refused before a request id exists
                        self.assertIn("X-Request-Id", headers, code)
        query = {resolve(p)["name"] for p in self.ops[("GET", "/v1/listings")]
                 .get("parameters", []) if resolve(p).get("in") == "query"}
        self.assertEqual(query, LISTING_FILTERS)

    def test_listing_request_schemas_name_every_field(self):
        schemas = self.spec["components"]["schemas"]
        need = set(schemas["NeedCreate"]["properties"])
        offer = set(schemas["OfferCreate"]["properties"])
        self.assertLessEqual({"needed_by", "accept_substitutes"}, need - offer)
        self.assertLessEqual({"available_from", "available_until", "min_order"}, offer - need)
        for name, prop in schemas["ListingPatch"]["properties"].items():
            self.assertLessEqual(set(prop.get("x-applies-to", [])), {"need", "offer"}, name)
            self.assertTrue(prop.get("x-applies-to"), "%s: x-applies-to missing" % name)


# ---------------------------------------------------------------------------
# The description against a running server
# ---------------------------------------------------------------------------

class LiveTest(SpecAssertions, harness.SharedDaemonTestCase):

    spec = SPEC.doc
    ops = SPEC.ops

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        cls.admin = create_admin(cls.redis.url)

    def call(self, method, template, token=None, body=None, headers=None, ids=None, query=""):
        """One request to a documented operation; the answer must be documented."""
        op = self.ops[(method, template)]
        path = fill_path(op, template, ids) + query
        status, h, b = self.daemon.request(method, path, body=body, headers=headers, token=token)
        self.assertDocumented((method, template), status, h, b)
        return status, h, b

    def test_without_token_every_private_operation_is_401_and_public_ones_answer(self):
        for (method, template), op in sorted(self.ops.items()):
            with self.subTest(op="%s %s" % (method, template)):
                body = {} if method in ("POST", "PATCH", "PUT") else None
                status, h, b = self.call(method, template, body=body,
                                         query=PUBLIC_QUERY.get((method, template), ""))
                if (method, template) in SIGN_IN:
                    # no code at all: refused (CSRF rule first), never signed in
                    self.assertProblem(status, h, b, 403)
                    self.assertNotIn("Set-Cookie", h)
                elif (method, template) in PUBLIC:
                    self.assertNotEqual(status, 401)
                    self.assertTrue(200 <= status < 300, (status, b))
                else:
                    self.assertProblem(status, h, b, 401)
                    self.assertEqual(b["type"], "/problems/unauthorized")
                    self.assertIn("WWW-Authenticate", h)

    def test_bad_token_is_401(self):
        status, h, b = self.call("GET", "/v1/me", token="cm_" + "A" * 43)
        self.assertProblem(status, h, b, 401)

    def test_reference_etag_and_304(self):
        for template in ("/v1/provinces", "/v1/materials"):
            with self.subTest(path=template):
                status, h, _ = self.call("GET", template)
                self.assertEqual(status, 200)
                status, h, _ = self.call("GET", template, headers={"If-None-Match": h["ETag"]})
                self.assertEqual(status, 304)

    def test_walk(self):
        admin, key = self.admin, self.id().rsplit(".", 1)[-1]
        j = {"Content-Type": "application/json"}

        def idem(name):
            return {"Idempotency-Key": "%s-%s" % (key, name)}

        status, _, me = self.call("GET", "/v1/me", token=admin)
        self.assertEqual((status, me["role"]), (200, "admin"))

        # Accounts: an organiser (moderator) for Hà Nội, who registers a village.
        mod_body = {"role": "moderator", "name": "Trung tâm Khuyến công Hà Nội",
                    "province": "Hà Nội", "scope": {"provinces": ["HN"],
                                                    "forums": ["dien-dan-2026"]},
                    "contact": {"phone": "024 3382 4126", "email": "kc@example.vn"}}
        status, h, mod = self.call("POST", "/v1/accounts", admin, mod_body, idem("mod"))
        self.assertEqual(status, 201)
        self.assertEqual(h["Location"], "/v1/accounts/" + mod["id"])
        status, h, again = self.call("POST", "/v1/accounts", admin, mod_body, idem("mod"))
        self.assertEqual((status, again["id"], h.get("Idempotent-Replayed")),
                         (201, mod["id"], "true"))
        status, _, b = self.call("POST", "/v1/accounts", admin, dict(mod_body, name="Khác"),
                                 idem("mod"))
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("POST", "/v1/accounts", admin,
                                 {"role": "village", "name": "", "bogus": 1})
        self.assertProblem(status, _, b, 400)
        self.assertEqual(b["type"], "/problems/validation")
        self.assertEqual({e["field"] for e in b["errors"]}, {"name", "province", "bogus"})
        status, _, b = self.call("POST", "/v1/accounts", admin, "{", headers=j)
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("POST", "/v1/accounts", admin, "{}",
                                 headers={"Content-Type": "text/plain"})
        self.assertProblem(status, _, b, 415)
        status, _, b = self.call("POST", "/v1/accounts", admin, mod_body,
                                 headers={"Idempotency-Key": "has space"})
        self.assertProblem(status, _, b, 400)

        status, h, tok = self.call("POST", "/v1/tokens", admin,
                                   {"account_id": mod["id"], "name": "demo"}, idem("modtok"))
        self.assertEqual(status, 201)
        self.assertEqual(h["Location"], "/v1/tokens/" + tok["id"])
        modt = tok["token"]
        status, _, b = self.call("POST", "/v1/tokens", admin,
                                 {"account_id": mod["id"], "name": "demo"}, idem("modtok"))
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("POST", "/v1/tokens", admin, {"account_id": "acc_" + "0" * 20})
        self.assertProblem(status, _, b, 404)

        village_body = {"role": "village", "name": "Hợp tác xã gốm sứ Bát Tràng",
                        "province": "Hà Nội", "commune": "Bát Tràng",
                        "contact": {"phone": "0912 345 678"}}
        status, _, village = self.call("POST", "/v1/accounts", modt, village_body)
        self.assertEqual(status, 201)
        status, _, b = self.call("POST", "/v1/accounts", modt,
                                 dict(village_body, province="Ninh Bình"))
        self.assertProblem(status, _, b, 403)
        status, _, vt = self.call("POST", "/v1/tokens", modt, {"account_id": village["id"]})
        self.assertEqual(status, 201)
        village_t = vt["token"]
        status, _, supplier = self.call("POST", "/v1/accounts", admin, {
            "role": "supplier", "name": "Công ty Cao lanh Trúc Thôn", "province": "Hải Dương",
            "contact": {"phone": "0220 3882 123"}})
        self.assertEqual(status, 201)
        status, _, st = self.call("POST", "/v1/tokens", admin, {"account_id": supplier["id"]})
        supplier_t = st["token"]
        status, _, b = self.call("POST", "/v1/tokens", modt, {"account_id": supplier["id"]})
        self.assertProblem(status, _, b, 403)

        status, _, seen = self.call("GET", "/v1/accounts/{id}", supplier_t,
                                    ids={"id": village["id"]})
        self.assertEqual(status, 200)
        self.assertNotIn("contact", seen)
        status, _, seen = self.call("GET", "/v1/accounts/{id}", modt, ids={"id": village["id"]})
        self.assertIn("contact", seen)
        status, _, b = self.call("GET", "/v1/accounts/{id}", modt)
        self.assertProblem(status, _, b, 404)

        # Forums: the organiser creates one and opens it; the need below registers for it.
        forum_body = {"id": "dien-dan-2026", "name": "Diễn đàn kết nối cung cầu Hà Nội 2026",
                      "provinces": ["HN", "Bắc Ninh"], "venue": "Cầu Giấy, Hà Nội",
                      "registration_opens": "2099-01-01", "registration_closes": "2099-01-20",
                      "forum_day": "2099-01-22", "materials": ["kaolin"]}
        status, h, forum = self.call("POST", "/v1/forums", modt, forum_body, idem("forum"))
        self.assertEqual((status, h["Location"], forum["state"]),
                         (201, "/v1/forums/dien-dan-2026", "draft"))
        status, _, b = self.call("POST", "/v1/forums", modt, forum_body)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("PATCH", "/v1/forums/{id}", modt, {"forum_day": "2098-01-01"},
                                 ids={"id": "dien-dan-2026"})
        self.assertProblem(status, _, b, 400)
        status, _, forum = self.call("POST", "/v1/forums/{id}/open", modt,
                                     ids={"id": "dien-dan-2026"})
        self.assertEqual((status, forum["state"]), (200, "open"))
        status, _, page = self.call("GET", "/v1/forums", admin, query="?state=open&province=HN")
        self.assertEqual([f["id"] for f in page["items"]], ["dien-dan-2026"])

        # Listings: a need, an offer, search, change, close.
        need_body = {"material": "kaolin", "grade": "B", "quantity": "12.5", "unit": "tấn",
                     "price_vnd": 2500000, "price_unit": "tan", "province": "Hà Nội",
                     "commune": "Bát Tràng", "needed_by": "2099-12-20", "max_distance_km": 300,
                     "accept_substitutes": True, "note": "Cao lanh cho men gốm",
                     "forum": "dien-dan-2026", "location": {"lat": 20.975, "lon": 105.912}}
        status, h, need = self.call("POST", "/v1/needs", village_t, need_body, idem("need"))
        self.assertEqual(status, 201)
        self.assertEqual(h["Location"], "/v1/listings/" + need["id"])
        self.assertEqual(need["quantity"]["base"], 12500)
        status, h, again = self.call("POST", "/v1/needs", village_t, need_body, idem("need"))
        self.assertEqual((status, again["id"]), (201, need["id"]))
        status, _, b = self.call("POST", "/v1/needs", village_t,
                                 {"material": "kaolin", "quantity": "1,5", "min_order": 1})
        self.assertProblem(status, _, b, 400)
        self.assertLessEqual({"quantity", "min_order", "province", "needed_by"},
                             {e["field"] for e in b["errors"]})
        status, _, b = self.call("POST", "/v1/offers", village_t, {})
        self.assertProblem(status, _, b, 403)
        offer_body = {"material": "kaolin", "grade": "A", "quantity": "200", "unit": "tan",
                      "price_vnd": 1800000, "min_order": "5", "province": "Hải Dương",
                      "available_until": "2099-01-31", "note": "Cao lanh lọc, độ trắng cao"}
        status, _, offer = self.call("POST", "/v1/offers", supplier_t, offer_body, idem("offer"))
        self.assertEqual(status, 201)

        status, _, page = self.call("GET", "/v1/listings", village_t, query="?q=bat%20trang")
        self.assertEqual([x["id"] for x in page["items"]], [need["id"]])
        status, _, page = self.call("GET", "/v1/listings", village_t,
                                    query="?q=HAI+DUONG&kind=offer&material=kaolin")
        self.assertEqual([x["id"] for x in page["items"]], [offer["id"]])
        status, _, page = self.call("GET", "/v1/listings", village_t, query="?limit=1")
        self.assertEqual(len(page["items"]), 1)
        self.assertIsNotNone(page["next_cursor"])
        status, _, page2 = self.call("GET", "/v1/listings", village_t,
                                     query="?limit=1&cursor=" + page["next_cursor"])
        self.assertEqual(status, 200)
        self.assertNotEqual(page2["items"][0]["id"], page["items"][0]["id"])
        status, _, page = self.call("GET", "/v1/needs", village_t,
                                    query="?owner=me&province=Ha%20Noi&forum=dien-dan-2026")
        self.assertEqual([x["id"] for x in page["items"]], [need["id"]])
        status, _, page = self.call("GET", "/v1/offers", village_t, query="?status=any")
        self.assertEqual([x["id"] for x in page["items"]], [offer["id"]])
        status, _, b = self.call("GET", "/v1/listings", village_t, query="?colour=red")
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("GET", "/v1/needs", village_t, query="?kind=offer&limit=0")
        self.assertProblem(status, _, b, 400)

        ids = {"id": need["id"]}
        status, h, got = self.call("GET", "/v1/listings/{id}", supplier_t, ids=ids)
        self.assertEqual((status, h["ETag"]), (200, '"1"'))
        status, _, b = self.call("PATCH", "/v1/listings/{id}", village_t, {"quantity": "15"},
                                 {"If-Match": '"9"'}, ids)
        self.assertProblem(status, _, b, 412)
        status, h, patched = self.call("PATCH", "/v1/listings/{id}", village_t,
                                       {"quantity": "15", "note": None}, {"If-Match": '"1"'},
                                       ids)
        self.assertEqual((status, h["ETag"], patched["quantity"]["base"]), (200, '"2"', 15000))
        self.assertNotIn("note", patched)
        status, _, b = self.call("PATCH", "/v1/listings/{id}", village_t,
                                 {"material": "clay"}, ids=ids)
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("PATCH", "/v1/listings/{id}", supplier_t, {"quantity": 1},
                                 ids=ids)
        self.assertProblem(status, _, b, 403)
        status, _, b = self.call("DELETE", "/v1/listings/{id}", supplier_t, ids=ids)
        self.assertProblem(status, _, b, 403)
        status, _, closed = self.call("DELETE", "/v1/listings/{id}", modt, ids=ids)
        self.assertEqual((status, closed["status"]), (200, "closed"))
        status, _, b = self.call("DELETE", "/v1/listings/{id}", village_t, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("PATCH", "/v1/listings/{id}", village_t, {"quantity": 1},
                                 ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("GET", "/v1/listings/{id}", village_t)
        self.assertProblem(status, _, b, 404)

        # Sessions: a browser signs in with a code of its own, and out again.
        code = self.call("POST", "/v1/tokens", modt, {"account_id": village["id"]})[2]["token"]
        app = {"X-Craftmatch": "1", "Origin": "http://127.0.0.1:%d" % self.daemon.port}
        status, h, b = self.call("POST", "/v1/sessions", body={"code": code})
        self.assertProblem(status, h, b, 403)
        status, h, b = self.call("POST", "/v1/sessions", body={"code": code + "x"}, headers=app)
        self.assertProblem(status, h, b, 401)
        status, h, signed = self.call("POST", "/v1/sessions", body={"code": code}, headers=app)
        self.assertEqual((status, signed["account"]["id"]), (201, village["id"]))
        cookie = {"Cookie": h["Set-Cookie"].split(";")[0]}
        status, _, me = self.call("GET", "/v1/me", headers=cookie)
        self.assertEqual((status, me["id"]), (200, village["id"]))
        status, h, b = self.call("DELETE", "/v1/sessions/current", headers=cookie)
        self.assertProblem(status, h, b, 403)
        status, h, b = self.call("DELETE", "/v1/sessions/current", village_t)
        self.assertProblem(status, h, b, 404)
        status, _, _ = self.call("DELETE", "/v1/sessions/current", headers=dict(cookie, **app))
        self.assertEqual(status, 204)
        status, h, b = self.call("GET", "/v1/me", headers=cookie)
        self.assertProblem(status, h, b, 401)

        # Tokens: list, revoke, and the revoked token is refused.
        status, _, mine = self.call("GET", "/v1/tokens", village_t)
        self.assertEqual([t["id"] for t in mine["items"]], [vt["id"]])
        self.assertTrue(mine["items"][0]["current"])
        status, _, b = self.call("DELETE", "/v1/tokens/{id}", supplier_t, ids={"id": vt["id"]})
        self.assertProblem(status, _, b, 404)
        status, _, _ = self.call("DELETE", "/v1/tokens/{id}", village_t, ids={"id": vt["id"]})
        self.assertEqual(status, 204)
        status, h, b = self.call("GET", "/v1/me", village_t)
        self.assertProblem(status, h, b, 401)


class MatchLiveTest(LiveTest):
    """The match life cycle, on a daemon of its own (the engine proposes)."""

    def test_match_life(self):
        admin = self.admin
        _, _, mod = self.call("POST", "/v1/accounts", admin, {
            "role": "moderator", "name": "Trung tâm Khuyến công Hà Nội", "province": "HN",
            "scope": {"provinces": ["HN"]}})
        modt = self.call("POST", "/v1/tokens", admin, {"account_id": mod["id"]})[2]["token"]
        _, _, village = self.call("POST", "/v1/accounts", modt, {
            "role": "village", "name": "Hợp tác xã Gốm sứ Bát Tràng", "province": "Hà Nội",
            "contact": {"phone": "0912 345 678"}})
        vt = self.call("POST", "/v1/tokens", modt, {"account_id": village["id"]})[2]["token"]
        _, _, supplier = self.call("POST", "/v1/accounts", admin, {
            "role": "supplier", "name": "Công ty CP Đất sét Đông Triều",
            "province": "Quảng Ninh", "contact": {"email": "ban-hang@example.vn"}})
        st = self.call("POST", "/v1/tokens", admin, {"account_id": supplier["id"]})[2]["token"]
        status, _, need = self.call("POST", "/v1/needs", vt, {
            "material": "kaolin", "grade": "B", "quantity": "10", "unit": "tấn",
            "price_vnd": 3000000, "province": "Hà Nội", "needed_by": "2099-12-31"})
        self.assertEqual(status, 201)
        status, _, offer = self.call("POST", "/v1/offers", st, {
            "material": "kaolin", "grade": "A", "quantity": "50", "unit": "tấn",
            "price_vnd": 2000000, "min_order": "1", "province": "Quảng Ninh"})
        self.assertEqual(status, 201)

        def proposed():
            page = self.call("GET", "/v1/matches", admin, query="?listing=" + need["id"])[2]
            return page["items"]
        # The need and offer fit (same material, grade A for B, price, quantity):
        # no proposal is a failure of the engine, never a reason to skip.
        items = harness.wait_for(proposed, 15.0, interval=0.2,
                                 message="the engine to propose the need and offer")
        m = items[0]
        self.assertEqual((m["state"], m["need"]["id"], m["offer"]["id"]),
                         ("proposed", need["id"], offer["id"]))
        ids = {"id": m["id"]}
        ONE, ACT = "/v1/matches/{id}", "/v1/matches/{id}/%s"

        status, h, got = self.call("GET", ONE, modt, ids=ids)
        self.assertEqual((status, h["ETag"]), (200, '"1"'))
        status, _, b = self.call("GET", ONE, vt, ids=ids)  # parties see it once approved
        self.assertProblem(status, _, b, 404)
        status, _, b = self.call("POST", ACT % "accept", vt, ids=ids)
        self.assertProblem(status, _, b, 404)
        status, _, b = self.call("POST", ACT % "reject", modt, {}, ids=ids)
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("POST", ACT % "approve", modt, "{}", ids=ids,
                                 headers={"Content-Type": "text/plain"})
        self.assertProblem(status, _, b, 415)
        status, _, got = self.call("POST", ACT % "approve", modt, ids=ids)
        self.assertEqual((status, got["state"]), (200, "approved"))
        self.assertEqual(got["reviewed_by"], mod["id"])
        status, _, b = self.call("POST", ACT % "approve", modt, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, page = self.call("GET", "/v1/matches", vt, query="?state=approved")
        self.assertEqual([x["id"] for x in page["items"]], [m["id"]])
        status, _, b = self.call("POST", ACT % "fulfil", vt, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, got = self.call("POST", ACT % "accept", vt, {"reason": "Đồng ý"}, ids=ids)
        self.assertEqual((status, got["state"], got["accepted"]),
                         (200, "accepted", {"need": True, "offer": False}))
        self.assertNotIn("counterparty", got)
        status, _, b = self.call("POST", ACT % "accept", vt, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, got = self.call("POST", ACT % "accept", st, ids=ids)
        self.assertEqual(got["state"], "confirmed")
        self.assertEqual(got["counterparty"]["id"], village["id"])
        status, _, got = self.call("GET", ONE, vt, ids=ids)
        self.assertEqual(got["counterparty"]["contact"], {"email": "ban-hang@example.vn"})
        status, _, b = self.call("POST", ACT % "decline", st, {"bogus": 1}, ids=ids)
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("POST", ACT % "fulfil", st, ids=ids)
        self.assertProblem(status, _, b, 403)
        status, _, got = self.call("POST", ACT % "fulfil", vt,
                                   {"delivered": "9.5", "unit": "tấn"}, ids=ids)
        self.assertEqual((status, got["state"], got["delivered_base"]), (200, "fulfilled", 9500))
        status, _, b = self.call("POST", ACT % "cancel", modt, {"reason": "nhầm"}, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("POST", ACT % "decline", vt, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("GET", "/v1/matches", vt, query="?state=nope&colour=red")
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("GET", ONE, admin)
        self.assertProblem(status, _, b, 404)

    # The inherited tests run once, on LiveTest's daemon.
    test_without_token_every_private_operation_is_401_and_public_ones_answer = None
    test_bad_token_is_401 = None
    test_reference_etag_and_304 = None
    test_walk = None


class StalledRedisTest(SpecAssertions, harness.TestCase):

    def test_stalled_redis_is_a_documented_503_with_retry_after(self):
        self.spec = SPEC.doc
        redis = self.start_redis()
        d = self.start_daemon(redis, "--redis-timeout-ms", "300")
        token = create_admin(redis.url)
        status, h, b = d.request("GET", "/v1/me", token=token)
        self.assertDocumented(("GET", "/v1/me"), status, h, b)
        self.assertEqual(status, 200)
        redis.pause()
        try:
            for method, path, query in (("GET", "/readyz", ""), ("GET", "/v1/me", ""),
                                        ("GET", "/v1/listings", "?q=bat+trang")):
                with self.subTest(op="%s %s" % (method, path)):
                    status, h, b = d.request(method, path + query, token=token)
                    self.assertProblem(status, h, b, 503)
                    self.assertDocumented((method, path), status, h, b)
                    self.assertRegex(h["Retry-After"], r"^\d+$")
        finally:
            redis.resume()
        d.wait_ready()


if __name__ == "__main__":
    harness.main()
