/*
 * materials — the raw materials northern craft villages buy: code, names,
 * category, units with exact integer factors, grade scale, mass for freight
 * and allowed substitutes. One static const table; no I/O.
 *
 * Codes: lower-case ASCII snake_case, stable forever (stored in listings):
 * a plain English word where one is unambiguous ("clay", "kaolin",
 * "rattan", "silk_yarn"), otherwise the Vietnamese name without diacritics
 * behind a family prefix: "bamboo_luong", "timber_go_gu", "shell_turbo".
 *
 * Units: every material has a base unit, units[0], in which quantities are
 * stored. Prices are not per base unit: a price is whole VND per the
 * listing's price_unit, any accepted unit, which defaults to the quantity's
 * unit (in a patch, to the stored price's unit); common/listing.c stores
 * {vnd, unit, factor}, and matching turns it into micro-VND per base unit
 * (vnd x 10^6 / factor). Every other accepted unit is an exact integer
 * multiple of the base unit (factor <= MATERIALS_FACTOR_MAX),
 * so conversion never rounds. A unit's code is its Vietnamese name folded to
 * ASCII, so users may type either ("tấn" or "tan"):
 *
 *   by mass, base kg:  kg = 1, yen (yến) = 10, ta (tạ) = 100, tan (tấn) = 1000
 *   by mass, base g:   g = 1, kg = 1000        (silver, agarwood: dear goods)
 *   timber, base dm3:  dm3 (dm³) = 1, m3 (m³) = 1000
 *   poles, base cay:   cay (cây) = 1            (bamboo, by the pole)
 *   sheets:            to (tờ) = 1              (dó paper)
 *                      la (lá) = 1              (gold and silver leaf)
 *
 * Grades, listed best first; materials_grade_rank() is higher for better,
 * so "offer grade >= need's minimum" is rank(offer) >= rank(need):
 *
 *   most materials:    A > B > C
 *   silk_yarn:         6A > 5A > 4A > 3A > 2A > A (raw-silk classing)
 *   silver:            999 > 925 (fineness, parts per thousand)
 *
 * Mass per base unit, in grams, as shipped (for freight = distance x mass x
 * rate): 1000 per kg; timber by species density (gụ 850 g per dm³ …);
 * a bamboo pole by species; a sheet of leaf or paper with its interleaving.
 *
 * Substitutes: materials_is_substitute(need, offer) is true when an offer of
 * `offer` may fill a need for `need` (if the need allows substitutes).
 * Every pair is symmetric (kaolin <-> white_clay, bamboo_tre <-> bamboo_luong,
 * sedge <-> seagrass, shell_turbo <-> shell_mussel) except one, on purpose:
 * buffalo horn may fill a need for cattle horn (it is the denser, dearer
 * horn) but not the other way round. Substitutes always share the base unit,
 * so quantities compare without conversion.
 */
#ifndef CM_MATERIALS_H
#define CM_MATERIALS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MATERIALS_VERSION "2026-11-27.1"

/* Largest factor of any unit to its base unit. */
#define MATERIALS_FACTOR_MAX 1000000
/* Substitutes per material, at most, plus the NULL. */
#define MATERIALS_SUBSTITUTES_MAX 4

enum material_category {
	MATERIAL_CERAMICS,
	MATERIAL_SILK,
	MATERIAL_FIBRE, /* rattan, bamboo, sedge, hyacinth, leaves */
	MATERIAL_LACQUER,
	MATERIAL_TIMBER,
	MATERIAL_METAL,
	MATERIAL_SHELL_HORN,
	MATERIAL_PAPER,
	MATERIAL_INCENSE,
	MATERIAL_CATEGORY_COUNT
};

struct material_unit {
	const char *code; /* ASCII: "tan" */
	const char *name; /* Vietnamese, NFC, lower case: "tấn" */
	int64_t factor;	  /* base units in one of this unit, >= 1 */
};

struct material {
	const char *code;    /* "kaolin" */
	const char *name_en; /* "Kaolin" */
	const char *name_vi; /* "Cao lanh", NFC */
	enum material_category category;
	const struct material_unit *units; /* units[0] is the base unit (factor 1) */
	size_t n_units;
	const char *const *grades; /* best first */
	size_t n_grades;
	int64_t mass_g; /* grams per base unit, > 0 */
	/* Materials whose offers may fill a need for this one; NULL-terminated. */
	const char *substitutes[MATERIALS_SUBSTITUTES_MAX];
};

size_t materials_count(void);

/* The i-th material (grouped by category); NULL when i >= materials_count().
 * Static storage; never freed. */
const struct material *materials_at(size_t i);

/* The material with this code (ASCII case ignored), or NULL. Static storage. */
const struct material *materials_find(const char *code);

/* The base unit's code: "kg", "dm3", "cay"… Static storage. */
const char *materials_base_unit(const struct material *m);

/*
 * The accepted unit named by `unit`: its code, ASCII case ignored ("tan",
 * "TAN"), or its Vietnamese name, case ignored but diacritics significant
 * ("tấn", "Tạ"; "tá" is a dozen, not "tạ", and is refused). NULL unit means
 * the base unit. NULL when the material does not accept the unit. Static
 * storage.
 */
const struct material_unit *materials_unit(const struct material *m, const char *unit);

/* 0 with *factor = base units per `unit` (as materials_unit()), or -1. */
int materials_unit_factor(const struct material *m, const char *unit, int64_t *factor);

/* Rank of `grade` in m's scale (ASCII case ignored): n_grades for the best,
 * 1 for the worst, -1 when the grade is not in the scale or NULL. */
int materials_grade_rank(const struct material *m, const char *grade);

/* 1 when an offer of `offer` may fill a need for `need` as a substitute, 0
 * otherwise -- including when they are the same material: test that first. */
int materials_is_substitute(const struct material *need, const struct material *offer);

/* "ceramics", "silk", "fibre", "lacquer", "timber", "metal", "shell_horn",
 * "paper", "incense". Static storage. */
const char *materials_category_str(enum material_category category);

/*
 * The whole table as JSON: {"version", "categories": [..], "materials":
 * [{"code", "name_en", "name_vi", "category", "base_unit", "units": [{"code",
 * "name", "factor"}], "grades": [best first], "mass_g", "substitutes": [..]}]}.
 * Returns a new reference; caller json_decref()s it.
 */
json_t *materials_to_json(void);

#endif
