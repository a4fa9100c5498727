"""The bench's stack under test: Redis, craftmatchd and the floor program,
started and read through the e2e suite's kit (tests/e2e/kit/: RedisServer
through scripts/redis-start, Craftmatchd, the clients, the /metrics parser),
plus the readings the phases take of them (CPU ticks, RSS, /metrics deltas)."""
import http.client
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import fixtures  # noqa: E402  (the e2e suite's bootstrap admin and route table)
from kit import HOST, procs  # noqa: E402  (the e2e suite's kits: processes, servers, clients)
from kit.http import http_request, set_spec_check  # noqa: E402
from kit.prom import parse_metrics  # noqa: E402
from kit.resp import RedisClient  # noqa: E402
from kit.servers import Craftmatchd, RedisServer  # noqa: E402
sys.path.insert(0, HERE)
import report  # noqa: E402  (the Markdown table)

CLK_TCK = os.sysconf("SC_CLK_TCK")
FOCUS = report.FOCUS  # the engine phase's material: exactly --focus open offers of it

# The bench measures; checking every answer against docs/openapi.yaml is the
# e2e suite's job. Its children run in sessions of their own: a Ctrl-C
# reaches the bench, which stops them in order.
set_spec_check(False)
procs.new_sessions = True


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def die(msg):
    log(msg)
    sys.exit(1)


# ---------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------

def raise_nofile():
    """As many descriptors as allowed, for this process and so every child (10k SSE clients)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def cpu_ticks(pid):
    """utime + stime of a process (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run_tool(argv, timeout=900):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if r.returncode != 0:
        die("%s failed (%d):\n%s" % (os.path.basename(argv[0]), r.returncode,
                                     r.stderr.decode(errors="replace")[-3000:]))
    out = r.stdout.decode().strip()
    return json.loads(out.splitlines()[-1]) if out else None


# ---------------------------------------------------------------------------
# /metrics (kit.prom)
# ---------------------------------------------------------------------------

def metrics(port):
    """GET /metrics, parsed; None when it does not answer 200."""
    status, _, text = http_request(port, "GET", "/metrics", timeout=5)
    return parse_metrics(text) if status == 200 else None


def metric(ms, name, default=0.0):
    """The value of a series without labels in a metrics() result (default when absent)."""
    if ms is not None:
        for _, labels, value in ms.samples(name):
            if not labels:
                return value
    return default


def hist_delta(before, after, name):
    """The increase of a histogram without labels: ({le: count}, sum, count)."""
    b0, s0, c0 = before.histogram(name) if before is not None else ({}, 0.0, 0.0)
    b1, s1, c1 = after.histogram(name) if after is not None else ({}, 0.0, 0.0)
    d = {le: b1.get(le, 0) - b0.get(le, 0) for le in b1}
    return d, s1 - s0, c1 - c0


def finite(x, scale=1.0):
    return None if x is None or x == float("inf") else x * scale


def hist_quantile(buckets, count, q):
    """Upper bound of the bucket holding quantile q, and a linear estimate inside it."""
    if count <= 0:
        return None, None
    target = q * count
    prev_le, prev_c = 0.0, 0.0
    for le in sorted(buckets):
        c = buckets[le]
        if c >= target:
            if le == float("inf"):
                return le, None
            frac = (target - prev_c) / (c - prev_c) if c > prev_c else 1.0
            return le, prev_le + (le - prev_le) * frac
        prev_le, prev_c = le, c
    return None, None


# ---------------------------------------------------------------------------
# the stack under test
# ---------------------------------------------------------------------------

class Stack:
    """Redis (kit.servers.RedisServer, through scripts/redis-start: AOF, fsync
    always, as craftmatch runs it), craftmatchd (kit.servers.Craftmatchd) and
    the floor program, with their logs in the bench's temp dir."""

    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.bin = os.path.join(args.build_dir, "craftmatchd")
        os.environ["CRAFTMATCHD"] = self.bin  # for fixtures' runs of craftmatchd
        self.tool = lambda name: os.path.join(args.build_dir, name)
        self.redis = None
        self.cm = None
        self.floor = None
        self.floor_port = None

    # -- Redis --
    def start_redis(self):
        rdir = os.path.join(self.tmp, "redis")
        os.makedirs(rdir, exist_ok=True)
        self.redis = RedisServer(dir=rdir)
        self.redis.start()

    @property
    def redis_port(self):
        return self.redis.port

    def rc(self):
        return RedisClient(self.redis_port, timeout=120.0)

    def used_memory(self):
        with self.rc() as c:
            info = c.execute("INFO", "memory")
        return int(re.search(r"used_memory:(\d+)", info).group(1))

    # -- craftmatchd --
    @property
    def cm_port(self):
        return self.cm.port

    def start_cm(self, wait=True):
        cdir = os.path.join(self.tmp, "craftmatchd")
        os.makedirs(cdir, exist_ok=True)
        t0 = time.monotonic()
        self.cm = Craftmatchd(self.redis, binary=self.bin, dir=cdir, wait=None, args=(
            "--log-level", os.environ.get("CM_BENCH_LOG_LEVEL", "warn"), "--max-connections", str(self.args.max_connections),
            "--idle-timeout", "600"))
        self.cm.start()
        if wait:
            return self.wait_ready(t0)
        return None

    def ready_state(self):
        try:
            st, _, _ = http_request(self.cm_port, "GET", "/readyz", timeout=2)
            if st != 200:
                return False
            return metric(metrics(self.cm_port), "craftmatch_engine_ready") == 1
        except (OSError, http.client.HTTPException):
            return False

    def wait_ready(self, t0, timeout=600):
        while time.monotonic() - t0 < timeout:
            if not self.cm.running():
                die("craftmatchd exited (%s); see %s" % (self.cm.proc.returncode,
                                                         self.cm.log_path))
            if self.ready_state():
                return time.monotonic() - t0
            time.sleep(0.005)
        die("craftmatchd not ready after %ds" % timeout)

    def stop_cm(self):
        if self.cm is not None and self.cm.running():
            rc = self.cm.stop(signal.SIGTERM, timeout=30)
            if rc != 0:
                log("  WARNING: craftmatchd exited %s after SIGTERM; see %s" % (
                    rc, self.cm.log_path))
        self.cm = None

    def create_admin(self):
        admin = fixtures.bootstrap_admin(self.redis, "Quản trị bench")
        return admin.id, admin.token

    # -- floor --
    def start_floor(self):
        self.floor_port = procs.free_port()
        with open(os.path.join(self.tmp, "floor.log"), "ab") as f:
            self.floor = procs.popen([self.tool("cmbench-floor"), "--port", str(self.floor_port),
                                      "--redis-port", str(self.redis_port)], None, f,
                                     subprocess.STDOUT)

        def listening():
            socket.create_connection((HOST, self.floor_port), timeout=1).close()
            return True
        try:
            procs.wait_for(listening, 10, message="cmbench-floor to listen")
        except AssertionError:
            die("cmbench-floor did not start; see %s/floor.log" % self.tmp)

    def stop_floor(self):
        if self.floor is not None and self.floor.poll() is None:
            self.floor.terminate()
            try:
                self.floor.wait(20)
            except subprocess.TimeoutExpired:
                self.floor.kill()
                self.floor.wait(10)
