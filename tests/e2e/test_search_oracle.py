"""
e2e: the marketplace search answered from the node's memory
(server/search/), against a plain scan.

Seeded and reproducible: the seed is printed; CRAFTMATCH_TEST_SEED=<n>
replays the same accounts, listings, changes and queries.

The world: villages and suppliers with Vietnamese names in several
provinces, one open forum, and a few hundred random needs and offers
(random materials, grades, units, prices, provinces given by code or by
name, old names too, notes in Vietnamese with accents, some registered for
the forum); meanwhile random quantity and note changes and closures, and
the engine of the same daemon proposing matches (which change remaining
quantities through match events).

Proves:
- Read-your-writes: right after each of its writes, the writer's search
  sees it (a new listing found by the unique word of its note, a changed
  note found by its new word and no longer by its old one, a closed listing
  gone), although the index learns of the write from cm:events.
- Every answer equals a plain scan: with the store quiet (no event between
  the last write and the end of the queries, so the state is one), random
  queries (kind, material, province given by code or name, forum, q in any
  case with or without accents, limit 1-30; also /v1/needs and /v1/offers,
  and owner= / status= which Redis answers), every page read to the end,
  give exactly the listings a scan in Python of every listing as GET
  /v1/listings/{id} answers it selects, newest first, each item equal to
  that answer.
- /readyz is 200 (the index loaded) and /metrics counts the index's
  listings and searches.
- After a restart the answers are exact from the moment /readyz is 200:
  the index filled from the engine's entries of the open listings (which
  carry what it keeps) and the listings held for the forum read from their
  hashes; and again on entries as library 19 and older wrote them (the
  engine record alone), every listing then read from its hash.
- The bounded wait: on a node (role api) whose index cannot follow the
  stream (its reader's link cut and Redis refusing new links), a caller's
  search after its own write answers 503 with Retry-After (problem+json)
  instead of a page without the write; once the reader is back, the same
  search finds it.
"""
import os
import random
import unicodedata
import urllib.parse

import fixtures
import harness
import stored

N_LISTINGS = 240
N_QUERIES = 160

PROVINCES = ["HN", "Hà Nội", "Bắc Ninh", "BN", "HP", "Hải Dương", "NB", "Lâm Đồng", "QN",
             "Hà Tây"]
NOTE_WORDS = ["Bát Tràng", "gốm sứ", "đất sét", "cao lanh", "Đồng Kỵ", "tre nứa", "mây tre đan",
              "tơ tằm", "Vạn Phúc", "sơn ta", "hợp tác xã", "giao tận xưởng", "GIÁ TỐT",
              "Phù Lãng", "lò gas", "khô"]
QUERY_TEXTS = ["bat trang", "BÁT TRÀNG", "gom", "dat set", "cao lanh", "dong ky", "Đồng Kỵ",
               "tre", "may tre", "to tam", "van phuc", "son ta", "hop tac xa", "gia tot", "kho",
               "phu lang", "clay", "kaolin", "ha noi", "hai duong", "bac ninh", "lam dong",
               "lang", "xa", "a", "khong co dau"]


def fold_key(s):
    """common/textfold.c's text_fold_key for the text this test writes."""
    s = unicodedata.normalize("NFKC", s).casefold()
    s = unicodedata.normalize("NFD", s)
    s = "".join(c for c in s if not unicodedata.combining(c)).replace("đ", "d")
    s = "".join(" " if c.isascii() and not c.isalnum() else c for c in s)
    return " ".join(s.split())


def search_text(view):
    """What common/listing_doc.c's listing_search_text folds, from the API's view."""
    parts = [view["material"]["name_vi"], view["material"]["name"], view["material"]["code"],
             view.get("grade"), view["province"]["name"], view.get("province_input"),
             view.get("commune"), view.get("note"), view["owner"]["name"]]
    return fold_key(" ".join(p for p in parts if p))


class SearchOracleTest(fixtures.ApiTestCase):

    @classmethod
    def set_up_shared(cls):
        super().set_up_shared()
        seed = int(os.environ.get("CRAFTMATCH_TEST_SEED") or random.randrange(1 << 30))
        print("CRAFTMATCH_TEST_SEED=%d" % seed)
        cls.rnd = random.Random(seed)
        api, admin = cls.api, cls.admin
        cls.villages = [
            api.make_actor(admin, "village", "v%d" % i, name=name, province=prov)
            for i, (name, prov) in enumerate([("HTX Gốm sứ Bát Tràng", "HN"),
                                              ("Làng nghề gỗ Đồng Kỵ", "Bắc Ninh"),
                                              ("Làng lụa Vạn Phúc", "HN"),
                                              ("Làng gốm Phù Lãng", "BN")])]
        cls.suppliers = [
            api.make_actor(admin, "supplier", "s%d" % i, name=name, province=prov)
            for i, (name, prov) in enumerate([("Cơ sở đất sét Chí Linh", "HP"),
                                              ("Mỏ cao lanh Ninh Bình", "NB"),
                                              ("Đại lý tre nứa Lâm Đồng", "Lâm Đồng")])]
        cls.forum = api.create_forum(admin, state="open")["id"]
        cls.mats = api.materials()

    # -- writing --

    def word(self):
        """A word no other listing has (fixed width: none is part of another)."""
        SearchOracleTest.words = getattr(SearchOracleTest, "words", 0) + 1
        return "w%05dq%06d" % (SearchOracleTest.words, self.rnd.randrange(10 ** 6))

    def body(self, kind):
        rnd = self.rnd
        forum = rnd.random() < 0.15
        if forum:
            code = rnd.choice(["clay", "kaolin"])
            province = rnd.choice(["HN", "Bắc Ninh", "Hà Nội"])
        else:
            code = rnd.choice(sorted(self.mats))
            province = rnd.choice(PROVINCES)
        m = self.mats[code]
        unit = rnd.choice(m["units"])["code"]
        note = "%s %s %s" % (rnd.choice(NOTE_WORDS), rnd.choice(NOTE_WORDS), self.word())
        over = {"material": code, "grade": rnd.choice(m["grades"]), "unit": unit,
                "quantity": str(rnd.randrange(1, 400)), "price_unit": unit,
                "price_vnd": rnd.randrange(1, 500) * 1000, "province": province,
                "commune": rnd.choice(["Bát Tràng", "Chí Linh", "Đồng Kỵ", fixtures.DELETE]),
                "note": note, "max_distance_km": rnd.choice([50, 300, 2000])}
        if forum:
            over["forum"] = self.forum
        if kind == "need":
            return fixtures.need_body(**over)
        return fixtures.offer_body(min_order=fixtures.DELETE, **over)

    def search(self, actor, path, **params):
        """Every page of a search, read to the end: the items in order."""
        items, cursor = [], None
        for _ in range(1000):
            p = dict(params)
            if cursor:
                p["cursor"] = cursor
            status, _, page = self.api.call(actor, "GET",
                                            path + "?" + urllib.parse.urlencode(p))
            self.assertEqual(status, 200, (path, p, page))
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items
        self.fail("paging did not end: %s %s" % (path, params))

    def found(self, actor, word):
        return [x["id"] for x in self.search(actor, "/v1/listings", q=word)]

    def write_world(self):
        """Posts, changes and closes listings; each writer sees its write at once."""
        rnd = self.rnd
        order, notes = [], {}  # ids in posting order; id -> (owner, unique word)
        for i in range(N_LISTINGS):
            kind = rnd.choice(["need", "offer"])
            actor = rnd.choice(self.villages if kind == "need" else self.suppliers)
            body = self.body(kind)
            status, _, doc = self.api.call(actor, "POST", "/v1/%ss" % kind, body)
            self.assertEqual(status, 201, (body, doc))
            lid = doc["id"]
            order.append(lid)
            w = body["note"].split()[-1]
            notes[lid] = (actor, w)
            self.assertEqual(self.found(actor, w), [lid], "a new listing, found by its writer")
            r = rnd.random()
            if r < 0.15 and len(order) > 1:
                # a change: quantity and note of one of this writer's open listings
                mine = [x for x in order if notes[x][0] is actor]
                target = rnd.choice(mine)
                new = self.word()
                status, _, doc = self.api.call(
                    actor, "PATCH", "/v1/listings/" + target,
                    {"quantity": str(rnd.randrange(1, 900)), "note": "Cần gấp %s %s" % (
                        rnd.choice(NOTE_WORDS), new)})
                if status == 200:
                    self.assertEqual(self.found(actor, new), [target], "a changed note")
                    self.assertEqual(self.found(actor, notes[target][1]), [])
                    notes[target] = (actor, new)
                else:
                    # closed earlier, or below what matches took: refused, nothing changed
                    self.assertIn(status, (409, 422, 400), doc)
            elif r < 0.3:
                target = rnd.choice(order)
                owner, w = notes[target]
                status, _, doc = self.api.call(owner, "DELETE", "/v1/listings/" + target)
                self.assertIn(status, (200, 409), doc)
                self.assertEqual(self.found(owner, w), [], "a closed listing is gone")
        return order

    # -- the oracle --

    def expected(self, views, order, kind=None, material=None, province=None, forum=None,
                 q=None, owner=None, status="open"):
        pcode = None
        if province:
            if not hasattr(self, "provinces"):
                self.provinces = self.api.call(None, "GET", "/v1/provinces")[2]["provinces"]
            for p in self.provinces:
                names = [p["code"], p["name"]] + list(p.get("formerly") or []) + list(
                    p.get("aliases") or [])
                if fold_key(province) in [fold_key(n) for n in names]:
                    pcode = p["code"]
            self.assertIsNotNone(pcode, province)
        out = []
        for lid in reversed(order):
            v = views[lid]
            if status != "any" and v["status"] != status:
                continue
            if kind and v["kind"] != kind:
                continue
            if material and v["material"]["code"] != material:
                continue
            if province and v["province"]["code"] != pcode:
                continue
            if forum and v.get("forum") != forum:
                continue
            if owner and v["owner"]["id"] != owner:
                continue
            if q and fold_key(q) not in search_text(v):
                continue
            out.append(v)
        return out

    def random_query(self, views, order, actor):
        rnd = self.rnd
        path, params, want = "/v1/listings", {}, {}
        r = rnd.random()
        if r < 0.15:
            path, want["kind"] = "/v1/needs", "need"
        elif r < 0.3:
            path, want["kind"] = "/v1/offers", "offer"
        elif r < 0.45:
            params["kind"] = want["kind"] = rnd.choice(["need", "offer"])
        if rnd.random() < 0.4:
            params["material"] = want["material"] = rnd.choice(
                ["clay", "kaolin", rnd.choice(sorted(self.mats))])
        if rnd.random() < 0.4:
            params["province"] = want["province"] = rnd.choice(PROVINCES)
        if rnd.random() < 0.15:
            params["forum"] = want["forum"] = self.forum
        if rnd.random() < 0.4:
            params["q"] = want["q"] = rnd.choice(QUERY_TEXTS)
        if rnd.random() < 0.1:
            # answered by Redis: an owner's listings, or other statuses
            o = rnd.choice(self.villages + self.suppliers)
            params["owner"] = "me" if o is actor else o.id
            want["owner"] = actor.id if o is actor else o.id
        if rnd.random() < 0.1:
            params["status"] = want["status"] = rnd.choice(["closed", "any"])
        params["limit"] = rnd.choice([1, 2, 5, 20, 30])
        got = self.search(actor, path, **params)
        exp = self.expected(views, order, **want)
        self.assertEqual([x["id"] for x in got], [x["id"] for x in exp], (path, params))
        for g, e in zip(got, exp):
            self.assertEqual(g, e, (path, params))

    def check_queries(self, order, actor, barrier_write=True):
        """Random queries, each equal to a scan, over one state of the store: views read
        by id, the queries, and no event meanwhile (else all again). With barrier_write,
        a write of actor's first (so its first search waits until the index has it)."""
        for attempt in range(60):
            if barrier_write:
                status, _, doc = self.api.call(actor, "POST", "/v1/needs",
                                               fixtures.need_body(note="rào chắn " + self.word()))
                self.assertEqual(status, 201, doc)
                order.append(doc["id"])
            barrier = stored.last_event_id(self.rc)
            views = {}
            for lid in order:
                status, _, v = self.api.call(actor, "GET", "/v1/listings/" + lid)
                self.assertEqual(status, 200, v)
                views[lid] = v
            if stored.last_event_id(self.rc) != barrier:
                continue  # the engine still at work: start over
            rnd_state = self.rnd.getstate()
            try:
                for _ in range(N_QUERIES):
                    self.random_query(views, order, actor)
            except AssertionError:
                if stored.last_event_id(self.rc) != barrier:
                    self.rnd.setstate(rnd_state)
                    continue  # changed meanwhile: not one state
                raise
            if stored.last_event_id(self.rc) == barrier:
                return views
        self.fail("the store never stayed quiet through the queries")

    def searches_from_memory(self):
        text = self.api.call(None, "GET", "/metrics")[2]
        text = text if isinstance(text, str) else str(text)
        for line in text.splitlines():
            if line.startswith("craftmatch_search_searches_total "):
                return float(line.split()[1])
        self.fail("no craftmatch_search_searches_total")

    def restart_and_check(self, order, actor):
        """A restart, then the queries at once: exact from the moment /readyz says ready."""
        if self.daemon.running():
            self.assertEqual(self.daemon.stop(), 0, self.daemon.log_tail())
        self.daemon.start()  # returns once /readyz answers 200
        self.assertEqual(self.searches_from_memory(), 0)
        self.check_queries(order, actor, barrier_write=False)
        self.assertGreater(self.searches_from_memory(), N_QUERIES / 2)

    def test_search_equals_a_scan(self):
        order = self.write_world()
        actor = self.villages[0]
        # Quiet: the engine has settled when no event follows the barrier write
        # (this actor's, so its first search waits until the index has applied it).
        views = self.check_queries(order, actor)
        # The index is loaded, and said so.
        self.assertEqual(self.api.call(None, "GET", "/readyz")[0], 200)
        metrics = self.api.call(None, "GET", "/metrics")
        text = metrics[2] if isinstance(metrics[2], str) else str(metrics[2])
        open_now = sum(1 for v in views.values() if v["status"] == "open")
        self.assertIn("craftmatch_search_listings %d" % open_now, text)
        self.assertIn("craftmatch_search_ready 1", text)
        # most of the queries were answered from memory (the rest by Redis)
        answered = [line for line in text.splitlines()
                    if line.startswith("craftmatch_search_searches_total ")]
        self.assertEqual(len(answered), 1, text)
        self.assertGreater(float(answered[0].split()[1]), N_QUERIES / 2)
        # and the engine's proposals changed remaining quantities it shows
        self.assertTrue(any(v["remaining"]["base"] != v["quantity"]["base"]
                            for v in views.values() if v["status"] == "open"))

        # Restarted, the node fills its index from the engine's entries, which carry
        # what it keeps of each listing (store/lua, eng_put), and reads the listings
        # held for the forum (no engine entry) from their hashes.
        entries = {}
        for key in self.rc.execute("KEYS", "cm:eng:*"):
            flat = self.rc.execute("HGETALL", key)
            entries[key] = dict(zip(flat[::2], flat[1::2]))
        self.assertTrue(entries)
        self.assertTrue(all("\ns1 " in v for e in entries.values() for v in e.values()))
        self.assertTrue(any(v["status"] == "open" and v.get("forum") for v in views.values()))
        self.restart_and_check(order, actor)

        # Entries as library 19 and older wrote them (the engine record alone): a
        # node of this version started on such data reads those listings from
        # their hashes, and answers the same.
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log_tail())
        for key, e in entries.items():
            for lid in e:
                v = self.rc.execute("HGET", key, lid)
                if v is not None:
                    self.rc.execute("HSET", key, lid, v.split("\n", 1)[0])
        self.restart_and_check(order, actor)


class ReadYourWritesTest(fixtures.ApiTestCase):
    """One daemon of role api: the only reader of cm:events is its search index."""
    daemon_args = ("--role", "api")

    def test_a_search_waits_for_the_callers_write_then_503(self):
        village = self.api.make_actor(self.admin, "village", name="HTX Mây tre Phú Vinh")
        word = "w%06d" % random.randrange(10 ** 6)
        status, _, page = self.api.call(village, "GET", "/v1/listings?q=" + word)
        self.assertEqual((status, page["items"]), (200, []), page)
        # Cut the index's reader off: new links are refused, its link is killed.
        self.rc.execute("CONFIG", "SET", "requirepass", "search-test-secret")
        self.addCleanup(lambda: self.rc.execute("CONFIG", "SET", "requirepass", ""))
        readers = [line.split()[0].split("=")[1]
                   for line in self.rc.execute("CLIENT", "LIST").splitlines()
                   if "cmd=xread" in line]
        self.assertTrue(readers)
        for cid in readers:
            self.rc.execute("CLIENT", "KILL", "ID", cid)
        status, _, doc = self.api.call(village, "POST", "/v1/needs",
                                       fixtures.need_body(note="Cần mây " + word))
        self.assertEqual(status, 201, doc)
        status, headers, body = self.api.call(village, "GET", "/v1/listings?q=" + word)
        self.assertProblem(status, headers, body, 503)
        self.assertEqual(body["type"], "/problems/unavailable")
        self.assertTrue(headers.get("Retry-After"), headers)
        # Another caller, with no write waiting, is answered from memory at once.
        other = self.api.make_actor(self.admin, "supplier")
        status, _, page = self.api.call(other, "GET", "/v1/listings?q=" + word)
        self.assertEqual(status, 200, page)
        # The reader back: the writer's search shows its listing.
        self.rc.execute("CONFIG", "SET", "requirepass", "")

        def found():
            st, _, pg = self.api.call(village, "GET", "/v1/listings?q=" + word)
            return st == 200 and [x["id"] for x in pg["items"]] == [doc["id"]]
        harness.wait_for(found, 30, interval=0.2, message="the search after the reader is back")
        text = self.api.call(None, "GET", "/metrics")[2]
        timeouts = [line for line in str(text).splitlines()
                    if line.startswith("craftmatch_search_wait_timeouts_total ")]
        self.assertEqual(len(timeouts), 1, text)
        self.assertGreaterEqual(float(timeouts[0].split()[1]), 1)


if __name__ == "__main__":
    harness.main()
