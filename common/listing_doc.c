/*
 * listing_doc — a stored need or offer document read back: its quantity and
 * end, its search key and the answer rendered from it (see listing.h).
 * No I/O, no clock.
 */
#include "common/listing.h"

#include <stdlib.h>
#include <string.h>

#include "common/dates.h"
#include "common/listing_int.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/textfold.h"
#include "common/units.h"
#include "common/xalloc.h"

int64_t listing_quantity_base(const json_t *doc)
{
	return listing_stored_base(doc, "quantity");
}

int64_t listing_ends_at(const json_t *doc)
{
	const char *key = listing_kind_of(doc) == LISTING_NEED ? "needed_by" : "available_until";
	json_t *v = json_object_get(doc, key);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

char *listing_search_text(const json_t *doc, const char *owner_name)
{
	const struct material *m = materials_find(listing_str(doc, "material"));
	const char *pcode = listing_str(doc, "province");
	const struct province *p = pcode ? provinces_find(pcode) : NULL;
	const char *parts[] = {
	    m ? m->name_vi : NULL,
	    m ? m->name_en : NULL,
	    listing_str(doc, "material"),
	    listing_str(doc, "grade"),
	    p ? p->name : NULL,
	    listing_str(doc, "province_input"),
	    listing_str(doc, "commune"),
	    listing_str(doc, "note"),
	    owner_name,
	};
	size_t n = sizeof(parts) / sizeof(parts[0]), total = 1, off = 0;

	for (size_t i = 0; i < n; i++)
		if (parts[i])
			total += strlen(parts[i]) + 1;
	char *joined = xmalloc(total);
	for (size_t i = 0; i < n; i++) {
		if (parts[i] == NULL)
			continue;
		size_t len = strlen(parts[i]);
		memcpy(joined + off, parts[i], len);
		off += len;
		joined[off++] = ' ';
	}
	joined[off] = '\0';
	char *key = text_fold_key(joined, off);
	free(joined);
	return key ? key : xstrdup("");
}

/* {"base", "amount", "unit"} of base units of m in u (amount and unit only
 * when exact); "base_unit" too when with_base_unit. */
static json_t *listing_render_amount(int64_t base, const struct material *m,
				     const struct material_unit *u, int with_base_unit)
{
	char amount[UNITS_TEXT_MAX];
	json_t *o = listing_obj(1, "base", json_integer(base));

	if (m && with_base_unit)
		json_object_set_new_nocheck(o, "base_unit", json_string(materials_base_unit(m)));
	if (u && units_format(base, u->factor, amount, sizeof(amount)) == 0) {
		json_object_set_new_nocheck(o, "amount", json_string_nocheck(amount));
		json_object_set_new_nocheck(o, "unit", json_string(u->code));
	}
	return o;
}

json_t *listing_render(const json_t *doc, const char *status, int64_t remaining_base,
		       int64_t version)
{
	return listing_render_in_place(json_deep_copy(doc), status, remaining_base, version);
}

json_t *listing_render_in_place(json_t *doc, const char *status, int64_t remaining_base,
				int64_t version)
{
	static const char *const times[] = {"needed_by",  "available_from", "available_until",
					    "created_at", "updated_at",	    NULL};
	const struct material *m = materials_find(listing_str(doc, "material"));
	const char *pcode = listing_str(doc, "province");
	const struct province *p = pcode ? provinces_find(pcode) : NULL;
	const struct material_unit *u = m ? listing_stored_unit(m, doc, "quantity") : NULL;
	int64_t quantity = listing_quantity_base(doc);
	json_t *out = doc; /* everything above was read before any field is replaced */
	char buf[DATES_BUF];

	if (status)
		json_object_set_new_nocheck(out, "status", json_string(status));
	json_object_set_new_nocheck(out, "version", json_integer(version));
	json_object_set_new_nocheck(out, "remaining",
				    listing_render_amount(remaining_base, m, u, 1));
	if (quantity >= 0) {
		int64_t allocated = quantity - remaining_base;
		json_object_set_new_nocheck(
		    out, "allocated",
		    listing_render_amount(allocated > 0 ? allocated : 0, m, u, 0));
	}
	if (m)
		json_object_set_new_nocheck(out, "material",
					    listing_obj(3, "code", json_string(m->code), "name",
							json_string(m->name_en), "name_vi",
							json_string(m->name_vi)));
	if (p)
		json_object_set_new_nocheck(
		    out, "province",
		    listing_obj(2, "code", json_string(p->code), "name", json_string(p->name)));
	for (const char *const *t = times; *t; t++) {
		json_t *v = json_object_get(doc, *t);
		if (json_is_integer(v)) {
			dates_format(json_integer_value(v), buf, sizeof(buf));
			json_object_set_new_nocheck(out, *t, json_string_nocheck(buf));
		}
	}
	json_t *loc = json_object_get(doc, "location");
	if (loc) {
		double lat = (double)json_integer_value(json_object_get(loc, "lat_udeg")) / 1e6;
		double lon = (double)json_integer_value(json_object_get(loc, "lon_udeg")) / 1e6;
		json_object_set_new_nocheck(
		    out, "location", listing_obj(2, "lat", json_real(lat), "lon", json_real(lon)));
	}
	return out;
}

json_t *listing_api_view(json_t *doc, const char *status, int64_t remaining_base, int64_t version,
			 const char *owner_name, int64_t created_at, int64_t updated_at)
{
	json_object_set_new_nocheck(doc, "created_at", json_integer(created_at));
	json_object_set_new_nocheck(doc, "updated_at", json_integer(updated_at));
	json_t *view = listing_render_in_place(doc, status, remaining_base, version);
	json_object_set_new_nocheck(view, "owner",
				    listing_obj(2, "id",
						json_incref(json_object_get(view, "owner")), "name",
						json_string(owner_name ? owner_name : "")));
	return view;
}
