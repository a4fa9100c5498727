/*
 * listing — need and offer documents: validation and PATCH (see listing.h;
 * listing_doc.c reads a stored document back). Every check records its
 * error and goes on, so one reply lists every bad field. No I/O, no clock.
 */
#include "common/listing.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fields.h"
#include "common/geo.h"
#include "common/listing_int.h"
#include "common/materials.h"
#include "common/provinces.h"
#include "common/units.h"

static const char *const listing_kind_names[] = {"need", "offer"};

/* What a POST body may carry, by kind. */
static const char *const listing_need_fields[] = {
    "material", "grade",   "quantity",	  "unit",      "price_vnd",	  "price_unit",
    "province", "commune", "location",	  "needed_by", "max_distance_km", "accept_substitutes",
    "note",	"forum",   "after_forum", NULL};
static const char *const listing_offer_fields[] = {
    "material",	       "grade",	    "quantity",	       "unit",	   "price_vnd",
    "price_unit",      "province",  "commune",	       "location", "available_from",
    "available_until", "min_order", "max_distance_km", "note",	   "forum",
    "after_forum",     NULL};
/* Members of one kind only: the other kind gets a clearer error. */
static const char *const listing_need_only[] = {"needed_by", "accept_substitutes", NULL};
static const char *const listing_offer_only[] = {"available_from", "available_until", "min_order",
						 NULL};
/* What a PATCH may change, by kind. */
static const char *const listing_need_patch[] = {
    "quantity", "unit", "price_vnd", "price_unit", "needed_by", "note", "max_distance_km", NULL};
static const char *const listing_offer_patch[] = {
    "quantity",	       "unit", "price_vnd", "price_unit",      "available_from",
    "available_until", "note", "min_order", "max_distance_km", NULL};
/* Members the server sets; a PATCH naming them is told so. */
static const char *const listing_server_fields[] = {
    "id",	  "owner",     "status",    "version",	      "created_at",
    "updated_at", "remaining", "allocated", "province_input", NULL};

enum listing_kind listing_kind_parse(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (s && strcmp(s, listing_kind_names[i]) == 0)
			return (enum listing_kind)i;
	return LISTING_KIND_UNKNOWN;
}

const char *listing_kind_name(enum listing_kind kind)
{
	return kind < LISTING_KIND_UNKNOWN ? listing_kind_names[kind] : "unknown";
}

enum listing_kind listing_kind_of(const json_t *doc)
{
	return listing_kind_parse(json_string_value(json_object_get(doc, "kind")));
}

static size_t listing_nerr(const json_t *errors)
{
	return errors ? json_array_size(errors) : 0;
}

static int listing_in(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

/* An absent or null member. */
static int listing_absent(const json_t *v)
{
	return v == NULL || json_is_null(v);
}

/*
 * fields_string() telling the three outcomes apart: 1 set (*out to free), 0
 * absent (null, or empty text in an optional field), -1 bad (error recorded).
 */
static int listing_string(const json_t *obj, const char *key, int required, size_t max_chars,
			  int multiline, char **out, json_t **errors)
{
	size_t before = listing_nerr(*errors);

	*out = fields_string(obj, key, key, required, max_chars, multiline, errors);
	if (*out)
		return 1;
	return listing_nerr(*errors) > before ? -1 : 0;
}

/* body[key] as a time: 1 set, 0 absent or null, -1 bad (error recorded). */
static int listing_time(const json_t *body, const char *key, const char *vi, enum dates_edge edge,
			int64_t *out, json_t **errors)
{
	json_t *v = json_object_get(body, key);
	const char *why;

	if (listing_absent(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		dates_parse(NULL, edge, out, &why);
		fields_error(errors, key, "%s: %s", vi, why);
		return -1;
	}
	if (dates_parse(json_string_value(v), edge, out, &why) != 0) {
		fields_error(errors, key, "%s: %s", vi, why);
		return -1;
	}
	return 1;
}

/*
 * The kind's dates from body, over doc's stored ones when patching. Needs:
 * needed_by (required, in the future). Offers: available_from (default now),
 * available_until (optional, in the future, after available_from).
 */
static void listing_dates(json_t *doc, enum listing_kind kind, const json_t *body, int patch,
			  int64_t now_ms, json_t **errors)
{
	int64_t t, from = now_ms, until = 0;
	int rf = 0, ru = 0;

	if (kind == LISTING_NEED) {
		if (patch && json_object_get(body, "needed_by") == NULL)
			return;
		int r = listing_time(body, "needed_by", "hạn cần", DATES_DAY_END, &t, errors);
		if (r == 0)
			fields_error(errors, "needed_by",
				     "hạn cần: is required: the day you need the material by "
				     "(YYYY-MM-DD)");
		else if (r == 1 && t <= now_ms)
			fields_error(errors, "needed_by", "hạn cần: must be in the future");
		else if (r == 1)
			json_object_set_new(doc, "needed_by", json_integer(t));
		return;
	}

	json_t *fv = json_object_get(body, "available_from");
	json_t *uv = json_object_get(body, "available_until");
	if (patch && fv == NULL && uv == NULL)
		return;
	if (!patch || fv) {
		rf =
		    listing_time(body, "available_from", "có hàng từ", DATES_DAY_START, &t, errors);
		from = rf == 1 ? t : now_ms;
	} else if (json_is_integer(json_object_get(doc, "available_from"))) {
		from = json_integer_value(json_object_get(doc, "available_from"));
	}
	if (!patch || uv) {
		ru = listing_time(body, "available_until", "có hàng đến", DATES_DAY_END, &until,
				  errors);
	} else if (json_is_integer(json_object_get(doc, "available_until"))) {
		until = json_integer_value(json_object_get(doc, "available_until"));
		ru = 2; /* kept from the stored listing */
	}
	if (rf < 0 || ru < 0)
		return;
	if (ru == 1 && until <= now_ms) {
		fields_error(errors, "available_until", "có hàng đến: must be in the future");
		return;
	}
	if (ru != 0 && until <= from) {
		if (ru == 1)
			fields_error(errors, "available_until",
				     "có hàng đến: must be after available_from");
		else
			fields_error(errors, "available_from",
				     "có hàng từ: must be before available_until");
		return;
	}
	json_object_set_new(doc, "available_from", json_integer(from));
	if (ru == 0)
		json_object_del(doc, "available_until");
	else
		json_object_set_new(doc, "available_until", json_integer(until));
}

/* ---- material, grade, units, quantities, price ------------------------ */

static const struct material *listing_material(const json_t *body, json_t **errors)
{
	const struct material *m = NULL;
	char *code;

	if (listing_string(body, "material", 1, LISTING_MATERIAL_TEXT_MAX, 0, &code, errors) != 1)
		return NULL;
	m = materials_find(code);
	if (m == NULL)
		fields_error(errors, "material",
			     "nguyên liệu: '%s' is not a material code; the codes are listed at "
			     "GET /v1/materials",
			     code);
	free(code);
	return m;
}

/* "A, B, C" or "kg (kg), yen (yến), …" into buf. */
static void listing_list(const struct material *m, int units, char *buf, size_t len)
{
	size_t n = units ? m->n_units : m->n_grades;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t off = strlen(buf);
		if (units)
			snprintf(buf + off, len - off, "%s%s (%s)", i ? ", " : "", m->units[i].code,
				 m->units[i].name);
		else
			snprintf(buf + off, len - off, "%s%s", i ? ", " : "", m->grades[i]);
	}
}

static void listing_grade(json_t *doc, const struct material *m, const json_t *body, int required,
			  json_t **errors)
{
	char list[128];
	char *g;

	if (listing_string(body, "grade", required, LISTING_GRADE_TEXT_MAX, 0, &g, errors) != 1)
		return;
	if (m != NULL) {
		int rank = materials_grade_rank(m, g);
		if (rank < 0) {
			listing_list(m, 0, list, sizeof(list));
			fields_error(errors, "grade",
				     "loại: '%s' is not a grade of %s; accepted, best first: %s", g,
				     m->code, list);
		} else {
			/* The scale's own spelling: "a" is stored as "A". */
			json_object_set_new(doc, "grade",
					    json_string(m->grades[m->n_grades - (size_t)rank]));
		}
	}
	free(g);
}

/*
 * The unit named by body[key], or def when absent. 1 named, 0 default, -1
 * bad (error recorded, or the material is unknown so it cannot be checked).
 */
static int listing_unit(const struct material *m, const json_t *body, const char *key,
			const char *vi, const struct material_unit *def,
			const struct material_unit **out, json_t **errors)
{
	char list[160];
	char *s;
	int r = listing_string(body, key, 0, LISTING_UNIT_TEXT_MAX, 0, &s, errors);

	*out = NULL;
	if (r < 0)
		return -1;
	if (r == 0) {
		*out = def;
		return 0;
	}
	if (m != NULL)
		*out = materials_unit(m, s);
	if (m != NULL && *out == NULL) {
		listing_list(m, 1, list, sizeof(list));
		fields_error(errors, key, "%s: unknown unit '%s' for %s; accepted: %s", vi, s,
			     m->code, list);
	}
	free(s);
	return *out ? 1 : -1;
}

/*
 * body[key], a decimal quantity in unit u of m, as {"amount", "unit",
 * "base"} (amount in its shortest exact form). 1 set, 0 absent or null, -1
 * bad. Without a material or unit only the form of the number is checked.
 */
static int listing_amount(const struct material *m, const struct material_unit *u,
			  const json_t *body, const char *key, const char *vi, json_t **out,
			  int64_t *base, json_t **errors)
{
	json_t *v = json_object_get(body, key);
	char text[UNITS_TEXT_MAX], amount[UNITS_TEXT_MAX];
	const char *why;
	int64_t b;

	*out = NULL;
	if (listing_absent(v))
		return 0;
	if (units_json_text(v, text, sizeof(text), &why) != 0) {
		fields_error(errors, key, "%s: %s", vi, why);
		return -1;
	}
	if (m == NULL || u == NULL) {
		/* Exactness and size depend on the unit: only the form here. */
		if (units_scale_decimal(text, 1, &b, &why) != 0 &&
		    strcmp(why, "not a whole number of the base unit") != 0 &&
		    strcmp(why, "too large") != 0)
			fields_error(errors, key, "%s: %s", vi, why);
		return -1;
	}
	if (units_to_base(m, text, u->code, &b, &why) != 0) {
		if (strncmp(why, "not a whole number", 18) == 0)
			fields_error(errors, key,
				     "%s: %s %s is %s; use a smaller unit or fewer decimals", vi,
				     text, u->code, why);
		else
			fields_error(errors, key, "%s: %s", vi, why);
		return -1;
	}
	units_format(b, u->factor, amount, sizeof(amount));
	*out = listing_obj(3, "amount", json_string(amount), "unit", json_string(u->code), "base",
			   json_integer(b));
	*base = b;
	return 1;
}

/*
 * quantity (+ unit) and, for offers, min_order, from body over doc's when
 * patching; then min_order <= quantity. *unit_out: the quantity's unit.
 */
static void listing_quantities(json_t *doc, const struct material *m, enum listing_kind kind,
			       const json_t *body, int patch, const struct material_unit **unit_out,
			       json_t **errors)
{
	json_t *qv = json_object_get(body, "quantity");
	json_t *uv = json_object_get(body, "unit");
	json_t *mv = json_object_get(body, "min_order");
	const struct material_unit *u = m ? &m->units[0] : NULL;
	json_t *obj;
	int64_t qbase = listing_stored_base(doc, "quantity"), mbase;
	int ru = 0, rq = 0, rm = 0;

	if (patch && qv == NULL) {
		u = m ? listing_stored_unit(m, doc, "quantity") : NULL;
		if (uv != NULL) {
			fields_error(errors, "unit",
				     "đơn vị: send quantity with unit (the new quantity in it)");
			ru = -1;
		}
	} else {
		if (patch)
			u = m ? listing_stored_unit(m, doc, "quantity") : NULL;
		ru = listing_unit(m, body, "unit", "đơn vị", u, &u, errors);
		if (listing_absent(qv)) {
			fields_error(errors, "quantity", "số lượng: is required%s",
				     patch ? " and cannot be cleared" : "");
			rq = -1;
		} else {
			rq = listing_amount(m, ru < 0 ? NULL : u, body, "quantity", "số lượng",
					    &obj, &qbase, errors);
			if (rq == 1) {
				json_object_set_new(obj, "base_unit",
						    json_string(materials_base_unit(m)));
				json_object_set_new(doc, "quantity", obj);
			}
		}
	}
	*unit_out = ru < 0 ? NULL : u;

	if (kind != LISTING_OFFER)
		return;
	if (patch && mv == NULL) {
		/* kept; still checked against a new quantity below */
	} else if (listing_absent(mv)) {
		json_object_del(doc, "min_order"); /* null clears it */
	} else {
		rm = listing_amount(m, ru < 0 ? NULL : u, body, "min_order", "đơn hàng tối thiểu",
				    &obj, &mbase, errors);
		if (rm == 1)
			json_object_set_new(doc, "min_order", obj);
	}
	mbase = listing_stored_base(doc, "min_order");
	if (ru < 0 || rq < 0 || rm < 0 || mbase < 0 || qbase < 0 || mbase <= qbase)
		return;
	if (mv != NULL)
		fields_error(errors, "min_order",
			     "đơn hàng tối thiểu: must not exceed the quantity (%s %s)",
			     listing_str(json_object_get(doc, "quantity"), "amount"),
			     listing_str(json_object_get(doc, "quantity"), "unit"));
	else
		fields_error(errors, "quantity",
			     "số lượng: must not be below min_order (%s %s); change min_order too",
			     listing_str(json_object_get(doc, "min_order"), "amount"),
			     listing_str(json_object_get(doc, "min_order"), "unit"));
}

/*
 * price_vnd (+ price_unit, default: the stored price's unit when patching,
 * else the quantity's unit qu). Required for offers; a need's is a maximum
 * and optional (null clears it in a patch).
 */
static void listing_price(json_t *doc, const struct material *m, enum listing_kind kind,
			  const json_t *body, int patch, const struct material_unit *qu,
			  json_t **errors)
{
	json_t *vv = json_object_get(body, "price_vnd");
	json_t *pv = json_object_get(body, "price_unit");
	const struct material_unit *def = qu, *pu;
	int64_t vnd = 0;
	int rv = 1;

	if (patch && vv == NULL && pv == NULL)
		return;
	if (patch && m && json_object_get(doc, "price"))
		def = listing_stored_unit(m, doc, "price");
	int rp = listing_unit(m, body, "price_unit", "đơn vị giá", def, &pu, errors);
	if (listing_absent(vv)) {
		rv = 0;
		if (kind == LISTING_OFFER && (!patch || vv != NULL)) {
			fields_error(errors, "price_vnd",
				     "giá: is required: the asking price in VND per price_unit");
			rv = -1;
		}
		if (!listing_absent(pv) && rp >= 0)
			fields_error(errors, "price_unit", "đơn vị giá: send price_vnd with it");
	} else if (!json_is_integer(vv)) {
		fields_error(errors, "price_vnd", "giá: must be a whole number of VND");
		rv = -1;
	} else if ((vnd = json_integer_value(vv)) < LISTING_PRICE_MIN || vnd > LISTING_PRICE_MAX) {
		fields_error(errors, "price_vnd", "giá: must be from %d to %" PRId64 " VND",
			     LISTING_PRICE_MIN, LISTING_PRICE_MAX);
		rv = -1;
	}
	if (rv == 0 && vv != NULL)
		json_object_del(doc, "price"); /* a need's maximum, cleared */
	if (rv == 1 && rp >= 0 && pu != NULL)
		json_object_set_new(doc, "price",
				    listing_obj(3, "vnd", json_integer(vnd), "unit",
						json_string(pu->code), "factor",
						json_integer(pu->factor)));
}

/* ---- place ------------------------------------------------------------ */

static void listing_province(json_t *doc, const json_t *body, json_t **errors)
{
	const struct province *p;
	char *s;

	if (listing_string(body, "province", 1, LISTING_PROVINCE_TEXT_MAX, 0, &s, errors) != 1)
		return;
	p = provinces_find(s);
	if (p == NULL) {
		fields_error(errors, "province",
			     "tỉnh/thành: not a province code or name, current or pre-2025 (see "
			     "GET /v1/provinces)");
	} else {
		json_object_set_new(doc, "province", json_string(p->code));
		/* Keep what was typed ("Hải Dương"): it still finds the listing. */
		if (strcasecmp(s, p->code) != 0)
			json_object_set_new(doc, "province_input", json_string(s));
	}
	free(s);
}

static int listing_coordinate(const json_t *loc, const char *key, int lat, int32_t *out,
			      json_t **errors)
{
	char field[24];
	json_t *v = json_object_get(loc, key);
	const char *why;

	snprintf(field, sizeof(field), "location.%s", key);
	if (v == NULL) {
		fields_error(errors, field, "vị trí: is required with location");
		return -1;
	}
	if (!json_is_number(v) || geo_udeg_from_degrees(json_number_value(v), out) != 0) {
		fields_error(errors, field, "vị trí: must be a number of degrees");
		return -1;
	}
	if ((lat ? geo_check(*out, GEO_LON_MIN_UDEG, &why)
		 : geo_check(GEO_LAT_MIN_UDEG, *out, &why)) != 0) {
		fields_error(errors, field, "vị trí: %s", why);
		return -1;
	}
	return 0;
}

static void listing_location(json_t *doc, const json_t *body, json_t **errors)
{
	static const char *const allowed[] = {"lat", "lon", NULL};
	json_t *loc = json_object_get(body, "location");
	int32_t lat = 0, lon = 0;

	if (listing_absent(loc))
		return;
	if (!json_is_object(loc)) {
		fields_error(errors, "location",
			     "vị trí: must be an object like {\"lat\": 21.03, \"lon\": 105.85} in "
			     "degrees");
		return;
	}
	fields_unknown(loc, "location.", allowed, errors);
	int bad = listing_coordinate(loc, "lat", 1, &lat, errors);
	bad |= listing_coordinate(loc, "lon", 0, &lon, errors);
	if (!bad)
		json_object_set_new(doc, "location",
				    listing_obj(2, "lat_udeg", json_integer((int)lat), "lon_udeg",
						json_integer((int)lon)));
}

/* ---- the rest --------------------------------------------------------- */

static void listing_note(json_t *doc, const json_t *body, json_t **errors)
{
	char *s;
	int r = listing_string(body, "note", 0, LISTING_NOTE_MAX, 1, &s, errors);

	if (r == 1)
		json_object_set_new(doc, "note", json_string(s));
	else if (r == 0)
		json_object_del(doc, "note"); /* null or "" clears it */
	free(s);
}

static void listing_distance(json_t *doc, const json_t *body, json_t **errors)
{
	int64_t km;
	int r = fields_int(body, "max_distance_km", "max_distance_km", 0, LISTING_DISTANCE_MIN_KM,
			   LISTING_DISTANCE_MAX_KM, &km, errors);

	if (r == 1)
		json_object_set_new(doc, "max_distance_km", json_integer(km));
	else if (r == 0)
		json_object_del(doc, "max_distance_km");
}

/* Errors for members the body may not carry. */
static void listing_check_members(enum listing_kind kind, const json_t *body, int patch,
				  json_t **errors)
{
	const char *const *fields =
	    kind == LISTING_NEED ? listing_need_fields : listing_offer_fields;
	const char *const *other = kind == LISTING_NEED ? listing_offer_only : listing_need_only;
	const char *const *changeable =
	    kind == LISTING_NEED ? listing_need_patch : listing_offer_patch;
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)body, key, v)
	{
		if (listing_in(patch ? changeable : fields, key))
			continue;
		if (listing_in(other, key))
			fields_error(errors, key, "only %s have this field; this is %s",
				     kind == LISTING_NEED ? "offers" : "needs",
				     kind == LISTING_NEED ? "a need" : "an offer");
		else if (patch && listing_in(listing_server_fields, key))
			fields_error(errors, key, "is set by the server and cannot be changed");
		else if (patch && (listing_in(fields, key) || strcmp(key, "kind") == 0))
			fields_error(errors, key,
				     "cannot be changed; close the listing and post a new one");
		else
			fields_error(errors, key, "unknown field");
	}
}

json_t *listing_from_request(enum listing_kind kind, const json_t *body, int64_t now_ms,
			     json_t **errors)
{
	size_t before = listing_nerr(*errors);
	const struct material_unit *qu;
	char *s;
	int b = 0;

	if (kind == LISTING_KIND_UNKNOWN) {
		fields_error(errors, "", "unknown listing kind");
		return NULL;
	}
	if (!json_is_object(body)) {
		fields_error(errors, "", "the body must be a JSON object");
		return NULL;
	}
	listing_check_members(kind, body, 0, errors);

	json_t *doc = json_object();
	json_object_set_new(doc, "kind", json_string(listing_kind_name(kind)));
	const struct material *m = listing_material(body, errors);
	if (m)
		json_object_set_new(doc, "material", json_string(m->code));
	listing_grade(doc, m, body, kind == LISTING_OFFER, errors);
	if (kind == LISTING_NEED) {
		fields_bool(body, "accept_substitutes", "accept_substitutes", &b, errors);
		json_object_set_new(doc, "accept_substitutes", json_boolean(b));
	}
	listing_quantities(doc, m, kind, body, 0, &qu, errors);
	listing_price(doc, m, kind, body, 0, qu, errors);
	listing_province(doc, body, errors);
	if (listing_string(body, "commune", 0, LISTING_COMMUNE_MAX, 0, &s, errors) == 1)
		json_object_set_new(doc, "commune", json_string(s));
	free(s);
	listing_location(doc, body, errors);
	listing_dates(doc, kind, body, 0, now_ms, errors);
	listing_distance(doc, body, errors);
	listing_note(doc, body, errors);
	if (listing_string(body, "forum", 0, LISTING_FORUM_MAX, 0, &s, errors) == 1) {
		if (fields_forum_id_ok(s))
			json_object_set_new(doc, "forum", json_string(s));
		else
			fields_error(errors, "forum",
				     "diễn đàn: not a forum id (a-z, 0-9 and '-', not starting "
				     "with '-')");
	}
	free(s);
	s = NULL;
	/* What is left of a forum's listing once the forum closes: market (default) or close. */
	if (listing_string(body, "after_forum", 0, 8, 0, &s, errors) == 1) {
		if (json_object_get(doc, "forum") == NULL && json_object_get(body, "forum") == NULL)
			fields_error(errors, "after_forum", "sau diễn đàn: only with a forum");
		else if (strcmp(s, "market") && strcmp(s, "close"))
			fields_error(errors, "after_forum",
				     "sau diễn đàn: must be market or close");
		else
			json_object_set_new(doc, "after_forum", json_string(s));
	} else if (json_object_get(doc, "forum")) {
		json_object_set_new(doc, "after_forum", json_string("market"));
	}
	free(s);

	if (listing_nerr(*errors) > before) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

json_t *listing_apply_patch(const json_t *doc, const json_t *body, int64_t now_ms, json_t **errors)
{
	size_t before = listing_nerr(*errors);
	enum listing_kind kind = listing_kind_of(doc);
	const struct material *m = materials_find(listing_str(doc, "material"));
	const struct material_unit *qu;

	if (!json_is_object(body) || json_object_size(body) == 0) {
		fields_error(errors, "",
			     "empty patch: send the fields to change (quantity, price_vnd, "
			     "dates, note, min_order, max_distance_km)");
		return NULL;
	}
	if (kind == LISTING_KIND_UNKNOWN || m == NULL) {
		fields_error(errors, "", "the stored listing is not valid");
		return NULL;
	}
	listing_check_members(kind, body, 1, errors);

	json_t *out = json_deep_copy(doc);
	listing_quantities(out, m, kind, body, 1, &qu, errors);
	listing_price(out, m, kind, body, 1, qu, errors);
	listing_dates(out, kind, body, 1, now_ms, errors);
	if (json_object_get(body, "note"))
		listing_note(out, body, errors);
	if (json_object_get(body, "max_distance_km"))
		listing_distance(out, body, errors);

	if (listing_nerr(*errors) > before) {
		json_decref(out);
		return NULL;
	}
	return out;
}
