/*
 * textfold — Vietnamese text validation, NFC and search folding (see
 * textfold.h). No I/O.
 */
#include "common/textfold.h"

#include <pthread.h>
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
		if (*p != 0 &&
		    *p < 0x80) { /* ASCII, as utf8proc_iterate takes it, without the call */
			p++;
			len--;
			continue;
		}
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

char *text_nfc_reference(const char *s, size_t len)
{
	return text_map(s, len, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
}

static int text_nfc_already(const char *s, size_t len);

char *text_nfc(const char *s, size_t len)
{
	if (len < (size_t)PTRDIFF_MAX && text_nfc_already(s, len)) {
		char *out = xmalloc(len + 1);
		memcpy(out, s, len);
		out[len] = '\0';
		return out;
	}
	return text_nfc_reference(s, len);
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

#define TEXT_FOLD_OPTS                                                                             \
	(UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |                \
	 UTF8PROC_STRIPMARK | UTF8PROC_LUMP | UTF8PROC_IGNORE | UTF8PROC_STRIPCC)

/*
 * Case folding has turned Đ (U+0110) into đ (U+0111, C4 91). It has no
 * decomposition, so STRIPMARK left it; Vietnamese readers fold it to d.
 * Then spaces are squeezed. Rewrites f in place.
 */
static void text_fold_finish(char *f)
{
	char *out = f;

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
}

char *text_fold_reference(const char *s, size_t len)
{
	char *f = text_map(s, len, TEXT_FOLD_OPTS);

	if (f != NULL)
		text_fold_finish(f);
	return f;
}

/*
 * The fast path. utf8proc costs some hundreds of instructions per character
 * however plain the text, and a search key is made on every write. Folding
 * is per character except where characters combine: a base and the marks
 * after it (composition, then STRIPMARK), and Hangul jamo (which compose
 * with each other though none is a mark). So the text is cut into clusters,
 * a character and the marks that follow it. A cluster that is one character
 * of the table's range (U+0001-U+10FF: Latin with Vietnamese's base
 * letters, Greek, Cyrillic and the scripts up to Myanmar; U+1E00-U+1EFF:
 * Latin Extended Additional, Vietnamese's precomposed letters), not a mark
 * itself and not folded to nothing, is folded by a table utf8proc filled
 * once; runs of other clusters go to utf8proc together. The result is
 * text_fold_reference's: a unit test compares the two for every character
 * of the range, alone and in contexts, and the text fuzzer on any input.
 */
#define TEXT_MEMO_OUT 15
#define TEXT_MEMO_NONE 0xFF /* not folded by the table */

struct text_memo {
	unsigned char len; /* bytes of out, or TEXT_MEMO_NONE */
	char out[TEXT_MEMO_OUT];
	unsigned char nfc; /* a starter that NFC leaves as it is */
};

static struct text_memo text_memo_tab[0x1100 + 0x100];
static pthread_once_t text_memo_once = PTHREAD_ONCE_INIT;

static int text_memo_slot(utf8proc_int32_t cp)
{
	if (cp >= 0 && cp < 0x1100)
		return (int)cp;
	if (cp >= 0x1E00 && cp < 0x1F00)
		return 0x1100 + (int)(cp - 0x1E00);
	return -1;
}

static int text_is_mark(utf8proc_int32_t cp)
{
	const utf8proc_property_t *pr = utf8proc_get_property(cp);

	return pr->combining_class != 0 || pr->category == UTF8PROC_CATEGORY_MN ||
	       pr->category == UTF8PROC_CATEGORY_MC || pr->category == UTF8PROC_CATEGORY_ME;
}

static void text_memo_fill(void)
{
	for (size_t i = 0; i < sizeof(text_memo_tab) / sizeof(text_memo_tab[0]); i++)
		text_memo_tab[i].len = TEXT_MEMO_NONE;
	for (utf8proc_int32_t cp = 1; cp < 0x1F00; cp++) {
		int slot = text_memo_slot(cp);
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t n;
		char *f;

		if (slot < 0 || !utf8proc_codepoint_valid(cp) || text_is_mark(cp))
			continue;
		n = utf8proc_encode_char(cp, enc);
		f = n > 0 ? text_nfc_reference((const char *)enc, (size_t)n) : NULL;
		text_memo_tab[slot].nfc =
		    f != NULL && (size_t)n == strlen(f) && memcmp(f, enc, (size_t)n) == 0;
		free(f);
		f = n > 0 ? text_map((const char *)enc, (size_t)n, TEXT_FOLD_OPTS) : NULL;
		/*
		 * A character that folds to nothing (ignorable, control) stays
		 * out: its neighbours may combine across it (two Hangul jamo
		 * around a soft hyphen compose).
		 */
		if (f != NULL && strlen(f) > 0 && strlen(f) <= TEXT_MEMO_OUT) {
			memcpy(text_memo_tab[slot].out, f, strlen(f));
			text_memo_tab[slot].len = (unsigned char)strlen(f);
		}
		free(f);
	}
}

/*
 * 1 when s[0..len) is valid UTF-8 made only of the table's characters that
 * NFC leaves alone and that are starters (no marks). Such characters do not
 * compose with each other (the starters that do are Hangul jamo, outside
 * the table), so the text is its own NFC.
 */
static int text_nfc_already(const char *s, size_t len)
{
	size_t i = 0;

	pthread_once(&text_memo_once, text_memo_fill);
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		utf8proc_int32_t cp;
		utf8proc_ssize_t n;
		int slot;

		if (c >= 0x20 && c < 0x7F) { /* printable ASCII: the common case */
			i++;
			continue;
		}
		n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i),
				     &cp);
		if (n <= 0 || cp == 0)
			return 0;
		slot = text_memo_slot(cp);
		if (slot < 0 || !text_memo_tab[slot].nfc)
			return 0;
		i += (size_t)n;
	}
	return 1;
}

struct text_buf {
	char *p;
	size_t len, cap;
};

static void text_put(struct text_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap *= 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Appends utf8proc's folding of s[0..len); 0, or -1 when it fails. */
static int text_put_mapped(struct text_buf *b, const char *s, size_t len)
{
	char *f = text_map(s, len, TEXT_FOLD_OPTS);

	if (f == NULL)
		return -1;
	text_put(b, f, strlen(f));
	free(f);
	return 0;
}

/* The code point at s (valid UTF-8, checked by the caller, len > 0); *n:
 * its length in bytes. Decoded here: utf8proc_iterate checks again what
 * text_valid_utf8 checked, a call per letter of every listing's text. */
static utf8proc_int32_t text_next(const char *s, size_t len, size_t *n)
{
	const unsigned char *u = (const unsigned char *)s;

	(void)len;
	if (u[0] < 0x80) {
		*n = 1;
		return u[0];
	}
	if (u[0] < 0xE0) {
		*n = 2;
		return ((utf8proc_int32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
	}
	if (u[0] < 0xF0) {
		*n = 3;
		return ((utf8proc_int32_t)(u[0] & 0x0F) << 12) | ((u[1] & 0x3F) << 6) |
		       (u[2] & 0x3F);
	}
	*n = 4;
	return ((utf8proc_int32_t)(u[0] & 0x07) << 18) | ((u[1] & 0x3F) << 12) |
	       ((u[2] & 0x3F) << 6) | (u[3] & 0x3F);
}

char *text_fold(const char *s, size_t len)
{
	struct text_buf b;
	size_t i = 0, run = 0; /* clusters from run to i wait for utf8proc */
	int in_run = 0;

	if (len > (size_t)PTRDIFF_MAX / 16 || !text_valid_utf8(s, len))
		return NULL;
	pthread_once(&text_memo_once, text_memo_fill);
	b.cap = len + 16;
	b.p = xmalloc(b.cap);
	b.len = 0;
	while (i < len) {
		size_t n, m;
		unsigned char c = (unsigned char)s[i];
		/*
		 * An ASCII character before ASCII (or the end) has no marks after
		 * it: its memo straight into the buffer, without the general
		 * path's look-ahead and copy call (most of a listing's text).
		 */
		if (c < 0x80 && (i + 1 == len || (unsigned char)s[i + 1] < 0x80) &&
		    text_memo_tab[c].len == 1) {
			if (in_run && text_put_mapped(&b, s + run, i - run) < 0)
				goto fail;
			in_run = 0;
			if (b.len + 2 <= b.cap) /* the common case, without text_put's call */
				b.p[b.len++] = text_memo_tab[c].out[0];
			else
				text_put(&b, text_memo_tab[c].out, 1);
			i++;
			continue;
		}
		utf8proc_int32_t cp = text_next(s + i, len - i, &n);
		size_t end = i + n; /* the cluster: cp and the marks after it */
		int slot = text_memo_slot(cp);

		while (end < len) {
			utf8proc_int32_t next = text_next(s + end, len - end, &m);

			if (next < 0x300 || !text_is_mark(next))
				break;
			end += m;
		}
		if (end == i + n && slot >= 0 && text_memo_tab[slot].len != TEXT_MEMO_NONE) {
			if (in_run && text_put_mapped(&b, s + run, i - run) < 0)
				goto fail;
			in_run = 0;
			text_put(&b, text_memo_tab[slot].out, text_memo_tab[slot].len);
		} else if (!in_run) {
			in_run = 1;
			run = i;
		}
		i = end;
	}
	if (in_run && text_put_mapped(&b, s + run, len - run) < 0)
		goto fail;
	b.p[b.len] = '\0';
	text_fold_finish(b.p);
	return b.p;
fail:
	free(b.p);
	return NULL;
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
