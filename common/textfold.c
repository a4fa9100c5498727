/*
 * textfold — Vietnamese text validation, NFC and search folding (see
 * textfold.h). No I/O.
 */
#include "common/textfold.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "common/xalloc.h"

int text_valid_utf8(const char *s, size_t len)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;

	if (s == NULL)
		return len == 0;
	while (len > 0) {
		utf8proc_int32_t cp;
		/* utf8proc_iterate rejects overlong forms, surrogates and code
		 * points above U+10FFFF, and never reads past len. */
		utf8proc_ssize_t n = utf8proc_iterate(p, (utf8proc_ssize_t)len, &cp);
		if (n <= 0 || cp == 0)
			return 0;
		p += n;
		len -= (size_t)n;
	}
	return 1;
}

/*
 * utf8proc_map() with allocation through xmalloc, so that running out of
 * memory aborts like everywhere else instead of looking like bad input.
 */
static char *text_map(const char *s, size_t len, utf8proc_option_t opts)
{
	const utf8proc_uint8_t *in = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t *buf;
	utf8proc_ssize_t n, m;

	if (len > (size_t)PTRDIFF_MAX / 16 || !text_valid_utf8(s, len))
		return NULL;
	n = utf8proc_decompose(in, (utf8proc_ssize_t)len, NULL, 0, opts);
	if (n < 0)
		return NULL;
	/* utf8proc_reencode writes the UTF-8 over the code points in place
	 * and needs one more byte for the terminating NUL. */
	buf = xmalloc((size_t)n * sizeof(*buf) + 1);
	m = utf8proc_decompose(in, (utf8proc_ssize_t)len, buf, n, opts);
	if (m >= 0 && m <= n)
		m = utf8proc_reencode(buf, m, opts);
	else
		m = -1;
	if (m < 0) {
		free(buf);
		return NULL;
	}
	return xrealloc(buf, (size_t)m + 1);
}

char *text_nfc(const char *s, size_t len)
{
	return text_map(s, len, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
}

char *text_casefold(const char *s, size_t len)
{
	return text_map(s, len, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
}

static int text_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int text_is_ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * Rewrites s in place: bytes for which is_sep() holds become one space
 * between words, none at the ends.
 */
static void text_squeeze(char *s, int (*is_sep)(unsigned char))
{
	char *out = s;
	int pending = 0;

	for (const char *p = s; *p != '\0'; p++) {
		if (is_sep((unsigned char)*p)) {
			pending = out != s;
			continue;
		}
		if (pending)
			*out++ = ' ';
		pending = 0;
		*out++ = *p;
	}
	*out = '\0';
}

static int text_is_key_sep(unsigned char c)
{
	return c < 0x80 && !text_is_ascii_alnum(c);
}

char *text_fold(const char *s, size_t len)
{
	const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
				       UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK | UTF8PROC_LUMP |
				       UTF8PROC_IGNORE | UTF8PROC_STRIPCC;
	char *f = text_map(s, len, opts);
	char *out;

	if (f == NULL)
		return NULL;
	/* Case folding has turned Đ (U+0110) into đ (U+0111, C4 91). It has no
	 * decomposition, so STRIPMARK left it; Vietnamese readers fold it to d. */
	out = f;
	for (const char *p = f; *p != '\0'; p++) {
		if ((unsigned char)p[0] == 0xC4 && (unsigned char)p[1] == 0x91) {
			*out++ = 'd';
			p++;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
	text_squeeze(f, text_is_space);
	return f;
}

char *text_fold_key(const char *s, size_t len)
{
	char *f = text_fold(s, len);

	if (f != NULL)
		text_squeeze(f, text_is_key_sep);
	return f;
}

int text_contains_folded(const char *haystack_folded, const char *needle_folded)
{
	if (haystack_folded == NULL || needle_folded == NULL)
		return 0;
	return strstr(haystack_folded, needle_folded) != NULL;
}
