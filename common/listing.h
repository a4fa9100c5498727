/*
 * listing — needs (from craft villages) and offers (from suppliers) as JSON
 * documents: validation of POST and PATCH bodies, the stored shape, the API
 * view and the folded text that search matches against.
 *
 * A stored listing document (every number a JSON integer; the caller adds
 * id, owner, created_at and updated_at):
 *
 *   {"kind": "need" | "offer",
 *    "material": "clay",                       code, materials.h
 *    "grade": "A",                             offer: its grade; need: the
 *                                              minimum accepted (optional)
 *    "accept_substitutes": false,              needs only
 *    "quantity": {"amount": "12.5", "unit": "ta", "base": 1250, "base_unit": "kg"},
 *    "price": {"vnd": 2000000, "unit": "tan", "factor": 1000},
 *                                              VND per `unit` (= factor base
 *                                              units); offer: asking, need:
 *                                              maximum (absent: no maximum)
 *    "province": "HP", "province_input": "Hải Dương",   input only when it
 *                                              was not the code itself
 *    "commune": "Bát Tràng",
 *    "location": {"lat_udeg": 20975000, "lon_udeg": 105912000},
 *    "needed_by": ms                           needs: deadline
 *    "available_from": ms, "available_until": ms     offers (until optional)
 *    "min_order": {"amount": "5", "unit": "ta", "base": 500},   offers only
 *    "max_distance_km": 300, "note": "…", "forum": "dien-dan-2026"}
 *
 * Money and quantities never touch floating point: a quantity is a whole
 * number of the material's base unit, a price is whole VND per a unit whose
 * factor is stored beside it, so two prices compare exactly as
 * vnd1 x factor2 <=> vnd2 x factor1 (at most 10^12 x 10^6: fits int64).
 *
 * Times are int64 milliseconds since the Unix epoch. Clients send dates as
 * "YYYY-MM-DD", a Vietnamese calendar day (UTC+7, no daylight saving): the
 * END of that day (23:59:59.999 local) for deadlines (needed_by,
 * available_until) and its START for available_from; or as an RFC 3339
 * date-time with a zone ("2026-12-01T08:00:00+07:00", "…Z").
 *
 * Errors are appended with fields_error(): field names as in the body,
 * dotted for nested members ("location.lat"); "" for the body as a whole.
 *
 * Pure: no I/O and no clock (the caller passes now_ms).
 */
#ifndef CM_LISTING_H
#define CM_LISTING_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/dates.h"

/* Limits; validation and the API description read these. */
#define LISTING_NOTE_MAX 2000	     /* characters */
#define LISTING_COMMUNE_MAX 100	     /* characters */
#define LISTING_PROVINCE_TEXT_MAX 80 /* characters of a province code or name */
#define LISTING_MATERIAL_TEXT_MAX 40 /* characters of a material code */
#define LISTING_GRADE_TEXT_MAX 8     /* characters of a grade */
#define LISTING_UNIT_TEXT_MAX 16     /* characters of a unit code or name */
#define LISTING_FORUM_MAX 40	     /* forum id: [a-z0-9][a-z0-9-]{0,39} */
#define LISTING_PRICE_MIN 1	     /* VND per price unit */
#define LISTING_PRICE_MAX INT64_C(1000000000000)
#define LISTING_DISTANCE_MIN_KM 1
#define LISTING_DISTANCE_MAX_KM 5000

enum listing_kind { LISTING_NEED, LISTING_OFFER, LISTING_KIND_UNKNOWN };

/* "need" -> LISTING_NEED, "offer" -> LISTING_OFFER, anything else (NULL
 * included) -> LISTING_KIND_UNKNOWN. Exact, lower case. */
enum listing_kind listing_kind_parse(const char *s);
/* "need", "offer" or "unknown". Static storage. */
const char *listing_kind_name(enum listing_kind kind);
/* The kind of a stored document. */
enum listing_kind listing_kind_of(const json_t *doc);

/*
 * Checks a POST /v1/needs (LISTING_NEED) or /v1/offers (LISTING_OFFER) body.
 * Returns a new document (shape above; caller json_decref()s it) without id,
 * owner, created_at and updated_at, or NULL with every problem appended to
 * *errors (created on first use). body is borrowed. Defaults filled in:
 * unit = the material's base unit, price_unit = unit, available_from =
 * now_ms, accept_substitutes = false.
 */
json_t *listing_from_request(enum listing_kind kind, const json_t *body, int64_t now_ms,
			     json_t **errors);

/*
 * Applies a PATCH body from the owner to a stored document. Changeable:
 * quantity (with an optional unit; a unit alone is refused), price_vnd (with
 * an optional price_unit; a price_unit alone is refused), the kind's dates,
 * note, min_order (offers) and max_distance_km. null clears the optional
 * ones: note, max_distance_km, min_order, available_until and a need's
 * price_vnd; null available_from means now. Everything else is refused
 * ("cannot be changed; close the listing and post a new one"), as is an
 * empty patch. The same rules as creation apply to the result (dates after
 * now_ms when changed, min_order <= quantity, available_from <
 * available_until). Returns a new document (id, owner, timestamps and any
 * other stored members copied), or NULL with errors. Both arguments are
 * borrowed. The caller still checks that quantity stays >= what is already
 * allocated (listing_quantity_base()) and sets updated_at.
 */
json_t *listing_apply_patch(const json_t *doc, const json_t *body, int64_t now_ms, json_t **errors);

/* quantity.base of a stored document, or -1 when absent. */
int64_t listing_quantity_base(const json_t *doc);

/* When the listing expires: needed_by for a need, available_until for an
 * offer; 0 when it never does. */
int64_t listing_ends_at(const json_t *doc);

/*
 * The search key of a listing: text_fold_key() of the material's Vietnamese
 * and English names and code, the grade, the province's name and the text
 * it was given as, the commune, the note and owner_name (may be NULL), joined
 * by spaces. Returns a new string; caller frees.
 */
char *listing_search_text(const json_t *doc, const char *owner_name);

/*
 * The API view of a stored document: a copy plus "status" (omitted when
 * NULL), "version", "remaining": {"base", "base_unit", "amount", "unit"}
 * (amount in the listing's unit; amount and unit omitted when not an exact
 * decimal), "allocated": {"base", "amount", "unit"} (quantity - remaining),
 * "material": {"code", "name", "name_vi"}, "province": {"code", "name"}, the
 * dates and created_at/updated_at as RFC 3339 UTC strings with milliseconds,
 * "location": {"lat", "lon"} in degrees (JSON reals, for display). Returns a
 * new reference; doc is borrowed.
 */
json_t *listing_render(const json_t *doc, const char *status, int64_t remaining_base,
		       int64_t version);
/* The same, turning doc itself into the view (the caller's reference to doc moves to it). */
json_t *listing_render_in_place(json_t *doc, const char *status, int64_t remaining_base,
				int64_t version);
/*
 * A stored listing as the API shows it (GET /v1/listings/{id}, every search):
 * listing_render_in_place of doc with created_at and updated_at (ms) set
 * first, and "owner" made {"id", "name"} (owner_name NULL reads as "").
 * doc's reference moves to the view.
 */
json_t *listing_api_view(json_t *doc, const char *status, int64_t remaining_base, int64_t version,
			 const char *owner_name, int64_t created_at, int64_t updated_at);

#endif
