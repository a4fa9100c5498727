"""
e2e: a torn transaction at the end of the AOF is never loaded, not even in
part (docs/operations.md, "Torn writes in the AOF").

Redis 7.0 writes a function call's effects to the AOF as one MULTI ... EXEC
block. The test writes real data through craftmatchd, kills Redis, and
appends to the real AOF a copy of the last listing creation's block (the
listing id changed to a fresh one of the same length, so its effects would
show) cut in the middle of the listing's HSET, as a crash leaves it. Redis
is then started the project's way (scripts/redis-start, as the harness
always does).

Proves:
- none of the torn block is applied (no listing under the fresh id, the
  Idempotency-Key record still names the listing it created, cm:seq:listings
  equals the number of listings) and every earlier write is served;
- the double crash: writes made after that start, then a kill -9 and a
  second start, all load, and the torn block still is not applied (left to
  itself, Redis cut only the torn command and queued the later writes behind
  the open MULTI, applying half of the torn call at the next start);
- scripts/redis-start said what it cut; damage before the end of the AOF
  (which cannot be cut without losing acknowledged writes) stops the start
  and leaves the file as it was.
"""
import os

import fixtures
import harness


def commands(data):
    """[(start, end, [arg bytes...])] of the RESP commands in data (complete ones)."""
    out, i = [], 0
    while i < len(data):
        start = i
        assert data[i:i + 1] == b"*", "not a RESP array at %d: %r" % (i, data[i:i + 20])
        nl = data.index(b"\r\n", i)
        n, i = int(data[i + 1:nl]), nl + 2
        args = []
        for _ in range(n):
            nl = data.index(b"\r\n", i)
            ln = int(data[i + 1:nl])
            args.append(data[nl + 2:nl + 2 + ln])
            i = nl + 2 + ln + 2
        out.append((start, i, args))
    return out


def last_incr_file(redis):
    d = os.path.join(redis.dir, "appendonlydir")
    with open(os.path.join(d, "appendonly.aof.manifest")) as f:
        names = [ln.split()[1] for ln in f if ln.split()[-1] == "i"]
    return os.path.join(d, names[-1])


class TornAofTest(harness.TestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.admin = fixtures.bootstrap_admin(self.redis)
        self.d = self.start_daemon(self.redis)
        self.api = fixtures.Api(self.d)
        self.supplier = self.api.make_actor(self.admin, "supplier")

    def offer(self, key=None):
        headers = {"Idempotency-Key": key} if key else None
        return self.api.post_offer(self.supplier, headers=headers)["id"]

    def torn_block(self, lid):
        """The AOF block that created lid, for a fresh id, cut inside the listing's HSET."""
        with open(last_incr_file(self.redis), "rb") as f:
            data = f.read()
        cmds = commands(data)
        key = b"cm:listing:" + lid.encode()
        for i, (start, _, args) in enumerate(cmds):
            if args[0].upper() == b"HSET" and args[1] == key:
                break
        else:
            self.fail("no HSET of %s in the AOF" % lid)
        first = max(j for j in range(i) if cmds[j][2][0].upper() == b"MULTI")
        self.assertTrue(any(c[2][0].upper() == b"INCR" for c in cmds[first:i]),
                        "the block does not take a seq before the HSET")
        hset_start, hset_end = cmds[i][0], cmds[i][1]
        block = data[cmds[first][0]:hset_start + (hset_end - hset_start) // 2]
        fresh = lid[:-4] + ("zzzz" if lid[-4:] != "zzzz" else "yyyy")
        self.assertEqual(block.count(lid.encode()) >= 2, True, "the id is not in the block")
        return block.replace(lid.encode(), fresh.encode()), fresh

    def check_state(self, lids, fresh, idem_key):
        rc = self.redis.client()
        self.assertEqual(rc.execute("EXISTS", "cm:listing:" + fresh), 0,
                         "the torn block's listing was loaded")
        self.assertEqual(rc.execute("ZSCORE", "cm:listings", fresh), None)
        self.assertEqual(int(rc.execute("GET", "cm:seq:listings")), len(lids))
        idem = [k for k in rc.execute("KEYS", "cm:idem:*")]
        self.assertEqual(len(idem), 1, idem)
        self.assertEqual(rc.execute("HGET", idem[0], "id"), idem_key)
        self.d.wait_ready(timeout=20)
        for lid in lids:
            self.assertEqual(self.api.get_listing(self.supplier, lid)["id"], lid)

    def test_torn_block_is_never_loaded(self):
        lids = [self.offer(), self.offer()]
        lids.append(self.offer(key="torn-block-test"))
        self.redis.kill()
        block, fresh = self.torn_block(lids[-1])
        with open(last_incr_file(self.redis), "ab") as f:
            f.write(block)

        self.redis.start()
        self.assertIn("the AOF ended in a torn write; cut it off before loading",
                      self.redis.log_text())
        self.check_state(lids, fresh, lids[-1])
        # The same key again is a replay of the listing it created.
        status, _, body = self.api.call(self.supplier, "POST", "/v1/offers",
                                        fixtures.offer_body(),
                                        {"Idempotency-Key": "torn-block-test"})
        self.assertIn(status, (200, 201), body)
        self.assertEqual(body["id"], lids[-1])

        # Double crash: writes after the repaired start, then kill -9 again.
        lids += [self.offer(), self.offer()]
        self.redis.kill()
        self.redis.start()
        self.check_state(lids, fresh, lids[2])

    def test_damage_before_the_end_stops_the_start(self):
        # Only a torn tail may be cut: damage in the middle would lose
        # acknowledged writes, so Redis is not started at all.
        self.offer()
        self.offer()
        self.redis.kill()
        path = last_incr_file(self.redis)
        with open(path, "rb") as f:
            data = f.read()
        cmds = commands(data)
        middle = cmds[len(cmds) // 2][0]
        with open(path, "wb") as f:
            f.write(data[:middle] + b"?" + data[middle + 1:])
        with self.assertRaisesRegex(AssertionError, "exited with 1"):
            self.redis.start()
        self.assertIn("cannot be cut off without losing acknowledged writes; not starting Redis",
                      self.redis.log_text())
        with open(path, "rb") as f:
            self.assertEqual(len(f.read()), len(data), "the AOF was cut")


if __name__ == "__main__":
    harness.main()
