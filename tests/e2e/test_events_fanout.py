"""
e2e: the push hub's fan-out by audience.

Subscribers that receive the same bytes (the same filters, viewers alike)
form one audience: the hub decides and formats each live batch once per
audience and gives every member the same chunk by reference. Proves, with
the oracle of streams.py (who may see what, written apart from the server)
against what XRANGE holds:
- several audiences of several members each (two admins, an admin with a
  types filter, two villages, a moderator, the same account twice), with
  subscribers joining, resuming from a Last-Event-ID and leaving while
  bursts of entries are appended: every subscriber that stays receives
  exactly the entries after its start that it may see, each once, in
  order; one that left received a clean prefix of them;
- a member that never reads is dropped at --events-buffer-bytes while the
  other members of its audience (sharing its chunks) and another audience
  go on receiving every entry;
- an HTTP/1.0 subscriber (no chunked coding) gets the same frames, bare;
- all of the above with the sends handed to the kernel through io_uring
  and, under --events-io-uring 0, with one send() each;
- the hub puts an entry only to the audiences that share a key with it
  (owners and parties by account, moderators by the provinces and forums
  of their scope, accounts by the forum they registered for) and to the
  admins': over many distinct accounts, a moderator of two provinces, one
  of a forum, accounts registered for a forum, and random listing, match,
  forum, account and token entries that concern one or two parties and
  one or two provinces, every stream still equals the oracle (a node of
  role push: no engine or search index reads the made-up entries).

The entries are appended to cm:events directly (types the engine ignores:
account.updated, test.bulk), so bursts need no HTTP request each. No speed is
measured: the deadlines only bound how long a failure takes.
"""
import random
import selectors
import socket
import time

import fixtures
import harness
from streams import SseClient, StreamTestCase, doc_of, expected, id_key, received

WAIT = 60


class FanoutTest(StreamTestCase):
    """The fan-out through io_uring (the default; PlainSendsFanoutTest below
    runs the same cases with one send() each)."""
    daemon_args = ("--events-buffer-bytes", "65536")
    sends = "io_uring=yes"

    def test_the_start_names_the_way_fan_outs_are_sent(self):
        self.assertIn(self.sends, self.daemon.log_text())

    def pump_until(self, clients, done, what, timeout=WAIT):
        sel = selectors.DefaultSelector()
        self.addCleanup(sel.close)
        for c in clients:
            sel.register(c, selectors.EVENT_READ, c)
        deadline = time.monotonic() + timeout
        while not all(done(c) for c in clients):
            for c in clients:
                if c.eof or c.ended:
                    raise AssertionError("a subscriber's stream ended: %r" % c.body[:300])
            self.assertLess(time.monotonic(), deadline, "still waiting for " + what)
            for key, _ in sel.select(timeout=0.2):
                key.data.pump()
        sel.close()

    def append(self, entries):
        return self.rc.pipeline(*[("XADD", "cm:events", "*") + tuple(e) for e in entries])

    def test_every_member_of_every_audience_gets_each_entry_once_in_order(self):
        api, admin = self.api, self.admin
        actors = {
            "admin": admin,
            "admin2": api.make_actor(admin, "admin"),
            "v1": api.make_actor(admin, "village"),
            "v2": api.make_actor(admin, "village"),
            "mod": api.make_actor(admin, "moderator", scope={"provinces": ["HN"]}),
        }
        # (actor, query): the audiences; several members each
        kinds = [("admin", ""), ("admin2", ""), ("admin", "?types=account.updated"),
                 ("v1", ""), ("v2", ""), ("mod", ""), ("v1", "?types=account.updated")]
        open_ = []  # [actor, types, client, resumed from (or None: from its ready id)]
        left = []

        def join(actor, query, resume=None):
            headers = {"Last-Event-ID": resume} if resume else None
            c = self.stream(actors[actor].token, query, headers)
            types = {"account.updated"} if "types=" in query else None
            open_.append((actor, types, c, resume))

        for _ in range(2):
            for actor, query in kinds:
                join(actor, query)
        self.pump_until([o[2] for o in open_], lambda c: c.ready is not None, "ready")

        rnd = random.Random(15)
        who = list(actors.values())

        def burst(n):
            entries = []
            for _ in range(n):
                if rnd.random() < 0.3:
                    entries.append(("type", "test.bulk", "n", str(rnd.random())))
                else:
                    entries.append(("type", "account.updated",
                                    "account", rnd.choice(who).id, "n", str(rnd.random())))
            return self.append(entries)

        resume_from = burst(5)[-1]
        for round_ in range(12):
            burst(rnd.randint(1, 40))
            if round_ % 3 == 0:  # one joins from now, one resumes from an earlier position
                actor, query = rnd.choice(kinds)
                join(actor, query)
                join(actor, query, resume_from)
            if round_ % 4 == 1:  # one leaves mid-burst
                gone = open_.pop(rnd.randrange(len(open_)))
                gone[2].pump()
                gone[2].close(abort=True)
                left.append(gone)
            for o in open_:
                o[2].pump()
        until = fixtures.last_event_id(self.rc)
        self.pump_until([o[2] for o in open_], lambda c: c.ready is not None, "ready")
        wants = {}

        def want(actor, types, c, resume):
            start = resume or c.ready.id
            key = (actor, tuple(sorted(types or ())), start)
            if key not in wants:
                wants[key] = expected(self.rc, doc_of(actors[actor]), start, until, types=types)
            return wants[key]

        need = {id(o[2]): len(want(*o)) for o in open_}
        self.pump_until([o[2] for o in open_], lambda c: len(received(c)) >= need[id(c)],
                        "every entry")
        audiences = set()
        for o in open_:
            actor, types, c, resume = o
            got = received(c)
            self.assertEqual(got, want(*o), "%s %s from %s" % (actor, types, resume))
            self.assertEqual(len({i for i, _ in got}), len(got), "an entry given twice")
            audiences.add(("admin" if actor.startswith("admin") else actor,
                           tuple(sorted(types or ()))))
        self.assertGreaterEqual(len(audiences), 5)
        self.assertGreaterEqual(sum(need.values()), 100)
        self.assertTrue(any(o[3] for o in open_), "no resumed stream stayed")
        for o in left:
            got = received(o[2])
            if o[2].ready is not None:
                self.assertEqual(got, want(*o)[:len(got)], "what a leaver got is no clean prefix")

    def test_a_member_that_never_reads_is_dropped_and_its_audience_goes_on(self):
        slow = self.stream(self.admin.token, rcvbuf=4096)
        self.assertEqual(slow.wait_status(), 200)
        slow.wait_ready()  # from here on it never reads
        admin2 = self.api.make_actor(self.admin, "admin")
        village = self.api.make_actor(self.admin, "village")
        mates = [self.open_ready(self.admin), self.open_ready(admin2)]  # its audience
        other = self.open_ready(village)  # another audience: its own account's entries
        dropped0 = self.daemon.metric("craftmatch_events_dropped_slow_total")
        start = mates[0].ready.id
        blob = "x" * 1000
        ids = []
        clients = mates + [other]
        for batch in range(40):
            ids += self.append([("type", "test.bulk", "n", str(batch * 20 + i), "blob", blob)
                                for i in range(19)] +
                               [("type", "account.updated", "account", village.id,
                                 "n", str(batch))])
            self.pump_until(clients, lambda c: c.has(ids[-1]), "burst %d" % batch)
        admin_doc = doc_of(self.admin)
        for c in mates:
            self.assertEqual(received(c), expected(self.rc, admin_doc, start, ids[-1]))
        self.assertEqual(received(other), expected(self.rc, doc_of(village), start, ids[-1]))
        self.assertEqual(len(received(other)), 40)
        harness.wait_for(
            lambda: self.daemon.metric("craftmatch_events_dropped_slow_total") == dropped0 + 1,
            30, message="the slow member to be dropped")
        slow.read_until_cut()
        got = [e.id for e in slow.data_events()]
        self.assertFalse(slow.ended, "a dropped stream is cut, not ended cleanly")
        every = [i for i, _ in expected(self.rc, admin_doc, slow.ready.id, ids[-1])]
        self.assertLess(len(got), len(every))
        self.assertEqual(got, every[:len(got)])

    def test_an_http_1_0_stream_gets_the_frames_bare(self):
        sock = socket.create_connection((harness.HOST, self.daemon.port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(("GET /v1/events HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n"
                      % self.admin.token).encode())
        buf = b""
        while b"event: ready" not in buf:
            chunk = sock.recv(65536)
            self.assertTrue(chunk, "the stream ended before ready: %r" % buf)
            buf += chunk
        [eid] = self.append([("type", "test.bulk", "n", "1")])
        while ("id: %s\n" % eid).encode() not in buf or not buf.endswith(b"\n\n"):
            chunk = sock.recv(65536)
            self.assertTrue(chunk, "the stream ended: %r" % buf)
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0], head)
        self.assertNotIn(b"chunked", head.lower())
        frame = ('id: %s\nevent: test.bulk\ndata: {"id":"%s","type":"test.bulk","n":"1"}\n\n'
                 % (eid, eid)).encode()
        self.assertTrue(body.endswith(frame), body[-300:])
        self.assertNotIn(b"\r\n", body)


class PlainSendsFanoutTest(FanoutTest):
    daemon_args = FanoutTest.daemon_args + ("--events-io-uring", "0")
    sends = "io_uring=off"


class AudienceIndexTest(StreamTestCase):
    daemon_args = ("--role", "push")

    def test_each_entry_reaches_exactly_the_audiences_that_may_see_it(self):
        api, admin = self.api, self.admin
        forum = api.create_forum(admin, state="open")["id"]
        actors = [api.make_actor(admin, rnd_role) for rnd_role in ["village", "supplier"] * 12]
        actors += [api.make_actor(admin, "village", forum=forum) for _ in range(2)]
        actors += [api.make_actor(admin, "moderator", scope={"provinces": ["HN", "HP"]}),
                   api.make_actor(admin, "moderator",
                                  scope={"provinces": ["QN"], "forums": [forum]}),
                   api.make_actor(admin, "moderator", scope={"provinces": ["DN"]}),
                   admin]
        # every account once, some twice (an audience of two), two with a types filter
        opened = [(a, "") for a in actors] + [(a, "") for a in actors[:3]] + \
            [(actors[0], "?types=listing.created,match.approved"),
             (actors[-3], "?types=listing.created,match.approved")]
        clients = [(a, q, self.stream(a.token, q)) for a, q in opened]
        for _, _, c in clients:
            self.assertEqual(c.wait_status(), 200, c.body)
            c.wait_ready()
        start = max((c.ready.id for _, _, c in clients), key=lambda i: tuple(map(int, i.split("-"))))
        rnd = random.Random(1515)
        ids = [a.id for a in actors]
        provinces = ["HN", "HP", "QN", "DN", "Bắc Ninh", ""]
        forums = [forum, "dien-dan-khac", ""]

        def entry():
            kind = rnd.choice(["listing", "match", "forum", "account", "token", "other"])
            if kind == "listing":
                return ("type", rnd.choice(["listing.created", "listing.updated"]),
                        "listing", "L%d" % rnd.randrange(99), "owner", rnd.choice(ids),
                        "province", rnd.choice(provinces), "forum", rnd.choice(forums))
            if kind == "match":
                need_owner, offer_owner = rnd.sample(ids, 2)
                return ("type", rnd.choice(["match.proposed", "match.approved"]),
                        "need_owner", need_owner, "offer_owner", offer_owner,
                        "need_province", rnd.choice(provinces),
                        "offer_province", rnd.choice(provinces),
                        "need_forum", rnd.choice(forums), "offer_forum", rnd.choice(forums),
                        "approved", rnd.choice(["0", "1"]), "state", "proposed")
            if kind == "forum":
                return ("type", rnd.choice(["forum.created", "forum.open", "forum.updated"]),
                        "forum", rnd.choice(forums), "organiser", rnd.choice(ids),
                        "provinces", ",".join(rnd.sample(provinces[:5], rnd.randint(0, 2))),
                        "state", rnd.choice(["draft", "open"]))
            if kind in ("account", "token"):
                return ("type", "account.updated" if kind == "account" else "token.created",
                        "account", rnd.choice(ids), "token", "t%d" % rnd.randrange(99))
            return ("type", "test.bulk", "n", str(rnd.random()))

        for _ in range(8):
            self.rc.pipeline(*[("XADD", "cm:events", "*") + entry()
                               for _ in range(rnd.randint(1, 60))])
        # last, one entry for each account that it and the admins see, filtered or not
        ends = dict(zip([a.id for a in actors], self.rc.pipeline(*[
            ("XADD", "cm:events", "*", "type", "listing.created", "listing", "end",
             "owner", a.id, "province", "", "forum", "") for a in actors])))
        until = fixtures.last_event_id(self.rc)
        for a, _, c in clients:
            c.wait_id(ends[a.id], WAIT)
        seen = 0
        for a, q, c in clients:
            types = {"listing.created", "match.approved"} if q else None
            want = expected(self.rc, doc_of(a), start, until, types=types)
            got = [e for e in received(c) if id_key(e[0]) > id_key(start)]
            self.assertEqual(got, want, "%s %s %s" % (a.role, a.id, q))
            seen += len(want)
        self.assertGreater(seen, 200)


if __name__ == "__main__":
    harness.main()
