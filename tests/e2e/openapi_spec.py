"""
openapi_spec — docs/openapi.yaml as the e2e tests read it.

The description is loaded with PyYAML (python3-yaml) and its schemas are
checked with jsonschema's Draft 2020-12 validator (python3-jsonschema; OpenAPI
3.1 schemas are JSON Schema 2020-12). A "#/components/..." reference resolves
against the whole description: each schema is validated as a subschema of a
root that carries the description's components.

    spec = openapi_spec.load()
    spec.template("GET", "/v1/matches/mat_1?x=1")   -> "/v1/matches/{id}"
    spec.answer_errors("GET", "/v1/me", 200, headers, raw_bytes)  -> [] or sentences

harness.HttpClient calls answer_errors() for every answer it reads, so every
request of the e2e suite to a documented operation checks the description.
"""
import datetime
import functools
import json
import os
import re

import jsonschema
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SPEC_PATH = os.path.join(ROOT, "docs", "openapi.yaml")

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# RFC 3339 date-time (jsonschema checks it only with an optional extra package).
_DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

FORMAT_CHECKER = jsonschema.FormatChecker()


@FORMAT_CHECKER.checks("date-time")
def _is_date_time(value):
    return not isinstance(value, str) or bool(_DATE_TIME_RE.match(value))


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value):
    if isinstance(value, str):
        datetime.date.fromisoformat(value)
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
            raise ValueError("not YYYY-MM-DD")
    return True


def media_type(headers):
    """The Content-Type without parameters, lowercased ('' when absent)."""
    return headers.get("Content-Type", "").split(";")[0].strip().lower()


def is_json(mt):
    return mt == "application/json" or mt.endswith("+json")


def non_json_values(node, where="#"):
    """Where the loaded YAML holds something JSON cannot (YAML 1.1 reads an unquoted
    2099-12-31 as a date, and keys may be numbers): a list of JSON pointers."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            if not isinstance(k, str):
                out.append("%s/%r (key is %s)" % (where, k, type(k).__name__))
            out += non_json_values(v, "%s/%s" % (where, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += non_json_values(v, "%s/%d" % (where, i))
    elif not (node is None or isinstance(node, (str, int, float, bool))):
        out.append("%s (%s)" % (where, type(node).__name__))
    return out


class Spec:
    """The loaded description with its operations and route templates."""

    def __init__(self, doc):
        self.doc = doc
        self.ops = {}
        for path, item in (doc.get("paths") or {}).items():
            for method, op in (item or {}).items():
                if method in HTTP_METHODS:
                    self.ops[(method.upper(), path)] = op
        # Literal segments win over parameters (/v1/x/stats before /v1/x/{id}).
        routes = []
        for method, path in self.ops:
            rx = "".join("[^/]+" if re.fullmatch(r"\{[^}/]+\}", part) else re.escape(part)
                         for part in re.split(r"(\{[^}/]+\})", path))
            routes.append((path.count("{"), method, re.compile("^" + rx + "$"), path))
        self._routes = sorted(routes, key=lambda r: (r[0], r[3]))
        self._validators = {}

    def resolve(self, node):
        """Follows local $refs ("#/components/...") until node is not a reference."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
                raise AssertionError("bad or circular $ref %r" % (ref,))
            seen.add(ref)
            target = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise AssertionError("$ref %r points nowhere" % ref)
                target = target[part]
            node = target
        return node

    def template(self, method, path):
        """The documented path template a concrete path (query string allowed) falls
        under for method, or None when the description has no such operation."""
        path = path.split("?", 1)[0].split("#", 1)[0]
        for _, m, rx, template in self._routes:
            if m == method and rx.match(path):
                return template
        return None

    def validator(self, schema):
        """A Draft 2020-12 validator for a schema of this description."""
        v = self._validators.get(id(schema))
        if v is None:
            root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                    "components": self.doc.get("components") or {}, "allOf": [schema]}
            v = jsonschema.Draft202012Validator(root, format_checker=FORMAT_CHECKER)
            self._validators[id(schema)] = v
        return v

    def schema_errors(self, schema, value, where="body"):
        """What is wrong with value against schema: a list of sentences (empty: valid)."""
        out = []
        for e in sorted(self.validator(schema).iter_errors(value),
                        key=lambda e: [str(p) for p in e.absolute_path]):
            at = "".join("[%r]" % (p,) for p in e.absolute_path)
            why = e.message
            if e.context:  # anyOf/oneOf: the alternative that came closest
                why += " (closest: %s)" % jsonschema.exceptions.best_match(e.context).message
            out.append("%s%s: %s" % (where, at, why))
        return out

    def answer_errors(self, method, path, status, headers, data):
        """What makes an answer one the description does not document (empty: fine, or
        not a documented operation). data: the body, bytes or already decoded."""
        # HEAD answers as GET does, without the body (the description says so once).
        op_method = "GET" if method == "HEAD" else method
        template = self.template(op_method, path)
        if template is None:
            return []
        where = "%s %s (as %s) answered %s" % (method, path, template, status)
        responses = self.ops[(op_method, template)].get("responses") or {}
        code = str(status)
        if code not in responses:
            return ["%s, which docs/openapi.yaml does not document for it (documented: %s); "
                    "body: %r" % (where, ", ".join(sorted(responses)), _short(data))]
        resp = self.resolve(responses[code])
        errs = []
        for name, h in (resp.get("headers") or {}).items():
            if self.resolve(h).get("required") and name not in headers:
                errs.append("%s without the documented header %s; headers: %r"
                            % (where, name, headers))
        content = resp.get("content")
        if method == "HEAD":
            if data:
                errs.append("%s with a body: %r" % (where, _short(data)))
            return errs
        if not content:
            if data:
                errs.append("%s with a body, but none is documented: %r" % (where, _short(data)))
            return errs
        mt = media_type(headers)
        if mt not in content:
            errs.append("%s as %r, documented as %s" % (where, mt, ", ".join(content)))
            return errs
        schema = (content[mt] or {}).get("schema")
        if schema is None or not is_json(mt):
            return errs
        body = data
        if isinstance(data, (bytes, bytearray)):
            try:
                body = json.loads(data.decode("utf-8"))
            except ValueError as e:
                return errs + ["%s with a %s body that is not JSON (%s): %r"
                               % (where, mt, e, _short(data))]
        bad = self.schema_errors(schema, body)
        if bad:
            errs.append("%s with a body that does not fit its schema:\n  %s\nbody: %r"
                        % (where, "\n  ".join(bad), _short(body)))
        return errs


def _short(data, limit=2000):
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + "..."


def load_yaml(path=SPEC_PATH):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


@functools.lru_cache(maxsize=None)
def load(path=SPEC_PATH):
    """The description (loaded once per process)."""
    return Spec(load_yaml(path))
