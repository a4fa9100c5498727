"""
e2e: listings — needs from craft villages, offers from suppliers: posting,
reading and searching.

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
- (test_listings_changes.py: PATCH, DELETE, expiry, Idempotency-Key and
  one event per change.)
"""
import json

import fixtures
import harness
import listingkit

EXPIRY_WAIT = 30.0  # functional deadline for the expiry timer (sweeps every 100 ms)


class ListingsTest(listingkit.ListingsCase):
    """Posting, reading and searching."""

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


if __name__ == "__main__":
    harness.main()
