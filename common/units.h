/*
 * units — exact quantity conversion: a decimal quantity in one of a
 * material's units ("12.5" tạ) to a whole number of its base unit (1250 kg),
 * and back. Integer arithmetic on the decimal digits only: no floating point
 * ever touches a quantity. No I/O.
 *
 * The decimal text: ASCII digits with at most one '.', at least one digit on
 * each side of it ("12.5", "0.25", "1000", "007"); no sign, exponent, spaces
 * or thousands separators. '.' is the decimal point even though Vietnamese
 * writes "12,5" and "1.000" (a thousand): a comma is refused with a reason
 * rather than guessed at. The result must be a whole, positive number of
 * base units, at most UNITS_MAX_BASE.
 *
 * Quantities in JSON: send them as decimal strings ("12.5") or as JSON
 * integers (12). A JSON real -- any number with a fraction or exponent, even
 * 12.5 or 12.0 -- is refused: jansson has already turned it into a double
 * when it hands it over, so the text the client wrote is gone, and
 * "1.0000000000000001" and "1.0" arrive as the same value. Nothing can then
 * tell which quantity was meant, and quantities must be exact.
 *
 * Reasons (*why) are English sentences for the API's error "message". They
 * point to static strings or to per-thread storage that stays valid until the
 * next units_* call on the same thread: copy them before calling again.
 */
#ifndef CM_UNITS_H
#define CM_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct material;

/* Largest quantity, in base units (10^12 kg is a billion tonnes). */
#define UNITS_MAX_BASE INT64_C(1000000000000)
/* Largest factor units_scale_decimal() and units_format() accept. */
#define UNITS_FACTOR_MAX INT64_C(1000000000)
/* Buffer size for decimal texts, NUL included; longer input is refused. */
#define UNITS_TEXT_MAX 64

/*
 * decimal_text x (base units per `unit`) -> *out, exactly. `unit` is a code
 * or Vietnamese name the material accepts (materials_unit()); NULL means the
 * base unit. 0 on success; -1 with *why: "missing quantity", "not a decimal
 * number", "must be positive", "use '.' as the decimal point and no
 * thousands separators", "not a whole number of kg", "too large: at most
 * 1000000000000 kg", "unknown unit 'lb' for clay; accepted: kg, yen, ta,
 * tan". *out is untouched on failure.
 */
int units_to_base(const struct material *m, const char *decimal_text, const char *unit,
		  int64_t *out, const char **why);

/*
 * The same for a bare factor (1..UNITS_FACTOR_MAX): decimal_text x factor ->
 * *out, exact, positive, at most UNITS_MAX_BASE. 0, or -1 with a static *why
 * that does not name a unit ("not a whole number of the base unit").
 */
int units_scale_decimal(const char *decimal_text, int64_t factor, int64_t *out, const char **why);

/*
 * Writes base / factor into buf as the shortest exact decimal ("12.5", "1",
 * "0.001"). 0, or -1 when base < 0, factor is outside 1..UNITS_FACTOR_MAX,
 * the quotient has no finite decimal expansion (factor 3), or buf is too
 * small (UNITS_TEXT_MAX always suffices).
 */
int units_format(int64_t base, int64_t factor, char *buf, size_t len);

/*
 * base units of m expressed in `unit` (NULL: base unit), as units_format.
 * 0, or -1 with *why ("unknown unit …", "1 kg is not a whole decimal number
 * of …", "buffer too small").
 */
int units_from_base(const struct material *m, int64_t base, const char *unit, char *buf, size_t len,
		    const char **why);

/* The reason units_json_text() gives for a JSON real. */
#define UNITS_JSON_REAL_WHY                                                                        \
	"send a quantity with a fraction as a string, e.g. \"12.5\" (JSON numbers with a "         \
	"fraction are not exact)"

/*
 * The decimal text of a JSON quantity (see "Quantities in JSON" above): a
 * string is copied as is (units_to_base checks it), an integer printed; a
 * real is refused with UNITS_JSON_REAL_WHY. 0, or -1 with *why ("missing
 * quantity", "must be a decimal string or a JSON integer", UNITS_JSON_REAL_WHY,
 * "too long", "not a decimal number" for a string with a NUL in it). Use a
 * buffer of UNITS_TEXT_MAX bytes. v is borrowed.
 */
int units_json_text(const json_t *v, char *buf, size_t len, const char **why);

/* units_json_text() then units_to_base(). v is borrowed. */
int units_json_to_base(const struct material *m, const json_t *v, const char *unit, int64_t *out,
		       const char **why);

#endif
