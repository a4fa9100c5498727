"""
kit.rawsock — a raw TCP client for hostile or hand-made HTTP requests: bytes go
out as they are, responses are parsed by hand (status line, headers,
Content-Length, chunked or until close), back-to-back (pipelined) answers stay
buffered for the next read. Nothing here is checked against
docs/openapi.yaml: hostile bytes get hostile answers.
"""

import json
import re
import socket
import time

from kit import HOST, HTTP_TIMEOUT
from kit.http import Headers


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

