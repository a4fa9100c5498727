"""
e2e: CSV exports — GET /v1/listings, /v1/needs, /v1/offers, /v1/matches and
/v1/accounts with format=csv.

Proves: an export is, byte for byte, what Python's csv module writes (CRLF,
minimal quoting) of the same items the JSON list gives page after page for
the same caller and filters — and read back by the csv module, field by
field equal to the JSON (Vietnamese text with diacritics, commas, quotes and
newlines; a formula-like note written with its apostrophe); every role sees
in its export exactly the scope it sees in JSON (listings: everyone; matches:
parties, the moderator's scope, admins; accounts: admins and moderators,
others 403); bom=1 puts the UTF-8 byte order mark first and nothing else
changes; headers=vi gives the Vietnamese labels; HEAD answers the head only.
A large export (3,000 listings) arrives as many chunks and, while its client
holds it unread, other requests are answered and the daemon counts it still
in flight; a client that goes away mid-export ends it (the daemon logs it
left, counts nothing in flight, and stays clean under ASan). Bad parameters
get problem+json and change nothing in Redis.
"""
import csv
import io
import json
import socket
import threading
import urllib.parse

import fixtures
import harness
import matchkit
from stored import dump_all

LISTING_COLUMNS = [
    "id", "kind", "status", "owner.id", "owner.name", "material.code", "material.name_vi",
    "grade", "quantity.amount", "quantity.unit", "quantity.base", "quantity.base_unit",
    "remaining.base", "allocated.base", "price.vnd", "price.unit", "price.factor",
    "min_order.amount", "min_order.unit", "accept_substitutes", "province.code",
    "province.name", "commune", "location.lat", "location.lon", "max_distance_km",
    "needed_by", "available_from", "available_until", "forum", "after_forum", "note",
    "version", "created_at", "updated_at"]
MATCH_COLUMNS = [
    "id", "state", "version", "material.code", "material.name_vi", "quantity.base",
    "quantity.base_unit", "need.id", "need.owner", "need.province_code", "need.province",
    "offer.id", "offer.owner", "offer.province_code", "offer.province",
    "explain.unit_price.vnd", "explain.unit_price.unit", "explain.goods_total_vnd",
    "explain.distance_km", "explain.freight.total_vnd", "explain.landed.total_vnd",
    "accepted.need", "accepted.offer", "delivered_base", "reviewed_by", "reason",
    "created_at", "updated_at",
    "approved_at", "expires_at"]
ACCOUNT_COLUMNS = [
    "id", "role", "name", "province.code", "province.name", "commune", "forum",
    "contact.phone", "contact.email", "contact.address", "scope.provinces", "scope.forums",
    "suspended", "created_at"]
COLUMNS = {"/v1/listings": LISTING_COLUMNS, "/v1/needs": LISTING_COLUMNS,
           "/v1/offers": LISTING_COLUMNS, "/v1/matches": MATCH_COLUMNS,
           "/v1/accounts": ACCOUNT_COLUMNS}
BOM = b"\xef\xbb\xbf"

QUIRKY_NAME = 'HTX Gốm sứ "Bát Tràng", Gia Lâm'
QUIRKY_NOTE = 'Đất sét "loại 1", giao tận xưởng\nLiên hệ: anh Hùng, 0912 345 678'
FORMULA_NOTE = "=SUM(1,2) và -5 tấn"


def lookup(item, path):
    v = item
    for part in path.split("."):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return v


def cell(v):
    """A JSON value as its CSV cell (docs/api.md, CSV exports)."""
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "%.15g" % v
    if isinstance(v, str):
        return "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def expected_records(columns, items):
    return [list(columns)] + [[cell(lookup(it, c)) for c in columns] for it in items]


def expected_bytes(columns, items):
    """What Python's csv module writes of the items (RFC 4180: CRLF, minimal quoting)."""
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerows(expected_records(columns, items))
    return out.getvalue().encode("utf-8")


def read_csv(data):
    """The records of CSV bytes, read by Python's csv module (strict)."""
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), strict=True))


class ExportCase(matchkit.MatchHelpers, fixtures.ApiTestCase):

    def json_all(self, actor, path, **params):
        items, cursor = [], None
        for _ in range(1000):
            p = dict(params, limit=100)
            if cursor:
                p["cursor"] = cursor
            status, _, body = self.api.call(actor, "GET", path + fixtures.query(p))
            self.assertEqual(status, 200, body)
            items += body["items"]
            cursor = body["next_cursor"]
            if not cursor:
                return items
        raise AssertionError("paging does not end")

    def export(self, actor, path, **params):
        """(status, headers, body bytes) of GET path?format=csv&params."""
        return self.api.call_raw(actor, "GET", path + fixtures.query(dict(params, format="csv")))

    def assertExportEqualsJson(self, actor, path, **params):
        """The export is the JSON list's items as Python's csv writes them; returns the items."""
        items = self.json_all(actor, path, **params)
        status, headers, data = self.export(actor, path, **params)
        self.assertEqual(status, 200, data[:500])
        self.assertEqual(headers.get("Content-Type"), "text/csv; charset=utf-8; header=present")
        self.assertEqual(headers.get("Content-Disposition"),
                         'attachment; filename="craftmatch-%s.csv"'
                         % {"/v1/needs": "listings", "/v1/offers": "listings"}.get(
                             path, path.rsplit("/", 1)[1]))
        self.assertEqual(headers.get("Transfer-Encoding"), "chunked")
        self.assertFalse(data.startswith(BOM))
        columns = COLUMNS[path]
        # Field by field, as the csv module reads it back ...
        records = read_csv(data)
        want = expected_records(columns, items)
        self.assertEqual(len(records), len(want))
        for i, (got, exp) in enumerate(zip(records, want)):
            for c, (g, e) in enumerate(zip(got, exp)):
                self.assertEqual(g, e, "row %d column %s" % (i, columns[c]))
            self.assertEqual(len(got), len(exp), "row %d" % i)
        # ... and byte for byte as it writes it.
        self.assertEqual(data, expected_bytes(columns, items))
        return items


class ExportTest(ExportCase):

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        api, admin = cls.api, cls.admin
        cls.mod_hn = api.make_actor(admin, "moderator", "moderator-HN",
                                    scope={"provinces": ["HN"]})
        cls.mod_out = api.make_actor(admin, "moderator", "moderator-LS",
                                     scope={"provinces": ["Lạng Sơn"]})
        cls.village = api.make_actor(admin, "village", "village-HN", name=QUIRKY_NAME,
                                     commune="Bát Tràng, Gia Lâm")
        cls.other_village = api.make_actor(admin, "village", "village-BN",
                                           name="Làng nghề gỗ Đồng Kỵ",
                                           province="Bắc Ninh", commune="Đồng Kỵ")
        cls.supplier = api.make_actor(admin, "supplier", "supplier-HD",
                                      name="Cơ sở đất sét Chí Linh; \"Sao Đỏ\"")
        cls.need = api.post_need(cls.village, note=QUIRKY_NOTE, commune="Bát Tràng, Gia Lâm")
        api.post_need(cls.village, note=FORMULA_NOTE, quantity="3", grade="C")
        api.post_need(cls.other_village, province="Bắc Ninh", commune="Đồng Kỵ",
                      quantity="1", unit="tan", note="Cần gấp\r\ntrong tuần")
        cls.offer = matchkit.post_listing(api, cls.supplier, "offer",
                                          matchkit.matchable_offer_body())
        # The engine proposes need ↔ offer; the moderator approves, both accept.
        items = matchkit.wait_matches(
            api, admin, lambda ms: any(m["need"]["id"] == cls.need["id"] for m in ms))
        cls.match = [m for m in items if m["need"]["id"] == cls.need["id"]][0]
        for actor, action in ((cls.mod_hn, "approve"), (cls.village, "accept"),
                              (cls.supplier, "accept")):
            status, _, body = matchkit.match_act(api, actor, cls.match["id"], action)
            if status != 200:
                raise AssertionError("%s: %d %r" % (action, status, body))

    def test_listings_for_every_role_and_filter(self):
        filters = ({}, {"kind": "need"}, {"status": "any"}, {"province": "Hà Nội"},
                   {"q": "bat trang"}, {"owner": self.village.id}, {"material": "clay"})
        for actor in (self.admin, self.mod_hn, self.mod_out, self.village, self.supplier):
            for f in filters:
                with self.subTest(actor=actor.label, filters=f):
                    self.assertExportEqualsJson(actor, "/v1/listings", **f)
        items = self.assertExportEqualsJson(self.village, "/v1/listings")
        self.assertGreaterEqual(len(items), 4)
        notes = [it.get("note") for it in items]
        self.assertIn(QUIRKY_NOTE, notes)
        self.assertIn(FORMULA_NOTE, notes)
        self.assertIn(QUIRKY_NAME, [it["owner"]["name"] for it in items])
        # /v1/needs and /v1/offers export their own kind.
        needs = self.assertExportEqualsJson(self.supplier, "/v1/needs")
        offers = self.assertExportEqualsJson(self.supplier, "/v1/offers", status="any")
        self.assertEqual({it["kind"] for it in needs}, {"need"})
        self.assertEqual({it["kind"] for it in offers}, {"offer"})

    def test_quoting_as_read_back(self):
        status, _, data = self.export(self.village, "/v1/listings", owner="me")
        self.assertEqual(status, 200)
        rows = read_csv(data)
        col = {name: i for i, name in enumerate(rows[0])}
        by_note = {r[col["note"]]: r for r in rows[1:]}
        self.assertIn(QUIRKY_NOTE, by_note)
        self.assertEqual(by_note[QUIRKY_NOTE][col["owner.name"]], QUIRKY_NAME)
        self.assertEqual(by_note[QUIRKY_NOTE][col["commune"]], "Bát Tràng, Gia Lâm")
        self.assertIn("'" + FORMULA_NOTE, by_note)  # a spreadsheet shows it as text
        self.assertIn(b'"HTX G\xe1\xbb\x91m s\xe1\xbb\xa9 ""B\xc3\xa1t Tr\xc3\xa0ng"", Gia L\xc3\xa2m"',
                      data)
        self.assertTrue(data.endswith(b"\r\n"))
        self.assertEqual(data.split(b"\r\n", 1)[0].decode(), ",".join(LISTING_COLUMNS))

    def test_matches_for_every_role(self):
        seen = {}
        actors = (self.admin, self.mod_hn, self.mod_out, self.village, self.supplier,
                  self.other_village)
        for actor in actors:
            for f in ({}, {"state": "confirmed"}, {"state": "any"}, {"province": "HN"},
                      {"listing": self.need["id"]}):
                with self.subTest(actor=actor.label, filters=f):
                    items = self.assertExportEqualsJson(actor, "/v1/matches", **f)
                    if not f:
                        seen[actor] = [m["id"] for m in items]
        for actor in (self.admin, self.mod_hn, self.village, self.supplier):
            self.assertIn(self.match["id"], seen[actor], actor.label)
        self.assertEqual(seen[self.mod_out], [])
        self.assertEqual(seen[self.other_village], [])
        # The engine's figures are columns: price, goods, freight, landed cost.
        status, _, data = self.export(self.village, "/v1/matches", listing=self.need["id"])
        rows = read_csv(data)
        col = {name: i for i, name in enumerate(rows[0])}
        self.assertEqual(rows[1][col["state"]], "confirmed")
        self.assertEqual(rows[1][col["offer.owner"]], self.supplier.id)
        for name in ("explain.unit_price.vnd", "explain.goods_total_vnd",
                     "explain.freight.total_vnd", "explain.landed.total_vnd"):
            self.assertRegex(rows[1][col[name]], r"^[0-9]+$", name)

    def test_accounts_for_admins_and_moderators(self):
        for actor in (self.admin, self.mod_hn, self.mod_out):
            for f in ({}, {"role": "village"}, {"q": "bat trang"}, {"province": "HN"}):
                with self.subTest(actor=actor.label, filters=f):
                    self.assertExportEqualsJson(actor, "/v1/accounts", **f)
        items = self.assertExportEqualsJson(self.mod_hn, "/v1/accounts")
        self.assertIn(self.village.id, [a["id"] for a in items])
        self.assertNotIn(self.other_village.id, [a["id"] for a in items])
        # Moderators' scopes are arrays: written as their JSON text.
        status, _, data = self.export(self.admin, "/v1/accounts", role="moderator")
        rows = read_csv(data)
        col = {name: i for i, name in enumerate(rows[0])}
        self.assertIn('["HN"]', [r[col["scope.provinces"]] for r in rows[1:]])
        for actor in (self.village, self.supplier):
            with self.subTest(actor=actor.label):
                self.assertProblemResp(
                    self.api.call(actor, "GET", "/v1/accounts?format=csv"), 403)

    def test_bom_and_vietnamese_headers(self):
        _, _, plain = self.export(self.admin, "/v1/listings")
        status, _, with_bom = self.export(self.admin, "/v1/listings", bom="1")
        self.assertEqual(status, 200)
        self.assertEqual(with_bom, BOM + plain)
        _, _, no_bom = self.export(self.admin, "/v1/listings", bom="0")
        self.assertEqual(no_bom, plain)
        status, _, vi = self.export(self.admin, "/v1/listings", headers="vi", bom="1")
        self.assertTrue(vi.startswith(BOM))
        head, rest = vi[len(BOM):].split(b"\r\n", 1)
        self.assertEqual(rest, plain.split(b"\r\n", 1)[1])
        labels = read_csv(head + b"\r\n")[0]
        self.assertEqual(len(labels), len(LISTING_COLUMNS))
        self.assertEqual(labels[:3], ["Mã tin", "Loại tin", "Trạng thái"])
        _, _, api_headers = self.export(self.admin, "/v1/matches", headers="api")
        self.assertEqual(read_csv(api_headers)[0], MATCH_COLUMNS)

    def test_keep_alive_and_a_pipelined_request_after_an_export(self):
        with self.daemon.client() as c:  # one keep-alive connection
            for _ in range(2):
                status, headers, data = c.request_raw(
                    "GET", "/v1/listings?format=csv", token=self.admin.token)
                self.assertEqual(status, 200)
                self.assertEqual(len(read_csv(data)), len(self.json_all(self.admin,
                                                                        "/v1/listings")) + 1)
                self.assertNotEqual(headers.get("Connection"), "close")
                self.assertEqual(c.request("GET", "/readyz")[0], 200)
        # Two requests in one write: the second is answered after the whole export.
        s = socket.create_connection(("127.0.0.1", self.daemon.port), harness.HTTP_TIMEOUT)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.sendall(("GET /v1/listings?format=csv HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer %s\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                       % self.admin.token).encode())
            status, _, rest = read_head(s)
            self.assertEqual(status, 200)
            body = Dechunker(s, rest)
            while body.next_chunk() is not None:
                pass
            status, headers, rest = read_head(s, body.buf)  # what follows the export
            self.assertEqual(status, 200)
            self.assertIn("application/json", headers.get("content-type", ""))
        finally:
            s.close()

    def test_head(self):
        status, headers, data = self.api.call_raw(self.admin, "HEAD",
                                                  "/v1/listings?format=csv&bom=1")
        self.assertEqual(status, 200)
        self.assertEqual(data, b"")
        self.assertTrue(headers.get("Content-Type", "").startswith("text/csv"))
        self.assertIn("attachment", headers.get("Content-Disposition", ""))

    def test_bad_parameters_change_nothing(self):
        before = dump_all(self.rc)
        cases = (
            ("/v1/listings", {"format": "xlsx"}, ["format"]),
            ("/v1/listings", {"format": "csv", "bom": "yes"}, ["bom"]),
            ("/v1/listings", {"bom": "1"}, ["bom"]),
            ("/v1/listings", {"headers": "vi"}, ["headers"]),
            ("/v1/listings", {"format": "csv", "headers": "en"}, ["headers"]),
            ("/v1/listings", {"format": "csv", "limit": "5"}, ["limit"]),
            ("/v1/listings", {"format": "csv", "cursor": "1"}, ["cursor"]),
            ("/v1/listings", {"format": "csv", "kind": "wish"}, ["kind"]),
            ("/v1/listings", {"format": "csv", "sheet": "1"}, ["sheet"]),
            ("/v1/matches", {"format": "csv", "state": "won"}, ["state"]),
            ("/v1/matches", {"format": "csv", "limit": "5"}, ["limit"]),
            ("/v1/accounts", {"format": "csv", "role": "king"}, ["role"]),
            ("/v1/accounts", {"format": "CSV"}, ["format"]),
        )
        for path, params, fields in cases:
            with self.subTest(path=path, params=params):
                resp = self.api.call(self.admin, "GET", path + fixtures.query(params))
                self.assertValidation(resp, fields)
        self.assertEqual(dump_all(self.rc), before)
        resp = self.api.call(None, "GET", "/v1/listings?format=csv")
        self.assert401(resp)


# ---- a large export, streamed ----

def read_head(sock, buf=b""):
    """Reads up to the end of the head (buf: bytes of it already read); returns
    (status, headers dict, bytes after it)."""
    while b"\r\n\r\n" not in buf:
        part = sock.recv(4096)
        if not part:
            raise AssertionError("connection closed in the head: %r" % buf)
        buf += part
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, rest


class Dechunker:
    """Reads an HTTP/1.1 chunked body from a socket, chunk by chunk."""

    def __init__(self, sock, pending):
        self.sock, self.buf = sock, pending

    def _need(self, n):
        while len(self.buf) < n:
            part = self.sock.recv(65536)
            if not part:
                raise AssertionError("connection closed inside the chunked body")
            self.buf += part

    def next_chunk(self):
        """The next chunk's data, or None after the last (zero) chunk."""
        while b"\r\n" not in self.buf:
            self._need(len(self.buf) + 1)
        line, self.buf = self.buf.split(b"\r\n", 1)
        size = int(line.split(b";")[0], 16)
        self._need(size + 2)
        data, tail, self.buf = self.buf[:size], self.buf[size:size + 2], self.buf[size + 2:]
        if tail != b"\r\n":
            raise AssertionError("chunk not followed by CRLF")
        return data if size else None


class LargeExportTest(ExportCase):
    N = 3000

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        cls.village = cls.api.make_actor(cls.admin, "village", "village-HN",
                                         name="HTX Mây tre đan Phú Vinh, Chương Mỹ")
        port, token = cls.daemon.port, cls.village.token

        def post(worker):
            with harness.HttpClient(port) as c:
                for i in range(worker, cls.N, 4):
                    body = fixtures.need_body(
                        quantity=str(1 + i % 50),
                        note='Lô %d, "mây" loại %d\nGiao tại xưởng, Phú Vinh' % (i, i % 7))
                    status, _, out = c.request("POST", "/v1/needs", body=body, token=token)
                    if status != 201:
                        raise AssertionError("post %d: %d %r" % (i, status, out))
        errors = []

        def run(w):
            try:
                post(w)
            except BaseException as e:
                errors.append(e)
        threads = [threading.Thread(target=run, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def open_export(self, path="/v1/listings?format=csv&owner=me"):
        """A raw connection that asks for an export and reads as little as the kernel allows."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(harness.HTTP_TIMEOUT)
        s.connect(("127.0.0.1", self.daemon.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                   % (path, self.village.token)).encode())
        return s

    def inflight(self):
        return self.daemon.metric("craftmatch_http_requests_inflight")

    def test_large_export_is_chunked_and_others_are_answered_meanwhile(self):
        items = self.json_all(self.village, "/v1/listings", owner="me")
        self.assertEqual(len(items), self.N)
        want = expected_bytes(LISTING_COLUMNS, items)
        s = self.open_export()
        try:
            status, headers, rest = read_head(s)
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("transfer-encoding"), "chunked")
            body = Dechunker(s, rest)
            got = [body.next_chunk()]
            self.assertTrue(got[0].startswith(b"id,kind,status,"))
            # The export is held unread, and is far more than every buffer on
            # the way can hold: the daemon reads a page only below 64 KiB
            # unsent, with a 64 KiB send buffer (128 KiB as Linux counts it);
            # this socket takes 4 KiB (8 KiB).
            self.assertGreater(len(want), 8 * 64 * 1024)
            for path in ("/readyz", "/v1/listings?limit=5", "/v1/matches?limit=5"):
                st, _, _ = self.api.call(self.village, "GET", path)
                self.assertEqual(st, 200, path)
            # Still being answered: the export and this /metrics request.
            self.assertEqual(self.inflight(), 2)
            while True:
                chunk = body.next_chunk()
                if chunk is None:
                    break
                got.append(chunk)
        finally:
            s.close()
        self.assertGreaterEqual(len(got), self.N // 100)  # a chunk per page
        self.assertEqual(b"".join(got), want)
        records = read_csv(b"".join(got))
        self.assertEqual(len(records), self.N + 1)
        harness.wait_for(lambda: self.inflight() == 1, 10, message="export finished")

    def test_client_leaving_mid_export_ends_it(self):
        for _ in range(3):
            s = self.open_export()
            status, _, rest = read_head(s)
            self.assertEqual(status, 200)
            Dechunker(s, rest).next_chunk()
            self.assertEqual(self.inflight(), 2)
            s.close()
            harness.wait_for(lambda: self.inflight() == 1, 20, message="export ended")
        self.assertGreaterEqual(self.daemon.log_text().count("how=left"), 3)
        # The daemon goes on: a whole export after the abandoned ones.
        s = self.open_export("/v1/listings?format=csv&owner=me&bom=1")
        try:
            status, _, rest = read_head(s)
            body = Dechunker(s, rest)
            data = b""
            while True:
                chunk = body.next_chunk()
                if chunk is None:
                    break
                data += chunk
        finally:
            s.close()
        self.assertTrue(data.startswith(BOM))
        self.assertEqual(len(read_csv(data[len(BOM):])), self.N + 1)


if __name__ == "__main__":
    harness.main()
