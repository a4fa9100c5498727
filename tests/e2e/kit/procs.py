"""
kit.procs — children of a test run: a small, explicit environment, death with
the test process, free ports, bounded waits and sanitizer reports.

Children get PATH, HOME, locale, TMPDIR and the sanitizer options only (no
inherited CRAFTMATCH_* setting can change a test), and ASAN_OPTIONS always
carries detect_leaks=1 unless the caller set detect_leaks itself. Children
started from the main thread die with the process (PR_SET_PDEATHSIG), and an
atexit hook kills whatever is still running, so an interrupted run leaves
nothing behind.
"""

import atexit
import ctypes
import http.client
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from kit import HOST

SANITIZER_PATTERNS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    # LSan could not run (e.g. no ptrace): leaks would go unseen. Set
    # ASAN_OPTIONS=detect_leaks=0 explicitly to accept that.
    "LeakSanitizer has encountered a fatal error",
)

# Children in a session of their own (the bench: a Ctrl-C then reaches only
# the parent, which stops them in order). Tests leave it off.
new_sessions = False


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


def register(obj):
    with _live_lock:
        _live.add(obj)


def unregister(obj):
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


def mkdtemp(prefix):
    """A temp dir removed at exit unless rmtree() removed it first."""
    d = tempfile.mkdtemp(prefix=prefix)
    _temp_dirs.add(d)
    return d


def rmtree(d):
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


def popen(argv, env, stdout, stderr, cwd=None):
    """subprocess.Popen with no stdin, dying with this process (see above)."""
    # PDEATHSIG fires when the *thread* that forked exits: use it only from the main thread.
    pre = _die_with_parent if (_prctl is not None and
                               threading.current_thread() is threading.main_thread()) else None
    return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, cwd=cwd, preexec_fn=pre, close_fds=True,
                            start_new_session=new_sessions)


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


def port_open(port, host=HOST):
    """Whether something accepts TCP connections on host:port now."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Started:
    """A context manager for what has start() and close(): `with X(...) as x:`
    starts it (unless its running() says it already runs), closes it at the
    end, and closes what a failed start left."""

    def running(self):
        return False

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


def tail(text, lines=60):
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

