/*
 * Unit tests for common/textfold: UTF-8 validation, NFC, search folding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/textfold.h"

/* Folds s and compares with want (NULL: folding must fail). */
static void assert_fold(const char *s, size_t len, const char *want)
{
	char *got = text_fold(s, len);

	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

#define FOLD(s, want) assert_fold((s), strlen(s), (want))

static void test_fold_equal_forms(void **state)
{
	(void)state;
	FOLD("Bát Tràng", "bat trang");
	FOLD("BÁT TRÀNG", "bat trang");
	FOLD("bat trang", "bat trang");
	FOLD("  Bát \t  Tràng \n", "bat trang");
	/* NFD input folds like the precomposed one. */
	FOLD("Ba\xcc\x81t Tra\xcc\x80ng", "bat trang");
	/* No-break space and ideographic space are spaces too. */
	FOLD("Bát\xc2\xa0Tràng", "bat trang");
	FOLD("Bát\xe3\x80\x80Tràng", "bat trang");
	/* Full-width letters fold by compatibility. */
	FOLD("\xef\xbc\xa2\xef\xbc\xa1\xef\xbc\xb4", "bat");
	FOLD("", "");
	FOLD("   ", "");
}

static void test_fold_d_with_stroke(void **state)
{
	(void)state;
	FOLD("Đồng Kỵ", "dong ky");
	FOLD("ĐỒNG KỴ", "dong ky");
	FOLD("đồng kỵ", "dong ky");
	FOLD("Đông Hồ", "dong ho");
	FOLD("Đắk Lắk", "dak lak");
}

static void test_fold_whole_alphabet(void **state)
{
	(void)state;
	FOLD("ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ",
	     "aaaaaaaaaaaaaaaaadeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyy");
	FOLD("àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ",
	     "aaaaaaaaaaaaaaaaadeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyy");
	/* Old-style tone placement ("hoà") folds like the new one ("hòa"). */
	FOLD("Hoà Bình", "hoa binh");
	FOLD("Hòa Bình", "hoa binh");
	/* Punctuation stays in text_fold. */
	FOLD("Gốm, sứ!", "gom, su!");
}

static void test_fold_key(void **state)
{
	char *k;

	(void)state;
	k = text_fold_key("TP. Hồ Chí Minh", strlen("TP. Hồ Chí Minh"));
	assert_string_equal(k, "tp ho chi minh");
	free(k);
	k = text_fold_key("Bà Rịa–Vũng Tàu", strlen("Bà Rịa–Vũng Tàu"));
	assert_string_equal(k, "ba ria vung tau");
	free(k);
	k = text_fold_key(" -- Thừa Thiên - Huế ..", strlen(" -- Thừa Thiên - Huế .."));
	assert_string_equal(k, "thua thien hue");
	free(k);
	k = text_fold_key("...", 3);
	assert_string_equal(k, "");
	free(k);
	assert_null(text_fold_key("\xff", 1));
}

static void test_invalid_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} bad[] = {
	    {"\xff", 1},
	    {"\xc3", 1},		 /* truncated */
	    {"B\xc3t", 3},		 /* bad continuation */
	    {"\xc0\xaf", 2},		 /* overlong '/' */
	    {"\xe0\x80\xaf", 3},	 /* overlong, 3 bytes */
	    {"\xed\xa0\x80", 3},	 /* surrogate U+D800 */
	    {"\xf4\x90\x80\x80", 4},	 /* above U+10FFFF */
	    {"\xf8\x88\x80\x80\x80", 5}, /* 5-byte form */
	    {"a\0b", 3},		 /* embedded NUL */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(text_valid_utf8(bad[i].s, bad[i].len), 0);
		assert_null(text_nfc(bad[i].s, bad[i].len));
		assert_null(text_fold(bad[i].s, bad[i].len));
		assert_null(text_casefold(bad[i].s, bad[i].len));
	}
	assert_int_equal(text_valid_utf8("", 0), 1);
	assert_int_equal(text_valid_utf8("plain", 5), 1);
	assert_int_equal(text_valid_utf8("Bát Tràng", strlen("Bát Tràng")), 1);
	assert_int_equal(text_valid_utf8("\xf0\x9f\x8f\xba", 4), 1); /* U+1F3FA amphora */
	/* Only len bytes are looked at. */
	assert_int_equal(text_valid_utf8("ab\xff", 2), 1);
}

static void test_nfc(void **state)
{
	char *s;

	(void)state;
	/* "Bát Tràng" decomposed -> precomposed. */
	s = text_nfc("Ba\xcc\x81t Tra\xcc\x80ng", strlen("Ba\xcc\x81t Tra\xcc\x80ng"));
	assert_string_equal(s, "Bát Tràng");
	free(s);
	/* ệ as e + circumflex + dot below (non-canonical order) -> U+1EC7. */
	s = text_nfc("Nghe\xcc\x82\xcc\xa3 An", strlen("Nghe\xcc\x82\xcc\xa3 An"));
	assert_string_equal(s, "Nghệ An");
	free(s);
	/* Already NFC: unchanged, and a new copy. */
	s = text_nfc("Đồng Kỵ", strlen("Đồng Kỵ"));
	assert_string_equal(s, "Đồng Kỵ");
	free(s);
	s = text_nfc("", 0);
	assert_string_equal(s, "");
	free(s);
}

static void test_casefold_keeps_marks(void **state)
{
	char *s;

	(void)state;
	s = text_casefold("TẠ", strlen("TẠ"));
	assert_string_equal(s, "tạ");
	free(s);
	s = text_casefold("Tá", strlen("Tá"));
	assert_string_not_equal(s, "tạ");
	free(s);
}

static void test_contains_folded(void **state)
{
	char *hay = text_fold("Gốm sứ BÁT TRÀNG cao cấp", strlen("Gốm sứ BÁT TRÀNG cao cấp"));
	char *needle = text_fold("bat trang", 9);
	char *other = text_fold("Bát Trung", strlen("Bát Trung"));

	(void)state;
	assert_int_equal(text_contains_folded(hay, needle), 1);
	assert_int_equal(text_contains_folded(hay, other), 0);
	assert_int_equal(text_contains_folded(hay, ""), 1);
	assert_int_equal(text_contains_folded(NULL, needle), 0);
	assert_int_equal(text_contains_folded(hay, NULL), 0);
	free(hay);
	free(needle);
	free(other);
}

/* UTF-8 of cp into out (NUL-terminated); its length. */
static size_t put_utf8(uint32_t cp, char *out)
{
	size_t n;

	if (cp < 0x80) {
		out[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		out[0] = (char)(0xF0 | (cp >> 18));
		out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	out[n] = '\0';
	return n;
}

/* text_fold and text_nfc must equal utf8proc alone (the *_reference functions), failure included.
 */
static void assert_fold_as_reference(const char *s)
{
	char *fast = text_fold(s, strlen(s));
	char *slow = text_fold_reference(s, strlen(s));

	if (slow == NULL) {
		assert_null(fast);
		return;
	}
	assert_non_null(fast);
	if (strcmp(fast, slow) != 0)
		fail_msg("text_fold(\"%s\") = \"%s\", utf8proc alone gives \"%s\"", s, fast, slow);
	free(fast);
	free(slow);
	fast = text_nfc(s, strlen(s));
	slow = text_nfc_reference(s, strlen(s));
	assert_non_null(fast);
	assert_non_null(slow);
	if (strcmp(fast, slow) != 0)
		fail_msg("text_nfc(\"%s\") = \"%s\", utf8proc alone gives \"%s\"", s, fast, slow);
	free(fast);
	free(slow);
}

/*
 * The table paths equal utf8proc's: every code point up to U+2FFF (the
 * table's range and well past it) alone and between letters, before and
 * after combining marks, beside Hangul jamo and in CR LF; then random
 * strings drawn from a mix of ASCII, Vietnamese letters, marks, jamo,
 * ignorables and compatibility characters.
 */
static void test_fast_paths_equal_utf8proc(void **state)
{
	static const char *const ctx[][2] = {
	    {"", ""},	       {"a", "b"},
	    {"A", "\xCC\x81"},					 /* then U+0301 */
	    {"\xCC\x81", "e"}, {"\xE1\x84\x80", "\xE1\x85\xA1"}, /* jamo L before, V after */
	    {"\r", "\n"},      {"\xEA\xB0\x80", "\xE1\x86\xA8"}, /* syllable before, T after */
	};
	static const uint32_t pool[] = {
	    'a',    'Z',    ' ',    '\t',   '\n',   '\r',   '-',    '.',    0x01,   0x7F,
	    0xC0,   0xD0,   0xDF,   0xE0,   0x110,  0x111,  0x1A0,  0x1AF,  0x1B0,  0x300,
	    0x301,  0x303,  0x309,  0x323,  0x345,  0x34F,  0xAD,   0x200B, 0x200D, 0xFEFF,
	    0x1100, 0x1161, 0x11A8, 0xAC00, 0x3131, 0x314F, 0x1EA0, 0x1EA1, 0x1EC7, 0x1EF9,
	    0xFB01, 0xFF21, 0x2126, 0x212A, 0x1E9E, 0x130,  0x149,  0x390,  0x3A3,  0x3C2,
	    0x1F00, 0x0E33, 0x0B3E, 0x0B47, 0x102E, 0x1025,
	};
	char buf[64], one[8];
	unsigned seed = 12345;

	(void)state;
	for (uint32_t cp = 1; cp < 0x3000; cp++) {
		if (cp >= 0xD800 && cp < 0xE000)
			continue;
		put_utf8(cp, one);
		for (size_t k = 0; k < sizeof(ctx) / sizeof(ctx[0]); k++) {
			snprintf(buf, sizeof(buf), "%s%s%s", ctx[k][0], one, ctx[k][1]);
			assert_fold_as_reference(buf);
		}
	}
	for (int round = 0; round < 20000; round++) {
		size_t len = 0, n = 1 + (seed >> 16) % 8;

		for (size_t j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			len += put_utf8(pool[(seed >> 16) % (sizeof(pool) / sizeof(pool[0]))],
					buf + len);
		}
		seed = seed * 1103515245u + 12345u;
		assert_fold_as_reference(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fold_equal_forms),
	    cmocka_unit_test(test_fold_d_with_stroke),
	    cmocka_unit_test(test_fold_whole_alphabet),
	    cmocka_unit_test(test_fold_key),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_nfc),
	    cmocka_unit_test(test_casefold_keeps_marks),
	    cmocka_unit_test(test_contains_folded),
	    cmocka_unit_test(test_fast_paths_equal_utf8proc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
