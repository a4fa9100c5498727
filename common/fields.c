/*
 * fields — request field checks that collect every error (see fields.h).
 */
#include "common/fields.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/textfold.h"
#include "common/xalloc.h"

void fields_error(json_t **errors, const char *field, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (*errors == NULL)
		*errors = json_array();
	json_t *e = json_object();
	/*
	 * A field name built from a client's key may have been cut inside a
	 * UTF-8 character: shorten it to whole characters rather than lose it.
	 */
	size_t fl = strlen(field);
	while (fl > 0 && !text_valid_utf8(field, fl))
		fl--;
	json_object_set_new(e, "field", json_stringn(field, fl));
	/* Messages may quote client text cut at a byte limit: never fail on it. */
	json_t *m = json_string(msg);
	json_object_set_new(e, "message", m ? m : json_string("invalid value"));
	json_array_append_new(*errors, e);
}

void fields_unknown(const json_t *obj, const char *prefix, const char *const *allowed,
		    json_t **errors)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		int known = 0;
		for (const char *const *a = allowed; *a && !known; a++)
			known = strcmp(*a, key) == 0;
		if (!known) {
			char field[128];
			snprintf(field, sizeof(field), "%s%s", prefix, key);
			fields_error(errors, field, "unknown field");
		}
	}
}

int fields_forum_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > FIELDS_FORUM_MAX || s[0] == '-')
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	return 1;
}

size_t fields_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

char *fields_string(const json_t *obj, const char *key, const char *field, int required,
		    size_t max_chars, int multiline, json_t **errors)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		if (required)
			fields_error(errors, field, "is required");
		return NULL;
	}
	if (!json_is_string(v)) {
		fields_error(errors, field, "must be a string");
		return NULL;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (strlen(s) != len) {
		fields_error(errors, field, "must not contain NUL characters");
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int c1 = c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
			 (unsigned char)s[i + 1] <= 0x9F; /* U+0080..U+009F */
		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) ||
		    c == 0x7f || c1) {
			fields_error(errors, field, "must not contain control characters");
			return NULL;
		}
	}
	char *nfc = text_nfc(s, len);
	if (nfc == NULL) {
		fields_error(errors, field, "must be valid UTF-8");
		return NULL;
	}
	/* Trim surrounding spaces: "  Bát Tràng " is "Bát Tràng". */
	size_t start = strspn(nfc, " \t\r\n");
	size_t end = strlen(nfc);
	while (end > start && strchr(" \t\r\n", nfc[end - 1]))
		end--;
	memmove(nfc, nfc + start, end - start);
	nfc[end - start] = '\0';
	size_t chars = fields_chars(nfc);
	if (chars == 0) {
		if (required)
			fields_error(errors, field, "must not be empty");
		free(nfc);
		return NULL;
	}
	if (chars > max_chars) {
		fields_error(errors, field, "must be at most %zu characters (got %zu)", max_chars,
			     chars);
		free(nfc);
		return NULL;
	}
	return nfc;
}

int fields_int(const json_t *obj, const char *key, const char *field, int required, int64_t min,
	       int64_t max, int64_t *out, json_t **errors)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		if (required) {
			fields_error(errors, field, "is required");
			return -1;
		}
		return 0;
	}
	if (!json_is_integer(v)) {
		fields_error(errors, field, "must be a whole number");
		return -1;
	}
	json_int_t x = json_integer_value(v);
	if (x < min || x > max) {
		fields_error(errors, field, "must be from %lld to %lld", (long long)min,
			     (long long)max);
		return -1;
	}
	*out = x;
	return 1;
}

int fields_bool(const json_t *obj, const char *key, const char *field, int *out, json_t **errors)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		fields_error(errors, field, "must be true or false");
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

json_t *fields_string_array(const json_t *obj, const char *key, const char *field, size_t max_items,
			    size_t max_chars, json_t **errors)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_array(v)) {
		fields_error(errors, field, "must be an array of strings");
		return NULL;
	}
	if (json_array_size(v) > max_items) {
		fields_error(errors, field, "must hold at most %zu items", max_items);
		return NULL;
	}
	json_t *out = json_array();
	size_t i;
	json_t *item;
	int bad = 0;
	json_array_foreach(v, i, item)
	{
		char name[96];
		snprintf(name, sizeof(name), "%s[%zu]", field, i);
		json_t *wrap = json_pack("{sO}", "v", item);
		char *s = fields_string(wrap, "v", name, 1, max_chars, 0, errors);
		json_decref(wrap);
		if (s == NULL) {
			bad = 1;
			continue;
		}
		json_array_append_new(out, json_string(s));
		free(s);
	}
	if (bad) {
		json_decref(out);
		return NULL;
	}
	return out;
}
