"""
e2e: docs/openapi.yaml describes the API the server really serves.

Proves: the (method, path) pairs of docs/openapi.yaml are exactly those that
`craftmatchd --routes` prints (a failure names what is missing on either
side); every operation declares responses, and every 4xx/5xx one is an
application/problem+json Problem; every operation except the five public
ones requires bearerAuth and documents 401, and a real craftmatchd answers
each of them 401 without a token (and the public ones without 401); every
path parameter is declared, every POST that creates takes Idempotency-Key,
PATCH takes If-Match, GET /v1/listings declares exactly its filters. Then
walks through the accounts, tokens, listings and matches operations against
a real redis-server + craftmatchd check that each answer -- status, media
type, the headers documented as always sent, and the JSON body against its
schema -- is one the description documents, including the 503 with
Retry-After of a stalled Redis.

The YAML is read by load_yaml() below, a small reader for the subset the file
keeps to (described at its top); the tests use the standard library only.
"""
import os
import re
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPEC_PATH = os.path.join(ROOT, "docs", "openapi.yaml")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Routes registered with ROUTE_PUBLIC in server/http/routes.c.
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
          ("GET", "/v1/provinces"), ("GET", "/v1/materials")}
# Public routes that take a credential in their body instead (signing in):
# no security requirement, but 401 for a bad credential.
SIGN_IN = {("POST", "/v1/sessions")}
# POST routes that ignore Idempotency-Key: a stream ticket is a one-shot
# (server/api/events.c never reads the key), and so is signing in.
NO_IDEMPOTENCY_KEY = {("POST", "/v1/stream-tickets")} | SIGN_IN
LISTING_FILTERS = {"kind", "material", "province", "status", "forum", "owner", "q", "cursor",
                   "limit"}


# ---------------------------------------------------------------------------
# A reader for the YAML subset docs/openapi.yaml keeps to
# ---------------------------------------------------------------------------

class YamlError(ValueError):
    pass


_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_RE = re.compile(r"^[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$")
_ESCAPES = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0",
            "b": "\b", "f": "\f", " ": " "}


def _plain(text):
    """A plain scalar resolved as YAML 1.2's core schema does."""
    if text in ("null", "Null", "NULL", "~"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT_RE.match(text):
        return int(text)
    if _FLOAT_RE.match(text):
        return float(text)
    return text


def _quoted(text, pos, lineno):
    """The quoted scalar starting at text[pos]: (value, index after the closing quote)."""
    q = text[pos]
    out = []
    i = pos + 1
    while i < len(text):
        c = text[i]
        if q == "'" and c == "'":
            if text[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        if q == '"' and c == '"':
            return "".join(out), i + 1
        if q == '"' and c == "\\":
            e = text[i + 1:i + 2]
            if e == "u":
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            if e not in _ESCAPES:
                raise YamlError("line %d: unsupported escape \\%s" % (lineno, e))
            out.append(_ESCAPES[e])
            i += 2
            continue
        out.append(c)
        i += 1
    raise YamlError("line %d: unterminated quoted string (quoted scalars stay on one line)"
                    % lineno)


def _after(text, pos, lineno):
    """Only spaces or a comment may follow a complete value."""
    rest = text[pos:].strip()
    if rest and not rest.startswith("#"):
        raise YamlError("line %d: unexpected %r after the value" % (lineno, rest))


def _flow_seq(text, pos, lineno):
    """A one-line flow sequence starting at text[pos] == '[': (list, index after ']')."""
    out = []
    i = pos + 1
    while True:
        while i < len(text) and text[i] == " ":
            i += 1
        if i >= len(text):
            raise YamlError("line %d: unterminated [ (flow sequences stay on one line)" % lineno)
        c = text[i]
        if c == "]" and not out:
            return out, i + 1
        if c in "'\"":
            v, i = _quoted(text, i, lineno)
        elif c == "[":
            v, i = _flow_seq(text, i, lineno)
        elif c in "{,]":
            raise YamlError("line %d: unsupported flow content %r" % (lineno, text[i:]))
        else:
            j = i
            while j < len(text) and text[j] not in ",]":
                j += 1
            v = _plain(text[i:j].strip())
            i = j
        out.append(v)
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == ",":
            i += 1
            continue
        if i < len(text) and text[i] == "]":
            return out, i + 1
        raise YamlError("line %d: expected , or ] in %r" % (lineno, text))


def _scalar(text, lineno):
    """A value written on one line: quoted, flow sequence, {} or plain."""
    text = text.strip()
    c = text[:1]
    if c in ("'", '"'):
        v, end = _quoted(text, 0, lineno)
        _after(text, end, lineno)
        return v
    if c == "[":
        v, end = _flow_seq(text, 0, lineno)
        _after(text, end, lineno)
        return v
    if c == "{":
        if text.split("#")[0].strip() != "{}":
            raise YamlError("line %d: only the empty flow mapping {} is supported" % lineno)
        return {}
    if c in ("&", "*", "!", "%", "@", "`"):
        raise YamlError("line %d: anchors, aliases, tags and directives are not supported"
                        % lineno)
    m = re.search(r"\s#", text)
    if m:
        text = text[:m.start()].rstrip()
    return _plain(text)


def _split_key(body, lineno):
    """'key: rest' -> (key, rest)."""
    if body[0] in ("'", '"'):
        key, end = _quoted(body, 0, lineno)
        if body[end:end + 1] != ":" or body[end + 1:end + 2] not in ("", " "):
            raise YamlError("line %d: expected ':' after the quoted key" % lineno)
        return key, body[end + 1:]
    i = body.find(": ")
    if i < 0:
        if not body.endswith(":"):
            raise YamlError("line %d: expected 'key: value' or 'key:', got %r" % (lineno, body))
        i = len(body) - 1
    key = body[:i].rstrip()
    if not key or key[0] in "[{&*!|>%@`#-?":
        raise YamlError("line %d: unsupported mapping key %r" % (lineno, key))
    return _plain(key), body[i + 1:]


def _is_map_entry(item):
    if item[0] in ("'", '"'):
        try:
            _, end = _quoted(item, 0, 0)
        except YamlError:
            return False
        return item[end:end + 1] == ":"
    if item[0] in "[{":
        return False
    return ": " in item or item.endswith(":")


class _Reader:
    def __init__(self, text):
        self.lines = text.splitlines()
        self.i = 0

    def peek(self):
        """(indent, text) of the next line with content, skipping blanks and comments."""
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            body = raw.lstrip(" ")
            if body.startswith("\t"):
                raise YamlError("line %d: tab in indentation" % (self.i + 1))
            if not body.strip() or body.startswith("#"):
                self.i += 1
                continue
            return len(raw) - len(body), body.rstrip()
        return None

    def node(self, indent):
        _, body = self.peek()
        if body == "-" or body.startswith("- "):
            return self.seq(indent)
        return self.mapping(indent)

    def mapping(self, indent):
        out = {}
        while True:
            p = self.peek()
            if p is None or p[0] < indent:
                return out
            lineno = self.i + 1
            if p[0] > indent:
                raise YamlError("line %d: unexpected indentation" % lineno)
            body = p[1]
            if body == "-" or body.startswith("- "):
                raise YamlError("line %d: sequence item where a key was expected (indent a "
                                "sequence under its key)" % lineno)
            key, rest = _split_key(body, lineno)
            self.i += 1
            if key in out:
                raise YamlError("line %d: duplicate key %r" % (lineno, key))
            out[key] = self.value(rest, indent, lineno)

    def seq(self, indent):
        out = []
        while True:
            p = self.peek()
            if p is None or p[0] < indent:
                return out
            lineno = self.i + 1
            if p[0] > indent:
                raise YamlError("line %d: unexpected indentation" % lineno)
            body = p[1]
            if not (body == "-" or body.startswith("- ")):
                raise YamlError("line %d: expected a '- ' item" % lineno)
            item = body[1:].lstrip(" ")
            col = indent + len(body) - len(item)
            if item.startswith("- "):
                raise YamlError("line %d: nested '- - ' sequences are not supported" % lineno)
            if item and _is_map_entry(item):
                # The item is a mapping whose first key sits on the dash's line.
                self.lines[self.i] = " " * col + item
                out.append(self.mapping(col))
            else:
                self.i += 1
                out.append(self.value(item, indent, lineno))

    def value(self, rest, indent, lineno):
        rest = rest.strip()
        if not rest or rest.startswith("#"):
            p = self.peek()
            if p is not None and p[0] > indent:
                return self.node(p[0])
            return None
        if rest[0] in "|>":
            return self.block_scalar(rest, indent, lineno)
        return _scalar(rest, lineno)

    def block_scalar(self, header, indent, lineno):
        m = re.match(r"^([|>])([-+]?)\s*(#.*)?$", header)
        if not m:
            raise YamlError("line %d: unsupported block scalar header %r" % (lineno, header))
        style, chomp = m.group(1), m.group(2)
        lines, n = [], None
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            if not raw.strip():
                lines.append("")
                self.i += 1
                continue
            ind = len(raw) - len(raw.lstrip(" "))
            if n is None:
                if ind <= indent:
                    break
                n = ind
            if ind < n:
                break
            lines.append(raw[n:].rstrip("\r"))
            self.i += 1
        trailing = 0
        while lines and lines[-1] == "":
            lines.pop()
            trailing += 1
        if style == "|":
            text = "\n".join(lines)
        else:
            text = ""
            for k, line in enumerate(lines):
                if k == 0:
                    text = line
                elif line == "":
                    text += "\n"
                elif lines[k - 1] == "":
                    text += line
                elif line.startswith(" ") or lines[k - 1].startswith(" "):
                    text += "\n" + line
                else:
                    text += " " + line
        if not lines:
            return ""
        if chomp == "-":
            return text
        if chomp == "+":
            return text + "\n" * (1 + trailing)
        return text + "\n"


def load_yaml(text):
    """The document in text (a mapping or sequence), as dicts, lists and scalars."""
    r = _Reader(text)
    p = r.peek()
    if p is None:
        return None
    if p[0] != 0:
        raise YamlError("line %d: the document must start at column 0" % (r.i + 1))
    doc = r.node(0)
    if r.peek() is not None:
        raise YamlError("line %d: unexpected content after the document" % (r.i + 1))
    return doc


# ---------------------------------------------------------------------------
# The description: operations, $ref, a small JSON Schema checker
# ---------------------------------------------------------------------------

def load_spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        return load_yaml(f.read())


def resolve(spec, node):
    """Follows local $refs ("#/components/...") until node is not a reference."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            raise AssertionError("bad or circular $ref %r" % (ref,))
        seen.add(ref)
        target = spec
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise AssertionError("$ref %r points nowhere" % ref)
            target = target[part]
        node = target
    return node


def operations(spec):
    """{(METHOD, path): operation} of every operation in paths."""
    out = {}
    for path, item in (spec.get("paths") or {}).items():
        for method, op in (item or {}).items():
            if method in HTTP_METHODS:
                out[(method.upper(), path)] = op
    return out


_DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _is_type(value, t):
    if t == "null":
        return value is None
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or \
            (isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "string":
        return isinstance(value, str)
    if t == "array":
        return isinstance(value, list)
    if t == "object":
        return isinstance(value, dict)
    raise AssertionError("unknown schema type %r" % (t,))


def schema_errors(spec, schema, value, where="body"):
    """What is wrong with value against schema: a list of sentences (empty: valid)."""
    errs = []
    schema = resolve(spec, schema)
    if schema is True or schema is None or schema == {}:
        return errs
    for sub in schema.get("allOf", []):
        errs += schema_errors(spec, sub, value, where)
    if "anyOf" in schema and not any(not schema_errors(spec, s, value, where)
                                     for s in schema["anyOf"]):
        errs.append("%s: %r matches none of anyOf" % (where, value))
    if "oneOf" in schema:
        n = sum(1 for s in schema["oneOf"] if not schema_errors(spec, s, value, where))
        if n != 1:
            errs.append("%s: %r matches %d of oneOf, not 1" % (where, value, n))
    if "enum" in schema and value not in schema["enum"]:
        errs.append("%s: %r is not one of %r" % (where, value, schema["enum"]))
    if "const" in schema and value != schema["const"]:
        errs.append("%s: %r is not %r" % (where, value, schema["const"]))
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in types):
            errs.append("%s: %r is not of type %s" % (where, value, "/".join(types)))
            return errs
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                errs.append("%s: required member %r is missing" % (where, name))
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for k, v in value.items():
            if k in props:
                errs += schema_errors(spec, props[k], v, "%s.%s" % (where, k))
            elif extra is False:
                errs.append("%s: member %r is not in the description" % (where, k))
            elif isinstance(extra, dict):
                errs += schema_errors(spec, extra, v, "%s.%s" % (where, k))
    elif isinstance(value, list):
        if "items" in schema:
            for i, v in enumerate(value):
                errs += schema_errors(spec, schema["items"], v, "%s[%d]" % (where, i))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errs.append("%s: more than %d items" % (where, schema["maxItems"]))
    elif isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errs.append("%s: %r is shorter than %d" % (where, value, schema["minLength"]))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errs.append("%s: %r is longer than %d" % (where, value, schema["maxLength"]))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errs.append("%s: %r does not match %s" % (where, value, schema["pattern"]))
        fmt = schema.get("format")
        if fmt == "date-time" and not _DATE_TIME_RE.match(value):
            errs.append("%s: %r is not an RFC 3339 date-time" % (where, value))
        if fmt == "date" and not _DATE_RE.match(value):
            errs.append("%s: %r is not a date" % (where, value))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errs.append("%s: %r is below %r" % (where, value, schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errs.append("%s: %r is above %r" % (where, value, schema["maximum"]))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errs.append("%s: %r is not above %r" % (where, value, schema["exclusiveMinimum"]))
    return errs


def fill_path(spec, op, template, ids=None):
    """The template with each {param} replaced: from ids, else a well-formed unknown id
    built from the parameter's pattern ('^acc_...' -> acc_000...)."""
    params = {}
    for p in op.get("parameters", []):
        p = resolve(spec, p)
        if p.get("in") == "path":
            params[p["name"]] = resolve(spec, p.get("schema", {}))

    def one(m):
        name = m.group(1)
        if ids and name in ids:
            return ids[name]
        pat = (params.get(name) or {}).get("pattern", "")
        pm = re.match(r"^\^([a-z]+)_", pat)
        return (pm.group(1) + "_" + "0" * 20) if pm else "x"
    return re.sub(r"\{([^}/]+)\}", one, template)


def create_admin(redis_url, name="Quản trị kiểm thử"):
    p = harness.run_craftmatchd("--create-admin", name, "--redis-url", redis_url)
    if p.returncode != 0:
        raise AssertionError("craftmatchd --create-admin failed (%d): %s" % (p.returncode,
                                                                             p.stderr))
    m = re.search(r"^token: (cm_\S+)$", p.stdout, re.M)
    if not m:
        raise AssertionError("no 'token: cm_...' line in --create-admin's output: %r" % p.stdout)
    return m.group(1)


class SpecAssertions:
    """Checks a real answer against the description (mixed into TestCases)."""

    spec = None

    def assertDocumented(self, op_key, status, headers, body):
        """status is documented for the operation, with its media type, its always-sent
        headers and (for JSON) a body valid against its schema."""
        ops = operations(self.spec)
        self.assertIn(op_key, ops, "%s %s is not in docs/openapi.yaml" % op_key)
        responses = ops[op_key].get("responses") or {}
        code = str(status)
        if code not in responses:
            self.fail("%s %s answered %s, which docs/openapi.yaml does not document for it "
                      "(documented: %s); body: %r" % (op_key[0], op_key[1], code,
                                                      ", ".join(sorted(responses)), body))
        resp = resolve(self.spec, responses[code])
        for name, h in (resp.get("headers") or {}).items():
            if resolve(self.spec, h).get("required"):
                self.assertIn(name, headers, "%s %s %s: documented header %s missing; got %r"
                              % (op_key[0], op_key[1], code, name, headers))
        content = resp.get("content")
        if not content:
            self.assertFalse(body, "%s %s %s documents no body but got %r"
                             % (op_key[0], op_key[1], code, body))
            return
        mt = harness.media_type(headers)
        self.assertIn(mt, content, "%s %s %s: answered as %r, documented as %s"
                      % (op_key[0], op_key[1], code, mt, ", ".join(content)))
        schema = (content[mt] or {}).get("schema")
        if schema is not None and (mt == "application/json" or mt.endswith("+json")):
            errs = schema_errors(self.spec, schema, body)
            self.assertEqual(errs, [], "%s %s %s: the body does not fit its schema:\n  %s\n%r"
                             % (op_key[0], op_key[1], code, "\n  ".join(errs), body))


# ---------------------------------------------------------------------------
# The reader itself
# ---------------------------------------------------------------------------

class YamlReaderTest(unittest.TestCase):

    def test_subset(self):
        doc = load_yaml("\n".join([
            "# comment",
            "a: 1",
            "b: 'it''s' # c",
            'c: "x\\"y\\u00e9"',
            "d: [x, 'y z', 2, [], true]",
            "e:",
            "  - k: v",
            "    l: [a]",
            "  - plain text",
            "  - f: {}",
            "\"200\":",
            "  g: >-",
            "    one",
            "    two",
            "",
            "    three",
            "  h: |",
            "    l1",
            "    l2",
            "i: http://x:8080/a#b",
            "j:",
            "k: 1.5",
            "l: /v1/{id}",
        ]))
        self.assertEqual(doc, {
            "a": 1, "b": "it's", "c": 'x"y\u00e9', "d": ["x", "y z", 2, [], True],
            "e": [{"k": "v", "l": ["a"]}, "plain text", {"f": {}}],
            "200": {"g": "one two\nthree", "h": "l1\nl2\n"},
            "i": "http://x:8080/a#b", "j": None, "k": 1.5, "l": "/v1/{id}"})

    def test_refuses_what_it_does_not_read(self):
        for text in ("a: &x 1", "a:\n- 1", "a: {b: 1}", "a: 1\na: 2", "a: 'open",
                     "a:\n  b: 1\n   c: 2"):
            with self.subTest(text=text):
                with self.assertRaises(YamlError):
                    load_yaml(text)


# ---------------------------------------------------------------------------
# The description against the binary's route table
# ---------------------------------------------------------------------------

class DescriptionTest(SpecAssertions, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.spec = load_spec()
        cls.ops = operations(cls.spec)

    def test_is_openapi_3_1(self):
        self.assertRegex(str(self.spec.get("openapi")), r"^3\.1\.\d+$")
        for k in ("title", "version"):
            self.assertTrue((self.spec.get("info") or {}).get(k), "info.%s missing" % k)

    def test_operations_equal_served_routes(self):
        p = harness.run_craftmatchd("--routes")
        self.assertEqual(p.returncode, 0, p.stderr)
        served = []
        for line in p.stdout.splitlines():
            m = re.match(r"^([A-Z]+) (/\S*)$", line)
            self.assertTrue(m, "unexpected --routes line %r" % line)
            served.append((m.group(1), m.group(2)))
        self.assertEqual(len(served), len(set(served)), "--routes repeats a route: %r" % served)
        documented = set(self.ops)
        missing = sorted(set(served) - documented)
        extra = sorted(documented - set(served))
        msg = []
        if missing:
            msg.append("served but not in docs/openapi.yaml: " +
                       ", ".join("%s %s" % r for r in missing))
        if extra:
            msg.append("in docs/openapi.yaml but not served: " +
                       ", ".join("%s %s" % r for r in extra))
        if msg:
            self.fail("; ".join(msg))

    def test_every_operation_declares_responses(self):
        ids = set()
        for (method, path), op in sorted(self.ops.items()):
            with self.subTest(op="%s %s" % (method, path)):
                self.assertTrue(op.get("operationId"), "no operationId")
                self.assertNotIn(op["operationId"], ids, "operationId repeats")
                ids.add(op["operationId"])
                responses = op.get("responses")
                self.assertIsInstance(responses, dict, "no responses")
                self.assertTrue(responses, "no responses")
                self.assertTrue(any(str(c).startswith("2") for c in responses),
                                "no 2xx response")
                for code, resp in responses.items():
                    self.assertIsInstance(code, str, "response code %r must be a quoted "
                                          "string" % (code,))
                    self.assertRegex(code, r"^[1-5][0-9][0-9]$")
                    resp = resolve(self.spec, resp)
                    self.assertTrue(resp.get("description"), "%s has no description" % code)
                    if code[0] in "45":
                        content = resp.get("content") or {}
                        self.assertEqual(list(content), ["application/problem+json"],
                                         "%s must be application/problem+json" % code)
                        schema = content["application/problem+json"].get("schema")
                        self.assertEqual(schema, {"$ref": "#/components/schemas/Problem"}, code)

    def test_problem_schema(self):
        problem = resolve(self.spec, {"$ref": "#/components/schemas/Problem"})
        props = problem.get("properties") or {}
        for k in ("type", "title", "status", "detail", "instance", "errors"):
            self.assertIn(k, props)
        item = resolve(self.spec, props["errors"].get("items"))
        self.assertEqual(set(item.get("required", [])), {"field", "message"})

    def test_security(self):
        schemes = (self.spec.get("components") or {}).get("securitySchemes") or {}
        self.assertEqual(schemes.get("bearerAuth", {}).get("type"), "http")
        self.assertEqual(schemes.get("bearerAuth", {}).get("scheme"), "bearer")
        for key, op in sorted(self.ops.items()):
            with self.subTest(op="%s %s" % key):
                security = op.get("security", self.spec.get("security"))
                if key in SIGN_IN:
                    self.assertEqual(security, [], "signing in needs no earlier credential")
                    self.assertIn("401", op["responses"])
                elif key in PUBLIC:
                    self.assertEqual(security, [], "a public route must say security: []")
                    self.assertNotIn("401", op["responses"])
                else:
                    self.assertIsInstance(security, list, "no security requirement")
                    self.assertIn({"bearerAuth": []}, security)
                    self.assertNotIn({}, security, "{} would make authentication optional")
                    self.assertIn("401", op["responses"])

    def test_parameters_and_headers(self):
        for (method, path), op in sorted(self.ops.items()):
            with self.subTest(op="%s %s" % (method, path)):
                params = [resolve(self.spec, p) for p in op.get("parameters", [])]
                declared = {p["name"] for p in params if p.get("in") == "path"}
                for p in params:
                    if p.get("in") == "path":
                        self.assertIs(p.get("required"), True, p["name"])
                self.assertEqual(declared, set(re.findall(r"\{([^}/]+)\}", path)),
                                 "path parameters")
                header_params = {p["name"] for p in params if p.get("in") == "header"}
                if method == "POST":
                    self.assertIn("requestBody", op)
                # Every POST honours Idempotency-Key (creates replay the first
                # result, match actions the match as it stands; test_matches
                # proves the actions do) except the one-shots above.
                if method == "POST" and (method, path) not in NO_IDEMPOTENCY_KEY:
                    self.assertIn("Idempotency-Key", header_params)
                if (method, path) in NO_IDEMPOTENCY_KEY:
                    self.assertNotIn("Idempotency-Key", header_params)
                if method == "PATCH":
                    self.assertIn("If-Match", header_params)
                    self.assertIn("requestBody", op)
                for code, resp in op["responses"].items():
                    headers = resolve(self.spec, resp).get("headers") or {}
                    if code == "503":
                        self.assertIn("Retry-After", headers)
                    if code == "201":
                        self.assertIn("Location", headers)
                    if code not in ("411", "413"):  # refused before a request id exists
                        self.assertIn("X-Request-Id", headers, code)
        query = {resolve(self.spec, p)["name"] for p in self.ops[("GET", "/v1/listings")]
                 .get("parameters", []) if resolve(self.spec, p).get("in") == "query"}
        self.assertEqual(query, LISTING_FILTERS)

    def test_listing_request_schemas_name_every_field(self):
        schemas = self.spec["components"]["schemas"]
        need = set(schemas["NeedCreate"]["properties"])
        offer = set(schemas["OfferCreate"]["properties"])
        self.assertLessEqual({"needed_by", "accept_substitutes"}, need - offer)
        self.assertLessEqual({"available_from", "available_until", "min_order"}, offer - need)
        for name, prop in schemas["ListingPatch"]["properties"].items():
            self.assertLessEqual(set(prop.get("x-applies-to", [])), {"need", "offer"}, name)
            self.assertTrue(prop.get("x-applies-to"), "%s: x-applies-to missing" % name)


# ---------------------------------------------------------------------------
# The description against a running server
# ---------------------------------------------------------------------------

class LiveTest(SpecAssertions, harness.SharedDaemonTestCase):

    @classmethod
    def setUpClass(cls):
        cls.spec = load_spec()
        cls.ops = operations(cls.spec)
        super().setUpClass()
        try:
            cls.admin = create_admin(cls.redis.url)
        except BaseException:
            cls._close_shared()
            raise

    def call(self, method, template, token=None, body=None, headers=None, ids=None, query=""):
        """One request to a documented operation; the answer must be documented."""
        op = self.ops[(method, template)]
        path = fill_path(self.spec, op, template, ids) + query
        status, h, b = self.daemon.request(method, path, body=body, headers=headers, token=token)
        self.assertDocumented((method, template), status, h, b)
        return status, h, b

    def test_without_token_every_private_operation_is_401_and_public_ones_answer(self):
        for (method, template), op in sorted(self.ops.items()):
            with self.subTest(op="%s %s" % (method, template)):
                body = {} if method in ("POST", "PATCH", "PUT") else None
                status, h, b = self.call(method, template, body=body)
                if (method, template) in SIGN_IN:
                    # no code at all: refused (CSRF rule first), never signed in
                    self.assertProblem(status, h, b, 403)
                    self.assertNotIn("Set-Cookie", h)
                elif (method, template) in PUBLIC:
                    self.assertNotEqual(status, 401)
                    self.assertTrue(200 <= status < 300, (status, b))
                else:
                    self.assertProblem(status, h, b, 401)
                    self.assertEqual(b["type"], "/problems/unauthorized")
                    self.assertIn("WWW-Authenticate", h)

    def test_bad_token_is_401(self):
        status, h, b = self.call("GET", "/v1/me", token="cm_" + "A" * 43)
        self.assertProblem(status, h, b, 401)

    def test_reference_etag_and_304(self):
        for template in ("/v1/provinces", "/v1/materials"):
            with self.subTest(path=template):
                status, h, _ = self.call("GET", template)
                self.assertEqual(status, 200)
                status, h, _ = self.call("GET", template, headers={"If-None-Match": h["ETag"]})
                self.assertEqual(status, 304)

    def test_walk(self):
        admin, key = self.admin, self.id().rsplit(".", 1)[-1]
        j = {"Content-Type": "application/json"}

        def idem(name):
            return {"Idempotency-Key": "%s-%s" % (key, name)}

        status, _, me = self.call("GET", "/v1/me", token=admin)
        self.assertEqual((status, me["role"]), (200, "admin"))

        # Accounts: an organiser (moderator) for Hà Nội, who registers a village.
        mod_body = {"role": "moderator", "name": "Trung tâm Khuyến công Hà Nội",
                    "province": "Hà Nội", "scope": {"provinces": ["HN"],
                                                    "forums": ["dien-dan-2026"]},
                    "contact": {"phone": "024 3382 4126", "email": "kc@example.vn"}}
        status, h, mod = self.call("POST", "/v1/accounts", admin, mod_body, idem("mod"))
        self.assertEqual(status, 201)
        self.assertEqual(h["Location"], "/v1/accounts/" + mod["id"])
        status, h, again = self.call("POST", "/v1/accounts", admin, mod_body, idem("mod"))
        self.assertEqual((status, again["id"], h.get("Idempotent-Replayed")),
                         (201, mod["id"], "true"))
        status, _, b = self.call("POST", "/v1/accounts", admin, dict(mod_body, name="Khác"),
                                 idem("mod"))
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("POST", "/v1/accounts", admin,
                                 {"role": "village", "name": "", "bogus": 1})
        self.assertProblem(status, _, b, 400)
        self.assertEqual(b["type"], "/problems/validation")
        self.assertEqual({e["field"] for e in b["errors"]}, {"name", "province", "bogus"})
        status, _, b = self.call("POST", "/v1/accounts", admin, "{", headers=j)
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("POST", "/v1/accounts", admin, "{}",
                                 headers={"Content-Type": "text/plain"})
        self.assertProblem(status, _, b, 415)
        status, _, b = self.call("POST", "/v1/accounts", admin, mod_body,
                                 headers={"Idempotency-Key": "has space"})
        self.assertProblem(status, _, b, 400)

        status, h, tok = self.call("POST", "/v1/tokens", admin,
                                   {"account_id": mod["id"], "name": "demo"}, idem("modtok"))
        self.assertEqual(status, 201)
        self.assertEqual(h["Location"], "/v1/tokens/" + tok["id"])
        modt = tok["token"]
        status, _, b = self.call("POST", "/v1/tokens", admin,
                                 {"account_id": mod["id"], "name": "demo"}, idem("modtok"))
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("POST", "/v1/tokens", admin, {"account_id": "acc_" + "0" * 20})
        self.assertProblem(status, _, b, 404)

        village_body = {"role": "village", "name": "Hợp tác xã gốm sứ Bát Tràng",
                        "province": "Hà Nội", "commune": "Bát Tràng",
                        "contact": {"phone": "0912 345 678"}}
        status, _, village = self.call("POST", "/v1/accounts", modt, village_body)
        self.assertEqual(status, 201)
        status, _, b = self.call("POST", "/v1/accounts", modt,
                                 dict(village_body, province="Ninh Bình"))
        self.assertProblem(status, _, b, 403)
        status, _, vt = self.call("POST", "/v1/tokens", modt, {"account_id": village["id"]})
        self.assertEqual(status, 201)
        village_t = vt["token"]
        status, _, supplier = self.call("POST", "/v1/accounts", admin, {
            "role": "supplier", "name": "Công ty Cao lanh Trúc Thôn", "province": "Hải Dương",
            "contact": {"phone": "0220 3882 123"}})
        self.assertEqual(status, 201)
        status, _, st = self.call("POST", "/v1/tokens", admin, {"account_id": supplier["id"]})
        supplier_t = st["token"]
        status, _, b = self.call("POST", "/v1/tokens", modt, {"account_id": supplier["id"]})
        self.assertProblem(status, _, b, 403)

        status, _, seen = self.call("GET", "/v1/accounts/{id}", supplier_t,
                                    ids={"id": village["id"]})
        self.assertEqual(status, 200)
        self.assertNotIn("contact", seen)
        status, _, seen = self.call("GET", "/v1/accounts/{id}", modt, ids={"id": village["id"]})
        self.assertIn("contact", seen)
        status, _, b = self.call("GET", "/v1/accounts/{id}", modt)
        self.assertProblem(status, _, b, 404)

        # Forums: the organiser creates one and opens it; the need below registers for it.
        forum_body = {"id": "dien-dan-2026", "name": "Diễn đàn kết nối cung cầu Hà Nội 2026",
                      "provinces": ["HN", "Bắc Ninh"], "venue": "Cầu Giấy, Hà Nội",
                      "registration_opens": "2099-01-01", "registration_closes": "2099-01-20",
                      "forum_day": "2099-01-22", "materials": ["kaolin"]}
        status, h, forum = self.call("POST", "/v1/forums", modt, forum_body, idem("forum"))
        self.assertEqual((status, h["Location"], forum["state"]),
                         (201, "/v1/forums/dien-dan-2026", "draft"))
        status, _, b = self.call("POST", "/v1/forums", modt, forum_body)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("PATCH", "/v1/forums/{id}", modt, {"forum_day": "2098-01-01"},
                                 ids={"id": "dien-dan-2026"})
        self.assertProblem(status, _, b, 400)
        status, _, forum = self.call("POST", "/v1/forums/{id}/open", modt,
                                     ids={"id": "dien-dan-2026"})
        self.assertEqual((status, forum["state"]), (200, "open"))
        status, _, page = self.call("GET", "/v1/forums", admin, query="?state=open&province=HN")
        self.assertEqual([f["id"] for f in page["items"]], ["dien-dan-2026"])

        # Listings: a need, an offer, search, change, close.
        need_body = {"material": "kaolin", "grade": "B", "quantity": "12.5", "unit": "tấn",
                     "price_vnd": 2500000, "price_unit": "tan", "province": "Hà Nội",
                     "commune": "Bát Tràng", "needed_by": "2099-12-20", "max_distance_km": 300,
                     "accept_substitutes": True, "note": "Cao lanh cho men gốm",
                     "forum": "dien-dan-2026", "location": {"lat": 20.975, "lon": 105.912}}
        status, h, need = self.call("POST", "/v1/needs", village_t, need_body, idem("need"))
        self.assertEqual(status, 201)
        self.assertEqual(h["Location"], "/v1/listings/" + need["id"])
        self.assertEqual(need["quantity"]["base"], 12500)
        status, h, again = self.call("POST", "/v1/needs", village_t, need_body, idem("need"))
        self.assertEqual((status, again["id"]), (201, need["id"]))
        status, _, b = self.call("POST", "/v1/needs", village_t,
                                 {"material": "kaolin", "quantity": "1,5", "min_order": 1})
        self.assertProblem(status, _, b, 400)
        self.assertLessEqual({"quantity", "min_order", "province", "needed_by"},
                             {e["field"] for e in b["errors"]})
        status, _, b = self.call("POST", "/v1/offers", village_t, {})
        self.assertProblem(status, _, b, 403)
        offer_body = {"material": "kaolin", "grade": "A", "quantity": "200", "unit": "tan",
                      "price_vnd": 1800000, "min_order": "5", "province": "Hải Dương",
                      "available_until": "2099-01-31", "note": "Cao lanh lọc, độ trắng cao"}
        status, _, offer = self.call("POST", "/v1/offers", supplier_t, offer_body, idem("offer"))
        self.assertEqual(status, 201)

        status, _, page = self.call("GET", "/v1/listings", village_t, query="?q=bat%20trang")
        self.assertEqual([x["id"] for x in page["items"]], [need["id"]])
        status, _, page = self.call("GET", "/v1/listings", village_t,
                                    query="?q=HAI+DUONG&kind=offer&material=kaolin")
        self.assertEqual([x["id"] for x in page["items"]], [offer["id"]])
        status, _, page = self.call("GET", "/v1/listings", village_t, query="?limit=1")
        self.assertEqual(len(page["items"]), 1)
        self.assertIsNotNone(page["next_cursor"])
        status, _, page2 = self.call("GET", "/v1/listings", village_t,
                                     query="?limit=1&cursor=" + page["next_cursor"])
        self.assertEqual(status, 200)
        self.assertNotEqual(page2["items"][0]["id"], page["items"][0]["id"])
        status, _, page = self.call("GET", "/v1/needs", village_t,
                                    query="?owner=me&province=Ha%20Noi&forum=dien-dan-2026")
        self.assertEqual([x["id"] for x in page["items"]], [need["id"]])
        status, _, page = self.call("GET", "/v1/offers", village_t, query="?status=any")
        self.assertEqual([x["id"] for x in page["items"]], [offer["id"]])
        status, _, b = self.call("GET", "/v1/listings", village_t, query="?colour=red")
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("GET", "/v1/needs", village_t, query="?kind=offer&limit=0")
        self.assertProblem(status, _, b, 400)

        ids = {"id": need["id"]}
        status, h, got = self.call("GET", "/v1/listings/{id}", supplier_t, ids=ids)
        self.assertEqual((status, h["ETag"]), (200, '"1"'))
        status, _, b = self.call("PATCH", "/v1/listings/{id}", village_t, {"quantity": "15"},
                                 {"If-Match": '"9"'}, ids)
        self.assertProblem(status, _, b, 412)
        status, h, patched = self.call("PATCH", "/v1/listings/{id}", village_t,
                                       {"quantity": "15", "note": None}, {"If-Match": '"1"'},
                                       ids)
        self.assertEqual((status, h["ETag"], patched["quantity"]["base"]), (200, '"2"', 15000))
        self.assertNotIn("note", patched)
        status, _, b = self.call("PATCH", "/v1/listings/{id}", village_t,
                                 {"material": "clay"}, ids=ids)
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("PATCH", "/v1/listings/{id}", supplier_t, {"quantity": 1},
                                 ids=ids)
        self.assertProblem(status, _, b, 403)
        status, _, b = self.call("DELETE", "/v1/listings/{id}", supplier_t, ids=ids)
        self.assertProblem(status, _, b, 403)
        status, _, closed = self.call("DELETE", "/v1/listings/{id}", modt, ids=ids)
        self.assertEqual((status, closed["status"]), (200, "closed"))
        status, _, b = self.call("DELETE", "/v1/listings/{id}", village_t, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("PATCH", "/v1/listings/{id}", village_t, {"quantity": 1},
                                 ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("GET", "/v1/listings/{id}", village_t)
        self.assertProblem(status, _, b, 404)

        # Sessions: a browser signs in with a code of its own, and out again.
        code = self.call("POST", "/v1/tokens", modt, {"account_id": village["id"]})[2]["token"]
        app = {"X-Craftmatch": "1", "Origin": "http://127.0.0.1:%d" % self.daemon.port}
        status, h, b = self.call("POST", "/v1/sessions", body={"code": code})
        self.assertProblem(status, h, b, 403)
        status, h, b = self.call("POST", "/v1/sessions", body={"code": code + "x"}, headers=app)
        self.assertProblem(status, h, b, 401)
        status, h, signed = self.call("POST", "/v1/sessions", body={"code": code}, headers=app)
        self.assertEqual((status, signed["account"]["id"]), (201, village["id"]))
        cookie = {"Cookie": h["Set-Cookie"].split(";")[0]}
        status, _, me = self.call("GET", "/v1/me", headers=cookie)
        self.assertEqual((status, me["id"]), (200, village["id"]))
        status, h, b = self.call("DELETE", "/v1/sessions/current", headers=cookie)
        self.assertProblem(status, h, b, 403)
        status, h, b = self.call("DELETE", "/v1/sessions/current", village_t)
        self.assertProblem(status, h, b, 404)
        status, _, _ = self.call("DELETE", "/v1/sessions/current", headers=dict(cookie, **app))
        self.assertEqual(status, 204)
        status, h, b = self.call("GET", "/v1/me", headers=cookie)
        self.assertProblem(status, h, b, 401)

        # Tokens: list, revoke, and the revoked token is refused.
        status, _, mine = self.call("GET", "/v1/tokens", village_t)
        self.assertEqual([t["id"] for t in mine["items"]], [vt["id"]])
        self.assertTrue(mine["items"][0]["current"])
        status, _, b = self.call("DELETE", "/v1/tokens/{id}", supplier_t, ids={"id": vt["id"]})
        self.assertProblem(status, _, b, 404)
        status, _, _ = self.call("DELETE", "/v1/tokens/{id}", village_t, ids={"id": vt["id"]})
        self.assertEqual(status, 204)
        status, h, b = self.call("GET", "/v1/me", village_t)
        self.assertProblem(status, h, b, 401)


class MatchLiveTest(LiveTest):
    """The match life cycle, on a daemon of its own (the engine proposes)."""

    def test_match_life(self):
        admin = self.admin
        _, _, mod = self.call("POST", "/v1/accounts", admin, {
            "role": "moderator", "name": "Trung tâm Khuyến công Hà Nội", "province": "HN",
            "scope": {"provinces": ["HN"]}})
        modt = self.call("POST", "/v1/tokens", admin, {"account_id": mod["id"]})[2]["token"]
        _, _, village = self.call("POST", "/v1/accounts", modt, {
            "role": "village", "name": "Hợp tác xã Gốm sứ Bát Tràng", "province": "Hà Nội",
            "contact": {"phone": "0912 345 678"}})
        vt = self.call("POST", "/v1/tokens", modt, {"account_id": village["id"]})[2]["token"]
        _, _, supplier = self.call("POST", "/v1/accounts", admin, {
            "role": "supplier", "name": "Công ty CP Đất sét Đông Triều",
            "province": "Quảng Ninh", "contact": {"email": "ban-hang@example.vn"}})
        st = self.call("POST", "/v1/tokens", admin, {"account_id": supplier["id"]})[2]["token"]
        status, _, need = self.call("POST", "/v1/needs", vt, {
            "material": "kaolin", "grade": "B", "quantity": "10", "unit": "tấn",
            "price_vnd": 3000000, "province": "Hà Nội", "needed_by": "2099-12-31"})
        self.assertEqual(status, 201)
        status, _, offer = self.call("POST", "/v1/offers", st, {
            "material": "kaolin", "grade": "A", "quantity": "50", "unit": "tấn",
            "price_vnd": 2000000, "min_order": "1", "province": "Quảng Ninh"})
        self.assertEqual(status, 201)

        def proposed():
            page = self.call("GET", "/v1/matches", admin, query="?listing=" + need["id"])[2]
            return page["items"]
        try:
            items = harness.wait_for(proposed, 15.0, interval=0.2, message="a proposal")
        except AssertionError:
            self.skipTest("the engine proposed no match for the need and offer; the match "
                          "routes were only checked without a token")
        m = items[0]
        self.assertEqual((m["state"], m["need"]["id"], m["offer"]["id"]),
                         ("proposed", need["id"], offer["id"]))
        ids = {"id": m["id"]}
        ONE, ACT = "/v1/matches/{id}", "/v1/matches/{id}/%s"

        status, h, got = self.call("GET", ONE, modt, ids=ids)
        self.assertEqual((status, h["ETag"]), (200, '"1"'))
        status, _, b = self.call("GET", ONE, vt, ids=ids)  # parties see it once approved
        self.assertProblem(status, _, b, 404)
        status, _, b = self.call("POST", ACT % "accept", vt, ids=ids)
        self.assertProblem(status, _, b, 404)
        status, _, b = self.call("POST", ACT % "reject", modt, {}, ids=ids)
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("POST", ACT % "approve", modt, "{}", ids=ids,
                                 headers={"Content-Type": "text/plain"})
        self.assertProblem(status, _, b, 415)
        status, _, got = self.call("POST", ACT % "approve", modt, ids=ids)
        self.assertEqual((status, got["state"]), (200, "approved"))
        self.assertEqual(got["reviewed_by"], mod["id"])
        status, _, b = self.call("POST", ACT % "approve", modt, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, page = self.call("GET", "/v1/matches", vt, query="?state=approved")
        self.assertEqual([x["id"] for x in page["items"]], [m["id"]])
        status, _, b = self.call("POST", ACT % "fulfil", vt, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, got = self.call("POST", ACT % "accept", vt, {"reason": "Đồng ý"}, ids=ids)
        self.assertEqual((status, got["state"], got["accepted"]),
                         (200, "accepted", {"need": True, "offer": False}))
        self.assertNotIn("counterparty", got)
        status, _, b = self.call("POST", ACT % "accept", vt, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, got = self.call("POST", ACT % "accept", st, ids=ids)
        self.assertEqual(got["state"], "confirmed")
        self.assertEqual(got["counterparty"]["id"], village["id"])
        status, _, got = self.call("GET", ONE, vt, ids=ids)
        self.assertEqual(got["counterparty"]["contact"], {"email": "ban-hang@example.vn"})
        status, _, b = self.call("POST", ACT % "decline", st, {"bogus": 1}, ids=ids)
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("POST", ACT % "fulfil", st, ids=ids)
        self.assertProblem(status, _, b, 403)
        status, _, got = self.call("POST", ACT % "fulfil", vt,
                                   {"delivered": "9.5", "unit": "tấn"}, ids=ids)
        self.assertEqual((status, got["state"], got["delivered_base"]), (200, "fulfilled", 9500))
        status, _, b = self.call("POST", ACT % "cancel", modt, {"reason": "nhầm"}, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("POST", ACT % "decline", vt, ids=ids)
        self.assertProblem(status, _, b, 409)
        status, _, b = self.call("GET", "/v1/matches", vt, query="?state=nope&colour=red")
        self.assertProblem(status, _, b, 400)
        status, _, b = self.call("GET", ONE, admin)
        self.assertProblem(status, _, b, 404)

    # The inherited tests run once, on LiveTest's daemon.
    test_without_token_every_private_operation_is_401_and_public_ones_answer = None
    test_bad_token_is_401 = None
    test_reference_etag_and_304 = None
    test_walk = None


class StalledRedisTest(SpecAssertions, harness.TestCase):

    def test_stalled_redis_is_a_documented_503_with_retry_after(self):
        self.spec = load_spec()
        redis = self.start_redis()
        d = self.start_daemon(redis, "--redis-timeout-ms", "300")
        token = create_admin(redis.url)
        status, h, b = d.request("GET", "/v1/me", token=token)
        self.assertDocumented(("GET", "/v1/me"), status, h, b)
        self.assertEqual(status, 200)
        redis.pause()
        try:
            for method, path, query in (("GET", "/readyz", ""), ("GET", "/v1/me", ""),
                                        ("GET", "/v1/listings", "?q=bat+trang")):
                with self.subTest(op="%s %s" % (method, path)):
                    status, h, b = d.request(method, path + query, token=token)
                    self.assertProblem(status, h, b, 503)
                    self.assertDocumented((method, path), status, h, b)
                    self.assertRegex(h["Retry-After"], r"^\d+$")
        finally:
            redis.resume()
        d.wait_ready()


if __name__ == "__main__":
    harness.main()
