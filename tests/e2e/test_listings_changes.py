"""
e2e: listings once posted — changing, closing, expiry, retries, and one event
per change (posting and searching are in test_listings.py).

Proves:
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
import time

import fixtures
import harness
import listingkit

EXPIRY_WAIT = 30.0  # functional deadline for the expiry timer (sweeps every 100 ms)


class ListingChangesTest(listingkit.ListingsCase):
    """Changing, closing, expiry, Idempotency-Key, invariant 4."""

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
        results = listingkit.run_concurrently(8, lambda i: self.api.call(
            self.village, "POST", "/v1/needs", body, {"Idempotency-Key": key}))
        self.assertEqual([r[0] for r in results], [201] * 8, [r[2] for r in results])
        ids = {r[2]["id"] for r in results}
        self.assertEqual(len(ids), 1, ids)
        self.assertEqual(sum(1 for r in results if "Idempotent-Replayed" not in r[1]), 1)
        self.assertEventTypes(ids.pop(), ["listing.created"])

    def test_concurrent_patches_one_wins(self):
        need = self.api.post_need(self.village)
        lid = need["id"]
        results = listingkit.run_concurrently(8, lambda i: self.patch(
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
