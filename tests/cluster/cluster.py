"""
cluster — a Redis primary and replica (AOF always, through scripts/redis-start),
three real redis-sentinel processes watching them as master "craftmatch",
and helpers to fail the primary over, for the tests of tests/cluster/.

    with cluster.Cluster() as c:          # primary, replica, 3 sentinels
        d = harness.Craftmatchd(None, args=c.daemon_args("replicated"))
        c.failover("kill")                # kill -9 the primary; wait for the switch

Every process is a harness object registered for the at-exit kill, and
close() stops them all even when a test fails. Every wait is bounded.
Sentinel timings are short (down-after 1000 ms, failover-timeout 3 s) so
that ten failovers fit in a couple of minutes.
"""
import os
import subprocess
import time

import harness
from kit.procs import Started, register, tail, unregister

MASTER = "craftmatch"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000
SWITCH_TIMEOUT = 30.0  # sentinels name a new primary within this (functional bound)
# A woken old primary is demoted by the sentinels after their INFO period (10 s)
# and a grace of 8 s; a restarted one syncs at once. Functional bound, not a measure.
RESYNC_TIMEOUT = 90.0


class Sentinel:
    """One redis-sentinel on a free port, monitoring the given primary."""

    def __init__(self, primary_port):
        self.primary_port = primary_port
        self.port = None
        self.proc = None
        self.dir = harness.mkdtemp("cm-cluster-sentinel-")
        self._logf = None

    @property
    def log_path(self):
        return os.path.join(self.dir, "sentinel.log")

    def start(self):
        self.port = harness.free_port()
        conf = os.path.join(self.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind %s\ndaemonize no\ndir %s\nlogfile \"\"\n"
                    "sentinel monitor %s %s %d 2\n"
                    "sentinel down-after-milliseconds %s %d\n"
                    "sentinel failover-timeout %s %d\n"
                    "sentinel parallel-syncs %s 1\n" % (
                        self.port, harness.HOST, self.dir, MASTER, harness.HOST,
                        self.primary_port, MASTER, DOWN_AFTER_MS, MASTER,
                        FAILOVER_TIMEOUT_MS, MASTER))
        self._logf = open(self.log_path, "ab")
        self.proc = harness.popen(["redis-sentinel", conf], harness.child_env(), self._logf,
                                  subprocess.STDOUT, cwd=self.dir)
        register(self)
        harness.wait_for(self._answers, harness.REDIS_START_TIMEOUT, interval=0.05,
                         message="redis-sentinel on port %d answers" % self.port)
        return self

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("redis-sentinel exited:\n" + tail(self.log_text()))
        try:
            with harness.RedisClient(self.port, timeout=2.0) as c:
                return c.execute("PING") == "PONG"
        except (OSError, harness.RedisError, ValueError):
            return False

    def log_text(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def master_addr(self):
        """(host, port) this sentinel names for the master, or None."""
        try:
            with harness.RedisClient(self.port, timeout=2.0) as c:
                r = c.execute("SENTINEL", "get-master-addr-by-name", MASTER)
        except (OSError, harness.RedisError, ValueError):
            return None
        return (r[0], int(r[1])) if r else None

    def _force_kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(harness.EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if self._logf:
            self._logf.close()
            self._logf = None
        unregister(self)

    def close(self):
        self._force_kill()
        harness.rmtree(self.dir)


class Cluster(Started):
    """A primary, its replicas (one unless told) and three sentinels; servers[] are the Redis."""

    def __init__(self, min_replicas=1, max_lag=2, replicas=1):
        self.n_replicas = replicas
        self.extra = ["--min-replicas-to-write", str(min_replicas),
                      "--min-replicas-max-lag", str(max_lag)] if min_replicas else []
        self.servers = []
        self.sentinels = []
        self.failovers = 0
        self.fault_at = self.fault_at_ms = None  # when the last fault was made (monotonic, ms)

    def start(self):
        primary = harness.RedisServer(extra_args=self.extra)
        self.servers.append(primary)
        primary.start()
        for _ in range(self.n_replicas):
            replica = harness.RedisServer(
                extra_args=self.extra + ["--replicaof", harness.HOST, str(primary.port)])
            self.servers.append(replica)
            replica.start()
            harness.wait_for(lambda: self._link_up(replica), 30.0, interval=0.1,
                             message="the replica in sync")
        for _ in range(3):
            s = Sentinel(primary.port)
            self.sentinels.append(s)
            s.start()
        # each sentinel has found the replica (through the primary's INFO) and the others
        harness.wait_for(self._sentinels_know_all, 30.0, interval=0.2,
                         message="the sentinels know the replica and each other")
        return self

    @staticmethod
    def _link_up(server):
        try:
            with harness.RedisClient(server.port, timeout=2.0) as c:
                info = c.execute("INFO", "replication")
        except (OSError, harness.RedisError, ValueError):
            return False
        return "master_link_status:up" in info

    def _sentinels_know_all(self):
        for s in self.sentinels:
            try:
                with harness.RedisClient(s.port, timeout=2.0) as c:
                    m = c.execute("SENTINEL", "master", MASTER)
            except (OSError, harness.RedisError, ValueError):
                return False
            d = dict(zip(m[::2], m[1::2]))
            if int(d.get("num-slaves", 0)) < self.n_replicas or \
                    int(d.get("num-other-sentinels", 0)) < 2:
                return False
        return True

    @property
    def sentinel_list(self):
        return ",".join("%s:%d" % (harness.HOST, s.port) for s in self.sentinels)

    def daemon_args(self, durability="local", *more):
        return ["--redis-url", "redis://%s:1" % harness.HOST, "--sentinels", self.sentinel_list,
                "--sentinel-master", MASTER, "--durability", durability] + list(more)

    def named_primary(self):
        """The port a majority of the sentinels name, or None while they disagree."""
        ports = [a[1] for a in (s.master_addr() for s in self.sentinels) if a]
        for p in set(ports):
            if ports.count(p) >= 2:
                return p
        return None

    def primary(self):
        port = self.named_primary()
        return next(s for s in self.servers if s.port == port)


    def failover(self, how):
        """Fails the primary (how: "kill" = kill -9, "stop" = SIGSTOP until the
        switch) and waits until the sentinels name the replica; then brings the
        old primary back as a replica of the new one and waits until it is in
        sync. Returns the seconds from the fault to the sentinels' switch."""
        old = self.primary()
        t0 = self.fault_at = time.monotonic()  # the fault itself, after asking the sentinels
        self.fault_at_ms = time.time() * 1000
        if how == "kill":
            old.kill()
        else:
            old.pause()
        harness.wait_for(lambda: self.named_primary() not in (None, old.port), SWITCH_TIMEOUT,
                         interval=0.05, message="the sentinels promote a replica")
        switched = time.monotonic() - t0
        new = self.primary()
        if how == "kill":
            old.extra_args = self.extra + ["--replicaof", harness.HOST, str(new.port)]
            old.start()
        else:
            old.resume()  # it wakes as a primary; the sentinels demote it
        try:
            harness.wait_for(lambda: self._link_up(old), RESYNC_TIMEOUT, interval=0.1,
                             message="the old primary (%d) in sync as a replica" % old.port)
        except AssertionError as e:
            views = [s.master_addr() for s in self.sentinels]
            raise AssertionError("%s; the sentinels name %r; its log:\n%s" % (
                e, views, tail(old.log_text(), 25))) from None
        self.failovers += 1
        return switched

    def close(self):
        for s in self.sentinels:
            s.close()
        for r in self.servers:
            r.close()
