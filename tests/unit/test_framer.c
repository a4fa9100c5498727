/*
 * Unit tests for server/http/framer: every class of well-formed and refused
 * request, alone and pipelined, each case fed whole, split in two at every
 * position, in three pieces at every pair of positions (short cases), and a
 * byte at a time. The outcome (requests accepted, the refusal, the bytes
 * passed on) must not depend on where the stream was split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/http/framer.h"

static const struct framer_limits limits = {.max_header_bytes = 256,
					    .max_body_bytes = 100,
					    .upload_path = "/v1/imports",
					    .max_upload_bytes = 200};

struct outcome {
	uint64_t requests;
	int status;	  /* 0: not refused */
	const char *slug; /* of the refusal */
	int partial;	  /* ended inside a request */
	size_t passed;	  /* bytes of accepted requests and of the unfinished one */
	size_t dropped;	  /* empty lines between requests */
	int starts;	  /* FRAMER_START events */
};

/* Feeds data in pieces cut at cuts[0..ncuts) (ascending). */
static struct outcome feed(const char *data, size_t len, const size_t *cuts, size_t ncuts)
{
	struct framer f;
	struct outcome o = {0};
	size_t from = 0;

	framer_init(&f, &limits);
	for (size_t k = 0; k <= ncuts && o.status == 0; k++) {
		size_t to = k < ncuts ? cuts[k] : len;
		const unsigned char *p = (const unsigned char *)data + from;
		size_t n = to - from;

		while (n > 0) {
			size_t used = 0;
			enum framer_event e = framer_feed(&f, p, n, &used);

			assert_true(used <= n);
			if (e == FRAMER_REFUSED) {
				const struct framer_refusal *r = framer_refusal(&f);
				assert_non_null(r);
				o.status = r->status;
				o.slug = r->slug;
				assert_non_null(r->detail);
				break;
			}
			assert_null(framer_refusal(&f));
			if (e == FRAMER_IDLE || e == FRAMER_START)
				o.dropped += used;
			else
				o.passed += used;
			if (e == FRAMER_START)
				o.starts++;
			if (e == FRAMER_DONE)
				o.requests++;
			if (e == FRAMER_IDLE || e == FRAMER_PARTIAL)
				assert_int_equal(used, n);
			p += used;
			n -= used;
		}
		from = to;
	}
	assert_int_equal(o.requests, f.requests);
	o.partial = o.status == 0 && !framer_idle(&f);
	if (o.status) {
		/* stays refused */
		size_t used = 9;
		assert_int_equal(framer_feed(&f, (const unsigned char *)"GET", 3, &used),
				 FRAMER_REFUSED);
		assert_int_equal(used, 0);
	}
	return o;
}

static void assert_same(const struct outcome *a, const struct outcome *b, const char *name,
			const char *how)
{
	if (a->requests != b->requests || a->status != b->status || a->partial != b->partial ||
	    (a->status == 0 &&
	     (a->passed != b->passed || a->dropped != b->dropped || a->starts != b->starts)))
		fail_msg("%s: fed %s: requests %llu/%llu status %d/%d partial %d/%d passed %zu/%zu",
			 name, how, (unsigned long long)a->requests,
			 (unsigned long long)b->requests, a->status, b->status, a->partial,
			 b->partial, a->passed, b->passed);
}

struct fcase {
	const char *name;
	const char *data;
	size_t len; /* 0: strlen(data) */
	uint64_t requests;
	int status;
	const char *slug;
	int partial;
};

/* Runs a case whole, then in every split; checks the expected outcome. */
static void run_case(const struct fcase *c)
{
	size_t len = c->len ? c->len : strlen(c->data);
	struct outcome whole = feed(c->data, len, NULL, 0);

	if (whole.requests != c->requests || whole.status != c->status ||
	    whole.partial != c->partial)
		fail_msg("%s: requests %llu (want %llu), status %d (want %d), partial %d (want %d)",
			 c->name, (unsigned long long)whole.requests,
			 (unsigned long long)c->requests, whole.status, c->status, whole.partial,
			 c->partial);
	if (c->slug)
		assert_string_equal(whole.slug, c->slug);
	if (c->status == 0)
		assert_int_equal(whole.passed + whole.dropped, len);

	for (size_t a = 0; a <= len; a++) {
		struct outcome o = feed(c->data, len, &a, 1);
		assert_same(&o, &whole, c->name, "in two pieces");
	}
	if (len <= 160)
		for (size_t a = 0; a <= len; a++)
			for (size_t b = a; b <= len; b++) {
				size_t cuts[2] = {a, b};
				struct outcome o = feed(c->data, len, cuts, 2);
				assert_same(&o, &whole, c->name, "in three pieces");
			}
	size_t *cuts = malloc((len + 1) * sizeof(*cuts));
	assert_non_null(cuts);
	for (size_t k = 0; k <= len; k++)
		cuts[k] = k;
	struct outcome o = feed(c->data, len, cuts, len + 1);
	free(cuts);
	assert_same(&o, &whole, c->name, "a byte at a time");
}

static void run_cases(const struct fcase *cases, size_t n)
{
	for (size_t k = 0; k < n; k++)
		run_case(&cases[k]);
}

#define GET_OK "GET / HTTP/1.1\r\nHost: h\r\n\r\n"
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_well_framed(void **state)
{
	static const struct fcase cases[] = {
	    {"get", GET_OK, 0, 1, 0, NULL, 0},
	    {"http/1.0 without host", "GET /healthz HTTP/1.0\r\n\r\n", 0, 1, 0, NULL, 0},
	    {"post with body",
	     "POST /v1/needs HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde", 0, 1, 0, NULL,
	     0},
	    {"pipelined",
	     GET_OK "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" GET_OK, 0, 3, 0,
	     NULL, 0},
	    {"empty lines before and between", "\r\n\n" GET_OK "\r\n" GET_OK, 0, 2, 0, NULL, 0},
	    {"bare LF line ends", "GET / HTTP/1.1\nHost: h\nX: y\n\n", 0, 1, 0, NULL, 0},
	    {"content-length with OWS",
	     "PUT /a HTTP/1.1\r\nHost: h\r\ncontent-LENGTH: \t 2 \t\r\n\r\nab", 0, 1, 0, NULL, 0},
	    {"content-length leading zeros",
	     "PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0002\r\n\r\nab", 0, 1, 0, NULL, 0},
	    {"head with zero length", "HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 0,
	     1, 0, NULL, 0},
	    {"expect 100-continue",
	     "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx", 0,
	     1, 0, NULL, 0},
	    {"htab and obs-text in values",
	     "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\tb \xc4\x91\xff\r\n\r\n", 0, 1, 0, NULL, 0},
	    {"target with query and escapes",
	     "GET /v1/listings?q=%C4%91%20x&a=b:c@d!$&'()*+,;=-._~/? HTTP/1.1\r\nHost: h\r\n\r\n",
	     0, 1, 0, NULL, 0},
	    {"characters browsers leave unescaped in a query",
	     "GET /v1/listings?a[]=1&b={x}|^` HTTP/1.1\r\nHost: h\r\n\r\n", 0, 1, 0, NULL, 0},
	    {"host with port and ip literal", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 0, 1, 0,
	     NULL, 0},
	    {"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 0, 1, 0, NULL, 0},
	    {"every method we serve",
	     "OPTIONS / HTTP/1.1\r\nHost: h\r\n\r\nDELETE /a HTTP/1.1\r\nHost: h\r\n\r\n"
	     "PATCH /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\n{",
	     0, 3, 0, NULL, 0},
	    {"body at the limit",
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n"
	     "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234"
	     "567890123456789",
	     0, 1, 0, NULL, 0},
	    {"partial head", "GET / HTTP/1.1\r\nHost: h\r\n", 0, 0, 0, NULL, 1},
	    {"partial second request", GET_OK "GET /b HTT", 0, 1, 0, NULL, 1},
	    {"partial body", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc", 0, 0, 0,
	     NULL, 1},
	    {"only empty lines", "\r\n\r\n\n", 0, 0, 0, NULL, 0},
	};
	(void)state;
	run_cases(cases, N(cases));
}

/* A head of exactly n bytes (n >= 40): a filler field pads it. */
static char *head_of(size_t n)
{
	static const char pre[] = "GET / HTTP/1.1\r\nHost: h\r\nX-F: ";
	char *s = malloc(n + 1);
	size_t fill = n - (sizeof(pre) - 1) - 4;
	assert_non_null(s);
	memcpy(s, pre, sizeof(pre) - 1);
	memset(s + sizeof(pre) - 1, 'f', fill);
	memcpy(s + sizeof(pre) - 1 + fill, "\r\n\r\n", 5);
	assert_int_equal(strlen(s), n);
	return s;
}

static void test_header_limit(void **state)
{
	char *at = head_of(256), *over = head_of(257);
	char two[600];
	(void)state;
	snprintf(two, sizeof(two), "%s%s", at, over);
	struct fcase cases[] = {
	    {"head at the limit", at, 0, 1, 0, NULL, 0},
	    {"head over the limit", over, 0, 0, 431, "headers-too-large", 0},
	    {"second request's head over the limit", two, 0, 1, 431, "headers-too-large", 0},
	    {"no end of line at all",
	     "GET "
	     "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	     0, 0, 431, "headers-too-large", 0},
	    /* the byte over the limit is also a bad one: the limit is checked first */
	    {"over the limit, then a NUL", NULL, 0, 0, 431, NULL, 0},
	};
	char nul[300];
	memcpy(nul, over, 257);
	nul[256] = '\0'; /* the 257th byte, the one over the limit */
	cases[4].data = nul;
	cases[4].len = 257;
	run_cases(cases, N(cases));
	free(at);
	free(over);
}

static void test_body_limit_and_length_required(void **state)
{
	static const struct fcase cases[] = {
	    {"body over the limit", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 0,
	     0, 413, "payload-too-large", 0},
	    {"second request's body over the limit",
	     GET_OK "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999\r\n\r\n", 0, 1, 413,
	     "payload-too-large", 0},
	    {"chunked",
	     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
	     0, 0, 411, "length-required", 0},
	    {"second request chunked",
	     GET_OK
	     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
	     0, 1, 411, "length-required", 0},
	    {"any transfer coding", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n",
	     0, 0, 411, "length-required", 0},
	    {"expect something else",
	     "POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 0, 0,
	     417, "expectation-failed", 0},
	    {"expect with inner space",
	     "GET / HTTP/1.1\r\nHost: h\r\nExpect: 100- continue\r\n\r\n", 0, 0, 417, NULL, 0},
	    /* a POST to exactly the upload path has the upload limit */
	    {"upload within its limit",
	     "POST /v1/imports?kind=needs HTTP/1.1\r\nHost: h\r\nContent-Length: 200\r\n\r\n", 0, 0,
	     0, NULL, 1},
	    {"upload over its limit",
	     "POST /v1/imports HTTP/1.1\r\nHost: h\r\nContent-Length: 201\r\n\r\n", 0, 0, 413,
	     "payload-too-large", 0},
	    {"a longer path keeps the body limit",
	     "POST /v1/importsx HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 0, 0, 413,
	     NULL, 0},
	    {"a sub-path keeps the body limit",
	     "POST /v1/imports/x HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 0, 0, 413,
	     NULL, 0},
	    {"another method keeps the body limit",
	     "PUT /v1/imports HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 0, 0, 413, NULL,
	     0},
	    {"a percent-encoded upload path is another path",
	     "POST /v1/%69mports HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n", 0, 0, 413,
	     NULL, 0},
	    {"the upload limit is the request's, not the next one's",
	     "POST /v1/imports HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx"
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n",
	     0, 1, 413, NULL, 0},
	};
	(void)state;
	run_cases(cases, N(cases));
}

static void test_ambiguous_framing(void **state)
{
	static const struct fcase cases[] = {
	    {"two content-lengths that differ",
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc", 0,
	     0, 400, "bad-request", 0},
	    {"two equal content-lengths",
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc", 0,
	     0, 400, NULL, 0},
	    {"content-length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc",
	     0, 0, 400, NULL, 0},
	    {"second request with two content-lengths",
	     GET_OK "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 30\r\n\r\n",
	     0, 1, 400, NULL, 0},
	    {"transfer-encoding then content-length",
	     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: "
	     "3\r\n\r\nabc",
	     0, 0, 400, NULL, 0},
	    {"content-length then transfer-encoding",
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: "
	     "chunked\r\n\r\nabc",
	     0, 0, 400, NULL, 0},
	    {"space before the colon",
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 3\r\n\r\nabc", 0, 0, 400, NULL, 0},
	    {"tab before the colon", "GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"field name not a token", "GET / HTTP/1.1\r\nHost: h\r\nX(y): z\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"empty field name", "GET / HTTP/1.1\r\nHost: h\r\n: z\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"field line without a colon", "GET / HTTP/1.1\r\nHost: h\r\nXyz\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"signed content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc",
	     0, 0, 400, NULL, 0},
	    {"negative content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
	     0, 0, 400, NULL, 0},
	    {"hex content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\nabc",
	     0, 0, 400, NULL, 0},
	    {"content-length with junk",
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3a\r\n\r\nabc", 0, 0, 400, NULL, 0},
	    {"empty content-length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 0, 0,
	     400, NULL, 0},
	    {"content-length with inner space",
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"overflowing content-length",
	     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, 0,
	     400, NULL, 0},
	    {"obsolete line folding", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 0, 0,
	     400, NULL, 0},
	    {"folding with a tab", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"whitespace before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"head with a body", "HEAD / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nGET /", 0,
	     0, 400, NULL, 0},
	};
	(void)state;
	run_cases(cases, N(cases));
}

static void test_control_bytes(void **state)
{
	static const char nul_auth[] =
	    "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ab\0cd\r\n\r\n";
	static const char nul_target[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char nul_method[] = "G\0T / HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char nul_name[] = "GET / HTTP/1.1\r\nHost: h\r\nX\0: a\r\n\r\n";
	const struct fcase cases[] = {
	    {"NUL in Authorization", nul_auth, sizeof(nul_auth) - 1, 0, 400, "bad-request", 0},
	    {"NUL in the target", nul_target, sizeof(nul_target) - 1, 0, 400, NULL, 0},
	    {"NUL in the method", nul_method, sizeof(nul_method) - 1, 0, 400, NULL, 0},
	    {"NUL in a field name", nul_name, sizeof(nul_name) - 1, 0, 400, NULL, 0},
	    {"DEL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n", 0, 0, 400, NULL,
	     0},
	    {"ESC in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x1b[0m\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"bare CR at a value's end", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"bare CR ending the request line", "GET / HTTP/1.1\rHost: h\r\n\r\n", 0, 0, 400, NULL,
	     0},
	    {"bare CR as the empty line", "GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", 0, 0, 400, NULL,
	     0},
	    {"bare CR between requests", GET_OK "\rGET / HTTP/1.1\r\n", 0, 1, 400, NULL, 0},
	    {"bare CR in the target", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"second request with NUL", GET_OK "GET / HTTP/1.1\r\nHost: h\r\nCookie: a\0\r\n\r\n",
	     sizeof(GET_OK "GET / HTTP/1.1\r\nHost: h\r\nCookie: a\0\r\n\r\n") - 1, 1, 400, NULL,
	     0},
	};
	(void)state;
	run_cases(cases, N(cases));
}

static void test_request_line(void **state)
{
	static const struct fcase cases[] = {
	    {"two spaces after the method", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL,
	     0},
	    {"two spaces before the version", "GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL,
	     0},
	    {"space after the version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"leading space", " GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"no version", "GET /\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"no target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"empty target", "GET  HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"http/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"http/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"version too long", "GET / HTTP/1.10\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"absolute-form target", "GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL,
	     0},
	    {"target starting with //", "GET //h/x HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL,
	     0},
	    {"bad percent escape", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"short percent escape", "GET /a% HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"raw utf-8 in the target", "GET /\xc4\x91 HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"quote in the target", "GET /a\"b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"method not a token", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"http/1.1 without host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"two hosts in http/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 0, 0, 400,
	     NULL, 0},
	    {"host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, 0, 400, NULL, 0},
	    {"host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 0, 0, 400, NULL, 0},
	};
	(void)state;
	run_cases(cases, N(cases));
}

static void test_methods(void **state)
{
	static const struct fcase cases[] = {
	    {"FOO", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 501, "not-implemented", 0},
	    {"TRACE", "TRACE / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 501, "not-implemented", 0},
	    {"CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 501, NULL, 0},
	    {"lower-case get", "get / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 501, NULL, 0},
	    {"a long method", "PROPFINDALL / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 501, NULL, 0},
	    {"a method that starts like one we serve", "GETS / HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0,
	     501, NULL, 0},
	    {"second request with an unknown method",
	     GET_OK "BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n", 0, 1, 501, NULL, 0},
	};
	(void)state;
	run_cases(cases, N(cases));
}

/* The request counter goes on across requests and the framer is reusable. */
static void test_counts_and_events(void **state)
{
	struct framer f;
	size_t used;
	const char *two = "\r\n" GET_OK GET_OK;
	(void)state;
	framer_init(&f, &limits);
	assert_true(framer_idle(&f));
	assert_int_equal(framer_feed(&f, (const unsigned char *)two, strlen(two), &used),
			 FRAMER_START);
	assert_int_equal(used, 2);
	assert_false(framer_idle(&f));
	two += used;
	assert_int_equal(framer_feed(&f, (const unsigned char *)two, strlen(two), &used),
			 FRAMER_DONE);
	assert_int_equal(used, strlen(GET_OK));
	assert_true(framer_idle(&f));
	assert_int_equal(f.requests, 1);
	two += used;
	assert_int_equal(framer_feed(&f, (const unsigned char *)two, strlen(two), &used),
			 FRAMER_START);
	assert_int_equal(used, 0);
	assert_int_equal(framer_feed(&f, (const unsigned char *)two, 5, &used), FRAMER_PARTIAL);
	assert_int_equal(used, 5);
	assert_int_equal(framer_feed(&f, (const unsigned char *)two + 5, strlen(two) - 5, &used),
			 FRAMER_DONE);
	assert_int_equal(f.requests, 2);
	assert_null(framer_refusal(&f));

	/* framer_head: the request being read or refused is a HEAD, and only it */
	const char *head = "HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nX\0";
	framer_init(&f, &limits);
	assert_false(framer_head(&f));
	assert_int_equal(framer_feed(&f, (const unsigned char *)head, 8, &used), FRAMER_START);
	assert_int_equal(framer_feed(&f, (const unsigned char *)head, 8, &used), FRAMER_PARTIAL);
	assert_true(framer_head(&f));
	assert_int_equal(framer_feed(&f, (const unsigned char *)head + 8, 20, &used), FRAMER_DONE);
	assert_false(framer_head(&f));
	assert_int_equal(framer_feed(&f, (const unsigned char *)head + 8 + used, 1, &used),
			 FRAMER_START);
	framer_init(&f, &limits);
	assert_int_equal(framer_feed(&f, (const unsigned char *)"HEAD /a<", 8, &used),
			 FRAMER_START);
	assert_int_equal(framer_feed(&f, (const unsigned char *)"HEAD /a<", 8, &used),
			 FRAMER_REFUSED);
	assert_true(framer_head(&f));
	framer_init(&f, &limits);
	assert_int_equal(framer_feed(&f, (const unsigned char *)head, 28, &used), FRAMER_START);
	assert_int_equal(framer_feed(&f, (const unsigned char *)head, 28, &used), FRAMER_DONE);
	assert_int_equal(framer_feed(&f, (const unsigned char *)"\rX", 2, &used), FRAMER_REFUSED);
	assert_false(framer_head(&f)); /* a bare CR after a HEAD is not the HEAD */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_well_framed),
	    cmocka_unit_test(test_header_limit),
	    cmocka_unit_test(test_body_limit_and_length_required),
	    cmocka_unit_test(test_ambiguous_framing),
	    cmocka_unit_test(test_control_bytes),
	    cmocka_unit_test(test_request_line),
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_counts_and_events),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
