"""
kit.resp — a tiny blocking RESP2/RESP3 client for the tests and the bench:
argv in, the reply as it came out (no per-command reshaping), so a test sees
exactly what Redis answered.
"""

import socket

from kit import HOST


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

