"""
e2e: /metrics speaks Prometheus text format 0.0.4 and counts what happens.

Proves: the content type; the exposition parses strictly (HELP/TYPE before
samples, well-formed sample lines, cumulative histograms ending in +Inf equal
to _count); request counters and the latency histogram move by exactly the
number of requests made; the connection and Redis series exist with the right
types; unknown paths do not create new label values.
"""

import harness

REQUESTS = 'craftmatch_http_requests_total'
DURATION = 'craftmatch_http_request_duration_seconds'


class MetricsTest(harness.SharedDaemonTestCase):

    def get_text(self):
        status, headers, body = self.daemon.request("GET", "/metrics")
        self.assertEqual(status, 200, body)
        return headers, body

    def test_content_type(self):
        headers, _ = self.get_text()
        ct = headers.get("Content-Type", "")
        self.assertEqual(harness.media_type(headers), "text/plain", ct)
        params = dict(p.strip().split("=", 1) for p in ct.split(";")[1:] if "=" in p)
        self.assertEqual(params.get("version"), "0.0.4", ct)

    def test_exposition_is_well_formed(self):
        # Make sure a histogram and several statuses are present first.
        self.daemon.request("GET", "/healthz")
        self.daemon.request("GET", "/readyz")
        self.daemon.request("GET", "/v1/nope")
        _, text = self.get_text()
        m = harness.parse_metrics(text)  # raises on any format violation
        for name, fam in m.families.items():
            with self.subTest(family=name):
                self.assertIsNotNone(fam["type"], "%s has no TYPE line" % name)
                self.assertTrue(fam["help"], "%s has no HELP text" % name)
                self.assertTrue(name.startswith("craftmatch_"), name)
                if fam["type"] == "counter":
                    self.assertTrue(name.endswith("_total"), "counter %s lacks _total" % name)
        self.assertEqual(m.type_of(REQUESTS), "counter")
        self.assertEqual(m.type_of(DURATION), "histogram")
        buckets = [s for s in m.samples(DURATION + "_bucket") if s[1].get("route") == "/healthz"]
        self.assertGreater(len(buckets), 1)
        self.assertEqual(buckets[-1][1]["le"], "+Inf")

    def test_parser_rejects_broken_expositions(self):
        # The checks above are only worth something if the parser can say no.
        good = ("# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n"
                "# HELP h H.\n# TYPE h histogram\n"
                'h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.5\nh_count 2\n')
        harness.parse_metrics(good)
        broken = [
            good.replace("x_total 1\n", "x_total 1\n# TYPE x_total counter\n"),  # TYPE after
            good.replace('h_bucket{le="+Inf"} 2\n', ""),                           # no +Inf
            good.replace("h_count 2", "h_count 3"),                                # count != +Inf
            good.replace('h_bucket{le="+Inf"} 2', 'h_bucket{le="+Inf"} 0'),        # not cumulative
            good.replace("x_total 1", "x_total{a=b} 1"),                           # bad labels
            good.replace("x_total 1", "x_total one"),                              # bad value
            good.replace("x_total 1", "x_total -1"),                               # negative counter
            good + "x_total 2\n",                                                  # split + repeat
            good.rstrip("\n"),                                                     # no final newline
        ]
        for text in broken:
            with self.subTest(text=text):
                with self.assertRaises(harness.MetricsFormatError):
                    harness.parse_metrics(text)

    def test_requests_counted_exactly(self):
        labels = dict(method="GET", route="/healthz", status="200")
        before = self.daemon.metrics()
        c0 = before.value(REQUESTS, default=0.0, **labels)
        h0 = before.value(DURATION + "_count", default=0.0, method="GET", route="/healthz")
        n = 7
        with self.daemon.client() as c:  # keep-alive and fresh connections both count
            for _ in range(4):
                self.assertEqual(c.request("GET", "/healthz")[0], 200)
        for _ in range(n - 4):
            self.assertEqual(self.daemon.request("GET", "/healthz")[0], 200)
        after = self.daemon.metrics()
        self.assertEqual(after.value(REQUESTS, **labels) - c0, n)
        self.assertEqual(after.value(DURATION + "_count", method="GET", route="/healthz") - h0,
                         n)

    def test_error_statuses_counted_by_route(self):
        before = self.daemon.metrics()
        # POST /healthz is a 405 on a known path: counted, but not as GET 200.
        ok0 = before.value(REQUESTS, default=0.0, method="GET", route="/healthz", status="200")
        for _ in range(3):
            self.assertEqual(self.daemon.request("POST", "/healthz", body={})[0], 405)
        after = self.daemon.metrics()
        self.assertEqual(after.value(REQUESTS, default=0.0, method="GET", route="/healthz",
                                     status="200"), ok0)
        total_405 = sum(v for n, l, v in after.samples(REQUESTS) if l.get("status") == "405")
        total_405_before = sum(v for n, l, v in before.samples(REQUESTS)
                               if l.get("status") == "405")
        self.assertEqual(total_405 - total_405_before, 3)

    def test_unknown_paths_do_not_create_series(self):
        for i in range(5):
            self.assertEqual(self.daemon.request("GET", "/v1/random-path-%d" % i)[0], 404)
        _, text = self.get_text()
        self.assertNotIn("random-path", text)
        m = harness.parse_metrics(text)
        total_404 = sum(v for n, l, v in m.samples(REQUESTS) if l.get("status") == "404")
        self.assertGreaterEqual(total_404, 5)

    def test_connection_and_redis_series(self):
        m = self.daemon.metrics()
        self.assertEqual(m.type_of("craftmatch_http_connections_open"), "gauge")
        # this very request's connection is open
        self.assertGreaterEqual(m.value("craftmatch_http_connections_open"), 1)
        for name in ("craftmatch_redis_reconnects_total", "craftmatch_redis_timeouts_total",
                     "craftmatch_redis_function_loads_total"):
            with self.subTest(name=name):
                self.assertEqual(m.type_of(name), "counter")
                v = m.value(name)
                self.assertGreaterEqual(v, 0)
                self.assertEqual(v, int(v))
        self.assertGreaterEqual(m.value("craftmatch_redis_function_loads_total"), 1)

    def test_connections_open_tracks_connections(self):
        base = self.daemon.metric("craftmatch_http_connections_open")
        conns = [self.daemon.raw() for _ in range(3)]
        try:
            # the scrape's own connection plus our three (the earlier scrape's may linger)
            harness.wait_for(
                lambda: self.daemon.metric("craftmatch_http_connections_open") >= base + 3,
                10, message="connections_open to rise by 3")
        finally:
            for c in conns:
                c.close()
        harness.wait_for(
            lambda: self.daemon.metric("craftmatch_http_connections_open") <= base,
            10, message="connections_open to fall back to %s" % base)

    def test_metric_names_are_valid(self):
        _, text = self.get_text()
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? \S+$")


if __name__ == "__main__":
    harness.main()
