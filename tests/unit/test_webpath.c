/*
 * Unit tests for server/web/webpath: which paths are the API's, how a
 * requested path is cleaned or refused, Content-Type, the fingerprint rule,
 * Accept-Encoding and If-None-Match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/web/webpath.h"

/* Cleans raw and compares with want (NULL: the path must be refused). */
static void assert_clean(const char *raw, const char *want)
{
	char *got = webpath_clean(raw);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("%s was not refused but cleaned to %s", raw, got);
		return;
	}
	if (got == NULL)
		fail_msg("%s was refused", raw);
	assert_string_equal(got, want);
	free(got);
}

static void test_reserved(void **state)
{
	(void)state;
	const char *api[] = {"/v1",	   "/v1/",    "/v1/me",	  "/healthz",
			     "/healthz/x", "/readyz", "/metrics", "/problems/csrf"};
	const char *app[] = {"/",	"/v1x",		  "/v2/me", "/health",
			     "/review", "/assets/app.js", "/V1/me", "/problems-list"};
	for (size_t i = 0; i < sizeof(api) / sizeof(api[0]); i++)
		assert_true(webpath_reserved(api[i]));
	for (size_t i = 0; i < sizeof(app) / sizeof(app[0]); i++)
		assert_false(webpath_reserved(app[i]));
}

static void test_clean_accepts(void **state)
{
	(void)state;
	assert_clean("/", "/");
	assert_clean("/index.html", "/index.html");
	assert_clean("/assets/index-Bx7_k-9Q.js", "/assets/index-Bx7_k-9Q.js");
	assert_clean("/vi/nhu-cau/", "/vi/nhu-cau/");
	assert_clean("/b%C3%A1t-tr%C3%A0ng", "/bát-tràng");
	assert_clean("/a%20b", "/a b");
	assert_clean("/a+b", "/a+b"); /* a path is not a form: '+' stays */
	assert_clean("/file..txt", "/file..txt");
	assert_clean("/%252e%252e/x", "/%2e%2e/x"); /* decoded once: a name, not a segment */
}

static void test_clean_refuses(void **state)
{
	(void)state;
	const char *bad[] = {
	    "",
	    "index.html",
	    "/..",
	    "/../etc/passwd",
	    "/assets/../../etc/passwd",
	    "/a/./b",
	    "/.",
	    "/./",
	    "/%2e%2e/x",
	    "/%2E%2E/x",
	    "/.%2e/x",
	    "/%2e/x",
	    "/a%2fb",
	    "/a%2F..%2Fb",
	    "/..%2fx",
	    "/a%5cb",
	    "/a\\b",
	    "/%00",
	    "/a%00.js",
	    "//etc/passwd",
	    "/assets//app.js",
	    "/.env",
	    "/.git/config",
	    "/assets/.hidden",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_clean(bad[i], NULL);
}

static void test_content_type(void **state)
{
	(void)state;
	assert_string_equal(webpath_content_type("/index.html"), "text/html; charset=utf-8");
	assert_string_equal(webpath_content_type("/INDEX.HTML"), "text/html; charset=utf-8");
	assert_string_equal(webpath_content_type("/assets/a-12345678.js"),
			    "text/javascript; charset=utf-8");
	assert_string_equal(webpath_content_type("/assets/a.css"), "text/css; charset=utf-8");
	assert_string_equal(webpath_content_type("/data/vn.geojson"), "application/geo+json");
	assert_string_equal(webpath_content_type("/f/x.woff2"), "font/woff2");
	assert_string_equal(webpath_content_type("/noext"), "application/octet-stream");
	assert_string_equal(webpath_content_type("/a.b/noext"), "application/octet-stream");
	assert_string_equal(webpath_content_type("/x.exe"), "application/octet-stream");
}

static void test_fingerprinted(void **state)
{
	(void)state;
	assert_true(webpath_fingerprinted("/assets/index-Bx7_k-9Q.js"));
	assert_true(webpath_fingerprinted("/assets/app-D41d8cd9.css"));
	assert_true(webpath_fingerprinted("/assets/leaflet-src-0a1b2c3d4e.js"));
	assert_true(webpath_fingerprinted("/assets/fonts/inter-Abcdefgh.woff2"));
	assert_false(webpath_fingerprinted("/assets/logo.svg"));
	assert_false(webpath_fingerprinted("/assets/index-short.js"));
	assert_false(webpath_fingerprinted("/assets/index-Bx7k9Q12"));
	assert_false(webpath_fingerprinted("/index-Bx7_k-9Q.js"));
	assert_false(webpath_fingerprinted("/data/assets/index-Bx7_k-9Q.js"));
	assert_false(webpath_fingerprinted("/assets-Bx7_k-9Q/a.js"));
}

static void test_accepts_gzip(void **state)
{
	(void)state;
	const char *yes[] = {"gzip",	    "GZIP",   "gzip, deflate, br", "br;q=1.0, gzip;q=0.8",
			     "*",	    "x-gzip", "gzip;q=1",	   "deflate, gzip ;q=0.001",
			     "*;q=0, gzip", "br, *"};
	const char *no[] = {"",		"identity",	"br",
			    "gzip;q=0", "gzip;q=0.000", "gzip; q=0.0",
			    "gzipx",	"x-gzipped",	"br;q=0.5, gzip;q=0",
			    "*;q=0",	"gzip;q=0, *",	"*, gzip;q=0"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!webpath_accepts_gzip(yes[i]))
			fail_msg("'%s' should accept gzip", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (webpath_accepts_gzip(no[i]))
			fail_msg("'%s' should not accept gzip", no[i]);
	assert_false(webpath_accepts_gzip(NULL));
}

static void test_etag_listed(void **state)
{
	(void)state;
	const char *tag = "\"1a-2b-3c\"";
	assert_true(webpath_etag_listed("\"1a-2b-3c\"", tag));
	assert_true(webpath_etag_listed("W/\"1a-2b-3c\"", tag));
	assert_true(webpath_etag_listed("\"x\", \"1a-2b-3c\"", tag));
	assert_true(webpath_etag_listed("\"x\",W/\"1a-2b-3c\"", tag));
	assert_true(webpath_etag_listed("*", tag));
	assert_false(webpath_etag_listed("", tag));
	assert_false(webpath_etag_listed("\"1a-2b-3c-gz\"", tag));
	assert_false(webpath_etag_listed("\"1a-2b\"", tag));
	assert_false(webpath_etag_listed("1a-2b-3c", tag));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reserved),	  cmocka_unit_test(test_clean_accepts),
	    cmocka_unit_test(test_clean_refuses), cmocka_unit_test(test_content_type),
	    cmocka_unit_test(test_fingerprinted), cmocka_unit_test(test_accepts_gzip),
	    cmocka_unit_test(test_etag_listed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
