/*
 * fuzz_units — common/units: a decimal quantity in a material's unit.
 *
 * Input: "TEXT" or "TEXT\nUNIT" or "TEXT\nUNIT\nMATERIAL" ("12.5\nta\nclay").
 * No UNIT line means the base unit (NULL); a MATERIAL that is absent or not
 * a code means clay. TEXT goes to units_to_base() as it is, and is also
 * parsed as JSON (any value) for units_json_text(), as a body member would be.
 *
 * Checked beyond "no crash": a conversion that succeeds is positive, at most
 * UNITS_MAX_BASE, agrees with units_scale_decimal(), and survives the trip
 * back through units_from_base() and units_format(); a refusal has a reason.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/materials.h"
#include "common/units.h"
#include "tests/fuzz/fuzz.h"

/* base units of m written in each of its units parse back to base. */
static void fuzz_units_roundtrip(const struct material *m, int64_t base)
{
	char buf[UNITS_TEXT_MAX];
	const char *why = NULL;
	int64_t back = -1;

	for (size_t i = 0; i < m->n_units; i++) {
		if (units_format(base, m->units[i].factor, buf, sizeof(buf)) != 0)
			continue; /* not a terminating decimal in this unit */
		fuzz_check(units_scale_decimal(buf, m->units[i].factor, &back, &why) == 0,
			   "units_format() wrote a text units_scale_decimal() refuses");
		fuzz_check(back == base, "units_format() and units_scale_decimal() disagree");
	}
}

static void fuzz_units_text(const struct material *m, const char *text, const char *unit)
{
	const struct material_unit *u = materials_unit(m, unit);
	char buf[UNITS_TEXT_MAX];
	const char *why = NULL;
	int64_t base = -1, again = -1;

	if (units_to_base(m, text, unit, &base, &why) != 0) {
		fuzz_check(why != NULL && why[0] != '\0',
			   "units_to_base() refused without a reason");
		fuzz_check(base == -1, "units_to_base() wrote *out on failure");
		return;
	}
	fuzz_check(u != NULL, "units_to_base() accepted a unit materials_unit() refuses");
	fuzz_check(base >= 1 && base <= UNITS_MAX_BASE, "units_to_base() out of range");
	fuzz_check(units_scale_decimal(text, u->factor, &again, &why) == 0 && again == base,
		   "units_to_base() and units_scale_decimal() disagree");

	/* Back to the unit it was given in: exact by construction. */
	fuzz_check(units_from_base(m, base, unit, buf, sizeof(buf), &why) == 0,
		   "units_from_base() refused what units_to_base() produced");
	again = -1;
	fuzz_check(units_to_base(m, buf, unit, &again, &why) == 0 && again == base,
		   "units_from_base() text does not convert back to the same base");
	fuzz_units_roundtrip(m, base);
}

static void fuzz_units_json(const struct material *m, const char *text, const char *unit)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
	char buf[UNITS_TEXT_MAX];
	const char *why = NULL;
	int64_t base = -1;

	if (v == NULL)
		return;
	if (units_json_text(v, buf, sizeof(buf), &why) == 0)
		fuzz_check(strlen(buf) < UNITS_TEXT_MAX, "units_json_text() overran");
	else
		fuzz_check(why != NULL, "units_json_text() refused without a reason");
	why = NULL;
	if (units_json_to_base(m, v, unit, &base, &why) == 0)
		fuzz_check(base >= 1 && base <= UNITS_MAX_BASE,
			   "units_json_to_base() out of range");
	else
		fuzz_check(why != NULL, "units_json_to_base() refused without a reason");
	/* A small buffer must be refused, not overrun. */
	char small[4];
	if (units_json_text(v, small, sizeof(small), &why) == 0)
		fuzz_check(strlen(small) < sizeof(small),
			   "units_json_text() overran a small buffer");
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *rest, *unit = NULL, *code = NULL;
	const struct material *m;

	fuzz_split(data, size, '\n', &text, &rest);
	if (rest != NULL)
		fuzz_split((const uint8_t *)rest, strlen(rest), '\n', &unit, &code);
	m = code ? materials_find(code) : NULL;
	if (m == NULL)
		m = materials_find("clay");
	fuzz_check(m != NULL, "clay is not a material");

	fuzz_units_text(m, text, unit);
	fuzz_units_json(m, text, unit);

	free(text);
	free(rest);
	free(unit);
	free(code);
	return 0;
}
