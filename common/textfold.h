/*
 * textfold — Vietnamese text: UTF-8 validation, NFC normalisation and the
 * accent-insensitive folding used for search ("bat trang" finds "Bát Tràng",
 * "dong ky" finds "Đồng Kỵ").
 *
 * Unicode work is done by utf8proc; this file only adds what utf8proc does
 * not know about Vietnamese (đ/Đ is a letter of its own, not d + a mark, so
 * stripping marks leaves it alone) and the whitespace rules.
 *
 * Pure functions: no I/O. The one global is text_fold's table of folded
 * characters, filled once (pthread_once) and only read after. Every returned
 * string is a new malloc'd buffer owned by the caller (free()); allocation
 * aborts on OOM.
 */
#ifndef CM_TEXTFOLD_H
#define CM_TEXTFOLD_H

#include <stddef.h>

/*
 * Returns 1 when s[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF) and contains no NUL byte; 0 otherwise.
 * NUL is refused because every string in this project is also a C string.
 */
int text_valid_utf8(const char *s, size_t len);

/*
 * Returns a new NUL-terminated NFC copy of s[0..len), or NULL when the input
 * is not valid (see text_valid_utf8). Caller frees.
 */
char *text_nfc(const char *s, size_t len);
/* text_nfc by utf8proc alone (text_nfc skips text that is already NFC). For tests. */
char *text_nfc_reference(const char *s, size_t len);

/*
 * Returns a new NFC, case-folded copy of s[0..len) that keeps its diacritics
 * ("Tạ" -> "tạ", "TẤN" -> "tấn"), or NULL on invalid input. For comparing
 * short codes where the marks matter ("tạ" = 100 kg is not "tá" = a dozen).
 * Caller frees.
 */
char *text_casefold(const char *s, size_t len);

/*
 * Returns a new search key for s[0..len), or NULL on invalid input:
 * compatibility-normalised (NFKC: "ｆｕｌｌ" -> "full", "m³" -> "m3"),
 * case-folded, marks stripped ("ồ" -> "o", "ư" -> "u"), "đ"/"Đ" -> "d",
 * default-ignorable characters removed, control characters and every kind of
 * Unicode space turned into one ASCII space, runs of spaces collapsed and the
 * ends trimmed. Punctuation is kept. "  Đồng   Kỵ\n" -> "dong ky".
 * Caller frees.
 */
char *text_fold(const char *s, size_t len);

/*
 * text_fold done by utf8proc alone, character by character: what text_fold
 * must equal (it takes a faster path through a table for most characters).
 * For tests.
 */
char *text_fold_reference(const char *s, size_t len);

/*
 * Like text_fold, then every ASCII character that is not a letter or a digit
 * becomes a space (spaces collapsed, ends trimmed again): a key for matching
 * names that users punctuate freely. "TP. Hồ Chí Minh" -> "tp ho chi minh",
 * "Bà Rịa–Vũng Tàu" -> "ba ria vung tau". NULL on invalid input; caller frees.
 */
char *text_fold_key(const char *s, size_t len);

/*
 * Returns 1 when needle_folded occurs in haystack_folded (both already passed
 * through text_fold), 0 otherwise. An empty needle is found everywhere; a NULL
 * argument is found nowhere.
 */
int text_contains_folded(const char *haystack_folded, const char *needle_folded);

#endif
