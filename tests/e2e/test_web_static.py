"""
e2e: craftmatchd serves the built web app from --web-root.

The test writes its own web root (an entry page, fingerprinted assets with
their precompressed .gz, a plain asset, a nested file, a hidden file, a
symlink inside the root and symlinks pointing outside it) next to a folder
outside the root holding a secret, and proves every rule of the static
part: Content-Type by extension; ETag and If-None-Match → 304 (weak
comparison); immutable caching for fingerprinted files under /assets/ and
no-cache for the rest; FILE.gz with Content-Encoding: gzip and Vary when
the client accepts gzip (not with q=0); the security headers (CSP without
inline script, nosniff, Referrer-Policy, X-Frame-Options) on every page,
304 and 404 of the app; unknown paths fall back to index.html while a
missing /assets/ file, /v1/..., /healthz/..., /problems/... stay 404
problems; HEAD sends the length without the body; only GET, HEAD and
OPTIONS (204 with Allow, no CORS header) are served; files are read at
request time; and no request — "..", "%2e%2e", encoded slashes or
backslashes, NUL, symlinks — ever gets a byte of a file outside the root.
A root without index.html says the app is not built.
"""
import gzip
import os
import re
import shutil
import tempfile

import harness

INDEX = b"<!doctype html><html lang=vi><head><title>craftmatch</title>" \
        b"<script type=module src=/assets/index-Bx7_k-9Q.js></script></head>" \
        b"<body><main id=app></main></body></html>\n"
APP_JS = b"import './chunk.js';\nconsole.log('K\xe1\xba\xbft n\xe1\xbb\x91i cung c\xe1\xba\xa7u');\n" * 40
CSS = b"body { font-family: system-ui; }\n"
SVG = b"<svg xmlns='http://www.w3.org/2000/svg'/>\n"
GEO = b'{"type": "FeatureCollection", "features": []}\n'
SECRET = b"SECRET-OUTSIDE-THE-WEB-ROOT"

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")
IMMUTABLE = "public, max-age=31536000, immutable"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


class WebStaticTest(harness.SharedDaemonTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cm-e2e-web-")
        root = cls.root = os.path.join(cls.tmp, "root")
        outside = os.path.join(cls.tmp, "outside")
        write(os.path.join(outside, "secret.txt"), SECRET)
        write(os.path.join(outside, "index.html"), SECRET)
        write(os.path.join(root, "index.html"), INDEX)
        write(os.path.join(root, "robots.txt"), b"User-agent: *\n")
        write(os.path.join(root, "assets", "index-Bx7_k-9Q.js"), APP_JS)
        write(os.path.join(root, "assets", "index-Bx7_k-9Q.js.gz"), gzip.compress(APP_JS))
        write(os.path.join(root, "assets", "app-D41d8cd9.css"), CSS)
        write(os.path.join(root, "assets", "logo.svg"), SVG)
        write(os.path.join(root, "data", "map", "vn.geojson"), GEO)
        write(os.path.join(root, ".env"), SECRET)
        os.symlink(os.path.join(outside, "secret.txt"), os.path.join(root, "escape.txt"))
        os.symlink(outside, os.path.join(root, "escape"))
        os.symlink("index.html", os.path.join(root, "home.html"))
        cls.daemon_args = ("--web-root", root)
        try:
            super().setUpClass()
        except BaseException:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path, headers=None, method="GET"):
        with self.daemon.client() as c:
            return c.request_raw(method, path, headers=headers)

    def raw_get(self, target, method="GET"):
        data = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                % (method, target)).encode("latin-1")
        return harness.raw_request(self.daemon.port, data, head=method == "HEAD")

    def assertSecurityHeaders(self, headers):
        self.assertEqual(headers.get("Content-Security-Policy"), CSP)
        self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")
        self.assertEqual(headers.get("Referrer-Policy"), "no-referrer")
        self.assertEqual(headers.get("X-Frame-Options"), "DENY")

    def assertIndex(self, resp, msg=None):
        status, headers, body = resp
        self.assertEqual(status, 200, msg)
        self.assertEqual(body, INDEX, msg)
        self.assertEqual(harness.media_type(headers), "text/html", msg)

    def assertProblem404(self, resp):
        status, headers, body = resp
        self.assertProblem(status, headers, harness.decode_body(headers, body), 404)
        return harness.decode_body(headers, body)

    # -- files --

    def test_entry_page_and_its_headers(self):
        for path in ("/", "/index.html"):
            with self.subTest(path=path):
                resp = self.get(path)
                self.assertIndex(resp)
                headers = resp[1]
                self.assertEqual(headers.get("Content-Type"), "text/html; charset=utf-8")
                self.assertSecurityHeaders(headers)
                self.assertEqual(headers.get("Cache-Control"), "no-cache")
                self.assertRegex(headers.get("ETag", ""), r'^"[^"]+"$')
                self.assertEqual(headers.get("Content-Length"), str(len(INDEX)))
                self.assertFalse([k for k in headers if k.lower().startswith("access-control-")])

    def test_content_type_by_extension(self):
        cases = {
            "/assets/index-Bx7_k-9Q.js": ("text/javascript; charset=utf-8", APP_JS),
            "/assets/app-D41d8cd9.css": ("text/css; charset=utf-8", CSS),
            "/assets/logo.svg": ("image/svg+xml", SVG),
            "/data/map/vn.geojson": ("application/geo+json", GEO),
            "/robots.txt": ("text/plain; charset=utf-8", b"User-agent: *\n"),
        }
        for path, (ctype, data) in cases.items():
            with self.subTest(path=path):
                status, headers, body = self.get(path)
                self.assertEqual(status, 200)
                self.assertEqual(headers.get("Content-Type"), ctype)
                self.assertEqual(body, data)
                self.assertIsNone(headers.get("Content-Encoding"))
                self.assertSecurityHeaders(headers)

    def test_cache_policy(self):
        for path, policy in (("/assets/index-Bx7_k-9Q.js", IMMUTABLE),
                             ("/assets/app-D41d8cd9.css", IMMUTABLE),
                             ("/assets/logo.svg", "no-cache"),
                             ("/data/map/vn.geojson", "no-cache"),
                             ("/", "no-cache")):
            with self.subTest(path=path):
                status, headers, _ = self.get(path)
                self.assertEqual(status, 200)
                self.assertEqual(headers.get("Cache-Control"), policy)
        # the API itself is never cached
        self.assertEqual(self.get("/healthz")[1].get("Cache-Control"), "no-store")

    def test_etag_and_304(self):
        for path in ("/", "/assets/index-Bx7_k-9Q.js", "/assets/logo.svg"):
            with self.subTest(path=path):
                status, headers, body = self.get(path)
                etag = headers["ETag"]
                for inm in (etag, "W/" + etag, '"other", ' + etag, "*"):
                    st, h, b = self.get(path, {"If-None-Match": inm})
                    self.assertEqual((st, b), (304, b""), inm)
                    self.assertEqual(h.get("ETag"), etag)
                    self.assertSecurityHeaders(h)
                    self.assertEqual(h.get("Cache-Control"), headers.get("Cache-Control"))
                st, _, b = self.get(path, {"If-None-Match": '"something-else"'})
                self.assertEqual((st, b), (200, body))

    def test_precompressed_gzip(self):
        path = "/assets/index-Bx7_k-9Q.js"
        _, plain_h, plain = self.get(path)
        self.assertEqual(plain, APP_JS)
        self.assertIn("Accept-Encoding", plain_h.get("Vary", ""))
        for ae in ("gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*", "x-gzip"):
            with self.subTest(accept_encoding=ae):
                status, headers, body = self.get(path, {"Accept-Encoding": ae})
                self.assertEqual(status, 200)
                self.assertEqual(headers.get("Content-Encoding"), "gzip")
                self.assertEqual(headers.get("Content-Type"), "text/javascript; charset=utf-8")
                self.assertIn("Accept-Encoding", headers.get("Vary", ""))
                self.assertEqual(headers.get("Cache-Control"), IMMUTABLE)
                self.assertLess(len(body), len(APP_JS))
                self.assertEqual(gzip.decompress(body), APP_JS)
                # the two encodings are two representations: two tags
                self.assertNotEqual(headers["ETag"], plain_h["ETag"])
                st, _, _ = self.get(path, {"Accept-Encoding": ae,
                                           "If-None-Match": headers["ETag"]})
                self.assertEqual(st, 304)
        for ae in ("gzip;q=0", "identity", "br", "gzip;q=0.000"):
            with self.subTest(accept_encoding=ae):
                status, headers, body = self.get(path, {"Accept-Encoding": ae})
                self.assertEqual((status, body), (200, APP_JS))
                self.assertIsNone(headers.get("Content-Encoding"))
        # no .gz beside it: the file as it is
        status, headers, body = self.get("/assets/app-D41d8cd9.css", {"Accept-Encoding": "gzip"})
        self.assertEqual((status, body), (200, CSS))
        self.assertIsNone(headers.get("Content-Encoding"))

    def test_head(self):
        for path in ("/", "/assets/index-Bx7_k-9Q.js", "/some/app/route"):
            with self.subTest(path=path):
                resp = self.raw_get(path, "HEAD")
                self.assertEqual(resp.status, 200)
                expect = APP_JS if path.startswith("/assets/") else INDEX
                self.assertEqual(resp.headers.get("Content-Length"), str(len(expect)))
                self.assertIn("ETag", resp.headers)
                self.assertSecurityHeaders(resp.headers)
                self.assertEqual(resp.body, b"")
        # nothing follows the head on the connection
        with self.daemon.raw() as c:
            c.send(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /robots.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            first = c.read_response(head=True)
            second = c.read_response()
            self.assertEqual((first.status, first.body), (200, b""))
            self.assertEqual((second.status, second.body), (200, b"User-agent: *\n"))

    def test_files_are_read_at_request_time(self):
        path = os.path.join(self.root, "robots.txt")
        _, h1, b1 = self.get("/robots.txt")
        write(path, b"User-agent: *\nDisallow: /\n")
        try:
            _, h2, b2 = self.get("/robots.txt")
            self.assertEqual(b2, b"User-agent: *\nDisallow: /\n")
            self.assertNotEqual(h1["ETag"], h2["ETag"])
            self.assertEqual(self.get("/robots.txt", {"If-None-Match": h1["ETag"]})[0], 200)
        finally:
            write(path, b1)

    # -- the app's routes and the API's --

    def test_unknown_paths_fall_back_to_the_entry_page(self):
        for path in ("/review", "/matches/mat_0123456789abcdef", "/vi/nhu-cau/moi",
                     "/data/map", "/assets", "/favicon.ico", "/v1x/me",
                     "/home.html"):
            with self.subTest(path=path):
                resp = self.get(path)
                self.assertIndex(resp, path)
                self.assertSecurityHeaders(resp[1])
                self.assertEqual(resp[1].get("Cache-Control"), "no-cache")

    def test_missing_asset_and_api_paths_are_404_problems(self):
        for path in ("/assets/index-00000000.js", "/assets/nested/x.css", "/assets/", "/v1/nope",
                     "/v1", "/v1/", "/healthz/extra", "/problems/not-found", "/metrics/x",
                     "/readyz/x"):
            with self.subTest(path=path):
                body = self.assertProblem404(self.get(path))
                self.assertNotIn("not built", body["detail"])
        self.assertSecurityHeaders(self.get("/assets/index-00000000.js")[1])
        # the API is still the API
        self.assertEqual(self.get("/healthz")[0], 200)
        self.assertEqual(self.get("/v1/provinces")[0], 200)
        self.assertEqual(self.get("/v1/me")[0], 401)

    def test_methods(self):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            with self.subTest(method=method):
                with self.daemon.client() as c:
                    status, headers, body = c.request(method, "/review", body={})
                self.assertProblem(status, headers, body, 405)
                self.assertEqual(headers.get("Allow"), "GET, HEAD, OPTIONS")
        for path, allow in (("/", "GET, HEAD, OPTIONS"), ("/review", "GET, HEAD, OPTIONS"),
                            ("/v1/me", "GET, OPTIONS"), ("/v1/needs", "POST, GET, OPTIONS"),
                            ("/v1/listings/lst_x", "GET, PATCH, DELETE, OPTIONS")):
            with self.subTest(options=path):
                status, headers, body = self.get(path, {"Origin": "https://evil.example",
                                                        "Access-Control-Request-Method": "POST"},
                                                 method="OPTIONS")
                self.assertEqual((status, body), (204, b""))
                self.assertEqual(headers.get("Allow"), allow)
                self.assertFalse([k for k in headers if k.lower().startswith("access-control-")],
                                 headers)
        self.assertProblem404(self.get("/v1/nope", method="OPTIONS"))

    # -- never outside the root --

    def test_no_path_leaves_the_root(self):
        targets = [
            "/../outside/secret.txt", "/../../../../etc/passwd", "/assets/../../outside/secret.txt",
            "/%2e%2e/outside/secret.txt", "/%2E%2E/%2E%2E/etc/passwd", "/.%2e/outside/secret.txt",
            "/%2e%2e%2foutside%2fsecret.txt", "/assets%2f..%2f..%2foutside%2fsecret.txt",
            "/..%2Foutside/secret.txt", "/%2e%2e%5coutside%5csecret.txt",
            "/..\\outside\\secret.txt", "/%00", "/index.html%00.js", "/escape.txt",
            "/escape/secret.txt", "/escape/index.html", "/escape/", "/.env", "/assets/./logo.svg",
            "//outside/secret.txt", "/assets//logo.svg", "/%252e%252e/outside/secret.txt",
            "/./index.html", "/assets/%2e%2e/%2e%2e/outside/secret.txt",
        ]
        for target in targets:
            for method in ("GET", "HEAD"):
                with self.subTest(target=target, method=method):
                    resp = self.raw_get(target, method)
                    self.assertNotIn(SECRET, resp.raw)
                    if resp.status == 200:
                        # only the entry page may answer (the app's fallback)
                        self.assertEqual(harness.media_type(resp.headers), "text/html")
                        self.assertEqual(resp.headers.get("Content-Length"), str(len(INDEX)))
                        if method == "GET":
                            self.assertEqual(resp.body, INDEX)
                    else:
                        self.assertIn(resp.status, (400, 404), resp)
        # the dot-segment, encoded-separator and NUL forms are refused outright
        for target in ("/../outside/secret.txt", "/%2e%2e/outside/secret.txt",
                       "/assets%2f..%2f..%2foutside%2fsecret.txt", "/%00", "/index.html%00.js",
                       "/..\\outside\\secret.txt", "/.env", "/assets/%2e%2e/logo.svg",
                       "/escape.txt", "/escape/secret.txt"):
            with self.subTest(refused=target):
                resp = self.raw_get(target)
                if resp.status == 200:
                    self.assertEqual(resp.body, INDEX)  # a symlink out: as if absent
                    self.assertIn(target, ("/escape.txt", "/escape/secret.txt"))
                else:
                    self.assertIn(resp.status, (400, 404), resp)
        self.assertEqual(self.daemon.request("GET", "/healthz")[0], 200)


class WebNotBuiltTest(harness.TestCase):
    """A web root without index.html (or none at all) says the app is not built."""

    def test_not_built(self):
        redis = self.start_redis()
        empty = tempfile.mkdtemp(prefix="cm-e2e-web-empty-")
        self.addCleanup(shutil.rmtree, empty, True)
        for root in (empty, os.path.join(empty, "missing")):
            with self.subTest(root=root):
                d = self.start_daemon(redis, "--web-root", root)
                for path in ("/", "/review"):
                    status, headers, body = d.request("GET", path)
                    self.assertProblem(status, headers, body, 404)
                    self.assertIn("not built", body["detail"])
                    self.assertIn("scripts/build", body["detail"])
                    self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")
                self.assertEqual(d.request("GET", "/healthz")[0], 200)
                d.close()

    def test_environment_variable_and_default(self):
        redis = self.start_redis()
        root = tempfile.mkdtemp(prefix="cm-e2e-web-env-")
        self.addCleanup(shutil.rmtree, root, True)
        write(os.path.join(root, "index.html"), INDEX)
        d = self.start_daemon(redis, env={"CRAFTMATCH_WEB_ROOT": root})
        status, _, body = d.request("GET", "/")
        self.assertEqual((status, body), (200, INDEX.decode()))
        # without a setting, the web/ beside the binary, as logged at start
        d2 = self.start_daemon(redis)
        exe_dir = os.path.dirname(os.path.realpath(harness.craftmatchd_binary()))
        self.assertRegex(d2.log_text(), r'web_root="?%s/web"?\s' % re.escape(exe_dir))


if __name__ == "__main__":
    harness.main()
