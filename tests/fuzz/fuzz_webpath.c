/*
 * fuzz_webpath — server/web/webpath: the rules that pick a file of the web
 * app from a request.
 *
 * Input: "PATH\nACCEPT-ENCODING\nIF-NONE-MATCH" (later parts optional); the
 * path is raw, still %-encoded, as evhttp_uri_get_path() hands it over.
 *
 * Checked beyond "no crash": a path webpath_clean() accepts starts with '/',
 * and holds no segment starting with '.', no empty segment but a trailing
 * one, no backslash, and is no longer than the raw path; it is a fixed
 * point of cleaning when it holds no '%'. A fingerprinted file lies under
 * /assets/; every file has a Content-Type. "*" matches every ETag and a tag
 * lists itself; the gzip answer is 0 or 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/web/webpath.h"
#include "tests/fuzz/fuzz.h"

static void fuzz_webpath_clean(const char *raw)
{
	char *clean = webpath_clean(raw);
	if (clean == NULL)
		return;
	size_t n = strlen(clean);
	fuzz_check(clean[0] == '/', "a cleaned path does not start with '/'");
	fuzz_check(n <= strlen(raw), "a cleaned path is longer than the raw one");
	fuzz_check(strchr(clean, '\\') == NULL, "a cleaned path holds a backslash");
	fuzz_check(strstr(clean, "/.") == NULL, "a cleaned path has a dot segment");
	const char *dbl = strstr(clean, "//");
	fuzz_check(dbl == NULL, "a cleaned path has an empty segment");
	if (strchr(clean, '%') == NULL) {
		char *again = webpath_clean(clean);
		fuzz_check(again != NULL && strcmp(again, clean) == 0,
			   "cleaning a clean path changes it");
		free(again);
	}
	fuzz_check(webpath_content_type(clean) != NULL, "no Content-Type");
	if (webpath_fingerprinted(clean))
		fuzz_check(strncmp(clean, "/assets/", 8) == 0, "fingerprinted outside /assets/");
	free(clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path, *rest, *ae = NULL, *inm = NULL;

	fuzz_split(data, size, '\n', &path, &rest);
	if (rest) {
		fuzz_split((const uint8_t *)rest, strlen(rest), '\n', &ae, &inm);
		free(rest);
	}
	(void)webpath_reserved(path);
	fuzz_webpath_clean(path);
	fuzz_check(webpath_content_type(path) != NULL, "no Content-Type");
	if (ae) {
		int g = webpath_accepts_gzip(ae);
		fuzz_check(g == 0 || g == 1, "gzip answer not 0 or 1");
	}
	if (inm) {
		fuzz_check(webpath_etag_listed("*", inm) == 1, "* does not match");
		int l = webpath_etag_listed(inm, "\"1a-2b-3c\"");
		fuzz_check(l == 0 || l == 1, "If-None-Match answer not 0 or 1");
		if (inm[0] == '"' && strlen(inm) > 1 && strcspn(inm, " \t,") == strlen(inm))
			fuzz_check(webpath_etag_listed(inm, inm) == 1,
				   "a tag does not list itself");
	}
	free(path);
	free(ae);
	free(inm);
	return 0;
}
