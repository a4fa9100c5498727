"""
e2e: spreadsheets in — POST /v1/imports, its template and its status resource.

A 5,000-row sheet of accounts with errors in known rows: the dry run reports
exactly those rows and leaves Redis exactly as it was (every key's DUMP);
the real run creates every other row, read back through the API and
compared with the sheet; the same file again creates nothing. Needs
imported by a village come back as listings with the sheet's values. Files
that are not sheets are refused whole with nothing written.
"""
import csv
import io

import fixtures
import harness
import matchkit

HEADERS = ["Khóa dòng", "Vai trò", "Tên", "Tỉnh/Thành phố", "Xã/Phường", "Điện thoại", "Email"]


def sheet(rows, headers=HEADERS, bom=True, delimiter=","):
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(headers)
    for r in rows:
        w.writerow(r)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def account_rows(n, run):
    """n account rows, and {spreadsheet row: expected column} of the broken ones."""
    rows, bad = [], {}
    for i in range(n):
        rows.append(["%s-%05d" % (run, i), "village", "Làng nghề %s số %d" % (run, i), "Hà Nội",
                     "Xã %d" % (i % 97), "0912 %03d %03d" % (i // 1000, i % 1000),
                     "lang%d@example.vn" % i])
    # the errors, each in a known row (spreadsheet rows: the header is row 1)
    breaks = {17: (3, "Tỉnh Không Có", "Tỉnh/Thành phố"),
              250: (5, "12", "Điện thoại"),
              1999: (2, "", "Tên"),
              3001: (1, "đầu bếp", "Vai trò"),
              4998: (3, "Ninh Bình", None)}  # out of the moderator's scope
    for i, (col, value, column) in breaks.items():
        rows[i][col] = value
        bad[i + 2] = column
    rows[4321][0] = rows[5][0]  # a repeated row key
    bad[4321 + 2] = "Khóa dòng"
    return rows, bad


class ImportTest(fixtures.ApiTestCase):

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        cls.mod = cls.api.make_actor(cls.admin, "moderator", "mod-hn",
                                     scope={"provinces": ["HN"]})
        cls.village = cls.api.make_actor(cls.admin, "village", "village-hn", province="HN")

    def post(self, actor, kind, data, dry_run=False, forum=None, ctype="text/csv"):
        path = "/v1/imports?kind=%s%s%s" % (kind, "&dry_run=1" if dry_run else "",
                                             "&forum=" + forum if forum else "")
        return self.api.call(actor, "POST", path, data, headers={"Content-Type": ctype})

    def dump(self):
        """Every key of the test Redis with its type and whole value: the state.
        (Not DUMP: a hash's serialisation follows its table's order, which
        rehashing changes without changing the hash.)"""
        rc, out = self.rc, {}
        for k in sorted(rc.execute("KEYS", "*")):
            t = rc.execute("TYPE", k)
            v = {"string": lambda: rc.execute("GET", k),
                 "hash": lambda: sorted(rc.execute("HGETALL", k)),
                 "set": lambda: sorted(rc.execute("SMEMBERS", k)),
                 "zset": lambda: rc.execute("ZRANGE", k, "0", "-1", "WITHSCORES"),
                 "list": lambda: rc.execute("LRANGE", k, "0", "-1"),
                 "stream": lambda: rc.execute("XRANGE", k, "-", "+")}[t]()
            out[k] = (t, v)
        return out

    def wait_done(self, actor, location):
        """Polls the import until done; returns (view, statuses seen, done counts seen)."""
        seen, dones, box = [], [], {}

        def done():
            st, _, view = self.api.call(actor, "GET", location + "?limit=1")
            self.assertEqual(st, 200, view)
            seen.append(view["status"])
            dones.append(view["rows"]["done"])
            box["view"] = view
            return view["status"] == "done"
        harness.wait_for(done, 120, interval=0.05, message="import " + location)
        return box["view"], seen, dones

    def results(self, actor, location):
        out, offset = [], 0
        while offset is not None:
            st, _, view = self.api.call(actor, "GET", "%s?offset=%d&limit=1000" % (location,
                                                                                   offset))
            self.assertEqual(st, 200, view)
            out.extend(view["results"])
            offset = view["next_offset"]
        return out

    def real_run(self, actor, kind, data, **kw):
        st, h, body = self.post(actor, kind, data, **kw)
        self.assertEqual(st, 202, body)
        self.assertEqual(h.get("Location"), "/v1/imports/" + body["id"])
        self.assertEqual(body["status"], "queued")
        view, seen, dones = self.wait_done(actor, h.get("Location"))
        self.assertTrue(set(seen) <= {"queued", "running", "done"}, seen)
        self.assertEqual(dones, sorted(dones), "progress went backwards")
        return view, self.results(actor, h.get("Location")), dones

    def test_5000_rows_dry_then_real_then_again(self):
        rows, bad = account_rows(5000, fixtures.unique("acc"))
        data = sheet(rows)

        # the engine's read position moves on as it reads the events of the
        # set-up: once it has settled, nothing else writes
        matchkit.wait_engine_idle(self.rc, [self.daemon], quiet=1.0)
        before = self.dump()
        st, _, dry = self.post(self.mod, "accounts", data, dry_run=True)
        self.assertEqual(st, 200, dry)
        self.assertEqual(self.dump(), before, "a dry run wrote to Redis")
        self.assertEqual(dry["rows"], {"total": 5000, "valid": 5000 - len(bad),
                                       "failed": len(bad)})
        self.assertEqual(sorted({e["row"] for e in dry["errors"]}), sorted(bad))
        for e in dry["errors"]:
            self.assertEqual(e.get("column"), bad[e["row"]], e)
            self.assertTrue(e["message"] and e["message_vi"], e)

        view, results, dones = self.real_run(self.mod, "accounts", data)
        # the server answered the status resource while the import ran
        self.assertTrue(any(0 < d < 5000 for d in dones), dones)
        self.assertEqual(view["rows"], {"total": 5000, "done": 5000, "created": 5000 - len(bad),
                                        "skipped": 0, "failed": len(bad)})
        self.assertEqual([r["row"] for r in results], list(range(2, 5002)))
        created = {}
        for r in results:
            if r["row"] in bad:
                self.assertEqual(r["outcome"], "failed", r)
                self.assertTrue(r["errors"], r)
            else:
                self.assertEqual(r["outcome"], "created", r)
                created[r["id"]] = rows[r["row"] - 2]
        # read back: every account the moderator can list, against its row
        found, cursor = {}, None
        while True:
            path = "/v1/accounts?province=HN&limit=100" + ("&cursor=" + cursor if cursor else "")
            st, _, page = self.api.call(self.mod, "GET", path)
            self.assertEqual(st, 200, page)
            for a in page["items"]:
                found[a["id"]] = a
            cursor = page["next_cursor"]
            if not cursor:
                break
        for aid, row in created.items():
            a = found[aid]
            self.assertEqual((a["role"], a["name"], a["province"]["code"] if isinstance(
                a["province"], dict) else a["province"], a["commune"], a["contact"]["phone"],
                a["contact"]["email"]), (row[1], row[2], "HN", row[4], row[5], row[6]))
        n_accounts = self.rc.execute("ZCARD", "cm:accounts")

        again, results2, _ = self.real_run(self.mod, "accounts", data)
        self.assertEqual(again["rows"], {"total": 5000, "done": 5000, "created": 0,
                                         "skipped": 5000 - len(bad), "failed": len(bad)})
        self.assertEqual(self.rc.execute("ZCARD", "cm:accounts"), n_accounts)
        self.assertEqual({r["id"] for r in results2 if r["outcome"] == "skipped"}, set(created))

    def test_needs_of_a_village(self):
        run = fixtures.unique("need")
        headers = ["Khóa dòng", "Vật liệu", "Loại", "Số lượng", "Đơn vị", "Đơn giá (VND)",
                   "Tỉnh/Thành phố", "Cần trước ngày", "Nhận vật liệu thay thế", "Ghi chú"]
        rows = [["%s-%d" % (run, i), "kaolin", "B", "12,5", "tấn", "2.400.000", "Hà Nội",
                 fixtures.vn_date(60), "có", "Dòng %d" % i] for i in range(40)]
        rows[7][3] = "mười"  # not a quantity
        rows[30][7] = "2001-01-01"  # in the past
        data = sheet(rows, headers, delimiter=";")
        view, results, _ = self.real_run(self.village, "needs", data)
        self.assertEqual(view["rows"]["created"], 38, view)
        self.assertEqual(sorted(r["row"] for r in results if r["outcome"] == "failed"), [9, 32])
        cols = {e["column"] for r in results for e in r.get("errors", [])}
        self.assertEqual(cols, {"Số lượng", "Cần trước ngày"})
        for r in results:
            if r["outcome"] != "created":
                continue
            lst = self.api.get_listing(self.village, r["id"])
            row = rows[r["row"] - 2]
            self.assertEqual(lst["owner"]["id"], self.village.id)
            self.assertEqual((lst["material"]["code"], lst["grade"], lst["quantity"]["amount"],
                              lst["quantity"]["unit"], lst["price"]["vnd"],
                              lst["accept_substitutes"], lst["note"]),
                             ("kaolin", "B", "12.5", "tan", 2400000, True, row[9]))
        # a supplier may not import needs, nor a moderator
        for who in (self.mod, self.admin):
            st, _, body = self.post(who, "needs", data)
            self.assertProblem(st, _, body, 403)

    def test_forum_parameter(self):
        """forum= registers the rows that name none; a forum not open fails its rows."""
        forum = self.api.create_forum(self.mod, "open", provinces=["HN"])["id"]
        run = fixtures.unique("f")
        rows = [["%s-1" % run, "village", "Làng %s 1" % run, "Hà Nội", "", "", "", ""],
                ["%s-2" % run, "moderator", "Điều phối %s" % run, "", "", "", "", "HN; NB"]]
        view, results, _ = self.real_run(self.admin, "accounts",
                                         sheet(rows, HEADERS + ["Phạm vi tỉnh"]), forum=forum)
        self.assertEqual([r["outcome"] for r in results], ["created", "created"], results)
        st, _, village = self.api.call(self.admin, "GET", "/v1/accounts/" + results[0]["id"])
        self.assertEqual(village.get("forum"), forum, village)
        st, _, mod = self.api.call(self.admin, "GET", "/v1/accounts/" + results[1]["id"])
        self.assertNotIn("forum", mod)
        self.assertEqual(mod["scope"]["provinces"], ["HN", "NB"], mod)

        headers = ["Khóa dòng", "Vật liệu", "Số lượng", "Tỉnh/Thành phố", "Cần trước ngày"]
        needs = [["%s-n%d" % (run, i), "kaolin", "3", "HN", fixtures.vn_date(60)]
                 for i in range(2)]
        view, results, _ = self.real_run(self.village, "needs", sheet(needs, headers),
                                         forum=forum)
        for r in results:
            self.assertEqual(r["outcome"], "created", r)
            self.assertEqual(self.api.get_listing(self.village, r["id"])["forum"], forum)
        # the same rows for another forum: their keys were used for other values
        other = self.api.create_forum(self.mod, "open", provinces=["HN"])["id"]
        needs = [["%s-n%d" % (run, i), "kaolin", "3", "HN", fixtures.vn_date(60)]
                 for i in range(2)]
        view, results, _ = self.real_run(self.village, "needs", sheet(needs, headers),
                                         forum=other)
        self.assertEqual(view["rows"]["failed"], 2, view)
        for r in results:
            self.assertEqual((r["errors"][0].get("column"), r["errors"][0]["message_vi"]),
                             ("Khóa dòng", "Khóa dòng đã được nhập với nội dung khác"), r)
        draft = self.api.create_forum(self.mod, "draft", provinces=["HN"])["id"]
        needs = [["%s-d" % run, "kaolin", "3", "HN", fixtures.vn_date(60)]]
        view, results, _ = self.real_run(self.village, "needs", sheet(needs, headers),
                                         forum=draft)
        self.assertEqual(results[0]["outcome"], "failed", results)
        self.assertEqual(results[0]["errors"][0]["column"], "Diễn đàn", results)

    def test_template_round_trip(self):
        for kind in ("accounts", "needs", "offers"):
            st, h, text = self.api.call(None, "GET", "/v1/imports/template?kind=" + kind)
            self.assertEqual(st, 200)
            self.assertTrue(text.startswith("\ufeff"), text[:20])
            rows = list(csv.reader(io.StringIO(text[1:])))
            self.assertEqual(len(rows), 2)
            self.assertEqual(rows[0][0], "Khóa dòng")
        # the needs template's example row is a valid need
        st, _, text = self.api.call(None, "GET", "/v1/imports/template?kind=needs")
        st, _, dry = self.post(self.village, "needs", text.encode("utf-8"), dry_run=True)
        self.assertEqual(st, 200, dry)
        self.assertEqual(dry["rows"], {"total": 1, "valid": 1, "failed": 0}, dry)

    def test_malformed_files_are_refused_whole(self):
        good = [["k1", "village", "Làng A", "Hà Nội", "", "", ""]]
        cases = {
            "latin-1": "Khóa dòng,Vai trò,Tên\r\nk1,village,Làng A\r\n".encode("latin-1"),
            "unknown header": sheet(good, HEADERS[:-1] + ["Màu yêu thích"]),
            "missing header": sheet([r[:2] for r in good], HEADERS[:2]),
            "repeated header": sheet(good, HEADERS[:-1] + ["Tên"]),
            "broken quotes": b'Kh\xc3\xb3a d\xc3\xb2ng,Vai tr\xc3\xb2,T\xc3\xaan\r\n"k1,village\r\n',
            "empty": b"",
            "not csv": b'{"role": "village", "name": "A"}',
            "too many rows": sheet([["k%d" % i, "village", "L%d" % i, "HN", "", "", ""]
                                    for i in range(10001)]),
        }
        matchkit.wait_engine_idle(self.rc, [self.daemon], quiet=1.0)
        before = self.dump()
        for name, data in cases.items():
            with self.subTest(name):
                st, h, body = self.post(self.admin, "accounts", data)
                self.assertProblem(st, h, body, 400)
                self.assertEqual(body["type"], "/problems/malformed-sheet", body)
                self.assertTrue(body["errors"], body)
        st, h, body = self.post(self.admin, "accounts", sheet(good), ctype="application/json")
        self.assertProblem(st, h, body, 415)
        big = sheet([["k%d" % i, "village", "L" * 200, "HN", "", "", ""] for i in range(25000)])
        self.assertGreater(len(big), 4 << 20)
        st, h, body = self.api.call_raw(self.admin, "POST", "/v1/imports?kind=accounts", big,
                                        headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 413)
        self.assertEqual(self.dump(), before, "a refused file wrote to Redis")

    def test_someone_elses_import_is_not_found(self):
        st, h, body = self.post(self.mod, "accounts", sheet(
            [[fixtures.unique("k"), "village", "Làng B", "Hà Nội", "", "", ""]]))
        self.assertEqual(st, 202, body)
        st, _, view = self.api.call(self.village, "GET", h.get("Location"))
        self.assertProblem(st, _, view, 404)
        st, _, view = self.api.call(self.admin, "GET", h.get("Location"))
        self.assertEqual(st, 200, view)
        st, _, view = self.api.call(self.mod, "GET", "/v1/imports/imp_00000000000000000000")
        self.assertProblem(st, _, view, 404)


if __name__ == "__main__":
    harness.main()


class InterruptedImportTest(fixtures.ApiTestCase):
    """A node killed mid-import: once the import has not moved for
    --import-stale-ms it reads "interrupted" on the next node (it would
    read "running" for ever), and sending the same file again finishes it,
    the rows written before the kill skipped."""

    daemon_args = ("--import-stale-ms", "1500")

    def test_a_killed_import_reads_interrupted_and_the_same_file_finishes_it(self):
        api, admin = self.api, self.admin
        mod = api.make_actor(admin, "moderator", "mod-hn", scope={"provinces": ["HN"]})
        rows = [["%s-%05d" % (fixtures.unique("int"), i), "village", "Làng nghề số %d" % i,
                 "Hà Nội", "Xã %d" % (i % 97), "0913 %03d %03d" % (i // 1000, i % 1000),
                 "int%d@example.vn" % i] for i in range(10000)]
        data = sheet(rows)
        n_before = self.rc.execute("ZCARD", "cm:accounts")
        st, h, body = api.call(mod, "POST", "/v1/imports?kind=accounts", data,
                               headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 202, body)
        location, box = h.get("Location"), {}

        def started():
            st, _, view = api.call(mod, "GET", location + "?limit=1")
            self.assertEqual(st, 200, view)
            box["view"] = view
            return view["rows"]["done"] > 0
        harness.wait_for(started, 60, interval=0.02, message="the import's first rows")
        self.daemon.kill()
        self.daemon.start()

        def stale():
            st, _, view = api.call(mod, "GET", location + "?limit=1")
            self.assertEqual(st, 200, view)
            self.assertIn(view["status"], ("queued", "running", "interrupted"), view)
            box["view"] = view
            return view["status"] == "interrupted"
        harness.wait_for(stale, 60, interval=0.1, message="the killed import read interrupted")
        left = box["view"]["rows"]
        self.assertTrue(0 < left["done"] < 10000, left)
        self.assertEqual(left["created"], left["done"], left)
        self.assertEqual(self.rc.execute("ZCARD", "cm:accounts"), n_before + left["created"])

        st, h2, body2 = api.call(mod, "POST", "/v1/imports?kind=accounts", data,
                                 headers={"Content-Type": "text/csv"})
        self.assertEqual(st, 202, body2)

        def done():
            st, _, view = api.call(mod, "GET", h2.get("Location") + "?limit=1")
            self.assertEqual(st, 200, view)
            box["again"] = view
            return view["status"] == "done"
        harness.wait_for(done, 180, interval=0.1, message="the import sent again")
        self.assertEqual(box["again"]["rows"],
                         {"total": 10000, "done": 10000, "created": 10000 - left["created"],
                          "skipped": left["created"], "failed": 0})
        self.assertEqual(self.rc.execute("ZCARD", "cm:accounts"), n_before + 10000)
        # the first import stays as it was left
        st, _, view = api.call(mod, "GET", location + "?limit=1")
        self.assertEqual((st, view["status"], view["rows"]), (200, "interrupted", left))
