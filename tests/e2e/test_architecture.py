"""docs/architecture.md stays true to the tree.

Every file or folder path it names (common/..., server/..., scripts/...,
tests/..., docs/...) exists, and every function, Redis function or helper it
names in backquotes (`listings_post`, `cm_match_propose`) is still defined or
called somewhere under server/, common/ or scripts/. The invariants table
numbers its rows 1, 2, ... without a gap. No e2e test skips: a skip that
hides a subject that did nothing would pass ctest, so the tests' sources may
not call one.
"""
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "architecture.md")
E2E = os.path.join(ROOT, "tests", "e2e")

PATH_RE = re.compile(r"(?<![\w/.-])((?:common|server|scripts|tests|docs)/[A-Za-z0-9_./-]*"
                     r"[A-Za-z0-9_])")
IDENT_RE = re.compile(r"`([a-z][a-z0-9]*_[a-z0-9_]+)`")
SOURCE_DIRS = ("server", "common", "scripts")
SOURCE_EXT = (".c", ".h", ".lua", ".py", "")


def named_paths(text):
    return sorted(set(PATH_RE.findall(text)))


def named_identifiers(text):
    return sorted(set(IDENT_RE.findall(text)))


def source_text():
    parts = []
    for top in SOURCE_DIRS:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            if "node_modules" in d:
                continue
            for n in files:
                if os.path.splitext(n)[1] in SOURCE_EXT:
                    with open(os.path.join(d, n), encoding="utf-8", errors="replace") as f:
                        parts.append(f.read())
    return "\n".join(parts)


def missing_paths(text):
    return [p for p in named_paths(text) if not os.path.exists(os.path.join(ROOT, p))]


def missing_identifiers(text, source):
    return [i for i in named_identifiers(text)
            if not re.search(r"(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])" % re.escape(i), source)]


class ArchitectureDocTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        with open(DOC, encoding="utf-8") as f:
            cls.text = f.read()

    def test_every_path_it_names_exists(self):
        paths = named_paths(self.text)
        self.assertGreater(len(paths), 30, "could not read the paths of docs/architecture.md")
        self.assertEqual(missing_paths(self.text), [],
                         "docs/architecture.md names paths that are not in the tree")

    def test_every_function_it_names_exists(self):
        idents = named_identifiers(self.text)
        self.assertGreater(len(idents), 30)
        self.assertEqual(missing_identifiers(self.text, source_text()), [],
                         "docs/architecture.md names functions no source defines or calls")

    def test_the_invariants_table_numbers_every_row(self):
        rows = [int(n) for n in re.findall(r"^\| (\d+) \|", self.text, re.M)]
        self.assertGreaterEqual(len(rows), 12)
        self.assertEqual(rows, list(range(1, len(rows) + 1)))

    def test_the_checks_can_fail(self):
        text = "see `server/api/nowhere.c`: `listings_nowhere_at_all` and server/http/"
        self.assertEqual(missing_paths(text), ["server/api/nowhere.c"])
        self.assertEqual(missing_identifiers(text, "listings_nowhere_at_all_x"),
                         ["listings_nowhere_at_all"])
        self.assertEqual(missing_identifiers(text, "x(listings_nowhere_at_all);"), [])


SKIP_RE = re.compile(r"\bskipTest\(|\bunittest\.skip|\bSkipTest\b|\bskipIf\(|\bskipUnless\(")


class NoSkipTest(unittest.TestCase):

    def test_no_e2e_test_skips(self):
        found = []
        for n in sorted(os.listdir(E2E)):
            if not n.endswith(".py") or n == os.path.basename(__file__):
                continue
            with open(os.path.join(E2E, n), encoding="utf-8") as f:
                for i, line in enumerate(f, 1):
                    if SKIP_RE.search(line):
                        found.append("tests/e2e/%s:%d: %s" % (n, i, line.strip()))
        self.assertEqual(found, [], "fail instead of skipping: a skipped test passes ctest")


if __name__ == "__main__":
    unittest.main(verbosity=2)
