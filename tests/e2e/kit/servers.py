"""
kit.servers — the two servers a test (or the bench) runs: a private
redis-server started through scripts/redis-start, and a craftmatchd under
test, each on a free port of 127.0.0.1 with its log in a temp dir.

close() is the teardown: the daemon gets SIGTERM, must exit with expect_exit
within a deadline, and its stderr must be free of sanitizer reports
(AddressSanitizer, LeakSanitizer, UBSan "runtime error:"); any of those
failures raises AssertionError with the log excerpt. Both work as context
managers too (`with RedisServer() as redis, Craftmatchd(redis) as d: ...`).
"""

import http.client
import os
import signal
import subprocess
import sys
import time

from kit import EXIT_TIMEOUT, HOST, HTTP_TIMEOUT, READY_TIMEOUT, REDIS_START_TIMEOUT, REPO
from kit.http import HttpClient, http_request
from kit.procs import (Started, check_sanitizers, child_env, free_port, mkdtemp, popen, register,
                       rmtree, sanitizer_report, tail, unregister, wait_for)
from kit.prom import parse_metrics
from kit.rawsock import RawConn
from kit.resp import RedisClient, RedisError


class RedisServer(Started):
    """A private redis-server on 127.0.0.1 with its own temp dir (or the
    caller's dir, which close() then leaves), started through
    scripts/redis-start as the project runs Redis.

    Defaults: AOF on with appendfsync always, aof-load-truncated no, no RDB
    snapshots. stop()/kill() then start() restarts on the same port and dir.
    pause()/resume() stop and continue the process (a stalled Redis).
    """

    def __init__(self, appendonly=True, appendfsync="always", extra_args=(), port=None,
                 dir=None):
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.extra_args = list(extra_args)
        self.port = port
        self._fixed_port = port is not None
        self.dir = dir
        self._own_dir = dir is None
        self.proc = None
        self.paused = False
        self._clients = []
        self._logf = None

    # -- lifetime --

    @property
    def url(self):
        return "redis://%s:%d" % (HOST, self.port)

    @property
    def log_path(self):
        return os.path.join(self.dir, "redis.log") if self.dir else None

    def log_text(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _argv(self):
        # scripts/redis-start: the project's one way to start Redis (it repairs
        # a torn AOF tail first and sets what the data needs).
        argv = [os.path.join(REPO, "scripts", "redis-start"),
                "--port", str(self.port), "--bind", HOST, "--dir", self.dir,
                "--save", "", "--daemonize", "no", "--logfile", "",
                "--appendonly", "yes" if self.appendonly else "no"]
        if self.appendonly:
            argv += ["--appendfsync", self.appendfsync]
        return argv + self.extra_args

    def start(self, wait="ping"):
        """Starts (or restarts, on the same port and dir) and waits until PING answers
        PONG, or (wait="answer") answers at all: LOADING while it loads its data."""
        if self.running():
            raise AssertionError("redis-server already running")
        if self.dir is None:
            self.dir = mkdtemp("cm-e2e-redis-")
        restart = self.port is not None and self.proc is not None
        attempts = 1 if (restart or self._fixed_port) else 5
        for attempt in range(attempts):
            if self.port is None or (attempt > 0 and not restart and not self._fixed_port):
                self.port = free_port()
            self._logf = open(self.log_path, "ab")
            self.proc = popen(self._argv(), child_env(), self._logf, subprocess.STDOUT,
                               cwd=self.dir)
            self.paused = False
            register(self)
            try:
                self._wait_ping(loading_ok=(wait == "answer"))
                return self
            except AssertionError:
                alive = self.running()
                self._force_kill()
                if alive or "in use" not in self.log_text() or attempt == attempts - 1:
                    raise
        return self

    def _wait_ping(self, loading_ok=False):
        deadline = time.monotonic() + REDIS_START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited with %s at start:\n%s" % (
                    self.proc.returncode, tail(self.log_text())))
            try:
                with RedisClient(self.port, timeout=2.0) as c:
                    if c.execute("PING") == "PONG":
                        return
            except RedisError as e:
                if (loading_ok and str(e).startswith("LOADING")) or \
                        str(e).startswith("NOAUTH"):
                    return  # up (loading, or a password set by the test)
                last = e
            except (OSError, ValueError) as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("redis-server on port %s did not answer PING within %.0fs (%r):\n%s"
                             % (self.port, REDIS_START_TIMEOUT, last, tail(self.log_text())))

    def _close_clients(self):
        for c in self._clients:
            c.close()
        self._clients = []

    def _reap(self):
        if self._logf:
            self._logf.close()
            self._logf = None

    def stop(self, timeout=EXIT_TIMEOUT):
        """SHUTDOWN NOSAVE (SIGTERM, then SIGKILL as fallbacks); returns the exit code."""
        self._close_clients()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if self.paused:
                self.resume()
            try:
                with RedisClient(self.port, timeout=2.0) as c:
                    c.execute("SHUTDOWN", "NOSAVE")
            except (OSError, RedisError, ValueError):
                pass  # the connection drops as Redis exits
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout)
        self._reap()
        unregister(self)
        return self.proc.returncode

    def kill(self):
        """SIGKILL: Redis vanishes without a word (connections reset)."""
        self._close_clients()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(EXIT_TIMEOUT)
        self.paused = False
        self._reap()
        unregister(self)

    def restart(self):
        self.stop()
        return self.start()

    def pause(self):
        """SIGSTOP: the TCP port stays open but nothing is answered."""
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def client(self, timeout=5.0, decode=True):
        """A RESP client to this server, closed at teardown."""
        c = RedisClient(self.port, timeout=timeout, decode=decode)
        self._clients.append(c)
        return c

    def _force_kill(self):
        self._close_clients()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self._reap()
        unregister(self)

    def close(self):
        """Stops the server (killing it if need be) and removes its temp dir."""
        try:
            try:
                self.stop()
            except Exception:
                self._force_kill()
                raise
        finally:
            if self.dir and self._own_dir:
                rmtree(self.dir)
                self.dir = None


def craftmatchd_binary():
    """$CRAFTMATCHD (ctest sets it), else the newest <repo>/build*/craftmatchd."""
    path = os.environ.get("CRAFTMATCHD")
    if not path:
        found = []
        for name in os.listdir(REPO):
            cand = os.path.join(REPO, name, "craftmatchd")
            if name.startswith("build") and os.access(cand, os.X_OK):
                found.append((os.path.getmtime(cand), cand))
        if not found:
            # Not a skip: a run that tests nothing must not pass.
            raise AssertionError("no craftmatchd to test: set CRAFTMATCHD to the binary "
                                 "(ctest does) or build one with scripts/build")
        path = max(found)[1]
        os.environ["CRAFTMATCHD"] = path
        sys.stderr.write("harness: CRAFTMATCHD not set, testing %s\n" % path)
    if not os.access(path, os.X_OK):
        raise AssertionError("CRAFTMATCHD=%r is not an executable file" % path)
    return path


def run_craftmatchd(*args, env=None, timeout=30.0):
    """Runs craftmatchd to completion (--help, bad flags...): CompletedProcess(text).

    Fails if its stderr carries a sanitizer report.
    """
    p = subprocess.run([craftmatchd_binary()] + [str(a) for a in args], env=child_env(env),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                       text=True, errors="replace")
    check_sanitizers(p.stderr, "craftmatchd %s" % " ".join(map(str, args)))
    return p


class Craftmatchd(Started):
    """A craftmatchd under test on a free port, stderr captured to a file.

    redis: a RedisServer, a redis:// URL, or None (then pass --redis-url in args).
    wait: "ready" (default: /readyz 200), "live" (/healthz answers), or None.
    expect_exit: the exit code teardown requires after its SIGTERM.
    binary: another craftmatchd build to run (default: craftmatchd_binary()).
    dir: where its logs go (default: a temp dir of its own, removed by close()).
    """

    def __init__(self, redis=None, args=(), env=None, wait="ready", expect_exit=0,
                 ready_timeout=READY_TIMEOUT, binary=None, dir=None):
        self.binary = binary
        self.redis = redis
        self.args = [str(a) for a in args]
        self.env = env
        self.wait = wait
        self.expect_exit = expect_exit
        self.ready_timeout = ready_timeout
        self.port = None
        self.proc = None
        self._own_dir = dir is None
        self.dir = mkdtemp("cm-e2e-daemon-") if dir is None else dir
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self._files = []
        self.returncode = None
        self._stopping = False

    # -- process --

    def redis_url(self):
        if isinstance(self.redis, RedisServer):
            return self.redis.url
        return self.redis

    def argv(self):
        argv = [self.binary or craftmatchd_binary(), "--bind", HOST, "--port", str(self.port)]
        if self.redis is not None:
            argv += ["--redis-url", self.redis_url()]
        return argv + self.args

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        if self.running():
            raise AssertionError("craftmatchd already running")
        for attempt in range(5):
            self.port = free_port()
            self._close_files()
            err = open(self.log_path, "ab")
            out = open(self.stdout_path, "ab")
            self._files = [err, out]
            self.returncode = None
            self._stopping = False
            self.proc = popen(self.argv(), child_env(self.env), out, err)
            register(self)
            try:
                self._wait_started()
                return self
            except AssertionError:
                exited = self.proc.poll() is not None
                if exited and "cannot listen" in self.log_text() and attempt < 4:
                    continue  # lost a race for the port: try another
                self._force_kill()
                raise
        return self

    def _wait_started(self):
        if self.wait is None:
            return
        path = "/readyz" if self.wait == "ready" else "/healthz"
        deadline = time.monotonic() + self.ready_timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                raise AssertionError("craftmatchd exited with %s before %s answered:\n%s" % (
                    self.proc.returncode, path, tail(self.log_text())))
            try:
                status, _, body = http_request(self.port, "GET", path, timeout=3.0)
                last = (status, body)
                if status == 200:
                    return
            except (OSError, http.client.HTTPException) as e:
                last = e
            time.sleep(0.1)
        raise AssertionError("craftmatchd %s did not answer 200 within %.0fs (last: %r):\n%s" % (
            path, self.ready_timeout, last, tail(self.log_text())))

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Waits until /readyz answers 200 (e.g. after a Redis outage)."""
        def ok():
            return self.request("GET", "/readyz", timeout=3.0)[0] == 200
        wait_for(ok, timeout, interval=0.1, message="/readyz 200")

    def send_signal(self, sig):
        if sig in (signal.SIGTERM, signal.SIGINT):
            self._stopping = True  # teardown then waits instead of signalling again
        self.proc.send_signal(sig)

    def wait_exit(self, timeout=EXIT_TIMEOUT):
        """Waits for the process to end; returns its exit code or raises AssertionError."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._force_kill()
            raise AssertionError("craftmatchd did not exit within %.0fs:\n%s" % (
                timeout, tail(self.log_text())))
        self._close_files()
        unregister(self)
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=EXIT_TIMEOUT):
        """Sends sig and returns the exit code; fails if it takes longer than timeout."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.send_signal(sig)
        return self.wait_exit(timeout)

    def quiesce(self, timeout=5.0):
        """Best effort: waits until the only connection the server still counts
        is this scrape's own, so a teardown's SIGTERM meets a known state (no
        client close still unread). Shutting down with connections open is
        tested on purpose in test_shutdown."""
        if not self.running():
            return
        try:
            with HttpClient(self.port, timeout=3.0) as c:
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    status, _, text = c.request("GET", "/metrics")
                    if status != 200:
                        return
                    if parse_metrics(text).value("craftmatch_http_connections_open",
                                                 default=-1.0) <= 1:
                        break
                    time.sleep(0.05)
            time.sleep(0.1)  # let the server read this last close first
        except (OSError, http.client.HTTPException, AssertionError):
            pass

    def kill(self):
        """SIGKILL (no cleanup, no sanitizer report)."""
        self._force_kill()
        return self.returncode

    def _force_kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            self.returncode = self.proc.returncode
        self._close_files()
        unregister(self)

    def _close_files(self):
        for f in self._files:
            f.close()
        self._files = []

    def log_text(self):
        try:
            with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stdout_text(self):
        try:
            with open(self.stdout_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=60):
        return tail(self.log_text(), lines)

    def check_sanitizers(self):
        check_sanitizers(self.log_text(), "craftmatchd")

    def close(self):
        """Teardown: SIGTERM, require expect_exit, require no sanitizer report, remove files."""
        try:
            problems = []
            if self.running():
                try:
                    if self._stopping:
                        rc = self.wait_exit()  # already signalled: no second signal
                    else:
                        self.quiesce()
                        rc = self.stop(signal.SIGTERM)
                    if self.expect_exit is not None and rc != self.expect_exit:
                        problems.append("craftmatchd exited with %s after SIGTERM, expected %s"
                                        % (rc, self.expect_exit))
                except AssertionError as e:
                    problems.append(str(e))
            else:
                self._force_kill()
            rep = sanitizer_report(self.log_text())
            if rep is not None:
                problems.insert(0, "sanitizer report in craftmatchd's stderr:\n" + rep)
            if problems:
                raise AssertionError("\n".join(problems) + "\n--- log tail ---\n" +
                                     self.log_tail(40))
        finally:
            self._force_kill()
            if self._own_dir:
                rmtree(self.dir)

    # -- clients --

    def request(self, method, path, body=None, headers=None, token=None, timeout=HTTP_TIMEOUT):
        """One request on a fresh connection: (status, Headers, parsed JSON or text)."""
        return http_request(self.port, method, path, body, headers, token, timeout)

    def client(self, timeout=HTTP_TIMEOUT):
        """A keep-alive HttpClient."""
        return HttpClient(self.port, timeout=timeout)

    def raw(self, timeout=HTTP_TIMEOUT):
        """A RawConn to the daemon."""
        return RawConn(self.port, timeout=timeout)

    def metrics(self):
        """GET /metrics, parsed strictly (see parse_metrics)."""
        status, headers, body = self.request("GET", "/metrics")
        if status != 200:
            raise AssertionError("/metrics answered %d: %r" % (status, body))
        return parse_metrics(body)

    def metric(self, name, default=None, **labels):
        return self.metrics().value(name, default=default, **labels)

