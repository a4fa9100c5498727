/*
 * jsonout — compact JSON text of a jansson value (see jsonout.h).
 */
#include "common/jsonout.h"

#include <stdlib.h>
#include <string.h>

#include "common/digits.h"
#include "common/xalloc.h"

struct jsonout {
	char *p;
	size_t len, cap;
};

static void jsonout_grow(struct jsonout *o, size_t n)
{
	if (o->len + n + 1 <= o->cap)
		return;
	while (o->len + n + 1 > o->cap)
		o->cap *= 2;
	o->p = xrealloc(o->p, o->cap);
}

static void jsonout_put(struct jsonout *o, const char *s, size_t n)
{
	jsonout_grow(o, n);
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void jsonout_char(struct jsonout *o, char c)
{
	jsonout_grow(o, 1);
	o->p[o->len++] = c;
}

/* 1 for the bytes a JSON string holds as they are: all but '"', '\\' and
 * the control characters below 0x20 */
/* clang-format off */
static const unsigned char jsonout_plain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};
/* clang-format on */

static void jsonout_string(struct jsonout *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0, i = 0;

	while (i < n && jsonout_plain[(unsigned char)s[i]])
		i++;
	if (i == n) { /* nothing to escape (most strings): one copy between quotes */
		jsonout_grow(o, n + 2);
		char *p = o->p + o->len;
		p[0] = '"';
		memcpy(p + 1, s, n);
		p[n + 1] = '"';
		o->len += n + 2;
		return;
	}
	jsonout_char(o, '"');
	for (; i < n; i++) {
		/* the run of bytes written as they are, one table look-up a byte */
		while (i < n && jsonout_plain[(unsigned char)s[i]])
			i++;
		if (i == n)
			break;
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t elen = 2;

		jsonout_put(o, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xF];
			elen = 6;
		}
		jsonout_put(o, esc, elen);
	}
	jsonout_put(o, s + run, n - run);
	jsonout_char(o, '"');
}

static void jsonout_value(struct jsonout *o, const json_t *v, size_t flags)
{
	char buf[24];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *item;
		int first = 1;

		jsonout_char(o, '{');
		json_object_foreach((json_t *)v, key, item)
		{
			if (!first)
				jsonout_char(o, ',');
			first = 0;
			jsonout_string(o, key, strlen(key));
			jsonout_char(o, ':');
			jsonout_value(o, item, flags);
		}
		jsonout_char(o, '}');
		break;
	}
	case JSON_ARRAY:
		jsonout_char(o, '[');
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				jsonout_char(o, ',');
			jsonout_value(o, json_array_get(v, i), flags);
		}
		jsonout_char(o, ']');
		break;
	case JSON_STRING:
		jsonout_string(o, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER: {
		/* snprintf costs ~700 instructions a number; digits by hand */
		char *end = buf + sizeof(buf), *p = digits_i64(end, json_integer_value(v));
		jsonout_put(o, p, (size_t)(end - p));
		break;
	}
	case JSON_REAL: {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | flags);

		if (s != NULL)
			jsonout_put(o, s, strlen(s));
		free(s);
		break;
	}
	case JSON_TRUE:
		jsonout_put(o, "true", 4);
		break;
	case JSON_FALSE:
		jsonout_put(o, "false", 5);
		break;
	case JSON_NULL:
		jsonout_put(o, "null", 4);
		break;
	}
}

char *jsonout_dumps(const json_t *v, size_t flags, size_t *len)
{
	struct jsonout o = {NULL, 0, 256};

	if (v == NULL)
		return NULL;
	o.p = xmalloc(o.cap);
	jsonout_value(&o, v, flags);
	o.p[o.len] = '\0';
	if (len)
		*len = o.len;
	return o.p;
}
