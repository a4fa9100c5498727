"""
e2e: scripts/demo-data, run as scripts/run runs it (--url, --admin-token-file,
--tokens-out), against a craftmatchd on its own Redis with a bootstrap admin.

Proves, with the demo world itself (scripts/demo-data.d/world.py) as the
oracle: every moderator, village and supplier of the world is an account of
its role whose token in the tokens file (mode 0600) authenticates as it;
each account owns exactly the listings the world gives it (kind, material,
note), none skipped; the Hà Nội centre's forum is open. Run again on the
same tokens file, it creates nothing and posts nothing, and every account
still owns the same listings.
"""
import json
import os
import stat
import subprocess
import sys

import fixtures
import harness

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_DATA = os.path.join(ROOT, "scripts", "demo-data")
sys.path.insert(0, os.path.join(ROOT, "scripts", "demo-data.d"))
import world  # noqa: E402  (the demo world: the oracle)

RUN_TIMEOUT = 240.0
ROLES = (("moderator", world.MODERATORS), ("village", world.VILLAGES),
         ("supplier", world.SUPPLIERS))


class DemoDataTest(harness.TestCase):

    def setUp(self):
        self.redis = self.start_redis()
        self.daemon = self.start_daemon(self.redis)
        self.admin = fixtures.bootstrap_admin(self.redis)
        self.dir = harness.mkdtemp("cm-e2e-demo-")
        self.addCleanup(harness.rmtree, self.dir)
        self.admin_file = os.path.join(self.dir, "admin-token")
        fd = os.open(self.admin_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.admin.token + "\n")
        self.tokens = os.path.join(self.dir, "demo-tokens.json")

    def run_demo(self):
        p = subprocess.run(
            [DEMO_DATA, "--url", "http://%s:%d" % (harness.HOST, self.daemon.port),
             "--admin-token-file", self.admin_file, "--tokens-out", self.tokens,
             "--wait", "60"],
            env=harness.child_env({"PYTHONDONTWRITEBYTECODE": "1"}), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, errors="replace", timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, "stdout:\n%s\nstderr:\n%s" % (p.stdout, p.stderr))
        self.assertNotIn("skipped", p.stderr)
        return p.stdout

    def owned(self, token):
        """{(kind, material code, note)} of every listing the token's account owns."""
        items = fixtures.Api(self.daemon).search_all(token, owner="me", status="any")
        return sorted((i["kind"], i["material"]["code"], i.get("note", "")) for i in items)

    def check_world(self):
        """Every account of the world with its role, token and listings; returns
        {slug: owned listings}."""
        with open(self.tokens, encoding="utf-8") as f:
            accounts = json.load(f)["accounts"]
        self.assertEqual(stat.S_IMODE(os.stat(self.tokens).st_mode), 0o600)
        want_slugs = {s["slug"] for _, specs in ROLES for s in specs}
        self.assertEqual(set(accounts), want_slugs)
        held = {}
        for role, specs in ROLES:
            for spec in specs:
                rec = accounts[spec["slug"]]
                status, _, me = self.daemon.request("GET", "/v1/me", token=rec["token"])
                self.assertEqual(status, 200, me)
                self.assertEqual((me["id"], me["role"], me["name"]),
                                 (rec["id"], role, spec["name"]))
                want = sorted((i["kind"], i["material"], i["note"])
                              for i in spec.get("listings", []))
                held[spec["slug"]] = self.owned(rec["token"])
                self.assertEqual(held[spec["slug"]], want, spec["slug"])
        status, _, forum = self.daemon.request("GET", "/v1/forums/" + world.FORUM,
                                               token=self.admin.token)
        self.assertEqual(status, 200, forum)
        self.assertEqual(forum["state"], "open")
        return held

    def test_loads_the_world_once(self):
        n_accounts = sum(len(specs) for _, specs in ROLES)
        needs = sum(1 for _, specs in ROLES for s in specs for i in s.get("listings", [])
                    if i["kind"] == "need")
        offers = sum(1 for _, specs in ROLES for s in specs for i in s.get("listings", [])
                     if i["kind"] == "offer")
        self.assertGreater(needs, 0)
        self.assertGreater(offers, 0)

        out = self.run_demo()
        self.assertIn("%d accounts" % n_accounts, out)
        self.assertIn("%d created, 0 already there" % n_accounts, out)
        self.assertIn("%d needs and %d offers posted, 0 already there" % (needs, offers), out)
        first = self.check_world()

        out = self.run_demo()
        self.assertIn("0 created, %d already there" % n_accounts, out)
        self.assertIn("0 needs and 0 offers posted, %d already there" % (needs + offers), out)
        self.assertEqual(self.check_world(), first)


if __name__ == "__main__":
    harness.main()
