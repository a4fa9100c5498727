/*
 * Unit tests for common/materials: the taxonomy's invariants, units, grades,
 * substitutes, JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/materials.h"
#include "common/textfold.h"

/* The one substitution allowed in one direction only (materials.h). */
static const struct {
	const char *need, *offer;
} one_way[] = {
    {"cattle_horn", "buffalo_horn"},
};

static const struct material *find(const char *code)
{
	const struct material *m = materials_find(code);

	assert_non_null(m);
	return m;
}

static int is_one_way(const char *need, const char *offer)
{
	for (size_t i = 0; i < sizeof(one_way) / sizeof(one_way[0]); i++)
		if (strcmp(one_way[i].need, need) == 0 && strcmp(one_way[i].offer, offer) == 0)
			return 1;
	return 0;
}

static void assert_nfc(const char *s)
{
	char *n = text_nfc(s, strlen(s));

	assert_non_null(n);
	assert_string_equal(n, s);
	free(n);
}

static void test_table_shape(void **state)
{
	int per_category[MATERIAL_CATEGORY_COUNT] = {0};

	(void)state;
	assert_true(materials_count() >= 30);
	assert_null(materials_at(materials_count()));
	for (size_t i = 0; i < materials_count(); i++) {
		const struct material *m = materials_at(i);

		for (const char *c = m->code; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
				    *c == '_');
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(materials_at(j)->code, m->code);
		assert_ptr_equal(materials_find(m->code), m);
		assert_nfc(m->name_en);
		assert_nfc(m->name_vi);
		assert_true((unsigned)m->category < MATERIAL_CATEGORY_COUNT);
		per_category[m->category]++;
		assert_true(m->mass_g > 0);
		assert_true(m->n_grades >= 1);
	}
	for (int c = 0; c < MATERIAL_CATEGORY_COUNT; c++) {
		assert_true(per_category[c] > 0);
		assert_string_not_equal(materials_category_str((enum material_category)c),
					"unknown");
	}
	assert_string_equal(materials_category_str(MATERIAL_SHELL_HORN), "shell_horn");
}

static void test_units_exact_and_named(void **state)
{
	(void)state;
	for (size_t i = 0; i < materials_count(); i++) {
		const struct material *m = materials_at(i);

		assert_true(m->n_units >= 1);
		assert_int_equal(m->units[0].factor, 1);
		assert_string_equal(materials_base_unit(m), m->units[0].code);
		for (size_t u = 0; u < m->n_units; u++) {
			const struct material_unit *unit = &m->units[u];
			char *folded = text_fold(unit->name, strlen(unit->name));
			char *lower = text_casefold(unit->name, strlen(unit->name));
			int64_t f = 0;

			assert_true(unit->factor >= 1 && unit->factor <= MATERIALS_FACTOR_MAX);
			/* The code is the folded Vietnamese name; the name is NFC
			 * and lower case, so both forms look up. */
			assert_string_equal(folded, unit->code);
			assert_string_equal(lower, unit->name);
			free(folded);
			free(lower);
			assert_int_equal(materials_unit_factor(m, unit->code, &f), 0);
			assert_int_equal(f, unit->factor);
			assert_ptr_equal(materials_unit(m, unit->name), unit);
			for (size_t v = 0; v < u; v++)
				assert_string_not_equal(m->units[v].code, unit->code);
		}
	}
}

static void test_unit_lookup(void **state)
{
	const struct material *clay = find("clay"), *gu = find("timber_go_gu");
	int64_t f = 0;

	(void)state;
	assert_int_equal(materials_unit_factor(clay, "kg", &f), 0);
	assert_int_equal(f, 1);
	assert_int_equal(materials_unit_factor(clay, "yen", &f), 0);
	assert_int_equal(f, 10);
	assert_int_equal(materials_unit_factor(clay, "ta", &f), 0);
	assert_int_equal(f, 100);
	assert_int_equal(materials_unit_factor(clay, "tan", &f), 0);
	assert_int_equal(f, 1000);
	f = 0;
	assert_int_equal(materials_unit_factor(clay, "TAN", &f), 0);
	assert_int_equal(f, 1000);
	f = 0;
	assert_int_equal(materials_unit_factor(clay, "Tấn", &f), 0);
	assert_int_equal(f, 1000);
	f = 0;
	assert_int_equal(materials_unit_factor(clay, "TẠ", &f), 0);
	assert_int_equal(f, 100);
	f = 0;
	assert_int_equal(materials_unit_factor(clay, NULL, &f), 0);
	assert_int_equal(f, 1);
	/* "tá" is a dozen: the marks matter in unit names. */
	assert_int_equal(materials_unit_factor(clay, "tá", &f), -1);
	assert_int_equal(materials_unit_factor(clay, "lb", &f), -1);
	assert_int_equal(materials_unit_factor(clay, "m3", &f), -1);
	assert_int_equal(materials_unit_factor(clay, "", &f), -1);
	assert_int_equal(materials_unit_factor(clay, "\xff", &f), -1);

	assert_string_equal(materials_base_unit(gu), "dm3");
	assert_int_equal(materials_unit_factor(gu, "m3", &f), 0);
	assert_int_equal(f, 1000);
	f = 0;
	assert_int_equal(materials_unit_factor(gu, "m³", &f), 0);
	assert_int_equal(f, 1000);
	assert_int_equal(materials_unit_factor(gu, "kg", &f), -1);

	assert_string_equal(materials_base_unit(find("bamboo_luong")), "cay");
	assert_string_equal(materials_base_unit(find("silver")), "g");
	assert_int_equal(materials_unit_factor(find("silver"), "kg", &f), 0);
	assert_int_equal(f, 1000);
}

static void test_grades(void **state)
{
	const struct material *clay = find("clay"), *silk = find("silk_yarn"), *ag = find("silver");

	(void)state;
	for (size_t i = 0; i < materials_count(); i++) {
		const struct material *m = materials_at(i);
		for (size_t g = 0; g < m->n_grades; g++)
			assert_int_equal(materials_grade_rank(m, m->grades[g]),
					 (int)(m->n_grades - g));
	}
	assert_true(materials_grade_rank(clay, "A") > materials_grade_rank(clay, "B"));
	assert_true(materials_grade_rank(clay, "B") > materials_grade_rank(clay, "C"));
	assert_int_equal(materials_grade_rank(clay, "a"), materials_grade_rank(clay, "A"));
	assert_int_equal(materials_grade_rank(clay, "D"), -1);
	assert_int_equal(materials_grade_rank(clay, NULL), -1);
	assert_int_equal(materials_grade_rank(NULL, "A"), -1);
	assert_true(materials_grade_rank(silk, "6A") > materials_grade_rank(silk, "5A"));
	assert_true(materials_grade_rank(silk, "2A") > materials_grade_rank(silk, "A"));
	assert_int_equal(materials_grade_rank(silk, "B"), -1);
	assert_true(materials_grade_rank(ag, "999") > materials_grade_rank(ag, "925"));
}

static void test_substitutes(void **state)
{
	(void)state;
	for (size_t i = 0; i < materials_count(); i++) {
		const struct material *m = materials_at(i);

		assert_int_equal(materials_is_substitute(m, m), 0);
		for (size_t s = 0; s < MATERIALS_SUBSTITUTES_MAX && m->substitutes[s]; s++) {
			const struct material *o = materials_find(m->substitutes[s]);

			assert_non_null(o); /* refers to an existing code */
			assert_ptr_not_equal(o, m);
			assert_string_equal(materials_base_unit(o), materials_base_unit(m));
			assert_int_equal(materials_is_substitute(m, o), 1);
			if (!is_one_way(m->code, o->code))
				assert_int_equal(materials_is_substitute(o, m), 1);
		}
		/* And nothing is a substitute unless listed. */
		for (size_t j = 0; j < materials_count(); j++) {
			const struct material *o = materials_at(j);
			int listed = 0;
			for (size_t s = 0; s < MATERIALS_SUBSTITUTES_MAX && m->substitutes[s]; s++)
				listed |= strcmp(m->substitutes[s], o->code) == 0;
			assert_int_equal(materials_is_substitute(m, o), listed);
		}
	}
	for (size_t i = 0; i < sizeof(one_way) / sizeof(one_way[0]); i++) {
		assert_int_equal(
		    materials_is_substitute(find(one_way[i].need), find(one_way[i].offer)), 1);
		assert_int_equal(
		    materials_is_substitute(find(one_way[i].offer), find(one_way[i].need)), 0);
	}
	assert_int_equal(materials_is_substitute(find("kaolin"), find("white_clay")), 1);
	assert_int_equal(materials_is_substitute(find("bamboo_tre"), find("bamboo_luong")), 1);
	assert_int_equal(materials_is_substitute(find("seagrass"), find("sedge")), 1);
	assert_int_equal(materials_is_substitute(find("clay"), find("kaolin")), 0);
	assert_int_equal(materials_is_substitute(NULL, find("kaolin")), 0);
}

static void test_find(void **state)
{
	(void)state;
	assert_non_null(materials_find("clay"));
	assert_ptr_equal(materials_find("CLAY"), materials_find("clay"));
	assert_null(materials_find("unobtainium"));
	assert_null(materials_find(""));
	assert_null(materials_find(NULL));
	/* The materials named in the design and the reference notes. */
	static const char *const named[] = {
	    "clay",	      "kaolin",		"feldspar",	  "glaze",
	    "glaze_ash",      "silk_yarn",	"cocoons",	  "rattan",
	    "bamboo_tre",     "bamboo_luong",	"sedge",	  "seagrass",
	    "water_hyacinth", "lacquer_resin",	"eggshell",	  "shell_turbo",
	    "shell_mussel",   "timber_go_gu",	"timber_go_trac", "timber_go_huong",
	    "timber_go_mit",  "timber_go_xoan", "copper",	  "brass",
	    "silver",	      "buffalo_horn",	"do_bark",	  "do_paper",
	    "incense_sticks", "incense_powder", "gold_leaf",	  "palm_leaf",
	};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		assert_non_null(materials_find(named[i]));
}

static void test_json(void **state)
{
	json_t *j = materials_to_json(), *list, *clay = NULL, *units;

	(void)state;
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "version")), MATERIALS_VERSION);
	assert_int_equal(json_array_size(json_object_get(j, "categories")),
			 MATERIAL_CATEGORY_COUNT);
	list = json_object_get(j, "materials");
	assert_int_equal(json_array_size(list), materials_count());
	for (size_t i = 0; i < json_array_size(list); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(list, i), "code")),
			   "clay") == 0)
			clay = json_array_get(list, i);
	assert_non_null(clay);
	assert_string_equal(json_string_value(json_object_get(clay, "name_vi")), "Đất sét");
	assert_string_equal(json_string_value(json_object_get(clay, "category")), "ceramics");
	assert_string_equal(json_string_value(json_object_get(clay, "base_unit")), "kg");
	assert_int_equal(json_integer_value(json_object_get(clay, "mass_g")), 1000);
	units = json_object_get(clay, "units");
	assert_int_equal(json_array_size(units), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(units, 3), "code")),
			    "tan");
	assert_string_equal(json_string_value(json_object_get(json_array_get(units, 3), "name")),
			    "tấn");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(units, 3), "factor")),
			 1000);
	assert_string_equal(json_string_value(json_array_get(json_object_get(clay, "grades"), 0)),
			    "A");
	assert_int_equal(json_array_size(json_object_get(clay, "substitutes")), 0);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_shape), cmocka_unit_test(test_units_exact_and_named),
	    cmocka_unit_test(test_unit_lookup), cmocka_unit_test(test_grades),
	    cmocka_unit_test(test_substitutes), cmocka_unit_test(test_find),
	    cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
