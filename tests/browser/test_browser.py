"""
test_browser — the web app in a real browser: Debian's Chromium, driven by
playwright-core from suite.mjs, against a real craftmatchd (serving the built
app from server/web/dist with --web-root) and a real Redis.

This file only sets the stage with the e2e harness (tests/e2e/harness.py): a
private redis-server, craftmatchd on a free port, a bootstrap admin through
craftmatchd --create-admin; then it runs `node suite.mjs` and fails with its
output when it fails. The daemon's teardown checks its exit and sanitizer
report as for every e2e test. Screenshots go to $CM_BROWSER_ARTIFACTS
(ctest: <build>/browser-artifacts).

    CRAFTMATCHD=build-asan/craftmatchd python3 tests/browser/test_browser.py
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import fixtures  # noqa: E402
import harness  # noqa: E402

WEB_ROOT = os.environ.get("CM_WEB_ROOT") or os.path.join(REPO, "server", "web", "dist")
ARTIFACTS = os.environ.get("CM_BROWSER_ARTIFACTS") or os.path.join(REPO, "build", "browser-artifacts")
SUITE_TIMEOUT = 540


class BrowserTest(harness.TestCase):
    def test_browser_suite(self):
        node = shutil.which("node")
        self.assertIsNotNone(node, "node is not installed: run scripts/setup")
        self.assertTrue(os.path.isfile(os.path.join(WEB_ROOT, "index.html")),
                        "the web app is not built in %s: run scripts/build" % WEB_ROOT)
        self.assertTrue(os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")),
                        "tests/browser has no node_modules: run scripts/setup")
        redis = self.start_redis()
        daemon = self.start_daemon(redis, "--web-root", WEB_ROOT)
        admin = fixtures.bootstrap_admin(redis)
        env = dict(os.environ)
        env.update({
            "CM_URL": "http://%s:%d" % (harness.HOST, daemon.port),
            "CM_ADMIN_TOKEN": admin.token,
            "CM_BROWSER_ARTIFACTS": ARTIFACTS,
        })
        p = subprocess.run([node, os.path.join(HERE, "suite.mjs")], cwd=HERE, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=SUITE_TIMEOUT, text=True,
                           errors="replace")
        sys.stdout.write(p.stdout)
        self.assertEqual(p.returncode, 0, "the browser suite failed (output above); daemon log:\n%s"
                         % daemon.log_tail())


if __name__ == "__main__":
    harness.main()
