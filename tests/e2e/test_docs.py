"""Docs that drift from the code fail here.

The README's configuration table says what craftmatchd --help says: every
row of the table between the CONFIG TABLE markers must name a setting that
--help lists, with the same environment variable and default, and every
setting --help lists (with an environment variable) must have a row.

The commands the docs show run as shown: no shell block of the Markdown docs
calls a bare `craftmatchd` (it is not on PATH: `build/craftmatchd`, or where
`cmake --install` put it), and `cmake --install BUILD --prefix DIR` puts a
craftmatchd that runs in DIR/bin.

Idempotency-Key: every POST but POST /v1/stream-tickets honours it (match
actions included; test_matches.py and test_openapi.py prove the code and
docs/openapi.yaml), so no sentence of the Markdown docs may say that some
other request takes none.
"""
import os
import re
import subprocess
import unittest

import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def help_settings():
    out = subprocess.run([harness.craftmatchd_binary(), "--help"], check=True,
                         capture_output=True, text=True).stdout
    rows = {}
    for m in re.finditer(r"^  --(\S+) \| (CRAFTMATCH_\w+) \(default: (.*)\)$", out, re.M):
        rows[m.group(1)] = (m.group(2), m.group(3))
    return rows


def readme_settings():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index("<!-- CONFIG TABLE")
    end = text.index("<!-- END CONFIG TABLE")
    rows = {}
    for line in text[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not cells[0].startswith("`--"):
            continue
        flag = cells[0].strip("`")[2:]
        rows[flag] = (cells[1].strip("`"), cells[2].strip("`"))
    return rows


class ReadmeConfigTest(unittest.TestCase):
    def test_readme_table_matches_help(self):
        helped, documented = help_settings(), readme_settings()
        self.assertGreater(len(helped), 10, "could not read --help")
        self.assertEqual(sorted(set(helped) - set(documented)), [],
                         "settings missing from the README table")
        self.assertEqual(sorted(set(documented) - set(helped)), [],
                         "README rows for settings craftmatchd does not have")
        for flag, (env, default) in helped.items():
            with self.subTest(flag=flag):
                self.assertEqual(documented[flag], (env, default))


def shell_lines(path):
    """(line number, text) of every line inside ```sh / ```bash / ```console blocks."""
    out, inside = [], False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            fence = re.match(r"^\s*```(\w*)", line)
            if fence:
                inside = not inside and fence.group(1) in ("sh", "bash", "console", "shell")
                continue
            if inside:
                out.append((n, line.rstrip("\n")))
    return out


class CommandsTest(unittest.TestCase):
    def test_no_bare_craftmatchd_in_shell_blocks(self):
        bare = []
        for path in markdown_docs():
            for n, line in shell_lines(path):
                cmd = re.sub(r"^\s*(\$\s+)?", "", line)
                # a command word: at the start, or after a pipe, ;, && or $(
                for m in re.finditer(r"(?:^|[|;&(]\s*)craftmatchd\b", cmd):
                    bare.append("%s:%d: %s" % (os.path.relpath(path, ROOT), n, line))
        self.assertEqual(bare, [], "craftmatchd is not on PATH: write build/craftmatchd")
        self.assertTrue(any(l.startswith("build/craftmatchd") for _, l in
                            shell_lines(os.path.join(ROOT, "docs", "api.md"))))

    def test_cmake_install_puts_craftmatchd_in_bin(self):
        build = os.path.dirname(os.path.abspath(harness.craftmatchd_binary()))
        self.assertTrue(os.path.exists(os.path.join(build, "CMakeCache.txt")), build)
        prefix = harness.mkdtemp("cm-e2e-prefix-")
        self.addCleanup(harness.rmtree, prefix)
        p = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        installed = os.path.join(prefix, "bin", "craftmatchd")
        self.assertTrue(os.access(installed, os.X_OK), p.stdout)
        v = subprocess.run([installed, "--version"], capture_output=True, text=True,
                           timeout=30, env=harness.child_env())
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertIn("craftmatchd", v.stdout)


# "take no Idempotency-Key", "do not take an `Idempotency-Key`", "ignore ... Idempotency-Key"
NO_KEY_CLAIM = re.compile(r"(takes?\s+no|(does|do)\s+not\s+take(\s+an?)?|ignores?)\s+`?"
                          r"Idempotency-Key", re.I)


def markdown_docs():
    paths = [os.path.join(ROOT, "README.md")]
    docs = os.path.join(ROOT, "docs")
    paths += [os.path.join(docs, n) for n in sorted(os.listdir(docs)) if n.endswith(".md")]
    return paths


class IdempotencyDocsTest(unittest.TestCase):
    def test_no_doc_says_a_post_takes_no_key(self):
        claims = []
        for path in markdown_docs():
            with open(path, encoding="utf-8") as f:
                text = f.read()
            # sentences, with line breaks folded
            for sentence in re.split(r"(?<=[.;:])\s+", re.sub(r"\s+", " ", text)):
                if NO_KEY_CLAIM.search(sentence) and "stream-tickets" not in sentence:
                    claims.append("%s: %s" % (os.path.relpath(path, ROOT), sentence.strip()))
        self.assertEqual(claims, [], "every POST but POST /v1/stream-tickets takes an "
                         "Idempotency-Key (match actions included)")

    def test_regex_finds_the_claim(self):
        # the check above can fail: the sentence docs/errors.md once carried
        self.assertTrue(NO_KEY_CLAIM.search(
            "Match actions take no `Idempotency-Key`, so repeating one gets this answer"))
        self.assertFalse(NO_KEY_CLAIM.search("Match actions take an `Idempotency-Key`"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
