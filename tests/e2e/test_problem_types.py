"""Every problem type the server can send is documented.

Every type in server/http/problem.c's table has its section in
docs/errors.md, with the same title, and is named in docs/openapi.yaml;
errors.md documents no type the server does not have. A type added to the
code without its documentation (as length-required once was) fails here.
"""
import os
import re
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def problem_table():
    text = read("server/http/problem.c")
    table = text[text.index("problem_types[] = {"):]
    table = table[:table.index("};")]
    return dict(re.findall(r'\{"([a-z-]+)", "([^"]+)"\}', table))


class ProblemTypesTest(unittest.TestCase):
    def test_every_problem_type_is_documented(self):
        served = problem_table()
        self.assertGreater(len(served), 10, "could not read problem.c's table")
        errors, openapi = read("docs/errors.md"), read("docs/openapi.yaml")
        sections = dict(re.findall(r"^## /problems/([a-z-]+)\n\n- \*\*Title:\*\* (.+)$",
                                   errors, re.M))
        self.assertEqual(sorted(set(served) - set(sections)), [],
                         "problem types without a section in docs/errors.md")
        self.assertEqual(sorted(set(sections) - set(served)), [],
                         "docs/errors.md sections for types the server does not have")
        for slug, title in served.items():
            with self.subTest(slug=slug):
                self.assertEqual(sections[slug], title)
                self.assertTrue("/problems/" + slug in openapi,
                                "/problems/%s is not named in docs/openapi.yaml" % slug)


if __name__ == "__main__":
    unittest.main(verbosity=2)
