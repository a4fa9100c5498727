"""The README's configuration table says what craftmatchd --help says.

Every row of the table between the CONFIG TABLE markers must name a setting
that --help lists, with the same environment variable and default, and every
setting --help lists (with an environment variable) must have a row. Docs
that drift from the code fail here.
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


if __name__ == "__main__":
    unittest.main(verbosity=2)
