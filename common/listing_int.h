/*
 * listing_int — what listing.c (validation) and listing_doc.c (the stored
 * document read back) share: reading a stored document's members, inline so
 * that neither file calls into the other's. Nothing outside
 * common/listing*.c includes this header.
 */
#ifndef CM_LISTING_INT_H
#define CM_LISTING_INT_H

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>

#include "common/materials.h"

/* obj[key] as a string, or NULL. */
static inline const char *listing_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The unit of doc[obj] ("quantity", "min_order", "price"), or NULL. */
static inline const struct material_unit *listing_stored_unit(const struct material *m,
							      const json_t *doc, const char *obj)
{
	const char *code = listing_str(json_object_get(doc, obj), "unit");
	return code ? materials_unit(m, code) : NULL;
}

/* doc[obj].base, or -1 when absent. */
static inline int64_t listing_stored_base(const json_t *doc, const char *obj)
{
	json_t *b = json_object_get(json_object_get(doc, obj), "base");
	return json_is_integer(b) ? json_integer_value(b) : -1;
}

/*
 * {k1: v1, ...} of n pairs (static keys; each value a new reference, taken),
 * as json_pack("{s:o, ...}") makes it, NULL (every value released) when a
 * value is NULL. json_pack read its format string for every object: ~3,000
 * instructions for a listing's three-member material, a quarter of that
 * made directly (docs/performance.md, "Fifth pass (issue 15): POST CPU").
 */
static inline json_t *listing_obj(int n, ...)
{
	json_t *o = json_object();
	int ok = o != NULL;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *key = va_arg(ap, const char *);
		json_t *v = va_arg(ap, json_t *);
		if (v == NULL || !ok)
			ok = 0;
		if (ok)
			ok = json_object_set_new_nocheck(o, key, v) == 0;
		else
			json_decref(v);
	}
	va_end(ap);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#endif
