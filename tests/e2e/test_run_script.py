"""
e2e: scripts/run, the one command, driven as a user drives it: with the
craftmatchd under test (CRAFTMATCH_BIN, so nothing is built), a var
directory of its own (CRAFTMATCH_VAR_DIR) and free ports (CRAFTMATCH_PORT,
CRAFTMATCH_REDIS_PORT); no demo data (CRAFTMATCH_DEMO_DATA=0).

Proves: the first start serves with a private Redis and creates the
bootstrap admin (var/admin-token authenticates as an admin);
`scripts/run --create-admin NAME` while it serves creates the admin in that
very Redis (its token works on the running server at once) instead of
stopping on the lock, and leaves the server serving; a second serving
scripts/run on the same var directory is refused, naming the lock; SIGTERM
stops craftmatchd (exit 0) and then the private Redis (the ports are free
again), and craftmatchd's output holds no sanitizer report. Alone,
`scripts/run --create-admin` starts the private Redis for it and stops it
after; the next start serves that admin.
"""
import os
import re
import signal
import subprocess

import harness
from kit.procs import port_open

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "scripts", "run")
START_TIMEOUT = 60.0


class RunScriptTest(harness.TestCase):

    def setUp(self):
        self.var = harness.mkdtemp("cm-e2e-var-")
        self.addCleanup(harness.rmtree, self.var)
        self.http_port = harness.free_port()
        self.redis_port = harness.free_port()
        while self.redis_port == self.http_port:
            self.redis_port = harness.free_port()
        self.env = harness.child_env({
            "CRAFTMATCH_BIN": harness.craftmatchd_binary(),
            "CRAFTMATCH_VAR_DIR": self.var,
            "CRAFTMATCH_PORT": self.http_port,
            "CRAFTMATCH_REDIS_PORT": self.redis_port,
            "CRAFTMATCH_DEMO_DATA": "0",
        })

    def run_script(self, *args, timeout=START_TIMEOUT):
        return subprocess.run([RUN] + list(args), env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace",
                              timeout=timeout)

    def start_serving(self):
        log = open(os.path.join(self.var, "run.out"), "w+b")
        self.addCleanup(log.close)
        proc = harness.popen([RUN], self.env, log, subprocess.STDOUT)
        self.addCleanup(self.stop, proc)
        return proc, log

    def stop(self, proc):
        """SIGTERM to scripts/run (it stops its children); whatever is left is killed."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=harness.EXIT_TIMEOUT + 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pidfile in ("redis.pid",):
            try:
                with open(os.path.join(self.var, pidfile)) as f:
                    os.kill(int(f.read().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        return proc.returncode

    def output(self, log):
        log.flush()
        log.seek(0)
        return log.read().decode("utf-8", "replace")

    def wait_admin_token(self, proc, log):
        path = os.path.join(self.var, "admin-token")

        def ready():
            if proc.poll() is not None:
                raise AssertionError("scripts/run exited %d:\n%s" % (proc.returncode,
                                                                       self.output(log)[-3000:]))
            return os.path.exists(path) and "press Ctrl-C to stop" in self.output(log)
        harness.wait_for(ready, START_TIMEOUT, interval=0.2, message="scripts/run to serve")
        with open(path) as f:
            return f.read().strip()

    def me(self, token):
        return harness.http_request(self.http_port, "GET", "/v1/me", token=token)

    def test_create_admin_while_serving(self):
        proc, log = self.start_serving()
        first = self.wait_admin_token(proc, log)
        status, _, doc = self.me(first)
        self.assertEqual((status, doc.get("role")), (200, "admin"), doc)
        with open(os.path.join(self.var, "redis.url")) as f:
            self.assertEqual(f.read().strip(), "redis://127.0.0.1:%d" % self.redis_port)

        # the one-shot, while the first scripts/run holds the lock
        p = self.run_script("--create-admin", "Quản trị thứ hai")
        self.assertEqual(p.returncode, 0, "stdout: %s\nstderr: %s" % (p.stdout, p.stderr))
        harness.check_sanitizers(p.stderr, "scripts/run --create-admin")
        acc = re.search(r"^admin account: (acc_\S+)$", p.stdout, re.M)
        tok = re.search(r"^token: (cm_\S+)$", p.stdout, re.M)
        self.assertTrue(acc and tok, p.stdout)
        self.assertIn("127.0.0.1:%d" % self.redis_port, p.stderr)
        status, _, doc = self.me(tok.group(1))     # the running server knows it at once
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["id"], doc["role"], doc["name"]),
                         (acc.group(1), "admin", "Quản trị thứ hai"))
        self.assertEqual(self.me(first)[0], 200)  # and still serves the first
        self.assertIsNone(proc.poll(), "the serving scripts/run stopped")

        # a second server on the same var directory: refused on the lock
        p = self.run_script("--port", str(harness.free_port()))
        self.assertNotEqual(p.returncode, 0, p.stderr)
        self.assertIn("run.lock", p.stderr)
        self.assertIsNone(proc.poll(), "the serving scripts/run stopped")

        # SIGTERM: craftmatchd (which exits 0), then Redis; scripts/run says 143
        self.assertEqual(self.stop(proc), 128 + signal.SIGTERM, self.output(log)[-3000:])
        out = self.output(log)
        self.assertRegex(out, r'msg="stopped" rc=0')
        self.assertIn("stopping the private Redis", out)
        harness.check_sanitizers(out, "craftmatchd under scripts/run")
        self.assertFalse(port_open(self.http_port))
        self.assertFalse(port_open(self.redis_port))
        self.assertFalse(os.path.exists(os.path.join(self.var, "redis.url")))

    def test_create_admin_alone_starts_and_stops_redis(self):
        p = self.run_script("--create-admin", "Quản trị")
        self.assertEqual(p.returncode, 0, "stdout: %s\nstderr: %s" % (p.stdout, p.stderr))
        harness.check_sanitizers(p.stderr, "scripts/run --create-admin")
        tok = re.search(r"^token: (cm_\S+)$", p.stdout, re.M)
        self.assertTrue(tok, p.stdout)
        self.assertFalse(port_open(self.redis_port), "the private Redis was left running")
        self.assertFalse(os.path.exists(os.path.join(self.var, "redis.url")))
        # the account is in the private Redis's data: the next start serves it
        proc, log = self.start_serving()
        self.wait_admin_token(proc, log)
        status, _, doc = self.me(tok.group(1))
        self.assertEqual((status, doc.get("name")), (200, "Quản trị"), doc)


if __name__ == "__main__":
    harness.main()
