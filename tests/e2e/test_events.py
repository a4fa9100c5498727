"""
e2e: GET /v1/events (server-sent events) and POST /v1/stream-tickets.

Proves, against a real redis-server and craftmatchd:
- the stream's form: 200 text/event-stream, no-store, X-Request-Id; first a
  retry: hint; "ready" whose id is the position the stream starts from;
  every event with id: = its cm:events entry id, event: = its type, data: =
  the entry's fields plus id and type, exactly as XRANGE shows them, less
  the fields for the servers ('_' names: the engine record a listing event
  carries);
- heartbeats (": ping") keep a stream open well past --idle-timeout, while
  a silent keep-alive connection is still closed at it;
- the query is checked (unknown or repeated parameters, bad types, listing
  and event ids: 400) before the caller (no credentials: 401), and a bearer
  token in the URL (token=, access_token=) is refused with 400 pointing at
  tickets; the types and listing filters narrow what arrives;
- tickets: POST /v1/stream-tickets needs a bearer token; a ticket opens one
  stream as its account, once; a used, expired, malformed or unknown ticket,
  or one whose token was revoked since, is 401;
- revoking the token a stream was opened with ends that stream after
  telling it token.revoked; suspending its account ends it after
  account.suspended;
- visibility, as a table over roles and relations: admin, moderator in
  scope by province and by forum, moderator out of scope, the village that
  owns a need, another village, the supplier party of a match before and
  after its approval, an unrelated supplier — each receives exactly the
  entries of cm:events its account may see (computed here independently
  from XRANGE), live and again when replayed from its first position;
- resume: Last-Event-ID (header, winning over last_event_id=) replays what
  was missed; a position older than what the stream keeps (XTRIM) or not of
  this stream gets "reset" first, then the live tail (one up to a minute
  past the last entry, an event a failover lost, is resumed after: no
  reset); a stream never trimmed replays everything from 0-0;
- /metrics counts open subscribers, delivered events and resets;
- (test_events_processes.py: shutdown, two processes, a Redis restart and
  scripts/watch.)

The SSE client and the visibility oracle are in streams.py; test_events_resume.py,
test_events_scale.py and test_forums.py use them too.
"""

import json
import time

import fixtures
import harness
from streams import (SseClient, StreamTestCase, TICKET_RE, compatible_pair_bodies, doc_of,
                     expected, id_key, new_ticket, pushed, received, stream_tail)  # noqa: F401
# (SseClient: test_forums.py imports it from here)


class EventsTest(StreamTestCase):
    daemon_args = ("--events-heartbeat", "1", "--idle-timeout", "3", "--stream-ticket-ttl", "2",
                   "--events-retry-ms", "1500")

    def test_stream_form_and_one_event_as_xrange_shows_it(self):
        tail = stream_tail(self.rc)
        c = self.stream(self.admin.token)
        self.assertEqual(c.wait_status(), 200, c.body)
        self.assertEqual(harness.media_type(c.headers), "text/event-stream")
        self.assertEqual(c.headers.get("Cache-Control"), "no-store")
        self.assertRegex(c.headers.get("X-Request-Id", ""), r"^[A-Za-z0-9._-]{1,64}$")
        ready = c.wait_ready()
        self.assertEqual(c.retry, 1500)
        self.assertEqual(c.events[0].type, "ready", "ready comes before any event")
        # A fresh stream starts where the hub is: the end of cm:events, once the hub has read it.
        self.assertLessEqual(id_key(ready.id), id_key(tail))

        def starts_at_tail():
            probe = self.stream(self.admin.token)
            return probe.wait_ready().id == tail
        harness.wait_for(starts_at_tail, 10, interval=0.1, message="a stream starting at the tail")
        village = self.api.make_actor(self.admin, "village")
        need = self.api.post_need(village)
        want = expected(self.rc, doc_of(self.admin), ready.id, fixtures.last_event_id(self.rc))
        self.assertTrue(any(d.get("listing") == need["id"] for _, d in want))
        c.wait_id(want[-1][0])
        self.assertEqual(received(c), want)
        # The stored entry carries the engine's record and what the search
        # index keeps (server/search/); the pushed one does not.
        created = [f for _, f in fixtures.listing_events(self.rc, need["id"])
                   if f["type"] == "listing.created"]
        self.assertTrue(created and created[0]["_eng"].startswith("m1 "), created)
        self.assertEqual(set(created[0]) - set(pushed(created[0])),
                         {"_eng", "_seq", "_doc", "_fold", "_name", "_created", "_at"})
        sent = [d for _, d in received(c) if d.get("listing") == need["id"]]
        self.assertFalse([k for d in sent for k in d if k.startswith("_")], sent)

    def test_heartbeats_keep_a_stream_open_past_the_idle_timeout(self):
        c = self.open_ready(self.admin)
        idle = self.daemon.raw()
        self.addCleanup(idle.close)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 7.5:  # 2.5 idle timeouts
            c.pump()
            self.assertFalse(c.eof or c.ended, "the stream was closed while heartbeats flowed")
            time.sleep(0.2)
        self.assertGreaterEqual(c.comments.count("ping"), 3, c.comments)
        self.assertTrue(idle.closed_by_peer(1), "a silent connection outlived --idle-timeout")
        village = self.api.make_actor(self.admin, "village")
        c.wait(lambda s: any(e.data.get("account") == village.id for e in s.data_events()),
               what="an event after the idle period")

    def test_query_is_checked_before_the_caller(self):
        tok = self.admin.token
        cases = [
            ("?bogus=1", None, {}, ["bogus"]),
            ("?types=listing.created&types=match.approved", tok, {}, ["types"]),
            ("?types=listing.create", tok, {}, ["types"]),
            ("?types=", tok, {}, ["types"]),
            ("?types=listing.created,,match.approved", tok, {}, ["types"]),
            ("?listing=lst_nope", tok, {}, ["listing"]),
            ("?last_event_id=abc", None, {}, ["last_event_id"]),
            ("?last_event_id=01-1", tok, {}, ["last_event_id"]),
            ("?last_event_id=1-", tok, {}, ["last_event_id"]),
            ("?last_event_id=-1-0", tok, {}, ["last_event_id"]),
            ("?last_event_id=1-2-3", tok, {}, ["last_event_id"]),
            ("?last_event_id=18446744073709551616-0", tok, {}, ["last_event_id"]),
            ("", tok, {"Last-Event-ID": "1700000000000"}, ["Last-Event-ID"]),
            ("?last_event_id=1-0", tok, {"Last-Event-ID": "x"}, ["Last-Event-ID"]),
            ("?ticket=" + "cmst_" + "A" * 43, tok, {}, ["ticket"]),
        ]
        for query, token, headers, fields in cases:
            with self.subTest(query=query, headers=headers):
                h = dict(headers)
                if token:
                    h["Authorization"] = "Bearer " + token
                resp = self.daemon.request("GET", "/v1/events" + query, headers=h)
                self.assertValidation(resp, fields)
        for name in ("token", "access_token"):
            with self.subTest(param=name):
                resp = self.daemon.request("GET", "/v1/events?%s=%s" % (name, tok))
                self.assertProblemResp(resp, 400)
                self.assertEqual(resp[2]["type"], "/problems/bad-request")
                self.assertIn("stream-tickets", resp[2]["detail"])
                self.assertNotIn(tok, json.dumps(resp[2]))
        self.assert401(self.daemon.request("GET", "/v1/events"))
        self.assert401(self.daemon.request("GET", "/v1/events", token="cm_" + "A" * 43))
        self.assert401(self.daemon.request("GET", "/v1/events?types=listing.created"))

    def test_types_and_listing_filters(self):
        village = self.api.make_actor(self.admin, "village")
        first = self.api.post_need(village)
        c_types = self.open_ready(self.admin, "?types=listing.updated,listing.closed")
        c_listing = self.open_ready(self.admin, "?listing=" + first["id"])
        start = min(c_types.ready.id, c_listing.ready.id, key=id_key)
        second = self.api.post_need(village)
        for lst in (first, second):
            resp = self.api.call(village, "PATCH", "/v1/listings/" + lst["id"],
                                 {"quantity": "20"}, {"If-Match": '"1"'})
            self.assertStatus(resp, 200)
        self.assertStatus(self.api.call(village, "DELETE", "/v1/listings/" + first["id"]), 200)
        until = fixtures.last_event_id(self.rc)
        admin = doc_of(self.admin)
        want_types = expected(self.rc, admin, c_types.ready.id, until,
                              types={"listing.updated", "listing.closed"})
        want_listing = expected(self.rc, admin, c_listing.ready.id, until, listing=first["id"])
        self.assertEqual([d["type"] for _, d in want_types],
                         ["listing.updated", "listing.updated", "listing.closed"])
        self.assertEqual([d["type"] for _, d in want_listing], ["listing.updated", "listing.closed"])
        self.assertTrue(id_key(start) < id_key(until))
        c_types.wait_id(want_types[-1][0])
        c_listing.wait_id(want_listing[-1][0])
        self.assertEqual(received(c_types), want_types)
        self.assertEqual(received(c_listing), want_listing)

    def test_head_answers_without_a_stream(self):
        status, headers, body = self.daemon.request("HEAD", "/v1/events", token=self.admin.token)
        self.assertEqual(status, 200)
        self.assertEqual(harness.media_type(headers), "text/event-stream")
        self.assertEqual(body, "")

    # -- tickets --

    def test_ticket_needs_a_bearer_token(self):
        self.assert401(self.daemon.request("POST", "/v1/stream-tickets"))
        self.assert401(self.daemon.request("POST", "/v1/stream-tickets", token="cm_" + "B" * 43))
        resp = self.api.call(self.admin, "POST", "/v1/stream-tickets", {"ttl": 5})
        self.assertValidation(resp, ["ttl"])
        resp = self.api.call(self.admin, "POST", "/v1/stream-tickets", {})
        self.assertStatus(resp, 200)

    def test_ticket_opens_one_stream_as_its_account_once(self):
        village = self.api.make_actor(self.admin, "village")
        t0 = time.time()
        t = new_ticket(self.api, village)
        self.assertEqual(set(t), {"ticket", "expires_at"})
        self.assertRegex(t["ticket"], TICKET_RE)
        expires = fixtures.rfc3339_to_ms(t["expires_at"]) / 1000.0
        self.assertTrue(t0 + 1 <= expires <= time.time() + 2 + 1, (t0, expires))
        # Only its hash is kept, with an expiry.
        key = "cm:ticket:" + fixtures.sha256_hex(t["ticket"])
        self.assertEqual(self.rc.execute("HGET", key, "account"), village.id)
        self.assertGreater(self.rc.execute("PTTL", key), 0)
        c = self.stream(query="?ticket=" + t["ticket"])
        self.assertEqual(c.wait_status(), 200, c.body)
        c.wait_ready()
        self.assertEqual(self.rc.execute("EXISTS", key), 0, "a used ticket is gone")
        # It streams as the village: its own listing, not another village's.
        other = self.api.make_actor(self.admin, "village")
        theirs = self.api.post_need(other)
        mine = self.api.post_need(village)
        c.wait(lambda s: any(e.data.get("listing") == mine["id"] for e in s.data_events()),
               what="the village's own listing")
        self.assertFalse(any(e.data.get("listing") == theirs["id"] for e in c.events))
        again = self.stream(query="?ticket=" + t["ticket"])
        self.assertEqual(again.wait_status(), 401)
        self.assertIn("used", again.problem()["detail"])

    def test_ticket_expires(self):
        t = new_ticket(self.api, self.admin)
        time.sleep(3.2)  # --stream-ticket-ttl 2
        resp = self.daemon.request("GET", "/v1/events?ticket=" + t["ticket"])
        self.assert401(resp)

    def test_wrong_tickets_are_401(self):
        good = new_ticket(self.api, self.admin)["ticket"]
        for bad in ("cmst_" + "A" * 43, "cmst_short", good[:-1] + ("A" if good[-1] != "A" else "B"),
                    "cm_" + good[5:], "cmst_" + "!" * 43):
            with self.subTest(ticket=bad):
                self.assert401(self.daemon.request("GET", "/v1/events?ticket=" + bad))

    def test_a_ticket_dies_with_its_token(self):
        village = self.api.make_actor(self.admin, "village")
        t = new_ticket(self.api, village)
        self.assertStatus(self.api.call(village, "DELETE", "/v1/tokens/" + village.token_id), 204)
        self.assert401(self.daemon.request("GET", "/v1/events?ticket=" + t["ticket"]))

    def test_revoking_the_token_ends_the_stream(self):
        village = self.api.make_actor(self.admin, "village")
        c = self.open_ready(village)
        self.assertStatus(self.api.call(self.admin, "DELETE", "/v1/tokens/" + village.token_id),
                          204)
        c.wait_end()
        self.assertTrue(c.ended, "the stream should end with its last chunk")
        self.assertEqual([(e.type, e.data["token"]) for e in c.data_events()][-1:],
                         [("token.revoked", village.token_id)])
        harness.wait_for(lambda: c.pump() or c.eof, 10,
                         message="the connection to close after the stream's end")

    def test_suspending_the_account_ends_the_stream(self):
        village = self.api.make_actor(self.admin, "village")
        c = self.open_ready(village)
        status, _, doc = self.api.call(self.admin, "PATCH", "/v1/accounts/" + village.id,
                                       {"suspended": True})
        self.assertEqual(status, 200, doc)
        c.wait_end()
        self.assertTrue(c.ended, "the stream should end with its last chunk")
        self.assertEqual([(e.type, e.data["account"]) for e in c.data_events()][-1:],
                         [("account.suspended", village.id)])
        harness.wait_for(lambda: c.pump() or c.eof, 10,
                         message="the connection to close after the stream's end")
        self.assert401(self.api.call(village, "POST", "/v1/stream-tickets", {}))

    def test_metrics(self):
        before = self.daemon.metrics()
        n0 = before.value("craftmatch_events_subscribers")
        d0 = before.value("craftmatch_events_delivered_total")
        self.assertEqual(before.value("craftmatch_events_hub_live"), 1)
        for name in ("craftmatch_events_delivered_total", "craftmatch_events_dropped_slow_total",
                     "craftmatch_events_resets_total"):
            self.assertEqual(before.type_of(name), "counter", name)
        self.assertEqual(before.type_of("craftmatch_events_subscribers"), "gauge")
        streams = [self.open_ready(self.admin) for _ in range(3)]
        self.assertEqual(self.daemon.metric("craftmatch_events_subscribers"), n0 + 3)
        village = self.api.make_actor(self.admin, "village")
        last = fixtures.last_event_id(self.rc)
        for c in streams:
            c.wait_id(last)
        delivered = sum(len(c.data_events()) for c in streams)
        self.assertGreaterEqual(self.daemon.metric("craftmatch_events_delivered_total"),
                                d0 + delivered)
        for c in streams:
            c.close()
        harness.wait_for(lambda: self.daemon.metric("craftmatch_events_subscribers") == n0, 10,
                         message="closed streams to be counted out")
        self.assertTrue(village.id)


class ResumeTest(StreamTestCase):
    """Resume points: replay, the seam, trimmed and foreign positions."""

    def post_some(self, village, n):
        for _ in range(n):
            self.api.post_need(village)

    def test_replay_from_a_position_then_live(self):
        village = self.api.make_actor(self.admin, "village")
        start = fixtures.last_event_id(self.rc)
        self.post_some(village, 3)
        mid = fixtures.last_event_id(self.rc)
        self.post_some(village, 2)
        admin = doc_of(self.admin)
        # The header wins over the parameter (a browser reconnects with both).
        c = self.open_ready(self.admin, "?last_event_id=" + start, {"Last-Event-ID": mid})
        self.post_some(village, 2)
        until = fixtures.last_event_id(self.rc)
        c.wait_id(until)
        self.assertEqual(received(c), expected(self.rc, admin, mid, until))
        self.assertFalse(any(e.type == "reset" for e in c.events))
        # The parameter alone.
        c2 = self.open_ready(self.admin, "?last_event_id=" + start)
        c2.wait_id(until)
        self.assertEqual(received(c2), expected(self.rc, admin, start, until))
        # "ready" comes once, when the catch-up reached the live tail, at the last id replayed.
        self.assertEqual([e.type for e in c2.events].count("ready"), 1)
        self.assertEqual(c2.ready.id, c2.events[c2.events.index(c2.ready) - 1].id)


    def test_trimmed_history_sends_reset_then_the_live_tail(self):
        village = self.api.make_actor(self.admin, "village")
        self.post_some(village, 2)
        old = fixtures.last_event_id(self.rc)
        self.post_some(village, 6)
        resets0 = self.daemon.metric("craftmatch_events_resets_total")
        self.rc.execute("XTRIM", "cm:events", "MAXLEN", "3")  # exact: the entry after `old` goes
        first_kept = self.rc.execute("XRANGE", "cm:events", "-", "+", "COUNT", "1")[0][0]
        self.assertLess(id_key(old), id_key(first_kept))
        c = self.open_ready(self.admin, headers={"Last-Event-ID": old})
        kinds = [e.type for e in c.events]
        self.assertEqual(kinds[:2], ["reset", "ready"], kinds)
        reset = c.events[0]
        self.assertEqual(reset.data["reason"], "trimmed")
        self.assertEqual(reset.data["after"], old)
        self.assertIn("reload", reset.data["detail"])
        self.assertEqual(reset.id, stream_tail(self.rc), "reset names the live position")
        self.assertEqual(c.ready.id, reset.id)
        self.assertEqual(received(c), [], "nothing is replayed after a reset")
        self.assertEqual(self.daemon.metric("craftmatch_events_resets_total"), resets0 + 1)
        self.post_some(village, 1)
        until = fixtures.last_event_id(self.rc)
        c.wait_id(until)
        self.assertEqual(received(c), expected(self.rc, doc_of(self.admin), reset.id, until))
        # A client resuming from the reset's id carries on without another reset.
        c2 = self.open_ready(self.admin, headers={"Last-Event-ID": reset.id})
        c2.wait_id(until)
        self.assertFalse(any(e.type == "reset" for e in c2.events))

    def test_a_position_a_failover_lost_is_resumed_after(self):
        """An id just past the stream's last entry (the event of a change a
        Redis failover lost, which subscribers had already received): no
        reset; the next entries, which come after it, arrive."""
        village = self.api.make_actor(self.admin, "village")
        last = fixtures.last_event_id(self.rc)
        lost = "%d-0" % (int(last.split("-")[0]) + 1)
        c = self.open_ready(self.admin, headers={"Last-Event-ID": lost})
        self.assertEqual([e.type for e in c.events], ["ready"], "no reset")
        time.sleep(0.01)  # the next entry's id comes from a later clock reading
        self.post_some(village, 2)
        until = fixtures.last_event_id(self.rc)
        c.wait_id(until)
        self.assertEqual(received(c), expected(self.rc, doc_of(self.admin), lost, until))
        # a minute past the last entry, it is a position of another stream
        far = "%d-0" % (int(until.split("-")[0]) + 60001)
        c2 = self.open_ready(self.admin, headers={"Last-Event-ID": far})
        self.assertEqual(c2.events[0].type, "reset")
        self.assertEqual(c2.events[0].data["reason"], "unknown")

    def test_a_position_from_elsewhere_sends_reset(self):
        future = "%d-0" % (int(time.time() * 1000) + 10 ** 9)
        c = self.open_ready(self.admin, "?last_event_id=" + future)
        self.assertEqual(c.events[0].type, "reset")
        self.assertEqual(c.events[0].data["reason"], "unknown")
        village = self.api.make_actor(self.admin, "village")
        c.wait(lambda s: any(e.data.get("account") == village.id for e in s.data_events()),
               what="the live tail after the reset")


class ReplayAllTest(StreamTestCase):
    """A stream of its own, never trimmed."""

    def test_zero_replays_everything_kept_when_nothing_was_trimmed(self):
        village = self.api.make_actor(self.admin, "village")
        for _ in range(3):
            self.api.post_need(village)
        c = self.open_ready(self.admin, headers={"Last-Event-ID": "0-0"})
        until = c.ready.id
        self.assertEqual(until, fixtures.last_event_id(self.rc))
        self.assertEqual(received(c), expected(self.rc, doc_of(self.admin), "0-0", until))
        self.assertFalse(any(e.type == "reset" for e in c.events))


class VisibilityTest(StreamTestCase):
    """Who receives what: a table over roles and relations to a match."""

    FORUM = "dien-dan-kiem-thu"

    def test_each_role_receives_exactly_what_it_may_see(self):
        api, admin = self.api, self.admin
        mk = api.make_actor
        actors = {
            "admin": admin,
            "mod_in": mk(admin, "moderator", "mod_in", scope={"provinces": ["HN"]}),
            "mod_forum": mk(admin, "moderator", "mod_forum", scope={"forums": [self.FORUM]}),
            "mod_out": mk(admin, "moderator", "mod_out", scope={"provinces": ["QN"]}),
            "village": mk(admin, "village", "village"),
            "other_village": mk(admin, "village", "other_village"),
            "supplier": mk(admin, "supplier", "supplier"),
            "other_supplier": mk(admin, "supplier", "other_supplier"),
        }
        docs = {k: doc_of(a) for k, a in actors.items()}
        # the forum the need registers for: organised by the admin, in Lạng Sơn (nobody's scope)
        api.create_forum(admin, "open", id=self.FORUM, provinces=["LS"])
        streams = {k: self.open_ready(a) for k, a in actors.items()}
        # The village also listens through a ticket, as a browser would.
        t = new_ticket(api, actors["village"])
        streams["village_ticket"] = self.stream(query="?ticket=" + t["ticket"])
        self.assertEqual(streams["village_ticket"].wait_status(), 200)
        streams["village_ticket"].wait_ready()
        docs["village_ticket"] = docs["village"]

        need_over, offer_over = compatible_pair_bodies(forum=self.FORUM)
        need = api.post_need(actors["village"], **need_over)
        offer = api.post_offer(actors["supplier"], **offer_over)
        other_need = api.post_need(actors["other_village"], quantity="5")  # below min order
        other_offer = api.post_offer(actors["other_supplier"])  # grade B: fits nothing
        # the need waits for its forum: closing the forum sends it to the market
        for action in ("close-registration", "close"):
            if action == "close":
                api.wait_forum_state(admin, self.FORUM, "review")
            api.forum_act(admin, self.FORUM, action)

        def proposal():
            page = api.call(admin, "GET", "/v1/matches?listing=" + need["id"])[2]
            return page.get("items")
        m = harness.wait_for(proposal, 20, interval=0.2, message="the engine's proposal")[0]
        self.assertEqual((m["need"]["id"], m["offer"]["id"]), (need["id"], offer["id"]))
        proposed_at = fixtures.last_event_id(self.rc)
        act = "/v1/matches/%s/%%s" % m["id"]
        self.assertStatus(api.call(actors["mod_in"], "POST", act % "approve"), 200)
        self.assertStatus(api.call(actors["village"], "POST", act % "accept"), 200)
        self.assertStatus(api.call(actors["supplier"], "POST", act % "accept"), 200)
        # Sentinels: each account's own new token, which only it and admins see.
        sentinel = {}
        for k, a in actors.items():
            api.issue_token(a)
            sentinel[k] = fixtures.last_event_id(self.rc)
        sentinel["village_ticket"] = sentinel["village"]
        until = max(sentinel.values(), key=id_key)
        for k, c in streams.items():
            c.wait_id(sentinel[k] if k != "admin" else until)

        got, want = {}, {}
        for k, c in streams.items():
            want[k] = expected(self.rc, docs[k], c.ready.id, until)
            got[k] = [x for x in received(c) if id_key(x[0]) <= id_key(until)]
            self.assertEqual(got[k], want[k], "stream of %s" % k)

        # The table, spelled out: (listing or match event) -> who sees it.
        def seen(k, pred):
            return any(pred(d) for _, d in got[k])

        def lst(lid, etype="listing.created"):
            return lambda d: d["type"] == etype and d.get("listing") == lid

        def mat(etype):
            return lambda d: d["type"] == etype and d.get("match") == m["id"]

        table = [
            # event                      admin mod_in forum mod_out village other_v supplier other_s
            ("need created", lst(need["id"]), (1, 1, 1, 0, 1, 0, 0, 0)),
            ("offer created", lst(offer["id"]), (1, 0, 0, 0, 0, 0, 1, 0)),
            ("other need created", lst(other_need["id"]), (1, 1, 0, 0, 0, 1, 0, 0)),
            ("other offer created", lst(other_offer["id"]), (1, 0, 0, 0, 0, 0, 0, 1)),
            ("match proposed", mat("match.proposed"), (1, 1, 1, 0, 0, 0, 0, 0)),
            ("match approved", mat("match.approved"), (1, 1, 1, 0, 1, 0, 1, 0)),
            ("match accepted", mat("match.accepted"), (1, 1, 1, 0, 1, 0, 1, 0)),
            ("match confirmed", mat("match.confirmed"), (1, 1, 1, 0, 1, 0, 1, 0)),
        ]
        who = ("admin", "mod_in", "mod_forum", "mod_out", "village", "other_village", "supplier",
               "other_supplier")
        for name, pred, row in table:
            for k, expect in zip(who, row):
                with self.subTest(event=name, viewer=k):
                    self.assertEqual(seen(k, pred), bool(expect))
        for k in who:
            with self.subTest(own_token=k):
                ids = {eid for eid, _ in got[k]}
                self.assertIn(sentinel[k], ids)
                accounts = {d["account"] for _, d in got[k] if d["type"].startswith("token.")}
                if k == "admin":
                    self.assertTrue(all(sentinel[j] in ids for j in who))
                else:
                    self.assertEqual(accounts, {actors[k].id})
        self.assertLess(id_key(proposed_at), id_key(until))
        # The ticket stream opened later, and a stream starts at the position the process's
        # reader had reached (which may trail the newest entry): compare from its start on.
        start = id_key(streams["village_ticket"].ready.id)
        self.assertEqual(got["village_ticket"],
                         [x for x in got["village"] if id_key(x[0]) > start])

        # Replayed from each stream's first position: the same, through catch-up.
        for k in who:
            with self.subTest(replay=k):
                c = self.stream(actors[k].token, headers={"Last-Event-ID": streams[k].ready.id})
                self.assertEqual(c.wait_status(), 200)
                c.wait_ready()
                self.assertEqual([x for x in received(c) if id_key(x[0]) <= id_key(until)],
                                 want[k])
                c.close()


class ListingEndEventsTest(fixtures.MatchHelpers, StreamTestCase):
    """Closing a need tells everyone concerned, live, that its unconfirmed
    matches are cancelled: the parties of an approved one and the
    moderators; a proposal the parties never saw stays unseen."""

    def test_closing_a_need_tells_the_parties_of_its_matches(self):
        mod = self.moderator(provinces=["HN"], label="mod-HN")
        village = self.party("village", "HN")
        sa, sb = self.party("supplier", "HP", label="sa"), self.party("supplier", "HP", label="sb")
        oa = self.offer(sa, "rattan", 4, 15000000)
        ob = self.offer(sb, "rattan", 4, 16000000)
        need = self.need(village, "rattan", 8)
        ms = self.by_offer(self.wait_for_matches(need["id"], 2))
        ma, mb = ms[oa["id"]], ms[ob["id"]]
        self.act_ok(mod, ma["id"], "approve")
        who = {"village": village, "sa": sa, "sb": sb, "mod": mod}
        streams = {k: self.open_ready(a) for k, a in who.items()}
        after = max((c.ready.id for c in streams.values()), key=id_key)
        self.assertStatus(self.api.call(village, "DELETE", "/v1/listings/" + need["id"]), 200)
        until = fixtures.last_event_id(self.rc)
        got = {}
        for k, c in streams.items():
            want = expected(self.rc, doc_of(who[k]), after, until)
            if want:
                c.wait_id(want[-1][0])
            got[k] = [(d["type"], d.get("match") or d.get("listing"), d.get("state"))
                      for _, d in received(c) if id_key(d["id"]) > id_key(after)]
            self.assertEqual(received(c)[-len(want):] if want else [], want, k)
        closed = ("listing.closed", need["id"], None)
        gone_a = ("match.cancelled", ma["id"], "cancelled")
        gone_b = ("match.cancelled", mb["id"], "cancelled")
        self.assertEqual(got["village"], [closed, gone_a])
        self.assertEqual(got["sa"], [gone_a])
        self.assertEqual(got["sb"], [])
        self.assertEqual(got["mod"], [closed, gone_a, gone_b])
        for _, d in received(streams["sa"]):
            if d.get("match") == ma["id"]:
                self.assertEqual((d["by"], d["need_remaining"], d["offer_remaining"]),
                                 (village.id, "4000", "4000"), d)
                self.assertFalse([k for k in d if k.startswith("_")], d)



if __name__ == "__main__":
    harness.main()
