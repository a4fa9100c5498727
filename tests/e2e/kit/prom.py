"""
kit.prom — Prometheus text exposition format 0.0.4, parsed by
python3-prometheus-client (prometheus_client.parser) and then held to what
that parser leaves unchecked (it says itself that it is laxer than the
format): every sample and label name well formed, HELP and TYPE at most once
per family and before its samples, a family's samples contiguous, no series
twice, counters >= 0, and histograms with, per label set, cumulative buckets
ending with le="+Inf", _count equal to that bucket, and _sum.
"""

import math
import re

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # said when /metrics is read, so that other tests still run
    def text_string_to_metric_families(text):
        raise AssertionError("no prometheus_client in this python3: install "
                             "python3-prometheus-client (scripts/setup) and run the tests "
                             "with Debian's /usr/bin/python3 (ctest does)")

_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class MetricsFormatError(AssertionError):
    pass


class Metrics:
    """Parsed exposition: families[name] = {type, help, samples: [(name, labels, value)]},
    by the family names the exposition declares (a counter keeps its _total)."""

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

    def histogram(self, name, **labels):
        """({le: cumulative count}, sum, count) of one histogram series ({}, 0, 0 when absent)."""
        buckets = {}
        for _, l, v in self.samples(name + "_bucket"):
            rest = dict(l)
            le = rest.pop("le", None)
            if rest == labels and le is not None:
                buckets[float(le)] = v
        return (buckets, self.value(name + "_sum", default=0.0, **labels),
                self.value(name + "_count", default=0.0, **labels))


def _declarations(text):
    """{family: {"type", "help"}} from the HELP and TYPE lines, each at most once."""
    declared = {}
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.startswith("#"):
            continue
        parts = line.split(None, 3)
        if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
            continue
        name = parts[2]
        if not _NAME_RE.match(name):
            raise MetricsFormatError("line %d: bad metric name %r" % (lineno, name))
        fam = declared.setdefault(name, {"type": None, "help": None})
        key = parts[1].lower()
        if fam[key] is not None:
            raise MetricsFormatError("line %d: second %s for %s" % (lineno, parts[1], name))
        if parts[1] == "TYPE":
            if len(parts) != 4 or parts[3] not in _TYPES:
                raise MetricsFormatError("line %d: bad TYPE line %r" % (lineno, line))
            fam["type"] = parts[3]
        else:
            fam["help"] = parts[3] if len(parts) == 4 else ""
    return declared


def parse_metrics(text):
    """Parses and checks an exposition (see above); raises MetricsFormatError."""
    if text and not text.endswith("\n"):
        raise MetricsFormatError("exposition does not end with a newline")
    declared = _declarations(text)
    try:
        parsed = list(text_string_to_metric_families(text))
    except ValueError as e:  # a value or a label set it cannot read
        raise MetricsFormatError("unreadable exposition: %s" % e)
    families = {}
    seen_series = set()
    for fam in parsed:
        # The library names a counter family without its _total, and gives
        # the samples of a counter declared without _total one: undo both.
        name, samples = fam.name, fam.samples
        if fam.type == "counter":
            if declared.get(name + "_total", {}).get("type") == "counter":
                name += "_total"
            else:
                samples = [s._replace(name=s.name[:-len("_total")]) for s in samples]
        if name in families:
            # The parser starts a family again when its lines are split up
            # (another family's samples between, or samples before its TYPE).
            raise MetricsFormatError("samples of %s are not contiguous or come before its "
                                     "HELP/TYPE" % name)
        decl = declared.get(name, {"type": None, "help": None})
        out = families[name] = {"type": decl["type"], "help": decl["help"], "samples": []}
        for s in samples:
            if not _NAME_RE.match(s.name):
                raise MetricsFormatError("not a sample line: %r" % (s.name,))
            for label in s.labels:
                if not _LABEL_RE.match(label):
                    raise MetricsFormatError("%s: bad label name %r" % (s.name, label))
            series = (s.name, tuple(sorted(s.labels.items())))
            if series in seen_series:
                raise MetricsFormatError("series %s%r repeated" % (s.name, s.labels))
            seen_series.add(series)
            if decl["type"] == "counter" and not (s.value >= 0):
                raise MetricsFormatError("counter %s is %r" % (s.name, s.value))
            out["samples"].append((s.name, dict(s.labels), s.value))
    for name, fam in families.items():
        if fam["type"] == "histogram":
            _check_histogram(name, fam)
    return Metrics(families, text)


def _le(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if not re.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$", text):
        raise ValueError(text)
    return float(text)


def _check_histogram(fname, fam):
    groups = {}
    for name, labels, value in fam["samples"]:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == fname + "_bucket":
            if "le" not in labels:
                raise MetricsFormatError("%s_bucket%r without le" % (fname, labels))
            try:
                le = _le(labels["le"])
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

