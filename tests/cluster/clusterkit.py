"""
clusterkit — what the cluster tests add to the e2e kit (tests/e2e, on
PYTHONPATH): nginx run with docs/nginx.conf as scripts/nginx-conf renders it,
and Front, the address clients use (fixtures.Api works on it as on a node).

Nginx runs in a process group of its own, so that killing it kills its
workers too; it is registered with kit.procs like every child, so an
interrupted run leaves no nginx behind.
"""

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import harness
from kit import REPO
from kit.procs import Started, register, unregister

NGINX_CONF = os.path.join(REPO, "scripts", "nginx-conf")
_probe = itertools.count(1)


def nginx_binary():
    """Debian's nginx (scripts/setup installs it); no nginx is a failure, not a skip."""
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK)
                                     else None)
    if not path:
        raise AssertionError("no nginx to run: install it with scripts/setup (Debian package "
                             "nginx)")
    return path


def render(listen, nodes, directory):
    """docs/nginx.conf for listen ("host:port") and nodes (["host:port"]), as a string."""
    argv = [NGINX_CONF, "--listen", listen, "--dir", directory]
    for n in nodes:
        argv += ["--node", n]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("scripts/nginx-conf failed (%d): %s" % (p.returncode, p.stderr))
    return p.stdout


class Front:
    """A client's view of the cluster: requests go to one port (nginx's)."""

    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None, token=None,
                timeout=harness.HTTP_TIMEOUT):
        return harness.http_request(self.port, method, path, body, headers, token, timeout)

    def client(self, timeout=harness.HTTP_TIMEOUT):
        return harness.HttpClient(self.port, timeout=timeout)


class Nginx(Started):
    """nginx with the rendered docs/nginx.conf in a temp dir, on a free port of 127.0.0.1.

    nodes: the craftmatchd ports of the upstream `craftmatch`.
    """

    def __init__(self, node_ports):
        self.node_ports = list(node_ports)
        self.dir = harness.mkdtemp("cm-cluster-nginx-")
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.error_log = os.path.join(self.dir, "nginx-error.log")
        self.access_log = os.path.join(self.dir, "nginx-access.log")
        self.port = None
        self.proc = None

    def argv(self, *extra):
        return [nginx_binary(), "-p", self.dir, "-e", self.error_log, "-c", self.conf] + \
            list(extra)

    def write_conf(self):
        with open(self.conf, "w") as f:
            f.write(render("%s:%d" % (harness.HOST, self.port),
                           ["%s:%d" % (harness.HOST, p) for p in self.node_ports], self.dir))

    def check_conf(self):
        """`nginx -t` on the rendered file: (exit code, output)."""
        p = subprocess.run(self.argv("-t"), capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr

    def start(self):
        for attempt in range(5):
            self.port = harness.free_port()
            self.write_conf()
            rc, out = self.check_conf()
            if rc != 0:
                raise AssertionError("nginx -t refused the rendered docs/nginx.conf:\n" + out)
            log = open(os.path.join(self.dir, "nginx.out"), "ab")
            try:
                self.proc = subprocess.Popen(self.argv("-g", "daemon off;"),
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True, env=harness.child_env())
            finally:
                log.close()
            register(self)
            deadline = time.monotonic() + harness.READY_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection((harness.HOST, self.port), timeout=1.0).close()
                    return self
                except OSError:
                    time.sleep(0.05)
            in_use = "in use" in self.error_text()
            self._force_kill()
            if not in_use or attempt == 4:
                raise AssertionError("nginx did not start listening on %d:\n%s" % (
                    self.port, self.error_text()[-3000:]))
        return self

    def error_text(self):
        try:
            with open(self.error_log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def access_lines(self):
        """The access log's lines (docs/nginx.conf's `craftmatch` format)."""
        try:
            with open(self.access_log, errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []

    def upstream_of(self, rid, timeout=10.0):
        """The node port(s) nginx sent the request with X-Request-Id rid to (its log)."""
        box = []

        def logged():
            box[:] = [ln for ln in self.access_lines() if "rid=%s " % rid in ln]
            return box
        harness.wait_for(logged, timeout, message="nginx's log line of request %s" % rid)
        addrs = re.search(r" upstream=(\S+(?:, \S+)*) upstream_status=", box[0]).group(1)
        return [int(a.rsplit(":", 1)[1]) for a in addrs.split(", ")]

    def node_of(self, token):
        """The node port nginx sends this credential's requests to now."""
        rid = "node-of-%d" % next(_probe)
        status = harness.http_request(self.port, "GET", "/v1/me", token=token,
                                      headers={"X-Request-Id": rid})[0]
        if status != 200:
            raise AssertionError("GET /v1/me through nginx answered %d" % status)
        return self.upstream_of(rid)[-1]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=harness.EXIT_TIMEOUT):
        """SIGQUIT (graceful: open requests finish, idle connections close); returns the code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._force_kill()
        return self.proc.returncode

    def _force_kill(self):
        """SIGKILL to the whole group (master and workers)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(harness.EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        unregister(self)

    def close(self):
        try:
            self.stop()
        finally:
            self._force_kill()
            harness.rmtree(self.dir)
