"""
e2e: persistence — what craftmatchd acknowledged survives restarts.

Proves (DESIGN.md invariant 2, "acknowledged means durable", and "nothing
that must survive a restart lives only in process memory"):
- craftmatchd stopped (SIGTERM, exit 0) and started again on the same Redis
  serves the same accounts, tokens (the old secret still authenticates, a
  revoked one still does not) and listings, and carries on writing (the old
  ETag still matches).
- Redis shut down and started again on the same directory (AOF,
  appendfsync always): the whole keyspace is byte-for-byte what it was, and
  the daemon, reconnected, serves it all.
- Redis SIGKILLed right after each acknowledged write (201 account, 201
  token, 201 listing, 200 PATCH, 200 close, 204 revoke) and restarted: every
  one of those writes is there, with its event in cm:events.
- a need posted before a Redis crash (Redis stopped mid-sweep, then killed)
  still expires on time afterwards: the expiry index is in Redis and the
  daemon's timer survives the reconnect.
"""
import time

import fixtures
import harness


class PersistenceTest(harness.TestCase):

    def setUp(self):
        self.redis = self.start_redis()   # harness default: appendonly yes, appendfsync always
        self.daemon = self.start_daemon(self.redis)
        self.api = fixtures.Api(self.daemon)
        self.admin = fixtures.bootstrap_admin(self.redis)

    def rc(self):
        return self.redis.client()

    def world(self):
        """Accounts, tokens (one revoked) and listings; returns what to compare later."""
        api, admin = self.api, self.admin
        w = {}
        w["mod"] = api.make_actor(admin, "moderator")
        w["village"] = v = api.make_actor(w["mod"], "village")
        w["supplier"] = s = api.make_actor(admin, "supplier")
        w["spare"] = api.issue_token(v, name="dự phòng")
        w["revoked"] = api.issue_token(v, name="đã thu hồi")
        self.assertEqual(api.call(v, "DELETE", "/v1/tokens/" + w["revoked"]["id"])[0], 204)
        w["need"] = api.post_need(v)
        w["offer"] = api.post_offer(s)
        w["closed"] = api.post_need(v, note="đã đủ hàng")
        self.assertEqual(api.call(v, "DELETE", "/v1/listings/" + w["closed"]["id"])[0], 200)
        w["closed"] = api.get_listing(v, w["closed"]["id"])
        w["accounts"] = {a.id: api.call(admin, "GET", "/v1/accounts/" + a.id)[2]
                         for a in (w["mod"], v, s)}
        w["tokens"] = api.call(v, "GET", "/v1/tokens")[2]
        return w

    def assertWorldServed(self, w):
        api, v = self.api, w["village"]
        for actor in (self.admin, w["mod"], v, w["supplier"]):
            status, _, me = api.call(actor, "GET", "/v1/me")
            self.assertEqual(status, 200, "%s's token no longer works: %r" % (actor.label, me))
            self.assertEqual(me["id"], actor.id)
        self.assertEqual(api.call(w["spare"]["token"], "GET", "/v1/me")[2]["id"], v.id)
        status, headers, body = api.call(w["revoked"]["token"], "GET", "/v1/me")
        self.assertEqual(status, 401, "a revoked token came back: %r" % (body,))
        for aid, doc in w["accounts"].items():
            self.assertEqual(api.call(self.admin, "GET", "/v1/accounts/" + aid)[2], doc)
        # (the order of GET /v1/tokens is unspecified: it follows a Redis set)
        self.assertEqual(sorted(api.call(v, "GET", "/v1/tokens")[2]["items"],
                                key=lambda t: t["id"]),
                         sorted(w["tokens"]["items"], key=lambda t: t["id"]))
        for k in ("need", "offer", "closed"):
            self.assertEqual(api.get_listing(v, w[k]["id"]), w[k], k)
        self.assertEqual([i["id"] for i in api.search_all(v, owner="me", status="any")],
                         [w["closed"]["id"], w["need"]["id"]])
        self.assertEqual([i["id"] for i in api.search_all(v, kind="offer")], [w["offer"]["id"]])

    def assertStillWrites(self, w):
        v = w["village"]
        # the ETag from before the restart still matches
        status, _, doc = self.api.call(v, "PATCH", "/v1/listings/" + w["need"]["id"],
                                       {"note": "sau khởi động lại"},
                                       {"If-Match": '"%d"' % w["need"]["version"]})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["version"], w["need"]["version"] + 1)
        self.api.post_need(v)
        self.api.make_actor(self.admin, "village")

    # -- craftmatchd restart --

    def test_daemon_restart(self):
        w = self.world()
        keys_before = fixtures.dump_all(self.rc())
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log_tail())
        self.daemon.check_sanitizers()
        self.daemon.start()
        self.assertWorldServed(w)
        self.assertEqual(fixtures.dump_diff(keys_before, fixtures.dump_all(self.rc())), "",
                         "reads after a restart changed Redis")
        self.assertStillWrites(w)

    # -- Redis restart --

    def assertAofAlways(self):
        rc = self.rc()
        self.assertEqual(rc.execute("CONFIG", "GET", "appendonly"), ["appendonly", "yes"])
        self.assertEqual(rc.execute("CONFIG", "GET", "appendfsync"), ["appendfsync", "always"])

    def test_redis_shutdown_and_restart(self):
        self.assertAofAlways()
        w = self.world()
        keys_before = fixtures.dump_all(self.rc())
        self.assertIn("cm:events", keys_before)
        self.redis.stop()                      # SHUTDOWN (NOSAVE: no RDB; the AOF is the data)
        self.redis.start()                     # same port, same dir
        self.assertEqual(fixtures.dump_diff(keys_before, fixtures.dump_all(self.rc())), "",
                         "the keyspace differs after a Redis restart")
        self.daemon.wait_ready()
        self.assertWorldServed(w)
        self.assertStillWrites(w)

    def test_acknowledged_writes_survive_sigkill(self):
        self.assertAofAlways()
        api, admin = self.api, self.admin

        def crash():
            self.redis.kill()                  # SIGKILL: no shutdown, no final fsync
            self.redis.start()
            self.daemon.wait_ready()

        # 201 account
        acc = api.create_account(admin, "village")
        crash()
        got = api.call(admin, "GET", "/v1/accounts/" + acc["id"])
        self.assertEqual((got[0], got[2]), (200, acc))
        # 201 token
        tok = api.issue_token(admin, acc["id"])
        crash()
        me = api.call(tok["token"], "GET", "/v1/me")
        self.assertEqual((me[0], me[2].get("id")), (200, acc["id"]))
        v = fixtures.Actor("village", acc["id"], tok["token"], acc, tok["id"])
        # 201 listing, three times over
        posted = []
        for i in range(3):
            status, headers, need = api.call(v, "POST", "/v1/needs",
                                             fixtures.need_body(quantity=str(i + 1), unit="ta"))
            self.assertEqual(status, 201, need)
            crash()
            self.assertEqual(api.get_listing(v, need["id"]), need)
            posted.append(need)
        # 200 PATCH
        lid = posted[0]["id"]
        status, _, patched = api.call(v, "PATCH", "/v1/listings/" + lid, {"price_vnd": 1700000},
                                      {"If-Match": '"1"'})
        self.assertEqual(status, 200, patched)
        crash()
        self.assertEqual(api.get_listing(v, lid), patched)
        # 200 close
        status, _, closed = api.call(v, "DELETE", "/v1/listings/" + lid)
        self.assertEqual((status, closed["status"]), (200, "closed"))
        crash()
        self.assertEqual(api.get_listing(v, lid), closed)
        # 204 revoke
        self.assertEqual(api.call(v, "DELETE", "/v1/tokens/" + tok["id"])[0], 204)
        crash()
        self.assertEqual(api.call(v, "GET", "/v1/me")[0], 401)

        # every acknowledged change kept its event (invariant 4 across crashes)
        rc = self.rc()
        self.assertEqual([t for t, _ in fixtures.listing_events(rc, lid)],
                         ["listing.created", "listing.updated", "listing.closed"])
        for need in posted[1:]:
            self.assertEqual([t for t, _ in fixtures.listing_events(rc, need["id"])],
                             ["listing.created"])
        types = [(f["type"], f.get("token") or f.get("account"))
                 for _, f in fixtures.events(rc)]
        self.assertIn(("account.created", acc["id"]), types)
        self.assertIn(("token.created", tok["id"]), types)
        self.assertIn(("token.revoked", tok["id"]), types)


class ExpiryAcrossRedisCrashTest(harness.TestCase):
    """The expiry index lives in Redis and the timer outlives a Redis crash."""

    def test_listing_posted_before_a_crash_expires_after_it(self):
        redis = self.start_redis()
        daemon = self.start_daemon(redis, "--expiry-interval-ms", "50")
        api = fixtures.Api(daemon)
        v = api.make_actor(fixtures.bootstrap_admin(redis), "village")
        due, due_ms = fixtures.rfc3339_in(4.0)
        need = api.post_need(v, needed_by=due)
        # Stop Redis while sweeps are under way (one is certainly waiting for a
        # reply), then kill it: the daemon must reconnect and keep sweeping.
        redis.pause()
        time.sleep(0.5)
        redis.kill()
        redis.start()
        daemon.wait_ready()
        rc = redis.client()
        self.assertEqual(rc.execute("HGET", "cm:listing:" + need["id"], "status"), "open")
        harness.wait_for(lambda: rc.execute("HGET", "cm:listing:" + need["id"], "status") ==
                         "expired", 30.0, message="the need to expire after the crash")
        doc = api.get_listing(v, need["id"])
        self.assertEqual(doc["status"], "expired")
        self.assertGreaterEqual(fixtures.rfc3339_to_ms(doc["updated_at"]), due_ms)
        self.assertEqual([t for t, _ in fixtures.listing_events(rc, need["id"])],
                         ["listing.created", "listing.expired"])


if __name__ == "__main__":
    harness.main()
