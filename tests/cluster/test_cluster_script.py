"""
cluster: scripts/cluster, driven as a user drives it (with the craftmatchd
under test as CRAFTMATCH_BIN, a var directory of its own, free ports).

Proves: it starts a Redis primary and replica, three sentinels, two nodes and
nginx, and says it is ready only when /readyz answers 200 through nginx; the
admin token it saved authenticates through nginx; a Sentinel failover
(`SENTINEL failover craftmatch`) moves the primary and writes through nginx
succeed again; SIGINT (Ctrl-C) stops everything: the script exits 130, every
child it started is gone and every port is free, the nodes' logs hold no
sanitizer report. A second start on the same data starts as primary the Redis
the sentinels last named, reuses the admin token, and SIGTERM stops it
(exit 143) leaving nothing behind.
"""

import os
import re
import signal
import socket
import subprocess
import time

import harness
from kit.procs import port_open
from kit import REPO

CLUSTER = os.path.join(REPO, "scripts", "cluster")
START_TIMEOUT = 180.0
PORTS = 8  # nginx, two nodes, two Redis, three sentinels


def free_base():
    """A base port whose PORTS consecutive ports are all free now."""
    for _ in range(50):
        base = harness.free_port()
        if base + PORTS > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + PORTS):
                s = socket.socket()
                socks.append(s)
                s.bind((harness.HOST, p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no %d consecutive free ports" % PORTS)


def children_of(pid):
    """Every live descendant of pid (from /proc)."""
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
                parents[int(d)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError):
                pass
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and child not in out:
                out.add(child)
                todo.append(child)
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


class ClusterScriptTest(harness.TestCase):

    def setUp(self):
        self.var = harness.mkdtemp("cm-cluster-script-")
        self.addCleanup(harness.rmtree, self.var)
        self.cv = os.path.join(self.var, "cluster")
        self.base = free_base()
        self.procs = []

    def start(self, label):
        out = open(os.path.join(self.var, "%s.out" % label), "wb")
        self.addCleanup(out.close)
        env = harness.child_env({"CRAFTMATCH_BIN": harness.craftmatchd_binary(),
                                 "CRAFTMATCH_VAR_DIR": self.var})
        p = subprocess.Popen([CLUSTER, "--base-port", str(self.base)], stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True)
        self.procs.append(p)
        self.addCleanup(self.kill_all, p)
        path = out.name
        deadline = time.monotonic() + START_TIMEOUT
        while "press Ctrl-C to stop" not in self.text(path):
            if p.poll() is not None:
                raise AssertionError("scripts/cluster exited with %s:\n%s" % (
                    p.returncode, self.text(path)[-4000:]))
            if time.monotonic() > deadline:
                raise AssertionError("scripts/cluster not ready within %.0fs:\n%s" % (
                    START_TIMEOUT, self.text(path)[-4000:]))
            time.sleep(0.2)
        return p, path

    def kill_all(self, p):
        """Teardown, pass or fail: the script's children and their groups die."""
        kids = children_of(p.pid)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                pass
        for pid in kids | children_of(p.pid) | {p.pid}:
            for kill in (lambda: os.killpg(pid, signal.SIGKILL),
                         lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except OSError:
                    pass
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            pass

    @staticmethod
    def text(path):
        with open(path, errors="replace") as f:
            return f.read()

    def token(self):
        with open(os.path.join(self.cv, "admin-token")) as f:
            return f.read().strip()

    def stop(self, p, sig, code):
        kids = children_of(p.pid)
        self.assertGreaterEqual(len(kids), 8, "fewer children than servers: %r" % kids)
        p.send_signal(sig)
        self.assertEqual(p.wait(90), code)
        left = [k for k in kids if alive(k)]
        self.assertEqual(left, [], "processes left behind")
        for port in range(self.base, self.base + PORTS):
            self.assertFalse(port_open(port), "port %d still open" % port)
        for n in (1, 2):
            with open(os.path.join(self.cv, "node%d.log" % n), errors="replace") as f:
                harness.check_sanitizers(f.read(), "craftmatchd node%d" % n)

    def sentinel_primary(self):
        out = subprocess.run(["redis-cli", "-p", str(self.base + 5), "SENTINEL",
                              "get-master-addr-by-name", "craftmatch"], capture_output=True,
                             text=True, timeout=10).stdout.split()
        return int(out[1]) if len(out) == 2 else None

    def test_start_failover_ctrl_c_and_restart(self):
        p, out = self.start("first")
        url_port = self.base
        self.assertIn("ready: http://127.0.0.1:%d" % url_port, self.text(out))
        self.assertEqual(harness.http_request(url_port, "GET", "/readyz")[0], 200)
        self.assertEqual(os.stat(os.path.join(self.cv, "admin-token")).st_mode & 0o777, 0o600)
        status, _, me = harness.http_request(url_port, "GET", "/v1/me", token=self.token())
        self.assertEqual(status, 200, me)
        self.assertEqual(me["role"], "admin")
        self.assertEqual(self.sentinel_primary(), self.base + 3)

        # A failover while it runs: the replica becomes the primary, and a
        # write through nginx succeeds again (it answers 503 meanwhile).
        subprocess.run(["redis-cli", "-p", str(self.base + 5), "SENTINEL", "failover",
                        "craftmatch"], check=True, capture_output=True, timeout=10)
        harness.wait_for(lambda: self.sentinel_primary() == self.base + 4, 60,
                         interval=0.2, message="the sentinels name the replica")
        seen = []

        def write():
            resp = harness.http_request(url_port, "POST", "/v1/accounts",
                                        {"role": "admin", "name": "Sau chuyển đổi"},
                                        {"Idempotency-Key": "after-failover"}, self.token())
            seen.append(resp[0])
            self.assertIn(resp[0], (201, 503), resp[2])
            return resp[0] == 201
        harness.wait_for(write, 90, interval=0.5, message="a write after the failover")

        self.stop(p, signal.SIGINT, 130)
        self.assertIn("cluster: stopped", self.text(out))

        # Again on the same data: the last named primary, the same admin.
        p, out = self.start("second")
        text = self.text(out)
        self.assertIn("Redis primary on 127.0.0.1:%d" % (self.base + 4), text)
        self.assertIn("reusing the token", text)
        self.assertEqual(harness.http_request(url_port, "GET", "/v1/me",
                                              token=self.token())[0], 200)
        self.stop(p, signal.SIGTERM, 143)
        self.assertTrue(re.search(r"cluster: stopped\s*$", self.text(out)), self.text(out))


if __name__ == "__main__":
    harness.main()
