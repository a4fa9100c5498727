/*
 * jsonin — plain JSON into jansson values in one pass (see jsonin.h).
 */
#include "common/jsonin.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct jsonin {
	const unsigned char *p, *end;
	char *scratch; /* unescaped string bytes */
	size_t cap;
};

static void jsonin_space(struct jsonin *in)
{
	while (in->p < in->end &&
	       (*in->p == ' ' || *in->p == '\n' || *in->p == '\r' || *in->p == '\t'))
		in->p++;
}

/* Length of the strict UTF-8 sequence at p (its first byte >= 0x80), 0 when
 * it is not one: overlong forms, surrogates and code points past U+10FFFF
 * are refused, as jansson's utf8_check_full refuses them. */
static size_t jsonin_utf8(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp;

	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return n;
}

/*
 * The string whose opening quote was just read: its bytes in *s and *len
 * (in the input when it has no escapes, else in the scratch buffer).
 * -1 to decline.
 */
static int jsonin_string(struct jsonin *in, const char **s, size_t *len)
{
	const unsigned char *start = in->p, *p = in->p, *end = in->end;
	size_t out = 0;
	int escaped = 0;

	for (;;) {
		if (p >= end)
			return -1;
		unsigned c = *p;
		if (c == '"')
			break;
		if (c >= 0x20 && c < 0x80 && c != '\\') {
			p++;
			continue;
		}
		if (c >= 0x80) {
			size_t n = jsonin_utf8(p, end);
			if (n == 0)
				return -1;
			p += n;
			continue;
		}
		if (c != '\\' || p + 1 >= end)
			return -1; /* a control character, or a lone backslash at the end */
		escaped = 1;
		p += 2;
		if (p[-1] == 'u') /* \u escapes (and their surrogate pairs) are jansson's */
			return -1;
		if (memchr("\"\\/bfnrt", p[-1], 8) == NULL)
			return -1;
	}
	in->p = p + 1;
	if (!escaped) {
		*s = (const char *)start;
		*len = (size_t)(p - start);
		return 0;
	}
	size_t need = (size_t)(p - start);
	if (need > in->cap) {
		char *grown = realloc(in->scratch, need);
		if (grown == NULL)
			return -1;
		in->scratch = grown;
		in->cap = need;
	}
	for (const unsigned char *q = start; q < p; q++) {
		unsigned char c = *q;
		if (c == '\\') {
			q++;
			switch (*q) {
			case 'b':
				c = '\b';
				break;
			case 'f':
				c = '\f';
				break;
			case 'n':
				c = '\n';
				break;
			case 'r':
				c = '\r';
				break;
			case 't':
				c = '\t';
				break;
			default: /* " \ / */
				c = *q;
			}
		}
		in->scratch[out++] = (char)c;
	}
	*s = in->scratch;
	*len = out;
	return 0;
}

static int jsonin_digit(const unsigned char *p, const unsigned char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

/* The number at in->p, by JSON's grammar; NULL to decline. */
static json_t *jsonin_number(struct jsonin *in)
{
	const unsigned char *p = in->p, *start = p, *end = in->end;
	int neg = 0, real = 0;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (!jsonin_digit(p, end))
		return NULL;
	if (*p == '0') {
		p++;
		if (jsonin_digit(p, end))
			return NULL;
	} else {
		while (jsonin_digit(p, end))
			p++;
	}
	const unsigned char *int_end = p;
	if (p < end && *p == '.') {
		real = 1;
		p++;
		if (!jsonin_digit(p, end))
			return NULL;
		while (jsonin_digit(p, end))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		real = 1;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!jsonin_digit(p, end))
			return NULL;
		while (jsonin_digit(p, end))
			p++;
	}
	in->p = p;
	if (!real) {
		const unsigned char *d = start + neg;
		if (int_end - d > 18)
			return NULL; /* strtoll's range and its errors are jansson's */
		int64_t v = 0;
		for (; d < int_end; d++)
			v = v * 10 + (*d - '0');
		return json_integer(neg ? -v : v);
	}
	char text[64];
	size_t n = (size_t)(p - start);
	if (n >= sizeof(text))
		return NULL;
	memcpy(text, start, n);
	text[n] = '\0';
	errno = 0;
	double v = strtod(text, NULL);
	if (errno != 0)
		return NULL; /* overflow or underflow: jansson says what it does */
	return json_real(v);
}

static json_t *jsonin_value(struct jsonin *in, int depth);

/* Whether byte c comes next, after white space (then skipped). */
static int jsonin_skip(struct jsonin *in, unsigned char c)
{
	jsonin_space(in);
	if (in->p >= in->end || *in->p != c)
		return 0;
	in->p++;
	return 1;
}

static json_t *jsonin_object(struct jsonin *in, int depth)
{
	json_t *o = json_object();

	if (o == NULL || jsonin_skip(in, '}'))
		return o;
	for (;;) {
		const char *key;
		size_t klen;
		if (!jsonin_skip(in, '"') || jsonin_string(in, &key, &klen) < 0)
			goto decline;
		/* the scratch buffer is reused by the value's strings: keys with
		 * escapes are jansson's */
		if (key == in->scratch || json_object_getn(o, key, klen) != NULL ||
		    !jsonin_skip(in, ':'))
			goto decline;
		json_t *v = jsonin_value(in, depth);
		if (v == NULL || json_object_setn_new_nocheck(o, key, klen, v) < 0)
			goto decline;
		if (jsonin_skip(in, '}'))
			return o;
		if (!jsonin_skip(in, ','))
			goto decline;
	}
decline:
	json_decref(o);
	return NULL;
}

static json_t *jsonin_array(struct jsonin *in, int depth)
{
	json_t *a = json_array();

	if (a == NULL || jsonin_skip(in, ']'))
		return a;
	for (;;) {
		json_t *v = jsonin_value(in, depth);
		if (v == NULL || json_array_append_new(a, v) < 0)
			goto decline;
		if (jsonin_skip(in, ']'))
			return a;
		if (!jsonin_skip(in, ','))
			goto decline;
	}
decline:
	json_decref(a);
	return NULL;
}

/* Whether the literal word is at in->p (then skipped). */
static int jsonin_word(struct jsonin *in, const char *word, size_t n)
{
	if ((size_t)(in->end - in->p) < n || memcmp(in->p, word, n) != 0)
		return 0;
	in->p += n;
	/* jansson reads a run of letters as one word: "truex" is not true */
	if (in->p < in->end && ((*in->p | 0x20) >= 'a' && (*in->p | 0x20) <= 'z'))
		return 0;
	return 1;
}

static json_t *jsonin_value(struct jsonin *in, int depth)
{
	jsonin_space(in);
	if (in->p >= in->end)
		return NULL;
	switch (*in->p) {
	case '{':
		if (depth >= JSONIN_MAX_DEPTH)
			return NULL;
		in->p++;
		return jsonin_object(in, depth + 1);
	case '[':
		if (depth >= JSONIN_MAX_DEPTH)
			return NULL;
		in->p++;
		return jsonin_array(in, depth + 1);
	case '"': {
		const char *s;
		size_t len;
		in->p++;
		if (jsonin_string(in, &s, &len) < 0)
			return NULL;
		return json_stringn_nocheck(s, len);
	}
	case 't':
		return jsonin_word(in, "true", 4) ? json_true() : NULL;
	case 'f':
		return jsonin_word(in, "false", 5) ? json_false() : NULL;
	case 'n':
		return jsonin_word(in, "null", 4) ? json_null() : NULL;
	default:
		return jsonin_number(in);
	}
}

json_t *jsonin_loadb(const char *buf, size_t len)
{
	struct jsonin in = {(const unsigned char *)buf, (const unsigned char *)buf + len, NULL, 0};

	if (buf == NULL)
		return NULL;
	jsonin_space(&in);
	if (in.p >= in.end || (*in.p != '{' && *in.p != '['))
		return NULL; /* jansson's error: the top must be an object or an array */
	json_t *v = jsonin_value(&in, 0);
	free(in.scratch);
	if (v == NULL)
		return NULL;
	jsonin_space(&in);
	if (in.p != in.end) {
		json_decref(v);
		return NULL;
	}
	return v;
}
