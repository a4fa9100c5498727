/*
 * fields — checking the fields of a JSON request object, all at once.
 *
 * Every check appends {field, message} to an errors array instead of
 * stopping, so one reply can list every bad field. Strings are checked for
 * valid UTF-8 (jansson already guarantees it), control characters and length
 * in characters, and come back NFC-normalised. Pure: no I/O.
 */
#ifndef CM_FIELDS_H
#define CM_FIELDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Appends {field, message}; creates *errors on first use. */
void fields_error(json_t **errors, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports every member of obj whose name is not in allowed (NULL-terminated). */
void fields_unknown(const json_t *obj, const char *prefix, const char *const *allowed,
		    json_t **errors);

/*
 * A string field of at most max_chars characters (at least 1 when present).
 * Returns a new NFC string (caller frees), or NULL when absent or bad.
 * multiline allows \n and \t.
 */
char *fields_string(const json_t *obj, const char *key, const char *field, int required,
		    size_t max_chars, int multiline, json_t **errors);

/*
 * An integer field in [min, max]. Returns 1 and sets *out when present and
 * good, 0 when absent (and not required), -1 when bad (error recorded).
 */
int fields_int(const json_t *obj, const char *key, const char *field, int required, int64_t min,
	       int64_t max, int64_t *out, json_t **errors);

/* A boolean field: 1 set, 0 absent, -1 bad. */
int fields_bool(const json_t *obj, const char *key, const char *field, int *out, json_t **errors);

/*
 * An array of strings, each at most max_chars, at most max_items. Returns a
 * new reference to an array of NFC strings, or NULL when absent or bad.
 */
json_t *fields_string_array(const json_t *obj, const char *key, const char *field, size_t max_items,
			    size_t max_chars, json_t **errors);

/* Forum ids are slugs: [a-z0-9][a-z0-9-]{0,39}. 1 when s is one. */
#define FIELDS_FORUM_MAX 40
int fields_forum_id_ok(const char *s);

/* Characters (code points) in valid UTF-8 text. */
size_t fields_chars(const char *s);

#endif
