/*
 * csvout — CSV text of JSON rows (see csvout.h).
 */
#include "common/csvout.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonout.h"
#include "common/xalloc.h"

/* One field made of prefix (may be "") and s, quoted when either needs it. */
static void csvout_field_pre(csvout_sink sink, void *arg, const char *prefix, const char *s,
			     size_t len)
{
	size_t plen = strlen(prefix);
	int quote = 0;
	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		if (plen)
			sink(arg, prefix, plen);
		if (len)
			sink(arg, s, len);
		return;
	}
	sink(arg, "\"", 1);
	if (plen)
		sink(arg, prefix, plen); /* never holds a quote */
	size_t from = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '"')
			continue;
		sink(arg, s + from, i + 1 - from); /* up to and with the quote */
		sink(arg, "\"", 1);		   /* doubled */
		from = i + 1;
	}
	if (from < len)
		sink(arg, s + from, len - from);
	sink(arg, "\"", 1);
}

void csvout_field(csvout_sink sink, void *arg, const char *s, size_t len)
{
	csvout_field_pre(sink, arg, "", s, len);
}

void csvout_header(csvout_sink sink, void *arg, const struct csvout_column *cols, size_t n,
		   unsigned flags)
{
	for (size_t i = 0; i < n; i++) {
		const char *h =
		    (flags & CSVOUT_LABELS) && cols[i].label ? cols[i].label : cols[i].header;
		if (i)
			sink(arg, ",", 1);
		csvout_field(sink, arg, h, strlen(h));
	}
	sink(arg, "\r\n", 2);
}

const json_t *csvout_lookup(const json_t *v, const char *path)
{
	const char *p = path;
	while (v && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		v = json_is_object(v) ? json_object_getn(v, p, n) : NULL;
		p += n + (dot != NULL);
	}
	return v;
}

/* Whether a spreadsheet would take text starting so for a formula. */
static int csvout_runs(const char *s, size_t len)
{
	return len > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
			   s[0] == '\t' || s[0] == '\r');
}

static void csvout_cell(csvout_sink sink, void *arg, const json_t *v, unsigned flags)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		int guard = (flags & CSVOUT_SAFE_TEXT) && csvout_runs(s, len);
		csvout_field_pre(sink, arg, guard ? "'" : "", s, len);
		return;
	}
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" PRId64, (int64_t)json_integer_value(v));
		sink(arg, num, strlen(num));
		return;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		sink(arg, num, strlen(num));
		return;
	case JSON_TRUE:
		sink(arg, "true", 4);
		return;
	case JSON_FALSE:
		sink(arg, "false", 5);
		return;
	case JSON_OBJECT:
	case JSON_ARRAY: {
		size_t len = 0;
		char *text = jsonout_dumps(v, JSON_REAL_PRECISION(15), &len);
		csvout_field(sink, arg, text, len);
		free(text);
		return;
	}
	case JSON_NULL:
		return;
	}
}

void csvout_row(csvout_sink sink, void *arg, const json_t *row, const struct csvout_column *cols,
		size_t n, unsigned flags)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			sink(arg, ",", 1);
		const json_t *v = csvout_lookup(row, cols[i].path);
		if (v)
			csvout_cell(sink, arg, v, flags);
	}
	sink(arg, "\r\n", 2);
}

static void csvout_paths_of(const json_t *obj, const char *prefix, json_t *seen, json_t *out)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		char *path = prefix[0] ? xasprintf("%s.%s", prefix, key) : xstrdup(key);
		if (json_is_object(v)) {
			csvout_paths_of(v, path, seen, out);
		} else if (json_object_get(seen, path) == NULL) {
			json_object_set_new(seen, path, json_true());
			json_array_append_new(out, json_string(path));
		}
		free(path);
	}
}

json_t *csvout_paths(const json_t *rows)
{
	json_t *out = json_array();
	json_t *seen = json_object();
	size_t i;
	const json_t *row;
	json_array_foreach(rows, i, row) if (json_is_object(row))
	    csvout_paths_of(row, "", seen, out);
	json_decref(seen);
	return out;
}
