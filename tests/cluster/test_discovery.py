"""
cluster: finding the primary through the sentinels — a node asking real
redis-sentinel processes for a master name they do not monitor stays not
ready and says why, answering 503 with Retry-After (never a hang, never a
500); a node asking for "craftmatch" becomes ready on the primary; bad
--sentinels and --durability values stop the daemon at start with a message
naming the setting.
"""
import cluster
import fixtures
import harness


class DiscoveryTest(harness.TestCase):

    def test_unknown_master_then_the_right_one(self):
        c = cluster.Cluster(min_replicas=0)
        self.addCleanup(c.close)
        c.start()
        lost = self.start_daemon(None, "--redis-url", "redis://%s:1" % harness.HOST,
                                 "--sentinels", c.sentinel_list, "--sentinel-master", "nosuch",
                                 wait="live")
        status, headers, body = lost.request("GET", "/readyz")
        self.assertProblem(status, headers, body, 503)
        self.assertEqual(body["type"], "/problems/unavailable")
        self.assertIn("finding the Redis primary 'nosuch' through the sentinels", body["detail"])
        self.assertTrue(headers.get("Retry-After"), headers)
        status, headers, body = lost.request("POST", "/v1/needs", fixtures.need_body(),
                                             token="cm_" + "x" * 43)
        self.assertProblem(status, headers, body, 503)
        self.assertTrue(headers.get("Retry-After"), headers)

        node = self.start_daemon(None, *c.daemon_args("replicated"))  # waits for /readyz 200
        status, _, body = node.request("GET", "/readyz")
        self.assertEqual(status, 200, body)
        m = node.metrics()
        self.assertEqual(m.value("craftmatch_sentinel_primary_changes_total"), 1)
        self.assertEqual(lost.metrics().value("craftmatch_sentinel_primary_changes_total"), 0)

    def test_bad_settings_stop_the_start(self):
        for args, word in ((["--sentinels", "nohost"], "--sentinels"),
                           (["--sentinels", "h:0"], "--sentinels"),
                           (["--sentinels", "h:1", "--sentinel-master", ""], "--sentinels"),
                           (["--durability", "sometimes"], "--durability"),
                           (["--durability-replicas", "0"], "--durability-replicas")):
            with self.subTest(args=args):
                p = harness.run_craftmatchd(*args)
                self.assertNotEqual(p.returncode, 0, p.stderr)
                self.assertIn(word, p.stderr)


if __name__ == "__main__":
    harness.main()
