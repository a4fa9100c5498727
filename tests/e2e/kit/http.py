"""
kit.http — an HTTP/1.1 client over http.client: keep-alive HttpClient, one-shot
http_request, case-insensitive Headers, bodies encoded and decoded as JSON.

Every answer HttpClient reads for an operation of docs/openapi.yaml must be
one it documents (status, media type, required headers, JSON body against its
schema; openapi_spec.py, with python3-yaml and python3-jsonschema); a test
that provokes an undocumented answer on purpose wraps the request in
`with undocumented_answers():`. E2E_SPEC_CHECK=0 turns the check off for a
whole run (a debugging aid; scripts/test never sets it), and so does
set_spec_check(False) (the bench, which measures and does not test).
"""

import collections.abc
import http.client
import json
import os

from kit import HOST, HTTP_TIMEOUT


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


_spec_check = os.environ.get("E2E_SPEC_CHECK", "1") != "0"


def spec_check():
    """Whether answers are checked against docs/openapi.yaml now."""
    return _spec_check


def set_spec_check(on):
    global _spec_check
    _spec_check = bool(on)


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

