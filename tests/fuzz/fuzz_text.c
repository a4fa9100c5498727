/*
 * fuzz_text — common/textfold and common/provinces on arbitrary bytes.
 *
 * Input: any bytes, given whole (with their length, NULs and all) to
 * text_valid_utf8, text_nfc, text_casefold, text_fold and text_fold_key, and
 * as a C string (cut at the first NUL) to provinces_find.
 *
 * Checked beyond "no crash": every function agrees with text_valid_utf8 on
 * which inputs are text; what comes back is valid UTF-8; a fold key holds
 * only single spaces between words; text_nfc's and text_fold's fast paths give what
 * utf8proc alone gives; a province found is one of the table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/provinces.h"
#include "common/textfold.h"
#include "tests/fuzz/fuzz.h"

/* out is NULL exactly when the input was not text, and valid UTF-8 if not. */
static void fuzz_text_out(char *out, int valid, const char *what)
{
	fuzz_check((out != NULL) == valid, what);
	if (out != NULL)
		fuzz_check(text_valid_utf8(out, strlen(out)), "output is not valid UTF-8");
	free(out);
}

static void fuzz_text_key(const char *s, size_t len, int valid)
{
	char *key = text_fold_key(s, len), *fold = text_fold(s, len);
	size_t n;

	fuzz_check((key != NULL) == valid, "text_fold_key() and text_valid_utf8() disagree");
	fuzz_check((fold != NULL) == valid, "text_fold() and text_valid_utf8() disagree");
	if (key != NULL) {
		n = strlen(key);
		fuzz_check(n == 0 || (key[0] != ' ' && key[n - 1] != ' '), "fold key not trimmed");
		fuzz_check(strstr(key, "  ") == NULL, "fold key with a double space");
		fuzz_check(text_valid_utf8(key, n), "fold key is not valid UTF-8");
		fuzz_check(text_contains_folded(key, ""), "the empty needle is not found");
		fuzz_check(text_valid_utf8(fold, strlen(fold)), "fold is not valid UTF-8");
		char *ref = text_fold_reference(s, len);
		fuzz_check(ref != NULL && strcmp(ref, fold) == 0,
			   "text_fold() differs from utf8proc alone (text_fold_reference)");
		free(ref);
	}
	free(key);
	free(fold);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int valid = text_valid_utf8(s, size);
	char *c = fuzz_cstr(data, size);
	const struct province *p;

	fuzz_check(valid == 0 || memchr(data, 0, size) == NULL, "text with a NUL is valid");
	char *nfc = text_nfc(s, size), *nfc_ref = text_nfc_reference(s, size);
	fuzz_check(nfc == NULL ? nfc_ref == NULL : nfc_ref != NULL && strcmp(nfc, nfc_ref) == 0,
		   "text_nfc() differs from utf8proc alone (text_nfc_reference)");
	free(nfc_ref);
	fuzz_text_out(nfc, valid, "text_nfc() and text_valid_utf8() disagree");
	fuzz_text_out(text_casefold(s, size), valid,
		      "text_casefold() and text_valid_utf8() disagree");
	fuzz_text_key(s, size, valid);

	p = provinces_find(c);
	if (p != NULL) {
		size_t i;
		for (i = 0; i < provinces_count() && provinces_at(i) != p; i++)
			;
		fuzz_check(i < provinces_count(),
			   "provinces_find() returned a unit not in the table");
	}
	free(c);
	return 0;
}
