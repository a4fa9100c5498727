/*
 * jsonout — compact JSON text of a jansson value, byte for byte what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | flags) writes, at a fraction
 * of its cost.
 *
 * jansson 2.14's dump formats every object's and array's address with
 * snprintf("%p") for its loop check and goes through a callback per piece;
 * a listing's answer cost ~70k instructions to dump, more than parsing the
 * request. The values written here are built by the server and have no
 * loops. Strings are copied as they are (they are valid UTF-8: jansson
 * checks on creation) but for the escapes jansson makes: \" \\ \b \f \n \r
 * \t and \u00XX for the other control characters. Reals, which are rare
 * (coordinates, reference data), are written by jansson itself with the
 * caller's flags (JSON_REAL_PRECISION). Keys come in the object's order, as
 * jansson's (insertion order).
 *
 * Pure: no I/O, no global state. Allocation aborts on OOM.
 */
#ifndef CM_JSONOUT_H
#define CM_JSONOUT_H

#include <stddef.h>

#include <jansson.h>

/*
 * The text of v (a new NUL-terminated string the caller frees; its length
 * in *len when len is not NULL). flags: jansson's, of which only
 * JSON_REAL_PRECISION matters. NULL when v is NULL.
 */
char *jsonout_dumps(const json_t *v, size_t flags, size_t *len);

#endif
