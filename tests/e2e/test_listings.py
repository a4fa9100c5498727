"""
e2e: listings — needs from craft villages, offers from suppliers: posting,
reading, searching, changing, closing and expiry.

Proves:
- POST /v1/needs (village) and /v1/offers (supplier) store exactly what was
  sent, quantities converted exactly to the material's base unit with the
  factors GET /v1/materials publishes ("12.5" tạ → 1250 kg, "0.125" m³ →
  125 dm³); a quantity that is not a whole number of the base unit is a 400;
  a body with every field wrong gets one problem listing every field; a
  refused request writes nothing (no listing, no event).
- GET /v1/listings/{id} answers the same document as the 201, with ETag.
- GET /v1/listings filters by kind, material, province (former names too),
  status (open by default; closed, expired, any), owner (an id or "me"),
  forum, and q — accent- and case-insensitive, "đ" folding to "d"; an unknown
  filter or a bad value is a 400 naming it; the cursor walks 45 listings in
  pages of 20 newest first, each exactly once.
- PATCH by the owner changes price, quantity, note and dates, with the
  version as ETag and If-Match (stale → 412, nothing changed); others get
  403; fields that cannot change get 400; quantity below what is allocated
  gets 409.
- DELETE closes (owner, moderator in scope by province or forum, admin);
  others get 403; closing again 409; closed listings do not change.
- Expiry is a timer: a need due in ~2 s becomes `expired` in Redis with no
  request in between; moving the date out keeps it open.
- Idempotency-Key on POST /v1/needs: a retry returns the same listing and
  writes nothing more; the same key with another body is a 409.
- Invariant 4: each create, update, close and expiry appends exactly one
  event of the right type (listing.created/updated/closed/expired) with the
  new version and status; refused requests append none.
"""
import json
import threading
import time
import unittest

import fixtures
import harness

EXPIRY_WAIT = 30.0  # functional deadline for the expiry timer (sweeps every 100 ms)


def run_concurrently(n, fn):
    """fn(0..n-1) on n threads released at once; returns the results in order."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def work(i):
        barrier.wait(harness.HTTP_TIMEOUT)
        try:
            results[i] = fn(i)
        except Exception as e:  # reported by the caller's assertions
            results[i] = (None, {}, repr(e))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(harness.HTTP_TIMEOUT * 3)
    return results


class ListingsTest(fixtures.ApiTestCase):
    daemon_args = ("--expiry-interval-ms", "100")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            api, admin = cls.api, cls.admin
            cls.village = api.make_actor(admin, "village", "village-HN",
                                         name="HTX Gốm sứ Bát Tràng", commune="Bát Tràng")
            cls.other_village = api.make_actor(admin, "village", "village-BN",
                                               name="Làng nghề gỗ Đồng Kỵ", province="Bắc Ninh",
                                               commune="Đồng Kỵ")
            cls.supplier = api.make_actor(admin, "supplier", "supplier-HP",
                                          name="Cơ sở đất sét Chí Linh")
            cls.other_supplier = api.make_actor(admin, "supplier", "supplier-NB",
                                                name="Mỏ cao lanh Ninh Bình", province="NB")
            cls.mod_hn = api.make_actor(admin, "moderator", "moderator-HN",
                                        scope={"provinces": ["HN"]})
            cls.mod_out = api.make_actor(admin, "moderator", "moderator-LS",
                                         scope={"provinces": ["Lạng Sơn"]})
        except BaseException:
            cls._close_shared()
            raise

    # -- helpers --

    def n_listings(self):
        return self.rc.execute("ZCARD", "cm:listings")

    def n_events(self):
        return self.rc.execute("XLEN", "cm:events")

    def snapshot(self):
        return self.n_listings(), self.n_events()

    def assertNothingWritten(self, snap):
        self.assertEqual(self.snapshot(), snap, "(listings, events) changed")

    def rhash(self, lid):
        flat = self.rc.execute("HGETALL", "cm:listing:" + lid)
        return dict(zip(flat[0::2], flat[1::2]))

    def ids(self, items):
        return [i["id"] for i in items]

    def patch(self, actor, lid, body, if_match=None):
        headers = {"If-Match": if_match} if if_match is not None else None
        return self.api.call(actor, "PATCH", "/v1/listings/" + lid, body, headers)

    def close(self, actor, lid):
        return self.api.call(actor, "DELETE", "/v1/listings/" + lid)

    def assertEventTypes(self, lid, types, after="0-0"):
        got = fixtures.listing_events(self.rc, lid, after)
        self.assertEqual([t for t, _ in got], types, got)
        return [f for _, f in got]

    # -- posting --

    def test_post_need(self):
        mats = fixtures.check_reference(self, self.api)
        factor = {u["code"]: u["factor"] for u in mats["clay"]["units"]}
        day = fixtures.vn_date(45)
        body = fixtures.need_body(quantity="12.5", unit="ta", price_vnd=1800000,
                                  price_unit="tan", needed_by=day,
                                  location={"lat": 20.975, "lon": 105.912},
                                  note="Cần đất sét dẻo cho lò gas, giao tại Bát Tràng")
        snap = self.snapshot()
        status, headers, doc = self.api.call(self.village, "POST", "/v1/needs", body)
        self.assertEqual(status, 201, doc)
        self.assertEqual(harness.media_type(headers), "application/json")
        lid = doc["id"]
        self.assertRegex(lid, fixtures.ID_RE["lst"])
        self.assertEqual(headers.get("Location"), "/v1/listings/" + lid)
        self.assertEqual(headers.get("ETag"), '"1"')
        self.assertEqual(doc["kind"], "need")
        self.assertEqual(doc["material"]["code"], "clay")
        self.assertEqual(doc["grade"], "A")
        self.assertEqual(doc["quantity"], {"amount": "12.5", "unit": "ta",
                                           "base": 1250, "base_unit": "kg"})
        self.assertEqual(1250, 12.5 * factor["ta"])
        self.assertEqual(doc["price"], {"vnd": 1800000, "unit": "tan", "factor": 1000})
        self.assertEqual(doc["province"]["code"], "HN")
        self.assertEqual(doc["commune"], "Bát Tràng")
        self.assertEqual(doc["needed_by"], fixtures.ms_to_rfc3339(fixtures.vn_day_end_ms(day)))
        self.assertAlmostEqual(doc["location"]["lat"], 20.975, places=5)
        self.assertAlmostEqual(doc["location"]["lon"], 105.912, places=5)
        self.assertEqual(doc["max_distance_km"], 300)
        self.assertIs(doc["accept_substitutes"], False)
        self.assertEqual(doc["note"], body["note"])
        self.assertEqual(doc["owner"], {"id": self.village.id, "name": self.village.name})
        self.assertEqual(doc["status"], "open")
        self.assertEqual(doc["version"], 1)
        self.assertEqual(doc["remaining"]["base"], 1250)
        self.assertEqual(doc["allocated"]["base"], 0)
        self.assertRegex(doc["created_at"], fixtures.TIME_RE)
        self.assertEqual(doc["created_at"], doc["updated_at"])
        for k in ("lat_udeg", "fold", "seq"):
            self.assertNotIn(k, doc)
        # what Redis holds
        h = self.rhash(lid)
        self.assertEqual((h["kind"], h["owner"], h["material"], h["province"], h["status"],
                          h["quantity"], h["remaining"], h["version"]),
                         ("need", self.village.id, "clay", "HN", "open", "1250", "1250", "1"))
        self.assertEqual(self.snapshot(), (snap[0] + 1, snap[1] + 1))
        ev = self.assertEventTypes(lid, ["listing.created"])
        self.assertEqual((ev[0]["version"], ev[0]["status"], ev[0]["remaining"], ev[0]["by"]),
                         ("1", "open", "1250", self.village.id))
        # read back: the same document
        got = self.api.call(self.supplier, "GET", "/v1/listings/" + lid)
        self.assertEqual(got[0], 200, got[2])
        self.assertEqual(got[1].get("ETag"), '"1"')
        self.assertEqual(got[2], doc)
        # the owner's contact details never appear in a listing (only in confirmed matches)
        for viewer in (self.supplier, self.village, self.admin):
            raw = self.api.call_raw(viewer, "GET", "/v1/listings/" + lid)[2].decode()
            raw += self.api.call_raw(viewer, "GET", "/v1/listings?owner=" +
                                     self.village.id)[2].decode()
            for v in self.village.doc["contact"].values():
                self.assertNotIn(v, raw)
            self.assertNotIn("contact", raw)

    def test_post_offer(self):
        frm, until = fixtures.vn_date(2), fixtures.vn_date(90)
        body = fixtures.offer_body(quantity="20", unit="tan", min_order="2.5",  # 2500 kg
                                   price_vnd=1500000, price_unit="tan", available_from=frm,
                                   available_until=until)
        status, headers, doc = self.api.call(self.supplier, "POST", "/v1/offers", body)
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc["kind"], "offer")
        self.assertEqual(doc["grade"], "B")
        self.assertEqual(doc["quantity"], {"amount": "20", "unit": "tan", "base": 20000,
                                           "base_unit": "kg"})
        self.assertEqual(doc["min_order"]["base"], 2500)
        self.assertEqual(doc["min_order"]["unit"], "tan")
        self.assertEqual(doc["province"]["code"], "HP")      # "Hải Dương" is now Hải Phòng
        self.assertEqual(doc["province_input"], "Hải Dương")
        self.assertEqual(doc["available_from"],
                         fixtures.ms_to_rfc3339(fixtures.vn_day_start_ms(frm)))
        self.assertEqual(doc["available_until"],
                         fixtures.ms_to_rfc3339(fixtures.vn_day_end_ms(until)))
        self.assertEqual(doc["owner"]["id"], self.supplier.id)
        self.assertEqual((doc["status"], doc["version"]), ("open", 1))
        self.assertEqual(self.api.get_listing(self.village, doc["id"]), doc)
        self.assertEventTypes(doc["id"], ["listing.created"])

    def test_units_convert_exactly(self):
        fixtures.check_reference(self, self.api)
        ok = [("clay", "12.5", "ta", 1250), ("clay", "12.5", "tạ", 1250),
              ("clay", "0.001", "tan", 1), ("clay", "3", "yen", 30), ("clay", "7", "kg", 7),
              ("clay", "1.25", "tấn", 1250), ("clay", "12.50", "ta", 1250),
              ("clay", "999999.999", "tan", 999999999),
              (fixtures.TIMBER, "0.125", "m3", 125), (fixtures.TIMBER, "40", "dm3", 40)]
        for material, qty, unit, base in ok:
            with self.subTest(quantity=qty, unit=unit):
                doc = self.api.post_need(self.village, material=material, grade="A",
                                         quantity=qty, unit=unit, price_vnd=fixtures.DELETE,
                                         price_unit=fixtures.DELETE)
                self.assertEqual(doc["quantity"]["base"], base)
                self.assertEqual(doc["remaining"]["base"], base)
                self.assertEqual(self.rhash(doc["id"])["quantity"], str(base))
        snap = self.snapshot()
        bad = [("clay", "12.345", "ta"), ("clay", "0.5", "kg"), ("clay", "0.0001", "tan"),
               ("clay", "1.01", "yen"), (fixtures.TIMBER, "0.0005", "m3"),
               ("clay", "0", "kg"), ("clay", "-1", "kg"), ("clay", "1e3", "kg"),
               ("clay", "1,5", "ta"), ("clay", "abc", "kg"), ("clay", "", "kg")]
        for material, qty, unit in bad:
            with self.subTest(bad_quantity=qty, unit=unit):
                resp = self.api.call(self.village, "POST", "/v1/needs",
                                     fixtures.need_body(material=material, quantity=qty,
                                                        unit=unit, price_vnd=fixtures.DELETE,
                                                        price_unit=fixtures.DELETE))
                self.assertValidation(resp, ["quantity"])
        self.assertNothingWritten(snap)

    def test_json_number_quantities(self):
        # A JSON integer is accepted as a quantity: it is exact as written.
        for raw, unit, base in ((b"3", "tan", 3000), (b"1250", "kg", 1250), (b"125", "ta", 12500)):
            with self.subTest(quantity=raw, unit=unit):
                data = json.dumps(fixtures.need_body(unit=unit)).replace(
                    '"quantity": "12.5"', '"quantity": ' + raw.decode())
                self.assertIn('"quantity": ' + raw.decode(), data)
                status, _, doc = self.api.call(self.village, "POST", "/v1/needs", data.encode(),
                                               {"Content-Type": "application/json"})
                self.assertEqual(status, 201, doc)
                self.assertEqual(doc["quantity"]["base"], base)

    def test_json_number_quantities_not_rounded(self):
        # A JSON real is refused as a quantity, even one that looks exact:
        # once parsed it is a double, and 1.0000000000000001 kg cannot be told
        # from 1 kg (invariant 8: quantities are exact). A fraction goes in a
        # decimal string ("12.5") instead.
        snap = self.snapshot()
        for raw, unit in ((b"12.5", "ta"), (b"12.0", "ta"), (b"0.125", "tan"),
                          (b"1.0000000000000001", "kg"), (b"0.30000000000000001", "tan"),
                          (b"1250.0000000000001", "kg"), (b"1e3", "kg")):
            with self.subTest(quantity=raw, unit=unit):
                data = json.dumps(fixtures.need_body(unit=unit)).replace(
                    '"quantity": "12.5"', '"quantity": ' + raw.decode())
                self.assertIn('"quantity": ' + raw.decode(), data)
                resp = self.api.call(self.village, "POST", "/v1/needs", data.encode(),
                                     {"Content-Type": "application/json"})
                self.assertValidation(resp, ["quantity"])
                self.assertIn('as a string, e.g. "12.5"', resp[2]["errors"][0]["message"])
        self.assertNothingWritten(snap)

    def test_every_field_wrong_one_problem(self):
        snap = self.snapshot()
        need = {"material": "clay", "grade": "Z", "quantity": "1.2.3", "unit": "bushel",
                "price_vnd": 0, "price_unit": "thùng", "province": "Atlantis", "commune": 7,
                "location": {"lat": 95, "lon": "east"}, "needed_by": "2027-02-30",
                "max_distance_km": 0, "accept_substitutes": "yes", "note": "x" * 2001,
                "forum": "Bad Forum", "available_from": "2027-01-01", "colour": "red"}
        resp = self.api.call(self.village, "POST", "/v1/needs", need)
        self.assertValidation(resp, ["grade", "quantity", "unit", "price_vnd", "price_unit",
                                     "province", "commune", "location.lat", "location.lon",
                                     "needed_by", "max_distance_km", "accept_substitutes",
                                     "note", "forum", "available_from", "colour"])
        self.assertEqual(resp[2]["detail"], "16 fields are not valid; see errors")

        offer = {"material": "unobtainium", "grade": 1, "quantity": -3, "price_vnd": "1000",
                 "province": 12, "location": [21, 105], "available_from": "tomorrow",
                 "max_distance_km": 5001, "note": 5, "forum": "-x", "needed_by": "2027-01-01",
                 "min_order": "many"}
        resp = self.api.call(self.supplier, "POST", "/v1/offers", offer)
        self.assertValidation(resp, ["material", "grade", "quantity", "price_vnd", "province",
                                     "location", "available_from", "max_distance_km", "note",
                                     "forum", "needed_by", "min_order"])
        # the dates of an offer checked together
        resp = self.api.call(self.supplier, "POST", "/v1/offers", fixtures.offer_body(
            available_from=fixtures.vn_date(10), available_until=fixtures.vn_date(5)))
        self.assertValidation(resp, ["available_until"])
        # required fields, all at once
        self.assertValidation(self.api.call(self.supplier, "POST", "/v1/offers", {}),
                              ["material", "grade", "quantity", "price_vnd", "province"])
        self.assertValidation(self.api.call(self.village, "POST", "/v1/needs", {}),
                              ["material", "quantity", "province", "needed_by"])
        # malformed bodies
        for data, ct, status in ((b'{"material":"clay","material":"kaolin"}',
                                  "application/json", 400),
                                 (b"[]", "application/json", 400),
                                 (b'{"note":"\xff"}', "application/json", 400),
                                 (json.dumps(fixtures.need_body()).encode(), "text/plain", 415)):
            with self.subTest(data=data[:30], content_type=ct):
                resp = self.api.call(self.village, "POST", "/v1/needs", data,
                                     {"Content-Type": ct})
                self.assertProblemResp(resp, status)
        self.assertNothingWritten(snap)

    def test_wrong_role_cannot_post(self):
        snap = self.snapshot()
        for actor in (self.supplier, self.admin, self.mod_hn):
            self.assertProblemResp(self.api.call(actor, "POST", "/v1/needs",
                                                 fixtures.need_body()), 403)
        for actor in (self.village, self.admin, self.mod_hn):
            self.assertProblemResp(self.api.call(actor, "POST", "/v1/offers",
                                                 fixtures.offer_body()), 403)
        self.assertNothingWritten(snap)

    def test_get_unknown_listing_404(self):
        for lid in ("lst_00000000000000000000", "nope", self.village.id, "lst_%00"):
            with self.subTest(id=lid):
                self.assertProblemResp(self.api.call(self.village, "GET", "/v1/listings/" + lid),
                                       404)
                self.assertProblemResp(self.patch(self.village, lid, {"note": "x"}), 404)
                self.assertProblemResp(self.close(self.village, lid), 404)

    # -- searching --

    def test_filters(self):
        forum = fixtures.unique("f")
        self.api.create_forum(self.admin, "open", id=forum)  # listings register for an open forum
        api, v, ov, s, os_ = self.api, self.village, self.other_village, self.supplier, \
            self.other_supplier
        # expired first (it takes a moment), then the rest in posting order
        due, due_ms = fixtures.rfc3339_in(1.5)
        x = api.post_need(v, forum=forum, material="glaze", grade="A", quantity="50",
                          unit="kg", needed_by=due, note="men tro", price_vnd=fixtures.DELETE,
                          price_unit=fixtures.DELETE)
        a = api.post_need(v, forum=forum, note="giao tại xưởng")             # clay, HN
        b = api.post_need(ov, forum=forum, material=fixtures.TIMBER, grade="A",
                          quantity="2", unit="m3", province="Bắc Ninh", commune="Đồng Kỵ",
                          note="gỗ trắc xẻ hộp", price_vnd=fixtures.DELETE,
                          price_unit=fixtures.DELETE)
        c = api.post_offer(s, forum=forum)                                    # clay, Hải Dương
        d = api.post_offer(os_, forum=forum, material="kaolin", grade="B",
                           province="Nam Định", commune="Ý Yên",
                           note="Hàng về BÁT TRÀNG mỗi tuần")
        e = api.post_need(v, forum=forum, material="kaolin", note="đã mua đủ")
        self.assertEqual(self.close(v, e["id"])[0], 200)
        other_forum = api.create_forum(self.admin, "open", id=fixtures.unique("g"))["id"]
        other = api.post_need(v, forum=other_forum)                          # another forum
        harness.wait_for(lambda: self.rhash(x["id"])["status"] == "expired", EXPIRY_WAIT,
                         message="the glaze need to expire")
        A, B, C, D, E, X = (i["id"] for i in (a, b, c, d, e, x))

        def found(actor=v, **params):
            return self.ids(api.search_all(actor, forum=forum, **params))

        self.assertEqual(found(), [D, C, B, A])                 # open by default, newest first
        self.assertEqual(found(status="open"), [D, C, B, A])
        self.assertEqual(found(status="closed"), [E])
        self.assertEqual(found(status="expired"), [X])
        self.assertEqual(found(status="any"), [E, D, C, B, A, X])
        self.assertEqual(found(kind="need"), [B, A])
        self.assertEqual(found(kind="offer"), [D, C])
        self.assertEqual(found(kind="need", status="any"), [E, B, A, X])
        self.assertEqual(found(material="clay"), [C, A])
        self.assertEqual(found(material="kaolin", status="any"), [E, D])
        self.assertEqual(found(material=fixtures.TIMBER), [B])
        self.assertEqual(found(province="HP"), [C])
        self.assertEqual(found(province="Hải Dương"), [C])      # former names too
        self.assertEqual(found(province="Hải Phòng"), [C])
        self.assertEqual(found(province="Hà Tây"), [A])
        self.assertEqual(found(province="HN"), [A])
        self.assertEqual(found(province="Bắc Giang"), [B])      # merged into Bắc Ninh
        self.assertEqual(found(province="Nam Định"), [D])
        self.assertEqual(found(province="LS"), [])
        self.assertEqual(found(owner=v.id), [A])
        self.assertEqual(found(owner=v.id, status="any"), [E, A, X])
        self.assertEqual(found(owner="me"), [A])
        self.assertEqual(found(actor=ov, owner="me"), [B])
        self.assertEqual(found(actor=self.admin, owner="me"), [])
        self.assertEqual(found(kind="need", material="clay", province="HN", owner=v.id), [A])
        self.assertEqual(found(kind="offer", material="clay", province="HN"), [])
        # q: accent- and case-insensitive, on owner name, commune, note, place and material
        for q in ("bat trang", "BÁT TRÀNG", "Bát Tràng", "bát tràng", "BAT TRANG",
                  "Ba\u0301t Tra\u0300ng",          # decomposed (NFD) input
                  "  bát   tràng "):
            with self.subTest(q=q):
                # A by its owner's name and commune, D by its note
                self.assertEqual(found(q=q), [D, A])
        for q in ("dong ky", "Đồng Kỵ", "ĐỒNG KỴ", "đồng kỵ", "DONG KY"):
            with self.subTest(q=q):
                self.assertEqual(found(q=q), [B])
        self.assertEqual(found(q="go trac"), [B])
        self.assertEqual(found(q="cao lanh"), [D])              # material's Vietnamese name
        self.assertEqual(found(q="hai duong"), [C])             # the province as typed
        self.assertEqual(found(q="men tro", status="expired"), [X])
        self.assertEqual(found(q="bat trang", kind="offer"), [D])
        self.assertEqual(found(q="khong co dau ca"), [])
        self.assertNotIn(other["id"], found(status="any"))
        self.assertIn(other["id"], self.ids(api.search_all(v, owner="me")))
        # /v1/needs and /v1/offers are the same search, one kind
        self.assertEqual(self.ids(self.api.call(v, "GET", "/v1/needs" + fixtures.query(
            {"forum": forum}))[2]["items"]), [B, A])
        self.assertEqual(self.ids(self.api.call(v, "GET", "/v1/offers" + fixtures.query(
            {"forum": forum}))[2]["items"]), [D, C])
        # search results are the same documents GET returns
        for item in api.search_all(v, forum=forum, status="any"):
            self.assertEqual(item, api.get_listing(v, item["id"]))

    def test_bad_filters_400(self):
        cases = [({"colour": "red"}, "colour"), ({"kind": "want"}, "kind"),
                 ({"material": "unobtainium"}, "material"), ({"province": "Atlantis"},
                                                            "province"),
                 ({"status": "deleted"}, "status"), ({"owner": "bob"}, "owner"),
                 ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"),
                 ({"limit": "ten"}, "limit"), ({"cursor": "abc"}, "cursor"),
                 ({"q": "x" * 101}, "q")]
        for params, field in cases:
            with self.subTest(params=params):
                resp = self.api.call(self.village, "GET", "/v1/listings" + fixtures.query(params))
                self.assertValidation(resp, [field])
        resp = self.api.call(self.village, "GET", "/v1/needs?kind=offer")
        self.assertValidation(resp, ["kind"])
        resp = self.api.call(self.village, "GET", "/v1/listings?q=%FF%FE")
        self.assertValidation(resp, ["q"])

    def test_overlong_filter_values_400(self):
        # Values past the server's 4096-byte query cap must be refused like any
        # other bad value, not dropped: a dropped filter widens the result.
        mine = self.api.post_need(self.village)
        for params, field in (({"q": "x" * 5000}, "q"), ({"owner": "x" * 5000}, "owner"),
                              ({"status": "x" * 4097}, "status"),
                              ({"material": "x" * 4097}, "material"),
                              ({"forum": "x" * 4097}, "forum")):
            with self.subTest(field=field):
                resp = self.api.call(self.other_village, "GET",
                                     "/v1/listings" + fixtures.query(params))
                if resp[0] == 200:
                    self.fail("GET /v1/listings?%s=<%d bytes> answered 200 with %d items "
                              "(filter ignored; %s among them: %s)" % (
                                  field, len(params[field]), len(resp[2]["items"]), mine["id"],
                                  mine["id"] in self.ids(resp[2]["items"])))
                self.assertValidation(resp, [field])

    def test_cursor_pagination(self):
        v = self.api.make_actor(self.admin, "village")
        forum = fixtures.unique("p")
        self.api.create_forum(self.admin, "open", id=forum)  # listings register for an open forum
        posted = [self.api.post_need(v, forum=forum, quantity=str(i + 1), unit="kg")["id"]
                  for i in range(45)]
        newest_first = list(reversed(posted))
        for params in ({"forum": forum}, {"owner": v.id}, {"owner": "me", "kind": "need"}):
            with self.subTest(**params):
                seen, cursor, sizes = [], None, []
                for _ in range(10):
                    p = dict(params, limit=20)
                    if cursor:
                        p["cursor"] = cursor
                    page = self.api.search(v, **p)
                    sizes.append(len(page["items"]))
                    seen += self.ids(page["items"])
                    cursor = page["next_cursor"]
                    if cursor is None:
                        break
                    self.assertIsInstance(cursor, str)
                self.assertEqual(sizes, [20, 20, 5])
                self.assertEqual(seen, newest_first)
        # the default page is 20
        page = self.api.search(v, owner=v.id)
        self.assertEqual(self.ids(page["items"]), newest_first[:20])
        self.assertIsNotNone(page["next_cursor"])
        # a listing posted while paging does not disturb the walk behind the cursor
        p1 = self.api.search(v, owner=v.id, limit=20)
        self.api.post_need(v, forum=forum)
        p2 = self.api.search(v, owner=v.id, limit=20, cursor=p1["next_cursor"])
        self.assertEqual(self.ids(p2["items"]), newest_first[20:40])

    # -- changing --

    def test_patch_by_owner_with_etag(self):
        need = self.api.post_need(self.village, note="ghi chú cũ", quantity="1", unit="tan")
        lid = need["id"]
        got = self.api.call(self.village, "GET", "/v1/listings/" + lid)
        self.assertEqual(got[1].get("ETag"), '"1"')
        day = fixtures.vn_date(90)
        mark = fixtures.last_event_id(self.rc)
        status, headers, doc = self.patch(self.village, lid, {
            "price_vnd": 2100000, "price_unit": "tan", "quantity": "15.5", "unit": "ta",
            "note": "Đồng Kỵ cũng được", "needed_by": day, "max_distance_km": 150}, '"1"')
        self.assertEqual(status, 200, doc)
        self.assertEqual(headers.get("ETag"), '"2"')
        self.assertEqual(doc["version"], 2)
        self.assertEqual(doc["price"], {"vnd": 2100000, "unit": "tan", "factor": 1000})
        self.assertEqual(doc["quantity"], {"amount": "15.5", "unit": "ta", "base": 1550,
                                           "base_unit": "kg"})
        self.assertEqual(doc["remaining"]["base"], 1550)
        self.assertEqual(doc["note"], "Đồng Kỵ cũng được")
        self.assertEqual(doc["needed_by"], fixtures.ms_to_rfc3339(fixtures.vn_day_end_ms(day)))
        self.assertEqual(doc["max_distance_km"], 150)
        for k in ("id", "kind", "material", "grade", "province", "commune", "owner",
                  "created_at", "status"):
            self.assertEqual(doc[k], need[k], k)
        self.assertGreaterEqual(doc["updated_at"], need["updated_at"])
        self.assertEqual(self.api.get_listing(self.mod_hn, lid), doc)
        h = self.rhash(lid)
        self.assertEqual((h["quantity"], h["remaining"], h["version"]), ("1550", "1550", "2"))
        self.assertEqual(int(h["ends_at"]), fixtures.vn_day_end_ms(day))
        self.assertEqual(int(self.rc.execute("ZSCORE", "cm:expiry", lid)),
                         fixtures.vn_day_end_ms(day))
        ev = self.assertEventTypes(lid, ["listing.updated"], mark)
        self.assertEqual((ev[0]["version"], ev[0]["remaining"], ev[0]["by"]),
                         ("2", "1550", self.village.id))
        # the search key follows the note
        found = self.ids(self.api.search_all(self.village, owner="me", q="dong ky"))
        self.assertIn(lid, found)
        self.assertNotIn(lid, self.ids(self.api.search_all(self.village, owner="me",
                                                           q="ghi chu cu")))

        # stale If-Match: 412, nothing changes
        snap = self.snapshot()
        for stale in ('"1"', '"3"', "1", 'W/"2"', '"1", "3"', '""'):
            with self.subTest(if_match=stale):
                self.assertProblemResp(self.patch(self.village, lid, {"note": "mới"}, stale), 412)
        self.assertNothingWritten(snap)
        self.assertEqual(self.api.get_listing(self.village, lid), doc)

        # current ETag, "*" and no If-Match at all are accepted
        for if_match, version in (('"2"', 3), ("*", 4), (None, 5)):
            status, headers, doc = self.patch(self.village, lid, {"note": "v%d" % version},
                                              if_match)
            self.assertEqual(status, 200, doc)
            self.assertEqual((doc["version"], doc["note"]), (version, "v%d" % version))
            self.assertEqual(headers.get("ETag"), '"%d"' % version)
        # null clears an optional field
        status, _, doc = self.patch(self.village, lid, {"note": None, "price_vnd": None})
        self.assertEqual(status, 200, doc)
        self.assertNotIn("note", doc)
        self.assertNotIn("price", doc)
        self.assertEventTypes(lid, ["listing.updated"] * 5, mark)

    def test_if_match_list(self):
        # RFC 9110 13.1.1: If-Match is "*" or a list of entity tags; the
        # condition holds when any of them matches the current one.
        need = self.api.post_need(self.village)
        status, headers, doc = self.patch(self.village, need["id"], {"note": "danh sách"},
                                          '"7", "1"')
        self.assertEqual(status, 200, doc)
        self.assertEqual(headers.get("ETag"), '"2"')
        self.assertProblemResp(self.patch(self.village, need["id"], {"note": "x"}, '"1", "3"'),
                               412)

    def test_patch_offer_dates_and_min_order(self):
        offer = self.api.post_offer(self.supplier)
        lid = offer["id"]
        until = fixtures.vn_date(200)
        status, _, doc = self.patch(self.supplier, lid, {
            "available_until": until, "min_order": "3.5", "price_vnd": 1450000})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["available_until"],
                         fixtures.ms_to_rfc3339(fixtures.vn_day_end_ms(until)))
        self.assertEqual(doc["min_order"]["base"], 3500)
        self.assertEqual(doc["price"]["vnd"], 1450000)
        self.assertEqual(doc["available_from"], offer["available_from"])
        snap = self.snapshot()
        bad = [({"available_until": fixtures.vn_date(-1)}, ["available_until"]),
               ({"available_from": fixtures.vn_date(300)}, ["available_from"]),
               ({"min_order": "21"}, ["min_order"]),          # more than the 20 tấn
               ({"quantity": "3", "unit": "tan"}, ["quantity"]),   # below min_order 3.5
               ({"needed_by": fixtures.vn_date(9)}, ["needed_by"]),
               ({"price_vnd": 0}, ["price_vnd"])]
        for body, fields in bad:
            with self.subTest(body=body):
                self.assertValidation(self.patch(self.supplier, lid, body), fields)
        self.assertNothingWritten(snap)

    def test_patch_refusals(self):
        need = self.api.post_need(self.village)
        lid = need["id"]
        snap = self.snapshot()
        # not the owner: 403, whoever it is
        for actor in (self.other_village, self.supplier, self.mod_hn, self.admin):
            with self.subTest(actor=actor.label):
                self.assertProblemResp(self.patch(actor, lid, {"note": "của tôi"}), 403)
                self.assertProblemResp(self.patch(actor, lid, {"note": "x"}, '"1"'), 403)
        self.assert401(self.patch(None, lid, {"note": "x"}))
        # fields that cannot change, unknown fields, bad values, empty patches
        cases = [({"material": "kaolin"}, ["material"]), ({"kind": "offer"}, ["kind"]),
                 ({"province": "HP"}, ["province"]), ({"grade": "B"}, ["grade"]),
                 ({"owner": self.other_village.id}, ["owner"]), ({"status": "closed"},
                                                                  ["status"]),
                 ({"remaining": 1}, ["remaining"]), ({"id": "lst_x"}, ["id"]),
                 ({"forum": "khac"}, ["forum"]), ({"commune": "Kim Lan"}, ["commune"]),
                 ({"available_until": fixtures.vn_date(9)}, ["available_until"]),
                 ({"colour": "red", "note": "ok"}, ["colour"]),
                 ({"material": "kaolin", "note": "ok", "quantity": "x"},
                  ["material", "quantity"]),
                 ({"needed_by": fixtures.vn_date(-2)}, ["needed_by"]),
                 ({"quantity": "12.345", "unit": "ta"}, ["quantity"]),
                 ({"quantity": None}, ["quantity"]),
                 ({"unit": "kg"}, ["unit"]),
                 ({}, [""])]
        for body, fields in cases:
            with self.subTest(body=body):
                self.assertValidation(self.patch(self.village, lid, body), fields)
        self.assertProblemResp(self.api.call(self.village, "PATCH", "/v1/listings/" + lid,
                                             b'{"note":"a","note":"b"}',
                                             {"Content-Type": "application/json"}), 400)
        self.assertProblemResp(self.api.call(self.village, "PATCH", "/v1/listings/" + lid,
                                             b'{"note":"a"}', {"Content-Type": "text/plain"}),
                               415)
        self.assertNothingWritten(snap)
        self.assertEqual(self.api.get_listing(self.village, lid), need)

    def test_quantity_below_allocated_409(self):
        need = self.api.post_need(self.village, quantity="2", unit="tan")
        lid = need["id"]
        # Simulate an allocation of 500 kg to a match. The matching engine
        # lowers `remaining` of the listing hash inside its atomic reserve
        # function (invariant 3); doing the same directly here keeps this test
        # independent of matching (no offer can fill this need: see fixtures).
        self.assertEqual(self.rc.execute("HINCRBY", "cm:listing:" + lid, "remaining", -500), 1500)
        doc = self.api.get_listing(self.village, lid)
        self.assertEqual(doc["remaining"]["base"], 1500)
        self.assertEqual(doc["allocated"]["base"], 500)
        snap = self.snapshot()
        for qty, unit in (("0.4", "tan"), ("499", "kg"), ("4", "ta")):
            with self.subTest(quantity=qty, unit=unit):
                self.assertProblemResp(self.patch(self.village, lid,
                                                  {"quantity": qty, "unit": unit}), 409)
        self.assertNothingWritten(snap)
        self.assertEqual(self.api.get_listing(self.village, lid), doc)
        # down to exactly what is allocated, then up again
        status, _, doc = self.patch(self.village, lid, {"quantity": "5", "unit": "ta"})
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["quantity"]["base"], doc["remaining"]["base"],
                          doc["allocated"]["base"]), (500, 0, 500))
        status, _, doc = self.patch(self.village, lid, {"quantity": "3", "unit": "tan"})
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["quantity"]["base"], doc["remaining"]["base"],
                          doc["allocated"]["base"]), (3000, 2500, 500))
        h = self.rhash(lid)
        self.assertEqual((h["quantity"], h["remaining"]), ("3000", "2500"))
        # what a restarting engine reads of it says the same
        entry = self.rc.execute("HGET", "cm:eng:need:clay", lid).split(" ")
        self.assertEqual(entry[:4], ["2500", h["version"], h["seq"], "m1"])

    # -- closing --

    def test_close(self):
        mine = self.api.post_need(self.village)
        lid = mine["id"]
        snap = self.snapshot()
        for actor in (self.other_village, self.supplier, self.other_supplier, self.mod_out):
            with self.subTest(refused=actor.label):
                self.assertProblemResp(self.close(actor, lid), 403)
        self.assert401(self.close(None, lid))
        self.assertNothingWritten(snap)
        self.assertEqual(self.rhash(lid)["status"], "open")
        self.assertIsNotNone(self.rc.execute("HGET", "cm:eng:need:clay", lid))

        mark = fixtures.last_event_id(self.rc)
        status, headers, doc = self.close(self.village, lid)
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["status"], doc["version"]), ("closed", 2))
        self.assertEqual(headers.get("ETag"), '"2"')
        self.assertEqual(self.rhash(lid)["status"], "closed")
        self.assertIsNone(self.rc.execute("ZSCORE", "cm:expiry", lid))
        self.assertIsNone(self.rc.execute("HGET", "cm:eng:need:clay", lid))
        ev = self.assertEventTypes(lid, ["listing.closed"], mark)
        self.assertEqual((ev[0]["status"], ev[0]["version"], ev[0]["by"]),
                         ("closed", "2", self.village.id))

        # closed is final: closing again is a 409, so is a change
        snap = self.snapshot()
        for actor in (self.village, self.admin, self.mod_hn):
            with self.subTest(again=actor.label):
                self.assertProblemResp(self.close(actor, lid), 409)
        self.assertProblemResp(self.patch(self.village, lid, {"note": "mở lại"}), 409)
        self.assertNothingWritten(snap)
        self.assertEqual(self.api.get_listing(self.village, lid), doc)
        self.assertNotIn(lid, self.ids(self.api.search_all(self.village, owner="me")))
        self.assertIn(lid, self.ids(self.api.search_all(self.village, owner="me",
                                                        status="closed")))

    def test_close_by_moderator_and_admin(self):
        forum = fixtures.unique("dd")
        self.api.create_forum(self.admin, "open", id=forum)  # listings register for an open forum
        forum_mod = self.api.make_actor(self.admin, "moderator", scope={"forums": [forum]})
        cases = [
            (self.api.post_need(self.village), self.mod_hn),         # HN: in province scope
            (self.api.post_offer(self.supplier), self.admin),        # HP: admins close anything
            (self.api.post_offer(self.other_supplier, forum=forum), forum_mod),  # forum scope
        ]
        for listing, actor in cases:
            with self.subTest(closer=actor.label):
                lid = listing["id"]
                mark = fixtures.last_event_id(self.rc)
                status, _, doc = self.close(actor, lid)
                self.assertEqual(status, 200, doc)
                self.assertEqual(doc["status"], "closed")
                ev = self.assertEventTypes(lid, ["listing.closed"], mark)
                self.assertEqual(ev[0]["by"], actor.id)
        # out of scope: the HN moderator and the forum moderator elsewhere
        offer = self.api.post_offer(self.supplier)                   # HP, no forum
        for actor in (self.mod_hn, forum_mod, self.mod_out):
            with self.subTest(refused=actor.label):
                self.assertProblemResp(self.close(actor, offer["id"]), 403)
        self.assertEqual(self.rhash(offer["id"])["status"], "open")

    # -- expiry --

    def test_expiry_is_a_timer(self):
        due, due_ms = fixtures.rfc3339_in(2.0)
        need = self.api.post_need(self.village, needed_by=due)
        until, until_ms = fixtures.rfc3339_in(2.0)
        offer = self.api.post_offer(self.supplier, available_from=fixtures.DELETE,
                                    available_until=until, min_order=fixtures.DELETE)
        keep = self.api.post_need(self.village)                       # due in 60 days
        self.assertEqual(need["status"], "open")
        self.assertEqual(fixtures.rfc3339_to_ms(need["needed_by"]), due_ms)
        self.assertEqual(int(self.rc.execute("ZSCORE", "cm:expiry", need["id"])), due_ms)

        # No API request from here on: only Redis is read. A listing that
        # expires now was expired by the server's timer, not by a read.
        requests_before = self.daemon.log_text().count('msg="request"')
        seen = {}

        def both_expired():
            for lst in (need, offer):
                if lst["id"] not in seen and self.rhash(lst["id"])["status"] == "expired":
                    seen[lst["id"]] = time.time() * 1000
            return len(seen) == 2
        harness.wait_for(both_expired, EXPIRY_WAIT, interval=0.05,
                         message="the need and the offer to expire")
        self.assertEqual(self.daemon.log_text().count('msg="request"'), requests_before,
                         "an HTTP request reached the server while waiting")
        # not early: the server's clock is this machine's
        self.assertGreaterEqual(seen[need["id"]], due_ms)
        self.assertGreaterEqual(seen[offer["id"]], until_ms)

        for lst in (need, offer):
            with self.subTest(kind=lst["kind"]):
                lid = lst["id"]
                self.assertIsNone(self.rc.execute("ZSCORE", "cm:expiry", lid))
                doc = self.api.get_listing(self.village, lid)
                self.assertEqual((doc["status"], doc["version"]), ("expired", 2))
                # the sweep that expired it ran at or after the end time (server clock)
                self.assertGreaterEqual(fixtures.rfc3339_to_ms(doc["updated_at"]),
                                        due_ms if lst is need else until_ms)
                ev = self.assertEventTypes(lid, ["listing.created", "listing.expired"])
                self.assertEqual((ev[1]["status"], ev[1]["version"], ev[1]["by"]),
                                 ("expired", "2", "system"))
                owner = self.village if lst is need else self.supplier
                self.assertProblemResp(self.patch(owner, lid, {"note": "gia hạn"}), 409)
                self.assertProblemResp(self.close(owner, lid), 409)
                self.assertNotIn(lid, self.ids(self.api.search_all(owner, owner="me")))
                self.assertIn(lid, self.ids(self.api.search_all(owner, owner="me",
                                                                status="expired")))
        self.assertEventTypes(need["id"], ["listing.created", "listing.expired"])
        self.assertEqual(self.rhash(keep["id"])["status"], "open")

    def test_moving_the_date_out_prevents_expiry(self):
        due, due_ms = fixtures.rfc3339_in(4.0)
        need = self.api.post_need(self.village, needed_by=due)
        later = fixtures.vn_date(30)
        status, _, doc = self.patch(self.village, need["id"], {"needed_by": later})
        self.assertEqual(status, 200, doc)       # (a 409 here: it expired first — too slow)
        self.assertEqual(int(self.rc.execute("ZSCORE", "cm:expiry", need["id"])),
                         fixtures.vn_day_end_ms(later))
        # a control that does expire, due after the first one's old date
        ctl_due, ctl_ms = fixtures.rfc3339_in(5.0)
        ctl = self.api.post_need(self.village, needed_by=ctl_due)
        harness.wait_for(lambda: self.rhash(ctl["id"])["status"] == "expired", EXPIRY_WAIT,
                         message="the control need to expire")
        self.assertGreater(time.time() * 1000, due_ms)
        self.assertEqual(self.rhash(need["id"])["status"], "open")
        self.assertEqual(self.api.get_listing(self.village, need["id"])["status"], "open")
        self.assertEventTypes(need["id"], ["listing.created", "listing.updated"])

    # -- Idempotency-Key --

    def test_idempotent_post_need(self):
        key = fixtures.unique("need")
        body = fixtures.need_body(note="đặt hàng qua điện thoại, gửi lại khi mất sóng")
        owner_idx = "cm:listings:owner:" + self.village.id
        before = self.rc.execute("ZCARD", owner_idx), self.n_listings()
        s1, h1, d1 = self.api.call(self.village, "POST", "/v1/needs", body,
                                   {"Idempotency-Key": key})
        self.assertEqual(s1, 201, d1)
        self.assertNotIn("Idempotent-Replayed", h1)
        snap = self.snapshot()
        for _ in range(3):
            s2, h2, d2 = self.api.call(self.village, "POST", "/v1/needs", body,
                                       {"Idempotency-Key": key})
            self.assertEqual(s2, 201, d2)
            self.assertEqual(h2.get("Idempotent-Replayed"), "true")
            self.assertEqual(d2["id"], d1["id"])
            self.assertEqual(d2, d1)
            self.assertEqual(h2.get("Location"), "/v1/listings/" + d1["id"])
        self.assertNothingWritten(snap)
        self.assertEqual((self.rc.execute("ZCARD", owner_idx), self.n_listings()),
                         (before[0] + 1, before[1] + 1))
        self.assertEqual(self.ids(self.api.search_all(self.village, owner="me", q="mat song")),
                         [d1["id"]])
        self.assertEventTypes(d1["id"], ["listing.created"])
        # same key, another body: 409 and nothing written
        self.assertProblemResp(self.api.call(self.village, "POST", "/v1/needs",
                                             dict(body, quantity="13"),
                                             {"Idempotency-Key": key}), 409)
        self.assertNothingWritten(snap)
        # another key: another listing
        s3, _, d3 = self.api.call(self.village, "POST", "/v1/needs", body,
                                  {"Idempotency-Key": key + "-b"})
        self.assertEqual(s3, 201, d3)
        self.assertNotEqual(d3["id"], d1["id"])
        # the replay reflects the listing as it is now
        self.assertEqual(self.close(self.village, d1["id"])[0], 200)
        s4, _, d4 = self.api.call(self.village, "POST", "/v1/needs", body,
                                  {"Idempotency-Key": key})
        self.assertEqual((s4, d4["id"], d4["status"]), (201, d1["id"], "closed"))

    def test_concurrent_retries_create_one_listing(self):
        key = fixtures.unique("race")
        body = fixtures.need_body(note="gửi đồng thời")
        results = run_concurrently(8, lambda i: self.api.call(
            self.village, "POST", "/v1/needs", body, {"Idempotency-Key": key}))
        self.assertEqual([r[0] for r in results], [201] * 8, [r[2] for r in results])
        ids = {r[2]["id"] for r in results}
        self.assertEqual(len(ids), 1, ids)
        self.assertEqual(sum(1 for r in results if "Idempotent-Replayed" not in r[1]), 1)
        self.assertEventTypes(ids.pop(), ["listing.created"])

    def test_concurrent_patches_one_wins(self):
        need = self.api.post_need(self.village)
        lid = need["id"]
        results = run_concurrently(8, lambda i: self.patch(
            self.village, lid, {"note": "phiên bản %d" % i}, '"1"'))
        statuses = sorted(r[0] for r in results)
        self.assertEqual(statuses.count(200), 1, statuses)
        self.assertTrue(set(statuses) <= {200, 409, 412}, statuses)
        winner = next(r[2] for r in results if r[0] == 200)
        doc = self.api.get_listing(self.village, lid)
        self.assertEqual((doc["version"], doc["note"]), (2, winner["note"]))
        self.assertEventTypes(lid, ["listing.created", "listing.updated"])

    # -- invariant 4 --

    def test_one_event_per_change(self):
        mark = fixtures.last_event_id(self.rc)
        offer = self.api.post_offer(self.supplier)
        lid = offer["id"]
        steps = [("created", offer)]
        for body in ({"price_vnd": 1400000}, {"quantity": "18", "unit": "tan"},
                     {"note": "giảm giá cuối vụ"}):
            status, _, doc = self.patch(self.supplier, lid, body)
            self.assertEqual(status, 200, doc)
            steps.append(("updated", doc))
            # refusals in between append nothing
            self.assertProblemResp(self.patch(self.supplier, lid, {"note": "x"}, '"1"'), 412)
            self.assertProblemResp(self.patch(self.other_supplier, lid, {"note": "x"}), 403)
            self.assertValidation(self.patch(self.supplier, lid, {"material": "kaolin"}),
                                  ["material"])
        status, _, doc = self.close(self.supplier, lid)
        self.assertEqual(status, 200, doc)
        steps.append(("closed", doc))
        self.assertProblemResp(self.close(self.supplier, lid), 409)
        self.assertProblemResp(self.close(self.admin, lid), 409)

        ev = self.assertEventTypes(lid, ["listing." + t for t, _ in steps], mark)
        for f, (t, doc) in zip(ev, steps):
            with self.subTest(event=t, version=doc["version"]):
                self.assertEqual(f["version"], str(doc["version"]))
                self.assertEqual(f["status"], doc["status"])
                self.assertEqual(f["remaining"], str(doc["remaining"]["base"]))
                self.assertEqual((f["kind"], f["owner"], f["material"], f["province"]),
                                 ("offer", self.supplier.id, "clay", "HP"))
                self.assertEqual(f["by"], self.supplier.id)
        self.assertEqual([int(f["version"]) for f in ev], [1, 2, 3, 4, 5])
        # and Redis agrees with the last event
        h = self.rhash(lid)
        self.assertEqual((h["status"], h["version"]), ("closed", "5"))


if __name__ == "__main__":
    harness.main()
