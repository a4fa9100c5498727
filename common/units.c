/*
 * units — exact decimal quantity conversion (see units.h). Decimal digits
 * are multiplied by the unit's factor digit by digit, so any input that fits
 * UNITS_TEXT_MAX converts exactly without wider integers or floating point.
 * No I/O.
 */
#include "common/units.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/digits.h"
#include "common/materials.h"
#include "common/textfold.h"

enum units_err {
	UNITS_OK,
	UNITS_EMPTY,
	UNITS_TOO_LONG,
	UNITS_SYNTAX,
	UNITS_COMMA,
	UNITS_EXPONENT,
	UNITS_NEGATIVE,
	UNITS_ZERO,
	UNITS_INEXACT,
	UNITS_TOO_LARGE,
};

/* clang-format off */
static const char *const units_err_text[] = {
	[UNITS_OK] = NULL,
	[UNITS_EMPTY] = "missing quantity",
	[UNITS_TOO_LONG] = "too long",
	[UNITS_SYNTAX] = "not a decimal number",
	[UNITS_COMMA] = "use '.' as the decimal point and no thousands separators",
	[UNITS_EXPONENT] = "write the quantity without an exponent",
	[UNITS_NEGATIVE] = "must be positive",
	[UNITS_ZERO] = "must be positive",
	[UNITS_INEXACT] = "not a whole number of the base unit",
	[UNITS_TOO_LARGE] = "too large",
};
/* clang-format on */

_Static_assert(MATERIALS_FACTOR_MAX <= UNITS_FACTOR_MAX, "every material unit must convert");

/* Reasons that name a unit or material; see units.h for the lifetime. */
static _Thread_local char units_why[192];

static enum units_err units_scale(const char *text, int64_t factor, int64_t *out)
{
	unsigned char digits[UNITS_TEXT_MAX];
	unsigned char prod[UNITS_TEXT_MAX + 12];
	size_t n = 0, frac = 0, len, pos = sizeof(prod);
	int seen_dot = 0, before_dot = 0, nonzero = 0;
	uint64_t carry = 0, value = 0;

	if (text == NULL || text[0] == '\0')
		return UNITS_EMPTY;
	len = strnlen(text, UNITS_TEXT_MAX);
	if (len >= UNITS_TEXT_MAX)
		return UNITS_TOO_LONG;
	if (text[0] == '-') {
		/* Say "must be positive" only about something numeric. */
		enum units_err e = units_scale(text + 1, factor, out);
		if (e == UNITS_EMPTY || e == UNITS_NEGATIVE)
			return UNITS_SYNTAX; /* "-", "--5" */
		if (e == UNITS_OK || e == UNITS_ZERO || e == UNITS_INEXACT || e == UNITS_TOO_LARGE)
			return UNITS_NEGATIVE;
		return e;
	}

	for (const char *p = text; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9') {
			digits[n++] = (unsigned char)(*p - '0');
			nonzero |= *p != '0';
			if (seen_dot)
				frac++;
			else
				before_dot++;
		} else if (*p == '.' && !seen_dot && before_dot > 0) {
			seen_dot = 1;
		} else if (*p == ',') {
			return UNITS_COMMA;
		} else if ((*p == 'e' || *p == 'E') && before_dot > 0) {
			return UNITS_EXPONENT;
		} else {
			return UNITS_SYNTAX;
		}
	}
	if (before_dot == 0 || (seen_dot && frac == 0))
		return UNITS_SYNTAX;
	if (!nonzero)
		return UNITS_ZERO;
	/* Trailing zeros after the point change nothing: "12.500" is 12.5. */
	while (frac > 0 && digits[n - 1] == 0) {
		n--;
		frac--;
	}

	/* prod = digits x factor, least significant digit first; the carry
	 * stays below factor, so it fits in 10 more digits. */
	for (size_t i = n; i-- > 0;) {
		uint64_t t = digits[i] * (uint64_t)factor + carry;
		prod[--pos] = (unsigned char)(t % 10);
		carry = t / 10;
	}
	while (carry > 0) {
		prod[--pos] = (unsigned char)(carry % 10);
		carry /= 10;
	}

	/* The product has `frac` digits after the point: exact only when they
	 * are all zero (digits shorter than that are all fractional). */
	for (size_t i = sizeof(prod) - frac; i < sizeof(prod); i++)
		if (i >= pos && prod[i] != 0)
			return UNITS_INEXACT;
	if (sizeof(prod) - pos <= frac)
		return UNITS_INEXACT;
	for (size_t i = pos; i < sizeof(prod) - frac; i++) {
		value = value * 10 + prod[i];
		if (value > (uint64_t)UNITS_MAX_BASE)
			return UNITS_TOO_LARGE;
	}
	*out = (int64_t)value;
	return UNITS_OK;
}

int units_scale_decimal(const char *decimal_text, int64_t factor, int64_t *out, const char **why)
{
	enum units_err e;
	int64_t v;

	if (factor < 1 || factor > UNITS_FACTOR_MAX) {
		*why = "unit factor out of range";
		return -1;
	}
	e = units_scale(decimal_text, factor, &v);
	if (e != UNITS_OK) {
		*why = units_err_text[e];
		return -1;
	}
	*out = v;
	return 0;
}

/* "kg, yen, ta, tan" into units_why after `prefix`. */
static const char *units_unknown_unit(const struct material *m, const char *unit)
{
	size_t off, ulen = strlen(unit);
	int printable = ulen > 0 && ulen <= 24 && text_valid_utf8(unit, ulen);

	for (size_t i = 0; printable && i < ulen; i++)
		if ((unsigned char)unit[i] < 0x20 || unit[i] == 0x7f || unit[i] == '\'')
			printable = 0;
	if (printable)
		snprintf(units_why, sizeof(units_why), "unknown unit '%s' for %s; accepted: ", unit,
			 m->code);
	else
		snprintf(units_why, sizeof(units_why), "unknown unit for %s; accepted: ", m->code);
	for (size_t i = 0; i < m->n_units; i++) {
		off = strlen(units_why);
		snprintf(units_why + off, sizeof(units_why) - off, "%s%s", i ? ", " : "",
			 m->units[i].code);
	}
	return units_why;
}

int units_to_base(const struct material *m, const char *decimal_text, const char *unit,
		  int64_t *out, const char **why)
{
	const struct material_unit *u;
	enum units_err e;
	int64_t v;

	if (m == NULL) {
		*why = "unknown material";
		return -1;
	}
	u = materials_unit(m, unit);
	if (u == NULL) {
		*why = units_unknown_unit(m, unit);
		return -1;
	}
	e = units_scale(decimal_text, u->factor, &v);
	switch (e) {
	case UNITS_OK:
		*out = v;
		return 0;
	case UNITS_INEXACT:
		snprintf(units_why, sizeof(units_why), "not a whole number of %s",
			 materials_base_unit(m));
		*why = units_why;
		return -1;
	case UNITS_TOO_LARGE:
		snprintf(units_why, sizeof(units_why), "too large: at most %" PRId64 " %s",
			 UNITS_MAX_BASE, materials_base_unit(m));
		*why = units_why;
		return -1;
	default:
		*why = units_err_text[e];
		return -1;
	}
}

int units_format(int64_t base, int64_t factor, char *buf, size_t len)
{
	int64_t rem;
	int n;
	size_t pos;

	if (base < 0 || factor < 1 || factor > UNITS_FACTOR_MAX || buf == NULL || len == 0)
		return -1;
	/* the whole part as snprintf("%" PRId64) writes it, at a tenth of its
	 * cost: every listing answer formats two amounts */
	char whole[24], *end = whole + sizeof(whole),
			*d = digits_u64(end, (uint64_t)(base / factor));
	n = (int)(end - d);
	if ((size_t)n >= len)
		return -1;
	memcpy(buf, d, (size_t)n);
	buf[n] = '\0';
	pos = (size_t)n;
	rem = base % factor;
	if (rem == 0)
		return 0;
	if (pos + 1 >= len)
		return -1;
	buf[pos++] = '.';
	/* A terminating expansion of x / factor has at most log2(factor) <= 30
	 * digits; anything longer repeats forever. rem * 10 < 10^10 fits. */
	for (int i = 0; rem != 0; i++) {
		if (i >= 32 || pos + 1 >= len)
			return -1;
		rem *= 10;
		buf[pos++] = (char)('0' + rem / factor);
		rem %= factor;
	}
	buf[pos] = '\0';
	return 0;
}

int units_from_base(const struct material *m, int64_t base, const char *unit, char *buf, size_t len,
		    const char **why)
{
	const struct material_unit *u;

	if (m == NULL) {
		*why = "unknown material";
		return -1;
	}
	u = materials_unit(m, unit);
	if (u == NULL) {
		*why = units_unknown_unit(m, unit);
		return -1;
	}
	if (base < 0) {
		*why = "must not be negative";
		return -1;
	}
	if (units_format(base, u->factor, buf, len) != 0) {
		if (len < UNITS_TEXT_MAX) {
			*why = "buffer too small";
		} else {
			snprintf(units_why, sizeof(units_why),
				 "%" PRId64 " %s is not a whole decimal number of %s", base,
				 materials_base_unit(m), u->code);
			*why = units_why;
		}
		return -1;
	}
	return 0;
}

int units_json_text(const json_t *v, char *buf, size_t len, const char **why)
{
	if (v == NULL) {
		*why = "missing quantity";
		return -1;
	}
	if (json_is_integer(v)) {
		if (snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) >=
		    (int)len) {
			*why = "too long";
			return -1;
		}
		return 0;
	}
	if (json_is_string(v)) {
		size_t n = json_string_length(v);
		const char *s = json_string_value(v);

		if (n >= len || n >= UNITS_TEXT_MAX) {
			*why = "too long";
			return -1;
		}
		if (strlen(s) != n) {
			*why = units_err_text[UNITS_SYNTAX];
			return -1;
		}
		memcpy(buf, s, n + 1);
		return 0;
	}
	if (json_is_real(v)) {
		/* jansson has already rounded it to a double: its text is gone. */
		*why = UNITS_JSON_REAL_WHY;
		return -1;
	}
	*why = "must be a decimal string or a JSON integer";
	return -1;
}

int units_json_to_base(const struct material *m, const json_t *v, const char *unit, int64_t *out,
		       const char **why)
{
	char text[UNITS_TEXT_MAX];

	if (units_json_text(v, text, sizeof(text), why) != 0)
		return -1;
	return units_to_base(m, text, unit, out, why);
}
