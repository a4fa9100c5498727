"""
cluster: an SSE subscriber resumes after a failover that lost the last event it saw.

Replication is asynchronous: the event of a change whose WAIT failed (503
`unconfirmed`) reaches subscribers from the primary at once, and a failover
may then lose it. Its id X is later than the last id of the promoted
replica's stream. The node's cm:events reader raises that stream's last id
to what it handed out (XSETID) when it lands on the new primary; but that is
a write, which the new primary refuses (NOREPLICAS) until a replica is
attached, and a subscriber may come back before either the XSETID or the
next entry. Made to happen here, one step at a time, on a primary, its
replica (both with min-replicas-to-write 1), three sentinels and one node
with --durability replicated:

1. an admin subscribes; the replica is frozen (SIGSTOP); a need is posted:
   the primary has it, WAIT does not (503 unconfirmed), and the subscriber
   receives its listing.created event X;
2. the frozen replica is killed (what it had not read is gone), then the
   primary; the replica restarts from its AOF, without X, and the sentinels
   promote it. It has no replica, so it refuses writes: the node's XSETID;
3. the old primary comes back as the new one's replica: writes are
   accepted again (and reads: a node loads the function library on each new
   link, a write), no change made yet;
4. the subscriber resumes with Last-Event-ID X on the node;
5. a need is posted.

Proves:
- the resume is not a `reset` (X is not "a position of another stream": the
  stream's next entries follow it), and the stream carries on: the next
  change's event arrives, after X, nothing repeated;
- the node's XSETID is not lost to the refusal: the new primary's stream
  reaches X once it accepts writes, before any new change is made.

Before both were fixed, the resume got a `reset` (reason `unknown`): the
failover test's subscriber, which takes a reset for an error and stops,
then looked like a subscriber that never resumed.
"""
import cluster
import fixtures
import harness
from streams import SseClient, id_key, stream_tail

WAIT = 30.0  # functional bound for each step


class ResumeLostTest(harness.TestCase):

    def stream(self, node, token, last_id):
        """A /v1/events stream resumed after last_id, once the node answers 200."""
        refused = []

        def opened():
            c = SseClient(node.port, token=token, headers={"Last-Event-ID": last_id})
            if c.wait_status() == 200:
                return c
            refused[:] = [c.status, c.body[:300]]
            c.close()
            return None
        try:
            return harness.wait_for(opened, WAIT, interval=0.2, message="GET /v1/events 200")
        except AssertionError as e:
            raise AssertionError("%s; the last answer: %r" % (e, refused)) from None

    def post(self, api, village, **fields):
        return api.call(village, "POST", "/v1/needs", fixtures.need_body(**fields))

    def test_resume_after_the_last_event_seen_was_lost(self):
        c = cluster.Cluster(min_replicas=1, max_lag=2, replicas=1)
        self.addCleanup(c.close)
        c.start()
        node = self.start_daemon(None, *c.daemon_args("replicated"))
        api = fixtures.Api(node)
        primary, replica = c.servers
        admin = fixtures.bootstrap_admin(primary)
        village = api.make_actor(admin, "village")

        # 1. an event the replica never gets
        sub = SseClient(node.port, token=admin.token)
        self.addCleanup(sub.close)
        self.assertEqual(sub.wait_status(), 200, sub.body)
        sub.wait_ready()
        primary.client().execute("CONFIG", "SET", "min-replicas-to-write", "0")
        replica.pause()
        status, _, body = self.post(api, village, commune="mất")
        self.assertEqual((status, body.get("type")), (503, "/problems/unconfirmed"), body)
        sub.wait(lambda s: any(e.type == "listing.created" for e in s.data_events()),
                 WAIT, "the unconfirmed listing's event")
        lost = [e for e in sub.data_events() if e.type == "listing.created"][-1].id

        # 2. both gone; the replica comes back without it and is promoted
        replica.kill()
        primary.kill()
        replica.start()
        harness.wait_for(lambda: c.named_primary() == replica.port, cluster.SWITCH_TIMEOUT,
                         interval=0.1, message="the sentinels promote the replica")
        rc = replica.client(timeout=10.0)
        top = fixtures.last_event_id(rc)
        self.assertLess(id_key(top), id_key(lost),
                        "the promoted replica has the event: nothing was lost")

        # 3. writes come back with a replica (the old primary, restarted as
        # the new one's); so do reads: a node loads the function library on
        # every new link, a write that a primary without replicas refuses
        primary.extra_args = c.extra + ["--replicaof", harness.HOST, str(replica.port)]
        primary.start()
        harness.wait_for(lambda: c._link_up(primary), cluster.RESYNC_TIMEOUT, interval=0.1,
                         message="the old primary in sync as a replica")

        # 4. the subscriber comes back with the lost id, before any new change
        again = self.stream(node, admin.token, lost)
        self.addCleanup(again.close)
        again.wait(lambda s: s.ready is not None or any(e.type == "reset" for e in s.events),
                   WAIT, "ready or reset")
        self.assertEqual([e.data for e in again.events if e.type == "reset"], [],
                         "a resume after an event a failover lost was answered with a reset")
        harness.wait_for(lambda: id_key(stream_tail(rc)) >= id_key(lost), WAIT, interval=0.1,
                         message="the new primary's stream raised to the lost id by the "
                         "node's XSETID, refused (NOREPLICAS) while it had no replica")
        self.assertEqual(fixtures.last_event_id(rc), top, "a change was made meanwhile")

        # 5. the next change's event follows, after the lost id
        def posted():
            status, _, view = self.post(api, village, commune="sau")
            return view if status == 201 else None
        view = harness.wait_for(posted, WAIT, interval=0.5, message="a write accepted again")
        again.wait(lambda s: any(e.data.get("listing") == view["id"] for e in s.data_events()),
                   WAIT, "the next listing's event")
        ids = [e.id for e in again.data_events()]
        keys = [id_key(i) for i in ids]
        self.assertEqual(keys, sorted(set(keys)), "repeated or out of order: %r" % ids)
        self.assertGreater(keys[0], id_key(lost), ids)
        self.assertEqual([e.type for e in again.events if e.type == "reset"], [])
        self.assertTrue(node.running(), node.log_tail())


if __name__ == "__main__":
    harness.main()
