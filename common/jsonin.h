/*
 * jsonin — a request body's JSON read into jansson values without jansson's
 * lexer, for the bodies it can vouch for; every other body is left to
 * json_loadb.
 *
 * jansson 2.14's json_loadb reads a byte at a time through a stream with a
 * callback, copying each string byte into a growing buffer: a POST's
 * 250-byte body cost ~42k instructions to parse, more than its validation
 * (docs/performance.md, "Fifth pass (issue 15): POST CPU"). This reads the
 * common subset in one pass over the bytes and builds the same values with
 * jansson's own constructors, in the same order.
 *
 * The contract: jsonin_loadb(b, n) is either NULL ("not vouched for": the
 * caller asks json_loadb(b, n, JSON_REJECT_DUPLICATES, ...), which then
 * gives the value or the error it always gave), or a value equal to
 * json_loadb's, keys in the same order. It declines, rather than decides,
 * everything beyond strict plain JSON: a top value other than an object or
 * array, \u escapes, bytes that are not strict UTF-8, control characters
 * in strings, numbers beyond 18 digits or out of a double's range,
 * duplicate keys, nesting deeper than JSONIN_MAX_DEPTH, anything after the
 * value but whitespace. tests/unit/test_jsonin.c holds it to json_loadb
 * over random and mutated texts.
 *
 * Pure: no I/O, no global state (strtod of the C locale, which the server
 * never changes). When jansson cannot allocate, NULL (json_loadb decides).
 */
#ifndef CM_JSONIN_H
#define CM_JSONIN_H

#include <stddef.h>

#include <jansson.h>

#define JSONIN_MAX_DEPTH 32

/* The object or array of the len bytes at buf (a new reference), or NULL:
 * see above. buf need not be NUL-terminated. */
json_t *jsonin_loadb(const char *buf, size_t len);

#endif
