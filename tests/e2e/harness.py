"""
harness — the e2e test kit: a private redis-server, a craftmatchd under test,
HTTP and raw-socket clients, a RESP client and a strict Prometheus parser.

Python 3 standard library, plus python3-yaml and python3-jsonschema for the
one check HttpClient makes of every answer (openapi_spec.py: an answer to an
operation of docs/openapi.yaml must be one it documents). Every e2e test
imports this module:

    import harness
    class T(harness.TestCase):
        def test_x(self):
            redis = self.start_redis()
            d = self.start_daemon(redis, "--max-body-bytes", "1024")
            status, headers, body = d.request("GET", "/healthz")

TestCase.start_redis()/start_daemon() register their teardown with
addCleanup, so a test never leaks a process: at teardown the daemon gets
SIGTERM, must exit 0 within a deadline, and its stderr must be free of
sanitizer reports (AddressSanitizer, LeakSanitizer, UBSan "runtime error:").
Any of those failures fails the test, loudly, with the log excerpt.

The context managers work on their own as well (`with harness.RedisServer()
as redis, harness.Craftmatchd(redis) as d: ...`), with the same checks.

Children get a small, explicit environment (PATH, HOME, locale, TMPDIR and the
sanitizer options; no inherited CRAFTMATCH_* setting can change a test), and
ASAN_OPTIONS always carries detect_leaks=1 unless the caller set detect_leaks
itself. Children started from the main thread die with the test process
(PR_SET_PDEATHSIG), and an atexit hook kills whatever is still running, so an
interrupted run leaves nothing behind.

Timeouts: every wait here is bounded. Deadlines are functional ("the process
exits", "Redis answers"), generous enough for a sanitizer build on a loaded
two-core machine; nothing measures speed.
"""

import atexit
import collections.abc
import ctypes
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HOST = "127.0.0.1"

# Deadlines (seconds). Generous: ASan+UBSan on two loaded cores.
READY_TIMEOUT = 20.0
EXIT_TIMEOUT = 15.0
REDIS_START_TIMEOUT = 15.0
HTTP_TIMEOUT = 10.0

SANITIZER_PATTERNS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    # LSan could not run (e.g. no ptrace): leaks would go unseen. Set
    # ASAN_OPTIONS=detect_leaks=0 explicitly to accept that.
    "LeakSanitizer has encountered a fatal error",
)


# ---------------------------------------------------------------------------
# processes: environment, lifetime
# ---------------------------------------------------------------------------

_ENV_PASS = ("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "LD_LIBRARY_PATH",
             "ASAN_SYMBOLIZER_PATH", "LLVM_SYMBOLIZER_PATH", "UBSAN_OPTIONS", "LSAN_OPTIONS")


def child_env(extra=None):
    """A small environment for children: only what they need, plus extra.

    Nothing else is inherited, so a CRAFTMATCH_* variable in the developer's
    shell cannot change what a test sees. ASAN_OPTIONS gets detect_leaks=1
    unless detect_leaks is already set.
    """
    env = {k: os.environ[k] for k in _ENV_PASS if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    asan = os.environ.get("ASAN_OPTIONS", "")
    if "detect_leaks=" not in asan:
        asan = "detect_leaks=1" + (":" + asan if asan else "")
    env["ASAN_OPTIONS"] = asan
    if "UBSAN_OPTIONS" not in env:
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    if extra:
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = str(v)
    return env


_live = set()  # objects with a _force_kill() method, killed at exit
_live_lock = threading.Lock()


def _register(obj):
    with _live_lock:
        _live.add(obj)


def _unregister(obj):
    with _live_lock:
        _live.discard(obj)


@atexit.register
def _kill_all():
    with _live_lock:
        objs = list(_live)
    for obj in objs:
        try:
            obj._force_kill()
        except Exception:
            pass
    for d in list(_temp_dirs):
        shutil.rmtree(d, ignore_errors=True)


_temp_dirs = set()  # removed at exit if a teardown did not get to it


def _mkdtemp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    _temp_dirs.add(d)
    return d


def _rmtree(d):
    shutil.rmtree(d, ignore_errors=True)
    _temp_dirs.discard(d)


def _install_sigterm_handler():
    # ctest's timeout (or a developer's kill) sends SIGTERM: stop the run and
    # let atexit kill the children. KeyboardInterrupt, because unittest
    # records any other exception (SystemExit included) and carries on.
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        def on_term(signum, frame):
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            raise KeyboardInterrupt("SIGTERM")
        signal.signal(signal.SIGTERM, on_term)


_install_sigterm_handler()

try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _prctl = _libc.prctl
except (OSError, AttributeError):
    _prctl = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _popen(argv, env, stdout, stderr, cwd=None):
    # PDEATHSIG fires when the *thread* that forked exits: use it only from the main thread.
    pre = _die_with_parent if (_prctl is not None and
                               threading.current_thread() is threading.main_thread()) else None
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, cwd=cwd, preexec_fn=pre, close_fds=True)


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago.

    Chosen below the kernel's ephemeral range when there is room: a port
    from that range could be taken by any outgoing connection meanwhile, or
    (for a restarted Redis the daemon keeps dialling) by a TCP self-connect.
    """
    low = _ephemeral_low()
    for _ in range(50 if low > 12000 else 0):
        port = random.randint(10000, low - 1)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((HOST, port))
                return port
            except OSError:
                continue
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.05, message="condition"):
    """Polls predicate() until it returns a true value (returned) or raises AssertionError."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = predicate()
            if v:
                return v
        except (OSError, http.client.HTTPException) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = " (last error: %r)" % (last_exc,) if last_exc else ""
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (timeout, message,
                                                                             extra))
        time.sleep(interval)


def _tail(text, lines=60):
    return "\n".join(text.splitlines()[-lines:])


def sanitizer_report(text):
    """The part of a log that holds a sanitizer report, or None."""
    for pat in SANITIZER_PATTERNS:
        i = text.find(pat)
        if i >= 0:
            start = text.rfind("\n", 0, max(0, text.rfind("\n", 0, i))) + 1
            return text[start:start + 6000]
    return None


def check_sanitizers(text, what="process"):
    rep = sanitizer_report(text)
    if rep is not None:
        raise AssertionError("sanitizer report in the %s's stderr:\n%s" % (what, rep))


# ---------------------------------------------------------------------------
# RESP client
# ---------------------------------------------------------------------------

class RedisError(Exception):
    """An error reply (-ERR ...). The message is the reply text."""


class RedisClient:
    """A tiny blocking RESP2/RESP3 client: argv in, parsed reply out.

    Replies: simple string -> str, error -> RedisError (raised at top level,
    returned inside arrays), integer -> int, bulk -> str (decode=True, UTF-8
    with surrogateescape) or bytes, nil -> None, array -> list.
    """

    def __init__(self, port, host=HOST, timeout=5.0, decode=True):
        self.decode = decode
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode("utf-8")
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                a = str(a).encode()
            elif not isinstance(a, (bytes, bytearray)):
                raise TypeError("RESP argument must be str, bytes or a number: %r" % (a,))
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def execute(self, *args):
        """Sends one command, returns its reply; raises RedisError on an error reply."""
        self.sock.sendall(self.encode(args))
        reply = self._read_reply()
        if isinstance(reply, RedisError):
            raise reply
        return reply

    __call__ = execute

    def pipeline(self, *commands):
        """Sends several commands at once; returns the replies (errors as RedisError values)."""
        self.sock.sendall(b"".join(self.encode(c) for c in commands))
        return [self._read_reply() for _ in commands]

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("Redis closed the connection")
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _str(self, b):
        return b.decode("utf-8", "surrogateescape") if self.decode else b

    def _read_reply(self):
        line = self._line()
        if not line:
            raise ValueError("empty RESP line")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode("utf-8", "surrogateescape")
        if kind == b"-":
            return RedisError(rest.decode("utf-8", "surrogateescape"))
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"=", b"!"):
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n)
            if kind == b"!":
                return RedisError(data.decode("utf-8", "surrogateescape"))
            return self._str(data)
        if kind in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            return [self._read_reply() for _ in range(n)]
        if kind == b"%":
            n = int(rest)
            out = {}
            for _ in range(n):
                k = self._read_reply()
                out[k if not isinstance(k, list) else tuple(k)] = self._read_reply()
            return out
        if kind == b"_":
            return None
        if kind == b"#":
            return rest == b"t"
        if kind == b",":
            return float(rest.decode().replace("inf", "Infinity"))
        if kind == b"(":
            return int(rest)
        raise ValueError("unknown RESP type %r" % (line,))


# ---------------------------------------------------------------------------
# redis-server
# ---------------------------------------------------------------------------

class RedisServer:
    """A private redis-server on 127.0.0.1 with its own temp dir, started
    through scripts/redis-start as the project runs Redis.

    Defaults: AOF on with appendfsync always, aof-load-truncated no, no RDB
    snapshots. stop()/kill() then start() restarts on the same port and dir.
    pause()/resume() stop and continue the process (a stalled Redis).
    """

    def __init__(self, appendonly=True, appendfsync="always", extra_args=(), port=None):
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.extra_args = list(extra_args)
        self.port = port
        self._fixed_port = port is not None
        self.dir = None
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
        argv = [os.path.join(_REPO, "scripts", "redis-start"),
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
            self.dir = _mkdtemp("cm-e2e-redis-")
        restart = self.port is not None and self.proc is not None
        attempts = 1 if (restart or self._fixed_port) else 5
        for attempt in range(attempts):
            if self.port is None or (attempt > 0 and not restart and not self._fixed_port):
                self.port = free_port()
            self._logf = open(self.log_path, "ab")
            self.proc = _popen(self._argv(), child_env(), self._logf, subprocess.STDOUT,
                               cwd=self.dir)
            self.paused = False
            _register(self)
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
                    self.proc.returncode, _tail(self.log_text())))
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
                             % (self.port, REDIS_START_TIMEOUT, last, _tail(self.log_text())))

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
        _unregister(self)
        return self.proc.returncode

    def kill(self):
        """SIGKILL: Redis vanishes without a word (connections reset)."""
        self._close_clients()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(EXIT_TIMEOUT)
        self.paused = False
        self._reap()
        _unregister(self)

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
        _unregister(self)

    def close(self):
        """Stops the server (killing it if need be) and removes its temp dir."""
        try:
            try:
                self.stop()
            except Exception:
                self._force_kill()
                raise
        finally:
            if self.dir:
                _rmtree(self.dir)
                self.dir = None

    def __enter__(self):
        try:
            if not self.running():
                self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Headers(collections.abc.Mapping):
    """Case-insensitive, read-only response headers; repeated ones via get_all()."""

    def __init__(self, pairs=()):
        self._items = [(k, v) for k, v in pairs]
        self._map = {}
        for k, v in self._items:
            self._map.setdefault(k.lower(), v)

    def __getitem__(self, key):
        return self._map[key.lower()]

    def __contains__(self, key):
        return isinstance(key, str) and key.lower() in self._map

    def __iter__(self):
        return iter(self._map)

    def __len__(self):
        return len(self._map)

    def get_all(self, key):
        return [v for k, v in self._items if k.lower() == key.lower()]

    def items_raw(self):
        return list(self._items)

    def __repr__(self):
        return "Headers(%r)" % (self._items,)


def media_type(headers):
    """The Content-Type without parameters, lowercased ('' when absent)."""
    return headers.get("Content-Type", "").split(";")[0].strip().lower()


def decode_body(headers, data, method="GET"):
    """JSON (application/json, */*+json) parsed; text decoded; else bytes."""
    if method == "HEAD":
        return data.decode("utf-8", "replace") if data else ""
    mt = media_type(headers)
    if mt == "application/json" or mt.endswith("+json"):
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError as e:
            raise AssertionError("response says %s but its body is not JSON (%s): %r" % (
                mt, e, data[:500]))
    if mt.startswith("text/") or not mt:
        return data.decode("utf-8", "replace")
    return data


def _prepare_body(body, headers):
    headers = dict(headers or {})
    if body is None:
        return None, headers
    if isinstance(body, (dict, list)):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
        return data, headers
    if isinstance(body, str):
        return body.encode("utf-8"), headers
    return bytes(body), headers


# Every answer HttpClient reads for an operation of docs/openapi.yaml must be
# one it documents (status, media type, required headers, JSON body against its
# schema); a test that provokes an undocumented answer on purpose wraps the
# request in `with harness.undocumented_answers():`. E2E_SPEC_CHECK=0 turns the
# check off for a whole run (a debugging aid; scripts/test never sets it).
_spec_check = os.environ.get("E2E_SPEC_CHECK", "1") != "0"


def check_documented(method, path, status, headers, data):
    """Raises AssertionError when the answer is not one docs/openapi.yaml documents."""
    if not _spec_check:
        return
    import openapi_spec  # python3-yaml + python3-jsonschema; only the HTTP kit needs them
    errs = openapi_spec.load().answer_errors(method, path, status, headers, data)
    if errs:
        raise AssertionError("answer not documented in docs/openapi.yaml: " + "\n".join(errs))


class undocumented_answers:
    """Context manager: no description check for the requests made inside."""

    def __enter__(self):
        global _spec_check
        self._was, _spec_check = _spec_check, False
        return self

    def __exit__(self, *exc):
        global _spec_check
        _spec_check = self._was


class HttpClient:
    """One keep-alive HTTP/1.1 connection (http.client) to a server."""

    def __init__(self, port, host=HOST, timeout=HTTP_TIMEOUT):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=None):
        """Returns (status, Headers, parsed body)."""
        status, headers, data = self.request_raw(method, path, body, headers, token)
        return status, headers, decode_body(headers, data, method)

    def request_raw(self, method, path, body=None, headers=None, token=None):
        """Returns (status, Headers, body bytes)."""
        data, hdrs = _prepare_body(body, headers)
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        self.conn.request(method, path, body=data, headers=hdrs)
        resp = self.conn.getresponse()
        raw = resp.read()
        h = Headers(resp.getheaders())
        if resp.will_close:
            self.conn.close()
        check_documented(method, path, resp.status, h, raw)
        return resp.status, h, raw

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def http_request(port, method, path, body=None, headers=None, token=None, timeout=HTTP_TIMEOUT,
                 host=HOST):
    """One request on a fresh connection: (status, Headers, parsed body)."""
    with HttpClient(port, host, timeout) as c:
        return c.request(method, path, body, headers, token)


class RawResponse:
    def __init__(self, version, status, reason, headers, body, raw):
        self.version, self.status, self.reason = version, status, reason
        self.headers, self.body, self.raw = headers, body, raw

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "RawResponse(%d %s, %r, %r)" % (self.status, self.reason, self.headers,
                                               self.body[:200])


class RawConn:
    """A raw TCP connection for hostile or hand-made requests.

    send() writes bytes as they are; read_response() parses one HTTP/1.1
    response (Content-Length, chunked, or until close); responses that arrive
    back to back (pipelining) are kept in the buffer for the next call.
    """

    def __init__(self, port, host=HOST, timeout=HTTP_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            self.eof = True
        self.buf += chunk
        return chunk

    def read_response(self, timeout=HTTP_TIMEOUT, head=False):
        """One response; raises socket.timeout, or ConnectionError on a close before it ends."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if self.eof or not self._recv(deadline):
                raise ConnectionError("connection closed before a full response head; got %r"
                                      % (self.buf[:300],))
        i = self.buf.index(b"\r\n\r\n")
        head_bytes, rest = self.buf[:i], self.buf[i + 4:]
        lines = head_bytes.decode("latin-1").split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise AssertionError("bad status line %r" % (lines[0],))
        version, status, reason = m.group(1), int(m.group(2)), m.group(3) or ""
        pairs = []
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if not sep:
                raise AssertionError("bad header line %r" % (ln,))
            pairs.append((k.strip(), v.strip()))
        headers = Headers(pairs)
        self.buf = rest
        no_body = head or status in (204, 304) or 100 <= status < 200
        if no_body:
            body = b""
        elif "Transfer-Encoding" in headers and "chunked" in headers["Transfer-Encoding"].lower():
            body = self._read_chunked(deadline)
        elif "Content-Length" in headers:
            n = int(headers["Content-Length"])
            while len(self.buf) < n:
                if self.eof or not self._recv(deadline):
                    raise ConnectionError("connection closed inside a body")
            body, self.buf = self.buf[:n], self.buf[n:]
        else:
            while not self.eof:
                self._recv(deadline)
            body, self.buf = self.buf, b""
        return RawResponse(version, status, reason, headers, body, head_bytes + b"\r\n\r\n" + body)

    def _read_chunked(self, deadline):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                if self.eof or not self._recv(deadline):
                    raise ConnectionError("connection closed inside a chunked body")
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line.split(b";")[0], 16)
            while len(self.buf) < size + 2:
                if self.eof or not self._recv(deadline):
                    raise ConnectionError("connection closed inside a chunk")
            body += self.buf[:size]
            self.buf = self.buf[size + 2:]
            if size == 0:
                return body

    def read_until_close(self, timeout=HTTP_TIMEOUT):
        """All bytes up to the peer's close (raises socket.timeout if it stays open)."""
        deadline = time.monotonic() + timeout
        while not self.eof:
            try:
                self._recv(deadline)
            except ConnectionResetError:
                self.eof = True
        data, self.buf = self.buf, b""
        return data

    def closed_by_peer(self, timeout=HTTP_TIMEOUT):
        """True when the peer closes (EOF or reset) within timeout; drains what arrives."""
        try:
            self.read_until_close(timeout)
            return True
        except socket.timeout:
            return False

    def nothing_within(self, seconds):
        """True when no byte (and no close) arrives for `seconds`."""
        if self.buf or self.eof:
            return False
        try:
            self._recv(time.monotonic() + seconds)
        except socket.timeout:
            return True
        return False

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def raw_request(port, data, timeout=HTTP_TIMEOUT, head=False):
    """Sends bytes on a fresh connection and reads one response."""
    with RawConn(port, timeout=timeout) as c:
        c.send(data)
        return c.read_response(timeout, head=head)


# ---------------------------------------------------------------------------
# craftmatchd
# ---------------------------------------------------------------------------

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def craftmatchd_binary():
    """$CRAFTMATCHD (ctest sets it), else the newest <repo>/build*/craftmatchd."""
    path = os.environ.get("CRAFTMATCHD")
    if not path:
        found = []
        for name in os.listdir(_REPO):
            cand = os.path.join(_REPO, name, "craftmatchd")
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


class Craftmatchd:
    """A craftmatchd under test on a free port, stderr captured to a file.

    redis: a RedisServer, a redis:// URL, or None (then pass --redis-url in args).
    wait: "ready" (default: /readyz 200), "live" (/healthz answers), or None.
    expect_exit: the exit code teardown requires after its SIGTERM.
    binary: another craftmatchd build to run (default: craftmatchd_binary()).
    """

    def __init__(self, redis=None, args=(), env=None, wait="ready", expect_exit=0,
                 ready_timeout=READY_TIMEOUT, binary=None):
        self.binary = binary
        self.redis = redis
        self.args = [str(a) for a in args]
        self.env = env
        self.wait = wait
        self.expect_exit = expect_exit
        self.ready_timeout = ready_timeout
        self.port = None
        self.proc = None
        self.dir = _mkdtemp("cm-e2e-daemon-")
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
            self.proc = _popen(self.argv(), child_env(self.env), out, err)
            _register(self)
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
                    self.proc.returncode, path, _tail(self.log_text())))
            try:
                status, _, body = http_request(self.port, "GET", path, timeout=3.0)
                last = (status, body)
                if status == 200:
                    return
            except (OSError, http.client.HTTPException) as e:
                last = e
            time.sleep(0.1)
        raise AssertionError("craftmatchd %s did not answer 200 within %.0fs (last: %r):\n%s" % (
            path, self.ready_timeout, last, _tail(self.log_text())))

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
                timeout, _tail(self.log_text())))
        self._close_files()
        _unregister(self)
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
        _unregister(self)

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
        return _tail(self.log_text(), lines)

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
            _rmtree(self.dir)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

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


# ---------------------------------------------------------------------------
# Prometheus text exposition format 0.0.4
# ---------------------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
_SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?$" % _NAME)
_LABEL_RE = re.compile(r'[ \t]*(%s)[ \t]*=[ \t]*"((?:[^"\\\n]|\\[\\"n])*)"[ \t]*(,|$)' % _LABEL)
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class MetricsFormatError(AssertionError):
    pass


def _parse_value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", s):
        raise ValueError(s)
    return float(s)


def _parse_labels(s, lineno):
    labels = {}
    pos = 0
    while pos < len(s):
        m = _LABEL_RE.match(s, pos)
        if not m or m.end() == pos:
            raise MetricsFormatError("line %d: bad label set {%s}" % (lineno, s))
        name = m.group(1)
        if name in labels:
            raise MetricsFormatError("line %d: label %s repeated" % (lineno, name))
        labels[name] = m.group(2).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        pos = m.end()
        if m.group(3) == "" and pos < len(s):
            raise MetricsFormatError("line %d: junk after labels {%s}" % (lineno, s))
    return labels


class Metrics:
    """Parsed exposition: families[name] = {type, help, samples: [(name, labels, value)]}."""

    def __init__(self, families, text):
        self.families = families
        self.text = text

    def samples(self, name=None):
        for fam in self.families.values():
            for s in fam["samples"]:
                if name is None or s[0] == name:
                    yield s

    def value(self, name, default=None, **labels):
        """The value of the sample with exactly these labels (default when absent)."""
        for n, l, v in self.samples(name):
            if l == labels:
                return v
        if default is None:
            raise AssertionError("no sample %s%r in /metrics:\n%s" % (name, labels, self.text))
        return default

    def type_of(self, family):
        return self.families[family]["type"] if family in self.families else None


def parse_metrics(text):
    """Parses and validates Prometheus text format 0.0.4; raises MetricsFormatError.

    Checked: every line is a comment, HELP, TYPE or a well-formed sample;
    HELP/TYPE at most once per family and before its samples; a family's
    samples are contiguous; no series appears twice; counters are ≥ 0;
    histograms have, per label set, cumulative buckets ending with
    le="+Inf", and _count equal to the +Inf bucket, plus _sum.
    """
    if text and not text.endswith("\n"):
        raise MetricsFormatError("exposition does not end with a newline")
    families = {}
    order = []  # family of each sample group, for contiguity
    seen_series = set()

    def family_for(sample_name):
        if sample_name in families and families[sample_name]["type"] not in ("histogram",
                                                                             "summary"):
            return sample_name
        for suffix in ("_bucket", "_sum", "_count"):
            if sample_name.endswith(suffix):
                base = sample_name[:-len(suffix)]
                if base in families and families[base]["type"] in ("histogram", "summary"):
                    return base
        return sample_name

    def family(name):
        if name not in families:
            families[name] = {"type": None, "help": None, "samples": []}
        return families[name]

    for lineno, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not re.match("^%s$" % _NAME, name):
                    raise MetricsFormatError("line %d: bad metric name %r" % (lineno, name))
                fam = family(name)
                if fam["samples"]:
                    raise MetricsFormatError("line %d: %s for %s after its samples" % (
                        lineno, parts[1], name))
                key = parts[1].lower()
                if fam[key] is not None:
                    raise MetricsFormatError("line %d: second %s for %s" % (lineno, parts[1],
                                                                            name))
                if parts[1] == "TYPE":
                    if len(parts) != 4 or parts[3] not in _TYPES:
                        raise MetricsFormatError("line %d: bad TYPE line %r" % (lineno, line))
                    fam["type"] = parts[3]
                else:
                    fam["help"] = parts[3] if len(parts) == 4 else ""
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            raise MetricsFormatError("line %d: not a sample line: %r" % (lineno, line))
        name, labels_s, value_s = m.group(1), m.group(2), m.group(3)
        labels = _parse_labels(labels_s, lineno) if labels_s else {}
        try:
            value = _parse_value(value_s)
        except ValueError:
            raise MetricsFormatError("line %d: bad value %r" % (lineno, value_s))
        fname = family_for(name)
        fam = family(fname)
        if order and order[-1] != fname and fname in order:
            raise MetricsFormatError("line %d: samples of %s are not contiguous" % (lineno,
                                                                                    fname))
        if not order or order[-1] != fname:
            order.append(fname)
        series = (name, tuple(sorted(labels.items())))
        if series in seen_series:
            raise MetricsFormatError("line %d: series %s%r repeated" % (lineno, name, labels))
        seen_series.add(series)
        if fam["type"] == "counter" and not (value >= 0):
            raise MetricsFormatError("line %d: counter %s is %r" % (lineno, name, value))
        if fam["type"] == "histogram" and name == fname:
            raise MetricsFormatError("line %d: bare sample %s in a histogram" % (lineno, name))
        fam["samples"].append((name, labels, value))

    for fname, fam in families.items():
        if fam["type"] == "histogram":
            _check_histogram(fname, fam)
    return Metrics(families, text)


def _check_histogram(fname, fam):
    groups = {}
    for name, labels, value in fam["samples"]:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == fname + "_bucket":
            if "le" not in labels:
                raise MetricsFormatError("%s_bucket%r without le" % (fname, labels))
            try:
                le = _parse_value(labels["le"])
            except ValueError:
                raise MetricsFormatError("%s_bucket: bad le %r" % (fname, labels["le"]))
            g["buckets"].append((le, labels["le"], value))
        elif name == fname + "_sum":
            g["sum"] = value
        elif name == fname + "_count":
            g["count"] = value
    for rest, g in groups.items():
        b = g["buckets"]
        where = "%s%r" % (fname, dict(rest))
        if not b:
            raise MetricsFormatError("%s: no buckets" % where)
        les = [x[0] for x in b]
        if les != sorted(les) or len(set(les)) != len(les):
            raise MetricsFormatError("%s: buckets not in increasing le order: %r" % (where, les))
        if b[-1][1] != "+Inf":
            raise MetricsFormatError('%s: last bucket is le="%s", not le="+Inf"' % (where,
                                                                                   b[-1][1]))
        vals = [x[2] for x in b]
        if any(v2 < v1 for v1, v2 in zip(vals, vals[1:])):
            raise MetricsFormatError("%s: buckets not cumulative: %r" % (where, vals))
        if g["count"] is None or g["sum"] is None:
            raise MetricsFormatError("%s: _count or _sum missing" % where)
        if g["count"] != vals[-1]:
            raise MetricsFormatError('%s: _count %r != le="+Inf" bucket %r' % (
                where, g["count"], vals[-1]))


# ---------------------------------------------------------------------------
# unittest glue
# ---------------------------------------------------------------------------

class TestCase(unittest.TestCase):
    """Starts processes whose teardown (and sanitizer check) is registered with addCleanup."""

    def start_redis(self, **kwargs):
        r = RedisServer(**kwargs)
        self.addCleanup(r.close)
        r.start()
        return r

    def start_daemon(self, redis, *args, env=None, wait="ready", expect_exit=0, binary=None):
        d = Craftmatchd(redis, args=args, env=env, wait=wait, expect_exit=expect_exit,
                        binary=binary)
        self.addCleanup(d.close)
        d.start()
        return d

    def assertProblem(self, status, headers, body, expected_status):
        """A problem+json response (RFC 9457) with the given status."""
        self.assertEqual(status, expected_status, body)
        self.assertEqual(media_type(headers), "application/problem+json", headers)
        self.assertIsInstance(body, dict, body)
        for k in ("type", "title", "status", "detail"):
            self.assertIn(k, body, body)
        self.assertEqual(body["status"], expected_status, body)
        for k in ("type", "title", "detail"):
            self.assertIsInstance(body[k], str, body)
            self.assertTrue(body[k], body)


class SharedDaemonTestCase(TestCase):
    """One Redis and one craftmatchd for the whole class (class attributes
    redis_kwargs, daemon_args, daemon_env configure them). After every test
    the daemon must still be running with no sanitizer report, so a crash or
    report is charged to the test that caused it; the class teardown then
    does the full check (SIGTERM, exit 0, report)."""

    redis_kwargs = {}
    daemon_args = ()
    daemon_env = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = RedisServer(**cls.redis_kwargs)
        cls.daemon = Craftmatchd(cls.redis, args=cls.daemon_args, env=cls.daemon_env)
        try:
            cls.redis.start()
            cls.daemon.start()
        except BaseException:
            cls._close_shared()
            raise

    @classmethod
    def _close_shared(cls):
        try:
            cls.daemon.close()
        finally:
            cls.redis.close()

    @classmethod
    def tearDownClass(cls):
        try:
            cls._close_shared()
        finally:
            super().tearDownClass()

    def tearDown(self):
        self.daemon.check_sanitizers()
        if not self.daemon.running():
            raise AssertionError("craftmatchd died during the test (exit %s):\n%s" % (
                self.daemon.proc.poll(), self.daemon.log_tail()))
        super().tearDown()


def main():
    unittest.main(verbosity=2)
